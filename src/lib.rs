//! xmpp-sansio: a sans-IO XMPP core.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod stanza;
pub mod xml;

pub use stanza::StreamErrorCondition;
