//! Typed views over stanzas, and stanza and stream errors (RFC 6120 §8, §4.9).
//!
//! A view keeps the element it was made from ([`StanzaView::element`]), so
//! extension payloads are never lost; accessors read it on demand.

mod address;
mod common;
pub(crate) mod condition;
pub(crate) mod error_parts;
mod iq;
mod message;
mod presence;
mod stanza_error;
mod stream_error;

pub use address::{Address, JidProblem};
pub(crate) use address::{full_jid_parts, is_valid_address, prepare as prepare_jid, same_address};
pub use common::StanzaView;
pub use condition::StreamErrorCondition;
pub use iq::{Iq, IqType};
pub use message::{Message, MessageType};
pub use presence::{Presence, PresenceType, PriorityError, available};
pub use stanza_error::{ErrorType, StanzaError, StanzaErrorCondition};
pub use stream_error::{SeeOtherHost, StreamError};

use crate::xml::Element;

/// Why an element is not a valid stanza of the kind asked for.
///
/// ```
/// use xmpp_sansio::stanza::{Address, StanzaErrorCondition};
/// let err = Address::new("not@@valid").jid().unwrap_err();
/// assert_eq!(err.stanza_error().condition, StanzaErrorCondition::JidMalformed);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StanzaParseError {
    /// Not a message, presence or iq in a stanza namespace.
    #[error("not a stanza: <{name}/> in {ns:?}")]
    UnknownStanza {
        /// The element name.
        name: String,
        /// Its namespace.
        ns: String,
    },
    /// A required part is missing or wrong.
    #[error("malformed stanza: {0}")]
    Malformed(&'static str),
    /// An address the `jid` crate refuses (RFC 6122).
    #[error("malformed JID in {attr}: {value:?}")]
    JidMalformed {
        /// `to` or `from`; `jid` for a roster item (`crate::im::RosterItem`).
        attr: &'static str,
        /// The address as sent.
        value: String,
    },
}

impl StanzaParseError {
    /// The stanza error to answer with (`bad-request` or `jid-malformed`).
    pub fn stanza_error(&self) -> StanzaError {
        let condition = match self {
            StanzaParseError::JidMalformed { .. } => StanzaErrorCondition::JidMalformed,
            StanzaParseError::UnknownStanza { .. } => StanzaErrorCondition::FeatureNotImplemented,
            StanzaParseError::Malformed(_) => StanzaErrorCondition::BadRequest,
        };
        StanzaError::from_condition(condition).with_text(Some("en"), self.to_string())
    }
}

/// Any stanza.
///
/// ```
/// use xmpp_sansio::stanza::Stanza;
/// use xmpp_sansio::xml::{Element, ns};
/// assert!(matches!(Stanza::from_element(Element::new("presence", ns::JABBER_CLIENT)), Ok(Stanza::Presence(_))));
/// assert!(Stanza::from_element(Element::new("foo", ns::JABBER_CLIENT)).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stanza {
    /// `<message/>`.
    Message(Message),
    /// `<presence/>`.
    Presence(Presence),
    /// `<iq/>`.
    Iq(Iq),
}

impl Stanza {
    /// Views a top-level element as a stanza.
    pub fn from_element(el: Element) -> Result<Self, StanzaParseError> {
        match el.name() {
            "message" => Message::from_element(el).map(Stanza::Message),
            "presence" => Presence::from_element(el).map(Stanza::Presence),
            "iq" => Iq::from_element(el).map(Stanza::Iq),
            _ => Err(StanzaParseError::UnknownStanza {
                name: el.name().to_owned(),
                ns: el.ns().to_owned(),
            }),
        }
    }
}
