//! The sans-IO [`Stream`]: one XMPP connection, without the connection.

mod client;
mod component;
mod config;
mod dispatch;
mod error;
mod event;
mod im;
mod input;
mod output;
mod reply;
mod role;
mod server;
mod sm;
mod timers;

use std::collections::VecDeque;

use bytes::Bytes;

pub use component::config::{ComponentConfig, ComponentServerConfig};
pub use config::{ClientConfig, ConfigError, IqRequestPolicy, TlsPolicy};
pub use error::{Error, ErrorKind, InvalidStanzaReason, TimeoutKind, UsageError};
pub use event::{ClosedBy, Event};
pub use server::config::{MAX_SASL_ATTEMPTS, MIN_SASL_ATTEMPTS, ServerConfig};
pub use sm::{SmConfig, SmState, SmStateError};

use crate::iq::{InboundRequests, IqTracker, Pending, Purpose};
use crate::negotiation::StreamFeatures;
use crate::rng::Rng;
use crate::sasl::ChannelBinding;
use crate::stanza::is_valid_address;
use crate::stanza::{Iq, IqType, StanzaError, StanzaView, StreamErrorCondition};
use crate::time::{Duration, Instant, deadline};
use crate::xml::{Element, Framer, StreamHeader, ns};

use config::Settings;
use dispatch::is_stanza;
use output::Output;
use role::{ClientSide, ClientStep, Role};
use sm::Sm;
use timers::{Timer, TimerTable};

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

/// Where a stream is in its life, for every role; the role's negotiator
/// keeps its own step while [`Phase::Negotiating`].
// `repr(u8)`: a plain tag byte, so `handle_input`'s test of the phase, on
// every read, stays one comparison instead of decoding a niche: the two
// phases that read nothing, `AwaitTls` and `Closed`, are the last two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Idle,
    /// Headers, features, authentication, binding: the role's negotiator
    /// runs (`client.rs`).
    Negotiating,
    Online,
    /// Our closing tag is out; reading on until the peer's. `bound`: a
    /// resource was bound, so stanzas that still arrive are delivered.
    Closing {
        bound: bool,
    },
    /// `<proceed/>` passed: the caller establishes TLS.
    AwaitTls,
    Closed,
}

/// Where [`Stream::header`] finds the peer's most recent stream header:
/// the framer keeps the current stream's, so the stream keeps a copy of
/// its own only from a restart until the new stream's header arrives.
#[derive(Debug)]
enum PeerHeader {
    None,
    /// The framer's header is the one.
    InFramer,
    /// The framer was restarted since: the previous stream's header.
    Kept(Box<StreamHeader>),
}

/// A protocol violation that earns the peer a stream error.
fn protocol(condition: StreamErrorCondition, reason: impl Into<String>) -> Error {
    Error::Protocol {
        condition,
        reason: reason.into(),
    }
}

/// One client-to-server XMPP stream, as a pure state machine: either end
/// of it, the client ([`Stream::client`]) or the server
/// ([`Stream::server`], one per accepted connection), with the same
/// inputs, outputs and events. A XEP-0114 component stream, too: the
/// component ([`Stream::component`]) or the server end that accepts it
/// ([`Stream::component_server`]).
///
/// A `Stream` owns no socket, TLS session, clock or thread. Methods fall in
/// four groups (the server's own commands:
/// [`provide_credentials`](Stream::provide_credentials),
/// [`accept_bind`](Stream::accept_bind), [`refuse_bind`](Stream::refuse_bind);
/// a component server's: [`accept_component`](Stream::accept_component),
/// [`refuse_component`](Stream::refuse_component)):
///
/// - **(A) getters**: [`state`](Stream::state), [`bound_jid`](Stream::bound_jid),
///   [`features`](Stream::features), [`header`](Stream::header);
/// - **(B) inputs**: [`handle_input`](Stream::handle_input) (bytes read, in
///   any chunking; [`handle_input_some`](Stream::handle_input_some) takes
///   a large read a window at a time, so the caller drains between
///   windows and memory stays bounded), [`handle_eof`](Stream::handle_eof),
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
    /// Which end this is, with the state only that end keeps.
    role: Role,
    /// What the shared part takes from the role's configuration.
    settings: Settings,
    phase: Phase,
    framer: Framer,
    out: Output,
    events: VecDeque<Event>,
    error: Option<Error>,
    rng: Rng,
    iq: IqTracker,
    inbound: InboundRequests,
    timers: TimerTable,
    tls_active: bool,
    /// Where the peer's most recent stream header is.
    header: PeerHeader,
    last_input: Option<Instant>,
    last_output: Option<Instant>,
    /// A keepalive ping is in flight (the ping timer is stopped meanwhile).
    ping_outstanding: bool,
    /// Who ended the stream, once one side has.
    closed_by: Option<ClosedBy>,
    /// The inbound XML can no longer be read (the framer failed): after a
    /// failure, only the end of file or the close timeout can end the stream.
    input_unreadable: bool,
    /// A negotiation step waits for the application (credentials, a bind,
    /// a resumption or a component decision): input is buffered, not
    /// read, until the call that decides, so what the peer pipelined
    /// behind the request is read after the decision in any chunking.
    held_for_decision: bool,
    /// `error` is set, `held_for_decision`, owned reads wait `unread`
    /// (a read must queue behind them), or the phase is one that does not
    /// read (waiting for TLS, closed): one flag for
    /// [`Stream::handle_input`]'s fast path to test on every read, set
    /// only by [`Stream::set_input_stopped`] (which closes the framer's
    /// one-byte fast path with it).
    input_stopped: bool,
    /// Complete input may wait in the framer, unread: a read stopped once
    /// its events covered [`Stream::INPUT_WINDOW`] bytes, and the rest is
    /// read as [`Stream::poll_event`] takes them. Holds the time of that
    /// read, which the rest is read at.
    backlog: Option<Instant>,
    /// Output that reading the backlog queued while the caller took
    /// events, not yet taken: [`Stream::poll_timeout`] reports it due (at
    /// the read's time), so a caller that takes every event but writes
    /// only before them still writes it before it waits.
    late_output: Option<Instant>,
    /// Reads taken by [`Stream::handle_input_bytes`] and not yet given to
    /// the framer, with the time of each: given a window at a time as
    /// the events are taken, so they are never copied whole.
    unread: VecDeque<(Bytes, Instant)>,
    /// An event is queued, or input is left to read on as the events are
    /// taken (`backlog` is set or `unread` holds reads): the one flag
    /// [`Stream::poll_event`] tests before anything else
    /// ([`Stream::push_event`], [`Stream::refresh_poll_ready`]).
    poll_ready: bool,
    /// Stream management (XEP-0198).
    sm: Sm,
}

impl Stream {
    /// A client stream for `config`. Nothing is sent until [`Stream::start`].
    pub fn client(config: ClientConfig) -> Self {
        Self::new_with_role(
            config.rng_seed,
            Settings::of_client(&config),
            config.direct_tls,
            Role::Client(ClientSide::new(config)),
        )
    }

    /// A stream in [`Phase::Idle`] for the role `role` makes.
    fn new_with_role(rng_seed: [u8; 32], settings: Settings, tls_active: bool, role: Role) -> Self {
        let mut rng = Rng::new(rng_seed);
        let iq = IqTracker::new(rng.alphanumeric(8));
        let settings_sm = settings.sm.clone();
        Self {
            framer: Framer::new(settings.limits.clone()),
            tls_active,
            role,
            settings,
            phase: Phase::Idle,
            out: Output::default(),
            events: VecDeque::new(),
            error: None,
            rng,
            iq,
            inbound: InboundRequests::default(),
            timers: TimerTable::default(),
            header: PeerHeader::None,
            last_input: None,
            last_output: None,
            ping_outstanding: false,
            closed_by: None,
            input_unreadable: false,
            held_for_decision: false,
            input_stopped: false,
            backlog: None,
            late_output: None,
            unread: VecDeque::new(),
            poll_ready: false,
            sm: Sm::new(settings_sm),
        }
    }

    /// Like [`Stream::client`] over a transport that is already TLS (direct
    /// TLS, XEP-0368), with the channel-binding data it offers.
    pub fn client_over_tls(mut config: ClientConfig, binding: ChannelBinding) -> Self {
        config.direct_tls = true;
        let mut stream = Self::client(config);
        stream.client_side_mut().channel_binding = binding;
        stream
    }

    // ---- (A) getters ----

    /// Where the stream is.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Idle => State::Idle,
            Phase::Negotiating => State::Negotiating,
            Phase::AwaitTls => State::AwaitingTls,
            Phase::Online => State::Online,
            Phase::Closing { .. } => State::Closing,
            Phase::Closed => State::Closed,
        }
    }

    /// The full JID bound to this stream, once online.
    pub fn bound_jid(&self) -> Option<&str> {
        self.role.bound_jid()
    }

    /// The most recent stream features the server offered. On a server
    /// stream, `None`: it offers features and reads none.
    pub fn features(&self) -> Option<&StreamFeatures> {
        match &self.role {
            Role::Client(c) => c.features.as_ref(),
            _ => None,
        }
    }

    /// The peer's most recent stream header (each one is also reported
    /// as [`Event::StreamHeader`]): the server's on a client stream, the
    /// client's on a server stream.
    pub fn header(&self) -> Option<&StreamHeader> {
        match &self.header {
            PeerHeader::None => None,
            PeerHeader::InFramer => self.framer.header(),
            PeerHeader::Kept(header) => Some(header),
        }
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

    /// How many stanzas (`<message/>`, `<presence/>`, `<iq/>`, automatic
    /// replies included) this stream has queued for the transport; stream
    /// headers, negotiation elements, keepalives and stream errors are not
    /// counted.
    ///
    /// ```
    /// use xmpp_sansio::{ClientConfig, Stream};
    /// let s = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
    /// assert_eq!(s.stanzas_sent(), 0);
    /// ```
    pub fn stanzas_sent(&self) -> u64 {
        self.out.stanzas_sent()
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
    /// A read is handled as far as its events cover
    /// [`Stream::INPUT_WINDOW`] bytes of input; the rest is handled as
    /// [`Stream::poll_event`] takes those events (replies it makes are
    /// queued for `poll_transmit` then, so write after each event, as the
    /// run loop in the crate docs does). One large read so holds its bytes
    /// and a window's events at a time, not every event it holds (a 1 MB
    /// read of small stanzas would otherwise hold about 5.5 MiB of events
    /// before the first is taken). A failure in that rest is met as the
    /// events before it are taken: `handle_input` and every other input
    /// report it from then on, and [`Event::Closed`] carries it.
    /// [`Stream::poll_timeout`] reports such a rest due at once, so a
    /// caller that waits before taking every event has it handled by
    /// [`Stream::handle_timeout`]; the end of file and every deadline
    /// handle it first. To bound the copy of a large read too, use
    /// [`Stream::handle_input_some`].
    ///
    /// After a failure that sent our closing tag (with a stream error or
    /// not), and after a stream error from the peer, keep feeding what
    /// arrives: the stream reads on, reporting nothing more, until the
    /// peer's closing tag (RFC 6120 §4.4), then [`Event::Closed`]. Bytes
    /// after the peer's closing tag are ignored.
    #[inline(always)]
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        // The fast path, for reads that complete nothing (a byte at a
        // time, say): push, and return if the framer has no event yet.
        // Everything else, an event included, goes to the body.
        debug_assert_eq!(self.input_stopped, self.input_stops());
        debug_assert_eq!(self.framer.fast_push(), !self.input_stopped);
        // One byte: the framer's bound is 0 while the input is stopped
        // (`Stream::set_input_stopped`), so it stands for that test too.
        let waits = if let [b] = data
            && let Some(waits) = self.framer.try_push_waits(*b)
        {
            waits
        } else if !data.is_empty() && !self.input_stopped {
            self.framer.push(data);
            self.framer.nothing_yet()
        } else {
            return self.handle_input_slow(data, now);
        };
        // The ping timer runs from here (`TimerTable::arm_ping`).
        self.last_input = Some(now);
        if waits {
            return Ok(());
        }
        self.read_frames(now)
    }

    /// [`Stream::handle_input`] once the framer may have an event (or an
    /// error): out of line, so what is inlined into a caller stays small.
    #[inline(never)]
    fn read_frames(&mut self, now: Instant) -> Result<(), Error> {
        match self.framer.next_event() {
            Ok(None) => Ok(()),
            first => self.handle_frames(first, now),
        }
    }

    /// [`Stream::handle_input`]'s body, past its fast path: every case
    /// where the stream has failed or ended, or is between streams, or
    /// owned reads wait unread (`data` then queues behind them).
    #[inline(never)]
    fn handle_input_slow(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        if !self.unread.is_empty() && !data.is_empty() {
            self.queue_unread(Bytes::copy_from_slice(data), now);
        } else {
            self.take_input(data, now);
        }
        self.result()
    }

    /// Queues a read behind the owned reads not yet given to the framer:
    /// it is read as the events before it are taken, and until then no
    /// read may go to the framer ahead of it.
    fn queue_unread(&mut self, data: Bytes, now: Instant) {
        self.unread.push_back((data, now));
        self.poll_ready = true;
        self.set_input_stopped(true);
    }

    /// Gives `data` to the framer and reads what it completes (as far as
    /// a window's events: see `process_frames`).
    fn take_input(&mut self, data: &[u8], now: Instant) {
        if !data.is_empty() && !matches!(self.phase, Phase::Closed) {
            self.last_input = Some(now);
            if matches!(self.phase, Phase::AwaitTls) {
                self.fail(Error::DataAfterProceed);
            } else if !self.input_unreadable {
                self.framer.push(data);
                self.process_frames(now);
            }
        }
    }

    /// `Err` with the stream's failure, if it has failed.
    fn result(&self) -> Result<(), Error> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Like [`Stream::handle_input`], but takes the read as [`Bytes`] and
    /// never copies it whole: it is given to the framer a window
    /// ([`Stream::INPUT_WINDOW`]) at a time, as [`Stream::poll_event`]
    /// takes the events the windows before made. A large read so costs
    /// one window's copy and one window's events beside the element being
    /// read, however large it is (the caller's buffer is shared, not
    /// copied), with no loop on the caller's side as
    /// [`Stream::handle_input_some`] needs. Events, output and errors are
    /// those `handle_input` gives on the same bytes; a failure in the
    /// part not yet read is met as the events before it are taken.
    /// Reads passed to `handle_input` while owned ones wait are read
    /// after them, in order.
    ///
    /// ```
    /// use std::time::Instant;
    /// use bytes::Bytes;
    /// use xmpp_sansio::{ClientConfig, Event, Stream};
    /// let mut stream = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
    /// let now = Instant::now();
    /// stream.start(now).unwrap();
    /// let read = Bytes::from_static(b"<stream:stream xmlns='jabber:client' \
    ///     xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
    /// stream.handle_input_bytes(read, now).unwrap();
    /// assert!(matches!(stream.poll_event(), Some(Event::StreamHeader(_))));
    /// ```
    pub fn handle_input_bytes(&mut self, data: Bytes, now: Instant) -> Result<(), Error> {
        if self.unread.is_empty() && data.len() <= Self::INPUT_WINDOW {
            return self.handle_input(&data, now);
        }
        if !data.is_empty() {
            self.queue_unread(data, now);
        }
        // Read on now only if nothing read before waits to be taken.
        self.read_unread(false);
        self.result()
    }

    /// Like [`Stream::handle_input`], but takes at most
    /// [`Stream::INPUT_WINDOW`] bytes of `data` and returns how many it
    /// took: the caller drains the outputs and events, then calls again
    /// with the rest, until all of `data` is taken. This bounds the memory
    /// one read costs by the stanza limit and a constant, however large
    /// the read: [`handle_input`](Stream::handle_input) copies a whole read
    /// (and holds a window's events at a time), while here at most one
    /// window is copied and one window's events are queued.
    ///
    /// The result is the same as [`handle_input`](Stream::handle_input)
    /// gives on the same bytes (any chunking gives the same result). Once
    /// the stream has failed (`Err`, now or before) or ended, every byte
    /// of `data` counts as taken: a failed stream reads on, in windows,
    /// reporting nothing more until [`Event::Closed`], as `handle_input`
    /// does; after the peer's closing tag the rest is ignored.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ClientConfig, Stream};
    /// let mut stream = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
    /// let now = Instant::now();
    /// stream.start(now).unwrap();
    /// let read = b"<stream:stream xmlns='jabber:client' \
    ///     xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    /// let mut rest: &[u8] = read;
    /// while !rest.is_empty() {
    ///     let taken = stream.handle_input_some(rest, now).unwrap();
    ///     rest = &rest[taken..];
    ///     while let Some(bytes) = stream.poll_transmit() { /* write them */ }
    ///     while let Some(event) = stream.poll_event() { /* handle it */ }
    /// }
    /// ```
    pub fn handle_input_some(&mut self, data: &[u8], now: Instant) -> Result<usize, Error> {
        let (window, rest) = data.split_at(data.len().min(Self::INPUT_WINDOW));
        match self.handle_input(window, now) {
            Ok(()) if matches!(self.phase, Phase::Closed) => Ok(data.len()),
            Ok(()) => Ok(window.len()),
            Err(e) => {
                // Reading on after the failure: nothing but Event::Closed
                // is queued any more, so windows keep the copy small.
                for piece in rest.chunks(Self::INPUT_WINDOW) {
                    let _ = self.handle_input(piece, now);
                }
                Err(e)
            }
        }
    }

    /// Holds the input until the application decides (see
    /// `held_for_decision`); called where a decision is asked for.
    pub(super) fn hold_input_for_decision(&mut self) {
        self.held_for_decision = true;
        self.set_input_stopped(true);
    }

    /// The application decided: reads what was buffered meanwhile.
    pub(super) fn release_input(&mut self, now: Instant) {
        if std::mem::take(&mut self.held_for_decision)
            && self.error.is_none()
            && !self.input_unreadable
        {
            self.refresh_input_stopped();
            self.process_frames(now);
        }
        self.refresh_input_stopped();
    }

    /// Sets `input_stopped` from what it stands for.
    pub(super) fn refresh_input_stopped(&mut self) {
        self.set_input_stopped(self.input_stops());
    }

    /// Sets `input_stopped`, and closes the framer's fast path of a byte
    /// pushed alone while it is set, so that [`Stream::handle_input`]'s
    /// fast path tests the framer's bound alone.
    fn set_input_stopped(&mut self, stopped: bool) {
        self.input_stopped = stopped;
        self.framer.set_fast_push(!stopped);
    }

    /// Sets `poll_ready` from what it stands for.
    pub(super) fn refresh_poll_ready(&mut self) {
        self.poll_ready =
            !self.events.is_empty() || self.backlog.is_some() || !self.unread.is_empty();
    }

    /// Queues `event` for [`Stream::poll_event`].
    pub(super) fn push_event(&mut self, event: Event) {
        self.events.push_back(event);
        self.poll_ready = true;
    }

    /// What `input_stopped` stands for.
    fn input_stops(&self) -> bool {
        self.error.is_some()
            || self.held_for_decision
            || !self.unread.is_empty()
            || !matches!(
                self.phase,
                Phase::Idle | Phase::Negotiating | Phase::Online | Phase::Closing { .. }
            )
    }

    /// Moves to `phase`, keeping `input_stopped` in step.
    fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.refresh_input_stopped();
    }

    /// The most [`Stream::handle_input_some`] takes in one call.
    pub const INPUT_WINDOW: usize = Framer::FEED_WINDOW;

    /// The transport was closed by the peer (a read returned 0 bytes).
    /// Once we are closing (after [`Stream::close`], or reading on after a
    /// failure or a stream error), this ends the stream with what was
    /// recorded: no second error is reported.
    pub fn handle_eof(&mut self, _now: Instant) {
        // Everything read before the end of file is handled first.
        self.read_all_backlog();
        match self.phase {
            Phase::Closed => {}
            Phase::Closing { .. } => self.finish_close(),
            _ => self.fail(Error::UnexpectedEof),
        }
    }

    /// The caller finished the TLS handshake after [`Event::StartTls`].
    /// `binding` is the channel-binding data its TLS library gave (or
    /// [`ChannelBinding::None`]); SCRAM-PLUS uses it. The stream restarts:
    /// a client writes its new header, a server waits for the client's
    /// (and then offers the -PLUS mechanisms if `binding` has data).
    pub fn tls_established(
        &mut self,
        binding: ChannelBinding,
        now: Instant,
    ) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::AwaitTls) {
            return Err(UsageError::NotAwaitingTls);
        }
        self.tls_active = true;
        self.keep_peer_header();
        self.framer = Framer::new(self.settings.limits.clone());
        self.set_phase(Phase::Negotiating);
        match &mut self.role {
            Role::Client(client) => {
                client.channel_binding = binding;
                client.step = ClientStep::AwaitHeader;
                self.send_header(now);
            }
            // The client speaks first on the new stream.
            Role::Server(_) => self.server_tls_established(binding),
            // Component streams never hand TLS over.
            Role::Component(_) | Role::ComponentServer(_) => {}
        }
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
        // What was read comes before any deadline: a reply in the backlog
        // arrived before its request timed out.
        self.read_all_backlog();
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        if self.timers.expired(Timer::Close, now, self.last_input) {
            self.finish_close();
            return;
        }
        if self
            .timers
            .expired(Timer::Negotiation, now, self.last_input)
        {
            self.fail(Error::Timeout(TimeoutKind::Negotiation));
            return;
        }
        let closing = matches!(self.phase, Phase::Closing { .. });
        for (id, pending) in self.iq.expire(now) {
            match pending.purpose {
                Purpose::Application | Purpose::Roster { .. } | Purpose::UserPing { .. } => {
                    self.push_event(Event::IqTimeout { id })
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
        if self.timers.expired(Timer::Ping, now, self.last_input) {
            self.send_ping(now);
        }
        if self.timers.expired(Timer::Keepalive, now, self.last_input) {
            self.write_raw(b" ", now);
        }
        if self.timers.expired(Timer::SmAck, now, self.last_input) {
            self.request_ack(now);
        }
    }

    // ---- (C) commands ----

    /// Queues our stream header: the first thing to write to the transport.
    /// A configuration [`ClientConfig::validate`] refuses (an invalid JID,
    /// a resource over 1023 bytes) is [`UsageError::InvalidConfig`], and
    /// nothing is written. A server stream writes nothing yet (its header
    /// answers the client's) and starts its negotiation timer.
    pub fn start(&mut self, now: Instant) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::Idle) {
            return Err(UsageError::AlreadyStarted);
        }
        match &self.role {
            Role::Client(c) => c.config.validate()?,
            Role::Component(c) => c.config.validate()?,
            _ => {}
        }
        let negotiation = self.settings.negotiation_timeout;
        self.timers.set(
            Timer::Negotiation,
            negotiation.and_then(|t| deadline(now, t)),
        );
        self.set_phase(Phase::Negotiating);
        // A client (or component) speaks first; a server answers the
        // client's header.
        if self.role.initiates() {
            self.send_header(now);
        }
        Ok(())
    }

    /// Sends a stanza (`<message/>`, `<presence/>` or `<iq/>` in
    /// `jabber:client`). IQ requests are better sent with [`Stream::send_iq`],
    /// which tracks the reply. An IQ `result` or `error` sent this way is a
    /// reply, and follows the rules of [`Stream::reply_iq_result`]: it must
    /// answer (by `to` and `id`) a request this stream delivered and that
    /// has no reply yet, else [`UsageError::UnknownRequest`]. A presence
    /// goes through [`Stream::send_presence`]: it gets an `id` if it has
    /// none (RFC 6121 §3, §4), and an unavailable one with `<show/>` or
    /// `<priority/>` is refused (§4.5.1).
    pub fn send(&mut self, stanza: impl Into<Element>, now: Instant) -> Result<(), UsageError> {
        self.check_online()?;
        let stanza = stanza.into();
        if !is_stanza(&stanza, self.role.content_ns()) {
            return Err(UsageError::InvalidStanza(InvalidStanzaReason::NotAStanza));
        }
        self.check_component_outbound(&stanza)?;
        if stanza.name() == "iq" && matches!(stanza.attr("type"), Some("result" | "error")) {
            return self.send_reply(&stanza, now);
        }
        if stanza.name() == "presence" {
            // The same rules and the same id as `send_presence`.
            return self.send_presence(stanza, now).map(|_| ());
        }
        self.write_stanza(&stanza, now);
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
        self.check_component_request_to(to)?;
        let timeout = self.settings.iq_timeout;
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
            Phase::Negotiating if matches!(&self.role, Role::Client(c) if matches!(c.step, ClientStep::BindReady)) =>
                {}
            Phase::Closing { .. } | Phase::Closed => return Err(UsageError::Closed),
            _ => return Err(UsageError::NotAwaitingBind),
        }
        if let Some(resource) = resource {
            config::check_resource(resource).map_err(UsageError::InvalidConfig)?;
        }
        self.send_bind(resource.map(str::to_owned), now);
        Ok(())
    }

    /// Pings `to` (XEP-0199), or with `to: None` our server (on a server
    /// stream: its client's full JID), and returns
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
        let to = match to {
            Some(to) => to.to_owned(),
            None => self
                .role
                .ping_target()
                .ok_or(UsageError::InvalidStanza(InvalidStanzaReason::InvalidTo))?
                .to_owned(),
        };
        self.check_component_request_to(Some(&to))?;
        let timeout = self.settings.iq_timeout;
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
        let reply = self.reply_from_addressee(request, reply);
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
        let reply = self.reply_from_addressee(request, reply);
        self.send_reply(&reply, now)
    }

    /// On a server stream a reply speaks for the entity the request was
    /// addressed to (the server's domain, an account, a routed JID): it
    /// carries that `from`, as the client matches replies by sender (RFC
    /// 6120 §8.1.2.1). A request without `to` was addressed to the
    /// client's own account, and its reply has no `from`.
    fn reply_from_addressee(&self, request: &Iq, reply: Element) -> Element {
        match (&self.role, request.element().attr("to")) {
            (Role::Server(_), Some(to)) if reply.attr("from").is_none() => {
                reply.to_builder().attr("from", to).build()
            }
            _ => reply,
        }
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
    /// between plaintext and TLS) and the stream ends at once; likewise for
    /// a server (or component server) that has not written its header yet
    /// (before the peer's header): a closing tag alone is not a stream.
    pub fn close(&mut self, now: Instant) {
        match self.phase {
            Phase::Closed | Phase::Closing { .. } => {}
            // Nothing opened on the wire (a server or component server
            // before the peer's header): a closing tag alone would not be
            // XML, so nothing is written, as before `start`.
            Phase::Idle | Phase::AwaitTls => {
                self.closed_by = Some(ClosedBy::Local);
                self.finish_close();
            }
            Phase::Negotiating | Phase::Online if !self.out.header_sent() => {
                self.closed_by = Some(ClosedBy::Local);
                self.finish_close();
            }
            Phase::Negotiating | Phase::Online => {
                self.closed_by = Some(ClosedBy::Local);
                self.out.close();
                self.enter_closing(deadline(now, self.settings.close_timeout));
            }
        }
    }

    // ---- (D) outputs ----

    /// Bytes to write to the transport, all queued so far in one buffer.
    #[must_use]
    #[inline]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        // `late_output` is set only with output queued, and output goes
        // only from here: nothing queued, nothing to clear.
        debug_assert!(self.late_output.is_none() || self.out.pending());
        let bytes = self.out.take()?;
        self.late_output = None;
        Some(bytes)
    }

    /// The next event.
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        debug_assert_eq!(
            self.poll_ready,
            !self.events.is_empty() || self.backlog.is_some() || !self.unread.is_empty()
        );
        if !self.poll_ready {
            // Drained already (the last event out gave the memory back),
            // and no large read left input to read on.
            return None;
        }
        if self.events.is_empty() {
            return self.read_on_for_event();
        }
        self.next_queued_event()
    }

    /// [`Stream::poll_event`] with nothing queued but input left to read
    /// on: reads the next window, then its first event.
    #[cold]
    #[inline(never)]
    fn read_on_for_event(&mut self) -> Option<Event> {
        self.read_backlog();
        if self.events.is_empty() {
            self.refresh_poll_ready();
            return None;
        }
        self.next_queued_event()
    }

    /// [`Stream::poll_event`] with an event queued.
    fn next_queued_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if self.events.is_empty() && self.events.capacity() > 0 {
            // Drained: the queue's memory goes back, so an idle stream
            // holds none, whatever burst it has seen (one allocation per
            // read that reports something).
            self.events = VecDeque::new();
            self.refresh_poll_ready();
        }
        event
    }

    /// When [`Stream::handle_timeout`] should next be called: the earliest
    /// of the stream's timers and its IQ requests' deadlines.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Input read but not yet handled (events not taken), or output
        // its handling queued: due at once (at the read's time), so a
        // caller that waits without taking every event, or without
        // writing after taking them, still gets it done.
        [
            self.timers.next(self.last_input),
            self.iq.next_deadline(),
            self.backlog,
            self.late_output,
            // Not while held for a decision: nothing can read it then.
            self.unread
                .front()
                .filter(|_| !self.held_for_decision)
                .map(|&(_, at)| at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- internals shared by every role ----

    fn check_online(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Online => Ok(()),
            Phase::Closing { .. } | Phase::Closed => Err(UsageError::Closed),
            _ => Err(UsageError::NotOnline),
        }
    }

    /// Whether the stream is in a state to answer `request`.
    fn check_can_reply(&self, request: &Iq) -> Result<(), UsageError> {
        match self.phase {
            Phase::Online => Ok(()),
            Phase::Closing { .. } | Phase::Closed => Err(UsageError::Closed),
            // RFC 6120 §7.1: before binding, only the server and the
            // account itself may be addressed.
            Phase::Negotiating
                if self
                    .role
                    .may_reply_before_online(request.element().attr("from")) =>
            {
                Ok(())
            }
            _ => Err(UsageError::NotOnline),
        }
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
        self.write_stanza(reply, now);
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
        let iq = Element::builder("iq", self.role.content_ns())
            .attr("type", kind.as_str())
            .attr("id", id.clone())
            .attr_opt("from", self.role.request_from())
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
        self.write_stanza(&iq, now);
        id
    }

    fn send_ping(&mut self, now: Instant) {
        let Some(domain) = self.role.ping_target().map(str::to_owned) else {
            return;
        };
        let timeout = self.settings.ping_timeout;
        self.send_iq_internal(
            IqType::Get,
            Some(&domain),
            Element::new("ping", ns::PING),
            Purpose::Ping,
            timeout,
            now,
        );
        self.ping_outstanding = true;
        self.timers.stop(Timer::Ping);
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
        if error.condition().is_some() && !matches!(self.phase, Phase::AwaitTls) {
            // A server's stream error follows its header (RFC 6120 §4.9.1.2).
            self.server_header_before_error();
            self.component_header_before_error();
        }
        if let Some(condition) = error.condition()
            && self.out.header_sent()
        {
            let text = match &error {
                Error::Protocol { reason, .. } => Some(reason.clone()),
                Error::Xml(e) => Some(e.to_string()),
                _ => None,
            };
            let app = match &error {
                Error::HandledCountTooHigh { h, send_count } => {
                    Some(sm::handled_count_too_high(*h, *send_count))
                }
                _ => None,
            };
            let content_ns = self.role.content_ns();
            self.out
                .stream_error(condition, text.as_deref(), app, content_ns);
        }
        if self.out.header_sent() && !matches!(self.phase, Phase::AwaitTls) {
            self.out.close();
        }
        let peer_done_or_silent = matches!(
            error,
            Error::UnexpectedEof | Error::ClosedByPeer | Error::Timeout(_)
        );
        self.error = Some(error);
        self.set_input_stopped(true);
        // Failed: no request can be answered any more, so none times out.
        self.iq.clear();
        if self.out.close_sent() && !peer_done_or_silent {
            let close = match self.phase {
                // Closing already: its deadline stands.
                Phase::Closing { .. } => self.timers.get(Timer::Close, None),
                _ => self
                    .last_input
                    .and_then(|t| deadline(t, self.settings.close_timeout)),
            };
            self.enter_closing(close);
        } else {
            self.finish_close();
        }
    }

    /// Our closing tag is out: read on until the peer's, or until `close`.
    fn enter_closing(&mut self, close: Option<Instant>) {
        let bound = self.role.bound_jid().is_some();
        self.set_phase(Phase::Closing { bound });
        self.timers.stop_all_but(None);
        self.timers.set(Timer::Close, close);
    }

    /// The stream is over: reports [`Event::Closed`] with the failure
    /// recorded, if any.
    fn finish_close(&mut self) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.set_phase(Phase::Closed);
        self.timers.stop_all_but(None);
        self.iq.clear();
        self.push_event(Event::Closed {
            by: self.closed_by.unwrap_or(ClosedBy::Local),
            error: self.error.clone(),
        });
    }

    /// Negotiation is over: stanzas flow both ways. A client then enables
    /// stream management, when configured and offered.
    fn go_online(&mut self, now: Instant) {
        self.enter_online();
        let jid = self.role.bound_jid().unwrap_or_default().to_owned();
        self.push_event(Event::Online { jid });
        self.maybe_enable_sm(now);
    }

    /// The phase and timers of a stream that is online (bound or resumed).
    fn enter_online(&mut self) {
        self.set_phase(Phase::Online);
        self.timers.stop(Timer::Negotiation);
        self.arm_ping();
        self.arm_keepalive();
    }

    /// Online with no keepalive ping in flight: a ping falls due
    /// `ping_interval` after the last input, whenever that is (each read
    /// only notes its instant in `last_input`).
    fn arm_ping(&mut self) {
        if matches!(self.phase, Phase::Online) && !self.ping_outstanding {
            self.timers.arm_ping(self.settings.ping_interval);
        }
    }

    /// Online: a whitespace keepalive falls due `keepalive` after the last
    /// output.
    fn arm_keepalive(&mut self) {
        if matches!(self.phase, Phase::Online) {
            let at = self.settings.keepalive.zip(self.last_output);
            self.timers
                .set(Timer::Keepalive, at.and_then(|(k, last)| deadline(last, k)));
        }
    }

    /// Output happened at `now`.
    fn wrote(&mut self, now: Instant) {
        self.last_output = Some(now);
        self.arm_keepalive();
    }

    /// Queues whitespace (a keepalive), unless our closing tag is out.
    fn write_raw(&mut self, bytes: &[u8], now: Instant) {
        if self.out.raw(bytes) {
            self.wrote(now);
        }
    }

    /// Queues a stanza (counted), unless our closing tag is out.
    fn write_stanza(&mut self, el: &Element, now: Instant) {
        if self.out.stanza(el, self.role.content_ns()) {
            self.wrote(now);
            self.sm_on_written(el, now);
        }
    }

    /// Queues an IQ reply the stream makes itself (`reply`: `None` when
    /// the request has no id to answer), written without building a tree,
    /// unless our closing tag is out; counted, and kept for resending as a
    /// tree only while stream management keeps what is sent. `false` if
    /// there is no reply.
    fn write_iq_reply(&mut self, reply: Option<reply::IqReply<'_>>, now: Instant) -> bool {
        let Some(reply) = reply else {
            return false;
        };
        if self.out.reply(&reply, self.role.content_ns()) {
            self.wrote(now);
            if self.sm.keeps_outbound() {
                self.sm_on_written(&reply.to_element(), now);
            }
        }
        true
    }

    /// Queues an element that is no stanza (negotiation), unless our
    /// closing tag is out.
    fn write_nonza(&mut self, el: &Element, now: Instant) {
        if self.out.nonza(el, self.role.content_ns()) {
            self.wrote(now);
        }
    }

    /// The peer is to open a new stream (RFC 6120 §4.3.3) on this
    /// transport: the framer expects a header, keeping the bytes it holds.
    fn restart_framer(&mut self) {
        self.keep_peer_header();
        self.framer.restart();
    }

    /// The framer is about to forget its header: [`Stream::header`] keeps
    /// reporting it until the next one arrives.
    fn keep_peer_header(&mut self) {
        if matches!(self.header, PeerHeader::InFramer) {
            self.header = match self.framer.header() {
                Some(header) => PeerHeader::Kept(Box::new(header.clone())),
                None => PeerHeader::None,
            };
        }
    }

    /// Queues our stream header, as the role writes it.
    fn send_header(&mut self, now: Instant) {
        let header = self.role.header(self.tls_active);
        if self.out.header(&header) {
            self.wrote(now);
        }
    }
}
