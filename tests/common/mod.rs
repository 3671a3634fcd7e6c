//! Test helpers: a virtual clock and a transcript runner for client streams.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

pub mod pair;
pub mod server_side;

use std::time::{Duration, Instant};

use xmpp_sansio::sasl::ChannelBinding;
use xmpp_sansio::{ClientConfig, Event, Stream, TlsPolicy};

pub const SERVER_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='example.com' id='s1' xml:lang='en'>";

/// One instant for a whole test; time moves only when the test says so.
pub fn epoch() -> Instant {
    Instant::now()
}

pub fn plain_config() -> ClientConfig {
    let mut c = ClientConfig::new("juliet@example.com", "r0m30", [42; 32]);
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c.resource = Some("balcony".into());
    c
}

/// What a client did in response to a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub sent: String,
    pub events: Vec<Event>,
}

/// Takes everything the stream has for the caller, as the documented run
/// loop does: the output, then each event, writing again after each
/// (taking an event can read on from a large read, which can queue
/// output).
pub fn drain(stream: &mut Stream, out: &mut Outcome) {
    loop {
        while let Some(bytes) = stream.poll_transmit() {
            out.sent.push_str(&String::from_utf8_lossy(&bytes));
        }
        let Some(event) = stream.poll_event() else {
            break;
        };
        out.events.push(event);
    }
}

/// Runs `phases` of server bytes against a fresh client, each phase cut at
/// `cuts` (offsets into that phase). Between phases (after `<proceed/>`)
/// the test calls `tls_established` with `binding`, as a caller would.
pub fn run_phases(
    config: ClientConfig,
    phases: &[&str],
    cuts: &[usize],
    binding: &ChannelBinding,
) -> Outcome {
    let now = epoch();
    let mut stream = Stream::client(config);
    if stream.start(now).is_err() {
        return Outcome {
            sent: String::new(),
            events: Vec::new(),
        };
    }
    feed_phases(&mut stream, phases, cuts, binding, now)
}

/// Feeds `phases` to a started `stream`, each phase cut at `cuts`
/// (offsets into that phase), draining after each read; between phases
/// the test calls `tls_established` with `binding`, as a caller would.
/// Returns everything drained, what `start` queued included.
pub fn feed_phases(
    stream: &mut Stream,
    phases: &[&str],
    cuts: &[usize],
    binding: &ChannelBinding,
    now: Instant,
) -> Outcome {
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    drain(stream, &mut out);
    for (i, phase) in phases.iter().enumerate() {
        if i > 0 {
            let _ = stream.tls_established(binding.clone(), now);
            drain(stream, &mut out);
        }
        let bytes = phase.as_bytes();
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            let cut = cut.clamp(last, bytes.len());
            let _ = stream.handle_input(&bytes[last..cut], now);
            last = cut;
            drain(stream, &mut out);
        }
    }
    out
}

/// Asserts that `run` (the phases fed with the cuts it is given) gives
/// the same outcome at every single cut point, and one byte at a time,
/// as with each phase whole; returns that outcome.
pub fn assert_cuts_agree(phases: &[&str], run: impl Fn(&[usize]) -> Outcome) -> Outcome {
    let whole = run(&[]);
    let longest = phases.iter().map(|p| p.len()).max().unwrap_or(0);
    for cut in 1..longest {
        let split = run(&[cut]);
        assert_eq!(
            split, whole,
            "outcome differs when phases are cut at byte {cut}"
        );
    }
    let every: Vec<usize> = (1..longest).collect();
    assert_eq!(run(&every), whole, "outcome differs one byte at a time");
    whole
}

/// Asserts that every single cut point, and one-byte feeding, give the
/// same outcome as feeding each phase whole; returns that outcome.
pub fn assert_split_invariant(
    config: &ClientConfig,
    phases: &[&str],
    binding: &ChannelBinding,
) -> Outcome {
    assert_cuts_agree(phases, |cuts| {
        run_phases(config.clone(), phases, cuts, binding)
    })
}

/// Drives a stream to `Online` over PLAIN with the given extra features,
/// returning it with its outputs drained.
pub fn online_stream(config: ClientConfig, now: Instant) -> (Stream, Outcome) {
    let mut stream = Stream::client(config);
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    stream.start(now).ok();
    drain(&mut stream, &mut out);
    let script = plain_login_script();
    stream.handle_input(script.pre_bind.as_bytes(), now).ok();
    drain(&mut stream, &mut out);
    let id = bind_request_id(&out.sent).unwrap_or_default();
    let reply = format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>"
    );
    stream.handle_input(reply.as_bytes(), now).ok();
    drain(&mut stream, &mut out);
    (stream, out)
}

pub struct LoginScript {
    pub pre_bind: String,
}

pub fn plain_login_script() -> LoginScript {
    LoginScript {
        pre_bind: format!(
            "{SERVER_HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>\
             <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\
             {SERVER_HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
        ),
    }
}

/// The id of the client's bind request in `sent`.
pub fn bind_request_id(sent: &str) -> Option<String> {
    let at = sent.find("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'")?;
    let iq = &sent[..at];
    let iq = &iq[iq.rfind("<iq ")?..];
    attr_of(iq, "id")
}

/// The value of `name='…'` in a tag's text.
pub fn attr_of(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}='");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('\'')? + start;
    Some(tag[start..end].to_owned())
}

/// Advances `now` by `d`.
pub fn later(now: Instant, d: Duration) -> Instant {
    now + d
}

/// How a [`Driver`] cuts each piece of server bytes it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Each piece in one `handle_input` call.
    Whole,
    /// Each piece in two calls, cut at this offset (clamped to its length).
    At(usize),
    /// Each piece one byte at a time.
    EveryByte,
}

/// A stream under test with a scripted server: feeds server bytes with the
/// run's [`Cut`], drains every output after each call, and records it all.
pub struct Driver {
    pub stream: Stream,
    pub now: Instant,
    cut: Cut,
    /// Everything sent and every event since the scenario began.
    pub total: Outcome,
    recent: Outcome,
    longest: usize,
}

impl Driver {
    pub fn new(stream: Stream, now: Instant, cut: Cut) -> Self {
        let mut d = Self {
            stream,
            now,
            cut,
            total: Outcome {
                sent: String::new(),
                events: Vec::new(),
            },
            recent: Outcome {
                sent: String::new(),
                events: Vec::new(),
            },
            longest: 0,
        };
        d.drain();
        d
    }

    /// Feeds `bytes` as the server sent them, cut as this run cuts; returns
    /// what the last `handle_input` returned (errors are sticky).
    pub fn feed(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), xmpp_sansio::Error> {
        self.feed_with(bytes.as_ref(), true)
    }

    /// Like [`Driver::feed`], but leaves the outputs in the stream for the
    /// test to poll itself.
    pub fn feed_undrained(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), xmpp_sansio::Error> {
        self.feed_with(bytes.as_ref(), false)
    }

    fn feed_with(&mut self, bytes: &[u8], drain: bool) -> Result<(), xmpp_sansio::Error> {
        self.longest = self.longest.max(bytes.len());
        let pieces: Vec<&[u8]> = match self.cut {
            Cut::Whole => vec![bytes],
            Cut::At(at) => {
                let (a, b) = bytes.split_at(at.min(bytes.len()));
                vec![a, b]
            }
            Cut::EveryByte => bytes.chunks(1).collect(),
        };
        let mut result = Ok(());
        for piece in pieces {
            result = self.stream.handle_input(piece, self.now);
            if drain {
                self.drain();
            }
        }
        result
    }

    /// Collects what the stream queued (after a command, say).
    pub fn drain(&mut self) {
        let mut out = Outcome {
            sent: String::new(),
            events: Vec::new(),
        };
        drain(&mut self.stream, &mut out);
        self.total.sent.push_str(&out.sent);
        self.total.events.extend(out.events.iter().cloned());
        self.recent.sent.push_str(&out.sent);
        self.recent.events.extend(out.events);
    }

    /// What was sent and reported since the last call (or the start).
    pub fn recent(&mut self) -> Outcome {
        self.drain();
        std::mem::replace(
            &mut self.recent,
            Outcome {
                sent: String::new(),
                events: Vec::new(),
            },
        )
    }
}

/// Runs `scenario` on the stream `setup` makes, first feeding every piece
/// of server bytes whole, then cut at every offset, then one byte at a
/// time, and asserts that everything sent, every event and the scenario's
/// own result are the same each time. Returns the whole-piece run.
pub fn assert_chunking_invariant<T: PartialEq + std::fmt::Debug>(
    setup: impl Fn(Instant) -> Stream,
    scenario: impl Fn(&mut Driver) -> T,
) -> (Outcome, T) {
    let run = |cut: Cut| {
        let now = epoch();
        let mut d = Driver::new(setup(now), now, cut);
        let result = scenario(&mut d);
        d.drain();
        (d.total.clone(), result, d.longest)
    };
    let (whole, result, longest) = run(Cut::Whole);
    for cut in (1..longest).map(Cut::At).chain([Cut::EveryByte]) {
        let (outcome, r, _) = run(cut);
        assert_eq!(outcome, whole, "outcome differs with {cut:?}");
        assert_eq!(r, result, "scenario result differs with {cut:?}");
    }
    (whole, result)
}

/// A fresh client stream for `config`, started.
pub fn started(config: &ClientConfig, now: Instant) -> Stream {
    let mut s = Stream::client(config.clone());
    s.start(now).ok();
    s
}
