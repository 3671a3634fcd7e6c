//! Memory per connection, measured from outside with a counting allocator.
//!
//! ```sh
//! cargo bench --bench memory          # 10,000 online streams, 1 MB reads
//! ```
//!
//! Prints, in one run:
//! - `size_of::<Stream>()`;
//! - the heap each idle online client `Stream` holds: N streams brought
//!   online through a scripted server transcript in memory (PLAIN, bind),
//!   every output drained, live heap ÷ N;
//! - what one `Stream` holds once drained and idle again after a burst:
//!   one ~106 KB roster result, and one 1 MB read of many stanzas;
//! - the peak heap during one `handle_input` of a 1 MB read (and of the
//!   roster), above what the stream held before it, and during the same
//!   read through `handle_input_some` (a window at a time, drained
//!   between calls);
//! - the peak during one read of one stanza as a multiple of the stanza's
//!   bytes (its amplification): the roster result, and a message at the
//!   default stanza limit made of tiny nodes (`<a/>x` repeated, two nodes
//!   in five bytes: the worst case for a tree), which the default tree
//!   budget (`Limits::max_tree_bytes`) refuses, against the target's
//!   multiple at the limit ((limit + tree budget + 64 KiB) ÷ limit); and
//!   the same stanza read whole under an 8 MiB budget;
//! - allocations per read of a request the stream answers itself (a
//!   ping, a request for an unknown namespace, a malformed request, a
//!   roster push), beside a message that needs no answer;
//!
//! each against its target: idle online at most 2 KiB; after any traffic,
//! drained and idle, at most twice the idle figure; the peak during one
//! read bounded by the stanza limits (bytes, `max_stanza_bytes`, and the
//! tree's heap, `max_tree_bytes`) plus a constant (64 KiB here), not by
//! the read's size (`handle_input`'s own copy of a read does grow with it:
//! `handle_input_some` and `handle_input_bytes` do not copy it whole). A figure that misses its target is printed as such;
//! the run does not fail on it.
//!
//! Without `--bench` (as under `cargo test --all-targets`) it runs a smoke
//! pass: 100 streams and 64 KiB reads, the same code.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock; the library never does

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use bytes::Bytes;

use xmpp_sansio::{ClientConfig, Event, State, Stream, TlsPolicy};

/// The system allocator, counting live bytes, their peak and allocations.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters move.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Relaxed);
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Relaxed);
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Relaxed);
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Starts a peak measurement: the peak so far is forgotten.
fn reset_peak() -> usize {
    let now = live();
    PEAK.store(now, Relaxed);
    now
}

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='example.com' \
    id='s1' xml:lang='en'>";
const ME: &str = "juliet@example.com/balcony";

fn config() -> ClientConfig {
    let mut c = ClientConfig::new("juliet@example.com", "r0m30", [42; 32]);
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c.resource = Some("balcony".into());
    c
}

/// Writes out and handles everything queued, as the drain rule says.
/// Returns the bytes written (as text) and how many events there were.
fn drain(s: &mut Stream) -> (String, usize) {
    let mut sent = String::new();
    let mut events = 0;
    loop {
        while let Some(b) = s.poll_transmit() {
            sent.push_str(&String::from_utf8_lossy(&b));
        }
        let Some(e) = s.poll_event() else {
            break;
        };
        if let Event::Closed { error, .. } = e {
            panic!("stream closed: {error:?}");
        }
        events += 1;
    }
    (sent, events)
}

fn attr<'a>(text: &'a str, before: &str, name: &str) -> &'a str {
    let at = text.rfind(before).expect("marker in output");
    let text = &text[at..];
    let key = format!(" {name}='");
    let start = text.find(&key).expect("attribute") + key.len();
    let end = text[start..].find('\'').expect("quote") + start;
    &text[start..end]
}

/// A client stream, online through a scripted server (PLAIN, then bind),
/// with every output drained.
fn online(now: Instant) -> Stream {
    online_with(now, config())
}

/// [`online`] with its own configuration.
fn online_with(now: Instant, config: ClientConfig) -> Stream {
    let mut s = Stream::client(config);
    s.start(now).expect("start");
    drain(&mut s);
    let pre_bind = format!(
        "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
         <mechanism>PLAIN</mechanism></mechanisms></stream:features>\
         <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\
         {HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
    );
    s.handle_input(pre_bind.as_bytes(), now).expect("login");
    let (sent, _) = drain(&mut s);
    let id = attr(&sent, "<iq ", "id").to_owned();
    let reply = format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <jid>{ME}</jid></bind></iq>"
    );
    s.handle_input(reply.as_bytes(), now).expect("bind");
    drain(&mut s);
    assert_eq!(s.state(), State::Online);
    s
}

/// A roster result of `items` items answering request `id` (~106 bytes an item).
fn roster_result(id: &str, items: usize) -> String {
    let mut r =
        format!("<iq type='result' id='{id}' to='{ME}'><query xmlns='jabber:iq:roster' ver='v1'>");
    for i in 0..items {
        r.push_str(&format!(
            "<item jid='contact{i:05}@example.net' name='Contact {i:05}' subscription='both'><group>Friends</group></item>"
        ));
    }
    r.push_str("</query></iq>");
    r
}

/// A chat message just under `limit` bytes whose body is tiny nodes: an
/// empty element and one character of text, `<a/>x`, repeated (the most
/// nodes per byte XML allows).
fn tiny_nodes(limit: usize) -> String {
    let head =
        format!("<message from='romeo@example.net/orchard' to='{ME}' type='chat' id='t1'><body>");
    let tail = "</body></message>";
    let pieces = (limit - head.len() - tail.len() - 16) / 5;
    format!("{head}{}{tail}", "<a/>x".repeat(pieces))
}

/// About `bytes` of chat messages and presences from many senders.
fn many_stanzas(bytes: usize) -> String {
    let mut r = String::with_capacity(bytes + 512);
    let mut i = 0;
    while r.len() < bytes {
        if i % 4 == 3 {
            r.push_str(&format!(
                "<presence from='friend{}@example.net/phone' to='{ME}'><show>away</show><status>Out for lunch</status></presence>",
                i % 97
            ));
        } else {
            r.push_str(&format!(
                "<message from='friend{}@example.net/phone' to='{ME}' type='chat' id='m{i}'><body>Message number {i}, with some text to make it an ordinary size.</body></message>",
                i % 97
            ));
        }
        i += 1;
    }
    r
}

struct Report {
    rows: Vec<(String, String, String)>,
}

impl Report {
    fn row(&mut self, what: &str, value: String, target: String) {
        println!("{what:<58} {value:>14}   {target}");
        self.rows.push((what.to_owned(), value, target));
    }
}

fn kib(n: usize) -> String {
    if n < 10 * 1024 {
        format!("{n} B")
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

/// Heap one stream holds after `burst` of server bytes in one read, drained
/// and idle again, and the peak during that read (both above what the
/// stream held before the read). `request` makes the stream ask for
/// something first (returns the request's id), which `burst` answers.
fn after_burst(
    now: Instant,
    how: Reading,
    request: impl FnOnce(&mut Stream) -> Option<String>,
    burst: impl FnOnce(Option<&str>) -> String,
) -> Burst {
    after_burst_with(config, now, how, request, burst)
}

/// [`after_burst`] on a stream of its own configuration, made after the
/// count starts (the configuration's heap is the stream's).
fn after_burst_with(
    config: impl FnOnce() -> ClientConfig,
    now: Instant,
    how: Reading,
    request: impl FnOnce(&mut Stream) -> Option<String>,
    burst: impl FnOnce(Option<&str>) -> String,
) -> Burst {
    let base = live();
    let mut s = online_with(now, config());
    let id = request(&mut s);
    drain(&mut s);
    // What the stream holds before the read (the read's own buffer is
    // the caller's, not counted).
    let before = live();
    let input = Bytes::from(burst(id.as_deref()).into_bytes());
    let held_before = before - base;
    let start = reset_peak();
    let allocs = ALLOCS.load(Relaxed);
    let mut events = 0;
    let mut refused = None;
    match how {
        Reading::Windows => {
            // `handle_input_some`: a window at a time, draining between.
            let mut rest = &input[..];
            while !rest.is_empty() {
                let taken = s.handle_input_some(rest, now).expect("burst read");
                rest = &rest[taken..];
                events += drain(&mut s).1;
            }
        }
        Reading::Whole => {
            // `handle_input`: the whole read at once (copied), then its
            // events taken (made a window's worth at a time as they are).
            // A read the limits refuse is measured too (`refused`).
            refused = s.handle_input(&input, now).err().map(|e| e.to_string());
            events += drain(&mut s).1;
        }
        Reading::Owned => {
            // `handle_input_bytes`: the read shared, given to the framer
            // a window at a time as the events are taken.
            s.handle_input_bytes(input.clone(), now)
                .expect("burst read");
            events += drain(&mut s).1;
        }
    }
    let peak = PEAK.load(Relaxed) - start;
    let allocs = ALLOCS.load(Relaxed) - allocs;
    let len = input.len();
    drop(input);
    let held_after = live() - base;
    drop(s);
    Burst {
        before: held_before,
        after: held_after,
        peak,
        len,
        events,
        allocs,
        refused,
    }
}

/// How [`after_burst`] gives the stream its read.
#[derive(Clone, Copy)]
enum Reading {
    /// `handle_input` with the whole read.
    Whole,
    /// `handle_input_some`, draining between calls.
    Windows,
    /// `handle_input_bytes` with the whole read.
    Owned,
}

/// What [`after_burst`] measured.
struct Burst {
    before: usize,
    after: usize,
    peak: usize,
    len: usize,
    events: usize,
    allocs: usize,
    /// The stream's error, if the read failed it.
    refused: Option<String>,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n, big) = if full {
        (10_000, 1_000_000)
    } else {
        println!("smoke pass (no --bench): 100 streams, 64 KiB reads");
        (100, 64 * 1024)
    };
    let roster_items = if full { 1000 } else { 60 };
    let now = Instant::now();
    let limit = config().limits.max_stanza_bytes;
    let mut report = Report { rows: Vec::new() };

    report.row(
        "size_of::<Stream>()",
        format!("{} B", std::mem::size_of::<Stream>()),
        String::new(),
    );

    // Idle online streams: N of them, live heap ÷ N.
    let mut streams: Vec<Stream> = Vec::with_capacity(n);
    let base = live();
    let allocs = ALLOCS.load(Relaxed);
    for _ in 0..n {
        streams.push(online(now));
    }
    let idle = (live() - base) / n;
    let login_allocs = (ALLOCS.load(Relaxed) - allocs) / n;
    drop(streams);
    report.row(
        &format!("heap per idle online Stream (N = {n})"),
        format!("{idle} B"),
        format!("target <= 2048 B: {}", verdict(idle <= 2048)),
    );
    report.row(
        "  (allocations to log in and bind, per stream)",
        login_allocs.to_string(),
        String::new(),
    );

    let roster = after_burst(
        now,
        Reading::Whole,
        |s| Some(s.request_roster(None, now).expect("roster request")),
        |id| roster_result(id.unwrap_or_default(), roster_items),
    );
    let stanzas = after_burst(now, Reading::Whole, |_| None, |_| many_stanzas(big));
    let windowed = after_burst(now, Reading::Windows, |_| None, |_| many_stanzas(big));
    let owned = after_burst(now, Reading::Owned, |_| None, |_| many_stanzas(big));
    let tiny = after_burst(now, Reading::Whole, |_| None, |_| tiny_nodes(limit));
    let budget = config().limits.max_tree_bytes;
    let roomy = || {
        let mut c = config();
        c.limits.max_tree_bytes = 8 << 20;
        c
    };
    let tiny_roomy = after_burst_with(roomy, now, Reading::Whole, |_| None, |_| tiny_nodes(limit));
    report.row(
        "tree budget per stanza (Limits::max_tree_bytes)",
        kib(budget),
        format!("beside the stanza limit, {}", kib(limit)),
    );
    for (what, b) in [
        ("tiny nodes", &tiny),
        ("tiny nodes, budget 8 MiB", &tiny_roomy),
    ] {
        report.row(
            &format!("  a stanza of {what}: refused?"),
            b.refused.as_deref().unwrap_or("no, read").to_owned(),
            String::new(),
        );
    }
    let bound = limit + budget + 64 * 1024;
    // `handle_input` copies a borrowed read whole: its peak grows with
    // the read, whatever the limits.
    let grows = ", but grows with the read (its copy)";
    for (what, b, note) in [
        ("a roster result", &roster, ""),
        ("stanzas, handle_input", &stanzas, grows),
        ("stanzas, in windows", &windowed, ""),
        ("stanzas, as Bytes", &owned, ""),
        ("a stanza of tiny nodes", &tiny, ""),
    ] {
        report.row(
            &format!("held after one read of {} ({what}), drained", kib(b.len)),
            format!("{} B", b.after),
            format!(
                "target <= 2 x idle = {} B: {} (held before the read: {} B)",
                2 * idle,
                verdict(b.after <= 2 * idle),
                b.before
            ),
        );
        report.row(
            "  peak during that read, above what was held before",
            kib(b.peak),
            format!(
                "target <= stanza limit + tree budget + 64 KiB = {}: {}{} ({} events, {} allocations)",
                kib(bound),
                verdict(b.peak <= bound),
                note,
                b.events,
                b.allocs
            ),
        );
    }

    // One stanza's peak as a multiple of its bytes, against the target's
    // multiple for a stanza at the limit.
    let target = bound as f64 / limit as f64;
    for (what, b) in [
        ("the roster result", &roster),
        ("tiny nodes at the stanza limit, refused", &tiny),
    ] {
        let times = b.peak as f64 / b.len as f64;
        report.row(
            &format!("amplification, {what} (peak / stanza bytes)"),
            format!("{times:.2}x"),
            format!(
                "target at the limit <= (limit + tree budget + 64 KiB) / limit = {target:.2}x: {} (a stanza of {})",
                verdict(times <= target),
                kib(b.len)
            ),
        );
    }
    let times = tiny_roomy.peak as f64 / tiny_roomy.len as f64;
    report.row(
        "amplification, tiny nodes with an 8 MiB budget, read whole",
        format!("{times:.2}x"),
        "what a tree of the densest stanza costs (no target)".to_owned(),
    );

    // Allocations per request the stream answers itself (read, answered,
    // drained), beside an ordinary message read the same way.
    let mut s = online(now);
    let cases = [
        (
            "a message (no answer)",
            "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='m{i}'><body>hi</body></message>",
        ),
        (
            "a ping, answered",
            "<iq type='get' id='p{i}' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>",
        ),
        (
            "an unknown request, service-unavailable",
            "<iq type='get' id='v{i}' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>",
        ),
        (
            "a malformed request, bad-request",
            "<iq type='get' id='b{i}' from='romeo@example.net/orchard'/>",
        ),
        (
            "a roster push, acknowledged",
            "<iq type='set' id='r{i}'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>",
        ),
    ];
    for (what, template) in cases {
        let reads: Vec<String> = (0..1000)
            .map(|i| template.replace("{i}", &i.to_string()))
            .collect();
        let allocs = ALLOCS.load(Relaxed);
        for read in &reads {
            s.handle_input(read.as_bytes(), now).expect("request");
            while s.poll_transmit().is_some() {}
            while s.poll_event().is_some() {}
        }
        let per = (ALLOCS.load(Relaxed) - allocs) as f64 / reads.len() as f64;
        report.row(
            &format!("allocations per read of {what}"),
            format!("{per:.1}"),
            String::new(),
        );
    }
    assert_eq!(report.rows.len(), 24);
}
