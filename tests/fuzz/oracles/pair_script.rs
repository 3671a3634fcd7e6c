//! A client `Stream` and a server `Stream` back to back, driven by a
//! script of operations; shared by `fuzz/fuzz_targets/pair_script.rs` and
//! by `tests/fuzz_corpus.rs`.
//!
//! The input's first byte configures the pair ([`Setup`]): stream
//! management on both sides or not, with its ack policy (after 1, 2 or 5
//! stanzas, or never by count; after 1, 10 or 30 seconds, or never by
//! time); plaintext PLAIN or STARTTLS with channel binding (so SCRAM-PLUS);
//! a requested resource or not; and how the run ends (the end of file, or
//! the memory held by each stream once drained). Every following pair of
//! bytes is one operation ([`Op`]: the first byte chooses it, the second
//! is its argument): deliver bytes either way (the argument is how many,
//! 0 for all that is pending), drive both ways until quiet, send a
//! message, a presence or an IQ on either side, answer the last IQ
//! request either side received, request the roster, ping, close either
//! side, the end of file on either side, the clock moving on (each side's
//! `handle_timeout` as `poll_timeout` says), and a cut: the connection
//! dies, both sides see the end of file, and a new pair takes over, the
//! client resuming from its `sm_state` (round-tripped through its XML
//! text) and the server's application accepting with the old server
//! stream's state, unless a `forget` made it lose that state (then the
//! resumption fails and the client binds afresh). The server's application answers credentials, bind
//! and resume requests, and STARTTLS, at once.
//!
//! Oracles, on every connection of the run:
//! - [`common`]'s on each side: its output is well-formed XML and nothing
//!   follows its closing tag; at most one `Closed` and nothing after it,
//!   exactly one after the end of file and nothing written or reported
//!   after it; each inbound IQ request answered at most once (the
//!   replies written on a connection against everything delivered to
//!   that side so far: a resumption resends replies to requests of an
//!   earlier connection), and each side reports at most one reply
//!   (result, error, pong) per id of its own requests on a connection.
//! - **Once, in order.** The messages each side sends carry a number in
//!   their body (`c7`, `s3`); the messages the other side reports, over
//!   the whole run (every connection), have strictly increasing numbers,
//!   each one sent: none twice, none out of order, none invented.
//! - **Nothing lost under stream management.** At the end, both sides
//!   online: every message sent while stream management was on (its
//!   queue carried over by resumption, dropped when a session starts
//!   afresh) has arrived.
//! - **The unacked queue is exactly what was sent and not acknowledged.**
//!   After every operation, each side's `sm_state` holds, among its
//!   unacknowledged stanzas, exactly the application's messages sent
//!   while stream management was on and not yet released by
//!   `Event::Acknowledged`, in order; `Acknowledged` releases them in
//!   order, each once; `ResumeFailed` hands back exactly the queue.
//! - **`h` never exceeds what was sent**: between two streams of this
//!   crate no stream ends with `handled-count-too-high` (or any stream
//!   management error), and every state's counters and queue survive
//!   their XML text unchanged.
//! - **Timers move on**: after `handle_timeout` at the moment
//!   `poll_timeout` gave, the next timeout is later (a timer that stays
//!   due would spin a caller's loop).
//! - **Memory** (with the counting allocator of [`alloc`] installed):
//!   every read goes through `Stream::handle_input_some`, and the live
//!   heap's peak during one call stays under [`READ_PEAK_BOUND`] above
//!   the live heap before it; runs that end by measuring drop each
//!   stream, once drained, and the heap it gives back is under
//!   [`HELD_BOUND`] plus what its stream-management queue holds (four
//!   times each stanza's XML and [`PER_QUEUED`]) and [`PER_REQUEST`] for
//!   each IQ request it may still track.
#![allow(dead_code)]
// The oracle is a caller: it reads the clock, as callers do.
#![allow(clippy::disallowed_methods)]

#[path = "common.rs"]
pub(crate) mod common;

#[path = "alloc.rs"]
pub(crate) mod alloc;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use xmpp_sansio::sasl::{ChannelBinding, StoredCredentials};
use xmpp_sansio::stanza::{IqType, StanzaError, StanzaErrorCondition};
use xmpp_sansio::xml::{Element, Limits};
use xmpp_sansio::{
    ClientConfig, Error, Event, ServerConfig, SmConfig, SmState, State, Stream, TlsPolicy,
};

use common::Transcript;

const DOMAIN: &str = "example.com";
const USER: &str = "juliet";
const PASSWORD: &str = "r0m30";
/// The channel binding both TLS layers give (tls-exporter).
const BINDING: [u8; 32] = [7; 32];
/// The stanza limit of both sides.
pub(crate) const STANZA_LIMIT: usize = 2048;
/// At most this many connections in one run (cuts beyond are ignored).
const MAX_CONNECTIONS: usize = 4;

/// The bound on the live heap's rise during one `handle_input_some`
/// (docs/fuzzing.md, "Memory"): sixteen times a window of input
/// (`Stream::INPUT_WINDOW`, 4 KiB: the window copied into the framer, and
/// the events and answers of a window of the smallest stanzas, about 9.5
/// to 12 bytes of heap for each byte read, measured), eight times the
/// stanza limit (a stanza at the limit as raw bytes, as a tree, and as the
/// serialization stream management keeps), and 8 KiB. Measured maxima:
/// 48,641 B over the corpus of the last 180 s run, 38,926 B for a window
/// of small messages
/// (`the_read_peak_bound_catches_a_read_whose_cost_grows_with_its_size`).
pub(crate) const READ_PEAK_BOUND: isize = 16 * 4096 + 8 * STANZA_LIMIT as isize + 8192;
/// The bound on what a drained stream holds besides its stream-management
/// queue and the requests it tracks (docs/fuzzing.md, "Memory"). Measured
/// maximum over the corpora of the 180 s runs: 3,029 B.
pub(crate) const HELD_BOUND: isize = 8192;
/// What a drained stream may hold for each IQ request it tracks (sent and
/// not answered, or received and not yet answered by the application):
/// about 250 B measured (a pending roster request), doubled.
pub(crate) const PER_REQUEST: isize = 512;
/// What a stanza in the stream-management queue may hold beyond four
/// times its XML: an element's fixed parts (the shared tree's header and
/// its three allocations, the queue's slot). Measured with a counting
/// allocator, 1,000 elements each: a 50-byte presence parsed, 476 B
/// (276 B over four times its XML); built, 402 B (202 B); a 90-byte
/// presence parsed, 521 B (161 B). The fuzzer found the bound without
/// it too tight: 47 queued presences of about 50 bytes held 21,461 B
/// against 19,372 B.
pub(crate) const PER_QUEUED: isize = 384;

thread_local! {
    /// The highest read peak and held heap measured on this thread, and
    /// the held heap of the stream that had it net of its queue
    /// (`measured`).
    static MEASURED: std::cell::Cell<(isize, isize)> = const { std::cell::Cell::new((0, 0)) };
}

/// The highest rise of the heap during one read, and the highest heap a
/// drained stream held beyond its queue, of the runs on this thread.
pub(crate) fn measured() -> (isize, isize) {
    MEASURED.with(std::cell::Cell::get)
}

fn note(rise: isize, held: isize) {
    MEASURED.with(|m| {
        let (r, h) = m.get();
        m.set((r.max(rise), h.max(held)));
    });
}

/// The pair's configuration, from the input's first byte.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    pub(crate) sm: bool,
    pub(crate) tls: bool,
    pub(crate) ack_after_stanzas: Option<u32>,
    pub(crate) ack_after: Option<Duration>,
    pub(crate) resource: bool,
    pub(crate) measure_held: bool,
}

impl Setup {
    pub(crate) fn from_byte(b: u8) -> Self {
        Self {
            sm: b & 1 != 0,
            tls: b & 2 != 0,
            ack_after_stanzas: [None, Some(1), Some(2), Some(5)][usize::from((b >> 2) & 3)],
            ack_after: [None, Some(1), Some(10), Some(30)][usize::from((b >> 4) & 3)]
                .map(Duration::from_secs),
            resource: b & 0x40 != 0,
            measure_held: b & 0x80 != 0,
        }
    }

    fn sm_config(&self) -> SmConfig {
        SmConfig {
            enable: self.sm,
            ack_after_stanzas: self.ack_after_stanzas,
            ack_after: self.ack_after,
            ..SmConfig::default()
        }
    }

    fn limits() -> Limits {
        Limits {
            max_stanza_bytes: STANZA_LIMIT,
            max_depth: 16,
            max_attributes: 16,
            max_name_len: 128,
            ..Limits::default()
        }
    }

    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new("juliet@example.com", PASSWORD, [3; 32]);
        if self.tls {
            c.tls = TlsPolicy::Required;
        } else {
            c.tls = TlsPolicy::Disabled;
            c.allow_plaintext_auth = true;
        }
        if self.resource {
            c.resource = Some("balcony".into());
        }
        c.stream_management = self.sm_config();
        c.limits = Self::limits();
        c.iq_timeout = Duration::from_secs(30);
        c.close_timeout = Duration::from_secs(10);
        c
    }

    fn server(&self) -> ServerConfig {
        let mut s = ServerConfig::new(DOMAIN, *b"pair fake-salt secret", [9; 32]);
        if self.tls {
            s.tls = TlsPolicy::Required;
        } else {
            s.tls = TlsPolicy::Disabled;
            s.allow_plaintext_auth = true;
        }
        s.scram_iterations = 64;
        s.stream_management = self.sm_config();
        s.limits = Self::limits();
        s
    }
}

/// The operations, by the value of an operation's first byte modulo
/// their number.
pub(crate) const OPS: &[&str] = &[
    "deliver-up",      // 0: arg bytes client → server (0: all pending)
    "deliver-down",    // 1: arg bytes server → client (0: all pending)
    "drive",           // 2: both ways until quiet
    "client-message",  // 3
    "server-message",  // 4
    "client-presence", // 5: arg % 3: available, unavailable, subscribe
    "client-iq",       // 6: arg bit 0: set; bit 1: to the server, else a contact
    "server-iq",       // 7: to the client
    "reply",           // 8: arg bit 0: the server's side; bit 1: an error
    "roster",          // 9: the client requests the roster
    "ping",            // 10: arg bit 0: the server pings the client
    "close",           // 11: arg bit 0: the server closes
    "eof",             // 12: arg bit 0: the server sees the end of file
    "advance",         // 13: arg seconds pass
    "cut",             // 14: the connection dies; a new one resumes
    "forget",          // 15: the server's application loses its saved session
];

/// One side of the connection, as the application sees it.
#[derive(Default)]
struct Side {
    /// This connection's transcript (input: what was delivered to it).
    t: Transcript,
    /// Events of the transcript already looked at.
    seen: usize,
    /// The last IQ request reported.
    request: Option<xmpp_sansio::stanza::Iq>,
    /// Bytes written and not yet delivered to the other side.
    pending: Vec<u8>,
    /// The ids of the replies reported (results, errors, pongs).
    replies: std::collections::HashSet<String>,
    /// IQ requests sent by this side's application and received from the
    /// peer: a bound on the requests the stream tracks.
    requests: usize,
}

/// What one side's application tracks over the whole run.
#[derive(Default)]
struct Ledger {
    /// Numbers of the messages sent, next one.
    next: u32,
    /// The numbers sent while stream management was on, not yet released
    /// by an ack, in order.
    queue: VecDeque<u32>,
    /// The numbers sent while stream management was on, in this session.
    protected: Vec<u32>,
    /// The numbers of the messages the other side reported, in order.
    received: Vec<u32>,
}

struct Run {
    setup: Setup,
    now: Instant,
    client: Stream,
    server: Stream,
    c: Side,
    s: Side,
    /// The client's messages (`c` numbers) and the server's (`s`).
    cl: Ledger,
    sl: Ledger,
    connections: usize,
    /// The server's state kept by its application for resumption.
    saved: Option<SmState>,
    /// The state the client's application gave `Stream::client_resuming`,
    /// which it keeps until the stream reports the outcome (the stream's
    /// own `sm_state` is `None` until then).
    resuming: Option<SmState>,
}

fn credentials() -> StoredCredentials {
    StoredCredentials::derive(PASSWORD, b"0123456789abcdef", 64).expect("derivable credentials")
}

/// The number a message body carries, if it is one of the side's.
fn number(body: &str, prefix: char) -> Option<u32> {
    body.strip_prefix(prefix)?.parse().ok()
}

/// The numbers of the side's messages among `stanzas`.
fn numbers(stanzas: &[Element], prefix: char) -> Vec<u32> {
    stanzas
        .iter()
        .filter(|el| el.name() == "message")
        .filter_map(|el| el.get_child("body", "jabber:client"))
        .filter_map(|b| number(&b.text(), prefix))
        .collect()
}

impl Run {
    fn new(setup: Setup) -> Self {
        let now = Instant::now();
        let mut run = Self {
            setup,
            now,
            client: Stream::client(setup.client()),
            server: Stream::server(setup.server()),
            c: Side::default(),
            s: Side::default(),
            cl: Ledger::default(),
            sl: Ledger::default(),
            connections: 1,
            saved: None,
            resuming: None,
        };
        let _ = run.server.start(now);
        let _ = run.client.start(now);
        run.collect();
        run
    }

    /// Takes what both sides wrote and reported, answering as the
    /// applications would, until both are quiet.
    fn collect(&mut self) {
        for _ in 0..64 {
            let mut acted = false;
            while let Some(b) = self.client.poll_transmit() {
                self.c.t.output.extend_from_slice(&b);
                self.c.pending.extend_from_slice(&b);
            }
            while let Some(b) = self.server.poll_transmit() {
                self.s.t.output.extend_from_slice(&b);
                self.s.pending.extend_from_slice(&b);
            }
            while let Some(e) = self.client.poll_event() {
                if matches!(e, Event::StartTls) {
                    acted |= self
                        .client
                        .tls_established(ChannelBinding::TlsExporter(BINDING.to_vec()), self.now)
                        .is_ok();
                }
                self.c.t.events.push(e);
            }
            while let Some(e) = self.server.poll_event() {
                acted |= self.server_app(&e);
                self.s.t.events.push(e);
            }
            self.look_at_events();
            if !acted {
                return;
            }
        }
        panic!("the applications never went quiet");
    }

    /// The server's application; whether it called the stream.
    fn server_app(&mut self, e: &Event) -> bool {
        let now = self.now;
        let s = &mut self.server;
        match e {
            Event::StartTls => s
                .tls_established(ChannelBinding::TlsExporter(BINDING.to_vec()), now)
                .is_ok(),
            Event::CredentialsRequest { username, .. } => {
                let keys = (username == USER).then(credentials);
                s.provide_credentials(keys.as_ref(), now).is_ok()
            }
            Event::Online { .. } => {
                // A fresh session: the old one's stanzas are gone.
                self.saved = None;
                self.sl.queue.clear();
                self.sl.protected.clear();
                false
            }
            Event::BindRequest { resource, .. } => {
                s.accept_bind(resource.as_deref(), now).is_ok() || s.accept_bind(None, now).is_ok()
            }
            Event::ResumeRequest { previd, .. } => {
                let known = self
                    .saved
                    .as_ref()
                    .is_some_and(|st| st.id.as_deref() == Some(previd.as_str()));
                match self.saved.take().filter(|_| known) {
                    Some(state) => {
                        self.sl.queue = numbers(&state.unacked, 's').into();
                        let ok = s.accept_resume(state, now).is_ok();
                        assert!(ok, "the server refused its own saved state");
                        true
                    }
                    None => s.refuse_resume(now).is_ok(),
                }
            }
            _ => false,
        }
    }

    /// Reads the events not yet looked at: requests, messages, acks.
    fn look_at_events(&mut self) {
        let (c_next, s_next) = (self.cl.next, self.sl.next);
        for (side, mine, their_next, prefix, their_prefix) in [
            (&mut self.c, &mut self.cl, s_next, 'c', 's'),
            (&mut self.s, &mut self.sl, c_next, 's', 'c'),
        ] {
            for e in &side.t.events[side.seen..] {
                if prefix == 'c' && matches!(e, Event::Resumed { .. } | Event::ResumeFailed { .. })
                {
                    self.resuming = None;
                }
                match e {
                    Event::IqRequest(iq) => {
                        side.request = Some(iq.clone());
                        side.requests += 1;
                    }
                    Event::IqResult { id, .. }
                    | Event::IqError { id, .. }
                    | Event::Pong { id, .. } => {
                        assert!(
                            side.replies.insert(id.clone()),
                            "{prefix}: two replies to {id} reported"
                        );
                    }
                    Event::Message(m) => {
                        if let Some(n) = m.body(None).and_then(|b| number(&b, their_prefix)) {
                            assert!(n < their_next, "message {their_prefix}{n} never sent");
                            if let Some(&last) = mine.received.last() {
                                assert!(
                                    n > last,
                                    "message {their_prefix}{n} after {their_prefix}{last}: twice or out of order"
                                );
                            }
                            mine.received.push(n);
                        }
                    }
                    Event::Acknowledged { stanzas } => {
                        for n in numbers(stanzas, prefix) {
                            assert_eq!(
                                mine.queue.pop_front(),
                                Some(n),
                                "{prefix}{n} released out of order or not queued"
                            );
                        }
                    }
                    Event::ResumeFailed { unacked } => {
                        assert_eq!(
                            numbers(unacked, prefix),
                            Vec::from(mine.queue.clone()),
                            "ResumeFailed hands back other stanzas than the queue"
                        );
                        mine.queue.clear();
                        mine.protected.clear();
                    }
                    Event::Closed {
                        error: Some(error), ..
                    } => {
                        assert!(
                            !matches!(error, Error::HandledCountTooHigh { .. }),
                            "{prefix}: {error}"
                        );
                    }
                    _ => {}
                }
            }
            side.seen = side.t.events.len();
        }
    }

    /// The unacked queue of each side is its ledger's, and its state
    /// survives its XML text.
    fn check_queues(&self) {
        for (stream, ledger, prefix, held) in [
            (&self.client, &self.cl, 'c', &self.resuming),
            (&self.server, &self.sl, 's', &self.saved),
        ] {
            match stream.sm_state().or_else(|| held.clone()) {
                Some(state) => {
                    assert_eq!(
                        numbers(&state.unacked, prefix),
                        Vec::from(ledger.queue.clone()),
                        "{prefix}: the unacked queue is not what was sent and not acknowledged"
                    );
                    let text = state.to_xml();
                    assert_eq!(
                        SmState::from_xml(&text).as_ref(),
                        Ok(&state),
                        "the state does not survive its XML text: {text}"
                    );
                }
                None => assert!(
                    ledger.queue.is_empty(),
                    "{prefix}: no state, but {:?} unacknowledged",
                    ledger.queue
                ),
            }
        }
    }

    /// Delivers up to `n` pending bytes (all with 0) one way, through
    /// `handle_input_some`, measuring the heap of each call.
    fn deliver(&mut self, up: bool, n: usize) {
        let (from, to) = if up {
            (&mut self.c, &mut self.s)
        } else {
            (&mut self.s, &mut self.c)
        };
        let n = if n == 0 {
            from.pending.len()
        } else {
            n.min(from.pending.len())
        };
        let data: Vec<u8> = from.pending.drain(..n).collect();
        to.t.input.extend_from_slice(&data);
        let mut rest = &data[..];
        let measure = alloc::installed();
        while !rest.is_empty() {
            let stream = if up {
                &mut self.server
            } else {
                &mut self.client
            };
            let before = alloc::live();
            alloc::reset_peak();
            let taken = match stream.handle_input_some(rest, self.now) {
                Ok(taken) => taken,
                Err(_) => rest.len(),
            };
            if measure {
                let rise = alloc::peak() - before;
                note(rise, 0);
                assert!(
                    rise <= READ_PEAK_BOUND,
                    "one handle_input_some of {taken} bytes raised the heap by {rise} B (bound {READ_PEAK_BOUND})"
                );
            }
            assert!(taken > 0, "handle_input_some took nothing");
            rest = &rest[taken..];
            self.collect();
        }
        self.collect();
    }

    fn drive(&mut self) {
        for _ in 0..256 {
            if self.c.pending.is_empty() && self.s.pending.is_empty() {
                return;
            }
            self.deliver(true, 0);
            self.deliver(false, 0);
        }
        panic!("the pair never went quiet");
    }

    /// A message from the client (or the server) to the other, numbered.
    fn message(&mut self, server: bool) {
        let (stream, ledger, prefix, to, from) = if server {
            let to = self
                .client
                .bound_jid()
                .unwrap_or("juliet@example.com")
                .to_owned();
            (
                &mut self.server,
                &mut self.sl,
                's',
                to,
                Some("romeo@example.net/orchard"),
            )
        } else {
            (
                &mut self.client,
                &mut self.cl,
                'c',
                "romeo@example.net".to_owned(),
                None,
            )
        };
        let n = ledger.next;
        let mut el = Element::builder("message", "jabber:client")
            .attr("to", to)
            .attr("type", "chat")
            .attr("id", format!("{prefix}{n}"));
        if let Some(from) = from {
            el = el.attr("from", from);
        }
        let el = el
            .child(
                Element::builder("body", "jabber:client")
                    .text(format!("{prefix}{n}"))
                    .build(),
            )
            .build();
        let managed = stream.sm_state().is_some();
        if stream.send(el, self.now).is_ok() {
            ledger.next += 1;
            if managed {
                ledger.queue.push_back(n);
                ledger.protected.push(n);
            }
        }
    }

    fn advance(&mut self, secs: u8) {
        self.now += Duration::from_secs(u64::from(secs));
        for _ in 0..64 {
            let due: Vec<bool> = [&self.client, &self.server]
                .iter()
                .map(|s| s.poll_timeout().is_some_and(|t| t <= self.now))
                .collect();
            if !due.contains(&true) {
                return;
            }
            for (stream, due) in [&mut self.client, &mut self.server].into_iter().zip(due) {
                if due {
                    stream.handle_timeout(self.now);
                    let next = stream.poll_timeout();
                    assert!(
                        next.is_none_or(|t| t > self.now),
                        "handle_timeout left the timer due"
                    );
                }
            }
            self.collect();
        }
        panic!("timers kept firing");
    }

    /// Checks one connection's transcripts and ends it with the end of
    /// file on both sides.
    fn finish_connection(&mut self) {
        self.c.t.check();
        self.s.t.check();
        common::finish(&mut self.client, &mut self.c.t, self.now);
        common::finish(&mut self.server, &mut self.s.t, self.now);
    }

    /// The connection dies; a new one takes over, resuming if it can.
    fn cut(&mut self) {
        if self.connections >= MAX_CONNECTIONS {
            return;
        }
        self.connections += 1;
        self.c.pending.clear();
        self.s.pending.clear();
        self.finish_connection();
        self.look_at_events();
        let client_state = self.client.sm_state().or(self.resuming.take());
        self.saved = self.server.sm_state().or(self.saved.take());
        let client = match client_state {
            Some(state) if state.resumable() => {
                let text = state.to_xml();
                let back = SmState::from_xml(&text).expect("the saved state parses back");
                assert_eq!(back, state, "the state does not survive its XML text");
                self.resuming = Some(back.clone());
                Stream::client_resuming(self.setup.client(), back)
            }
            _ => {
                // A fresh session: what was not acknowledged is the
                // application's again (not resent here).
                self.cl.queue.clear();
                self.cl.protected.clear();
                Stream::client(self.setup.client())
            }
        };
        self.client = client;
        self.server = Stream::server(self.setup.server());
        // A resumed side resends what the peer had not acknowledged, IQ
        // replies included, whose requests came on an earlier connection:
        // the replies of a connection are counted against everything
        // delivered to that side so far.
        self.c = Side {
            t: Transcript {
                input: std::mem::take(&mut self.c.t.input),
                ..Transcript::default()
            },
            ..Side::default()
        };
        self.s = Side {
            t: Transcript {
                input: std::mem::take(&mut self.s.t.input),
                ..Transcript::default()
            },
            ..Side::default()
        };
        let _ = self.server.start(self.now);
        let _ = self.client.start(self.now);
        self.collect();
    }

    fn op(&mut self, op: u8, arg: u8) {
        let now = self.now;
        match usize::from(op) % OPS.len() {
            0 => self.deliver(true, usize::from(arg)),
            1 => self.deliver(false, usize::from(arg)),
            2 => self.drive(),
            3 => self.message(false),
            4 => self.message(true),
            5 => {
                let p = match arg % 3 {
                    0 => xmpp_sansio::im::PresenceBuilder::available().build(),
                    1 => xmpp_sansio::im::PresenceBuilder::unavailable().build(),
                    _ => xmpp_sansio::im::subscription::subscribe("romeo@example.net"),
                };
                let _ = self.client.send_presence(p, now);
            }
            6 => {
                let kind = if arg & 1 != 0 {
                    IqType::Set
                } else {
                    IqType::Get
                };
                let to = if arg & 2 != 0 {
                    DOMAIN
                } else {
                    "romeo@example.net/orchard"
                };
                let sent = self.client.send_iq(
                    kind,
                    Some(to),
                    Element::new("query", "jabber:iq:version"),
                    now,
                );
                self.c.requests += usize::from(sent.is_ok());
            }
            7 => {
                let to = self.client.bound_jid().map(str::to_owned);
                let sent = self.server.send_iq(
                    IqType::Get,
                    to.as_deref(),
                    Element::new("query", "jabber:iq:version"),
                    now,
                );
                self.s.requests += usize::from(sent.is_ok());
            }
            8 => {
                let (stream, side) = if arg & 1 != 0 {
                    (&mut self.server, &self.s)
                } else {
                    (&mut self.client, &self.c)
                };
                if let Some(req) = &side.request {
                    let _ = if arg & 2 != 0 {
                        let e = StanzaError::from_condition(
                            StanzaErrorCondition::FeatureNotImplemented,
                        );
                        stream.reply_iq_error(req, e, now)
                    } else {
                        stream.reply_iq_result(req, None, now)
                    };
                }
            }
            9 => {
                let sent = self.client.request_roster(None, now);
                self.c.requests += usize::from(sent.is_ok());
            }
            10 => {
                if arg & 1 != 0 {
                    let to = self.client.bound_jid().map(str::to_owned);
                    let sent = self.server.ping(to.as_deref(), now);
                    self.s.requests += usize::from(sent.is_ok());
                } else {
                    let sent = self.client.ping(None, now);
                    self.c.requests += usize::from(sent.is_ok());
                }
            }
            11 => {
                if arg & 1 != 0 {
                    self.server.close(now)
                } else {
                    self.client.close(now)
                }
            }
            12 => {
                if arg & 1 != 0 {
                    self.server.handle_eof(now)
                } else {
                    self.client.handle_eof(now)
                }
            }
            13 => self.advance(arg),
            14 => self.cut(),
            _ => {
                // The next resumption is refused (`<failed/>`): the
                // client gets its queue back and binds afresh; what the
                // server had not had acknowledged is lost with the state.
                if self.saved.take().is_some() {
                    self.sl.queue.clear();
                    self.sl.protected.clear();
                }
            }
        }
        self.collect();
        self.check_queues();
    }

    /// The end of the run: everything delivered, the oracles that need
    /// the whole run, then the end of file or the memory measure.
    fn end(mut self) {
        self.drive();
        self.check_queues();
        let online = self.client.state() == State::Online && self.server.state() == State::Online;
        if online {
            for (sender, receiver, prefix) in [(&self.cl, &self.sl, 'c'), (&self.sl, &self.cl, 's')]
            {
                for n in &sender.protected {
                    assert!(
                        receiver.received.contains(n),
                        "{prefix}{n} was sent under stream management and never arrived ({:?})",
                        receiver.received
                    );
                }
            }
        }
        self.c.t.check();
        self.s.t.check();
        if self.setup.measure_held && alloc::installed() {
            for (stream, side, requests) in [
                (self.client, "client", self.c.requests),
                (self.server, "server", self.s.requests),
            ] {
                let (queue, queued): (isize, isize) = stream
                    .sm_state()
                    .map(|s| {
                        let bytes = s.unacked.iter().map(|el| el.to_xml().len() as isize);
                        (bytes.sum(), s.unacked.len() as isize)
                    })
                    .unwrap_or((0, 0));
                let requests = requests as isize;
                let before = alloc::live();
                drop(stream);
                let held = before - alloc::live();
                let queue_bound = 4 * queue + PER_QUEUED * queued;
                note(0, held - queue_bound - PER_REQUEST * requests);
                assert!(
                    held <= HELD_BOUND + queue_bound + PER_REQUEST * requests,
                    "the drained {side} holds {held} B of heap (bound {HELD_BOUND} + 4 × {queue} B queued + {PER_QUEUED} × {queued} stanzas + {PER_REQUEST} × {requests} requests)"
                );
            }
        } else {
            self.finish_connection();
        }
    }
}

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    let Some((&setup, ops)) = data.split_first() else {
        return;
    };
    let mut run = Run::new(Setup::from_byte(setup));
    for op in ops.chunks(2) {
        run.op(op[0], op.get(1).copied().unwrap_or(0));
    }
    run.end();
}

/// A script in the words of [`OPS`] (`word` or `word:arg`), as bytes.
pub(crate) fn script(setup: u8, words: &str) -> Vec<u8> {
    let mut out = vec![setup];
    for w in words.split_whitespace() {
        let (name, arg) = w.split_once(':').unwrap_or((w, "0"));
        let op = OPS
            .iter()
            .position(|o| *o == name)
            .unwrap_or_else(|| panic!("no operation {name}"));
        out.push(op as u8);
        out.push(
            arg.parse()
                .unwrap_or_else(|_| panic!("bad argument in {w}")),
        );
    }
    out
}

/// Setup bytes: stream management, STARTTLS with binding, ack policies.
pub(crate) const SM: u8 = 1;
pub(crate) const TLS: u8 = 2;
pub(crate) const MEASURE: u8 = 0x80;

/// The seeds: (file name, contents). `tests/fuzz_corpus.rs` checks the
/// committed ones match (and writes them on request).
pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
    let every2 = 2 << 2;
    let after10s = 2 << 4;
    let seeds: Vec<(&str, u8, &str)> = vec![
        (
            "plain-chat",
            0,
            "drive client-message server-message drive close drive",
        ),
        (
            "plain-trickle",
            0x40,
            "deliver-up:40 deliver-down:7 deliver-up:0 deliver-down:0 drive client-message deliver-up:9 deliver-up:0 drive",
        ),
        (
            "sm-acks",
            SM | every2,
            "drive client-message client-message client-message server-message server-message drive client-message drive",
        ),
        (
            "sm-clock-acks",
            SM | after10s,
            "drive client-message advance:11 drive server-message advance:11 drive",
        ),
        (
            "sm-cut-resume",
            SM | every2 | 0x40,
            "drive client-message client-message server-message deliver-up:30 cut drive client-message drive",
        ),
        (
            "sm-cut-before-enabled",
            SM | every2,
            "deliver-up:0 deliver-down:0 deliver-up:0 deliver-down:0 deliver-up:0 cut drive client-message drive",
        ),
        (
            "sm-resume-refused",
            SM | every2,
            "drive client-message client-message client-message server-message deliver-up:0 cut forget drive client-message drive",
        ),
        (
            "requests",
            SM,
            "drive client-iq:2 server-iq drive reply:0 reply:1 roster ping:0 ping:1 drive reply:3 drive",
        ),
        (
            "timeouts-eof",
            SM | (1 << 4),
            "drive client-iq:0 advance:40 drive eof:1 drive advance:20",
        ),
        (
            "starttls-scram-plus",
            TLS | SM,
            "drive client-message drive server-message drive",
        ),
        (
            "measure-held",
            SM | every2 | MEASURE,
            "drive client-message client-message server-message deliver-up:0 roster drive",
        ),
        (
            "measure-held-plain",
            MEASURE,
            "drive client-message server-message client-presence:0 drive",
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, setup, words)| (format!("gen-{name}"), script(setup, words)))
        .collect()
}

/// What each side wrote and reported on a script read whole (for tests
/// that a seed reaches what it is for): (client's output, its events,
/// server's output, its events) of the last connection.
pub(crate) fn transcript_of(data: &[u8]) -> (String, Vec<Event>, String, Vec<Event>) {
    let Some((&setup, ops)) = data.split_first() else {
        return Default::default();
    };
    let mut run = Run::new(Setup::from_byte(setup));
    for op in ops.chunks(2) {
        run.op(op[0], op.get(1).copied().unwrap_or(0));
    }
    run.drive();
    (
        common::show(&run.c.t.output),
        run.c.t.events.clone(),
        common::show(&run.s.t.output),
        run.s.t.events.clone(),
    )
}

/// Everything each side reported on every connection is not kept; this
/// counts the connections a script made (for tests).
pub(crate) fn connections_of(data: &[u8]) -> usize {
    let Some((&setup, ops)) = data.split_first() else {
        return 0;
    };
    let mut run = Run::new(Setup::from_byte(setup));
    for op in ops.chunks(2) {
        run.op(op[0], op.get(1).copied().unwrap_or(0));
    }
    run.connections
}
