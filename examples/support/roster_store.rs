//! Persisting a [`RosterCache`] as text and reading it back: what an
//! application does between sessions for roster versioning (RFC 6121 §2.6).
//! Shared by path between `examples/roster_versioning.rs` and the interop
//! tests.
//!
//! The text is the cache's `<query xmlns='jabber:iq:roster' ver='…'/>`
//! element. Reading it back goes through the crate's own XML framer (the
//! crate has no standalone document parser): the element is framed inside
//! a synthetic stream header, with the same limits and checks as stanzas.
#![allow(dead_code, unreachable_pub)]

use xmpp_sansio::im::{Roster, RosterCache};
use xmpp_sansio::xml::{FrameEvent, Framer, Limits, ns};

/// The cache as text.
pub fn save(cache: &RosterCache) -> String {
    cache.to_query().to_xml()
}

/// Why saved text could not be restored.
#[derive(Debug)]
pub enum LoadError {
    /// Not well-formed XML, or beyond the framer's limits.
    Xml(String),
    /// Well-formed, but not a roster query.
    NotARoster(String),
    /// The text ended before the element did, or held nothing.
    Incomplete,
    /// Items that could not be read (each would be lost if ignored).
    BadItems(usize),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Xml(e) => write!(f, "saved roster is not valid XML: {e}"),
            LoadError::NotARoster(name) => {
                write!(f, "saved roster holds <{name}/>, not a roster query")
            }
            LoadError::Incomplete => write!(f, "saved roster is incomplete"),
            LoadError::BadItems(n) => write!(f, "saved roster has {n} unreadable item(s)"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Restores a cache from [`save`]'s text.
pub fn load(text: &str) -> Result<RosterCache, LoadError> {
    let limits = Limits {
        max_stanza_bytes: Limits::MAX_STANZA_BYTES,
        ..Limits::default()
    };
    let mut framer = Framer::new(limits);
    framer.push(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    framer.push(text.trim().as_bytes());
    framer.push(b"</stream:stream>");
    let mut query = None;
    loop {
        match framer.next_event() {
            Err(e) => return Err(LoadError::Xml(e.to_string())),
            Ok(None) | Ok(Some(FrameEvent::StreamEnd)) => break,
            Ok(Some(FrameEvent::StreamStart(_))) => {}
            Ok(Some(FrameEvent::Element(el))) => {
                if query.is_some() || !el.is("query", ns::ROSTER) {
                    return Err(LoadError::NotARoster(el.name().to_owned()));
                }
                query = Some(el);
            }
        }
    }
    let query = query.ok_or(LoadError::Incomplete)?;
    let (roster, skipped) = Roster::from_query(&query);
    if skipped > 0 {
        return Err(LoadError::BadItems(skipped));
    }
    let mut cache = RosterCache::default();
    cache.replace(roster);
    Ok(cache)
}
