//! xmpp-sansio: a sans-IO XMPP core (work in progress).
#![forbid(unsafe_code)]
pub mod xml;
