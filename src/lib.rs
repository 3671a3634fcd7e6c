//! xmpp-sansio: a sans-IO XMPP core.
#![forbid(unsafe_code)]

pub mod stanza;
pub mod xml;

pub use stanza::StreamErrorCondition;
