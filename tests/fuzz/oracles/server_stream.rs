//! The server stream's fuzz oracles, shared by `fuzz/fuzz_targets/server_stream.rs`
//! and by `tests/fuzz_corpus.rs` (the committed corpus under `cargo test`).
//!
//! A server `Stream` (the receiving entity of a client-to-server stream)
//! on arbitrary client bytes, after a valid prefix that brings it to one
//! negotiation state ([`STAGES`]). The input's first byte chooses the stage
//! (low nibble, modulo the number of stages) and how the rest is cut into
//! reads (high nibble, [`common::chunks`]); every other byte, NUL
//! included, is client data. `@@` in the data stands for the valid SCRAM
//! client-final message (base64) of the exchange the stage's prefix starts
//! ([`client_final_of`]: SCRAM-SHA-256, -SHA-1, -SHA-512, or over direct
//! TLS SCRAM-SHA-512-PLUS with the stage's binding data), so each stage
//! after a client-first message is one token away from the server's final
//! step. The direct-TLS stages are `Stream::server_over_tls` with
//! `tls-exporter` data; the stage `near-limit` runs with the default
//! stanza limit, the others with a small one ([`LIMIT`]).
//!
//! The oracle acts as the application would, at once and the same way
//! whatever the chunking: `Event::StartTls` gets `tls_established` (no
//! channel binding), `Event::CredentialsRequest` the stored keys of
//! [`USER`] (`None` for any other name), `Event::BindRequest` is accepted
//! with the resource asked for (refused with `conflict` for
//! [`TAKEN_RESOURCE`]; a resource the stream refuses to bind is replaced
//! by a generated one), `Event::ResumeRequest` is accepted for
//! [`KNOWN_SESSION`] and refused otherwise. The server's random generator
//! is seeded, so its SCRAM nonce, and with it the valid client-final
//! message, is fixed.
//!
//! Oracles: no panic; the protocol properties of [`common`] on what the
//! server wrote (its own header answers the client's, at most three
//! times) and reported, then at the end of file; the same bytes written
//! and the same events whether the data is fed in the chosen reads or in
//! one (unless STARTTLS happened: the oracle upgrades after a read, so
//! the cut decides what is read in clear); and **no forged sender**: every stanza
//! the server reports once the client is online (`Message`, `Presence`,
//! `IqRequest`, `IqReply`, `MalformedRequest`, a stanza in `Unhandled`)
//! carries a `from` stamped with the client's full JID (the bare JID for
//! subscription presence), and none is reported before, except as
//! `Unhandled` (a stanza after authentication and before binding that
//! cannot be answered: reported as it came, unstamped).

// The oracle is a caller: it reads the clock, as callers do.
#![allow(clippy::disallowed_methods)]
// Each includer (fuzz target, corpus test) uses a part.
#![allow(dead_code)]

#[path = "common.rs"]
pub(crate) mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use xmpp_sansio::sasl::{ChannelBinding, ClientAuth, Credentials, Mechanism, StoredCredentials};
use xmpp_sansio::stanza::{StanzaError, StanzaErrorCondition, StanzaView};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{Event, ServerConfig, SmConfig, SmState, Stream, TlsPolicy};

use common::Transcript;

/// A client's stream header to our domain.
pub(crate) const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";
const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const SM: &str = "urn:xmpp:sm:3";
/// The one account: its name, password, and the full JID it binds.
pub(crate) const USER: &str = "juliet";
const PASSWORD: &str = "r0m30";
pub(crate) const FULL_JID: &str = "juliet@example.com/balcony";
/// A resource the application refuses (`conflict`).
pub(crate) const TAKEN_RESOURCE: &str = "taken";
/// The resumption id the application knows.
pub(crate) const KNOWN_SESSION: &str = "known";
/// The fixed SCRAM client nonce of the prefixes.
const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
/// Low, so that every execution can afford the key derivation.
const ITERATIONS: u32 = 64;

/// One step of a prefix.
enum Step {
    Input(String),
    /// Call `close`.
    Close,
}

/// The stages, by index: the prefix that reaches each.
pub(crate) const STAGES: &[&str] = &[
    "fresh",        // 0: started, nothing read; the client's header next
    "header",       // 1: header read, features (STARTTLS, SASL) sent
    "tls",          // 2: <starttls/> read, <proceed/> sent, TLS on; restart header next
    "tls-header",   // 3: restarted over TLS, features sent; <auth/> next
    "scram-first",  // 4: SCRAM client-first read, server-first sent; client-final (`@@`) next
    "scram-final",  // 5: client-final read, <success/> sent; restart header next
    "plain-done",   // 6: PLAIN <success/> sent; restart header next
    "bind",         // 7: restarted, bind (and SM) offered; bind request next
    "online",       // 8: bound as FULL_JID
    "sm",           // 9: online, stream management enabled
    "closing",      // 10: online, our close sent
    "direct-tls",   // 11: direct TLS (`tls-exporter` data), started; the client's header next
    "plus-first", // 12: direct TLS, SCRAM-SHA-512-PLUS client-first read; client-final (`@@`) next
    "sha1-first", // 13: SCRAM-SHA-1 client-first read; client-final (`@@`) next
    "sha512-first", // 14: SCRAM-SHA-512 client-first read; client-final (`@@`) next
    "near-limit", // 15: online under the default stanza limit, a message open NEAR_LIMIT bytes short of it
];

/// The channel-binding data of the direct-TLS stages.
pub(crate) fn binding() -> ChannelBinding {
    ChannelBinding::TlsExporter(vec![0xa5; 32])
}

/// At stage `near-limit`, how many bytes the open message may still take
/// (its closing tags take 17).
pub(crate) const NEAR_LIMIT: usize = 24;

/// The opening of the message the stage `near-limit` leaves open: the
/// default limit less [`NEAR_LIMIT`] bytes.
pub(crate) fn near_limit_message() -> String {
    let head = "<message to='romeo@example.net'><body>";
    let limit = xmpp_sansio::xml::Limits::default().max_stanza_bytes;
    format!("{head}{}", "x".repeat(limit - NEAR_LIMIT - head.len()))
}

/// Whether the stage's stream is over direct TLS.
fn direct(stage: usize) -> bool {
    matches!(stage, 11 | 12)
}

/// The SCRAM mechanism the stage's prefix starts (stage 11's is stage
/// 12's, so that `@@` completes an exchange a seed starts there; the
/// other stages' is stage 4's SCRAM-SHA-256).
fn scram_mechanism(stage: usize) -> Mechanism {
    match stage {
        11 | 12 => Mechanism::ScramSha512Plus,
        13 => Mechanism::ScramSha1,
        14 => Mechanism::ScramSha512,
        _ => Mechanism::ScramSha256,
    }
}

/// The stage whose prefix ends with the client-first message of `mechanism`.
fn first_stage(mechanism: Mechanism) -> usize {
    match mechanism {
        Mechanism::ScramSha512Plus => 12,
        Mechanism::ScramSha1 => 13,
        Mechanism::ScramSha512 => 14,
        _ => 4,
    }
}

pub(crate) fn config() -> ServerConfig {
    let mut c = ServerConfig::new("example.com", *b"fuzz fake-salt secret", [9; 32]);
    c.tls = TlsPolicy::Preferred;
    c.allow_plaintext_auth = true;
    c.scram_iterations = ITERATIONS;
    c.stream_management = SmConfig::enabled();
    c.limits.max_stanza_bytes = LIMIT;
    c.limits.max_depth = 8;
    c.limits.max_attributes = 12;
    c.limits.max_name_len = 64;
    c
}

/// The stanza limit of [`config`].
pub(crate) const LIMIT: usize = 1024;

fn credentials() -> &'static StoredCredentials {
    static C: OnceLock<StoredCredentials> = OnceLock::new();
    C.get_or_init(|| {
        StoredCredentials::derive(PASSWORD, b"fuzz-salt", ITERATIONS)
            .unwrap_or_else(|e| panic!("derivable credentials: {e}"))
    })
}

fn scram_client(mechanism: Mechanism) -> ClientAuth {
    let c = Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
        authzid: None,
    };
    let binding = if mechanism.uses_channel_binding() {
        binding()
    } else {
        ChannelBinding::None
    };
    ClientAuth::new(
        mechanism,
        &c,
        &binding,
        CLIENT_NONCE,
        mechanism.uses_channel_binding(),
    )
    .unwrap_or_else(|e| panic!("a SCRAM client: {e}"))
}

/// `<auth mechanism='SCRAM-SHA-256'>` with the client-first message.
fn scram_auth() -> String {
    scram_auth_with(Mechanism::ScramSha256)
}

/// `<auth/>` for `mechanism` with its client-first message.
pub(crate) fn scram_auth_with(mechanism: Mechanism) -> String {
    let first = scram_client(mechanism)
        .initial_response()
        .ok()
        .flatten()
        .unwrap_or_default();
    format!(
        "<auth xmlns='{SASL}' mechanism='{}'>{}</auth>",
        mechanism.name(),
        common::base64(&first)
    )
}

/// The valid client-final message, base64, of the SCRAM-SHA-256 exchange
/// of stage `scram-first`.
pub(crate) fn client_final() -> &'static str {
    client_final_of(4)
}

/// What `@@` stands for at `stage`: the valid client-final message,
/// base64, of the exchange [`scram_mechanism`] names. The server-first
/// message is read from what a stream at the stage that sent it wrote,
/// and answered by the crate's SCRAM client.
pub(crate) fn client_final_of(stage: usize) -> &'static str {
    static F: OnceLock<Vec<OnceLock<String>>> = OnceLock::new();
    let mechanism = scram_mechanism(stage);
    let first = first_stage(mechanism);
    let cells = F.get_or_init(|| (0..STAGES.len()).map(|_| OnceLock::new()).collect());
    cells[first].get_or_init(|| {
        let (_, t) = staged(first, Instant::now());
        let out = common::show(&t.output);
        let server_first = common::unbase64(
            common::element_text(&out, "challenge")
                .unwrap_or("")
                .as_bytes(),
        );
        let mut client = scram_client(mechanism);
        let _ = client.initial_response();
        let fin = client.respond(&server_first).unwrap_or_default();
        common::base64(&fin)
    })
}

pub(crate) fn plain_auth() -> String {
    format!(
        "<auth xmlns='{SASL}' mechanism='PLAIN'>{}</auth>",
        common::base64(format!("\0{USER}\0{PASSWORD}").as_bytes())
    )
}

/// A bind request `id` asking for `resource` (none if empty).
pub(crate) fn bind_asking(id: &str, resource: &str) -> String {
    let resource = if resource.is_empty() {
        String::new()
    } else {
        format!("<resource>{resource}</resource>")
    };
    format!(
        "<iq type='set' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>{resource}</bind></iq>"
    )
}

pub(crate) const BIND: &str = "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>";

fn prefix(stage: usize) -> Vec<Step> {
    use Step::*;
    let starttls = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
    let plain_done = vec![Input(format!("{HEADER}{}", plain_auth()))];
    let mut steps = match stage {
        0 => vec![],
        1 => vec![Input(HEADER.into())],
        2 => vec![Input(HEADER.into()), Input(starttls.into())],
        3 => vec![
            Input(HEADER.into()),
            Input(starttls.into()),
            Input(HEADER.into()),
        ],
        4 => vec![Input(HEADER.into()), Input(scram_auth())],
        5 => vec![
            Input(HEADER.into()),
            Input(scram_auth()),
            Input(format!("<response xmlns='{SASL}'>@@</response>")),
        ],
        6 => plain_done,
        11 => vec![],
        12 => vec![Input(format!(
            "{HEADER}{}",
            scram_auth_with(Mechanism::ScramSha512Plus)
        ))],
        13 => vec![Input(format!(
            "{HEADER}{}",
            scram_auth_with(Mechanism::ScramSha1)
        ))],
        14 => vec![Input(format!(
            "{HEADER}{}",
            scram_auth_with(Mechanism::ScramSha512)
        ))],
        _ => {
            let mut steps = plain_done;
            steps.push(Input(HEADER.into()));
            steps
        }
    };
    if (8..=10).contains(&stage) || stage == 15 {
        steps.push(Input(BIND.into()));
    }
    if stage == 15 {
        steps.push(Input(near_limit_message()));
    }
    if stage == 9 {
        steps.push(Input(format!("<enable xmlns='{SM}' resume='true'/>")));
    }
    if stage == 10 {
        steps.push(Close);
    }
    steps
}

/// Acts on the events as the application would (see the module docs),
/// and drains until nothing more comes.
pub(crate) fn drain(s: &mut Stream, t: &mut Transcript, now: Instant) {
    loop {
        while let Some(b) = s.poll_transmit() {
            t.output.extend_from_slice(&b);
        }
        let mut acted = false;
        // Taking events can read on from a large read, which can queue
        // output: go round once more after any.
        let mut took = false;
        while let Some(e) = s.poll_event() {
            took = true;
            match &e {
                Event::StartTls => {
                    acted |= s.tls_established(ChannelBinding::None, now).is_ok();
                }
                Event::CredentialsRequest { username, .. } => {
                    let keys = (username == USER).then(credentials);
                    acted |= s.provide_credentials(keys, now).is_ok();
                }
                Event::BindRequest { resource, .. } => {
                    acted |= if resource.as_deref() == Some(TAKEN_RESOURCE) {
                        let conflict = StanzaError::from_condition(StanzaErrorCondition::Conflict);
                        s.refuse_bind(conflict, now).is_ok()
                    } else {
                        s.accept_bind(resource.as_deref(), now).is_ok()
                            || s.accept_bind(None, now).is_ok()
                    };
                }
                Event::ResumeRequest { previd, .. } => {
                    acted |= if previd == KNOWN_SESSION {
                        s.accept_resume(known_session(), now).is_ok()
                    } else {
                        s.refuse_resume(now).is_ok()
                    };
                }
                _ => {}
            }
            t.events.push(e);
        }
        if !acted && !took {
            break;
        }
    }
}

/// The session [`KNOWN_SESSION`] names: two stanzas the client has not
/// acknowledged.
pub(crate) fn known_session() -> SmState {
    let msg = |body: &str| {
        Element::builder("message", "jabber:client")
            .attr("to", FULL_JID)
            .attr("from", "romeo@example.net/orchard")
            .child(Element::builder("body", "jabber:client").text(body).build())
            .build()
    };
    SmState {
        id: Some(KNOWN_SESSION.into()),
        jid: Some(FULL_JID.into()),
        inbound: 4,
        acked: 7,
        unacked: vec![msg("one"), msg("two")],
        ..SmState::default()
    }
}

fn feed(s: &mut Stream, t: &mut Transcript, data: &[u8], now: Instant) {
    t.input.extend_from_slice(data);
    let _ = s.handle_input(data, now);
    drain(s, t, now);
}

/// A started server stream at `stage`, and its transcript so far.
pub(crate) fn staged(stage: usize, now: Instant) -> (Stream, Transcript) {
    let mut s = if direct(stage) {
        Stream::server_over_tls(config(), binding())
    } else if stage == 15 {
        let mut c = config();
        c.limits.max_stanza_bytes = xmpp_sansio::xml::Limits::default().max_stanza_bytes;
        Stream::server(c)
    } else {
        Stream::server(config())
    };
    let mut t = Transcript::default();
    let _ = s.start(now);
    drain(&mut s, &mut t, now);
    for step in prefix(stage) {
        match step {
            Step::Input(data) => {
                // `@@` only ever appears at stage 5, whose stage 4 prefix
                // does not need it.
                let data = if data.contains("@@") {
                    common::substitute(data.as_bytes(), client_final_of(stage).as_bytes())
                } else {
                    data.into_bytes()
                };
                feed(&mut s, &mut t, &data, now);
            }
            Step::Close => s.close(now),
        }
        drain(&mut s, &mut t, now);
    }
    (s, t)
}

/// The client's full JID once online (from `Online` or `Resumed`).
fn online_jid(events: &[Event]) -> Option<&str> {
    events.iter().rev().find_map(|e| match e {
        Event::Online { jid } | Event::Resumed { jid, .. } => Some(jid.as_str()),
        _ => None,
    })
}

/// No forged sender (see the module docs): `events` is the whole run's.
pub(crate) fn check_senders<'a>(events: impl IntoIterator<Item = &'a Event>) {
    let mut full: Option<&str> = None;
    for e in events {
        if let Event::Online { jid } | Event::Resumed { jid, .. } = e {
            full = Some(jid);
        }
        let el: &Element = match e {
            Event::Message(m) => m.element(),
            Event::Presence(p) => p.element(),
            Event::IqRequest(iq) | Event::IqReply(iq) => iq.element(),
            Event::SubscriptionRequest(p) => p.element(),
            Event::MalformedRequest { request, .. } => request,
            Event::Unhandled(el)
                if el.ns() == "jabber:client"
                    && matches!(el.name(), "message" | "presence" | "iq") =>
            {
                el
            }
            _ => continue,
        };
        let Some(full) = full else {
            // Before binding, a stanza that cannot be answered is reported
            // as it came, with no JID to stamp it with.
            assert!(
                matches!(e, Event::Unhandled(_)),
                "a stanza reported before the client is online: {e:?}"
            );
            continue;
        };
        let bare = full.split('/').next().unwrap_or(full);
        let subscription = el.name() == "presence"
            && matches!(
                el.attr("type"),
                Some("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed")
            );
        let expected = if subscription { bare } else { full };
        assert_eq!(
            el.attr("from"),
            Some(expected),
            "a stanza reported with a sender other than the client's: {e:?}"
        );
    }
}

fn run<'a>(stage: usize, reads: impl Iterator<Item = &'a [u8]>) -> Transcript {
    let now = Instant::now();
    let (mut s, mut t) = staged(stage, now);
    let prefix_events = std::mem::take(&mut t.events);
    // The sender oracle needs the JID bound in the prefix.
    if let Some(jid) = online_jid(&prefix_events) {
        assert_eq!(jid, FULL_JID, "the prefix binds the known JID");
    }
    let check = |t: &Transcript| {
        check_senders(prefix_events.iter().chain(&t.events));
        common::check_events(&t.events);
    };
    for read in reads {
        feed(&mut s, &mut t, read, now);
        check(&t);
    }
    let later = now + Duration::from_secs(3600);
    s.handle_timeout(later);
    drain(&mut s, &mut t, later);
    t.check();
    check(&t);
    let before_eof = t.clone();
    common::finish(&mut s, &mut t, later);
    before_eof
}

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    let Some((stage, chunking, data)) = common::staged(data, STAGES.len(), client_final_of) else {
        return;
    };
    let chunked = run(stage, common::chunks(&data, chunking).into_iter());
    let whole = run(stage, std::iter::once(&data[..]));
    if !whole.saw_starttls() {
        assert_eq!(
            (chunked.output, chunked.events),
            (whole.output, whole.events),
            "the outcome depends on chunking"
        );
    }
}

/// What the stream writes (the prefix's output included) and reports (the
/// prefix's events excluded) on one input read whole: for tests that a
/// seed reaches what it is for.
pub(crate) fn transcript_of(data: &[u8]) -> (String, Vec<Event>) {
    let Some((stage, _, data)) = common::staged(data, STAGES.len(), client_final_of) else {
        return Default::default();
    };
    let t = run(stage, std::iter::once(&data[..]));
    (common::show(&t.output), t.events)
}

/// The generated seeds: (file name, contents). `tests/fuzz_corpus.rs`
/// checks the committed ones match (and writes them on request).
pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
    let stage = |name: &str| STAGES.iter().position(|s| *s == name).unwrap_or(0) as u8;
    let restart_bind = format!("{HEADER}{BIND}");
    let mut seeds = vec![
        ("gen-header", HEADER.to_owned(), "fresh"),
        (
            "gen-header-wrong-host",
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.net' version='1.0'>".to_owned(),
            "fresh",
        ),
        (
            "gen-whole-plain-session",
            format!("{HEADER}{}{restart_bind}<presence/><message to='romeo@example.net'><body>hi</body></message></stream:stream>", plain_auth()),
            "fresh",
        ),
        (
            "gen-starttls",
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".to_owned(),
            "header",
        ),
        (
            "gen-tls-restart-plain",
            format!("{HEADER}{}", plain_auth()),
            "tls",
        ),
        ("gen-scram-auth", scram_auth(), "tls-header"),
        (
            "gen-scram-final",
            format!("<response xmlns='{SASL}'>@@</response>{restart_bind}"),
            "scram-first",
        ),
        (
            "gen-scram-bad-proof",
            format!(
                "<response xmlns='{SASL}'>{}</response>",
                common::base64(b"c=biws,r=x,p=AAAA")
            ),
            "scram-first",
        ),
        (
            "gen-scram-abort",
            format!("<abort xmlns='{SASL}'/>{}", plain_auth()),
            "scram-first",
        ),
        ("gen-scram-restart", restart_bind.clone(), "scram-final"),
        (
            "gen-plain-wrong-password",
            format!(
                "<auth xmlns='{SASL}' mechanism='PLAIN'>{}</auth>",
                common::base64(format!("\0{USER}\0nope").as_bytes())
            ),
            "header",
        ),
        (
            "gen-plain-unknown-user",
            format!(
                "<auth xmlns='{SASL}' mechanism='PLAIN'>{}</auth>",
                common::base64(b"\0romeo\0r0m30")
            ),
            "header",
        ),
        ("gen-plain-restart", restart_bind, "plain-done"),
        (
            "gen-bind-taken-then-pipelined",
            format!("{}{}", bind_asking("t1", TAKEN_RESOURCE), bind_asking("t2", "")),
            "bind",
        ),
        (
            "gen-resume-known",
            format!("<resume xmlns='{SM}' previd='known' h='8'/>"),
            "bind",
        ),
        (
            "gen-resume-unknown",
            format!("<resume xmlns='{SM}' previd='other' h='0'/>{BIND}"),
            "bind",
        ),
        (
            "gen-online-stanzas",
            "<message to='romeo@example.net' from='juliet@example.com/balcony'><body>ab</body></message><presence type='subscribe' to='romeo@example.net'/><presence from='juliet@example.com'/><iq type='get' id='v1' to='romeo@example.net'><query xmlns='jabber:iq:version'/></iq><iq type='result' id='r1' to='romeo@example.net/orchard'/><iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq><iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>".to_owned(),
            "online",
        ),
        (
            "gen-online-nul",
            "<message to='romeo@example.net'><body>a\0b</body></message>".to_owned(),
            "online",
        ),
        (
            "gen-online-forged-from",
            "<message to='romeo@example.net' from='romeo@example.net/orchard'><body>forged</body></message>".to_owned(),
            "online",
        ),
        (
            "gen-online-bad-to",
            "<message to='@example.net'><body>x</body></message><iq type='get' id='q1' to='a@b@c'/>".to_owned(),
            "online",
        ),
        (
            "gen-sm-acks",
            format!("<message to='romeo@example.net'><body>1</body></message><r xmlns='{SM}'/><a xmlns='{SM}' h='0'/><iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq><r xmlns='{SM}'/><a xmlns='{SM}' h='1'/>"),
            "sm",
        ),
        (
            "gen-sm-h-too-high",
            format!("<a xmlns='{SM}' h='5'/>"),
            "sm",
        ),
        (
            "gen-closing",
            "<message to='romeo@example.net'><body>late</body></message></stream:stream>".to_owned(),
            "closing",
        ),
    ]
    .into_iter()
    .map(|(name, data, st)| {
        let mut bytes = vec![stage(st) | 0x30];
        bytes.extend_from_slice(data.as_bytes());
        (name.to_owned(), bytes)
    })
    .collect::<Vec<_>>();
    // Stanzas of exactly the limit, and one byte over.
    for (name, extra) in [("gen-online-at-limit", 0), ("gen-online-over-limit", 1)] {
        let head = "<message to='romeo@example.net'><body>";
        let tail = "</body></message>";
        let body = "x".repeat(LIMIT + extra - head.len() - tail.len());
        let mut bytes = vec![stage("online") | 0x50];
        bytes.extend_from_slice(format!("{head}{body}{tail}<presence/>").as_bytes());
        seeds.push((name.to_owned(), bytes));
    }
    // Direct TLS, SCRAM-SHA-512-PLUS, -SHA-1 and -SHA-512 (`@@` is each
    // stage's client-final), the server's SASL failures and its refusals.
    let wrong_plain = format!(
        "<auth xmlns='{SASL}' mechanism='PLAIN'>{}</auth>",
        common::base64(format!("\0{USER}\0nope").as_bytes())
    );
    let response = format!("<response xmlns='{SASL}'>@@</response>");
    let restart_bind = format!("{HEADER}{BIND}");
    let mut more = vec![
        ("gen-direct-tls-header", HEADER.to_owned(), "direct-tls"),
        (
            "gen-direct-tls-plus-exchange",
            format!(
                "{HEADER}{}{response}{restart_bind}",
                scram_auth_with(Mechanism::ScramSha512Plus)
            ),
            "direct-tls",
        ),
        (
            "gen-plus-final",
            format!("{response}{restart_bind}"),
            "plus-first",
        ),
        (
            "gen-sha1-final",
            format!("{response}{restart_bind}"),
            "sha1-first",
        ),
        (
            "gen-sha512-final",
            format!("{response}{restart_bind}"),
            "sha512-first",
        ),
        (
            "gen-plain-attempts-exhausted",
            format!("{wrong_plain}{wrong_plain}{wrong_plain}{wrong_plain}{wrong_plain}"),
            "header",
        ),
        (
            "gen-unbound-stanzas",
            "<message to='romeo@example.net'><body>early</body></message><iq type='get' id='e1'><ping xmlns='urn:xmpp:ping'/></iq><presence type='error'/><iq type='result' id='e2'/>".to_owned(),
            "bind",
        ),
        (
            "gen-enable-before-bind",
            format!("<enable xmlns='{SM}' resume='true'/>{BIND}"),
            "bind",
        ),
        (
            "gen-enable-twice",
            format!("<enable xmlns='{SM}'/><r xmlns='{SM}'/>"),
            "sm",
        ),
        (
            "gen-near-limit-at",
            format!("{}</body></message><presence/>", "y".repeat(NEAR_LIMIT - 17)),
            "near-limit",
        ),
        (
            "gen-near-limit-over",
            format!("{}</body></message><presence/>", "y".repeat(NEAR_LIMIT - 16)),
            "near-limit",
        ),
    ];
    // SCRAM for an account that does not exist: the server answers with
    // made-up keys (`fake_credentials`), then fails the proof.
    let nobody = ClientAuth::new(
        Mechanism::ScramSha256,
        &Credentials {
            username: "nobody".into(),
            password: PASSWORD.into(),
            authzid: None,
        },
        &ChannelBinding::None,
        CLIENT_NONCE,
        false,
    );
    if let Ok(mut nobody) = nobody {
        let first = nobody.initial_response().ok().flatten().unwrap_or_default();
        let auth = format!(
            "<auth xmlns='{SASL}' mechanism='SCRAM-SHA-256'>{}</auth>",
            common::base64(&first)
        );
        let mut input = vec![stage("header")];
        input.extend_from_slice(auth.as_bytes());
        let (out, _) = transcript_of(&input);
        let server_first = common::unbase64(
            common::element_text(&out, "challenge")
                .unwrap_or("")
                .as_bytes(),
        );
        let fin = nobody.respond(&server_first).unwrap_or_default();
        more.push((
            "gen-scram-unknown-user",
            format!(
                "{auth}<response xmlns='{SASL}'>{}</response>{}",
                common::base64(&fin),
                plain_auth()
            ),
            "header",
        ));
    }
    // SCRAM-SHA-512-PLUS whose client has other binding data (a man in
    // the middle): the server's check refuses it.
    let mut other = ClientAuth::new(
        Mechanism::ScramSha512Plus,
        &Credentials {
            username: USER.into(),
            password: PASSWORD.into(),
            authzid: None,
        },
        &ChannelBinding::TlsExporter(vec![0x11; 32]),
        CLIENT_NONCE,
        true,
    )
    .unwrap_or_else(|e| panic!("a SCRAM client: {e}"));
    let _ = other.initial_response();
    let (_, t) = staged(stage("plus-first").into(), Instant::now());
    let out = common::show(&t.output);
    let server_first = common::unbase64(
        common::element_text(&out, "challenge")
            .unwrap_or("")
            .as_bytes(),
    );
    let fin = other.respond(&server_first).unwrap_or_default();
    more.push((
        "gen-plus-other-binding",
        format!(
            "<response xmlns='{SASL}'>{}</response>",
            common::base64(&fin)
        ),
        "plus-first",
    ));
    for (name, data, st) in more {
        let mut bytes = vec![stage(st) | 0x30];
        bytes.extend_from_slice(data.as_bytes());
        seeds.push((name.to_owned(), bytes));
    }
    // One byte at a time, through the SCRAM final step.
    let mut one = vec![stage("scram-first")];
    one.extend_from_slice(format!("<response xmlns='{SASL}'>@@</response>").as_bytes());
    seeds.push(("gen-scram-final-bytewise".to_owned(), one));
    seeds
}
