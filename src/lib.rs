//! xmpp-sansio: an XMPP core that never touches a socket.
//!
//! The caller feeds the bytes it reads and gets back the bytes to write and
//! typed events. It owns every socket, TLS session, timer and thread, so the
//! same code runs in any runtime, in a blocking loop, under a fuzzer, or
//! behind a language binding. Start with [`Stream`].
//!
//! - [`Stream`]: one client connection as a state machine (negotiation,
//!   STARTTLS hand-off, SASL, binding, IQ tracking, timers).
//! - [`xml`]: incremental framing of the inbound stream (any chunking, linear
//!   cost, restricted XML, limits), owned [`xml::Element`]s, serialization.
//! - [`stanza`]: typed views (`Message`, `Presence`, `Iq`) and RFC 6120
//!   stanza and stream errors.
//! - [`sasl`]: SASL mechanisms as pure state machines.
//! - [`negotiation`]: stream features and SASL failures as typed values.
//! - [`hooks`]: a handler trait over the poll API, for callback-style code.
//! - [`im`]: RFC 6121 rosters (with a versioned cache), presence and
//!   subscriptions, and messages.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod hooks;
pub mod im;
mod iq;
pub mod negotiation;
mod rng;
pub mod sasl;
pub mod stanza;
mod stream;
pub mod time;
pub mod xml;

pub use stanza::StreamErrorCondition;
pub use stream::{
    ClientConfig, Error, ErrorKind, Event, IqRequestPolicy, State, Stream, TlsPolicy, UsageError,
};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
