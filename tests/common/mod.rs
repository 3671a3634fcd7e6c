//! Test helpers: a virtual clock and a transcript runner for client streams.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

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

/// Drains the stream's outputs into `out`.
pub fn drain(stream: &mut Stream, out: &mut Outcome) {
    while let Some(bytes) = stream.poll_transmit() {
        out.sent.push_str(&String::from_utf8_lossy(&bytes));
    }
    while let Some(event) = stream.poll_event() {
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
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    if stream.start(now).is_err() {
        return out;
    }
    drain(&mut stream, &mut out);
    for (i, phase) in phases.iter().enumerate() {
        if i > 0 {
            let _ = stream.tls_established(binding.clone(), now);
            drain(&mut stream, &mut out);
        }
        let bytes = phase.as_bytes();
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            let cut = cut.clamp(last, bytes.len());
            let _ = stream.handle_input(&bytes[last..cut], now);
            last = cut;
            drain(&mut stream, &mut out);
        }
    }
    out
}

/// Asserts that every single cut point, and one-byte feeding, give the
/// same outcome as feeding each phase whole; returns that outcome.
pub fn assert_split_invariant(
    config: &ClientConfig,
    phases: &[&str],
    binding: &ChannelBinding,
) -> Outcome {
    let whole = run_phases(config.clone(), phases, &[], binding);
    let longest = phases.iter().map(|p| p.len()).max().unwrap_or(0);
    for cut in 1..longest {
        let split = run_phases(config.clone(), phases, &[cut], binding);
        assert_eq!(
            split, whole,
            "outcome differs when phases are cut at byte {cut}"
        );
    }
    let every: Vec<usize> = (1..longest).collect();
    assert_eq!(
        run_phases(config.clone(), phases, &every, binding),
        whole,
        "outcome differs one byte at a time"
    );
    whole
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
    let bind_id = "BIND";
    let _ = bind_id;
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
