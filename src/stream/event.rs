//! What a [`crate::Stream`] reports to the application.

use crate::im::{Roster, RosterItem, RosterPushRejection};
use crate::negotiation::StreamFeatures;
use crate::sasl::{FailureReason, Mechanism};
use crate::stanza::{
    Iq, Message, Presence, StanzaError, StanzaErrorCondition, StanzaParseError, StreamError,
};
use crate::time::Duration;
use crate::xml::{Element, StreamHeader};

use super::error::Error;

/// Something the application should know or act on. Events are owned
/// values: they can be moved to another thread or across an FFI boundary.
///
/// ```
/// use xmpp_sansio::{Event, Stream};
/// fn handle(stream: &mut Stream) {
///     while let Some(event) = stream.poll_event() {
///         match event {
///             Event::Online { jid } => println!("online as {jid}"),
///             Event::Message(m) => println!("{:?}", m.body(None)),
///             Event::Closed { by, error } => println!("closed by {by:?}: {error:?}"),
///             _ => {}
///         }
///     }
/// }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The server accepted STARTTLS. Upgrade the transport to TLS now, then
    /// call [`crate::Stream::tls_established`]. Until then, no bytes may be
    /// fed: any that arrive were sent in plaintext after the switch point.
    StartTls,
    /// The server's stream features (after each stream restart).
    Features(Box<StreamFeatures>),
    /// SASL authentication succeeded (the server's signature verified, for SCRAM).
    Authenticated {
        /// The mechanism used.
        mechanism: Mechanism,
    },
    /// A resource is bound: stanzas can be sent and will be received.
    Online {
        /// The full JID the server bound, as it sent it.
        jid: String,
    },
    /// A message stanza (any type, `error` included).
    Message(Message),
    /// A presence stanza.
    Presence(Presence),
    /// An IQ `get` or `set` for the application to answer with
    /// [`crate::Stream::reply_iq_result`] or [`crate::Stream::reply_iq_error`]
    /// (see [`crate::IqRequestPolicy`]).
    IqRequest(Iq),
    /// The reply to a request sent with [`crate::Stream::send_iq`].
    IqResult {
        /// The request's id.
        id: String,
        /// The reply's `from`, as sent.
        from: Option<String>,
        /// The payload child, if any.
        payload: Option<Element>,
    },
    /// An error reply to a request sent with [`crate::Stream::send_iq`].
    IqError {
        /// The request's id.
        id: String,
        /// The reply's `from`, as sent.
        from: Option<String>,
        /// The stanza error (condition, type, text).
        error: StanzaError,
    },
    /// The answer to [`crate::Stream::request_roster`]. `roster: None` is the
    /// empty result of roster versioning (RFC 6121 §2.6.3): the version the
    /// request sent, `request_ver`, is current, and any changes follow as
    /// pushes. It is reported only when the request sent a version (so
    /// `request_ver` is then always `Some`); otherwise an empty result (or
    /// one with a payload other than a roster query) is [`Event::IqResult`].
    /// Items the stream could not read are in [`Roster::skipped`], raw;
    /// [`crate::im::RosterCache::replace`] then does not adopt the version.
    Roster {
        /// The request's id.
        id: String,
        /// The roster, or `None` for "your cache is current".
        roster: Option<Roster>,
        /// The `ver` the request sent (`None` if it sent none: none was
        /// given, or the server does not advertise versioning). With
        /// `roster: None`, the version the server confirms as current.
        request_ver: Option<String>,
    },
    /// A roster push (RFC 6121 §2.1.6), already acknowledged with a result
    /// (unless we had already sent our closing tag: then nothing is written).
    /// Refused pushes are reported as [`Event::RosterPushRejected`].
    RosterPush {
        /// The changed item (`Subscription::Remove` for a removal).
        item: RosterItem,
        /// The roster version after this push.
        ver: Option<String>,
    },
    /// A roster push the stream refused, already answered with
    /// [`RosterPushRejection::stanza_error`]: from someone other than the
    /// server (`service-unavailable`), or not exactly one readable item
    /// (`bad-request`). Nothing was applied. When
    /// [`RosterPushRejection::from_server`] holds, the server's roster may
    /// have changed unseen: mark a cache stale
    /// ([`crate::im::RosterCache::mark_stale`]) so the next request
    /// fetches the whole roster.
    RosterPushRejected {
        /// The push as received.
        push: Iq,
        /// Why it was refused.
        reason: RosterPushRejection,
    },
    /// Someone asks to see our presence (RFC 6121 §3.1.3); answer with
    /// [`crate::im::subscription::subscribed`] or `unsubscribed`.
    SubscriptionRequest(Presence),
    /// No reply arrived in time ([`crate::ClientConfig::iq_timeout`]); a late
    /// reply will not be reported.
    IqTimeout {
        /// The request's id.
        id: String,
    },
    /// An IQ request (type `get`, `set`, or one that is not
    /// `result`/`error`: unknown or missing) the stream could not accept.
    /// Its `from` is not an address (`error` is
    /// [`StanzaParseError::JidMalformed`] with the raw text): never
    /// answered, since the reply would go nowhere meant. Or it is
    /// malformed (an unknown type, no id, not exactly one payload): answered
    /// with `bad-request` (RFC 6120 §8.2.3) when it can be, that is, it has
    /// an id and its sender may be addressed now (anyone once bound, only
    /// the server and the account before, RFC 6120 §7.1; nothing after our
    /// close).
    MalformedRequest {
        /// The request as received.
        request: Element,
        /// What is wrong with it.
        error: StanzaParseError,
        /// Whether the stream sent an error reply.
        replied: bool,
    },
    /// The answer to [`crate::Stream::ping`] (XEP-0199). An error reply is
    /// [`Event::IqError`], no reply [`Event::IqTimeout`], with the same id.
    Pong {
        /// The ping's id.
        id: String,
        /// The reply's `from`, as sent.
        from: Option<String>,
        /// From the `now` of the `ping` call to the `now` of the input call
        /// that read the reply.
        rtt: Duration,
    },
    /// Authenticated, and the server offers resource binding: call
    /// [`crate::Stream::bind`] (only without [`crate::ClientConfig::auto_bind`];
    /// also after a [`Event::BindFailed`] that leaves attempts).
    ReadyToBind {
        /// Bind requests left ([`crate::ClientConfig::bind_attempts`]).
        attempts_left: u32,
    },
    /// The server refused a bind request (RFC 6120 §7.6.2, §7.7.2). What
    /// follows: [`Event::ReadyToBind`], a retry by the stream with a
    /// server-generated resource, or the end of the stream
    /// ([`crate::ClientConfig::bind_attempts`] says which).
    BindFailed {
        /// The stanza error (`conflict`, `not-allowed`, `bad-request`, …).
        error: StanzaError,
        /// The resource that was requested (`None`: the server's choice).
        resource: Option<String>,
    },
    /// A top-level element the stream could not attribute: an IQ reply to
    /// no pending request (or from the wrong sender), a request from a
    /// third party before binding, a stanza after our close on a stream
    /// that never bound, or a stanza too malformed for its typed view. Kept so nothing is lost silently.
    Unhandled(Element),
    /// The stream is over. The transport can be closed once
    /// [`crate::Stream::poll_transmit`] is drained. Requests still pending
    /// get no further event: no reply can arrive on a closed stream.
    ///
    /// Once our closing tag is out, this comes when the peer's closing tag
    /// arrives, at its end of file, or when
    /// [`crate::ClientConfig::close_timeout`] passes (RFC 6120 §4.4): after
    /// [`crate::Stream::close`], and after a failure that sent a stream
    /// error or our closing tag, too. The failure itself is known at once:
    /// [`crate::Stream::handle_input`] returns it, and
    /// [`crate::Stream::error`] holds it.
    Closed {
        /// Which side ended the stream.
        by: ClosedBy,
        /// `None` for an orderly close by either side; else the failure,
        /// the one the inputs return (sticky) since it happened.
        error: Option<Error>,
    },
    /// A stream header from the server: the first one, and the one that
    /// opens each restarted stream (after STARTTLS and after SASL, RFC 6120
    /// §4.3.3), in order and before that stream's [`Event::Features`]. The
    /// stream id and `from` change at each restart. A header the stream
    /// refuses (another content namespace, a version other than 1.x) is
    /// reported too, before the failure. [`crate::Stream::header`] holds
    /// the most recent one.
    StreamHeader(Box<StreamHeader>),
    /// **Server role.** The client authenticates with `mechanism` as
    /// `username`: look the account up, then call
    /// [`crate::Stream::provide_credentials`] with its stored keys (or
    /// `None` when there is no such account), now or later.
    /// Until then the stream holds what the client sends (buffered, not
    /// read), so anything it pipelined is read after the answer, the same
    /// however its bytes were cut.
    CredentialsRequest {
        /// The mechanism the client chose.
        mechanism: Mechanism,
        /// The authentication identity (SASLprep'd).
        username: String,
        /// The authorization identity the client asks for, as sent: unless
        /// it is the username or `username@domain`, it is refused
        /// (`invalid-authzid`) once the credentials verify.
        authzid: Option<String>,
    },
    /// **Server role.** A SASL exchange failed; `<failure/>` with
    /// [`FailureReason::condition`] was sent. The client may try again
    /// while `attempts_left` is not 0 ([`crate::ServerConfig::sasl_attempts`]);
    /// at 0 the stream ends with `not-authorized`.
    AuthFailed {
        /// The mechanism, if the client named one the server runs.
        mechanism: Option<Mechanism>,
        /// Why (for logs: a wrong password and an unknown account are the
        /// same reason, and the same condition on the wire).
        reason: FailureReason,
        /// Exchanges the client may still start.
        attempts_left: u32,
    },
    /// **Server role.** The client asks to bind a resource (RFC 6120 §7):
    /// answer with [`crate::Stream::accept_bind`] (the one it asked for,
    /// another, or one the stream generates) or
    /// [`crate::Stream::refuse_bind`] (`conflict` when the resource is in
    /// use and the server does not replace sessions, §7.7.2.2).
    /// Until then the stream holds what the client sends (buffered, not
    /// read), so anything it pipelined is read after the answer, the same
    /// however its bytes were cut.
    BindRequest {
        /// The bind request's id.
        id: String,
        /// The bare JID the client authenticated as.
        account: String,
        /// The resource asked for (`None`: the server chooses, §7.6).
        resource: Option<String>,
    },
    /// **Component server role.** A component asks to be served under
    /// `name` (its stream header's `to`, XEP-0114 §3; our header, with the
    /// stream id, is out): call [`crate::Stream::accept_component`] with
    /// that name's shared secret, or [`crate::Stream::refuse_component`]
    /// (`host-unknown`, or `conflict` when another connection serves the
    /// name), now or later. A handshake that arrives meanwhile waits.
    ComponentRequest {
        /// The component's name: a domain, without a final dot.
        name: String,
    },
    /// **Server role** (and a component's server). An IQ `result` or `error` from the client that
    /// answers no request this stream sent with
    /// [`crate::Stream::send_iq`]: its answer to a request routed to it
    /// with [`crate::Stream::send`], for the application to route on (to
    /// its `to`). `from` is stamped.
    IqReply(Iq),
    /// The peer sent a stream error (RFC 6120 §4.9), with every `<text/>`
    /// and its language. Reported once, as it arrives: the stream then
    /// reads on until the peer's closing tag or its end of file, and
    /// [`Event::Closed`] follows, with [`ClosedBy::Peer`] (unless we had
    /// closed first) and [`Error::PeerStreamError`] as the reason.
    PeerStreamError(StreamError),
    /// Stream management (XEP-0198) is on: `<enabled/>` arrived (client)
    /// or was sent (server). From now on stanzas are counted both ways
    /// and kept until acknowledged ([`Event::Acknowledged`]).
    SmEnabled {
        /// The resumption id, when the session can be resumed.
        id: Option<String>,
        /// Where to reconnect to resume, if the server said.
        location: Option<String>,
        /// The longest resumption wait in seconds, if said.
        max: Option<u32>,
    },
    /// The server refused `<enable/>` (XEP-0198 §3): the stream goes on
    /// without stream management; the stanzas sent meanwhile went out as
    /// on any stream.
    SmFailed {
        /// The stanza error condition given, if any.
        condition: Option<StanzaErrorCondition>,
    },
    /// The peer acknowledged these stanzas (XEP-0198 `<a h=''/>`), in the
    /// order they were sent: it has them (a message is delivered to the
    /// server). Each is reported once.
    Acknowledged {
        /// The stanzas, as sent.
        stanzas: Vec<Element>,
    },
    /// The session was resumed (XEP-0198 §5): the stream is online with
    /// the session's JID, instead of [`Event::Online`]; the session's
    /// roster and presence are as they were. The stanzas the peer had
    /// not received were resent.
    Resumed {
        /// The session's full JID.
        jid: String,
        /// How many stanzas were resent.
        resent: usize,
    },
    /// **Client.** The session could not be resumed (`<failed/>`, or no
    /// stream management offered): these stanzas were sent on the old
    /// stream and never acknowledged, so the server may not have them.
    /// Send them again if they still matter. A new resource is bound next
    /// ([`Event::Online`]).
    ResumeFailed {
        /// The unacknowledged stanzas, in the order they were sent.
        unacked: Vec<Element>,
    },
    /// **Server role.** The client asks to resume the session `previd`
    /// (XEP-0198 §5) instead of binding: find its state (the old stream's
    /// [`crate::Stream::sm_state`]) and call
    /// [`crate::Stream::accept_resume`], or
    /// [`crate::Stream::refuse_resume`] if there is none.
    /// Until then the stream holds what the client sends (buffered, not
    /// read), so anything it pipelined is read after the answer, the same
    /// however its bytes were cut.
    ResumeRequest {
        /// The resumption id the client gives.
        previd: String,
        /// The client's count of our stanzas it handled.
        h: u32,
    },
}

/// Which side ended a stream ([`Event::Closed`]).
///
/// The side that first sent its closing tag or a stream error, or whose
/// transport ended first. A close asked for with [`crate::Stream::close`],
/// a failure the stream detected (it sends the stream error or the closing
/// tag), or a timeout is [`ClosedBy::Local`]. The peer's closing tag, a
/// stream error it sent, its TLS `<failure/>` (RFC 6120 §5.4.2.2: it
/// closes the stream after it), or the end of its transport before ours
/// is [`ClosedBy::Peer`].
///
/// ```
/// use std::time::Instant;
/// use xmpp_sansio::{ClientConfig, ClosedBy, Event, Stream};
/// let now = Instant::now();
/// let mut s = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
/// s.start(now).unwrap();
/// s.handle_input(b"<stream:stream xmlns='jabber:client' \
///     xmlns:stream='http://etherx.jabber.org/streams' version='1.0' id='s1'>", now).unwrap();
/// s.close(now);                                  // we end it...
/// s.handle_input(b"</stream:stream>", now).unwrap(); // ...the peer answers
/// let last = std::iter::from_fn(|| s.poll_event()).last();
/// assert_eq!(last, Some(Event::Closed { by: ClosedBy::Local, error: None }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClosedBy {
    /// We ended the stream.
    Local,
    /// The peer ended the stream.
    Peer,
}
