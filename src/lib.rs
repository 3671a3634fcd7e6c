//! xmpp-sansio: an XMPP core that never touches a socket.
//!
//! The caller feeds the bytes it reads and gets back the bytes to write and
//! typed events. It owns every socket, TLS session, timer and thread, so the
//! same code runs in any runtime, in a blocking loop, under a fuzzer, or
//! behind a language binding.
//!
//! - [`xml`]: incremental framing of the inbound stream (any chunking, linear
//!   cost, restricted XML, limits), owned [`xml::Element`]s, serialization.
//! - [`stanza`]: RFC 6120 stream and stanza errors and typed stanza views.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod stanza;
pub mod xml;

pub use stanza::StreamErrorCondition;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
