//! What every fuzz oracle shares (`tests/fuzz/oracles/`): how an input is
//! cut into reads, the protocol properties checked on what a client
//! `Stream` wrote and reported, and the small helpers the seeds need
//! (base64, SCRAM messages). Included as a module by each oracle file, so
//! it compiles in the fuzz crate and under `cargo test` alike.
//!
//! The properties, checked on every target that drives a `Stream`:
//! - the output is well-formed XML as a server reads it: the crate's own
//!   framer, restarted at each of our stream headers (at most three: the
//!   first, after STARTTLS, after SASL), reads a header, then elements,
//!   then at most one closing tag, and no partial element is left over;
//! - nothing is written after our closing tag;
//! - at most one `Event::Closed`, and no event after it; once the end of
//!   file is fed ([`finish`]), exactly one, and nothing more is written or
//!   reported whatever is called afterwards;
//! - each inbound IQ request is answered at most once: for each (`to`,
//!   `id`) of an IQ result or error we wrote, the input holds at least as
//!   many IQs that carry that id (counted in the raw input bytes, an upper
//!   bound on the requests the stream can have read).
#![allow(dead_code)]
// The oracles are callers: they read the clock, as callers do.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;

use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
use xmpp_sansio::{Event, State, Stream};

/// Cuts `data` into reads following `pattern`: 0 feeds one byte at a time,
/// any other value cuts pseudo-random lengths of 1 to `8 * pattern` bytes
/// (the same cuts for the same pattern and data). Every byte, NUL
/// included, is data: no byte value is reserved as a cut marker.
pub(crate) fn chunks(data: &[u8], pattern: u8) -> Vec<&[u8]> {
    let max = 8 * u64::from(pattern);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ u64::from(pattern);
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let len = if pattern == 0 {
            1
        } else {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            usize::try_from(1 + z % max).unwrap_or(1)
        };
        let (head, tail) = rest.split_at(len.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

/// A by-stage target's input, taken apart: its first byte picks the stage
/// (low four bits, modulo `stages`) and the chunking (high four bits, for
/// [`chunks`]); the rest is the bytes fed, every `@@` replaced by
/// `token(stage)`. `None` for an empty input.
pub(crate) fn staged<T: AsRef<[u8]>>(
    data: &[u8],
    stages: usize,
    token: impl Fn(usize) -> T,
) -> Option<(usize, u8, Vec<u8>)> {
    let (&selector, rest) = data.split_first()?;
    let stage = usize::from(selector & 0x0f) % stages;
    Some((
        stage,
        selector >> 4,
        substitute(rest, token(stage).as_ref()),
    ))
}

/// `data` with every `@@` replaced by `id`.
pub(crate) fn substitute(data: &[u8], id: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(b"@@") {
            out.extend_from_slice(id);
            i += 2;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Everything a run fed, wrote and reported.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Transcript {
    /// Every byte fed to `handle_input`.
    pub(crate) input: Vec<u8>,
    /// Every byte `poll_transmit` returned.
    pub(crate) output: Vec<u8>,
    /// Every event, in order.
    pub(crate) events: Vec<Event>,
}

impl Transcript {
    /// Feeds `data`, then drains.
    pub(crate) fn feed(&mut self, s: &mut Stream, data: &[u8], now: std::time::Instant) {
        self.input.extend_from_slice(data);
        let _ = s.handle_input(data, now);
        self.drain(s, now);
    }

    /// Drains output and events; answers `Event::StartTls` at once, as a
    /// caller would, and drains again.
    pub(crate) fn drain(&mut self, s: &mut Stream, now: std::time::Instant) {
        loop {
            while let Some(b) = s.poll_transmit() {
                self.output.extend_from_slice(&b);
            }
            let mut tls = false;
            // Taking events can read on from a large read, which can queue
            // output: go round once more after any.
            let mut took = false;
            while let Some(e) = s.poll_event() {
                took = true;
                tls |= matches!(e, Event::StartTls);
                self.events.push(e);
            }
            let upgraded = tls && s.tls_established(Default::default(), now).is_ok();
            if !upgraded && !took {
                break;
            }
        }
    }

    /// Whether STARTTLS happened: bytes after `<proceed/>` in the same read
    /// are refused by design, so chunking may then change the outcome.
    pub(crate) fn saw_starttls(&self) -> bool {
        self.events.iter().any(|e| matches!(e, Event::StartTls))
    }

    /// The properties that hold at any moment (see the module docs).
    pub(crate) fn check(&self) {
        check_events(&self.events);
        let replies = check_output(&self.output);
        check_replies(&replies, &self.input);
    }
}

/// At most one `Closed`, and nothing after it.
pub(crate) fn check_events(events: &[Event]) {
    let closed = events
        .iter()
        .filter(|e| matches!(e, Event::Closed { .. }))
        .count();
    assert!(closed <= 1, "{closed} Closed events: {events:?}");
    if closed == 1 {
        assert!(
            matches!(events.last(), Some(Event::Closed { .. })),
            "an event after Closed: {events:?}"
        );
    }
}

/// The client's stream header, as it writes it: where a server restarts
/// its reader.
const OUR_HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream";

/// Reads `out` as a server would; returns the (`to`, `id`) of every IQ
/// result or error written. Panics where the output is not well-formed,
/// or something follows our closing tag.
pub(crate) fn check_output(out: &[u8]) -> Vec<(Option<String>, String)> {
    let mut replies = Vec::new();
    if out.is_empty() {
        return replies;
    }
    let starts: Vec<usize> = (0..out.len())
        .filter(|&i| out[i..].starts_with(OUR_HEADER))
        .collect();
    assert_eq!(
        starts.first(),
        Some(&0),
        "output before our header: {}",
        show(out)
    );
    assert!(starts.len() <= 3, "{} stream headers written", starts.len());
    let limits = Limits {
        max_stanza_bytes: 1 << 20,
        max_depth: 256,
        max_attributes: 1024,
        max_name_len: 4096,
        ..Limits::default()
    };
    let mut closed = false;
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(out.len());
        let segment = &out[start..end];
        assert!(
            !closed,
            "a stream header after our closing tag: {}",
            show(out)
        );
        let mut framer = Framer::new(limits.clone());
        framer.push(segment);
        let mut first = true;
        loop {
            match framer.next_event() {
                Ok(Some(FrameEvent::StreamStart(_))) => {
                    assert!(first, "a second header in one stream: {}", show(segment))
                }
                Ok(Some(FrameEvent::Element(el))) => {
                    assert!(!first, "an element before our header");
                    assert!(!closed, "an element after our closing tag: {}", show(out));
                    if el.name() == "iq" && matches!(el.attr("type"), Some("result" | "error")) {
                        replies.push((
                            el.attr("to").map(str::to_owned),
                            el.attr("id").unwrap_or_default().to_owned(),
                        ));
                    }
                }
                Ok(Some(FrameEvent::StreamEnd)) => {
                    assert!(!closed, "two closing tags: {}", show(out));
                    closed = true;
                }
                Ok(None) => break,
                Err(e) => panic!("our output is not well-formed ({e}): {}", show(segment)),
            }
            first = false;
        }
        let left = &segment[segment.len() - framer.unconsumed()..];
        if closed {
            // Not even whitespace (which the framer would skip).
            assert!(
                n + 1 == starts.len() && out.ends_with(b"</stream:stream>"),
                "written after our closing tag: {}",
                show(out)
            );
        } else {
            assert!(
                left.iter().all(u8::is_ascii_whitespace),
                "a partial element written: {}",
                show(left)
            );
        }
    }
    replies
}

/// Each reply answers a request the input can hold: for each (`to`, `id`),
/// no more replies than quoted occurrences of the id in the input. Ids that
/// an entity reference could spell are not counted (the raw bytes do not
/// bound them). Whitespace is compared as XML normalizes it in attributes.
pub(crate) fn check_replies(replies: &[(Option<String>, String)], input: &[u8]) {
    let mut counts: HashMap<&(Option<String>, String), usize> = HashMap::new();
    for r in replies {
        *counts.entry(r).or_default() += 1;
    }
    if input.contains(&b'&') {
        return;
    }
    // XML normalizes line ends and then attribute values: CR LF, CR, LF
    // and tab each become one space. (Copied only when there is one: the
    // inputs of a stanza near the default limit are 256 KiB.)
    let normal;
    let input = if input.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\t')) {
        let mut copy = Vec::with_capacity(input.len());
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\r' if input.get(i + 1) == Some(&b'\n') => {
                    copy.push(b' ');
                    i += 1;
                }
                b'\r' | b'\n' | b'\t' => copy.push(b' '),
                b => copy.push(b),
            }
            i += 1;
        }
        normal = copy;
        &normal[..]
    } else {
        input
    };
    for ((to, id), n) in counts {
        // Up to `n` are enough.
        let mut occurrences = 0;
        for q in [b'\'', b'"'] {
            let mut quoted = vec![q];
            quoted.extend_from_slice(id.as_bytes());
            quoted.push(q);
            occurrences += count(input, &quoted, n - occurrences.min(n));
        }
        assert!(
            n <= occurrences,
            "{n} replies to the request {id:?} from {to:?}, which the input holds {occurrences} times"
        );
    }
}

/// Non-overlapping occurrences of `needle` in `hay`, counted up to `enough`.
fn count(hay: &[u8], needle: &[u8], enough: usize) -> usize {
    let (mut n, mut i) = (0, 0);
    while n < enough && i + needle.len() <= hay.len() {
        if hay[i..].starts_with(needle) {
            n += 1;
            i += needle.len().max(1);
        } else {
            i += 1;
        }
    }
    n
}

/// Ends the run with the end of file and checks the end: exactly one
/// `Closed`, last; state `Closed`; no timeout left; and nothing more
/// written or reported whatever is called afterwards.
pub(crate) fn finish(s: &mut Stream, t: &mut Transcript, now: std::time::Instant) {
    s.handle_eof(now);
    t.drain(s, now);
    t.check();
    assert!(
        matches!(t.events.last(), Some(Event::Closed { .. })),
        "no Closed after the end of file: {:?}",
        t.events
    );
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.poll_timeout(), None, "a timeout after Closed");
    let later = now + std::time::Duration::from_secs(86_400);
    let _ = s.handle_input(b"<message/></stream:stream>", later);
    s.handle_timeout(later);
    s.close(later);
    s.handle_eof(later);
    let _ = s.ping(None, later);
    assert_eq!(s.poll_transmit(), None, "written after Closed");
    assert_eq!(s.poll_event(), None, "an event after Closed");
}

/// `data` as text for a failure message.
pub(crate) fn show(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

// ---- SCRAM, for the seeds and the stage prefixes ----

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, ignoring what is not in its alphabet.
pub(crate) fn unbase64(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in text {
        let Some(v) = B64.iter().position(|&b| b == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The text content of the last `<name ...>…</name>` in `xml`, if any.
pub(crate) fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.rfind(&format!("<{name} "))?;
    let body = &xml[start..];
    let open_end = body.find('>')?;
    let close = body.find(&format!("</{name}>"))?;
    body.get(open_end + 1..close)
}
