//! The client stream's fuzz oracles, shared by `fuzz/fuzz_targets/client_stream.rs`
//! and by `tests/fuzz_corpus.rs` (the committed corpus under `cargo test`).
//!
//! A client `Stream` on arbitrary server bytes, after a valid prefix that
//! brings it to one negotiation state ([`STAGES`]). The input's first byte
//! chooses the stage (low nibble, modulo the number of stages) and how the
//! rest is cut into reads (high nibble, [`common::chunks`]); every other
//! byte, NUL included, is server data. `@@` in the data stands for the id
//! of the last IQ the client wrote in the prefix (the bind request, the
//! roster request), so replies to it are one token away.
//!
//! The SCRAM client nonce is fixed ([`CLIENT_NONCE`]), so the stages after
//! `<auth/>` can be fed a server-first message that extends it, and a
//! server-final message computed for the known password ([`scram_first`],
//! [`scram_final_for`]): SCRAM-SHA-256, SCRAM-SHA-1, and over direct TLS
//! (`Stream::client_over_tls` with [`binding`]) SCRAM-SHA-512-PLUS.
//!
//! Oracles: no panic; the protocol properties of [`common`] on the run,
//! then at the end of file; and the same bytes written and the same events
//! whether the data is fed in the chosen reads or in one (unless STARTTLS
//! happened: bytes after `<proceed/>` in its read are refused by design).

// The oracle is a caller: it reads the clock, as callers do.
#![allow(clippy::disallowed_methods)]
// Each includer (fuzz target, corpus test) uses a part.
#![allow(dead_code)]

#[path = "common.rs"]
pub(crate) mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use xmpp_sansio::sasl::{ChannelBinding, ScramHash, ScramKeys};
use xmpp_sansio::{ClientConfig, Stream, TlsPolicy};

use common::Transcript;

pub(crate) const HEADER: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='example.com' id='f'>";
const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// The fixed SCRAM client nonce (RFC 5802 §5's).
pub(crate) const CLIENT_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
/// What the test server adds to it.
const SERVER_NONCE: &str = "3rfcNHYJY1ZVvWVs7j";
const SALT: &[u8] = b"pepper-salt";
/// Low, so that every execution can afford the key derivation.
const ITERATIONS: u32 = 64;
const PASSWORD: &str = "pw";

/// One step of a prefix.
enum Step {
    Input(String),
    /// Call `tls_established` (after `<proceed/>`).
    Tls,
    RequestRoster,
    Close,
}

/// The stages, by index: the prefix that reaches each.
pub(crate) const STAGES: &[&str] = &[
    "fresh",          // 0: started, nothing read
    "header",         // 1: the server's header read; features next
    "starttls",       // 2: <starttls/> sent; <proceed/> or <failure/> next
    "tls",            // 3: TLS established, restarted; header next
    "scram-first",    // 4: SCRAM <auth/> sent; server-first next
    "scram-final",    // 5: client-final sent; server-final next
    "sasl-done",      // 6: PLAIN <success/> read; restart header next
    "bind",           // 7: bind request sent (`@@`); its result next
    "online",         // 8: bound
    "roster-pending", // 9: online, roster request pending (`@@`)
    "closing",        // 10: online, roster pending, our close sent
    "direct-tls",     // 11: direct TLS (`tls-exporter` data), started; header next
    "plus-first",     // 12: direct TLS, SCRAM-SHA-512-PLUS <auth/> sent; server-first next
    "plus-final",     // 13: its client-final sent (binding data); server-final next
    "sha1-first",     // 14: SCRAM-SHA-1 <auth/> sent; server-first next
    "sha1-final",     // 15: its client-final sent; server-final next
];

/// The channel-binding data of the direct-TLS stages.
pub(crate) fn binding() -> ChannelBinding {
    ChannelBinding::TlsExporter(vec![0x5a; 32])
}

pub(crate) fn config() -> ClientConfig {
    let mut c = ClientConfig::new("j@example.com", PASSWORD, [3; 32]);
    c.tls = TlsPolicy::Preferred;
    c.allow_plaintext_auth = true;
    c.scram_client_nonce = Some(CLIENT_NONCE.to_owned());
    // A hostile iteration count must not make executions slow.
    c.max_scram_iterations = 4096;
    // Small limits, so that inputs of a few KiB reach them.
    c.limits.max_stanza_bytes = LIMIT;
    c.limits.max_depth = 8;
    c.limits.max_attributes = 12;
    c.limits.max_name_len = 64;
    c
}

/// The stanza limit of [`config`].
pub(crate) const LIMIT: usize = 1024;

fn features(inner: &str) -> String {
    format!("<stream:features>{inner}</stream:features>")
}

fn mechanisms(names: &[&str]) -> String {
    let m: String = names
        .iter()
        .map(|n| format!("<mechanism>{n}</mechanism>"))
        .collect();
    format!("<mechanisms xmlns='{SASL}'>{m}</mechanisms>")
}

/// The SCRAM-SHA-256 messages for the fixed nonce: (server-first,
/// server-final), as text before base64. The auth message is built from
/// the client's own messages as [`scram_final_for`] reads them.
pub(crate) fn scram_first() -> String {
    format!(
        "r={CLIENT_NONCE}{SERVER_NONCE},s={},i={ITERATIONS}",
        common::base64(SALT)
    )
}

/// The client's first (bare) and final-without-proof messages, read from
/// what a client wrote after `steps` (ending with its client-final).
fn scram_client_messages_of(direct: bool, steps: Vec<Step>) -> (String, String) {
    let (_, t, _) = run_steps(direct, steps, config(), Instant::now());
    let out = common::show(&t.output);
    let first = common::unbase64(common::element_text(&out, "auth").unwrap_or("").as_bytes());
    let fin = common::unbase64(
        common::element_text(&out, "response")
            .unwrap_or("")
            .as_bytes(),
    );
    let first = common::show(&first);
    // Strip the GS2 header ("n,,", "y,," or "p=tls-exporter,,"): two commas.
    let bare = first.splitn(3, ',').nth(2).unwrap_or("").to_owned();
    let fin = common::show(&fin);
    let without_proof = fin.split(",p=").next().unwrap_or("").to_owned();
    (bare, without_proof)
}

/// The server-final message (`v=…`) for the known password, answering
/// the exchange a client starts on `features` (a server header and
/// features offering a SCRAM mechanism of `hash`), over direct TLS or not.
pub(crate) fn scram_final_for(direct: bool, features: &str, hash: ScramHash) -> String {
    let steps = vec![Step::Input(features.to_owned()), Step::Input(challenge())];
    let (bare, without_proof) = scram_client_messages_of(direct, steps);
    let auth_message = format!("{bare},{},{without_proof}", scram_first());
    let keys = ScramKeys::derive(hash, PASSWORD, SALT, ITERATIONS);
    let signature = keys.server_signature(hash, auth_message.as_bytes());
    format!("v={}", common::base64(&signature))
}

/// The server-final message (`v=…`) for the known password, for the
/// SCRAM-SHA-256 exchange of the stage `scram-final`.
pub(crate) fn scram_final() -> String {
    static F: OnceLock<String> = OnceLock::new();
    F.get_or_init(|| scram_final_for(false, &scram_features(), ScramHash::Sha256))
        .clone()
}

/// The server-final message of the stage `plus-final` (SCRAM-SHA-512-PLUS
/// over direct TLS).
pub(crate) fn plus_final() -> String {
    static F: OnceLock<String> = OnceLock::new();
    F.get_or_init(|| scram_final_for(true, &plus_features(), ScramHash::Sha512))
        .clone()
}

/// The server-final message of the stage `sha1-final`.
pub(crate) fn sha1_final() -> String {
    static F: OnceLock<String> = OnceLock::new();
    F.get_or_init(|| scram_final_for(false, &sha1_features(), ScramHash::Sha1))
        .clone()
}

/// The server's header and features offering `names` (and, with a
/// -PLUS mechanism among them, the `tls-exporter` binding, XEP-0440).
pub(crate) fn offering(names: &[&str]) -> String {
    let cb = if names.iter().any(|n| n.ends_with("-PLUS")) {
        "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>"
    } else {
        ""
    };
    format!(
        "{HEADER}{}",
        features(&format!("{}{cb}", mechanisms(names)))
    )
}

fn scram_features() -> String {
    offering(&["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"])
}

fn plus_features() -> String {
    offering(&[
        "SCRAM-SHA-512-PLUS",
        "SCRAM-SHA-256-PLUS",
        "SCRAM-SHA-512",
        "PLAIN",
    ])
}

fn sha1_features() -> String {
    offering(&["SCRAM-SHA-1", "PLAIN"])
}

/// The server-first message in its `<challenge/>`.
fn challenge() -> String {
    format!(
        "<challenge xmlns='{SASL}'>{}</challenge>",
        common::base64(scram_first().as_bytes())
    )
}

/// Whether the stage's stream is over direct TLS.
fn direct(stage: usize) -> bool {
    (11..=13).contains(&stage)
}

fn prefix(stage: usize) -> Vec<Step> {
    let plain = format!("{HEADER}{}", features(&mechanisms(&["PLAIN"])));
    let starttls = format!(
        "{HEADER}{}",
        features(&format!(
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>{}",
            mechanisms(&["PLAIN", "SCRAM-SHA-256"])
        ))
    );
    let scram = scram_features();
    let challenge = challenge();
    let success = format!("<success xmlns='{SASL}'/>");
    let bind_features = format!(
        "{HEADER}{}",
        features(
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><ver xmlns='urn:xmpp:features:rosterver'/>"
        )
    );
    let bound = "<iq type='result' id='@@'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>j@example.com/r</jid></bind></iq>";
    use Step::*;
    match stage {
        0 => vec![],
        1 => vec![Input(HEADER.into())],
        2 => vec![Input(starttls)],
        3 => vec![
            Input(starttls),
            Input("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".into()),
            Tls,
        ],
        4 => vec![Input(scram)],
        5 => vec![Input(scram), Input(challenge)],
        6 => vec![Input(plain), Input(success)],
        7 => vec![Input(plain), Input(success), Input(bind_features)],
        11 => vec![],
        12 => vec![Input(plus_features())],
        13 => vec![Input(plus_features()), Input(challenge)],
        14 => vec![Input(sha1_features())],
        15 => vec![Input(sha1_features()), Input(challenge)],
        _ => {
            let mut steps = vec![
                Input(plain),
                Input(success),
                Input(bind_features),
                Input(bound.into()),
            ];
            if stage >= 9 {
                steps.push(RequestRoster);
            }
            if stage >= 10 {
                steps.push(Close);
            }
            steps
        }
    }
}

/// The id of the last IQ written in `out`, if any.
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

/// A started stream at `stage`, its transcript so far, and the id `@@`
/// stands for.
pub(crate) fn staged(stage: usize, now: Instant) -> (Stream, Transcript, String) {
    staged_with(stage, config(), now)
}

/// [`staged`] with another configuration (derived from [`config`]).
pub(crate) fn staged_with(
    stage: usize,
    config: ClientConfig,
    now: Instant,
) -> (Stream, Transcript, String) {
    run_steps(direct(stage), prefix(stage), config, now)
}

/// A started stream (over direct TLS with [`binding`] if `direct`) after
/// `steps`, its transcript, and the id of the last IQ it wrote.
fn run_steps(
    direct: bool,
    steps: Vec<Step>,
    config: ClientConfig,
    now: Instant,
) -> (Stream, Transcript, String) {
    let mut s = if direct {
        Stream::client_over_tls(config, binding())
    } else {
        Stream::client(config)
    };
    let mut t = Transcript::default();
    let _ = s.start(now);
    t.drain(&mut s, now);
    let mut id = String::new();
    for step in steps {
        match step {
            Step::Input(data) => {
                let data = common::substitute(data.as_bytes(), id.as_bytes());
                t.feed(&mut s, &data, now);
            }
            Step::Tls => {
                let _ = s.tls_established(Default::default(), now);
            }
            Step::RequestRoster => {
                let _ = s.request_roster(Some(""), now);
            }
            Step::Close => s.close(now),
        }
        t.drain(&mut s, now);
        id = last_iq_id(&t.output);
    }
    (s, t, id)
}

/// The id `@@` stands for at each stage, learnt once.
pub(crate) fn pending_id(stage: usize) -> &'static str {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    let ids = IDS.get_or_init(|| {
        (0..STAGES.len())
            .map(|st| staged(st, Instant::now()).2)
            .collect()
    });
    ids.get(stage).map_or("", String::as_str)
}

fn run<'a>(stage: usize, reads: impl Iterator<Item = &'a [u8]>) -> Transcript {
    let now = Instant::now();
    let (mut s, mut t, _) = staged(stage, now);
    // Only what the fuzzer chose is compared.
    t.events.clear();
    for read in reads {
        t.feed(&mut s, read, now);
        common::check_events(&t.events);
    }
    let later = now + Duration::from_secs(3600);
    s.handle_timeout(later);
    t.drain(&mut s, later);
    t.check();
    let before_eof = t.clone();
    common::finish(&mut s, &mut t, later);
    before_eof
}

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    let Some((stage, chunking, data)) = common::staged(data, STAGES.len(), pending_id) else {
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
pub(crate) fn transcript_of(data: &[u8]) -> (String, Vec<xmpp_sansio::Event>) {
    let Some((stage, _, data)) = common::staged(data, STAGES.len(), pending_id) else {
        return Default::default();
    };
    let t = run(stage, std::iter::once(&data[..]));
    (common::show(&t.output), t.events)
}

/// The generated seeds: (file name, contents). `tests/fuzz_corpus.rs`
/// checks the committed ones match (and writes them on request).
pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
    let b64 = |s: &str| common::base64(s.as_bytes());
    let stage = |name: &str| STAGES.iter().position(|s| *s == name).unwrap_or(0) as u8;
    let mut seeds = vec![
        (
            "gen-scram-first".to_owned(),
            format!("<challenge xmlns='{SASL}'>{}</challenge>", b64(&scram_first())),
            "scram-first",
        ),
        (
            "gen-scram-final-success".to_owned(),
            format!("<success xmlns='{SASL}'>{}</success>", b64(&scram_final())),
            "scram-final",
        ),
        (
            "gen-scram-final-challenge".to_owned(),
            format!("<challenge xmlns='{SASL}'>{}</challenge><success xmlns='{SASL}'/>{HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>", b64(&scram_final())),
            "scram-final",
        ),
        (
            "gen-scram-failure".to_owned(),
            format!("<failure xmlns='{SASL}'><not-authorized/><text xml:lang='en'>no</text></failure></stream:stream>"),
            "scram-final",
        ),
        (
            "gen-scram-server-error".to_owned(),
            format!("<failure xmlns='{SASL}'><not-authorized/></failure>{}", b64("e=invalid-proof")),
            "scram-first",
        ),
        (
            "gen-starttls-proceed".to_owned(),
            "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".to_owned(),
            "starttls",
        ),
        (
            "gen-starttls-failure".to_owned(),
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>".to_owned(),
            "starttls",
        ),
        (
            "gen-tls-restart".to_owned(),
            format!("{HEADER}<stream:features><mechanisms xmlns='{SASL}'><mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features><challenge xmlns='{SASL}'>{}</challenge>", b64(&scram_first())),
            "tls",
        ),
        (
            "gen-features-starttls-required".to_owned(),
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>".to_owned(),
            "header",
        ),
        (
            "gen-bind-result".to_owned(),
            "<iq type='result' id='@@'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>j@example.com/r</jid></bind></iq><iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>".to_owned(),
            "bind",
        ),
        (
            "gen-bind-error".to_owned(),
            "<iq type='error' id='@@'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>".to_owned(),
            "bind",
        ),
        (
            "gen-online-nul".to_owned(),
            "<message from='a@example.net'><body>a\0b</body></message>".to_owned(),
            "online",
        ),
        (
            "gen-online-duplicate-requests".to_owned(),
            "<iq type='get' id='d' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq><iq type='get' id='d' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq><iq type='set' id='d' from='a@example.net/x'><query xmlns='jabber:iq:version'/></iq>".to_owned(),
            "online",
        ),
        (
            "gen-closing-close".to_owned(),
            "<iq type='result' id='@@'/><message from='a@example.net'><body>late</body></message></stream:stream>".to_owned(),
            "closing",
        ),
    ]
    .into_iter()
    .map(|(name, data, st)| {
        let mut bytes = vec![stage(st) | 0x30];
        bytes.extend_from_slice(data.as_bytes());
        (name, bytes)
    })
    .collect::<Vec<_>>();
    // Stanzas of exactly the limit, and one byte over.
    for (name, extra) in [("gen-online-at-limit", 0), ("gen-online-over-limit", 1)] {
        let head = "<message from='a@example.net/x'><body>";
        let tail = "</body></message>";
        let body = "x".repeat(LIMIT + extra - head.len() - tail.len());
        let mut bytes = vec![stage("online") | 0x50];
        bytes.extend_from_slice(format!("{head}{body}{tail}<presence/>").as_bytes());
        seeds.push((name.to_owned(), bytes));
    }
    // The other SCRAM exchanges: the stages' next message, and whole
    // exchanges from a fresh stream (SCRAM-SHA-512, SCRAM-SHA-256-PLUS and
    // SCRAM-SHA-1-PLUS over direct TLS, and SCRAM-SHA-256 over direct TLS
    // with no -PLUS offered: the client says `y`).
    let success = |v: &str| format!("<success xmlns='{SASL}'>{}</success>", b64(v));
    let bind_features = format!(
        "{HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
    );
    let mut more = vec![
        ("gen-plus-first".to_owned(), challenge(), "plus-first"),
        (
            "gen-plus-final-success".to_owned(),
            format!("{}{bind_features}", success(&plus_final())),
            "plus-final",
        ),
        ("gen-sha1-first".to_owned(), challenge(), "sha1-first"),
        (
            "gen-sha1-final-success".to_owned(),
            format!("{}{bind_features}", success(&sha1_final())),
            "sha1-final",
        ),
        (
            "gen-direct-tls-features".to_owned(),
            plus_features(),
            "direct-tls",
        ),
    ];
    for (name, offer, hash, direct, st) in [
        (
            "gen-sha512-exchange",
            vec!["SCRAM-SHA-512", "PLAIN"],
            ScramHash::Sha512,
            false,
            "fresh",
        ),
        (
            "gen-direct-tls-sha256-plus-exchange",
            vec!["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
            ScramHash::Sha256,
            true,
            "direct-tls",
        ),
        (
            "gen-direct-tls-sha1-plus-exchange",
            vec!["SCRAM-SHA-1-PLUS"],
            ScramHash::Sha1,
            true,
            "direct-tls",
        ),
        (
            "gen-direct-tls-no-plus-exchange",
            vec!["SCRAM-SHA-256"],
            ScramHash::Sha256,
            true,
            "direct-tls",
        ),
    ] {
        let offer = offering(&offer);
        let fin = scram_final_for(direct, &offer, hash);
        more.push((
            name.to_owned(),
            format!("{offer}{}{}{bind_features}", challenge(), success(&fin)),
            st,
        ));
    }
    for (name, data, st) in more {
        let mut bytes = vec![stage(st) | 0x30];
        bytes.extend_from_slice(data.as_bytes());
        seeds.push((name, bytes));
    }
    // One byte at a time, through the whole SCRAM exchange.
    let mut one = vec![stage("scram-first")];
    one.extend_from_slice(
        format!(
            "<challenge xmlns='{SASL}'>{}</challenge>",
            b64(&scram_first())
        )
        .as_bytes(),
    );
    seeds.push(("gen-scram-first-bytewise".to_owned(), one));
    seeds
}
