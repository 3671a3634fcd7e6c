//! xmpp-sansio: an XMPP core that never touches a socket.
//!
//! The caller feeds the bytes it reads and gets back the bytes to write and
//! typed events. It owns every socket, TLS session, timer and thread, so the
//! same code runs in any runtime, in a blocking loop, under a fuzzer, or
//! behind a language binding. Start with [`Stream`].
//!
//! - [`Stream`]: one connection as a state machine, client or server
//!   ([`Stream::client`], [`Stream::server`]): negotiation, STARTTLS
//!   hand-off, SASL, binding, IQ tracking, timers.
//! - [`xml`]: incremental framing of the inbound stream (any chunking, linear
//!   cost, restricted XML, limits), owned [`xml::Element`]s, serialization.
//! - [`stanza`]: typed views (`Message`, `Presence`, `Iq`) and RFC 6120
//!   stanza and stream errors.
//! - [`sasl`]: SASL mechanisms as pure state machines, client and server side.
//! - [`component`]: the XEP-0114 component handshake; the component roles
//!   are [`Stream::component`] and [`Stream::component_server`].
//! - [`negotiation`]: stream features and SASL failures as typed values.
//! - [`hooks`]: a handler trait over the poll API, for callback-style code.
//! - [`im`]: RFC 6121 rosters (with a versioned cache), presence and
//!   subscriptions, and messages.
//!
//! # The run loop
//!
//! The caller drives the [`Stream`]: after every input (bytes read, a
//! deadline passed, TLS established) or command (`start`, `send`,
//! `close`…), it writes out everything [`Stream::poll_transmit`] returns,
//! handles everything [`Stream::poll_event`] returns (writing out again
//! after each, since handling one can queue output), and reads again no
//! later than [`Stream::poll_timeout`]. `README.md` shows the same loop;
//! the `#` lines here are the scripted server it runs against.
//!
//! ```rust
//! // The run loop: one client, here against a scripted in-memory server.
//! use std::time::Instant;
//! use xmpp_sansio::sasl::ChannelBinding;
//! use xmpp_sansio::xml::{Element, ns};
//! use xmpp_sansio::{ClientConfig, Event, Stream};
//! # enum Read { Data(Vec<u8>), TimedOut(Instant), Eof }
//! # /// Plays the server's side of RFC 6120: STARTTLS, PLAIN, bind, close.
//! # struct Server { step: usize, inbox: String, outbox: Vec<u8>, seen: String }
//! # impl Server {
//! #     fn connect() -> Self { Server { step: 0, inbox: String::new(), outbox: Vec::new(), seen: String::new() } }
//! #     fn write_all(&mut self, bytes: &[u8]) {
//! #         let text = String::from_utf8_lossy(bytes);
//! #         self.inbox.push_str(&text);
//! #         self.seen.push_str(&text);
//! #         let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='example.com' id='s1'>";
//! #         let reply = match self.step {
//! #             0 | 2 | 4 if self.inbox.contains("<stream:stream") => Some(format!("{header}<stream:features>{}</stream:features>", match self.step {
//! #                 0 => "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>",
//! #                 2 => "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>",
//! #                 _ => "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>",
//! #             })),
//! #             1 if self.inbox.contains("<starttls") => Some("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".into()),
//! #             3 if self.inbox.contains("<auth") => Some("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".into()),
//! #             5 if self.inbox.contains("<bind") => {
//! #                 let id = self.inbox.split(" id='").nth(1).and_then(|r| r.split('\'').next()).unwrap_or_default();
//! #                 Some(format!("<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>"))
//! #             }
//! #             6 if self.inbox.ends_with(' ') => Some("</stream:stream>".into()), // the keepalive: time to go
//! #             _ => None,
//! #         };
//! #         if let Some(reply) = reply {
//! #             self.outbox.extend_from_slice(reply.as_bytes());
//! #             self.inbox.clear();
//! #             self.step += 1;
//! #         }
//! #     }
//! #     fn start_tls(&mut self) {}
//! #     fn read_until(&mut self, deadline: Option<Instant>) -> Read {
//! #         match (self.outbox.is_empty(), deadline) {
//! #             (false, _) => Read::Data(std::mem::take(&mut self.outbox)),
//! #             (true, Some(at)) => Read::TimedOut(at),
//! #             (true, None) => Read::Eof,
//! #         }
//! #     }
//! # }
//!
//! let mut now = Instant::now(); // the caller's clock; the stream never reads one
//! let config = ClientConfig::new("juliet@example.com", "r0m30", [7; 32]); // seed from the OS in production
//! let mut stream = Stream::client(config);
//! let mut socket = Server::connect(); // a TCP connection, in real life
//! stream.start(now)?;
//! let mut online_as = None;
//! 'run: loop {
//!     // After every input or command: write everything out, handle every
//!     // event. Handling one can queue output (a restart after TLS, a reply),
//!     // so write again before the next event, and before reading.
//!     loop {
//!         while let Some(bytes) = stream.poll_transmit() {
//!             socket.write_all(&bytes);
//!         }
//!         let Some(event) = stream.poll_event() else { break };
//!         match event {
//!             Event::StartTls => {
//!                 socket.start_tls(); // the handshake, with your TLS library
//!                 stream.tls_established(ChannelBinding::None, now)?;
//!             }
//!             Event::Online { jid } => {
//!                 online_as = Some(jid);
//!                 stream.send(Element::new("presence", ns::JABBER_CLIENT), now)?;
//!             }
//!             Event::Closed { error, .. } => {
//!                 assert_eq!(error, None, "an orderly close");
//!                 break 'run;
//!             }
//!             _ => {}
//!         }
//!     }
//!     // Then read, but no later than the stream's next deadline.
//!     match socket.read_until(stream.poll_timeout()) {
//!         Read::Data(bytes) => stream.handle_input(&bytes, now)?,
//!         Read::TimedOut(at) => {
//!             now = at;
//!             stream.handle_timeout(now); // here: a whitespace keepalive
//!         }
//!         Read::Eof => stream.handle_eof(now),
//!     }
//! }
//! assert_eq!(online_as.as_deref(), Some("juliet@example.com/balcony"));
//! assert!(socket.seen.contains("<presence id=")); // send() gives presence an id
//! assert!(socket.seen.ends_with(" </stream:stream>"), "the keepalive, then our closing tag");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Changes
//!
//! - [`Error::Timeout`] carries a [`TimeoutKind`] and
//!   [`UsageError::InvalidStanza`] an [`InvalidStanzaReason`], in place of
//!   `&'static str`, so they can be matched; the `Display` text is
//!   unchanged.
//! - [`Stream::stanzas_sent`] counts the stanzas the stream has written.
//! - The server role: [`Stream::server`] with a [`ServerConfig`], the
//!   receiving end of a client connection; [`Stream::provide_credentials`],
//!   [`Stream::accept_bind`] and [`Stream::refuse_bind`] answer its
//!   [`Event::CredentialsRequest`] and [`Event::BindRequest`].
//! - Stream management (XEP-0198) for both roles, opt-in with [`SmConfig`]
//!   ([`ClientConfig::stream_management`],
//!   [`ServerConfig::stream_management`]): acknowledged stanzas reported
//!   ([`Event::Acknowledged`]), the resumable state as plain data
//!   ([`Stream::sm_state`], [`SmState`]), resumption
//!   ([`Stream::client_resuming`], [`Stream::accept_resume`]).
//! - The component roles (XEP-0114): [`Stream::component`] with a
//!   [`ComponentConfig`], and [`Stream::component_server`] with a
//!   [`ComponentServerConfig`], whose [`Event::ComponentRequest`] is
//!   answered by [`Stream::accept_component`] or
//!   [`Stream::refuse_component`]. Outside `jabber:client`, IQ replies the
//!   crate builds carry `from` (the request's `to`).
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod component;
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
    ClientConfig, ClosedBy, ComponentConfig, ComponentServerConfig, ConfigError, Error, ErrorKind,
    Event, InvalidStanzaReason, IqRequestPolicy, MAX_SASL_ATTEMPTS, MIN_SASL_ATTEMPTS,
    ServerConfig, SmConfig, SmState, SmStateError, State, Stream, TimeoutKind, TlsPolicy,
    UsageError,
};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
