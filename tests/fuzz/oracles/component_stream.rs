//! The component roles' fuzz oracles (XEP-0114, `jabber:component:accept`),
//! shared by `fuzz/fuzz_targets/component_stream.rs` and by
//! `tests/fuzz_corpus.rs`.
//!
//! A `Stream::component` or a `Stream::component_server`, brought by a
//! valid prefix to one of [`STAGES`], then fed arbitrary peer bytes. The
//! input's first byte chooses the stage (low nibble, modulo the number of
//! stages) and how the rest is cut into reads (high nibble,
//! [`common::chunks`]); every other byte, NUL included, is the peer's
//! data. `@@` stands for the valid handshake digest the component server
//! expects (SHA-1 of its stream id, drawn from its seeded generator, and
//! the secret), so `<handshake>@@</handshake>` reaches its check and
//! success from one token. The server's application accepts the
//! component [`NAME`] with [`SECRET`] and refuses any other name with
//! `host-unknown`.
//!
//! Oracles: those of [`common`] (well-formed output, nothing after our
//! closing tag, one `Closed` and nothing after it, exactly one after the
//! end of file, each IQ request answered at most once) after every read
//! and after an hour of the clock; and the same bytes written and the
//! same events whether the input is fed in the selector's reads or whole.

// The oracle is a caller: it reads the clock, as callers do.
#![allow(clippy::disallowed_methods)]
// Each includer (fuzz target, corpus test) uses a part.
#![allow(dead_code)]

#[path = "common.rs"]
pub(crate) mod common;

use std::time::{Duration, Instant};

use xmpp_sansio::component::handshake_digest;
use xmpp_sansio::stanza::StreamErrorCondition;
use xmpp_sansio::{ComponentConfig, ComponentServerConfig, Event, Stream};

use common::Transcript;

/// The component's name, and the secret both ends share.
pub(crate) const NAME: &str = "muc.example.com";
pub(crate) const SECRET: &str = "s3cr3t";
const DOMAIN: &str = "example.com";
/// The server's header as a component reads it (XEP-0114 §3: no version).
pub(crate) const SERVER_HEADER: &str = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='muc.example.com' id='3BF96D32'>";
/// The component's header as the server end reads it.
pub(crate) const COMPONENT_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='muc.example.com'>";

/// The stages, by index.
pub(crate) const STAGES: &[&str] = &[
    "component-fresh",     // 0: our header sent; the server's header next
    "component-handshake", // 1: the server's header read, our handshake sent; <handshake/> next
    "component-online",    // 2: stanzas next
    "component-closing",   // 3: online, our closing tag sent
    "server-fresh",        // 4: the component's header next
    "server-handshake",    // 5: header read, the name accepted; the handshake next (`@@`)
    "server-online",       // 6: stanzas next
    "server-closing",      // 7: online, our closing tag sent
];

fn limits() -> xmpp_sansio::xml::Limits {
    xmpp_sansio::xml::Limits {
        max_stanza_bytes: 1024,
        max_depth: 8,
        max_attributes: 12,
        max_name_len: 64,
        ..Default::default()
    }
}

fn stream_for(stage: usize) -> Stream {
    if stage < 4 {
        let mut c = ComponentConfig::new(NAME, SECRET, [4; 32]);
        c.limits = limits();
        c.keepalive = Some(Duration::from_secs(60));
        Stream::component(c)
    } else {
        let mut c = ComponentServerConfig::new(DOMAIN, [8; 32]);
        c.limits = limits();
        c.ping_interval = Some(Duration::from_secs(90));
        Stream::component_server(c)
    }
}

/// Drains, answering as the server's application would.
pub(crate) fn drain(s: &mut Stream, t: &mut Transcript, now: Instant) {
    loop {
        while let Some(b) = s.poll_transmit() {
            t.output.extend_from_slice(&b);
        }
        let mut acted = false;
        while let Some(e) = s.poll_event() {
            if let Event::ComponentRequest { name } = &e {
                acted |= if name == NAME {
                    s.accept_component(SECRET, now).is_ok()
                } else {
                    s.refuse_component(StreamErrorCondition::HostUnknown, now)
                        .is_ok()
                };
            }
            t.events.push(e);
        }
        if !acted {
            break;
        }
    }
}

fn feed(s: &mut Stream, t: &mut Transcript, data: &[u8], now: Instant) {
    t.input.extend_from_slice(data);
    let _ = s.handle_input(data, now);
    drain(s, t, now);
}

/// A started stream at `stage`, and its transcript so far.
pub(crate) fn staged(stage: usize, now: Instant) -> (Stream, Transcript) {
    let mut s = stream_for(stage);
    let mut t = Transcript::default();
    let _ = s.start(now);
    drain(&mut s, &mut t, now);
    let steps: Vec<String> = match stage {
        0 | 4 => vec![],
        1 => vec![SERVER_HEADER.into()],
        2 | 3 => vec![SERVER_HEADER.into(), "<handshake/>".into()],
        5 => vec![COMPONENT_HEADER.into()],
        _ => vec![
            COMPONENT_HEADER.into(),
            format!("<handshake>{}</handshake>", digest()),
        ],
    };
    for step in steps {
        feed(&mut s, &mut t, step.as_bytes(), now);
    }
    if stage == 3 || stage == 7 {
        s.close(now);
        drain(&mut s, &mut t, now);
    }
    (s, t)
}

/// What `@@` stands for: the digest the server end expects (its stream
/// id is its seeded generator's first draw, the same at every stage).
pub(crate) fn digest() -> String {
    let mut s = stream_for(5);
    let now = Instant::now();
    let _ = s.start(now);
    let _ = s.handle_input(COMPONENT_HEADER.as_bytes(), now);
    let id = s.stream_id().unwrap_or_default().to_owned();
    handshake_digest(&id, SECRET)
}

fn run<'a>(stage: usize, reads: impl Iterator<Item = &'a [u8]>) -> Transcript {
    let now = Instant::now();
    let (mut s, mut t) = staged(stage, now);
    for read in reads {
        feed(&mut s, &mut t, read, now);
        common::check_events(&t.events);
    }
    let later = now + Duration::from_secs(3600);
    s.handle_timeout(later);
    drain(&mut s, &mut t, later);
    t.check();
    let before_eof = t.clone();
    common::finish(&mut s, &mut t, later);
    before_eof
}

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    let Some((stage, chunking, data)) = common::staged(data, STAGES.len(), |_| digest()) else {
        return;
    };
    let chunked = run(stage, common::chunks(&data, chunking).into_iter());
    let whole = run(stage, std::iter::once(&data[..]));
    assert_eq!(
        (chunked.output, chunked.events),
        (whole.output, whole.events),
        "the outcome depends on chunking"
    );
}

/// What the stream writes and reports (the prefix's included) on one
/// input read whole: for tests that a seed reaches what it is for.
pub(crate) fn transcript_of(data: &[u8]) -> (String, Vec<Event>) {
    let Some((stage, _, data)) = common::staged(data, STAGES.len(), |_| digest()) else {
        return Default::default();
    };
    let t = run(stage, std::iter::once(&data[..]));
    (common::show(&t.output), t.events)
}

/// The generated seeds: (file name, contents).
pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
    let stage = |name: &str| STAGES.iter().position(|s| *s == name).unwrap() as u8;
    let chat = "<message from='juliet@example.com/balcony' to='muc.example.com' type='chat'><body>hi</body></message>";
    let ping = "<iq type='get' id='p1' from='example.com' to='muc.example.com'><ping xmlns='urn:xmpp:ping'/></iq>";
    let error = "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
    let seeds: Vec<(&str, &str, u8, String)> = vec![
        (
            "component-exchange",
            "component-fresh",
            0x10,
            format!("{SERVER_HEADER}<handshake/>{chat}"),
        ),
        (
            "component-refused",
            "component-handshake",
            0x00,
            error.into(),
        ),
        (
            "component-online",
            "component-online",
            0x20,
            format!("{chat}{ping}<presence from='a@example.com/x' to='muc.example.com'/>"),
        ),
        (
            "component-closing",
            "component-closing",
            0x10,
            "</stream:stream>".into(),
        ),
        (
            "server-exchange",
            "server-fresh",
            0x10,
            format!(
                "{COMPONENT_HEADER}<handshake>@@</handshake><message from='muc.example.com' to='juliet@example.com'><body>x</body></message>"
            ),
        ),
        (
            "server-unknown-name",
            "server-fresh",
            0x30,
            COMPONENT_HEADER.replace("muc.example.com", "other.example.com"),
        ),
        (
            "server-bad-handshake",
            "server-handshake",
            0x10,
            "<handshake>0000</handshake>".into(),
        ),
        (
            "server-handshake",
            "server-handshake",
            0x00,
            format!("<handshake>@@</handshake>{ping}"),
        ),
        (
            "server-online",
            "server-online",
            0x20,
            format!(
                "<message from='muc.example.com' to='j@example.com'/><iq type='get' id='v' from='muc.example.com' to='example.com'><query xmlns='jabber:iq:version'/></iq>{ping}"
            ),
        ),
        (
            "server-closing",
            "server-closing",
            0x10,
            "</stream:stream>".into(),
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, st, chunking, data)| {
            let mut bytes = vec![stage(st) | chunking];
            bytes.extend_from_slice(data.as_bytes());
            (format!("gen-{name}"), bytes)
        })
        .collect()
}
