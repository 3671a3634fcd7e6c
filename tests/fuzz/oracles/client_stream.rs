//! The client stream's fuzz oracles, shared by `fuzz/fuzz_targets/client_stream.rs`
//! and by `tests/fuzz_corpus.rs` (the committed corpus under `cargo test`).
//! A client `Stream` on arbitrary server bytes, after a scripted prefix
//! chosen by the first byte (fresh stream, after the header, after SASL,
//! online, online with a roster request pending, closing). In the online
//! stages, `@@` in the input stands for the id of the client's pending
//! request, so replies to it are one token away. Oracles: no panic; the
//! same bytes sent and the same events whether the input is split at NUL
//! bytes or joined.

// The oracle is a caller: it reads the clock, as callers do.
#![allow(clippy::disallowed_methods)]

use std::sync::OnceLock;
use std::time::Instant;

use xmpp_sansio::{ClientConfig, Event, Stream, TlsPolicy};

const HEADER: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='example.com' id='f'>";

fn prefix(stage: u8) -> String {
    let auth = format!(
        "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
    );
    let bound = format!(
        "{auth}<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>{HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><ver xmlns='urn:xmpp:features:rosterver'/></stream:features>"
    );
    match stage % STAGES {
        0 => String::new(),
        1 => HEADER.to_owned(),
        2 => bound,
        // The seeded client's first IQ id is fixed: answer its bind.
        _ => format!(
            "{bound}<iq type='result' id='{}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>j@example.com/r</jid></bind></iq>",
            bind_id()
        ),
    }
}

/// Fresh, after the header, after SASL, online, online with a roster
/// request pending, online after our close.
const STAGES: u8 = 6;

fn config() -> ClientConfig {
    let mut c = ClientConfig::new("j@example.com", "pw", [3; 32]);
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c
}

/// The id the seeded client gives its bind request, learnt once.
fn bind_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let now = Instant::now();
        let mut s = Stream::client(config());
        let _ = s.start(now);
        let _ = s.handle_input(prefix(2).as_bytes(), now);
        let mut sent = String::new();
        while let Some(b) = s.poll_transmit() {
            sent.push_str(&String::from_utf8_lossy(&b));
        }
        sent.split("<iq type='set' id='")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap_or_default()
            .to_owned()
    })
}

/// A stream at `stage`, and the id of its pending request (if any).
fn staged(stage: u8, now: Instant) -> (Stream, String) {
    let mut s = Stream::client(config());
    let _ = s.start(now);
    let _ = s.handle_input(prefix(stage).as_bytes(), now);
    let pending = match stage % STAGES {
        4 => s.request_roster(Some(""), now).unwrap_or_default(),
        5 => {
            let id = s.request_roster(None, now).unwrap_or_default();
            s.close(now);
            id
        }
        _ => String::new(),
    };
    while s.poll_transmit().is_some() {}
    while s.poll_event().is_some() {}
    (s, pending)
}

fn run<'a>(stage: u8, chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<u8>, Vec<Event>) {
    let now = Instant::now();
    let (mut s, _) = staged(stage, now);
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    for chunk in chunks {
        let _ = s.handle_input(chunk, now);
        while let Some(b) = s.poll_transmit() {
            sent.extend_from_slice(&b);
        }
        while let Some(e) = s.poll_event() {
            // STARTTLS: hand over at once, as a caller would.
            if matches!(e, Event::StartTls) {
                let _ = s.tls_established(Default::default(), now);
            }
            events.push(e);
        }
    }
    s.handle_timeout(now + std::time::Duration::from_secs(3600));
    while let Some(b) = s.poll_transmit() {
        sent.extend_from_slice(&b);
    }
    events.extend(std::iter::from_fn(|| s.poll_event()));
    (sent, events)
}

/// The id of the request pending at `stage` (fixed by the seed), learnt once.
fn pending_id(stage: u8) -> &'static str {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    let ids = IDS.get_or_init(|| (0..STAGES).map(|st| staged(st, Instant::now()).1).collect());
    ids.get(usize::from(stage % STAGES))
        .map_or("", String::as_str)
}

/// `data` with every `@@` replaced by `id`.
fn substitute(data: &[u8], id: &[u8]) -> Vec<u8> {
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

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    let Some((&stage, rest)) = data.split_first() else {
        return;
    };
    let rest = substitute(rest, pending_id(stage).as_bytes());
    let chunked = run(stage, rest.split(|&b| b == 0));
    let joined: Vec<u8> = rest.iter().copied().filter(|&b| b != 0).collect();
    let whole = run(stage, std::iter::once(&joined[..]));
    // STARTTLS is the one place where chunking legitimately matters: bytes
    // after <proceed/> in the same read are refused by design.
    if !whole.1.iter().any(|e| matches!(e, Event::StartTls)) {
        assert_eq!(chunked, whole, "the outcome depends on chunking");
    }
}
