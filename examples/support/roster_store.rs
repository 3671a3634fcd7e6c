//! Persisting a [`RosterCache`] as text and reading it back: what an
//! application does between sessions for roster versioning (RFC 6121 §2.6).
//! Shared by path between `examples/roster_versioning.rs` and the interop
//! tests.
//!
//! The text is the cache's `<query xmlns='jabber:iq:roster' ver='…'/>`
//! element, read back with [`Element::parse`] (the same checks as inbound
//! stanzas).
#![allow(dead_code, unreachable_pub)]

use xmpp_sansio::im::{Roster, RosterCache};
use xmpp_sansio::xml::{Element, Limits, ns};

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
    let query = Element::parse(text, limits).map_err(|e| LoadError::Xml(e.to_string()))?;
    if !query.is("query", ns::ROSTER) {
        return Err(LoadError::NotARoster(query.name().to_owned()));
    }
    let roster = Roster::from_query(&query);
    if !roster.skipped.is_empty() {
        return Err(LoadError::BadItems(roster.skipped.len()));
    }
    let mut cache = RosterCache::default();
    cache.replace(roster);
    Ok(cache)
}
