//! The sans-IO [`Stream`]: one XMPP connection, without the connection.

mod client;
mod config;
mod error;
mod event;
mod im;
mod output;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

pub use config::{ClientConfig, ConfigError, IqRequestPolicy, TlsPolicy};
pub use error::{Error, ErrorKind, InvalidStanzaReason, TimeoutKind, UsageError};
pub use event::{ClosedBy, Event};

use crate::iq::{
    InboundRequests, IqTracker, OwnAddress, Pending, Purpose, is_valid_address, same_address,
};
use crate::negotiation::StreamFeatures;
use crate::rng::Rng;
use crate::sasl::{ChannelBinding, ClientAuth};
use crate::stanza::{Iq, IqType, StanzaError, StanzaView};
use crate::time::{Duration, Instant, deadline};
use crate::xml::{Element, Framer, StreamHeader, ns};

/// Where a stream is in its life.
///
/// ```
/// use xmpp_sansio::{ClientConfig, State, Stream};
/// let s = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
/// assert_eq!(s.state(), State::Idle);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created; [`Stream::start`] not called yet.
    Idle,
    /// Negotiating: headers, features, SASL, binding.
    Negotiating,
    /// Waiting for the caller to establish TLS ([`Event::StartTls`]).
    AwaitingTls,
    /// Resource bound; stanzas flow.
    Online,
    /// We sent `</stream:stream>` and wait for the peer's: after
    /// [`Stream::close`], or after a failure ([`Stream::error`] is set).
    Closing,
    /// Over.
    Closed,
}

/// The negotiation step, in order (RFC 6120 §4–§7).
#[derive(Debug)]
enum Phase {
    Idle,
    AwaitHeader,
    AwaitFeatures,
    AwaitProceed,
    AwaitTls,
    Sasl(Box<ClientAuth>),
    /// Authenticated, binding offered: waiting for [`Stream::bind`].
    BindReady,
    AwaitBind,
    AwaitSession,
    Online,
    Closing,
    Closed,
}

/// One client-to-server XMPP stream, as a pure state machine.
///
/// A `Stream` owns no socket, TLS session, clock or thread. Methods fall in
/// four groups:
///
/// - **(A) getters**: [`state`](Stream::state), [`bound_jid`](Stream::bound_jid),
///   [`features`](Stream::features), [`header`](Stream::header);
/// - **(B) inputs**: [`handle_input`](Stream::handle_input) (bytes read, in
///   any chunking), [`handle_eof`](Stream::handle_eof),
///   [`handle_timeout`](Stream::handle_timeout),
///   [`tls_established`](Stream::tls_established);
/// - **(C) commands**: [`start`](Stream::start), [`send`](Stream::send),
///   [`send_iq`](Stream::send_iq), [`ping`](Stream::ping),
///   [`bind`](Stream::bind), [`reply_iq_result`](Stream::reply_iq_result),
///   [`reply_iq_error`](Stream::reply_iq_error), [`close`](Stream::close);
/// - **(D) outputs**: [`poll_transmit`](Stream::poll_transmit),
///   [`poll_event`](Stream::poll_event), [`poll_timeout`](Stream::poll_timeout).
///
/// **The drain rule**: after every (B) or (C) call, write out everything
/// `poll_transmit` returns, handle everything `poll_event` returns, and
/// then read `poll_timeout` again. Handling an event often makes another
/// (B) or (C) call (`tls_established` after [`Event::StartTls`], a reply),
/// so write out again before reading: the crate docs show the loop. When
/// the `poll_timeout` moment comes, call `handle_timeout`. Spurious or
/// early `handle_timeout` calls do nothing. Time only moves forward: pass
/// monotonic instants.
///
/// ```
/// use std::time::Instant;
/// use xmpp_sansio::{ClientConfig, Event, Stream, TlsPolicy};
///
/// let mut config = ClientConfig::new("juliet@example.com", "pencil", [0; 32]);
/// config.tls = TlsPolicy::Disabled;            // a loopback test server
/// config.allow_plaintext_auth = true;
/// let now = Instant::now();
/// let mut stream = Stream::client(config);
/// stream.start(now).unwrap();
/// let header = stream.poll_transmit().unwrap();  // write this to the socket
/// assert!(header.starts_with(b"<?xml version='1.0'?><stream:stream"));
///
/// // What the server sends back, in whatever pieces the socket delivers:
/// let server = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
///     version='1.0' from='example.com' id='s1'><stream:features><mechanisms \
///     xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>";
/// for piece in server.as_bytes().chunks(7) {
///     stream.handle_input(piece, now).unwrap();
/// }
/// let auth = stream.poll_transmit().unwrap();
/// assert!(std::str::from_utf8(&auth).unwrap().contains("mechanism='PLAIN'"));
/// assert!(matches!(stream.poll_event(), Some(Event::StreamHeader(h)) if h.id.as_deref() == Some("s1")));
/// assert!(matches!(stream.poll_event(), Some(Event::Features(_))));
/// ```
#[derive(Debug)]
pub struct Stream {
    config: ClientConfig,
    phase: Phase,
    framer: Framer,
    out: BytesMut,
    events: VecDeque<Event>,
    error: Option<Error>,
    rng: Rng,
    iq: IqTracker,
    inbound: InboundRequests,
    own: OwnAddress,
    tls_active: bool,
    channel_binding: ChannelBinding,
    authenticated: bool,
    header: Option<StreamHeader>,
    features: Option<StreamFeatures>,
    bound_jid: Option<String>,
    /// Bind requests sent on this stream (against `ClientConfig::bind_attempts`).
    binds_sent: u32,
    /// The resource the bind request in flight asked for.
    bind_resource: Option<String>,
    header_sent: bool,
    close_sent: bool,
    negotiation_deadline: Option<Instant>,
    close_deadline: Option<Instant>,
    last_input: Option<Instant>,
    last_output: Option<Instant>,
    ping_outstanding: bool,
    /// Who ended the stream, once one side has.
    closed_by: Option<ClosedBy>,
    /// The inbound XML can no longer be read (the framer failed): after a
    /// failure, only the end of file or the close timeout can end the stream.
    input_unreadable: bool,
}

impl Stream {
    /// A client stream for `config`. Nothing is sent until [`Stream::start`].
    pub fn client(config: ClientConfig) -> Self {
        let mut rng = Rng::new(config.rng_seed);
        let iq = IqTracker::new(rng.alphanumeric(8));
        let own = OwnAddress {
            bare: config.bare_jid().to_owned(),
            domain: config.domain().to_owned(),
        };
        Self {
            framer: Framer::new(config.limits.clone()),
            tls_active: config.direct_tls,
            config,
            phase: Phase::Idle,
            out: BytesMut::new(),
            events: VecDeque::new(),
            error: None,
            rng,
            iq,
            inbound: InboundRequests::default(),
            own,
            channel_binding: ChannelBinding::None,
            authenticated: false,
            header: None,
            features: None,
            bound_jid: None,
            binds_sent: 0,
            bind_resource: None,
            header_sent: false,
            close_sent: false,
            negotiation_deadline: None,
            close_deadline: None,
            last_input: None,
            last_output: None,
            ping_outstanding: false,
            closed_by: None,
            input_unreadable: false,
        }
    }

    /// Like [`Stream::client`] over a transport that is already TLS (direct
    /// TLS, XEP-0368), with the channel-binding data it offers.
    pub fn client_over_tls(mut config: ClientConfig, binding: ChannelBinding) -> Self {
        config.direct_tls = true;
        let mut stream = Self::client(config);
        stream.channel_binding = binding;
        stream
    }

    // ---- (A) getters ----

    /// Where the stream is.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Idle => State::Idle,
            Phase::AwaitTls => State::AwaitingTls,
            Phase::Online => State::Online,
            Phase::Closing => State::Closing,
            Phase::Closed => State::Closed,
            _ => State::Negotiating,
        }
    }

    /// The full JID bound to this stream, once online.
    pub fn bound_jid(&self) -> Option<&str> {
        self.bound_jid.as_deref()
    }

    /// The most recent stream features.
    pub fn features(&self) -> Option<&StreamFeatures> {
        self.features.as_ref()
    }

    /// The server's most recent stream header (each one is also reported
    /// as [`Event::StreamHeader`]).
    pub fn header(&self) -> Option<&StreamHeader> {
        self.header.as_ref()
    }

    /// Whether the stream runs over TLS (STARTTLS done or direct TLS).
    pub fn is_secure(&self) -> bool {
        self.tls_active
    }

    /// The failure that ends the stream, if one does: set as it happens,
    /// while the stream may still wait for the peer's closing tag
    /// ([`State::Closing`]) before [`Event::Closed`] reports it.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Which side ended the stream, once one has (it is known while
    /// [`State::Closing`] already, and [`Event::Closed`] repeats it).
    pub fn closed_by(&self) -> Option<ClosedBy> {
        self.closed_by
    }

    // ---- (B) inputs ----

    /// Feeds bytes read from the transport, in any chunking. Returns the
    /// stream's fatal error if it has failed (now or before). The stream
    /// error, if one is due, is already queued for `poll_transmit`.
    ///
    /// After a failure that sent our closing tag (with a stream error or
    /// not), and after a stream error from the peer, keep feeding what
    /// arrives: the stream reads on, reporting nothing more, until the
    /// peer's closing tag (RFC 6120 §4.4), then [`Event::Closed`]. Bytes
    /// after the peer's closing tag are ignored.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        if !data.is_empty() && !matches!(self.phase, Phase::Closed) {
            self.last_input = Some(now);
            if matches!(self.phase, Phase::AwaitTls) {
                self.fail(Error::DataAfterProceed);
            } else if !self.input_unreadable {
                self.framer.push(data);
                self.process_frames(now);
            }
        }
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The transport was closed by the peer (a read returned 0 bytes).
    /// Once we are closing (after [`Stream::close`], or reading on after a
    /// failure or a stream error), this ends the stream with what was
    /// recorded: no second error is reported.
    pub fn handle_eof(&mut self, _now: Instant) {
        match self.phase {
            Phase::Closed => {}
            Phase::Closing => self.finish_close(),
            _ => self.fail(Error::UnexpectedEof),
        }
    }

    /// The caller finished the TLS handshake after [`Event::StartTls`].
    /// `binding` is the channel-binding data its TLS library gave (or
    /// [`ChannelBinding::None`]); SCRAM-PLUS uses it. The stream restarts.
    pub fn tls_established(
        &mut self,
        binding: ChannelBinding,
        now: Instant,
    ) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::AwaitTls) {
            return Err(UsageError::NotAwaitingTls);
        }
        self.tls_active = true;
        self.channel_binding = binding;
        self.framer = Framer::new(self.config.limits.clone());
        self.send_header(now);
        self.phase = Phase::AwaitHeader;
        Ok(())
    }

    /// Acts on deadlines that have passed: IQ timeouts, keepalives, pings,
    /// the negotiation and close deadlines. Early calls do nothing.
    ///
    /// When [`ClientConfig::close_timeout`] passes after [`Stream::close`]
    /// without the peer's closing tag, the stream ends with
    /// `Event::Closed { error: None, .. }`: the caller asked for the end
    /// and got it; RFC 6120 §4.4 lets the closing side consider the streams
    /// void after "a reasonable amount of time". `error` reports only ends
    /// the caller did not ask for: after a failure, the close timeout ends
    /// the stream with that failure.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Closed | Phase::Idle) {
            return;
        }
        if self.close_deadline.is_some_and(|d| d <= now) {
            self.finish_close();
            return;
        }
        if self.error.is_some() {
            // Failed, and waiting for the peer's closing tag: no request
            // can be answered any more, so none times out.
            return;
        }
        let closing = matches!(self.phase, Phase::Closing);
        if self.negotiation_deadline.is_some_and(|d| d <= now)
            && !matches!(self.phase, Phase::Online | Phase::Closing)
        {
            self.fail(Error::Timeout(TimeoutKind::Negotiation));
            return;
        }
        for (id, pending) in self.iq.expire(now) {
            match pending.purpose {
                Purpose::Application | Purpose::Roster { .. } | Purpose::UserPing { .. } => {
                    self.events.push_back(Event::IqTimeout { id })
                }
                // Closing already: the close deadline decides the end.
                Purpose::Ping | Purpose::Bind | Purpose::Session if closing => {}
                Purpose::Ping => {
                    self.fail(Error::Timeout(TimeoutKind::Ping));
                    return;
                }
                Purpose::Bind | Purpose::Session => {
                    self.fail(Error::Timeout(TimeoutKind::Bind));
                    return;
                }
            }
        }
        if !matches!(self.phase, Phase::Online) {
            return;
        }
        if let (Some(interval), Some(last)) = (self.config.ping_interval, self.last_input)
            && !self.ping_outstanding
            && deadline(last, interval).is_some_and(|t| t <= now)
        {
            self.send_ping(now);
        }
        if let (Some(interval), Some(last)) = (self.config.keepalive, self.last_output)
            && deadline(last, interval).is_some_and(|t| t <= now)
        {
            self.write_raw(b" ", now);
        }
    }

    // ---- (C) commands ----

    /// Queues our stream header: the first thing to write to the transport.
    /// A configuration [`ClientConfig::validate`] refuses (an invalid JID,
    /// a resource over 1023 bytes) is [`UsageError::InvalidConfig`], and
    /// nothing is written.
    pub fn start(&mut self, now: Instant) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::Idle) {
            return Err(UsageError::AlreadyStarted);
        }
        self.config.validate()?;
        self.negotiation_deadline = self
            .config
            .negotiation_timeout
            .and_then(|t| deadline(now, t));
        self.send_header(now);
        self.phase = Phase::AwaitHeader;
        Ok(())
    }

    /// Sends a stanza (`<message/>`, `<presence/>` or `<iq/>` in
    /// `jabber:client`). IQ requests are better sent with [`Stream::send_iq`],
    /// which tracks the reply. An IQ `result` or `error` sent this way is a
    /// reply, and follows the rules of [`Stream::reply_iq_result`]: it must
    /// answer (by `to` and `id`) a request this stream delivered and that
    /// has no reply yet, else [`UsageError::UnknownRequest`].
    pub fn send(&mut self, stanza: impl Into<Element>, now: Instant) -> Result<(), UsageError> {
        self.check_online()?;
        let stanza = stanza.into();
        if stanza.ns() != ns::JABBER_CLIENT
            || !matches!(stanza.name(), "message" | "presence" | "iq")
        {
            return Err(UsageError::InvalidStanza(InvalidStanzaReason::NotAStanza));
        }
        if stanza.name() == "iq" && matches!(stanza.attr("type"), Some("result" | "error")) {
            return self.send_reply(&stanza, now);
        }
        self.write_element(&stanza, now);
        Ok(())
    }

    /// Sends an IQ request with `payload` and returns its id. Its reply
    /// arrives as [`Event::IqResult`] or [`Event::IqError`], matched by id
    /// and sender; or [`Event::IqTimeout`] after the configured timeout.
    /// `to: None` addresses the account's server.
    pub fn send_iq(
        &mut self,
        kind: IqType,
        to: Option<&str>,
        payload: Element,
        now: Instant,
    ) -> Result<String, UsageError> {
        self.check_online()?;
        if !matches!(kind, IqType::Get | IqType::Set) {
            return Err(UsageError::InvalidStanza(
                InvalidStanzaReason::NotARequestType,
            ));
        }
        let timeout = self.config.iq_timeout;
        Ok(self.send_iq_internal(kind, to, payload, Purpose::Application, timeout, now))
    }

    /// Binds a resource (RFC 6120 §7) when [`ClientConfig::auto_bind`] is
    /// off: after [`Event::ReadyToBind`], which comes once authentication
    /// succeeded and the server offered binding, and again after each
    /// [`Event::BindFailed`] while [`ClientConfig::bind_attempts`] allows
    /// another request. `resource: None` lets the server choose (§7.6);
    /// otherwise it is requested as given (§7.7), 1 to 1023 bytes.
    /// [`Event::Online`] follows on success.
    ///
    /// Until then the stream stays [`State::Negotiating`] and
    /// [`ClientConfig::negotiation_timeout`] keeps running. Requests from
    /// the server or the account can arrive and be answered meanwhile, as
    /// during binding (see [`Stream::reply_iq_result`]).
    ///
    /// Any other time this is [`UsageError::NotAwaitingBind`] (or
    /// [`UsageError::Closed`]), and nothing is sent.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ClientConfig, Stream, UsageError};
    /// let mut config = ClientConfig::new("a@example.com", "pw", [0; 32]);
    /// config.auto_bind = false;
    /// let mut s = Stream::client(config);
    /// // Not authenticated yet: nothing to bind.
    /// assert_eq!(s.bind(Some("desk"), Instant::now()), Err(UsageError::NotAwaitingBind));
    /// ```
    pub fn bind(&mut self, resource: Option<&str>, now: Instant) -> Result<(), UsageError> {
        match self.phase {
            Phase::BindReady => {}
            Phase::Closing | Phase::Closed => return Err(UsageError::Closed),
            _ => return Err(UsageError::NotAwaitingBind),
        }
        if let Some(resource) = resource {
            config::check_resource(resource).map_err(UsageError::InvalidConfig)?;
        }
        self.send_bind(resource.map(str::to_owned), now);
        Ok(())
    }

    /// Pings `to` (XEP-0199), or our server with `to: None`, and returns
    /// the request's id. The answer arrives as [`Event::Pong`] with the
    /// round-trip time (from `now` to the `now` of the call that read the
    /// reply); an error reply as [`Event::IqError`] (the entity was
    /// reached, and `service-unavailable` says it does not support pings,
    /// XEP-0199 §4.2), no reply as [`Event::IqTimeout`] after
    /// [`ClientConfig::iq_timeout`], each with that id. These pings are
    /// the application's: the keepalive pings of
    /// [`ClientConfig::ping_interval`] stay internal and report nothing.
    ///
    /// `to` must be an address ([`UsageError::InvalidAddress`] otherwise).
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ClientConfig, Stream, UsageError};
    /// let mut s = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
    /// assert_eq!(s.ping(None, Instant::now()), Err(UsageError::NotOnline));
    /// ```
    pub fn ping(&mut self, to: Option<&str>, now: Instant) -> Result<String, UsageError> {
        self.check_online()?;
        if let Some(to) = to.filter(|t| !is_valid_address(t)) {
            return Err(UsageError::InvalidAddress(to.to_owned()));
        }
        let to = to.map_or_else(|| self.own.domain.clone(), str::to_owned);
        let timeout = self.config.iq_timeout;
        Ok(self.send_iq_internal(
            IqType::Get,
            Some(&to),
            Element::new("ping", ns::PING),
            Purpose::UserPing { sent: now },
            timeout,
            now,
        ))
    }

    /// Answers an inbound request ([`Event::IqRequest`]) with a result.
    ///
    /// Each request gets exactly one reply (RFC 6120 §8.2.3): a second
    /// reply, or a reply to a request this stream never delivered (matched
    /// on the request's `from` and `id`), is [`UsageError::UnknownRequest`]
    /// and sends nothing.
    ///
    /// Requests can arrive during resource binding, before
    /// [`Event::Online`]. Only those from the server or the account itself
    /// (no `from`, our bare JID, or our domain) are delivered then, and
    /// they can be answered at once: RFC 6120 §7.1 lets an unbound client
    /// address only the server and its own account. Any other arrives as
    /// [`Event::Unhandled`], unanswered.
    ///
    /// A request whose `from` is not an address (`juliet@`, `a@b@c`) is
    /// never answered: the stream reports it as [`Event::MalformedRequest`]
    /// and answers nothing, and a reply to it here is
    /// [`UsageError::InvalidAddress`].
    ///
    /// A reply sent with [`Stream::send`] must copy the request's `from`
    /// into its `to` unchanged (the builders here do): requests are
    /// matched on the address as sent.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::stanza::Iq;
    /// use xmpp_sansio::xml::Element;
    /// use xmpp_sansio::{ClientConfig, Stream, UsageError};
    /// let mut s = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
    /// let request = Iq::from_element(
    ///     Element::builder("iq", "jabber:client").attr("type", "get").attr("id", "x")
    ///         .child(Element::new("query", "jabber:iq:version")).build(),
    /// ).unwrap();
    /// // A stream that has not negotiated yet answers nothing.
    /// assert_eq!(s.reply_iq_result(&request, None, Instant::now()), Err(UsageError::NotOnline));
    /// ```
    pub fn reply_iq_result(
        &mut self,
        request: &Iq,
        payload: Option<Element>,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.check_can_reply(request)?;
        let reply = request
            .result_reply(payload)
            .ok_or(UsageError::InvalidStanza(InvalidStanzaReason::NotARequest))?;
        self.send_reply(&reply, now)
    }

    /// Answers an inbound request ([`Event::IqRequest`]) with an error.
    /// The same rules as for [`Stream::reply_iq_result`] apply.
    pub fn reply_iq_error(
        &mut self,
        request: &Iq,
        error: StanzaError,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.check_can_reply(request)?;
        let reply = request
            .error_reply(error)
            .ok_or(UsageError::InvalidStanza(InvalidStanzaReason::NotARequest))?;
        self.send_reply(&reply, now)
    }

    /// Closes the stream: sends `</stream:stream>`; [`Event::Closed`]
    /// (with [`ClosedBy::Local`]) follows when the peer's closing tag
    /// arrives (or its end of file, or after
    /// [`ClientConfig::close_timeout`], also with `error: None`). After
    /// this nothing more is written, automatic replies included (RFC 6120
    /// §4.4), while what the peer still sends is processed and reported
    /// (stanzas only if a resource was bound; before that they are
    /// [`Event::Unhandled`]).
    ///
    /// While [`State::AwaitingTls`], nothing is written (the transport is
    /// between plaintext and TLS) and the stream ends at once.
    pub fn close(&mut self, now: Instant) {
        match self.phase {
            Phase::Closed | Phase::Closing => {}
            Phase::Idle | Phase::AwaitTls => {
                self.closed_by = Some(ClosedBy::Local);
                self.finish_close();
            }
            _ => {
                self.closed_by = Some(ClosedBy::Local);
                self.write_close(now);
                self.phase = Phase::Closing;
                self.close_deadline = deadline(now, self.config.close_timeout);
            }
        }
    }

    // ---- (D) outputs ----

    /// Bytes to write to the transport, all queued so far in one buffer.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.split().freeze())
        }
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Stream::handle_timeout`] should next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.phase, Phase::Closed | Phase::Idle) {
            return None;
        }
        let mut next = if self.error.is_some() {
            None // failed: only the close deadline is left
        } else {
            self.iq.next_deadline()
        };
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        consider(self.close_deadline);
        if !matches!(self.phase, Phase::Online | Phase::Closing) {
            consider(self.negotiation_deadline);
        }
        if matches!(self.phase, Phase::Online) {
            if !self.ping_outstanding {
                consider(
                    self.config
                        .ping_interval
                        .zip(self.last_input)
                        .and_then(|(i, l)| deadline(l, i)),
                );
            }
            consider(
                self.config
                    .keepalive
                    .zip(self.last_output)
                    .and_then(|(i, l)| deadline(l, i)),
            );
        }
        next
    }

    // ---- internals shared by the client steps ----

    fn check_online(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Online => Ok(()),
            Phase::Closing | Phase::Closed => Err(UsageError::Closed),
            _ => Err(UsageError::NotOnline),
        }
    }

    /// Whether the stream is in a state to answer `request`.
    fn check_can_reply(&self, request: &Iq) -> Result<(), UsageError> {
        match self.phase {
            Phase::Online => Ok(()),
            Phase::Closing | Phase::Closed => Err(UsageError::Closed),
            // RFC 6120 §7.1: before binding, only the server and the
            // account itself may be addressed.
            Phase::BindReady | Phase::AwaitBind | Phase::AwaitSession
                if self.addressable_unbound(request.element().attr("from")) =>
            {
                Ok(())
            }
            _ => Err(UsageError::NotOnline),
        }
    }

    /// RFC 6120 §7.1: before binding, a client may address only the server
    /// and its own account (no `from`, our bare JID, or our domain).
    fn addressable_unbound(&self, from: Option<&str>) -> bool {
        from.is_none_or(|f| same_address(f, &self.own.bare) || same_address(f, &self.own.domain))
    }

    /// Whether an automatic reply to a request from `from` may be written
    /// now: our closing tag is not out, and the sender can be addressed
    /// (anyone once bound; before that, RFC 6120 §7.1).
    fn may_answer(&self, from: Option<&str>) -> bool {
        !self.close_sent && (self.bound_jid.is_some() || self.addressable_unbound(from))
    }

    /// Sends the IQ `reply` if it answers (by `to` and `id`, which a reply
    /// copies from its request's `from` and `id`) a request we delivered
    /// that has no reply yet, and `to` is an address.
    fn send_reply(&mut self, reply: &Element, now: Instant) -> Result<(), UsageError> {
        if let Some(to) = reply.attr("to").filter(|t| !is_valid_address(t)) {
            return Err(UsageError::InvalidAddress(to.to_owned()));
        }
        if !self
            .inbound
            .take(reply.attr("to"), reply.attr("id").unwrap_or_default())
        {
            return Err(UsageError::UnknownRequest);
        }
        self.write_element(reply, now);
        Ok(())
    }

    fn send_iq_internal(
        &mut self,
        kind: IqType,
        to: Option<&str>,
        payload: Element,
        purpose: Purpose,
        timeout: Duration,
        now: Instant,
    ) -> String {
        let id = self.iq.next_id();
        let iq = Element::builder("iq", ns::JABBER_CLIENT)
            .attr("type", kind.as_str())
            .attr("id", id.clone())
            .attr_opt("to", to)
            .child(payload)
            .build();
        self.iq.register(
            id.clone(),
            Pending {
                to: to.map(str::to_owned),
                deadline: deadline(now, timeout),
                purpose,
            },
        );
        self.write_element(&iq, now);
        id
    }

    fn send_ping(&mut self, now: Instant) {
        let domain = self.own.domain.clone();
        let timeout = self.config.ping_timeout;
        self.send_iq_internal(
            IqType::Get,
            Some(&domain),
            Element::new("ping", ns::PING),
            Purpose::Ping,
            timeout,
            now,
        );
        self.ping_outstanding = true;
    }

    /// Ends the stream because of `error`: sends the stream error it calls
    /// for (if any, and if our header is out), then our closing tag. The
    /// first failure is the one kept and reported; later ones are ignored.
    ///
    /// With our closing tag out, the stream then reads on until the peer's
    /// (RFC 6120 §4.4), its end of file or the close timeout, unless the
    /// peer is done already (its closing tag, its end of file) or silent
    /// (a timeout). The close deadline counts from the last input: every
    /// failure that waits is detected while reading it.
    fn fail(&mut self, error: Error) {
        if matches!(self.phase, Phase::Closed) || self.error.is_some() {
            return;
        }
        let by = match error {
            Error::PeerStreamError(_)
            | Error::TlsFailed
            | Error::UnexpectedEof
            | Error::ClosedByPeer => ClosedBy::Peer,
            _ => ClosedBy::Local,
        };
        self.closed_by.get_or_insert(by);
        if let Some(condition) = error.condition()
            && self.header_sent
            && !self.close_sent
        {
            let text = match &error {
                Error::Protocol { reason, .. } => Some(reason.clone()),
                Error::Xml(e) => Some(e.to_string()),
                _ => None,
            };
            self.write_stream_error(condition, text.as_deref());
        }
        if self.header_sent && !self.close_sent && !matches!(self.phase, Phase::AwaitTls) {
            self.write_close_now();
        }
        let peer_done_or_silent = matches!(
            error,
            Error::UnexpectedEof | Error::ClosedByPeer | Error::Timeout(_)
        );
        self.error = Some(error);
        if self.close_sent && !peer_done_or_silent {
            self.phase = Phase::Closing;
            if self.close_deadline.is_none() {
                self.close_deadline = self
                    .last_input
                    .and_then(|t| deadline(t, self.config.close_timeout));
            }
        } else {
            self.finish_close();
        }
    }

    /// The stream is over: reports [`Event::Closed`] with the failure
    /// recorded, if any.
    fn finish_close(&mut self) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.close_deadline = None;
        self.events.push_back(Event::Closed {
            by: self.closed_by.unwrap_or(ClosedBy::Local),
            error: self.error.clone(),
        });
    }
}
