//! Errors: fatal stream failures ([`Error`]) and API misuse ([`UsageError`]).

use super::config::ConfigError;
use crate::negotiation::SaslFailure;
use crate::sasl::SaslError;
use crate::stanza::{StanzaError, StreamError, StreamErrorCondition};
use crate::xml::XmlError;

/// Why a stream failed. Sticky: once a stream has failed, every further
/// input returns the same error. [`Error::condition`] tells which stream
/// error (if any) was sent to the peer.
///
/// ```
/// use xmpp_sansio::{Error, ErrorKind, StreamErrorCondition};
/// use xmpp_sansio::xml::XmlError;
/// let e = Error::Xml(XmlError::RestrictedXml("comment"));
/// assert_eq!(e.condition(), Some(StreamErrorCondition::RestrictedXml)); // what was sent
/// assert_eq!(e.kind(), ErrorKind::Xml);
/// assert_eq!(e.kind() as u32, 1);                                      // for bindings
/// assert_eq!(Error::TlsUnavailable.condition(), None);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The inbound XML was unacceptable.
    #[error("inbound XML: {0}")]
    Xml(#[from] XmlError),
    /// The peer sent a stream error.
    #[error("the peer sent a stream error: {0}")]
    PeerStreamError(StreamError),
    /// The peer violated the protocol (the condition we sent, and why).
    #[error("protocol violation ({condition}): {reason}")]
    Protocol {
        /// The stream error condition sent.
        condition: StreamErrorCondition,
        /// What happened.
        reason: String,
    },
    /// TLS is required by our policy but the server does not offer it.
    #[error("the server does not offer STARTTLS, and TLS is required")]
    TlsUnavailable,
    /// The server requires TLS but our policy disables it.
    #[error("the server requires TLS, and TLS is disabled")]
    TlsRequiredByServer,
    /// The server answered `<starttls/>` with `<failure/>`.
    #[error("the server failed to start TLS")]
    TlsFailed,
    /// Bytes arrived after `<proceed/>` before TLS was established: they
    /// were sent in plaintext after the switch point and are never processed
    /// (STARTTLS command injection, CVE-2011-0411 class).
    #[error("plaintext data after <proceed/>")]
    DataAfterProceed,
    /// No offered SASL mechanism is usable with this configuration.
    #[error("no usable SASL mechanism among those offered: {offered:?}")]
    NoMechanism {
        /// What the server offered.
        offered: Vec<String>,
    },
    /// The server refused authentication.
    #[error("authentication failed: {0}")]
    AuthFailed(SaslFailure),
    /// The SASL exchange failed on our side (e.g. a wrong server signature).
    #[error("SASL: {0}")]
    Sasl(#[from] SaslError),
    /// Resource binding was refused.
    #[error("resource binding failed: {0}")]
    BindFailed(StanzaError),
    /// The legacy session request was refused.
    #[error("session establishment failed: {0}")]
    SessionFailed(StanzaError),
    /// Negotiation did not finish in time, or a keepalive ping went
    /// unanswered: which one, [`TimeoutKind`] tells.
    #[error("timed out: {0}")]
    Timeout(TimeoutKind),
    /// The transport closed without a closing stream tag.
    #[error("the connection closed without </stream:stream>")]
    UnexpectedEof,
    /// The peer sent `</stream:stream>` before the stream was online, so
    /// negotiation never finished. Our closing tag was sent in reply
    /// (RFC 6120 §4.4). A peer close once online, or after our own
    /// [`crate::Stream::close`], is orderly and reports no error.
    #[error("the peer closed the stream before negotiation finished")]
    ClosedByPeer,
    /// Stream management (XEP-0198 §4): the peer acknowledged more
    /// stanzas than were sent. The stream error sent is
    /// `undefined-condition` with `<handled-count-too-high/>`.
    #[error("the peer acknowledged {h} stanzas, but {send_count} were sent")]
    HandledCountTooHigh {
        /// The peer's `h`.
        h: u32,
        /// Stanzas sent (modulo 2^32).
        send_count: u32,
    },
}

impl Error {
    /// The stream error condition sent to the peer for this failure, if one
    /// was sent.
    pub fn condition(&self) -> Option<StreamErrorCondition> {
        match self {
            Error::Xml(e) => Some(e.condition()),
            Error::Protocol { condition, .. } => Some(*condition),
            Error::HandledCountTooHigh { .. } => Some(StreamErrorCondition::UndefinedCondition),
            _ => None,
        }
    }

    /// A stable numeric code for bindings.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Xml(_) => ErrorKind::Xml,
            Error::PeerStreamError(_) => ErrorKind::PeerStreamError,
            Error::Protocol { .. } | Error::HandledCountTooHigh { .. } => ErrorKind::Protocol,
            Error::TlsUnavailable
            | Error::TlsRequiredByServer
            | Error::TlsFailed
            | Error::DataAfterProceed => ErrorKind::Tls,
            Error::NoMechanism { .. } | Error::AuthFailed(_) | Error::Sasl(_) => ErrorKind::Auth,
            Error::BindFailed(_) | Error::SessionFailed(_) => ErrorKind::Bind,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::UnexpectedEof => ErrorKind::Eof,
            Error::ClosedByPeer => ErrorKind::ClosedByPeer,
        }
    }
}

/// Error families as stable numbers, for C and Python bindings.
///
/// ```
/// assert_eq!(xmpp_sansio::ErrorKind::Auth as u32, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorKind {
    /// Inbound XML.
    Xml = 1,
    /// The peer sent a stream error.
    PeerStreamError = 2,
    /// The peer violated the protocol.
    Protocol = 3,
    /// TLS negotiation.
    Tls = 4,
    /// Authentication.
    Auth = 5,
    /// Resource binding or session.
    Bind = 6,
    /// A timeout.
    Timeout = 7,
    /// The transport closed.
    Eof = 8,
    /// The peer closed the stream during negotiation.
    ClosedByPeer = 9,
}

/// A call that is not valid in the stream's current state. Nothing was
/// changed: the stream is as it was before the call.
///
/// ```
/// use std::time::Instant;
/// use xmpp_sansio::{ClientConfig, Stream, UsageError};
/// use xmpp_sansio::xml::Element;
/// let mut s = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
/// let err = s.send(Element::new("message", "jabber:client"), Instant::now());
/// assert_eq!(err, Err(UsageError::NotOnline));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// Stanzas can only be sent once the stream is online.
    #[error("the stream is not online")]
    NotOnline,
    /// `start` was already called.
    #[error("the stream was already started")]
    AlreadyStarted,
    /// `tls_established` was called while no TLS handshake was expected.
    #[error("no TLS handshake is pending")]
    NotAwaitingTls,
    /// The stream is closed or closing.
    #[error("the stream is closed")]
    Closed,
    /// The stanza given cannot be sent as it is: why, [`InvalidStanzaReason`]
    /// tells. Nothing was sent.
    #[error("invalid stanza: {0}")]
    InvalidStanza(InvalidStanzaReason),
    /// A reply to an IQ request that is not an unanswered request received
    /// on this stream: it was answered already (each request gets exactly
    /// one reply, RFC 6120 §8.2.3), or it never arrived. Nothing was sent.
    #[error("not an unanswered request received on this stream")]
    UnknownRequest,
    /// [`crate::Stream::bind`] outside the moments it is expected: before
    /// authentication, with `auto_bind`, while a bind request is in flight,
    /// or once bound.
    #[error("no resource binding is awaited")]
    NotAwaitingBind,
    /// [`crate::Stream::provide_credentials`] without a pending
    /// [`crate::Event::CredentialsRequest`] (or on a client stream).
    #[error("no credentials are awaited")]
    NotAwaitingCredentials,
    /// [`crate::Stream::accept_component`] or
    /// [`crate::Stream::refuse_component`] without a pending
    /// [`crate::Event::ComponentRequest`] (or not on the server end of a
    /// component stream).
    #[error("no component decision is awaited")]
    NotAwaitingComponent,
    /// An address that does not have the form `[localpart@]domainpart[/resourcepart]`
    /// (RFC 7622 §3.1, each part present when its separator is, 1 to 1023
    /// bytes): a reply to a request from it, or a ping to it. Nothing was sent.
    #[error("not a valid address: {0:?}")]
    InvalidAddress(String),
    /// A command only a client stream has (the roster requests of RFC 6121
    /// §2, which a client sends to its server), called on a server stream.
    /// Nothing was sent.
    #[error("only a client stream can do this")]
    ClientOnly,
    /// [`crate::Stream::start`]: the configuration cannot start a stream
    /// ([`crate::ClientConfig::validate`]). Nothing was written.
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    /// [`crate::Stream::accept_resume`] or [`crate::Stream::refuse_resume`]
    /// without a pending [`crate::Event::ResumeRequest`].
    #[error("no resumption request is awaited")]
    NotAwaitingResume,
    /// [`crate::Stream::accept_resume`] with a state that is not the one
    /// asked for: another id, no JID, or another account's.
    #[error("the stream-management state is not the session asked for")]
    ResumeStateMismatch,
}

/// Which deadline ended a stream ([`Error::Timeout`]).
///
/// ```
/// use xmpp_sansio::{Error, TimeoutKind};
/// let e = Error::Timeout(TimeoutKind::Negotiation);
/// assert_eq!(e.to_string(), "timed out: stream negotiation");
/// assert!(matches!(e, Error::Timeout(TimeoutKind::Negotiation)));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TimeoutKind {
    /// [`crate::ClientConfig::negotiation_timeout`] passed before the
    /// stream was online.
    #[error("stream negotiation")]
    Negotiation,
    /// The resource binding (or legacy session) request went unanswered
    /// for [`crate::ClientConfig::iq_timeout`].
    #[error("resource binding")]
    Bind,
    /// A keepalive ping ([`crate::ClientConfig::ping_interval`]) went
    /// unanswered for [`crate::ClientConfig::ping_timeout`].
    #[error("keepalive ping")]
    Ping,
}

/// Why a stanza given to a command cannot be sent
/// ([`UsageError::InvalidStanza`]).
///
/// ```
/// use xmpp_sansio::{InvalidStanzaReason, UsageError};
/// let e = UsageError::InvalidStanza(InvalidStanzaReason::NotAStanza);
/// assert_eq!(e.to_string(), "invalid stanza: not a message, presence or iq in jabber:client");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum InvalidStanzaReason {
    /// [`crate::Stream::send`]: not a `<message/>`, `<presence/>` or `<iq/>`
    /// in the stream's content namespace.
    #[error("not a message, presence or iq in jabber:client")]
    NotAStanza,
    /// [`crate::Stream::send_presence`]: not a `<presence/>` in the
    /// stream's content namespace.
    #[error("not a presence in jabber:client")]
    NotAPresence,
    /// [`crate::Stream::send_presence`]: unavailable presence with
    /// `<show/>` or `<priority/>` (RFC 6121 §4.5.1).
    #[error("unavailable presence carries no <show/> or <priority/>")]
    UnavailableWithShowOrPriority,
    /// [`crate::Stream::send_iq`] with `result` or `error`: replies go
    /// through [`crate::Stream::reply_iq_result`] or
    /// [`crate::Stream::reply_iq_error`].
    #[error("send_iq sends get or set; use reply_iq_* for replies")]
    NotARequestType,
    /// [`crate::Stream::reply_iq_result`] or [`crate::Stream::reply_iq_error`]
    /// given an IQ that is not a `get` or `set` request.
    #[error("not a get or set request")]
    NotARequest,
    /// [`crate::Stream::set_roster_item`] with subscription `remove`:
    /// [`crate::Stream::remove_roster_item`] removes.
    #[error("use remove_roster_item to remove")]
    RemoveWithSetRosterItem,
    /// On a component stream (XEP-0114 §3): the stanza has no `from`, or
    /// one that is not an address, or (sent by the component) one outside
    /// the component's domain.
    #[error("'from' missing or not allowed on this component stream")]
    InvalidFrom,
    /// On a component stream (XEP-0114 §3): the stanza (or request, or
    /// ping without a target) has no `to`, or one that is not an address,
    /// or (sent by the server) one outside the component's domain.
    #[error("'to' missing or not allowed on this component stream")]
    InvalidTo,
}
