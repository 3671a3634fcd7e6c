//! A catalogue of hostile input against a client `Stream`, online and
//! during negotiation where it matters: each case with the outcome RFC 6120
//! or RFC 6121 prescribes (the stream error sent, the stanza error, or the
//! event), and memory bounded while it is read, measured with a counting
//! allocator. Nothing hostile is ever buffered whole: a case that sends
//! 50 MB fails at the stanza limit having held at most that limit and a
//! constant.
//!
//! The allocator counts per thread, and the cases also run one at a time
//! (`serial`), so no test sees another's allocations.
#![allow(clippy::disallowed_methods)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use common::{SERVER_HEADER, attr_of, online_stream, plain_config};
use xmpp_sansio::im::RosterPushRejection;
use xmpp_sansio::xml::{LimitKind, Limits, XmlError};
use xmpp_sansio::{ClientConfig, Error, Event, State, Stream, StreamErrorCondition, TlsPolicy};

// ---- the counting allocator ----

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocated() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn count(delta: isize) {
    // `try_with`: a thread being torn down may still free memory.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to `System` unchanged; only the counters
// of the calling thread move.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            allocated();
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            allocated();
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Runs `f`; returns its result and the most heap it held at once above
/// what was live when it started (what it returns counts while it lives).
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = live();
    PEAK.with(|p| p.set(start));
    let r = f();
    let peak = PEAK.with(Cell::get) - start;
    (r, peak.max(0) as usize)
}

// ---- the bounds ----

const LIMIT: usize = 256 * 1024;
/// The size of each read in the large cases.
const CHUNK: usize = 64 * 1024;
/// What reading may hold beyond the stanza limit and the read in hand:
/// the stream's own state, the parser's scratch, an error being written.
const SLACK: usize = 32 * 1024;

/// The peak any case may reach while it is read: the element being read
/// (at most the limit) with one read copied beside it.
fn read_bound() -> usize {
    LIMIT + CHUNK + SLACK
}

// ---- driving a stream ----

struct Peer {
    stream: Stream,
    now: Instant,
    sent: String,
    events: Vec<Event>,
}

impl Peer {
    fn online() -> Self {
        assert_eq!(Limits::default().max_stanza_bytes, LIMIT);
        Self::online_with(plain_config())
    }

    /// [`Peer::online`] with its own configuration.
    fn online_with(config: ClientConfig) -> Self {
        let now = common::epoch();
        let (stream, _) = online_stream(config, now);
        assert_eq!(stream.state(), State::Online);
        Self::with(stream, now)
    }

    /// Checks that `result`, the outcome of a read, is the tree budget's
    /// refusal, and that it was sent as policy-violation.
    fn refused_by_tree_budget(&mut self, result: Result<(), Error>, budget: usize) {
        assert_eq!(
            result,
            Err(Error::Xml(XmlError::LimitExceeded {
                kind: LimitKind::TreeBytes,
                limit: budget,
            }))
        );
        self.drain();
        assert_eq!(
            self.stream_error(),
            Some(StreamErrorCondition::PolicyViolation)
        );
    }

    /// A stream that has sent its header and read the server's, waiting
    /// for the features (`features: None`) or in SASL after PLAIN features.
    fn negotiating(features: bool) -> Self {
        let now = common::epoch();
        let mut stream = Stream::client(plain_config());
        stream.start(now).unwrap();
        let mut p = Self::with(stream, now);
        p.feed(SERVER_HEADER.as_bytes());
        if features {
            p.feed(b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
        }
        assert_eq!(p.stream.state(), State::Negotiating);
        p.take();
        p
    }

    fn with(stream: Stream, now: Instant) -> Self {
        let mut p = Self {
            stream,
            now,
            sent: String::new(),
            events: Vec::new(),
        };
        p.drain();
        p
    }

    fn drain(&mut self) {
        while let Some(b) = self.stream.poll_transmit() {
            self.sent.push_str(&String::from_utf8_lossy(&b));
        }
        while let Some(e) = self.stream.poll_event() {
            self.events.push(e);
        }
    }

    /// Feeds one read; drains. Returns whether the stream still reads.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let ok = self.stream.handle_input(bytes, self.now).is_ok();
        self.drain();
        ok
    }

    /// Feeds `reads` until the stream fails; returns how many bytes it took.
    fn feed_until_error<'a>(&mut self, reads: impl IntoIterator<Item = &'a [u8]>) -> usize {
        let mut fed = 0;
        for read in reads {
            fed += read.len();
            if !self.feed(read) {
                return fed;
            }
        }
        panic!("the stream never failed, after {fed} bytes");
    }

    /// What was sent and reported since the last call.
    fn take(&mut self) -> (String, Vec<Event>) {
        self.drain();
        (
            std::mem::take(&mut self.sent),
            std::mem::take(&mut self.events),
        )
    }

    /// The stream error the stream failed with: what `error()` says, and
    /// checked against what it wrote.
    fn stream_error(&mut self) -> Option<StreamErrorCondition> {
        let condition = self.stream.error()?.condition()?;
        let written = format!(
            "<stream:error><{} xmlns='urn:ietf:params:xml:ns:xmpp-streams'",
            condition.as_str()
        );
        assert!(
            self.sent.contains(&written),
            "{condition:?} not in {:?}",
            self.sent
        );
        assert!(self.sent.ends_with("</stream:stream>"), "{:?}", self.sent);
        Some(condition)
    }

    fn delivered_stanzas(&self) -> usize {
        self.events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Message(_) | Event::Presence(_) | Event::IqRequest(_)
                )
            })
            .count()
    }
}

/// Runs `case` against a fresh online stream; returns the stream error it
/// ended with, after checking that the peak heap while reading stayed
/// within `bound` and what the failed stream still holds is small.
fn online_case(
    bound: usize,
    delivered: usize,
    case: impl FnOnce(&mut Peer),
) -> Option<StreamErrorCondition> {
    let base = live();
    let mut p = Peer::online();
    let held = live() - base;
    let ((), peak) = peak_of(|| case(&mut p));
    assert!(peak <= bound, "peak {peak} B over {bound} B");
    let condition = p.stream_error();
    assert_eq!(p.delivered_stanzas(), delivered, "{:?}", p.events);
    p.take();
    let after = live() - base;
    // A failed stream gives back what it read: its framer keeps nothing.
    assert!(
        after <= held + 8 * 1024,
        "held {held} B online, {after} B after the case"
    );
    condition
}

fn message(body: &str) -> String {
    format!(
        "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='m1'><body>{body}</body></message>"
    )
}

// ---- the catalogue ----

/// RFC 6120 §11.1: no DTD, no entity declarations (so no billion laughs,
/// no external entities), `restricted-xml`, refused at `<!D` before any
/// of it is read further. Before the header, between stanzas and inside one.
#[test]
fn dtds_and_entity_declarations_are_restricted_xml() {
    let _serial = serial();
    let laughs = {
        let mut d = String::from("<!DOCTYPE lolz [<!ENTITY lol 'lol'>");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", i - 1)
            };
            d.push_str(&format!(
                "<!ENTITY lol{i} '{}'>",
                format!("&{prev};").repeat(10)
            ));
        }
        d.push_str("]>");
        d
    };
    let tricks = [
        "<!DOCTYPE stream>".to_owned(),
        laughs.clone(),
        "<!DOCTYPE x [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>".to_owned(),
        "<!DOCTYPE x SYSTEM 'http://evil.example/x.dtd'>".to_owned(),
        "<!ENTITY e 'x'>".to_owned(),
    ];
    for trick in &tricks {
        for cut in [trick.len(), 3, 1] {
            // Online, between stanzas.
            let c = online_case(SLACK, 0, |p| {
                p.feed_until_error(trick.as_bytes().chunks(cut));
            });
            assert_eq!(c, Some(StreamErrorCondition::RestrictedXml), "{trick}");
            // Inside a stanza.
            let c = online_case(SLACK, 0, |p| {
                let text = format!("<message><body>{trick}</body></message>");
                p.feed_until_error(text.as_bytes().chunks(cut));
            });
            assert!(
                matches!(
                    c,
                    Some(StreamErrorCondition::RestrictedXml | StreamErrorCondition::NotWellFormed)
                ),
                "{trick}: {c:?}"
            );
        }
        // Before the stream header: the client sent its own, the server
        // answers with a DTD first.
        let now = common::epoch();
        let mut stream = Stream::client(plain_config());
        stream.start(now).unwrap();
        let mut p = Peer::with(stream, now);
        let text = format!("<?xml version='1.0'?>{trick}{}", &SERVER_HEADER[21..]);
        p.feed_until_error([text.as_bytes()]);
        assert_eq!(
            p.stream_error(),
            Some(StreamErrorCondition::RestrictedXml),
            "{trick}"
        );
    }
}

/// Only the five predefined entities exist without a DTD: a reference to
/// any other (`&foo;`, or one a DTD would have declared), in text or in an
/// attribute value, is one of the entity references RFC 6120 §11.1
/// forbids (`restricted-xml`); a character reference to what is no XML
/// character (XML 1.0 §2.2, §4.1: NUL, a surrogate, past U+10FFFF) is not
/// well-formed. The stanza is never delivered.
#[test]
fn undefined_entities_and_bad_character_references_are_refused() {
    let _serial = serial();
    for (stanza, want) in [
        (message("&foo;"), StreamErrorCondition::RestrictedXml),
        (message("&lol9;"), StreamErrorCondition::RestrictedXml),
        (message("&xxe;"), StreamErrorCondition::RestrictedXml),
        (message("&amp;&foo;"), StreamErrorCondition::RestrictedXml),
        (
            "<message to='&foo;'><body>x</body></message>".to_owned(),
            StreamErrorCondition::RestrictedXml,
        ),
        (message("&#0;"), StreamErrorCondition::NotWellFormed),
        (message("&#xD800;"), StreamErrorCondition::NotWellFormed),
        (message("&#x110000;"), StreamErrorCondition::NotWellFormed),
        (message("&#x1;"), StreamErrorCondition::NotWellFormed),
    ] {
        for cut in [stanza.len(), 1] {
            let c = online_case(SLACK, 0, |p| {
                p.feed_until_error(stanza.as_bytes().chunks(cut));
            });
            assert_eq!(c, Some(want), "{stanza}");
        }
    }
}

/// RFC 6120 §11.1: no comments, no processing instructions (and no XML
/// declaration after the stream's start): `restricted-xml`.
#[test]
fn comments_and_processing_instructions_are_restricted_xml() {
    let _serial = serial();
    for markup in [
        "<!-- x -->",
        "<?pi data?>",
        "<?xml version='1.0'?>",
        "<?xml-stylesheet href='x'?>",
    ] {
        for text in [markup.to_owned(), message(markup)] {
            for cut in [text.len(), 1] {
                let c = online_case(SLACK, 0, |p| {
                    p.feed_until_error(text.as_bytes().chunks(cut));
                });
                assert_eq!(c, Some(StreamErrorCondition::RestrictedXml), "{text}");
            }
        }
    }
    // During negotiation too, inside the features.
    let mut p = Peer::negotiating(false);
    p.feed_until_error([&b"<stream:features><!-- x --></stream:features>"[..]]);
    assert_eq!(p.stream_error(), Some(StreamErrorCondition::RestrictedXml));
}

/// A 50 MB attribute value, read 64 KiB at a time: `policy-violation` at
/// the stanza limit, having read at most the limit and one read, and held
/// no more than that (never the 50 MB).
#[test]
fn a_fifty_megabyte_attribute_fails_at_the_stanza_limit() {
    let _serial = serial();
    let chunk = vec![b'a'; CHUNK];
    let reads = || {
        std::iter::once(&b"<message to='"[..])
            .chain(std::iter::repeat_n(&chunk[..], 50 * 1024 * 1024 / CHUNK))
    };
    let mut fed = 0;
    let c = online_case(read_bound(), 0, |p| fed = p.feed_until_error(reads()));
    assert_eq!(c, Some(StreamErrorCondition::PolicyViolation));
    assert!(
        fed <= LIMIT + 2 * CHUNK,
        "{fed} bytes read before the error"
    );

    // In the features, during negotiation.
    let mut p = Peer::negotiating(false);
    let (taken, peak) = peak_of(|| p.feed_until_error(reads()));
    assert!(taken <= LIMIT + 2 * CHUNK);
    assert!(peak <= read_bound(), "{peak}");
    assert_eq!(
        p.stream_error(),
        Some(StreamErrorCondition::PolicyViolation)
    );
}

/// 100,000 nested elements: `policy-violation` at the depth limit (32
/// levels), on the `>` of the start tag that passes it.
#[test]
fn a_hundred_thousand_nested_elements_fail_at_the_depth_limit() {
    let _serial = serial();
    let text = format!("<message>{}", "<a>".repeat(100_000));
    for cut in [CHUNK, 7, 1] {
        let mut fed = 0;
        let c = online_case(read_bound(), 0, |p| {
            fed = p.feed_until_error(text.as_bytes().chunks(cut));
        });
        assert_eq!(c, Some(StreamErrorCondition::PolicyViolation));
        if cut < 100 {
            assert!(fed <= 9 + 3 * 32 + cut, "{fed}");
        }
    }
}

/// A stanza that never closes: what arrives is held while it is within the
/// stanza limit (nothing is reported), and the byte past the limit fails
/// the stream with `policy-violation`; at no point is more held than the
/// limit and one read.
#[test]
fn a_stanza_that_never_closes_is_bounded_by_the_stanza_limit() {
    let _serial = serial();
    let filler = vec![b'z'; 1024];
    let reads =
        std::iter::once(&b"<message><body>"[..]).chain(std::iter::repeat_n(&filler[..], 4096));
    let mut fed = 0;
    let c = online_case(LIMIT + 4 * 1024 + SLACK, 0, |p| {
        fed = p.feed_until_error(reads);
        assert!(p.events.iter().all(|e| matches!(e, Event::Closed { .. })));
    });
    assert_eq!(c, Some(StreamErrorCondition::PolicyViolation));
    assert!(fed > LIMIT && fed <= LIMIT + 1024 + 15, "{fed}");

    // Open and silent: nothing is reported, and the end of the connection
    // is an error (the peer did not close the stream).
    let mut p = Peer::online();
    assert!(p.feed(b"<message><body>never"));
    assert!(p.take().1.is_empty());
    p.stream.handle_eof(p.now);
    p.drain();
    assert_eq!(p.stream.error(), Some(&Error::UnexpectedEof));
}

/// 10,000 attributes on one element, or 10,000 namespace declarations:
/// `policy-violation` at the attribute limit (64, declarations included).
#[test]
fn ten_thousand_attributes_or_namespace_declarations_fail_at_the_limit() {
    let _serial = serial();
    let attrs: String = (0..10_000).map(|i| format!(" a{i}='{i}'")).collect();
    let decls: String = (0..10_000)
        .map(|i| format!(" xmlns:p{i}='urn:x:{i}'"))
        .collect();
    let mixed: String = (0..10_000)
        .map(|i| format!(" xmlns:p{i}='urn:x:{i}' p{i}:a='{i}'"))
        .collect();
    for attributes in [attrs, decls, mixed] {
        let text = format!("<message{attributes}/>");
        for cut in [text.len(), CHUNK, 1] {
            let mut fed = 0;
            // One read is copied whole before it is scanned (see
            // `docs/performance.md`): the bound grows with the read.
            let bound = read_bound() + cut;
            let c = online_case(bound, 0, |p| {
                fed = p.feed_until_error(text.as_bytes().chunks(cut));
            });
            assert_eq!(c, Some(StreamErrorCondition::PolicyViolation));
            if cut == 1 {
                assert!(fed < 65 * 32, "{fed}");
            }
        }
    }
    // Namespace declarations spread over nested elements, each within the
    // limits: read, and the stanza is delivered.
    let mut nested = String::from("<message><body>x</body>");
    for level in 0..30 {
        nested.push_str("<x");
        for i in 0..60 {
            nested.push_str(&format!(" xmlns:p{level}n{i}='urn:{level}:{i}'"));
        }
        nested.push('>');
    }
    nested.push_str(&"</x>".repeat(30));
    nested.push_str("</message>");
    let mut p = Peer::online();
    let (ok, peak) = peak_of(|| p.feed(nested.as_bytes()));
    assert!(ok);
    assert!(
        peak <= 16 * nested.len() + SLACK,
        "{peak} for {} bytes",
        nested.len()
    );
    assert_eq!(p.delivered_stanzas(), 1);
}

/// Bytes that are not UTF-8 (a stray continuation byte, 0xFF, an overlong
/// `/`, an encoded surrogate, a code point past U+10FFFF, a sequence cut
/// short) at every position of a stanza: the stream fails with
/// `unsupported-encoding` (RFC 6120 §11.6, §4.9.3.22) and the stanza is
/// never delivered, whether the bytes come whole or one at a time. Between
/// stanzas too, and during negotiation.
///
/// The one exception: where no character but ASCII markup may stand (right
/// after `=`, say), a sequence whose first byte could still begin a valid
/// character fails on that byte, before the bytes that make it invalid are
/// looked at (so that any chunking gives the same answer), and is
/// `not-well-formed`, as a valid character there is.
#[test]
fn invalid_utf8_at_every_position_is_unsupported_encoding() {
    let _serial = serial();
    let stanza = message("h\u{e9}llo");
    let bad: [&[u8]; 6] = [
        b"\x80",
        b"\xff",
        b"\xc0\xaf",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xe2\x82",
    ];
    for seq in bad {
        for at in 0..=stanza.len() {
            if !stanza.is_char_boundary(at) {
                continue;
            }
            // At the very end, the stanza is complete before the bad bytes.
            let delivered = usize::from(at == stanza.len());
            let mut text = stanza.as_bytes()[..at].to_vec();
            text.extend_from_slice(seq);
            text.extend_from_slice(&stanza.as_bytes()[at..]);
            // A sequence cut short is only known to be one when the next
            // byte comes: let one come, at the end too.
            text.push(b' ');
            // Whether the first byte alone already fails there (as the
            // first byte of a valid character would): then it is the error.
            let mut p = Peer::online();
            let mut upto = stanza.as_bytes()[..at].to_vec();
            upto.push(seq[0]);
            p.feed(&upto);
            let structural = (0xc2..=0xf4).contains(&seq[0])
                && p.stream.error().and_then(Error::condition)
                    == Some(StreamErrorCondition::NotWellFormed);
            for cut in [text.len(), 1] {
                let c = online_case(SLACK, delivered, |p| {
                    p.feed_until_error(text.chunks(cut));
                });
                let want = if structural {
                    StreamErrorCondition::NotWellFormed
                } else {
                    StreamErrorCondition::UnsupportedEncoding
                };
                assert_eq!(
                    c,
                    Some(want),
                    "{seq:x?} at {at}: {}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }
    let mut p = Peer::negotiating(false);
    p.feed_until_error([&b"<stream:features>\xc0\xaf</stream:features>"[..]]);
    assert_eq!(
        p.stream_error(),
        Some(StreamErrorCondition::UnsupportedEncoding)
    );
}

/// A NUL byte (not an XML character, XML 1.0 §2.2) at every position of a
/// stanza: the stream fails, with `not-well-formed` inside markup and
/// `bad-format` (character data where only whitespace may be) between
/// stanzas, and the stanza is never delivered.
#[test]
fn nul_bytes_at_every_position_fail_the_stream() {
    let _serial = serial();
    let stanza = message("hello");
    for at in 0..=stanza.len() {
        let delivered = usize::from(at == stanza.len());
        let mut text = stanza.as_bytes()[..at].to_vec();
        text.push(0);
        text.extend_from_slice(&stanza.as_bytes()[at..]);
        for cut in [text.len(), 1] {
            let c = online_case(SLACK, delivered, |p| {
                p.feed_until_error(text.chunks(cut));
            });
            let between = at == 0 || at == stanza.len();
            let want = if between {
                StreamErrorCondition::BadFormat
            } else {
                StreamErrorCondition::NotWellFormed
            };
            assert_eq!(c, Some(want), "NUL at {at}");
        }
    }
}

/// A client that requires TLS, whose server has offered STARTTLS (the
/// client's `<starttls/>` taken): `<proceed/>` comes next.
fn offered_starttls(now: Instant) -> Peer {
    let mut config: ClientConfig = plain_config();
    config.tls = TlsPolicy::Required;
    let mut stream = Stream::client(config);
    stream.start(now).unwrap();
    let mut p = Peer::with(stream, now);
    p.feed(
        format!(
            "{SERVER_HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"
        )
        .as_bytes(),
    );
    p.take();
    p
}

/// STARTTLS command injection (CVE-2011-0411 class): bytes after
/// `<proceed/>` arrived in plaintext, before the TLS handshake, and are
/// never read: the stream fails with `DataAfterProceed`, writes nothing
/// more (the transport is between plaintext and TLS), and reports nothing
/// the injected bytes say. In the same read as `<proceed/>` or the next.
#[test]
fn plaintext_after_proceed_is_never_read() {
    let _serial = serial();
    let injected = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><message from='mallory@evil.example'><body>hi</body></message>";
    let proceed = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
    for same_read in [true, false] {
        let now = common::epoch();
        let mut p = offered_starttls(now);
        if same_read {
            p.feed(format!("{proceed}{injected}").as_bytes());
        } else {
            assert!(p.feed(proceed.as_bytes()));
            assert_eq!(p.stream.state(), State::AwaitingTls);
            p.feed(injected.as_bytes());
        }
        let (sent, events) = p.take();
        assert_eq!(
            p.stream.error(),
            Some(&Error::DataAfterProceed),
            "same read: {same_read}"
        );
        assert_eq!(sent, "", "nothing is written in plaintext after <proceed/>");
        assert!(
            events
                .iter()
                .all(|e| matches!(e, Event::StartTls | Event::Closed { .. })),
            "{events:?}"
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Authenticated { .. }))
        );
        assert_eq!(p.stream.state(), State::Closed);
        // And TLS cannot be started over the injected stream.
        assert!(p.stream.tls_established(Default::default(), now).is_err());
    }
}

/// RFC 6121 §2.1.6: a roster push from anyone but the server (no `from`,
/// or our bare JID) is refused with `service-unavailable`, not applied,
/// and reported as `RosterPushRejected`; the stream goes on.
#[test]
fn a_roster_push_from_a_stranger_is_refused() {
    let _serial = serial();
    let mut p = Peer::online();
    for from in [
        "mallory@evil.example/x",
        "mallory@evil.example",
        "example.com.evil",
        "juliet@example.com/balcony",
    ] {
        let push = format!(
            "<iq id='push1' from='{from}' type='set'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.example' subscription='both'/></query></iq>"
        );
        let (ok, peak) = peak_of(|| p.feed(push.as_bytes()));
        assert!(ok);
        assert!(peak <= SLACK, "{peak}");
        let (sent, events) = p.take();
        assert!(
            sent.starts_with(&format!(
                "<iq type='error' id='push1' to='{from}'><error type='cancel'><service-unavailable"
            )),
            "{from}: {sent}"
        );
        assert!(
            matches!(
                &events[..],
                [Event::RosterPushRejected {
                    reason: RosterPushRejection::ForeignSender,
                    ..
                }]
            ),
            "{from}: {events:?}"
        );
    }
    assert_eq!(p.stream.state(), State::Online);
}

/// RFC 6120 §8.1.2.1 and §10.1: a result answers a request only from the
/// address it was sent to. One with the right id from anyone else is
/// reported as `Unhandled`, and the request stays open for the genuine one.
#[test]
fn an_iq_result_from_a_spoofed_sender_matches_nothing() {
    let _serial = serial();
    let mut p = Peer::online();
    let id = p.stream.ping(Some("capulet.example"), p.now).unwrap();
    let roster = p.stream.request_roster(None, p.now).unwrap();
    let (sent, _) = p.take();
    assert!(sent.contains(&format!("id='{id}'")));
    for (id, from) in [
        (&id, "mallory@evil.example"),
        (&id, "capulet.example/x"),
        (&id, "example.com"),
        (&roster, "mallory@evil.example"),
        (&roster, "juliet@example.com/other"),
    ] {
        let spoof = format!(
            "<iq type='result' id='{id}' from='{from}'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.example' subscription='both'/></query></iq>"
        );
        assert!(p.feed(spoof.as_bytes()));
        let (_, events) = p.take();
        assert!(
            matches!(&events[..], [Event::Unhandled(e)] if e.attr("from") == Some(from)),
            "{from}: {events:?}"
        );
    }
    assert!(p.feed(format!("<iq type='result' id='{id}' from='capulet.example'/>").as_bytes()));
    assert!(matches!(&p.take().1[..], [Event::Pong { id: i, .. }] if *i == id));
    assert!(
        p.feed(
            format!("<iq type='result' id='{roster}'><query xmlns='jabber:iq:roster'/></iq>")
                .as_bytes()
        )
    );
    assert!(matches!(&p.take().1[..], [Event::Roster { id: i, .. }] if *i == roster));
    let _ = attr_of;
}

/// Very long text (just under the stanza limit) cut into many reads is
/// one stanza with all of it, and reading it holds about the stanza
/// (its bytes, and its tree), whatever the cut; a little more than the
/// limit fails with `policy-violation` having held no more than it.
#[test]
fn very_long_text_across_many_reads_is_bounded() {
    let _serial = serial();
    let body = "0123456789abcdef".repeat((LIMIT - 1024) / 16);
    let stanza = message(&body);
    assert!(stanza.len() < LIMIT);
    for cut in [1000, 4096, 7] {
        let mut p = Peer::online();
        let (ok, peak) = peak_of(|| {
            let mut ok = true;
            for read in stanza.as_bytes().chunks(cut) {
                ok &= p.stream.handle_input(read, p.now).is_ok();
            }
            ok
        });
        assert!(ok);
        // The framer's buffer and the tree (a copy of the stanza).
        assert!(
            peak <= 2 * LIMIT + 2 * stanza.len() + SLACK,
            "{cut}: {peak}"
        );
        let (_, events) = p.take();
        let [Event::Message(m)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(m.body(None).as_deref(), Some(body.as_str()));
    }
    let over = message(&"x".repeat(LIMIT));
    let c = online_case(read_bound(), 0, |p| {
        p.feed_until_error(over.as_bytes().chunks(1000));
    });
    assert_eq!(c, Some(StreamErrorCondition::PolicyViolation));
}

/// Sends a version request to the server; returns its id.
fn ask_the_server_its_version(stream: &mut Stream, now: Instant) -> String {
    stream
        .send_iq(
            xmpp_sansio::stanza::IqType::Get,
            Some("example.com"),
            xmpp_sansio::xml::Element::new("query", "jabber:iq:version"),
            now,
        )
        .unwrap()
}

/// Takes every event, writing after each as the run loop does; each must
/// be the next message of [`a_megabyte_of_messages`], checked as it comes
/// (collecting them would weigh in a peak). Returns how many came.
fn take_numbered_messages(stream: &mut Stream) -> usize {
    let mut delivered = 0;
    loop {
        while stream.poll_transmit().is_some() {}
        let Some(e) = stream.poll_event() else {
            break;
        };
        let Event::Message(m) = e else {
            panic!("{e:?}")
        };
        let expected = format!("message {delivered}, of an ordinary size");
        assert_eq!(m.body(None).as_deref(), Some(expected.as_str()));
        delivered += 1;
    }
    delivered
}

/// About 1 MB of ordinary messages, numbered in their bodies, and how many.
fn a_megabyte_of_messages() -> (String, usize) {
    let mut read = String::new();
    let mut n = 0;
    while read.len() < 1_000_000 {
        read.push_str(&message(&format!("message {n}, of an ordinary size")));
        n += 1;
    }
    (read, n)
}

/// The same megabyte through `handle_input_bytes`: the read is shared, not
/// copied, and given to the framer a window at a time as the events are
/// taken, so the peak is a window's copy and its events, as with
/// `handle_input_some`, with no loop on the caller's side.
#[test]
fn a_megabyte_read_through_handle_input_bytes_is_bounded() {
    let _serial = serial();
    let (read, n) = a_megabyte_of_messages();
    let read = bytes::Bytes::from(read.into_bytes());
    let mut p = Peer::online();
    let (delivered, peak) = peak_of(|| {
        p.stream.handle_input_bytes(read.clone(), p.now).unwrap();
        take_numbered_messages(&mut p.stream)
    });
    assert_eq!(delivered, n);
    assert!(peak <= CHUNK, "peak {peak} B");
}

/// Plaintext after `<proceed/>` is refused through `handle_input_bytes`
/// too, when it lies in a window not yet given to the framer as the
/// `<proceed/>` is read (the read's first window ends with it).
#[test]
fn plaintext_after_proceed_in_a_later_window_is_never_read() {
    let now = common::epoch();
    let mut p = offered_starttls(now);
    let proceed = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
    let mut read = " ".repeat(Stream::INPUT_WINDOW - proceed.len());
    read.push_str(proceed);
    read.push_str("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    let _ = p
        .stream
        .handle_input_bytes(bytes::Bytes::from(read.into_bytes()), now);
    // A caller that starts TLS the moment it sees StartTls, before taking
    // another event: the injected bytes must not become the TLS stream's.
    let mut events = Vec::new();
    while let Some(e) = p.stream.poll_event() {
        if e == Event::StartTls {
            assert!(p.stream.tls_established(Default::default(), now).is_err());
        }
        events.push(e);
    }
    assert_eq!(p.stream.error(), Some(&Error::DataAfterProceed));
    assert_eq!(p.stream.poll_transmit(), None);
    assert!(
        events
            .iter()
            .all(|e| matches!(e, Event::StartTls | Event::Closed { .. })),
        "{events:?}"
    );
}

/// One 1 MB read of ordinary stanzas, taken through `handle_input_some`
/// and drained between calls, holds at most one window's events at once:
/// a constant, not the read (through `handle_input`, which copies the
/// read, the same read peaks at about 1 MB, and at 5.5 MiB when every
/// event was queued before the caller took any).
#[test]
fn a_megabyte_read_through_handle_input_some_is_bounded() {
    let _serial = serial();
    let (read, n) = a_megabyte_of_messages();
    let mut p = Peer::online();
    let ((delivered, calls), peak) = peak_of(|| {
        let (mut delivered, mut calls) = (0, 0);
        let mut rest = read.as_bytes();
        while !rest.is_empty() {
            let taken = p.stream.handle_input_some(rest, p.now).unwrap();
            assert!(taken > 0 && taken <= Stream::INPUT_WINDOW);
            rest = &rest[taken..];
            calls += 1;
            while p.stream.poll_transmit().is_some() {}
            while let Some(e) = p.stream.poll_event() {
                assert!(matches!(e, Event::Message(_)), "{e:?}");
                delivered += 1;
            }
        }
        (delivered, calls)
    });
    assert_eq!(delivered, n);
    assert_eq!(calls, read.len().div_ceil(Stream::INPUT_WINDOW));
    assert!(peak <= CHUNK, "peak {peak} B");
}

/// The same 1 MB read through plain `handle_input`: the read is copied
/// whole (its contract), but its events are made as they are taken, a
/// window's worth at a time, so the peak is the read plus a constant, not
/// five times the read (5.5 MiB when every event was queued at once).
/// Every message arrives, in order, and nothing is read twice.
#[test]
fn a_megabyte_read_through_handle_input_holds_a_window_of_events() {
    let _serial = serial();
    let (read, n) = a_megabyte_of_messages();
    let mut p = Peer::online();
    let (delivered, peak) = peak_of(|| {
        p.stream.handle_input(read.as_bytes(), p.now).unwrap();
        take_numbered_messages(&mut p.stream)
    });
    assert_eq!(delivered, n);
    assert!(
        p.stream.poll_timeout().is_none_or(|due| due > p.now),
        "nothing left to read"
    );
    // The read's copy, one window's events and the slack; without the
    // window the peak is about five times the read.
    assert!(peak <= read.len() + CHUNK + SLACK, "peak {peak} B");
}

/// Input a large read left unread is handled before anything that must
/// see it: `poll_timeout` reports it due at once and `handle_timeout`
/// reads it (a reply in it beats its request's deadline), and the end of
/// file comes after every stanza before it.
#[test]
fn the_rest_of_a_large_read_comes_before_deadlines_and_the_end_of_file() {
    let now = common::epoch();
    let (mut stream, _) = online_stream(plain_config(), now);
    let id = ask_the_server_its_version(&mut stream, now);
    while stream.poll_transmit().is_some() {}
    let mut read = String::new();
    for i in 0..200 {
        read.push_str(&message(&format!("message {i}")));
    }
    read.push_str(&format!("<iq type='result' id='{id}' from='example.com'/>"));
    stream.handle_input(read.as_bytes(), now).unwrap();
    // Unread input is due now.
    assert_eq!(stream.poll_timeout(), Some(now));
    // Long after the request's deadline: the reply read first.
    let later = now + std::time::Duration::from_secs(3600);
    stream.handle_timeout(later);
    let mut events = Vec::new();
    while let Some(e) = stream.poll_event() {
        events.push(e);
    }
    assert_eq!(events.len(), 201, "{:?}", events.last());
    assert!(
        matches!(&events[200], Event::IqResult { id: got, .. } if *got == id),
        "{:?}",
        events[200]
    );
    assert!(!events.iter().any(|e| matches!(e, Event::IqTimeout { .. })));

    // The end of file after a large read: every stanza first.
    let (mut stream, _) = online_stream(plain_config(), now);
    stream.handle_input(read.as_bytes(), now).unwrap();
    stream.handle_eof(now);
    let mut events = Vec::new();
    while let Some(e) = stream.poll_event() {
        events.push(e);
    }
    let messages = events
        .iter()
        .filter(|e| matches!(e, Event::Message(_)))
        .count();
    assert_eq!(messages, 200);
    assert!(
        matches!(events.last(), Some(Event::Closed { .. })),
        "{:?}",
        events.last()
    );
}

/// A caller that writes before taking events but not after still writes
/// the replies that taking them queued (the rest of a large read, read as
/// the events are taken): `poll_timeout` reports them due at once.
#[test]
fn replies_queued_while_events_are_taken_are_due_at_once() {
    let now = common::epoch();
    let (mut stream, _) = online_stream(plain_config(), now);
    let mut read = String::new();
    for i in 0..200 {
        read.push_str(&message(&format!("message {i}")));
    }
    read.push_str(
        "<iq type='get' id='ping1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    stream.handle_input(read.as_bytes(), now).unwrap();
    while stream.poll_transmit().is_some() {}
    while stream.poll_event().is_some() {}
    assert_eq!(stream.poll_timeout(), Some(now));
    let out = stream.poll_transmit().expect("the ping's answer");
    assert!(
        String::from_utf8_lossy(&out).contains("id='ping1'"),
        "{out:?}"
    );
    assert!(stream.poll_timeout().is_none_or(|due| due > now));
}

/// An idle online client stream holds at most 2 KiB of heap, and no more
/// after IQ traffic both ways (requests answered, replies read) than the
/// framer's small buffer: what the IQ bookkeeping grew (about 830 B) is
/// given back once nothing is pending.
#[test]
fn an_idle_online_stream_holds_at_most_two_kib() {
    let _serial = serial();
    let base = live();
    let now = common::epoch();
    let (mut stream, outcome) = online_stream(plain_config(), now);
    drop(outcome);
    let idle = (live() - base) as usize;
    assert!(idle <= 2048, "idle online: {idle} B");
    // Our request, answered; the server's request, answered by us.
    let id = ask_the_server_its_version(&mut stream, now);
    let reply = format!(
        "<iq type='result' id='{id}' from='example.com'/><iq type='get' id='q1' from='example.com'><query xmlns='jabber:iq:version'/></iq>"
    );
    stream.handle_input(reply.as_bytes(), now).unwrap();
    while stream.poll_transmit().is_some() {}
    while let Some(e) = stream.poll_event() {
        if let Event::IqRequest(request) = e {
            stream.reply_iq_result(&request, None, now).unwrap();
        }
    }
    while stream.poll_transmit().is_some() {}
    drop((id, reply));
    let after = (live() - base) as usize;
    // The framer may keep a buffer of up to 512 B it grew for the read.
    assert!(
        after <= idle + 512,
        "idle {idle} B, after IQ traffic {after} B"
    );
}

/// The replies the stream writes itself (a ping's result, a roster push's
/// acknowledgement, `service-unavailable`, `bad-request`) are written
/// without building a tree: reading a request and answering it costs at
/// most a few allocations more than reading a message (a tree reply cost
/// 23 to 88 more).
#[test]
fn automatic_replies_cost_a_few_allocations() {
    let _serial = serial();
    let mut p = Peer::online();
    let mut per_read = |template: &str, expected: &str| {
        let n = 50;
        let reads: Vec<String> = (0..n)
            .map(|i| template.replace("{i}", &i.to_string()))
            .collect();
        p.take();
        let before = ALLOCATIONS.with(Cell::get);
        for read in &reads {
            p.stream.handle_input(read.as_bytes(), p.now).unwrap();
            while p.stream.poll_transmit().is_some() {}
            while p.stream.poll_event().is_some() {}
        }
        let per = (ALLOCATIONS.with(Cell::get) - before) / n;
        // What was written, checked once (outside the count).
        p.stream
            .handle_input(template.replace("{i}", "x").as_bytes(), p.now)
            .unwrap();
        let (sent, _) = p.take();
        assert_eq!(sent, expected.replace("{i}", "x"));
        per
    };
    let message = per_read(
        "<message from='romeo@example.net/orchard' type='chat' id='m{i}'><body>hi</body></message>",
        "",
    );
    let stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    for (request, reply) in [
        (
            "<iq type='get' id='p{i}' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>",
            "<iq type='result' id='p{i}' to='example.com'/>".to_owned(),
        ),
        (
            "<iq type='get' id='v{i}' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>",
            format!(
                "<iq type='error' id='v{{i}}' to='romeo@example.net/orchard'><error type='cancel'><service-unavailable xmlns='{stanzas}'/></error></iq>"
            ),
        ),
        (
            "<iq type='get' id='b{i}' from='romeo@example.net/orchard'/>",
            format!(
                "<iq type='error' id='b{{i}}' to='romeo@example.net/orchard'><error type='modify'><bad-request xmlns='{stanzas}'/><text xmlns='{stanzas}' xml:lang='en'>malformed stanza: a get or set iq must have exactly one payload</text></error></iq>"
            ),
        ),
        (
            "<iq type='set' id='r{i}'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>",
            "<iq type='result' id='r{i}'/>".to_owned(),
        ),
    ] {
        let answered = per_read(request, &reply);
        assert!(
            answered <= message + 8,
            "{request}: {answered} allocations, a message {message}"
        );
    }
}

/// A roster result of `items` items answering request `id` (about 107
/// bytes an item, one group each).
fn roster_result(id: &str, items: usize) -> String {
    let mut r = format!(
        "<iq type='result' id='{id}' to='juliet@example.com/balcony'><query xmlns='jabber:iq:roster' ver='v1'>"
    );
    for i in 0..items {
        r.push_str(&format!(
            "<item jid='contact{i:05}@example.net' name='Contact {i:05}' subscription='both'><group>Friends</group></item>"
        ));
    }
    r.push_str("</query></iq>");
    r
}

/// One large stanza read whole costs a small multiple of its size: a
/// 1000-item roster result (105 KB) peaks at 4.33× its bytes while it is
/// read and turned into a `Roster` (the tree and the typed roster side by
/// side), where it peaked at 8.08× before a roster item's groups stopped
/// being a `BTreeSet` (a 280-byte node each), tree nodes went from 40 to
/// 32 bytes and a tree's spare room was given back.
#[test]
fn a_large_roster_result_peaks_at_under_five_times_its_size() {
    let _serial = serial();
    let mut p = Peer::online();
    let id = p.stream.request_roster(None, p.now).unwrap();
    p.take();
    let result = roster_result(&id, 1000);
    let (ok, peak) = peak_of(|| p.stream.handle_input(result.as_bytes(), p.now).is_ok());
    assert!(ok);
    let (_, events) = p.take();
    let [
        Event::Roster {
            roster: Some(roster),
            ..
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(roster.items.len(), 1000);
    assert!(roster.items[999].groups.contains("Friends"));
    assert!(
        peak <= 9 * result.len() / 2,
        "peak {peak} B for a {} B stanza ({:.2}x)",
        result.len(),
        peak as f64 / result.len() as f64
    );
}

/// The densest stanza a tree can be asked for, just under the default
/// byte limit: `<a/>x` repeated (an element and a character of text, two
/// nodes in five bytes). Its tree would take about 4 MiB, past the default
/// tree budget (`Limits::max_tree_bytes`, 2 MiB): the stream refuses it
/// with policy-violation, having held no more than the stanza limit, the
/// budget and a constant. With the budget raised it is read whole, at a
/// bounded multiple of its size.
#[test]
fn a_stanza_of_tiny_nodes_at_the_limit_is_refused_within_the_tree_budget() {
    let _serial = serial();
    let budget = Limits::default().max_tree_bytes;
    let head = "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='m1'>";
    let tail = "</message>";
    let pieces = (LIMIT - head.len() - tail.len() - 16) / 5;
    let stanza = format!("{head}{}{tail}", "<a/>x".repeat(pieces));
    assert!(stanza.len() < LIMIT);

    let mut p = Peer::online();
    let (result, peak) = peak_of(|| p.stream.handle_input(stanza.as_bytes(), p.now));
    p.refused_by_tree_budget(result, budget);
    assert_eq!(p.delivered_stanzas(), 0);
    assert!(
        peak <= LIMIT + budget + SLACK,
        "peak {peak} B, bound {} B",
        LIMIT + budget + SLACK
    );

    // The same stanza with room for its tree: read whole, at a bounded
    // multiple of its size.
    let mut config = plain_config();
    config.limits.max_tree_bytes = 8 << 20;
    let mut p = Peer::online_with(config);
    let (ok, peak) = peak_of(|| p.stream.handle_input(stanza.as_bytes(), p.now).is_ok());
    assert!(ok);
    let (_, events) = p.take();
    let [Event::Message(m)] = &events[..] else {
        panic!("{events:?}")
    };
    let el = m.clone().into_element();
    assert_eq!(el.children().count(), pieces);
    assert_eq!(el.text().len(), pieces);
    let ratio = peak as f64 / stanza.len() as f64;
    assert!(
        peak <= 18 * stanza.len(),
        "peak {peak} B for a {} B stanza ({ratio:.2}x)",
        stanza.len()
    );
}

/// A roster result whose tree and typed roster together would pass the
/// tree budget: the stream refuses it with policy-violation before it
/// builds the roster, and holds no more than the budget and the stanza.
#[test]
fn a_roster_result_past_the_tree_budget_is_refused() {
    let _serial = serial();
    let mut config = plain_config();
    // The 1000-item roster's tree alone takes about 310 KB, and its
    // typed roster about 150 KB more.
    let budget = 400 * 1024;
    config.limits.max_tree_bytes = budget;
    let mut p = Peer::online_with(config);
    let id = p.stream.request_roster(None, p.now).unwrap();
    p.take();
    let result = roster_result(&id, 1000);
    let (failed, peak) = peak_of(|| p.stream.handle_input(result.as_bytes(), p.now));
    p.refused_by_tree_budget(failed, budget);
    assert!(
        !p.events.iter().any(|e| matches!(e, Event::Roster { .. })),
        "{:?}",
        p.events
    );
    assert!(
        peak <= result.len() + budget + SLACK,
        "peak {peak} B, bound {} B",
        result.len() + budget + SLACK
    );

    // With the default limits, a roster just under the default byte
    // limit is read: the budget holds any ordinary stanza the byte limit
    // lets through.
    let mut p = Peer::online();
    let id = p.stream.request_roster(None, p.now).unwrap();
    p.take();
    let near_limit = roster_result(&id, 2400);
    assert!(near_limit.len() < LIMIT && near_limit.len() > LIMIT - 16 * 1024);
    p.stream.handle_input(near_limit.as_bytes(), p.now).unwrap();
    let (_, events) = p.take();
    assert!(
        matches!(&events[..], [Event::Roster { roster: Some(r), .. }] if r.items.len() == 2400),
        "{events:?}"
    );

    // 300 items fit.
    let mut config = plain_config();
    config.limits.max_tree_bytes = budget;
    let mut p = Peer::online_with(config);
    let id = p.stream.request_roster(None, p.now).unwrap();
    p.take();
    p.stream
        .handle_input(roster_result(&id, 300).as_bytes(), p.now)
        .unwrap();
    let (_, events) = p.take();
    assert!(
        matches!(&events[..], [Event::Roster { roster: Some(r), .. }] if r.items.len() == 300),
        "{events:?}"
    );
}
