//! Stream management's fuzz oracles (XEP-0198, client role), shared by
//! `fuzz/fuzz_targets/sm_stream.rs` and by `tests/fuzz_corpus.rs`.
//!
//! A client `Stream` with stream management on, brought by a valid prefix
//! to one of [`STAGES`] with `n` stanzas sent and unacknowledged, then fed
//! arbitrary server bytes. The input's first byte chooses the stage (low
//! nibble, modulo the number of stages) and how the rest is cut into reads
//! (high nibble, [`common::chunks`]); the second byte, modulo 16, is `n`;
//! every other byte, NUL included, is server data. `@@` in the data
//! stands for the count of stanzas sent at the end of the prefix (an `h`
//! that acknowledges them all), so `<a h='@@'/>` is one token away. The
//! ack policy asks for an ack every 4 stanzas, so the prefix writes `<r/>`
//! too; the stream's own answers (IQ results and errors) are stanzas and
//! count.
//!
//! Oracles, besides those of [`common`] (output, one `Closed`, replies,
//! the end of file) and chunking invariance:
//! - **Acks release exactly what was sent.** Around every read that
//!   neither enables nor resumes nor turns stream management off, with
//!   `Stream::sm_state` before (`prev`) and after (`new`): the stanzas
//!   `Event::Acknowledged` released in the read, followed by `new.unacked`,
//!   are `prev.unacked` followed by the stanzas written in the read (the
//!   released part compared element by element, the rest by count), and
//!   `new.acked` is `prev.acked` plus the number released. So the queue
//!   never holds more than was sent, and releases never exceed it.
//! - **`handled-count-too-high` is true when claimed**: a stream closed
//!   with `Error::HandledCountTooHigh { h, send_count }` has `send_count`
//!   equal to what its state says was sent, and `h` beyond it.
//! - **Every `h` accepted is within what was sent, and the last one
//!   holds.** In a read after which the stream is still online (no error),
//!   every `<a h=''/>` the server sent (read by a second framer over the
//!   same bytes) acknowledged at most what was sent by the end of the
//!   read, and `new.acked` is the last `h`.
//! - **One `<a/>` for each `<r/>`.** In such a read, with stream management
//!   enabled before it, the `<a/>` elements written equal in number the
//!   `<r/>` elements read; while `<enable/>` is unanswered, none is
//!   written.

// The oracle is a caller: it reads the clock, as callers do.
#![allow(clippy::disallowed_methods)]
// Each includer (fuzz target, corpus test) uses a part.
#![allow(dead_code)]

#[path = "common.rs"]
pub(crate) mod common;

use std::time::{Duration, Instant};

use xmpp_sansio::xml::{Element, FrameEvent, Framer};
use xmpp_sansio::{ClientConfig, Error, Event, SmConfig, SmState, State, Stream, TlsPolicy};

use common::Transcript;

const HEADER: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='example.com' id='f'>";
const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub(crate) const SM: &str = "urn:xmpp:sm:3";
const JID: &str = "j@example.com/r";
/// The resumption id of the `enabled` stage and of the saved state.
pub(crate) const SESSION: &str = "s1";
/// The saved state's `acked`: two below the wrap of the 32-bit counter.
pub(crate) const SAVED_ACKED: u32 = u32::MAX - 1;

/// The stages, by index.
pub(crate) const STAGES: &[&str] = &[
    "enable-sent", // 0: bound, <enable/> sent, n stanzas sent; <enabled/> or <failed/> next
    "enabled",     // 1: <enabled/> read, n stanzas sent; acks, requests, stanzas next
    "resuming", // 2: a saved state with n unacked stanzas, <resume/> sent; <resumed/> or <failed/> next
];

pub(crate) fn config() -> ClientConfig {
    let mut c = ClientConfig::new("j@example.com", "pw", [4; 32]);
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c.stream_management = SmConfig::enabled();
    c.stream_management.ack_after_stanzas = Some(4);
    c.limits.max_stanza_bytes = 1024;
    c.limits.max_depth = 8;
    c.limits.max_attributes = 12;
    c.limits.max_name_len = 64;
    c
}

fn stanza(i: usize) -> Element {
    Element::builder("message", "jabber:client")
        .attr("to", "a@example.net")
        .attr("id", format!("m{i}"))
        .child(
            Element::builder("body", "jabber:client")
                .text(format!("{i}"))
                .build(),
        )
        .build()
}

/// The saved state of the `resuming` stage.
pub(crate) fn saved(n: usize) -> SmState {
    SmState {
        id: Some(SESSION.into()),
        jid: Some(JID.into()),
        inbound: 3,
        acked: SAVED_ACKED,
        unacked: (0..n).map(stanza).collect(),
        ..SmState::default()
    }
}

fn last_iq_id(out: &[u8]) -> String {
    let out = common::show(out);
    out.rsplit("<iq ")
        .next()
        .filter(|_| out.contains("<iq "))
        .and_then(|iq| iq.split("id='").nth(1))
        .and_then(|r| r.split('\'').next())
        .unwrap_or_default()
        .to_owned()
}

/// A started stream at `stage` with `n` stanzas sent, and its transcript.
pub(crate) fn staged(stage: usize, n: usize, now: Instant) -> (Stream, Transcript) {
    let mut s = if stage == 2 {
        Stream::client_resuming(config(), saved(n))
    } else {
        Stream::client(config())
    };
    let mut t = Transcript::default();
    let _ = s.start(now);
    t.drain(&mut s, now);
    let mechanisms = format!(
        "<stream:features><mechanisms xmlns='{SASL}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
    );
    let bind = format!(
        "{HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='{SM}'/></stream:features>"
    );
    for step in [
        format!("{HEADER}{mechanisms}"),
        format!("<success xmlns='{SASL}'/>"),
        bind,
    ] {
        t.feed(&mut s, step.as_bytes(), now);
    }
    if stage < 2 {
        let id = last_iq_id(&t.output);
        let bound = format!(
            "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{JID}</jid></bind></iq>"
        );
        t.feed(&mut s, bound.as_bytes(), now);
        if stage == 1 {
            let enabled = format!("<enabled xmlns='{SM}' id='{SESSION}' resume='true'/>");
            t.feed(&mut s, enabled.as_bytes(), now);
        }
        for i in 0..n {
            let _ = s.send(stanza(i), now);
            t.drain(&mut s, now);
        }
    }
    (s, t)
}

/// What `@@` stands for: the count of stanzas sent by the prefix.
fn sent_count(stage: usize, n: usize) -> u32 {
    let n = n as u32;
    if stage == 2 {
        SAVED_ACKED.wrapping_add(n)
    } else {
        n
    }
}

/// XEP-0198's `h`, as the stream reads it (an unsigned decimal below
/// 2^32, surrounding spaces ignored).
fn h_of(el: &Element) -> Option<u32> {
    let s = el.attr("h")?.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Elements framed from one side's bytes, read by read.
struct Side {
    framer: Framer,
    /// The framer no longer follows the stream (a header, an error, the
    /// end): the checks that need it stop.
    lost: bool,
}

impl Side {
    fn new() -> Self {
        let mut framer = Framer::new(config().limits);
        framer.push(HEADER.as_bytes());
        let _ = framer.next_event();
        Self {
            framer,
            lost: false,
        }
    }

    fn read(&mut self, data: &[u8]) -> Vec<Element> {
        let mut out = Vec::new();
        if self.lost {
            return out;
        }
        self.framer.push(data);
        loop {
            match self.framer.next_event() {
                Ok(Some(FrameEvent::Element(el))) => out.push(el),
                Ok(None) => break,
                _ => {
                    self.lost = true;
                    break;
                }
            }
        }
        out
    }
}

fn is_sm(el: &Element, name: &str) -> bool {
    el.is(name, SM)
}

fn is_stanza(el: &Element) -> bool {
    el.ns() == "jabber:client" && matches!(el.name(), "message" | "presence" | "iq")
}

/// Whether stream management is enabled, as the events say so far.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    Off,
    EnableSent,
    Enabled,
}

fn run<'a>(stage: usize, n: usize, reads: impl Iterator<Item = &'a [u8]>) -> Transcript {
    let now = Instant::now();
    let (mut s, mut t) = staged(stage, n, now);
    t.events.clear();
    let mut phase = match stage {
        0 => Phase::EnableSent,
        1 => Phase::Enabled,
        _ => Phase::Off,
    };
    let mut input_side = Side::new();
    let mut output_side = Side::new();
    for read in reads {
        let prev = s.sm_state();
        let state_before = s.state();
        let (events_before, output_before) = (t.events.len(), t.output.len());
        t.feed(&mut s, read, now);
        common::check_events(&t.events);
        let new = s.sm_state();
        let events = &t.events[events_before..];
        let read_in = input_side.read(read);
        let written = output_side.read(&t.output[output_before..]);
        let released: Vec<&Element> = events
            .iter()
            .filter_map(|e| match e {
                Event::Acknowledged { stanzas } => Some(stanzas.iter()),
                _ => None,
            })
            .flatten()
            .collect();
        for e in events {
            if let Event::Closed {
                error: Some(Error::HandledCountTooHigh { h, send_count }),
                ..
            } = e
            {
                let new = new
                    .as_ref()
                    .unwrap_or_else(|| panic!("handled-count-too-high without a state"));
                assert_eq!(*send_count, new.sent(), "the send count claimed");
                assert!(
                    h.wrapping_sub(new.acked) as usize > new.unacked.len(),
                    "handled-count-too-high for an h of {h} that acknowledges no more than the {} sent",
                    new.sent()
                );
            }
        }
        let epoch = events.iter().any(|e| {
            matches!(
                e,
                Event::SmEnabled { .. }
                    | Event::SmFailed { .. }
                    | Event::Resumed { .. }
                    | Event::ResumeFailed { .. }
            )
        });
        let sent_in_read = written.iter().filter(|el| is_stanza(el)).count();
        if !epoch && let (Some(prev), Some(new)) = (&prev, &new) {
            let before = prev.unacked.len() + sent_in_read;
            assert_eq!(
                released.len() + new.unacked.len(),
                before,
                "released {} and kept {}, of {} unacknowledged and {} sent in the read",
                released.len(),
                new.unacked.len(),
                prev.unacked.len(),
                sent_in_read
            );
            for (r, p) in released.iter().zip(&prev.unacked) {
                assert_eq!(*r, p, "released out of order");
            }
            if released.len() < prev.unacked.len() {
                assert_eq!(
                    &new.unacked[..prev.unacked.len() - released.len()],
                    &prev.unacked[released.len()..],
                    "the queue lost or reordered a stanza"
                );
            }
            assert_eq!(
                new.acked,
                prev.acked.wrapping_add(released.len() as u32),
                "acked moved by other than what was released"
            );
        }
        let still_online = state_before == State::Online
            && s.state() == State::Online
            && !epoch
            && !input_side.lost
            && !output_side.lost;
        if still_online && let (Some(prev), Some(new)) = (&prev, &new) {
            let acks: Vec<u32> = read_in
                .iter()
                .filter(|el| is_sm(el, "a"))
                .map(|el| {
                    h_of(el).unwrap_or_else(|| panic!("an <a/> without a valid h accepted: {el:?}"))
                })
                .collect();
            for h in &acks {
                assert!(
                    h.wrapping_sub(prev.acked) as usize <= prev.unacked.len() + sent_in_read,
                    "an h of {h} accepted, beyond the {} stanzas sent",
                    new.sent()
                );
            }
            if let Some(last) = acks.last() {
                assert_eq!(new.acked, *last, "the last h read is not the one kept");
            }
            let requests = read_in.iter().filter(|el| is_sm(el, "r")).count();
            let answers = written.iter().filter(|el| is_sm(el, "a")).count();
            match phase {
                Phase::Enabled => assert_eq!(
                    answers, requests,
                    "{requests} <r/> read while enabled, {answers} <a/> written"
                ),
                _ => assert_eq!(answers, 0, "<a/> written while not enabled"),
            }
        }
        for e in events {
            phase = match e {
                Event::SmEnabled { .. } | Event::Resumed { .. } => Phase::Enabled,
                Event::SmFailed { .. } | Event::ResumeFailed { .. } => Phase::Off,
                _ => phase,
            };
        }
        if written.iter().any(|el| is_sm(el, "enable")) {
            phase = Phase::EnableSent;
        }
    }
    let later = now + Duration::from_secs(3600);
    s.handle_timeout(later);
    t.drain(&mut s, later);
    t.check();
    let before_eof = t.clone();
    common::finish(&mut s, &mut t, later);
    before_eof
}

fn decode(data: &[u8]) -> Option<(usize, usize, u8, Vec<u8>)> {
    let (&selector, rest) = data.split_first()?;
    let (n, rest) = match rest.split_first() {
        Some((&n, rest)) => (usize::from(n % 16), rest),
        None => (0, rest),
    };
    let stage = usize::from(selector & 0x0f) % STAGES.len();
    let h = sent_count(stage, n).to_string();
    Some((
        stage,
        n,
        selector >> 4,
        common::substitute(rest, h.as_bytes()),
    ))
}

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    let Some((stage, n, pattern, data)) = decode(data) else {
        return;
    };
    let chunked = run(stage, n, common::chunks(&data, pattern).into_iter());
    let whole = run(stage, n, std::iter::once(&data[..]));
    assert_eq!(
        (chunked.output, chunked.events),
        (whole.output, whole.events),
        "the outcome depends on chunking"
    );
}

/// What the stream writes (the prefix's output included) and reports (the
/// prefix's events excluded) on one input read whole.
pub(crate) fn transcript_of(data: &[u8]) -> (String, Vec<Event>) {
    let Some((stage, n, _, data)) = decode(data) else {
        return Default::default();
    };
    let t = run(stage, n, std::iter::once(&data[..]));
    (common::show(&t.output), t.events)
}

/// The generated seeds: (file name, contents).
pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
    let stage = |name: &str| STAGES.iter().position(|s| *s == name).unwrap_or(0) as u8;
    let ping = "<iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>";
    [
        (
            "gen-enabled-then-acks",
            format!("<enabled xmlns='{SM}' id='x' resume='true' max='60'/><r xmlns='{SM}'/><a xmlns='{SM}' h='2'/><a xmlns='{SM}' h='@@'/>"),
            "enable-sent",
            5,
        ),
        (
            "gen-enable-failed",
            format!("<failed xmlns='{SM}'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed><r xmlns='{SM}'/>"),
            "enable-sent",
            3,
        ),
        (
            "gen-requests-and-stanzas",
            format!("<r xmlns='{SM}'/><message from='a@example.net/x'><body>hi</body></message>{ping}<r xmlns='{SM}'/><a xmlns='{SM}' h=' 1 '/><r xmlns='{SM}'/>"),
            "enabled",
            2,
        ),
        (
            "gen-ack-all",
            format!("<a xmlns='{SM}' h='@@'/><a xmlns='{SM}' h='@@'/>"),
            "enabled",
            15,
        ),
        (
            "gen-h-too-high",
            format!("<a xmlns='{SM}' h='3'/><a xmlns='{SM}' h='4'/>"),
            "enabled",
            3,
        ),
        (
            "gen-h-backwards",
            format!("<a xmlns='{SM}' h='2'/><a xmlns='{SM}' h='1'/>"),
            "enabled",
            4,
        ),
        (
            "gen-h-not-a-number",
            format!("<a xmlns='{SM}' h='-1'/>"),
            "enabled",
            1,
        ),
        (
            "gen-resumed",
            format!("<resumed xmlns='{SM}' previd='{SESSION}' h='0'/><r xmlns='{SM}'/><a xmlns='{SM}' h='@@'/>"),
            "resuming",
            4,
        ),
        (
            "gen-resumed-across-the-wrap",
            format!("<resumed xmlns='{SM}' previd='{SESSION}' h='1'/>{ping}<r xmlns='{SM}'/>"),
            "resuming",
            6,
        ),
        (
            "gen-resume-failed",
            format!("<failed xmlns='{SM}' h='4294967295'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed><iq type='result' id='x'/>"),
            "resuming",
            3,
        ),
        (
            "gen-closing-with-ack",
            format!("<a xmlns='{SM}' h='1'/></stream:stream>"),
            "enabled",
            2,
        ),
    ]
    .into_iter()
    .map(|(name, data, st, n)| {
        let mut bytes = vec![stage(st) | 0x30, n];
        bytes.extend_from_slice(data.as_bytes());
        (name.to_owned(), bytes)
    })
    .collect()
}
