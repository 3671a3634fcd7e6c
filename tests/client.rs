//! The client Stream against recorded and computed server transcripts:
//! every negotiation path and failure, IQ tracking, closing, and timers.
//! Every test that feeds server bytes feeds them whole, cut at every byte
//! offset, and one byte at a time, and checks that nothing changes
//! (`assert_split_invariant`, `assert_chunking_invariant`); the one
//! exception, bytes after `<proceed/>` in the same read, says why.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::*;
use std::time::Duration;
use xmpp_sansio::negotiation::SaslCondition;
use xmpp_sansio::sasl::{ChannelBinding, Mechanism, SaslError, ScramHash, ScramKeys};
use xmpp_sansio::stanza::{
    ErrorType, Iq, IqType, StanzaError, StanzaErrorCondition, StanzaParseError, StanzaView,
};
use xmpp_sansio::xml::{Element, XmlError, ns};
use xmpp_sansio::{
    ClientConfig, ClosedBy, ConfigError, Error, ErrorKind, Event, InvalidStanzaReason,
    IqRequestPolicy, State, Stream, StreamErrorCondition, TimeoutKind, TlsPolicy, UsageError,
};

const FEATURES_PLAIN: &str = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>";
const FEATURES_BIND: &str =
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
const FEATURES_STARTTLS: &str =
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>";
const SUCCESS: &str = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
/// The server's closing tag: after a failure, `Event::Closed` waits for it
/// (RFC 6120 §4.4).
const PEER_CLOSE: &str = "</stream:stream>";

/// The id the client (with its fixed seed) gives its n-th IQ.
fn iq_id(config: &ClientConfig, n: usize) -> String {
    let now = epoch();
    // Ids depend only on the seed: probe over a plaintext PLAIN login.
    let mut probe = config.clone();
    probe.tls = TlsPolicy::Disabled;
    probe.allow_plaintext_auth = true;
    probe.mechanisms = None;
    probe.auto_bind = true;
    let mut s = Stream::client(probe);
    s.start(now).ok();
    let script = format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    s.handle_input(script.as_bytes(), now).ok();
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    drain(&mut s, &mut out);
    let first = bind_request_id(&out.sent).unwrap_or_default();
    let (prefix, _) = first.rsplit_once('-').unwrap_or_default();
    format!("{prefix}-{n}")
}

/// A short name for an event, for asserting sequences of them.
fn kind(e: &Event) -> &'static str {
    match e {
        Event::Features(_) => "features",
        Event::Authenticated { .. } => "authenticated",
        Event::Online { .. } => "online",
        Event::Message(_) => "message",
        Event::Presence(_) => "presence",
        Event::RosterPush { .. } => "push",
        Event::Unhandled(_) => "unhandled",
        Event::MalformedRequest { .. } => "malformed",
        Event::Closed { error: None, .. } => "closed",
        Event::StreamHeader(_) => "header",
        Event::PeerStreamError(_) => "stream-error",
        _ => "other",
    }
}

fn bind_result(id: &str) -> String {
    format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>"
    )
}

fn error_of(events: &[Event]) -> Option<Error> {
    events.iter().find_map(|e| match e {
        Event::Closed { error, .. } => Some(error.clone()),
        _ => None,
    })?
}

#[test]
fn plain_login_bind_and_stanzas_in_any_chunking() {
    let config = plain_config();
    let bind = iq_id(&config, 1);
    let transcript = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}{}\
         <message from='romeo@example.net/orchard' type='chat'><body>Hi &amp; bye 🌹</body></message>\
         <presence from='coven@chat.shakespeare.lit/Niaj 🚀33'/>\
         <iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\
         <iq type='get' id='v1' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>\
         </stream:stream>",
        bind_result(&bind)
    );
    let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);

    // What the client sent: header, PLAIN, restart, bind, the ping answer,
    // service-unavailable for the unhandled namespace, and the close.
    let plain = BASE64.encode(b"\0juliet\0r0m30");
    assert!(out.sent.starts_with("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>"), "{}", out.sent);
    assert!(out.sent.contains(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>"
    )));
    assert_eq!(
        out.sent.matches("<stream:stream").count(),
        2,
        "a restart after SASL"
    );
    assert!(out.sent.contains(&format!("<iq type='set' id='{bind}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>")));
    assert!(
        out.sent
            .contains("<iq type='result' id='p1' to='example.com'/>")
    );
    assert!(out.sent.contains("<iq type='error' id='v1' to='romeo@example.net/orchard'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"));
    assert!(out.sent.ends_with("</stream:stream>"));

    let kinds: Vec<&str> = out.events.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "header",
            "features",
            "authenticated",
            "header",
            "features",
            "online",
            "message",
            "presence",
            "closed"
        ]
    );
    assert!(out.events.contains(&Event::Online {
        jid: "juliet@example.com/balcony".into()
    }));
    let Some(Event::Message(m)) = out.events.iter().find(|e| matches!(e, Event::Message(_))) else {
        panic!()
    };
    assert_eq!(m.body(None).as_deref(), Some("Hi & bye 🌹"));
    let Some(Event::Presence(p)) = out.events.iter().find(|e| matches!(e, Event::Presence(_)))
    else {
        panic!()
    };
    assert_eq!(
        p.from().map(|a| a.as_str()),
        Some("coven@chat.shakespeare.lit/Niaj 🚀33"),
        "kept though RFC 6122 refuses it"
    );
}

/// STARTTLS, then SCRAM-SHA-256 with the server side computed here from
/// the password, then bind: every phase split at every byte.
#[test]
fn starttls_then_scram_sha256_then_bind_in_any_chunking() {
    let mut config = plain_config();
    config.tls = TlsPolicy::Required;
    config.allow_plaintext_auth = false;
    let pre_tls = format!(
        "{SERVER_HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    );
    let features = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>";

    // Learn the client's (seeded, so fixed) SCRAM first message.
    let probe = run_phases(
        config.clone(),
        &[&pre_tls, &format!("{SERVER_HEADER}{features}")],
        &[],
        &ChannelBinding::None,
    );
    let auth_b64 = probe
        .sent
        .split("mechanism='SCRAM-SHA-256'>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default();
    let client_first =
        String::from_utf8(BASE64.decode(auth_b64).unwrap_or_default()).unwrap_or_default();
    assert!(client_first.starts_with("n,,n=juliet,r="), "{client_first}");
    let client_nonce = client_first.rsplit("r=").next().unwrap_or_default();
    let salt = b"NaCl-of-Verona";
    let server_first = format!("r={client_nonce}SRV,s={},i=64", BASE64.encode(salt));
    let without_proof = format!("c=biws,r={client_nonce}SRV");
    let auth_message = format!("{},{server_first},{without_proof}", &client_first[3..]);
    let keys = ScramKeys::derive(ScramHash::Sha256, "r0m30", salt, 64);
    let proof = BASE64.encode(keys.client_proof(ScramHash::Sha256, auth_message.as_bytes()));
    let server_final = format!(
        "v={}",
        BASE64.encode(keys.server_signature(ScramHash::Sha256, auth_message.as_bytes()))
    );
    let bind = iq_id(&config, 1);
    let post_tls = format!(
        "{SERVER_HEADER}{features}<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>\
         <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>{SERVER_HEADER}{FEATURES_BIND}{}",
        BASE64.encode(&server_first),
        BASE64.encode(&server_final),
        bind_result(&bind)
    );
    let out = assert_split_invariant(&config, &[&pre_tls, &post_tls], &ChannelBinding::None);
    assert!(
        out.sent
            .contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    );
    assert_eq!(
        out.events
            .iter()
            .filter(|e| matches!(e, Event::StartTls))
            .count(),
        1
    );
    // After TLS the header carries our bare JID (RFC 6120 §4.7.1).
    assert_eq!(out.sent.matches("from='juliet@example.com'").count(), 2);
    let response = format!(
        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
        BASE64.encode(format!("{without_proof},p={proof}"))
    );
    assert!(
        out.sent.contains(&response),
        "the client proof an independent server accepts"
    );
    assert!(out.events.contains(&Event::Authenticated {
        mechanism: Mechanism::ScramSha256
    }));
    assert!(out.events.contains(&Event::Online {
        jid: "juliet@example.com/balcony".into()
    }));
}

/// The client's (seeded, so fixed) SCRAM client-first message and nonce
/// for `config` against `features`.
fn scram_client_first(config: &ClientConfig, features: &str, mechanism: &str) -> (String, String) {
    let probe = run_phases(
        config.clone(),
        &[&format!("{SERVER_HEADER}{features}")],
        &[],
        &ChannelBinding::None,
    );
    let auth_b64 = probe
        .sent
        .split(&format!("mechanism='{mechanism}'>"))
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default();
    let client_first =
        String::from_utf8(BASE64.decode(auth_b64).unwrap_or_default()).unwrap_or_default();
    let nonce = client_first
        .rsplit("r=")
        .next()
        .unwrap_or_default()
        .to_owned();
    (client_first, nonce)
}

const FEATURES_SCRAM_SHA1: &str = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>";
const ABORT: &str = "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";

fn challenge(data: &str) -> String {
    format!(
        "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
        BASE64.encode(data)
    )
}

/// A stream online as juliet@example.com/balcony, for the chunking harness.
fn online(config: ClientConfig) -> impl Fn(std::time::Instant) -> Stream {
    move |now| online_stream(config.clone(), now).0
}

#[test]
fn a_server_that_does_not_know_the_password_is_caught() {
    let mut config = plain_config();
    config.mechanisms = Some(vec![Mechanism::ScramSha1]);
    let (_, nonce) = scram_client_first(&config, FEATURES_SCRAM_SHA1, "SCRAM-SHA-1");
    // A low iteration count keeps the run at every cut point fast; the
    // count plays no part in what is tested.
    let server_first = format!("r={nonce}x,s={},i=64", BASE64.encode(b"salt"));
    let transcript = format!(
        "{SERVER_HEADER}{FEATURES_SCRAM_SHA1}{}<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>{PEER_CLOSE}",
        challenge(&server_first),
        BASE64.encode("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    );
    let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
    assert_eq!(
        error_of(&out.events),
        Some(Error::Sasl(SaslError::ServerSignatureMismatch))
    );
    assert!(
        !out.events
            .iter()
            .any(|e| matches!(e, Event::Authenticated { .. } | Event::Online { .. }))
    );
    assert!(
        !out.sent.contains(ABORT),
        "after <success/> there is no exchange left to abort"
    );
}

/// A server that sends its SCRAM final message as a challenge, then a
/// success with `=` (explicitly empty data, RFC 6120 §6.4.6).
#[test]
fn scram_final_as_challenge_then_success_with_equals() {
    let mut config = plain_config();
    config.mechanisms = Some(vec![Mechanism::ScramSha1]);
    let (client_first, nonce) = scram_client_first(&config, FEATURES_SCRAM_SHA1, "SCRAM-SHA-1");
    let server_first = format!("r={nonce}S,s={},i=16", BASE64.encode(b"salt"));
    let auth_message = format!("{},{server_first},c=biws,r={nonce}S", &client_first[3..]);
    let keys = ScramKeys::derive(ScramHash::Sha1, "r0m30", b"salt", 16);
    let server_final = format!(
        "v={}",
        BASE64.encode(keys.server_signature(ScramHash::Sha1, auth_message.as_bytes()))
    );
    let transcript = format!(
        "{SERVER_HEADER}{FEATURES_SCRAM_SHA1}{}{}<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</success>",
        challenge(&server_first),
        challenge(&server_final)
    );
    let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
    assert!(
        out.events.contains(&Event::Authenticated {
            mechanism: Mechanism::ScramSha1
        }),
        "{:?}",
        out.events
    );
    assert!(
        out.sent
            .contains("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
        "an empty response to the final challenge"
    );
}

/// RFC 6120 §6.4.4: a client that cannot go on with the exchange aborts
/// it, then (here) closes the stream.
#[test]
fn a_challenge_the_client_cannot_answer_is_aborted() {
    let mut config = plain_config();
    config.mechanisms = Some(vec![Mechanism::ScramSha1]);
    let (_, nonce) = scram_client_first(&config, FEATURES_SCRAM_SHA1, "SCRAM-SHA-1");
    let salt = BASE64.encode(b"salt");
    let not_base64 =
        "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>!!not base64!!</challenge>";
    for (challenge, expected) in [
        (
            challenge(&format!("r=someone-else,s={salt},i=16")),
            SaslError::NonceMismatch,
        ),
        (
            not_base64.to_owned(),
            SaslError::MalformedChallenge("not base64"),
        ),
        (
            challenge(&format!("r={nonce}x,s={salt},i=600001")),
            SaslError::TooManyIterations {
                iterations: 600_001,
                max: xmpp_sansio::sasl::DEFAULT_MAX_ITERATIONS,
            },
        ),
    ] {
        let transcript = format!("{SERVER_HEADER}{FEATURES_SCRAM_SHA1}{challenge}{PEER_CLOSE}");
        let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
        assert_eq!(error_of(&out.events), Some(Error::Sasl(expected)));
        assert!(
            out.sent.ends_with(&format!("{ABORT}</stream:stream>")),
            "{}",
            out.sent
        );
        assert!(!out.sent.contains("<stream:error>"));
        assert!(!out.sent.contains("<response"));
    }

    // PLAIN has no challenges: a non-empty one is aborted too.
    let transcript = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}{}{PEER_CLOSE}",
        challenge("x")
    );
    let out = assert_split_invariant(&plain_config(), &[&transcript], &ChannelBinding::None);
    assert_eq!(
        error_of(&out.events),
        Some(Error::Sasl(SaslError::UnexpectedChallenge))
    );
    assert!(out.sent.ends_with(&format!("{ABORT}</stream:stream>")));
}

#[test]
fn the_scram_iteration_cap_is_configurable() {
    let mut config = plain_config();
    config.mechanisms = Some(vec![Mechanism::ScramSha1]);
    config.max_scram_iterations = 100;
    let (_, nonce) = scram_client_first(&config, FEATURES_SCRAM_SHA1, "SCRAM-SHA-1");
    let salt = BASE64.encode(b"salt");
    let above = format!(
        "{SERVER_HEADER}{FEATURES_SCRAM_SHA1}{}{PEER_CLOSE}",
        challenge(&format!("r={nonce}x,s={salt},i=101"))
    );
    let out = assert_split_invariant(&config, &[&above], &ChannelBinding::None);
    assert_eq!(
        error_of(&out.events),
        Some(Error::Sasl(SaslError::TooManyIterations {
            iterations: 101,
            max: 100
        }))
    );
    assert!(out.sent.contains(ABORT));
    let at = format!(
        "{SERVER_HEADER}{FEATURES_SCRAM_SHA1}{}",
        challenge(&format!("r={nonce}x,s={salt},i=100"))
    );
    let out = assert_split_invariant(&config, &[&at], &ChannelBinding::None);
    assert_eq!(error_of(&out.events), None);
    assert!(
        out.sent
            .contains("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>")
    );
    assert!(!out.sent.contains(ABORT));
}

/// XEP-0440: a server that lists its channel-binding types rules out
/// -PLUS with any other type, even when the caller prefers -PLUS.
#[test]
fn plus_is_skipped_when_the_server_lists_other_binding_types() {
    let mut config = plain_config();
    config.mechanisms = Some(vec![Mechanism::ScramSha256Plus, Mechanism::ScramSha256]);
    let features = |types: &str| {
        format!(
            "{SERVER_HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             <mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>SCRAM-SHA-256</mechanism></mechanisms>\
             <sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>{types}</sasl-channel-binding></stream:features>"
        )
    };
    let exporter = ChannelBinding::TlsExporter(vec![9; 32]);
    let run = |types: &str| {
        let transcript = features(types);
        assert_chunking_invariant(
            |now| {
                let mut s = Stream::client_over_tls(config.clone(), exporter.clone());
                s.start(now).ok();
                s
            },
            |d| {
                d.feed(&transcript).ok();
            },
        )
        .0
    };
    let out = run("<channel-binding type='tls-server-end-point'/>");
    let auth = out.sent.split("<auth ").nth(1).unwrap_or_default();
    assert!(
        auth.starts_with("xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>"),
        "{auth}"
    );
    let first = auth
        .split('>')
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap_or_default();
    let first = String::from_utf8(BASE64.decode(first).unwrap_or_default()).unwrap_or_default();
    assert!(
        first.starts_with("n,,"),
        "the server offered -PLUS, so not `y`: {first}"
    );

    let out =
        run("<channel-binding type='tls-exporter'/><channel-binding type='tls-server-end-point'/>");
    assert!(
        out.sent.contains("mechanism='SCRAM-SHA-256-PLUS'"),
        "{}",
        out.sent
    );
}

/// RFC 6120 §6.5: the failure's condition, and every `<text/>` with its
/// language (its own `xml:lang`, else the stream header's), as stream and
/// stanza errors keep theirs.
#[test]
fn sasl_failure_is_typed_with_every_text_and_its_language() {
    let transcript = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><account-disabled/>\
         <text xml:lang='de'>Rufen Sie 212-555-1212 an.</text>\
         <text>Call 212-555-1212 for help.</text>\
         <text xml:lang='fr'>Appelez le 212-555-1212.</text></failure>{PEER_CLOSE}"
    );
    let out = assert_split_invariant(&plain_config(), &[&transcript], &ChannelBinding::None);
    let Some(Error::AuthFailed(failure)) = error_of(&out.events) else {
        panic!("{:?}", out.events)
    };
    assert_eq!(failure.condition, SaslCondition::AccountDisabled);
    assert_eq!(
        failure.texts,
        [
            (Some("de".into()), "Rufen Sie 212-555-1212 an.".into()),
            (Some("en".into()), "Call 212-555-1212 for help.".into()),
            (Some("fr".into()), "Appelez le 212-555-1212.".into()),
        ]
    );
    assert_eq!(
        failure.text(Some("EN")),
        Some("Call 212-555-1212 for help.")
    );
    assert_eq!(failure.text(Some("fr")), Some("Appelez le 212-555-1212."));
    assert_eq!(failure.text(Some("ja")), Some("Rufen Sie 212-555-1212 an."));
    assert!(out.sent.ends_with("</stream:stream>"));
}

/// A bind error reply for the request `id`.
fn bind_error(id: &str, condition: &str) -> String {
    format!(
        "<iq type='error' id='{id}'><error type='cancel'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    )
}

const BIND_ANY: &str = "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>";

/// What a binding stream reports, as short names (features and
/// authentication left out).
fn bind_story(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::BindFailed { error, resource } => Some(format!(
                "failed {} {}",
                error.condition.as_str(),
                resource.as_deref().unwrap_or("-")
            )),
            Event::ReadyToBind { attempts_left } => Some(format!("ready {attempts_left}")),
            Event::Online { jid, .. } => Some(format!("online {jid}")),
            Event::Closed { error, .. } => Some(format!(
                "closed {}",
                match error {
                    Some(Error::BindFailed(e)) => e.condition.as_str().to_owned(),
                    other => format!("{other:?}"),
                }
            )),
            _ => None,
        })
        .collect()
}

/// RFC 6120 §7.7.2.1, §7.7.2.2: with `auto_bind`, a requested resource the
/// server refuses (`conflict`, `bad-request`) is reported, and the stream
/// lets the server choose one instead; the stream does not end.
#[test]
fn a_refused_resource_is_retried_with_a_server_generated_one() {
    let config = plain_config();
    let (first, second) = (iq_id(&config, 1), iq_id(&config, 2));
    for condition in ["conflict", "bad-request"] {
        let transcript = format!(
            "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}{}\
             <iq type='result' id='{second}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/4db0</jid></bind></iq>",
            bind_error(&first, condition)
        );
        let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
        assert!(out.sent.contains(&format!(
            "<iq type='set' id='{first}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>\
             <iq type='set' id='{second}'>{BIND_ANY}</iq>"
        )));
        assert_eq!(
            bind_story(&out.events),
            [
                format!("failed {condition} balcony"),
                "online juliet@example.com/4db0".to_owned()
            ]
        );
    }
}

/// With `auto_bind`, a refusal the stream cannot work around (a refused
/// server-generated resource, `not-allowed`, `resource-constraint`, or no
/// attempt left) is reported, then ends the stream with `BindFailed`.
#[test]
fn bind_refusals_without_a_way_around_end_the_stream() {
    let config = plain_config();
    let (first, second) = (iq_id(&config, 1), iq_id(&config, 2));
    let pre_bind =
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    let mut server_chooses = config.clone();
    server_chooses.resource = None;
    let mut one_attempt = config.clone();
    one_attempt.bind_attempts = 1;
    let mut zero_is_one = config.clone();
    zero_is_one.bind_attempts = 0;
    let cases: [(&ClientConfig, String, &[&str]); 7] = [
        (
            &config,
            bind_error(&first, "not-allowed"),
            &["failed not-allowed balcony", "closed not-allowed"],
        ),
        (
            &config,
            bind_error(&first, "resource-constraint"),
            &[
                "failed resource-constraint balcony",
                "closed resource-constraint",
            ],
        ),
        (
            &server_chooses,
            bind_error(&first, "conflict"),
            &["failed conflict -", "closed conflict"],
        ),
        (
            &one_attempt,
            bind_error(&first, "conflict"),
            &["failed conflict balcony", "closed conflict"],
        ),
        (
            &zero_is_one,
            bind_error(&first, "conflict"),
            &["failed conflict balcony", "closed conflict"],
        ),
        (
            &config,
            bind_error(&first, "conflict") + &bind_error(&second, "conflict"),
            &[
                "failed conflict balcony",
                "failed conflict -",
                "closed conflict",
            ],
        ),
        (
            &config,
            bind_error(&first, "conflict") + &bind_error(&second, "internal-server-error"),
            &[
                "failed conflict balcony",
                "failed internal-server-error -",
                "closed internal-server-error",
            ],
        ),
    ];
    for (config, replies, story) in cases {
        let out = assert_split_invariant(
            config,
            &[&format!("{pre_bind}{replies}{PEER_CLOSE}")],
            &ChannelBinding::None,
        );
        assert_eq!(bind_story(&out.events), story, "{replies}");
        assert_eq!(
            out.sent.matches("<iq type='set'").count(),
            story.len() - 1,
            "one bind per refusal: {}",
            out.sent
        );
        assert!(out.sent.ends_with("</stream:stream>"));
    }
}

/// Without `auto_bind`, the stream waits after authentication
/// (`ReadyToBind`, still `Negotiating`) until `Stream::bind`, which picks
/// the resource; every refusal is reported and the application binds
/// again, until `bind_attempts` are spent.
#[test]
fn the_application_binds_when_auto_bind_is_off() {
    let mut config = plain_config();
    config.auto_bind = false;
    config.iq_requests = IqRequestPolicy::Namespaces(vec!["urn:example:early".into()]);
    let ids: Vec<String> = (1..=3).map(|n| iq_id(&config, n)).collect();
    let pre_bind =
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            let now = d.now;
            assert_eq!(d.stream.bind(None, now), Err(UsageError::NotAwaitingBind));
            d.feed(&pre_bind).ok();
            let recent = d.recent();
            assert_eq!(bind_story(&recent.events), ["ready 3"]);
            assert!(!recent.sent.contains("xmpp-bind"), "{}", recent.sent);
            assert_eq!(d.stream.state(), State::Negotiating);
            // The server may still reach us, and be answered, meanwhile.
            d.feed(
                "<iq type='get' id='s1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\
                 <iq type='get' id='s2' from='example.com'><query xmlns='urn:example:early'/></iq>",
            )
            .ok();
            let recent = d.recent();
            assert_eq!(recent.sent, "<iq type='result' id='s1' to='example.com'/>");
            let [Event::IqRequest(early)] = recent.events.as_slice() else {
                panic!("{:?}", recent.events)
            };
            assert_eq!(d.stream.reply_iq_result(early, None, now), Ok(()));
            d.recent();

            assert!(matches!(
                d.stream.bind(Some(""), now),
                Err(UsageError::InvalidConfig(
                    ConfigError::InvalidResource { .. }
                ))
            ));
            assert_eq!(
                d.stream.bind(Some(&"r".repeat(1024)), now),
                Err(UsageError::InvalidConfig(ConfigError::ResourceTooLong {
                    len: 1024
                }))
            );
            assert!(matches!(
                d.stream.bind(Some("desk\u{7}"), now),
                Err(UsageError::InvalidConfig(
                    ConfigError::InvalidResource { .. }
                ))
            ));
            assert_eq!(d.recent().sent, "", "a refused call sends nothing");
            assert_eq!(d.stream.bind(Some("desk"), now), Ok(()));
            assert_eq!(
                d.recent().sent,
                format!(
                    "<iq type='set' id='{}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>desk</resource></bind></iq>",
                    ids[0]
                )
            );
            assert_eq!(
                d.stream.bind(None, now),
                Err(UsageError::NotAwaitingBind),
                "one at a time"
            );
            // Any refusal leaves the choice to the application.
            d.feed(bind_error(&ids[0], "not-allowed")).ok();
            assert_eq!(
                bind_story(&d.recent().events),
                ["failed not-allowed desk", "ready 2"]
            );
            assert_eq!(d.stream.bind(Some("desk"), now), Ok(()));
            d.feed(bind_error(&ids[1], "conflict")).ok();
            assert_eq!(
                bind_story(&d.recent().events),
                ["failed conflict desk", "ready 1"]
            );
            assert_eq!(d.stream.bind(None, now), Ok(()));
            assert_eq!(
                d.recent().sent,
                format!("<iq type='set' id='{}'>{BIND_ANY}</iq>", ids[2])
            );
            d.feed(format!(
                "<iq type='result' id='{}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/4db0</jid></bind></iq>",
                ids[2]
            ))
            .ok();
            assert_eq!(
                bind_story(&d.recent().events),
                ["online juliet@example.com/4db0"]
            );
            assert_eq!(d.stream.bind(None, now), Err(UsageError::NotAwaitingBind));
            d.stream.close(now);
            assert_eq!(d.stream.bind(None, now), Err(UsageError::Closed));
        },
    );
}

/// The last attempt's refusal ends the stream, `ReadyToBind` or not; the
/// negotiation timeout bounds the wait for `Stream::bind`.
#[test]
fn manual_binding_is_bounded_by_attempts_and_the_negotiation_timeout() {
    let mut config = plain_config();
    config.auto_bind = false;
    config.bind_attempts = 2;
    let ids: Vec<String> = (1..=2).map(|n| iq_id(&config, n)).collect();
    let pre_bind =
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    let (out, ()) = assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            d.feed(&pre_bind).ok();
            d.stream.bind(Some("desk"), d.now).ok();
            d.feed(bind_error(&ids[0], "conflict")).ok();
            d.stream.bind(Some("desk"), d.now).ok();
            let result = d.feed(bind_error(&ids[1], "conflict"));
            assert!(matches!(result, Err(Error::BindFailed(_))), "{result:?}");
            d.feed(PEER_CLOSE).ok();
        },
    );
    assert_eq!(
        bind_story(&out.events),
        [
            "ready 2",
            "failed conflict desk",
            "ready 1",
            "failed conflict desk",
            "closed conflict"
        ]
    );

    let now = epoch();
    let mut s = started(&config, now);
    s.handle_input(pre_bind.as_bytes(), now).ok();
    let due = s.poll_timeout().unwrap_or(now);
    assert_eq!(due, now + Duration::from_secs(60));
    s.handle_timeout(due);
    assert_eq!(s.error(), Some(&Error::Timeout(TimeoutKind::Negotiation)));
    // With auto_bind, binding is the stream's business.
    let mut auto = started(&plain_config(), now);
    auto.handle_input(pre_bind.as_bytes(), now).ok();
    assert_eq!(auto.bind(None, now), Err(UsageError::NotAwaitingBind));
}

#[test]
fn session_is_requested_only_when_not_optional() {
    let config = plain_config();
    let bind = iq_id(&config, 1);
    let session = iq_id(&config, 2);
    let with = |session_feature: &str| {
        format!(
            "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{session_feature}</stream:features>{}",
            bind_result(&bind)
        )
    };
    let optional = assert_split_invariant(
        &config,
        &[&with(
            "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>",
        )],
        &ChannelBinding::None,
    );
    assert!(!optional.sent.contains("xmpp-session"));
    assert!(
        optional
            .events
            .iter()
            .any(|e| matches!(e, Event::Online { .. }))
    );

    let required = with("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>")
        + &format!("<iq type='result' id='{session}'/>");
    let out = assert_split_invariant(&config, &[&required], &ChannelBinding::None);
    assert!(out.sent.contains(&format!(
        "<iq type='set' id='{session}'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"
    )));
    assert!(out.events.iter().any(|e| matches!(e, Event::Online { .. })));
}

#[test]
fn tls_policies() {
    let starttls = format!(
        "{SERVER_HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
    );
    let no_tls = format!("{SERVER_HEADER}{FEATURES_PLAIN}");
    let none = ChannelBinding::None;
    let mut required = plain_config();
    required.tls = TlsPolicy::Required;
    assert_eq!(
        error_of(
            &assert_split_invariant(&required, &[&(no_tls.clone() + PEER_CLOSE)], &none).events
        ),
        Some(Error::TlsUnavailable)
    );
    assert_eq!(
        error_of(
            &assert_split_invariant(&plain_config(), &[&(starttls.clone() + PEER_CLOSE)], &none)
                .events
        ),
        Some(Error::TlsRequiredByServer)
    );
    let mut preferred = plain_config();
    preferred.tls = TlsPolicy::Preferred;
    let out = assert_split_invariant(&preferred, &[&no_tls], &none);
    assert!(
        out.sent.contains("mechanism='PLAIN'"),
        "continues without TLS"
    );

    // PLAIN is never used in the clear unless allowed.
    let mut strict = plain_config();
    strict.allow_plaintext_auth = false;
    let out = assert_split_invariant(&strict, &[&(no_tls.clone() + PEER_CLOSE)], &none);
    assert_eq!(
        error_of(&out.events),
        Some(Error::NoMechanism {
            offered: vec!["PLAIN".into()]
        })
    );

    // Plaintext injected after <proceed/> is never processed. This case is
    // about read boundaries by design: bytes after <proceed/> in the *same*
    // read are the injection, while the same bytes in a later read (after
    // the split) are input before `tls_established`. Both are refused, but
    // at different points, so it is fed whole and not split.
    let injected = format!(
        "{starttls}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    );
    let out = run_phases(required.clone(), &[&injected], &[], &none);
    assert_eq!(error_of(&out.events), Some(Error::DataAfterProceed));
    // Any read while TLS is pending is refused, however the one before was cut.
    let proceed = format!("{starttls}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    let (out, results) = assert_chunking_invariant(
        |now| started(&required, now),
        |d| {
            let first = d.feed(&proceed);
            let state = d.stream.state();
            (first, state, d.feed(" "))
        },
    );
    assert_eq!(
        results,
        (Ok(()), State::AwaitingTls, Err(Error::DataAfterProceed))
    );
    assert_eq!(error_of(&out.events), Some(Error::DataAfterProceed));

    // Direct TLS: no STARTTLS, `from` in the first header, PLAIN allowed.
    let mut direct = plain_config();
    direct.tls = TlsPolicy::Required;
    direct.allow_plaintext_auth = false;
    let (out, ()) = assert_chunking_invariant(
        |now| {
            let mut s = Stream::client_over_tls(direct.clone(), ChannelBinding::None);
            s.start(now).ok();
            s
        },
        |d| {
            d.feed(&no_tls).ok();
        },
    );
    assert!(
        out.sent.contains("from='juliet@example.com'") && out.sent.contains("mechanism='PLAIN'")
    );
    assert!(!out.sent.contains("starttls"));
}

#[test]
fn pipelined_header_after_success_in_one_read() {
    let config = plain_config();
    let bind = iq_id(&config, 1);
    let all = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}{}",
        bind_result(&bind)
    );
    let out = assert_split_invariant(&config, &[&all], &ChannelBinding::None);
    assert!(out.events.iter().any(|e| matches!(e, Event::Online { .. })));
}

#[test]
fn header_problems_are_stream_errors() {
    let wrong_ns = "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    let old =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    for (header, condition) in [
        (wrong_ns, StreamErrorCondition::InvalidNamespace),
        (old, StreamErrorCondition::UnsupportedVersion),
    ] {
        let transcript = format!("{header}{PEER_CLOSE}");
        let out = assert_split_invariant(&plain_config(), &[&transcript], &ChannelBinding::None);
        assert_eq!(
            error_of(&out.events).and_then(|e| e.condition()),
            Some(condition)
        );
        assert!(
            out.sent.contains(&format!(
                "<stream:error><{} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>",
                condition.as_str()
            )),
            "{}",
            out.sent
        );
        assert!(out.sent.ends_with("</stream:stream>"));
    }
}

#[test]
fn bad_xml_from_the_server_is_answered_with_the_right_stream_error_and_is_sticky() {
    let config = plain_config();
    let input = format!("{SERVER_HEADER}<!-- no comments in XMPP -->");
    let (out, (err, again, states)) = assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            let err = d.feed(&input);
            // The input cannot be read any more, so the peer's closing tag
            // cannot be seen: its end of file (or the close timeout) ends
            // the stream, with the error already reported.
            let again = d.feed("<message/></stream:stream>");
            let waiting = d.stream.state();
            d.stream.handle_eof(d.now);
            (err, again, (waiting, d.stream.state()))
        },
    );
    assert_eq!(err, Err(Error::Xml(XmlError::RestrictedXml("comment"))));
    assert_eq!(again, err, "sticky");
    assert!(
        out.sent.contains(
            "<stream:error><restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        )
    );
    assert!(out.sent.ends_with("</stream:stream>"));
    assert_eq!(states, (State::Closing, State::Closed));
    assert_eq!(error_of(&out.events), err.err());
    assert_eq!(
        out.events
            .iter()
            .filter(|e| matches!(e, Event::Closed { .. }))
            .count(),
        1
    );
}

/// XML 1.0 §3 at the stream: a wrong end tag fails the stream with
/// `not-well-formed` when it is read, and the stanzas after it are not
/// swallowed into the open one (nor delivered).
#[test]
fn a_mismatched_end_tag_is_not_well_formed_at_once() {
    let from = "from='romeo@example.net/orchard' to='juliet@example.com/balcony'";
    let input =
        format!("<message {from}><body>x</message><message {from}><body>second</body></message>");
    let (out, (err, state)) = assert_chunking_invariant(online(plain_config()), |d| {
        (d.feed(&input), d.stream.state())
    });
    let Err(Error::Xml(e)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.condition(), StreamErrorCondition::NotWellFormed);
    assert!(matches!(state, State::Closing | State::Closed), "{state:?}");
    assert!(
        out.sent.contains(
            "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        ),
        "{}",
        out.sent
    );
    assert!(!out.events.iter().any(|e| matches!(e, Event::Message(_))));
}

/// RFC 6120 §4.8.5: a stanza qualified by the content namespace through a
/// prefix is not surfaced; the stream ends with `bad-namespace-prefix`
/// (§4.9.3.2). Prefixed stream-namespace elements are not concerned.
#[test]
fn a_prefixed_stanza_in_the_content_namespace_is_bad_namespace_prefix() {
    let input = "<foo:message xmlns:foo='jabber:client' from='romeo@example.net/orchard' to='juliet@example.com/balcony'><foo:body>hi</foo:body></foo:message>";
    let (out, err) = assert_chunking_invariant(online(plain_config()), |d| d.feed(input));
    assert_eq!(
        err,
        Err(Error::Xml(XmlError::BadNamespacePrefix("foo".into())))
    );
    assert!(
        out.sent.contains(
            "<stream:error><bad-namespace-prefix xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        ),
        "{}",
        out.sent
    );
    assert!(out.sent.ends_with("</stream:stream>"));
    assert!(!out.events.iter().any(|e| matches!(e, Event::Message(_))));
}

#[test]
fn a_received_stream_error_ends_the_stream_with_its_details() {
    let transcript = format!(
        "{SERVER_HEADER}<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:db8::ea:9]:9552</see-other-host><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>moved</text></stream:error></stream:stream>"
    );
    let out = assert_split_invariant(&plain_config(), &[&transcript], &ChannelBinding::None);
    let Some(Error::PeerStreamError(e)) = error_of(&out.events) else {
        panic!("{:?}", out.events)
    };
    assert_eq!(e.condition, StreamErrorCondition::SeeOtherHost);
    let target = e.see_other_host();
    assert_eq!(
        target.as_ref().map(|t| (t.host.as_str(), t.port)),
        Some(("2001:db8::ea:9", Some(9552)))
    );
    assert!(out.sent.ends_with("</stream:stream>"));
    assert!(
        !out.sent.contains("<stream:error>"),
        "a stream error is not answered with another"
    );
}

#[test]
fn iq_replies_match_on_id_and_sender_and_time_out() {
    assert_chunking_invariant(online(plain_config()), |d| {
        let now = d.now;
        assert_eq!(d.stream.state(), State::Online);
        let version = Element::new("query", "jabber:iq:version");
        let romeo = Some("romeo@example.net/orchard");
        let id = d
            .stream
            .send_iq(IqType::Get, romeo, version.clone(), now)
            .unwrap_or_default();
        let other = d
            .stream
            .send_iq(IqType::Get, romeo, version, now)
            .unwrap_or_default();
        assert!(d.recent().sent.contains(&format!("<iq type='get' id='{id}' to='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>")));

        // A reply from someone else is not a reply (RFC 6120 §8.1.2.1).
        d.feed(format!(
            "<iq type='result' id='{id}' from='mallory@evil.example/x'><query xmlns='jabber:iq:version'><name>x</name></query></iq>"
        ))
        .ok();
        d.feed(format!(
            "<iq type='result' id='{id}' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'><name>Verona</name></query></iq>"
        ))
        .ok();
        d.feed(format!(
            "<iq type='error' id='{other}' from='romeo@example.net/orchard'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        ))
        .ok();
        let fresh = d.recent();
        assert_eq!(fresh.events.len(), 3, "{:?}", fresh.events);
        assert!(
            matches!(&fresh.events[0], Event::Unhandled(e) if e.attr("from") == Some("mallory@evil.example/x"))
        );
        assert!(
            matches!(&fresh.events[1], Event::IqResult { id: i, payload: Some(p), .. } if *i == id && p.has_child("name", "jabber:iq:version"))
        );
        assert!(
            matches!(&fresh.events[2], Event::IqError { id: i, error, .. } if *i == other && error.condition == StanzaErrorCondition::ItemNotFound)
        );
        assert!(fresh.sent.is_empty(), "never answer a result or an error");

        // Prosody answers requests to our own bare JID without `from`.
        let roster = d
            .stream
            .send_iq(
                IqType::Get,
                Some("juliet@example.com"),
                Element::new("query", ns::ROSTER),
                now,
            )
            .unwrap_or_default();
        d.feed(format!("<iq type='result' id='{roster}'/>")).ok();
        assert!(
            matches!(d.recent().events.as_slice(), [Event::IqResult { id, .. }] if *id == roster)
        );

        // Timeouts come from poll_timeout, and only when due.
        let late = d
            .stream
            .send_iq(
                IqType::Get,
                None,
                Element::new("query", "jabber:iq:last"),
                now,
            )
            .unwrap_or_default();
        let due = d.stream.poll_timeout().unwrap_or(now);
        assert_eq!(due, now + Duration::from_secs(60));
        d.stream.handle_timeout(due - Duration::from_millis(1));
        assert_eq!(d.recent().events, [], "early handle_timeout does nothing");
        d.stream.handle_timeout(due);
        assert_eq!(d.recent().events, [Event::IqTimeout { id: late.clone() }]);
        d.feed(format!("<iq type='result' id='{late}'/>")).ok();
        assert!(
            matches!(d.recent().events.as_slice(), [Event::Unhandled(_)]),
            "a late reply is not reported as the reply"
        );
    });
}

/// RFC 6120 §8.1.2.1 and RFC 6121 §8.5.2, case by case (see `src/iq.rs`):
/// who may answer a request, by where it was sent.
#[test]
fn iq_reply_senders_follow_rfc6120() {
    const BARE: &str = "juliet@example.com";
    const FULL: &str = "juliet@example.com/balcony";
    const DOMAIN: &str = "example.com";
    const ROMEO: &str = "romeo@example.net/orchard";
    const ODD: &str = "romeo@exa mple.net"; // the jid crate refuses it
    let cases: &[(Option<&str>, Option<&str>, bool)] = &[
        // No `to`: the server answers for the account, or as itself.
        (None, None, true),
        (None, Some(BARE), true),
        (None, Some("JULIET@example.com"), true),
        (None, Some(DOMAIN), true),
        (None, Some(FULL), false),
        (None, Some("juliet@example.com/other"), false),
        (None, Some(ROMEO), false),
        // Our bare JID means the account, as no `to` does.
        (Some(BARE), None, true),
        (Some(BARE), Some(BARE), true),
        (Some(BARE), Some(DOMAIN), true),
        (Some(BARE), Some(FULL), false),
        // Our full JID, the domain, anyone else: exactly that address.
        (Some(FULL), Some(FULL), true),
        (Some(FULL), None, false),
        (Some(FULL), Some(BARE), false),
        (Some(DOMAIN), Some("EXAMPLE.COM"), true),
        (Some(DOMAIN), None, false),
        (Some(DOMAIN), Some(BARE), false),
        (Some(ROMEO), Some("Romeo@EXAMPLE.net/orchard"), true),
        (Some(ROMEO), Some("romeo@example.net/Orchard"), false),
        (Some(ROMEO), Some("romeo@example.net"), false),
        (Some(ROMEO), None, false),
        (Some(ROMEO), Some(DOMAIN), false),
        (Some(ROMEO), Some(BARE), false),
        (Some(ODD), Some(ODD), true),
        (Some(ODD), Some("romeo@exa  mple.net"), false),
    ];
    assert_chunking_invariant(online(plain_config()), |d| {
        let now = d.now;
        for &(to, from, accepted) in cases {
            let id = d
                .stream
                .send_iq(IqType::Get, to, Element::new("query", "urn:example:q"), now)
                .unwrap_or_default();
            d.recent();
            let from_attr = |f: Option<&str>| f.map(|f| format!(" from='{f}'")).unwrap_or_default();
            d.feed(format!("<iq type='result' id='{id}'{}/>", from_attr(from)))
                .ok();
            let events = d.recent().events;
            if accepted {
                assert!(
                    matches!(events.as_slice(), [Event::IqResult { id: i, from: f, .. }] if *i == id && f.as_deref() == from),
                    "to {to:?}, from {from:?}: {events:?}"
                );
            } else {
                // A spoofed or misaddressed reply is reported as such and
                // leaves the request pending for the genuine one.
                assert!(
                    matches!(events.as_slice(), [Event::Unhandled(e)] if e.attr("from") == from),
                    "to {to:?}, from {from:?}: {events:?}"
                );
                d.feed(format!("<iq type='result' id='{id}'{}/>", from_attr(to)))
                    .ok();
                assert!(
                    matches!(d.recent().events.as_slice(), [Event::IqResult { id: i, .. }] if *i == id),
                    "the genuine reply to {to:?} still matches"
                );
            }
        }
    });
}

#[test]
fn inbound_requests_follow_the_policy_and_get_exactly_one_reply() {
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::Namespaces(vec!["jabber:iq:version".into()]);
    let (out, ()) = assert_chunking_invariant(online(config), |d| {
        let now = d.now;
        d.feed(
            "<iq type='get' id='q1' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>\
             <iq type='set' id='q2' from='romeo@example.net/orchard'/>\
             <iq type='get' id='q3' from='romeo@example.net/orchard'><query xmlns='jabber:iq:last'/></iq>\
             <iq type='get' id='q1' from='nurse@example.com/chamber'><query xmlns='jabber:iq:version'/></iq>",
        )
        .ok();
        let recent = d.recent();
        // The malformed set (no payload) got bad-request, the unserved
        // namespace service-unavailable, both on their own.
        assert_eq!(
            recent.sent,
            "<iq type='error' id='q2' to='romeo@example.net/orchard'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>malformed stanza: a get or set iq must have exactly one payload</text></error></iq>\
             <iq type='error' id='q3' to='romeo@example.net/orchard'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        );
        let requests: Vec<Iq> = recent
            .events
            .into_iter()
            .filter_map(|e| match e {
                Event::IqRequest(iq) => Some(iq),
                _ => None,
            })
            .collect();
        let [romeo, nurse] = requests.as_slice() else {
            panic!("{requests:?}")
        };
        assert_eq!((romeo.id(), nurse.id()), ("q1", "q1"));
        let reply = Element::builder("query", "jabber:iq:version")
            .child(
                Element::builder("name", "jabber:iq:version")
                    .text("xmpp-sansio")
                    .build(),
            )
            .build();
        assert_eq!(d.stream.reply_iq_result(romeo, Some(reply), now), Ok(()));
        assert_eq!(
            d.recent().sent,
            "<iq type='result' id='q1' to='romeo@example.net/orchard'><query xmlns='jabber:iq:version'><name>xmpp-sansio</name></query></iq>"
        );
        // A second answer to the same request is refused and sends nothing…
        let not_implemented = StanzaError::new(
            ErrorType::Cancel,
            StanzaErrorCondition::FeatureNotImplemented,
        );
        assert_eq!(
            d.stream.reply_iq_error(romeo, not_implemented.clone(), now),
            Err(UsageError::UnknownRequest)
        );
        assert_eq!(
            d.stream.reply_iq_result(romeo, None, now),
            Err(UsageError::UnknownRequest)
        );
        // …and so is an answer to a request that never arrived…
        let forged = Iq::from_element(
            Element::builder("iq", ns::JABBER_CLIENT)
                .attr("type", "get")
                .attr("id", "q9")
                .attr("from", "romeo@example.net/orchard")
                .child(Element::new("query", "jabber:iq:version"))
                .build(),
        )
        .expect("a well-formed request");
        assert_eq!(
            d.stream.reply_iq_result(&forged, None, now),
            Err(UsageError::UnknownRequest)
        );
        assert_eq!(d.recent().sent, "");
        // …while the same id from another sender is a request of its own.
        assert_eq!(d.stream.reply_iq_error(nurse, not_implemented, now), Ok(()));
        assert!(d.recent().sent.starts_with("<iq type='error' id='q1' to='nurse@example.com/chamber'><error type='cancel'><feature-not-implemented"));
    });
    assert_eq!(out.sent.matches("id='q1'").count(), 2, "{}", out.sent);
}

/// Requests that arrive during resource binding can be answered before
/// `Online` when they come from the server or the account (RFC 6120 §7.1);
/// others wait until online.
#[test]
fn requests_during_binding_can_be_answered() {
    // RFC 6120 §7.1: before binding, only the server and the account can
    // address us (and be answered). A request from anyone else cannot be
    // legitimate yet: it is reported as Unhandled and never answered.
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::Namespaces(vec!["urn:example:early".into()]);
    let bind = iq_id(&config, 1);
    let pre_bind =
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            let now = d.now;
            d.feed(&pre_bind).ok();
            d.recent();
            d.feed(
                "<iq type='get' id='s1' from='example.com'><query xmlns='urn:example:early'/></iq>\
                 <iq type='get' id='r1' from='romeo@example.net/orchard'><query xmlns='urn:example:early'/></iq>\
                 <iq type='get' id='r2' from='romeo@example.net/orchard'><ping xmlns='urn:xmpp:ping'/></iq>",
            )
            .ok();
            let recent = d.recent();
            assert_eq!(
                recent.sent, "",
                "nothing is answered automatically to a third party"
            );
            let (requests, unhandled): (Vec<_>, Vec<_>) = recent
                .events
                .into_iter()
                .filter(|e| matches!(e, Event::IqRequest(_) | Event::Unhandled(_)))
                .partition(|e| matches!(e, Event::IqRequest(_)));
            let [Event::IqRequest(server)] = requests.as_slice() else {
                panic!("{requests:?}")
            };
            let ids: Vec<_> = unhandled
                .iter()
                .filter_map(|e| match e {
                    Event::Unhandled(el) => el.attr("id").map(str::to_owned),
                    _ => None,
                })
                .collect();
            assert_eq!(ids, ["r1", "r2"]);
            assert_eq!(d.stream.state(), State::Negotiating);
            assert_eq!(d.stream.reply_iq_result(server, None, now), Ok(()));
            assert_eq!(
                d.recent().sent,
                "<iq type='result' id='s1' to='example.com'/>"
            );
            d.feed(bind_result(&bind)).ok();
            assert_eq!(d.stream.state(), State::Online);
            assert_eq!(
                d.stream.reply_iq_result(server, None, now),
                Err(UsageError::UnknownRequest)
            );
        },
    );
}

/// RFC 6120 §8.2.3: an IQ whose `type` is not get, set, result or error
/// (or that has none) is a request that cannot be processed: `bad-request`
/// when it can be answered (an id, a sender we may address now), reported
/// as `MalformedRequest` either way.
#[test]
fn iqs_of_unknown_type_get_bad_request_when_they_can_be_answered() {
    let bad_request = |id: &str, to: &str| {
        format!(
            "<iq type='error' id='{id}' to='{to}'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>malformed stanza: unknown iq type</text></error></iq>"
        )
    };
    let replied = |events: &[Event]| -> Vec<(String, bool)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::MalformedRequest {
                    request, replied, ..
                } => Some((request.attr("id").unwrap_or("-").to_owned(), *replied)),
                _ => None,
            })
            .collect()
    };
    let romeo = "romeo@example.net/orchard";
    assert_chunking_invariant(online(plain_config()), |d| {
        d.feed(format!(
            "<iq type='query' id='u1' from='{romeo}'><query xmlns='jabber:iq:version'/></iq>\
             <iq type='GET' id='u2' from='{romeo}'><query xmlns='jabber:iq:version'/></iq>\
             <iq type='' id='u3'><ping xmlns='urn:xmpp:ping'/></iq>\
             <iq type='query' from='{romeo}'><query xmlns='jabber:iq:version'/></iq>\
             <iq id='u4' from='{romeo}'><query xmlns='jabber:iq:version'/></iq>"
        ))
        .ok();
        let recent = d.recent();
        assert_eq!(
            recent.sent,
            [
                bad_request("u1", romeo),
                bad_request("u2", romeo),
                bad_request("u3", "").replace(" to=''", ""),
                bad_request("u4", romeo).replace("unknown iq type", "iq without a type"),
            ]
            .concat()
        );
        assert_eq!(
            replied(&recent.events),
            [
                ("u1".to_owned(), true),
                ("u2".to_owned(), true),
                ("u3".to_owned(), true),
                ("-".to_owned(), false),
                ("u4".to_owned(), true)
            ]
        );
        assert!(matches!(
            &recent.events[0],
            Event::MalformedRequest {
                error: StanzaParseError::Malformed("unknown iq type"),
                ..
            }
        ));
        assert_eq!(d.stream.state(), State::Online);
    });
    // Before binding, only the server and the account are answered
    // (RFC 6120 §7.1); after our close, nobody.
    let config = plain_config();
    let pre_bind =
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            d.feed(&pre_bind).ok();
            d.recent();
            d.feed(format!(
                "<iq type='query' id='s1' from='example.com'><q xmlns='urn:x'/></iq>\
                 <iq type='query' id='r1' from='{romeo}'><q xmlns='urn:x'/></iq>"
            ))
            .ok();
            let recent = d.recent();
            assert_eq!(recent.sent, bad_request("s1", "example.com"));
            assert_eq!(
                replied(&recent.events),
                [("s1".to_owned(), true), ("r1".to_owned(), false)]
            );
        },
    );
    assert_chunking_invariant(online(plain_config()), |d| {
        d.stream.close(d.now);
        d.recent();
        d.feed(format!(
            "<iq type='query' id='u1' from='{romeo}'><q xmlns='urn:x'/></iq>"
        ))
        .ok();
        let recent = d.recent();
        assert_eq!(recent.sent, "");
        assert_eq!(replied(&recent.events), [("u1".to_owned(), false)]);
    });
}

/// A request whose `from` is not an address is never answered, by the
/// stream (IQ errors, `service-unavailable`, pings, roster pushes) or by
/// the application: a reply would go to `juliet@`. It is reported as
/// `MalformedRequest` with the raw address.
#[test]
fn requests_from_invalid_addresses_are_reported_and_never_answered() {
    let long = "x".repeat(1024);
    let invalid = [
        "juliet@".to_owned(),
        "@example.com".to_owned(),
        "a@b@c".to_owned(),
        "example.com/".to_owned(),
        String::new(),
        "juliet@example.com/".to_owned(),
        "jul iet@example.com".to_owned(),
        format!("{long}@example.com"),
        format!("juliet@{long}"),
        format!("juliet@example.com/{long}"),
    ];
    let requests = [
        "<iq type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq type='get' id='unserved'><query xmlns='jabber:iq:last'/></iq>",
        "<iq type='get' id='served'><query xmlns='jabber:iq:version'/></iq>",
        "<iq type='set' id='push'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>",
        "<iq type='set' id='empty'/>",
        "<iq type='query' id='unknown'><query xmlns='jabber:iq:version'/></iq>",
    ];
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::Namespaces(vec!["jabber:iq:version".into()]);
    assert_chunking_invariant(online(config), |d| {
        let now = d.now;
        for from in &invalid {
            for request in requests {
                d.feed(request.replacen(" id=", &format!(" from='{from}' id="), 1))
                    .ok();
                let recent = d.recent();
                assert_eq!(recent.sent, "", "{request} from {from:?}");
                let [
                    Event::MalformedRequest {
                        request: el,
                        error,
                        replied: false,
                    },
                ] = recent.events.as_slice()
                else {
                    panic!("{request} from {from:?}: {:?}", recent.events)
                };
                assert_eq!(el.attr("from"), Some(from.as_str()));
                assert_eq!(
                    *error,
                    StanzaParseError::JidMalformed {
                        attr: "from",
                        value: from.clone()
                    }
                );
            }
            // The application cannot answer such a request either.
            let forged = Iq::from_element(
                Element::builder("iq", ns::JABBER_CLIENT)
                    .attr("type", "get")
                    .attr("id", "served")
                    .attr("from", from.as_str())
                    .child(Element::new("query", "jabber:iq:version"))
                    .build(),
            )
            .expect("a well-formed request");
            assert_eq!(
                d.stream.reply_iq_result(&forged, None, now),
                Err(UsageError::InvalidAddress(from.clone()))
            );
            let error = StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::NotAllowed);
            assert_eq!(
                d.stream.reply_iq_error(&forged, error, now),
                Err(UsageError::InvalidAddress(from.clone()))
            );
            let reply = Element::builder("iq", ns::JABBER_CLIENT)
                .attr("type", "result")
                .attr("id", "served")
                .attr("to", from.as_str())
                .build();
            assert_eq!(
                d.stream.send(reply, now),
                Err(UsageError::InvalidAddress(from.clone()))
            );
            assert_eq!(d.recent().sent, "");
        }
        // An address of the right form that the `jid` crate refuses (an
        // emoji nickname) is answered as usual.
        d.feed("<iq type='get' id='p' from='coven@chat.shakespeare.lit/Niaj \u{1F680}33'><ping xmlns='urn:xmpp:ping'/></iq>")
            .ok();
        assert_eq!(
            d.recent().sent,
            "<iq type='result' id='p' to='coven@chat.shakespeare.lit/Niaj \u{1F680}33'/>"
        );
    });
}

/// XEP-0199 on demand: `Stream::ping` reports the answer as `Pong` with
/// the round-trip time; an error reply is `IqError` and silence is
/// `IqTimeout`, each with the ping's id. Keepalive pings stay internal.
#[test]
fn pings_on_demand_report_pong_with_the_round_trip_time() {
    let mut config = plain_config();
    config.ping_interval = Some(Duration::from_secs(300));
    config.keepalive = None;
    assert_chunking_invariant(online(config), |d| {
        let start = d.now;
        let server = d.stream.ping(None, start).unwrap_or_default();
        let romeo = d
            .stream
            .ping(Some("romeo@example.net/orchard"), start)
            .unwrap_or_default();
        let nurse = d
            .stream
            .ping(Some("nurse@example.com/chamber"), start)
            .unwrap_or_default();
        assert_eq!(
            d.recent().sent,
            format!(
                "<iq type='get' id='{server}' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\
                 <iq type='get' id='{romeo}' to='romeo@example.net/orchard'><ping xmlns='urn:xmpp:ping'/></iq>\
                 <iq type='get' id='{nurse}' to='nurse@example.com/chamber'><ping xmlns='urn:xmpp:ping'/></iq>"
            )
        );
        for bad in ["juliet@", "a@b@c", ""] {
            assert_eq!(
                d.stream.ping(Some(bad), start),
                Err(UsageError::InvalidAddress(bad.to_owned()))
            );
        }
        d.now = start + Duration::from_millis(250);
        d.feed(format!(
            "<iq type='result' id='{server}' from='mallory@evil.example'/>\
             <iq type='result' id='{server}' from='example.com'/>"
        ))
        .ok();
        d.now = start + Duration::from_millis(400);
        d.feed(format!(
            "<iq type='error' id='{romeo}' from='romeo@example.net/orchard'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        ))
        .ok();
        let recent = d.recent();
        assert_eq!(recent.sent, "");
        assert!(
            matches!(&recent.events[0], Event::Unhandled(_)),
            "{:?}",
            recent.events
        );
        assert_eq!(
            recent.events[1],
            Event::Pong {
                id: server.clone(),
                from: Some("example.com".into()),
                rtt: Duration::from_millis(250)
            }
        );
        assert!(matches!(
            &recent.events[2],
            Event::IqError { id, error, .. }
                if *id == romeo && error.condition == StanzaErrorCondition::ServiceUnavailable
        ));
        assert_eq!(recent.events.len(), 3);
        d.stream.handle_timeout(start + Duration::from_secs(60));
        assert_eq!(d.recent().events, [Event::IqTimeout { id: nurse }]);

        // A keepalive ping and its answer report nothing.
        let due = d.stream.poll_timeout().unwrap_or(start);
        assert_eq!(due, start + Duration::from_millis(300_400));
        d.now = due;
        d.stream.handle_timeout(due);
        let sent = d.recent().sent;
        let keepalive = attr_of(&sent, "id").unwrap_or_default();
        assert!(sent.contains("urn:xmpp:ping"), "{sent}");
        d.feed(format!(
            "<iq type='result' id='{keepalive}' from='example.com'/>"
        ))
        .ok();
        assert_eq!(d.recent().events, []);
    });
}

#[test]
fn unanswered_requests_are_bounded() {
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::All;
    config.max_unanswered_requests = 2;
    assert_chunking_invariant(online(config), |d| {
        let request = |id: &str| {
            format!(
                "<iq type='get' id='{id}' from='romeo@example.net/orchard'><query xmlns='urn:example:x'/></iq>"
            )
        };
        d.feed(request("a") + &request("b") + &request("c")).ok();
        let recent = d.recent();
        assert_eq!(
            recent
                .events
                .iter()
                .filter(|e| matches!(e, Event::IqRequest(_)))
                .count(),
            2
        );
        assert_eq!(
            recent.sent,
            "<iq type='error' id='c' to='romeo@example.net/orchard'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        );
        let Some(Event::IqRequest(a)) = recent.events.first() else {
            panic!("{:?}", recent.events)
        };
        assert_eq!(d.stream.reply_iq_result(a, None, d.now), Ok(()));
        d.feed(request("d")).ok();
        assert!(matches!(
            d.recent().events.as_slice(),
            [Event::IqRequest(_)]
        ));
    });
}

#[test]
fn keepalive_and_pings_are_driven_by_poll_timeout() {
    let now = epoch();
    let mut config = plain_config();
    config.keepalive = Some(Duration::from_secs(30));
    config.ping_interval = Some(Duration::from_secs(60));
    config.ping_timeout = Duration::from_secs(10);
    let (mut s, _) = online_stream(config, now);
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(30)));
    let t1 = now + Duration::from_secs(30);
    s.handle_timeout(t1);
    assert_eq!(
        s.poll_transmit().as_deref(),
        Some(&b" "[..]),
        "whitespace keepalive"
    );
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(60)));
    let t2 = now + Duration::from_secs(60);
    s.handle_timeout(t2);
    let ping = String::from_utf8(s.poll_transmit().map(|b| b.to_vec()).unwrap_or_default())
        .unwrap_or_default();
    assert!(
        ping.contains("<ping xmlns='urn:xmpp:ping'/>") && ping.contains("to='example.com'"),
        "{ping}"
    );
    // Unanswered: the stream gives up after the ping timeout.
    let give_up = s.poll_timeout().unwrap_or(now);
    assert_eq!(give_up, t2 + Duration::from_secs(10));
    s.handle_timeout(give_up);
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(
        events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Local,
            error: Some(Error::Timeout(TimeoutKind::Ping))
        })
    );
}

/// The keepalive ping falls due `ping_interval` after the last input,
/// whatever the reads: one byte that completes nothing moves it as a whole
/// stanza does, an empty read does not, and while the ping is in flight
/// no input moves anything (its timeout stands); its answer starts the
/// interval again.
#[test]
fn the_ping_timer_runs_from_the_last_input_in_any_read() {
    let secs = Duration::from_secs;
    let now = epoch();
    let mut config = plain_config();
    config.keepalive = None;
    config.ping_interval = Some(secs(60));
    config.ping_timeout = secs(10);
    let (mut s, _) = online_stream(config, now);
    assert_eq!(s.poll_timeout(), Some(now + secs(60)));
    let t1 = now + secs(20);
    s.handle_input(b"<", t1).ok();
    assert_eq!(s.poll_timeout(), Some(t1 + secs(60)));
    s.handle_input(b"", now + secs(30)).ok();
    assert_eq!(s.poll_timeout(), Some(t1 + secs(60)), "an empty read");
    let t2 = now + secs(50);
    for b in b"message><body>x</body></message>" {
        s.handle_input(std::slice::from_ref(b), t2).ok();
    }
    assert!(matches!(s.poll_event(), Some(Event::Message(_))));
    assert_eq!(s.poll_timeout(), Some(t2 + secs(60)));
    s.handle_timeout(t2 + secs(59));
    assert_eq!(s.poll_transmit(), None, "not due yet");
    s.handle_timeout(t2 + secs(60));
    let ping = String::from_utf8(s.poll_transmit().map(|b| b.to_vec()).unwrap_or_default())
        .unwrap_or_default();
    assert!(ping.contains("<ping xmlns='urn:xmpp:ping'/>"), "{ping}");
    let id = attr_of(&ping, "id").unwrap_or_default();
    assert_eq!(s.poll_timeout(), Some(t2 + secs(70)), "the ping's timeout");
    // In flight: input moves nothing; the ping's timeout stands.
    s.handle_input(b" ", t2 + secs(65)).ok();
    assert_eq!(s.poll_timeout(), Some(t2 + secs(70)));
    let t3 = t2 + secs(66);
    s.handle_input(
        format!("<iq type='result' id='{id}' from='example.com'/>").as_bytes(),
        t3,
    )
    .ok();
    assert_eq!(s.poll_timeout(), Some(t3 + secs(60)));
    assert_eq!(s.error(), None);
}

/// The writer counts stanzas (automatic replies included) and nothing
/// else: not the header, negotiation elements, keepalives or the close.
#[test]
fn the_stream_counts_the_stanzas_it_writes() {
    let now = epoch();
    let mut config = plain_config();
    config.keepalive = Some(Duration::from_secs(30));
    let mut s = Stream::client(config.clone());
    s.start(now).ok();
    assert_eq!(s.stanzas_sent(), 0, "the header is no stanza");
    let (mut s, _) = online_stream(config, now);
    let bound = s.stanzas_sent();
    assert!(bound >= 1, "the bind request is one: {bound}");
    s.send(Element::new("message", ns::JABBER_CLIENT), now).ok();
    assert_eq!(s.stanzas_sent(), bound + 1);
    s.handle_input(
        b"<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
        now,
    )
    .ok();
    assert!(s.poll_transmit().is_some(), "the ping answered");
    assert_eq!(s.stanzas_sent(), bound + 2, "an automatic reply is one");
    s.handle_timeout(now + Duration::from_secs(30));
    assert_eq!(s.poll_transmit().as_deref(), Some(&b" "[..]));
    s.close(now);
    assert_eq!(s.stanzas_sent(), bound + 2, "keepalive and close are none");
}

#[test]
fn negotiation_timeout_and_orderly_close() {
    let now = epoch();
    let mut s = Stream::client(plain_config());
    s.start(now).ok();
    let deadline = s.poll_timeout().unwrap_or(now);
    assert_eq!(deadline, now + Duration::from_secs(60));
    s.handle_timeout(deadline);
    assert_eq!(s.error(), Some(&Error::Timeout(TimeoutKind::Negotiation)));

    let (out, ()) = assert_chunking_invariant(online(plain_config()), |d| {
        d.stream.close(d.now);
        assert_eq!(d.recent().sent, "</stream:stream>");
        assert_eq!(d.stream.state(), State::Closing);
        assert_eq!(
            d.stream
                .send(Element::new("presence", ns::JABBER_CLIENT), d.now),
            Err(UsageError::Closed)
        );
        assert_eq!(d.feed("</stream:stream>"), Ok(()));
        let recent = d.recent();
        assert_eq!(
            recent.events,
            [Event::Closed {
                by: ClosedBy::Local,
                error: None
            }]
        );
        assert_eq!(recent.sent, "", "no second closing tag");
    });
    assert_eq!(out.sent.matches("</stream:stream>").count(), 1);

    // A peer that never answers: the close was ours, and it happened, so
    // the end is orderly (error: None) once the close timeout passes.
    let (mut s, _) = online_stream(plain_config(), now);
    s.close(now);
    assert_eq!(s.poll_transmit().as_deref(), Some(&b"</stream:stream>"[..]));
    let t = s.poll_timeout().unwrap_or(now);
    assert_eq!(t, now + Duration::from_secs(10));
    s.handle_timeout(t);
    assert_eq!(s.state(), State::Closed);
    assert_eq!(
        s.poll_event(),
        Some(Event::Closed {
            by: ClosedBy::Local,
            error: None
        })
    );
    assert_eq!(s.poll_transmit(), None);
}

/// RFC 6120 §4.4: after our `</stream:stream>` nothing more is written,
/// not even the replies the stream sends on its own, while what the peer
/// still sends is processed and reported.
#[test]
fn nothing_is_written_after_our_closing_tag() {
    let (out, ()) = assert_chunking_invariant(online(plain_config()), |d| {
        d.stream.close(d.now);
        assert_eq!(d.recent().sent, "</stream:stream>");
        let result = d.feed(
            "<iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\
             <iq type='set' id='push1'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>\
             <iq type='get' id='v1' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>\
             <iq type='get' id='bad' from='romeo@example.net/orchard'/>\
             <message from='romeo@example.net/orchard'><body>parting is such sweet sorrow</body></message>\
             </stream:stream>",
        );
        assert_eq!(result, Ok(()));
        let recent = d.recent();
        assert_eq!(recent.sent, "", "nothing after our closing tag");
        let kinds: Vec<&str> = recent.events.iter().map(kind).collect();
        assert_eq!(
            kinds,
            ["push", "malformed", "message", "closed"],
            "{:?}",
            recent.events
        );
        assert!(recent.events.iter().any(|e| matches!(
            e,
            Event::MalformedRequest { replied: false, request, .. } if request.attr("id") == Some("bad")
        )));
    });
    assert!(out.sent.ends_with("</stream:stream>"));
    assert_eq!(out.sent.matches("</stream:stream>").count(), 1);
}

#[test]
fn close_while_awaiting_tls_writes_nothing() {
    let mut config = plain_config();
    config.tls = TlsPolicy::Required;
    let proceed = format!(
        "{SERVER_HEADER}{FEATURES_STARTTLS}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    );
    assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            d.feed(&proceed).ok();
            assert!(d.recent().events.contains(&Event::StartTls));
            assert_eq!(d.stream.state(), State::AwaitingTls);
            d.stream.close(d.now);
            let recent = d.recent();
            assert_eq!(
                recent.sent, "",
                "the transport is between plaintext and TLS"
            );
            assert_eq!(
                recent.events,
                [Event::Closed {
                    by: ClosedBy::Local,
                    error: None
                }]
            );
            assert_eq!(d.stream.state(), State::Closed);
            assert_eq!(
                d.stream.tls_established(ChannelBinding::None, d.now),
                Err(UsageError::NotAwaitingTls)
            );
            assert_eq!(d.stream.poll_timeout(), None);
        },
    );
}

/// After our close, negotiation elements no longer apply: they are not
/// protocol violations. `<proceed/>` and `<success/>` move the peer to a
/// stream we will never open, so the close completes at once.
#[test]
fn closing_mid_negotiation_is_not_a_protocol_error() {
    let config = plain_config();
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        // Closed right after start: the server's header, features and close.
        (
            "",
            vec![format!("{SERVER_HEADER}{FEATURES_PLAIN}</stream:stream>")],
            vec!["header", "unhandled", "closed"],
        ),
        // Closed during SASL; the server's success (and pipelined header).
        (
            FEATURES_PLAIN,
            vec![format!("{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}")],
            vec!["closed"],
        ),
        // Closed during SASL; a challenge, a failure, then the close.
        (
            FEATURES_PLAIN,
            vec![
                "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".into(),
                "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure></stream:stream>"
                    .into(),
            ],
            vec!["unhandled", "unhandled", "closed"],
        ),
        // Closed before authenticating: stanzas injected into the stream
        // (it may not even be encrypted) never pass for stanzas.
        (
            FEATURES_PLAIN,
            vec![
                "<iq type='set' id='p1'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.example' subscription='both'/></query></iq>\
                 <message from='bank@example.com'><body>send money</body></message>\
                 <presence from='juliet@example.com/x'/></stream:stream>"
                    .into(),
            ],
            vec!["unhandled", "unhandled", "unhandled", "closed"],
        ),
    ];
    for (features, after_close, expected) in cases {
        let before = format!("{SERVER_HEADER}{features}");
        let (out, ()) = assert_chunking_invariant(
            |now| started(&config, now),
            |d| {
                if !features.is_empty() {
                    d.feed(&before).ok();
                }
                d.recent();
                d.stream.close(d.now);
                assert_eq!(d.recent().sent, "</stream:stream>");
                for piece in &after_close {
                    assert_eq!(d.feed(piece), Ok(()));
                }
                let recent = d.recent();
                assert_eq!(recent.sent, "", "{after_close:?}");
                let kinds: Vec<&str> = recent.events.iter().map(kind).collect();
                assert_eq!(kinds, expected, "{after_close:?}: {:?}", recent.events);
                assert_eq!(d.stream.state(), State::Closed);
            },
        );
        assert!(!out.sent.contains("<stream:error>"));
        assert!(!out.sent.contains("<response"));
    }

    // Closed while waiting for <proceed/>: it ends the close at once, and
    // no StartTls is reported.
    let mut tls = plain_config();
    tls.tls = TlsPolicy::Required;
    let starttls = format!("{SERVER_HEADER}{FEATURES_STARTTLS}");
    assert_chunking_invariant(
        |now| started(&tls, now),
        |d| {
            d.feed(&starttls).ok();
            assert!(
                d.recent()
                    .sent
                    .ends_with("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            );
            d.stream.close(d.now);
            assert_eq!(d.recent().sent, "</stream:stream>");
            assert_eq!(
                d.feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
                Ok(())
            );
            assert_eq!(
                d.recent().events,
                [Event::Closed {
                    by: ClosedBy::Local,
                    error: None
                }]
            );
        },
    );

    // Closed while waiting for the bind result: it does not bring the
    // stream online.
    let bind = iq_id(&config, 1);
    let pre_bind =
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            d.feed(&pre_bind).ok();
            d.recent();
            d.stream.close(d.now);
            d.feed(bind_result(&bind) + "</stream:stream>").ok();
            let recent = d.recent();
            assert!(
                matches!(
                    recent.events.as_slice(),
                    [
                        Event::Unhandled(_),
                        Event::Closed {
                            by: ClosedBy::Local,
                            error: None
                        }
                    ]
                ),
                "{:?}",
                recent.events
            );
            assert_eq!(d.stream.bound_jid(), None);
        },
    );
}

/// A peer `</stream:stream>` before `Online` is no success: negotiation
/// never finished. It is answered with our closing tag all the same.
#[test]
fn a_peer_close_before_online_is_an_error() {
    let config = plain_config();
    for before in [
        SERVER_HEADER.to_owned(),
        format!("{SERVER_HEADER}{FEATURES_PLAIN}"),
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}"),
    ] {
        let transcript = format!("{before}</stream:stream>");
        let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
        let error = error_of(&out.events);
        assert_eq!(error, Some(Error::ClosedByPeer), "{before}");
        assert_eq!(error.and_then(|e| e.condition()), None);
        assert!(out.sent.ends_with("</stream:stream>"));
        assert_eq!(out.sent.matches("</stream:stream>").count(), 1);
        assert!(!out.sent.contains("<stream:error>"));
    }
    assert_eq!(Error::ClosedByPeer.kind(), ErrorKind::ClosedByPeer);

    // Once online, a peer close is orderly, and answered.
    let (out, result) = assert_chunking_invariant(online(plain_config()), |d| {
        d.recent();
        let r = d.feed("</stream:stream>");
        (r, d.recent())
    });
    assert_eq!(result.0, Ok(()));
    assert_eq!(result.1.sent, "</stream:stream>");
    assert_eq!(
        result.1.events,
        [Event::Closed {
            by: ClosedBy::Peer,
            error: None
        }]
    );
    assert_eq!(out.sent.matches("</stream:stream>").count(), 1);
}

#[test]
fn usage_errors_leave_the_stream_unchanged() {
    let now = epoch();
    let mut s = Stream::client(plain_config());
    assert_eq!(
        s.send(Element::new("message", ns::JABBER_CLIENT), now),
        Err(UsageError::NotOnline)
    );
    assert_eq!(
        s.tls_established(ChannelBinding::None, now),
        Err(UsageError::NotAwaitingTls)
    );
    s.start(now).ok();
    assert_eq!(s.start(now), Err(UsageError::AlreadyStarted));
    let (mut s, _) = online_stream(plain_config(), now);
    assert_eq!(
        s.send(Element::new("foo", "urn:x"), now),
        Err(UsageError::InvalidStanza(InvalidStanzaReason::NotAStanza))
    );
    assert_eq!(
        s.send_iq(IqType::Result, None, Element::new("q", "urn:x"), now),
        Err(UsageError::InvalidStanza(
            InvalidStanzaReason::NotARequestType
        ))
    );
    assert_eq!(s.state(), State::Online);
    assert_eq!(s.poll_transmit(), None);
}

#[test]
fn eof_without_close_is_an_error() {
    let now = epoch();
    let (mut s, _) = online_stream(plain_config(), now);
    s.handle_eof(now);
    assert_eq!(s.error(), Some(&Error::UnexpectedEof));
}

#[test]
fn the_hook_adapter_answers_unserved_requests_by_default() {
    use xmpp_sansio::hooks::Handler;
    struct Quiet;
    impl Handler for Quiet {}
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::All;
    assert_chunking_invariant(online(config), |d| {
        d.feed_undrained("<iq type='get' id='h1' from='romeo@example.net/orchard'><query xmlns='urn:example:x'/></iq>").ok();
        d.stream.dispatch(&mut Quiet, d.now);
        let sent = String::from_utf8(
            d.stream
                .poll_transmit()
                .map(|b| b.to_vec())
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        assert!(sent.contains("<iq type='error' id='h1' to='romeo@example.net/orchard'><error type='cancel'><service-unavailable"), "{sent}");
        assert_eq!(d.stream.poll_event(), None, "dispatch drained every event");
    });
}

/// The README's run loop is the crate docs' (`src/lib.rs`), which runs as
/// a doctest against a scripted server: the two must not drift apart.
#[test]
fn the_readme_loop_is_the_crate_docs_loop() {
    // src/lib.rs holds the runnable loop (its `# ` lines, hidden by
    // rustdoc, are the scripted server); README.md shows the same loop
    // without them, so it reads cleanly where `#` lines are not hidden.
    let readme = include_str!("../README.md");
    let lib = include_str!("../src/lib.rs");
    let body = |text: &str, fence: &str| -> Option<Vec<String>> {
        let start = text.find(&format!("{fence}\n// The run loop"))? + fence.len() + 1;
        let rest = &text[start..];
        let end = rest.find("```")?;
        Some(rest[..end].lines().map(str::to_owned).collect())
    };
    let from_lib: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let (Some(shown), Some(run)) = (body(readme, "```rust,ignore"), body(&from_lib, "```rust"))
    else {
        panic!("a run-loop block is missing from README.md or src/lib.rs")
    };
    let visible: Vec<String> = run
        .into_iter()
        .filter(|l| l != "#" && !l.starts_with("# "))
        .collect();
    assert!(visible.len() > 30, "the loop itself is shown");
    assert_eq!(shown, visible);
}

#[test]
fn the_hook_adapter_reports_refused_roster_pushes() {
    use xmpp_sansio::hooks::Handler;
    use xmpp_sansio::im::RosterPushRejection;
    #[derive(Default)]
    struct Refusals(Vec<(String, RosterPushRejection)>);
    impl Handler for Refusals {
        fn on_roster_push_rejected(
            &mut self,
            _stream: &mut Stream,
            push: Iq,
            reason: RosterPushRejection,
            _now: xmpp_sansio::time::Instant,
        ) {
            self.0.push((push.id().to_owned(), reason));
        }
    }
    assert_chunking_invariant(online(plain_config()), |d| {
        d.feed_undrained(
            "<iq type='set' id='x1' from='mallory@evil.example'><query xmlns='jabber:iq:roster'><item jid='eve@evil.example'/></query></iq>\
             <iq type='set' id='x2'><query xmlns='jabber:iq:roster'/></iq>",
        )
        .ok();
        let mut seen = Refusals::default();
        d.stream.dispatch(&mut seen, d.now);
        assert_eq!(
            seen.0,
            [
                ("x1".to_owned(), RosterPushRejection::ForeignSender),
                ("x2".to_owned(), RosterPushRejection::ItemCount(0)),
            ]
        );
        assert!(!seen.0[0].1.from_server() && seen.0[1].1.from_server());
    });
}

#[test]
fn timeouts_beyond_the_clock_mean_never() {
    // A configured Duration::MAX is "no deadline", not an overflow panic.
    let now = epoch();
    let mut config = plain_config();
    config.negotiation_timeout = Some(Duration::MAX);
    config.iq_timeout = Duration::MAX;
    config.keepalive = Some(Duration::MAX);
    config.ping_interval = Some(Duration::MAX);
    config.ping_timeout = Duration::MAX;
    config.close_timeout = Duration::MAX;
    let (mut s, _) = online_stream(config, now);
    let id = s
        .send_iq(IqType::Get, None, Element::new("ping", ns::PING), now)
        .ok();
    assert!(id.is_some());
    assert_eq!(s.poll_timeout(), None, "nothing is ever due");
    s.handle_timeout(now + Duration::from_secs(365 * 24 * 3600));
    while s.poll_transmit().is_some() {}
    assert_eq!(s.state(), State::Online);
    s.close(now);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.state(), State::Closing);
}

#[test]
fn the_bound_jid_is_our_address() {
    // With ANONYMOUS, an authzid or a server that rewrites the username,
    // the bound JID's bare part is not the configured one: pushes and
    // replies from it are the server's, on our behalf.
    let config = plain_config();
    let bind = iq_id(&config, 1);
    let pre_bind =
        format!("{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}");
    let bound = format!(
        "<iq type='result' id='{bind}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>x7f3@example.com/r1</jid></bind></iq>"
    );
    assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            d.feed(&pre_bind).ok();
            d.feed(&bound).ok();
            assert_eq!(d.stream.bound_jid(), Some("x7f3@example.com/r1"));
            d.recent();
            d.feed(
                "<iq type='set' id='p1' from='x7f3@example.com'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>\
                 <iq type='set' id='p2' from='juliet@example.com'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>",
            )
            .ok();
            let recent = d.recent();
            assert!(
                matches!(
                    &recent.events[..],
                    [Event::RosterPush { .. }, Event::RosterPushRejected { .. }]
                ),
                "{:?}",
                recent.events
            );
            assert!(
                recent
                    .sent
                    .starts_with("<iq type='result' id='p1' to='x7f3@example.com'/>")
            );
        },
    );

    // A bind result that is no full JID ends the stream (RFC 6120
    // §7.6.3.1); one on another domain moves the keepalive ping there.
    for (jid, ok) in [
        ("juliet@example.com", false),
        ("/balcony", false),
        ("@example.com/balcony", false),
        ("example.com/", false),
        ("juliet@chat.example.com/balcony", true),
    ] {
        let mut config = plain_config();
        config.ping_interval = Some(Duration::from_secs(60));
        let now = epoch();
        let mut s = started(&config, now);
        let reply = format!(
            "<iq type='result' id='{bind}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{jid}</jid></bind></iq>"
        );
        let result = s.handle_input(format!("{pre_bind}{reply}").as_bytes(), now);
        assert_eq!(result.is_ok(), ok, "{jid}: {result:?}");
        if ok {
            while s.poll_transmit().is_some() {}
            s.handle_timeout(now + Duration::from_secs(61));
            let ping = s.poll_transmit().map(|b| b.to_vec()).unwrap_or_default();
            let ping = String::from_utf8_lossy(&ping);
            assert!(ping.contains("to='chat.example.com'"), "{ping}");
        }
    }
}

#[test]
fn replies_sent_as_stanzas_count_as_the_one_reply() {
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::All;
    assert_chunking_invariant(online(config), |d| {
        let now = d.now;
        d.feed("<iq type='get' id='v1' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>")
            .ok();
        d.recent();
        let reply = |id: &str, to: &str| {
            Element::builder("iq", ns::JABBER_CLIENT)
                .attr("type", "result")
                .attr("id", id)
                .attr("to", to)
                .build()
        };
        assert_eq!(
            d.stream.send(reply("v1", "romeo@example.net/orchard"), now),
            Ok(())
        );
        assert_eq!(
            d.stream.send(reply("v1", "romeo@example.net/orchard"), now),
            Err(UsageError::UnknownRequest),
            "a second reply"
        );
        assert_eq!(
            d.stream.send(reply("v9", "romeo@example.net/orchard"), now),
            Err(UsageError::UnknownRequest),
            "a reply to nothing"
        );
        assert_eq!(
            d.recent().sent,
            "<iq type='result' id='v1' to='romeo@example.net/orchard'/>"
        );
    });
}

/// RFC 6120 §4.9.3.23: features holding a mandatory-to-negotiate feature
/// the client does not know, and nothing it can negotiate beside it, end
/// with `unsupported-feature`, at every stage. With something to
/// negotiate, the client goes on (the feature may be gone after the
/// restart).
#[test]
fn unknown_required_features_with_nothing_to_negotiate_are_unsupported_feature() {
    const X_REQUIRED: &str = "<x xmlns='urn:example:x'><required/></x>";
    let features = |inner: &str| format!("<stream:features>{inner}</stream:features>");
    let unsupported = "<stream:error><unsupported-feature xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>required feature &lt;x xmlns='urn:example:x'/&gt; not supported";
    let expect_unsupported = |out: &Outcome| {
        assert_eq!(
            error_of(&out.events).and_then(|e| e.condition()),
            Some(StreamErrorCondition::UnsupportedFeature),
            "{:?}",
            out.events
        );
        assert!(out.sent.contains(unsupported), "{}", out.sent);
        assert!(out.sent.ends_with("</stream:stream>"));
    };
    let none = ChannelBinding::None;
    let mut tls_required = plain_config();
    tls_required.tls = TlsPolicy::Required;
    let bind = iq_id(&plain_config(), 1);

    // The first features: TLS required by us but not offered, or no SASL.
    for config in [&tls_required, &plain_config()] {
        let t = format!("{SERVER_HEADER}{}{PEER_CLOSE}", features(X_REQUIRED));
        expect_unsupported(&assert_split_invariant(config, &[&t], &none));
    }
    // SASL offered, but no mechanism this configuration may use.
    let mut strict = plain_config();
    strict.allow_plaintext_auth = false;
    let t = format!(
        "{SERVER_HEADER}<stream:features>{X_REQUIRED}<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>{PEER_CLOSE}"
    );
    expect_unsupported(&assert_split_invariant(&strict, &[&t], &none));
    // After TLS.
    let pre_tls = format!(
        "{SERVER_HEADER}{FEATURES_STARTTLS}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    );
    let t = format!("{SERVER_HEADER}{}{PEER_CLOSE}", features(X_REQUIRED));
    expect_unsupported(&assert_split_invariant(
        &tls_required,
        &[&pre_tls, &t],
        &none,
    ));
    // After SASL: no resource binding.
    let t = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{}{PEER_CLOSE}",
        features(X_REQUIRED)
    );
    expect_unsupported(&assert_split_invariant(&plain_config(), &[&t], &none));

    // Something to negotiate: STARTTLS, SASL, binding. The client goes on.
    let t = format!(
        "{SERVER_HEADER}{}",
        features(&format!(
            "{X_REQUIRED}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        ))
    );
    let out = assert_split_invariant(&tls_required, &[&t], &none);
    assert!(
        out.sent
            .ends_with("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    );
    assert_eq!(error_of(&out.events), None);
    let t = format!(
        "{SERVER_HEADER}{}{SUCCESS}{SERVER_HEADER}{}{}",
        features(&format!(
            "{X_REQUIRED}<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
        )),
        features(&format!(
            "{X_REQUIRED}<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        )),
        bind_result(&bind)
    );
    let out = assert_split_invariant(&plain_config(), &[&t], &none);
    assert!(out.events.iter().any(|e| matches!(e, Event::Online { .. })));
    assert!(!out.sent.contains("<stream:error>"));

    // Not marked required (or marked in another namespace): the failure
    // is what it was, with no stream error.
    for x in [
        "<x xmlns='urn:example:x'/>",
        "<x xmlns='urn:example:x'><required xmlns='urn:example:other'/></x>",
    ] {
        let t = format!("{SERVER_HEADER}{}{PEER_CLOSE}", features(x));
        let out = assert_split_invariant(&plain_config(), &[&t], &none);
        assert_eq!(
            error_of(&out.events),
            Some(Error::NoMechanism { offered: vec![] })
        );
        assert!(!out.sent.contains("<stream:error>"));
    }
}

/// RFC 6120 §4.4 and §4.9: a stream error from the peer is reported once,
/// with its texts, as it arrives; the stream reads on (reporting nothing)
/// until the peer's closing tag, its end of file or the close timeout, and
/// only then is closed, by the peer. Bytes after its closing tag are
/// ignored.
#[test]
fn a_received_stream_error_is_reported_once_and_the_close_waits_for_the_peer() {
    let error = "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
        <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Replaced by new connection</text>\
        <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='fr'>Remplacée</text></stream:error>";
    let expected = |events: &[Event]| {
        let reported: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::PeerStreamError(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        let [e] = reported.as_slice() else {
            panic!("reported once: {events:?}")
        };
        assert_eq!(e.condition, StreamErrorCondition::Conflict);
        assert_eq!(
            e.texts,
            [
                (Some("en".into()), "Replaced by new connection".into()),
                (Some("fr".into()), "Remplacée".into())
            ]
        );
        e.clone()
    };
    // A close timeout beyond the request's timeout: a failed stream has no
    // request left to time out.
    let mut config = plain_config();
    config.close_timeout = Duration::from_secs(120);
    for ending in ["closing tag", "eof", "timeout"] {
        let (out, ()) = assert_chunking_invariant(online(config.clone()), |d| {
            let now = d.now;
            d.recent();
            let pending = d
                .stream
                .send_iq(
                    IqType::Get,
                    None,
                    Element::new("query", "urn:example:q"),
                    now,
                )
                .unwrap_or_default();
            assert!(!pending.is_empty());
            d.recent();
            let result = d.feed(error);
            let Err(Error::PeerStreamError(sticky)) = result else {
                panic!("{result:?}")
            };
            let recent = d.recent();
            assert_eq!(recent.sent, "</stream:stream>", "our answer, no error");
            assert_eq!(recent.events, [Event::PeerStreamError(sticky.clone())]);
            assert_eq!(d.stream.state(), State::Closing);
            assert_eq!(d.stream.closed_by(), Some(ClosedBy::Peer));
            // What the peer still sends is read for its closing tag only.
            let more = d.feed(
                "<message from='romeo@example.net/orchard'><body>late</body></message>\
                 <stream:error><host-gone xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
            );
            assert_eq!(more, Err(Error::PeerStreamError(sticky.clone())));
            assert_eq!(
                d.recent(),
                Outcome {
                    sent: String::new(),
                    events: vec![]
                }
            );
            let closed = Event::Closed {
                by: ClosedBy::Peer,
                error: Some(Error::PeerStreamError(sticky.clone())),
            };
            match ending {
                "closing tag" => {
                    // Bytes after the closing tag are ignored, even broken ones.
                    let r = d.feed("</stream:stream><message/><<<");
                    assert_eq!(r, Err(Error::PeerStreamError(sticky.clone())));
                }
                "eof" => d.stream.handle_eof(now),
                _ => {
                    let due = d.stream.poll_timeout();
                    assert_eq!(
                        due,
                        Some(now + Duration::from_secs(120)),
                        "the close timeout, not the request's"
                    );
                    d.stream.handle_timeout(now + Duration::from_secs(61));
                    assert_eq!(d.recent().events, [], "no IqTimeout");
                    d.stream.handle_timeout(now + Duration::from_secs(120));
                }
            }
            assert_eq!(d.recent().events, [closed]);
            assert_eq!(d.stream.state(), State::Closed);
            // Nothing more, whatever follows.
            d.stream.handle_eof(now);
            d.stream.handle_timeout(now + Duration::from_secs(7200));
            assert_eq!(
                d.feed("</stream:stream>"),
                Err(Error::PeerStreamError(sticky))
            );
            assert_eq!(
                d.recent(),
                Outcome {
                    sent: String::new(),
                    events: vec![]
                }
            );
        });
        expected(&out.events);
        assert_eq!(out.sent.matches("</stream:stream>").count(), 1);
        assert!(!out.sent.contains("<stream:error>"));
    }

    // During negotiation: the header, the error, then the close.
    let transcript = format!("{SERVER_HEADER}{error}{PEER_CLOSE}");
    let out = assert_split_invariant(&plain_config(), &[&transcript], &ChannelBinding::None);
    let kinds: Vec<&str> = out.events.iter().map(kind).collect();
    assert_eq!(kinds, ["header", "stream-error", "other"]);
    let e = expected(&out.events);
    assert_eq!(
        out.events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Peer,
            error: Some(Error::PeerStreamError(e))
        })
    );

    // After our own close: we ended the stream, the error is its reason.
    let (out, ()) = assert_chunking_invariant(online(plain_config()), |d| {
        d.stream.close(d.now);
        d.recent();
        assert!(d.feed(error).is_err());
        assert_eq!(d.stream.state(), State::Closing);
        d.feed(PEER_CLOSE).ok();
        assert_eq!(d.stream.state(), State::Closed);
    });
    let e = expected(&out.events);
    assert_eq!(
        out.events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Local,
            error: Some(Error::PeerStreamError(e))
        })
    );
    assert_eq!(out.sent.matches("</stream:stream>").count(), 1);
}

/// RFC 6120 §4.4 and §4.9.1: after a stream error we send (or a failure
/// that sends our closing tag), the stream reads on to the peer's closing
/// tag, writing and reporting nothing, and then reports the failure once,
/// as closed by us.
#[test]
fn after_our_stream_error_the_close_waits_for_the_peer() {
    let (out, ()) = assert_chunking_invariant(online(plain_config()), |d| {
        d.recent();
        let result = d.feed("<foo xmlns='urn:example:foo'/>");
        let Err(error) = result else {
            panic!("{result:?}")
        };
        assert_eq!(
            error.condition(),
            Some(StreamErrorCondition::UnsupportedStanzaType)
        );
        let recent = d.recent();
        assert!(
            recent
                .sent
                .starts_with("<stream:error><unsupported-stanza-type")
        );
        assert!(recent.sent.ends_with("</stream:stream>"));
        assert_eq!(recent.events, [], "Closed waits for the peer");
        assert_eq!(d.stream.state(), State::Closing);
        assert_eq!(d.stream.closed_by(), Some(ClosedBy::Local));
        // The peer's last stanzas, even its own stream error: read, not
        // reported, not answered.
        let more = d.feed(
            "<iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\
             <stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
        );
        assert_eq!(more, Err(error.clone()));
        assert_eq!(
            d.recent(),
            Outcome {
                sent: String::new(),
                events: vec![]
            }
        );
        d.feed(format!("{PEER_CLOSE}<message/>")).ok();
        assert_eq!(
            d.recent().events,
            [Event::Closed {
                by: ClosedBy::Local,
                error: Some(error)
            }]
        );
        d.stream.handle_eof(d.now);
        assert_eq!(d.recent().events, [], "reported once");
    });
    assert_eq!(out.sent.matches("<stream:error>").count(), 1);
    assert_eq!(out.sent.matches("</stream:stream>").count(), 1);

    // A failure without a stream error (SASL refused) waits as well; the
    // close timeout ends the wait for a silent peer.
    let now = epoch();
    let mut s = started(&plain_config(), now);
    let failure = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
    );
    let later = now + Duration::from_secs(3);
    assert!(matches!(
        s.handle_input(failure.as_bytes(), later),
        Err(Error::AuthFailed(_))
    ));
    assert_eq!(s.state(), State::Closing);
    assert_eq!(s.poll_timeout(), Some(later + Duration::from_secs(10)));
    s.handle_timeout(later + Duration::from_secs(10));
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        matches!(
            events.last(),
            Some(Event::Closed {
                by: ClosedBy::Local,
                error: Some(Error::AuthFailed(_))
            })
        ),
        "{events:?}"
    );

    // Timeouts and the peer's end do not wait: the peer is silent or gone.
    let (mut s, _) = online_stream(plain_config(), now);
    s.handle_eof(now);
    assert_eq!(
        std::iter::from_fn(|| s.poll_event()).last(),
        Some(Event::Closed {
            by: ClosedBy::Peer,
            error: Some(Error::UnexpectedEof)
        })
    );
    let mut s = started(&plain_config(), now);
    s.handle_timeout(now + Duration::from_secs(60));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(
        s.poll_event(),
        Some(Event::Closed {
            by: ClosedBy::Local,
            error: Some(Error::Timeout(TimeoutKind::Negotiation))
        })
    );
}

/// RFC 6120 §5.4.2.2: the server answers `<starttls/>` with `<failure/>`
/// and closes the stream. The stream waits for that closing tag, and the
/// peer ended it.
#[test]
fn a_tls_failure_waits_for_the_peer_close() {
    let mut config = plain_config();
    config.tls = TlsPolicy::Required;
    let (out, ()) = assert_chunking_invariant(
        |now| started(&config, now),
        |d| {
            d.feed(format!("{SERVER_HEADER}{FEATURES_STARTTLS}")).ok();
            d.recent();
            assert_eq!(
                d.feed("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
                Err(Error::TlsFailed)
            );
            let recent = d.recent();
            assert_eq!(recent.sent, "</stream:stream>");
            assert_eq!(recent.events, []);
            assert_eq!(d.stream.state(), State::Closing);
            d.feed(PEER_CLOSE).ok();
            assert_eq!(
                d.recent().events,
                [Event::Closed {
                    by: ClosedBy::Peer,
                    error: Some(Error::TlsFailed)
                }]
            );
        },
    );
    assert_eq!(out.sent.matches("</stream:stream>").count(), 1);
}

/// Every stream header is reported, in order, before its stream's
/// features: the first, the one after STARTTLS and the one after SASL,
/// each with its own id and `from`. A refused one is reported before the
/// failure.
#[test]
fn every_stream_header_is_reported_in_order() {
    let mut config = plain_config();
    config.tls = TlsPolicy::Required;
    let header = |id: &str, from: &str| {
        SERVER_HEADER
            .replace("id='s1'", &format!("id='{id}'"))
            .replace("from='example.com'", &format!("from='{from}'"))
    };
    let bind = iq_id(&config, 1);
    let pre_tls = format!(
        "{}{FEATURES_STARTTLS}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        header("a1", "example.com")
    );
    let post_tls = format!(
        "{}{FEATURES_PLAIN}{SUCCESS}{}{FEATURES_BIND}{}",
        header("b2", "example.com"),
        header("c3", "im.example.com"),
        bind_result(&bind)
    );
    let out = assert_split_invariant(&config, &[&pre_tls, &post_tls], &ChannelBinding::None);
    let summary: Vec<String> = out
        .events
        .iter()
        .map(|e| match e {
            Event::StreamHeader(h) => format!(
                "header {} {}",
                h.id.as_deref().unwrap_or(""),
                h.from.as_deref().unwrap_or("")
            ),
            Event::StartTls => "starttls".into(),
            other => kind(other).into(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "header a1 example.com",
            "features",
            "starttls",
            "header b2 example.com",
            "features",
            "authenticated",
            "header c3 im.example.com",
            "features",
            "online"
        ]
    );

    // A refused header (no version: pre-1.0) is reported, then the failure.
    let old = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='old'>";
    let out = assert_split_invariant(
        &plain_config(),
        &[&format!("{old}{PEER_CLOSE}")],
        &ChannelBinding::None,
    );
    assert!(
        matches!(&out.events[..], [Event::StreamHeader(h), Event::Closed { by: ClosedBy::Local, error: Some(e) }]
            if h.id.as_deref() == Some("old") && e.condition() == Some(StreamErrorCondition::UnsupportedVersion)),
        "{:?}",
        out.events
    );
}
// ---- The account JID (RFC 7622) and published SCRAM vectors ----

/// Our stream header before TLS, to `example.com`.
const CLIENT_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

/// RFC 7622 §3: an account JID that is not a valid JID is refused by
/// `validate` and by `start`, which writes nothing and stays idle; so is a
/// resource to request that is too long (§3.4: 1023 bytes) or that
/// neither resourceprep nor RFC 7622 accepts, and a fixed SCRAM nonce SCRAM cannot carry.
#[test]
fn an_invalid_account_is_refused_before_anything_is_written() {
    use xmpp_sansio::stanza::JidProblem;
    let long = "x".repeat(1024);
    let jid_cases = [
        ("", JidProblem::Empty),
        ("alice@", JidProblem::EmptyDomain),
        ("alice@.", JidProblem::EmptyDomain),
        ("alice@/balcony", JidProblem::EmptyDomain),
        ("@example.com", JidProblem::EmptyLocalpart),
        ("a@b@c", JidProblem::TooManyAts),
        ("alice@exa mple.com", JidProblem::Domain),
        ("alice@example.com..", JidProblem::Domain),
        ("alice@example.com/", JidProblem::EmptyResource),
        ("al ice@example.com", JidProblem::Localpart),
        ("alice@example.com/a\u{7}b", JidProblem::Resource),
    ];
    let mut cases: Vec<(ClientConfig, ConfigError)> = jid_cases
        .iter()
        .map(|&(jid, reason)| {
            let mut c = plain_config();
            c.jid = jid.into();
            let err = ConfigError::InvalidJid {
                jid: jid.into(),
                reason,
            };
            (c, err)
        })
        .collect();
    let mut c = plain_config();
    c.jid = format!("{}@example.com", "l".repeat(1024));
    cases.push((
        c.clone(),
        ConfigError::InvalidJid {
            jid: c.jid.clone(),
            reason: JidProblem::LocalpartTooLong,
        },
    ));
    c = plain_config();
    c.resource = Some(long.clone());
    cases.push((c, ConfigError::ResourceTooLong { len: 1024 }));
    c = plain_config();
    c.resource = None;
    c.jid = format!("juliet@example.com/{long}");
    cases.push((c, ConfigError::ResourceTooLong { len: 1024 }));
    // 1023 bytes as given, longer once prepared (NFKC expands U+FDFA).
    c = plain_config();
    c.resource = Some("\u{FDFA}".repeat(341));
    cases.push((c, ConfigError::ResourceTooLong { len: 1024 }));
    c = plain_config();
    c.resource = Some("bal\u{7}cony".into());
    cases.push((
        c,
        ConfigError::InvalidResource {
            resource: "bal\u{7}cony".into(),
            reason: JidProblem::Resource,
        },
    ));
    for nonce in ["", "a,b", "caf\u{e9}", "a b"] {
        c = plain_config();
        c.scram_client_nonce = Some(nonce.into());
        cases.push((c, ConfigError::InvalidScramNonce));
    }
    for (config, want) in cases {
        assert_eq!(config.validate(), Err(want.clone()), "{:?}", config.jid);
        let mut s = Stream::client(config);
        assert_eq!(
            s.start(epoch()),
            Err(UsageError::InvalidConfig(want.clone()))
        );
        assert_eq!(s.poll_transmit(), None, "nothing written for {want}");
        assert_eq!(s.poll_event(), None);
        assert_eq!(s.state(), State::Idle);
    }
    // RFC 7622 §3.4 resources that resourceprep (RFC 6122) refuses are
    // still valid: symbols and emoji, as real servers bind them.
    for resource in ["phone📱🚀", "Niaj 🚀", "\u{265A}"] {
        let mut c = plain_config();
        c.resource = Some(resource.into());
        assert_eq!(c.validate(), Ok(()), "{resource}");
        c.resource = None;
        c.jid = format!("juliet@example.com/{resource}");
        assert_eq!(c.validate(), Ok(()), "{resource}");
    }
    // What the examples print.
    let mut c = plain_config();
    c.jid = "a@b@c".into();
    let err = Stream::client(c)
        .start(epoch())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("invalid JID \"a@b@c\": more than one '@' before the resource")
    );

    // The limits themselves are allowed.
    let mut ok = plain_config();
    ok.resource = Some("r".repeat(1023));
    ok.jid = format!("{}@example.com", "l".repeat(1023));
    assert_eq!(ok.validate(), Ok(()));
    ok.resource = Some(String::new());
    assert_eq!(
        ok.validate(),
        Ok(()),
        "an empty resource lets the server choose"
    );
    ok.jid = "example.com".into();
    assert_eq!(ok.validate(), Ok(()), "a domain-only account (ANONYMOUS)");
    ok.jid = "[::1]".into();
    assert_eq!(ok.validate(), Ok(()), "an IP literal");
    let mut s = Stream::client(ok);
    assert_eq!(s.start(epoch()), Ok(()));
    assert!(s.poll_transmit().is_some());
}

/// RFC 7622 §3.2: the account domain's final dot is stripped before use:
/// the header's `to` (and `from` after TLS) and the SASL username carry
/// none, and the server's addresses compare equal with or without it
/// (a roster push from our bare JID, a ping from our domain).
#[test]
fn a_final_dot_in_the_account_domain_is_stripped() {
    for (account, server_form) in [
        ("juliet@example.com.", "juliet@example.com"),
        ("juliet@example.com", "juliet@example.com."),
        // The `jid` crate drops the dot itself when a part changes in
        // preparation, and keeps it otherwise (docs/jid.md, rows 21-22).
        ("juliet@example.com", "Juliet@Example.com."),
    ] {
        let mut config = plain_config();
        config.jid = account.into();
        assert_eq!(config.domain(), "example.com");
        assert_eq!(config.bare_jid(), "juliet@example.com");
        let bind = iq_id(&config, 1);
        let domain = server_form.split('@').nth(1).unwrap_or_default();
        let transcript = format!(
            "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}{}\
             <iq type='set' id='r1' from='{server_form}'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>\
             <iq type='get' id='p1' from='{domain}'><ping xmlns='urn:xmpp:ping'/></iq>",
            bind_result(&bind)
        );
        let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
        assert!(out.sent.starts_with(CLIENT_HEADER), "{}", out.sent);
        let plain = BASE64.encode(b"\0juliet\0r0m30");
        assert!(
            out.sent
                .contains(&format!("mechanism='PLAIN'>{plain}</auth>"))
        );
        assert!(
            out.sent
                .contains(&format!("<iq type='result' id='r1' to='{server_form}'/>")),
            "the push is acknowledged: {}",
            out.sent
        );
        assert!(
            out.events.iter().any(
                |e| matches!(e, Event::RosterPush { item, .. } if item.jid == "nurse@example.com")
            ),
            "{account}: {:?}",
            out.events
        );
        assert!(
            out.sent
                .contains(&format!("<iq type='result' id='p1' to='{domain}'/>")),
            "{}",
            out.sent
        );
    }
    // After TLS, `from` is the bare JID without the dot too.
    let mut config = plain_config();
    config.jid = "juliet@example.com.".into();
    let s = Stream::client_over_tls(config, ChannelBinding::None);
    let mut s = s;
    assert_eq!(s.start(epoch()), Ok(()));
    let header =
        String::from_utf8(s.poll_transmit().unwrap_or_default().to_vec()).unwrap_or_default();
    assert!(header.contains(" to='example.com' "), "{header}");
    assert!(header.contains(" from='juliet@example.com' "), "{header}");
}

/// The SASL part of a session with a published SCRAM exchange: the client
/// nonce fixed by `ClientConfig::scram_client_nonce`, every byte the
/// client writes compared with the publication. The server's bytes come in
/// the reads a server would cause (header and features, challenge,
/// success and the restart), each cut at every offset and fed one byte
/// at a time: every run pays 4096 PBKDF2 iterations, so fewer runs.
fn scram_vector_session(
    mechanism: Mechanism,
    user: &str,
    password: &str,
    client_nonce: &str,
    exchange: [&str; 4],
) {
    let [client_first, server_first, client_final, server_final] = exchange;
    let mut config = plain_config();
    config.jid = format!("{user}@example.com");
    config.password = password.into();
    config.scram_client_nonce = Some(client_nonce.into());
    let name = mechanism.name();
    let features = format!(
        "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>{name}</mechanism></mechanisms></stream:features>"
    );
    // Between reads the harness reports a TLS handshake; with TLS off the
    // stream refuses that (`NotAwaitingTls`) and changes nothing.
    let reads = [
        format!("{SERVER_HEADER}{features}"),
        challenge(server_first),
        format!(
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>{SERVER_HEADER}{FEATURES_BIND}",
            BASE64.encode(server_final)
        ),
    ];
    let reads: Vec<&str> = reads.iter().map(String::as_str).collect();
    let out = assert_split_invariant(&config, &reads, &ChannelBinding::None);
    let bind = iq_id(&config, 1);
    assert_eq!(
        out.sent,
        format!(
            "{CLIENT_HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{name}'>{}</auth>\
             <response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>{CLIENT_HEADER}\
             <iq type='set' id='{bind}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>",
            BASE64.encode(client_first),
            BASE64.encode(client_final)
        )
    );
    assert!(out.events.contains(&Event::Authenticated { mechanism }));
}

/// RFC 5802 §5: SCRAM-SHA-1, user "user", password "pencil".
#[test]
fn rfc5802_scram_sha1_vector_through_the_stream() {
    scram_vector_session(
        Mechanism::ScramSha1,
        "user",
        "pencil",
        "fyko+d2lbbFgONRv9qkxdawL",
        [
            "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        ],
    );
}

/// RFC 7677 §3: SCRAM-SHA-256, user "user", password "pencil".
#[test]
fn rfc7677_scram_sha256_vector_through_the_stream() {
    scram_vector_session(
        Mechanism::ScramSha256,
        "user",
        "pencil",
        "rOprNGfwEbeRWgbNEkqO",
        [
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ],
    );
}

/// RFC 6120 §9.1.1-9.1.3, steps 1-16: juliet@im.example.com, password
/// "r0m30myr0m30", STARTTLS, SCRAM-SHA-1 (the -PLUS form offered, no
/// channel binding), bind "balcony". The server's bytes are the RFC's,
/// pretty-printed as there (the base64 joined: "line breaks not included in
/// actual data"); the client's SASL data is the RFC's base64, byte for byte.
/// Only the bind request's id is ours.
#[test]
fn rfc6120_section_9_1_session_through_the_stream() {
    let mut config = ClientConfig::new("juliet@im.example.com", "r0m30myr0m30", [42; 32]);
    config.resource = Some("balcony".into());
    config.scram_client_nonce = Some("oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA".into());
    let bind = iq_id(&config, 1);
    let pre_tls = "<stream:stream
     from='im.example.com'
     id='t7AMCin9zjMNwQKDnplntZPIDEI='
     to='juliet@im.example.com'
     version='1.0'
     xml:lang='en'
     xmlns='jabber:client'
     xmlns:stream='http://etherx.jabber.org/streams'>
<stream:features>
     <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>
       <required/>
     </starttls>
   </stream:features>
<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
    let post_tls = "<stream:stream
     from='im.example.com'
     id='vgKi/bkYME8OAj4rlXMkpucAqe4='
     to='juliet@im.example.com'
     version='1.0'
     xml:lang='en'
     xmlns='jabber:client'
     xmlns:stream='http://etherx.jabber.org/streams'>
<stream:features>
     <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>
       <mechanism>SCRAM-SHA-1-PLUS</mechanism>
       <mechanism>SCRAM-SHA-1</mechanism>
       <mechanism>PLAIN</mechanism>
     </mechanisms>
   </stream:features>";
    // The next reads (after TLS the harness reports a handshake between
    // reads, which the stream refuses, changing nothing): each cut at every
    // offset. Every run pays 4096 PBKDF2 iterations, so not one long read.
    let challenge = "<challenge xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\">\
cj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQWUxMjQ2OTViLTY5Y\
TktNGRlNi05YzMwLWI1MWIzODA4YzU5ZSxzPU5qaGtZVE0wTURndE5HWTBaaT\
AwTmpkbUxUa3hNbVV0TkRsbU5UTm1ORE5rTURNeixpPTQwOTY=</challenge>";
    let success = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
dj1wTk5ERlZFUXh1WHhDb1NFaVc4R0VaKzFSU289</success>";
    let restart = "<stream:stream
     from='im.example.com'
     id='gPybzaOzBmaADgxKXu9UClbprp0='
     to='juliet@im.example.com'
     version='1.0'
     xml:lang='en'
     xmlns='jabber:client'
     xmlns:stream='http://etherx.jabber.org/streams'>
<stream:features>
     <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>
   </stream:features>";
    let bound = format!(
        "<iq id='{bind}' type='result'>
     <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>
       <jid>
         juliet@im.example.com/balcony
       </jid>
     </bind>
   </iq>"
    );
    let out = assert_split_invariant(
        &config,
        &[pre_tls, post_tls, challenge, success, restart, &bound],
        &ChannelBinding::None,
    );
    let header = |from: &str| {
        format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='im.example.com' version='1.0'{from} xml:lang='en'>"
        )
    };
    let after_tls = header(" from='juliet@im.example.com'");
    assert_eq!(
        out.sent,
        format!(
            "{}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>{after_tls}\
             <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>\
             biwsbj1qdWxpZXQscj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQQ==</auth>\
             <response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             Yz1iaXdzLHI9b01zVEFBd0FBQUFNQUFBQU5QMFRBQUFBQUFCUFUwQUFlMTI0Njk1Yi02OWE5LTRkZTYtOWMzMC1iNTFiMzgwOGM1OWUscD1VQTU3dE0vU3ZwQVRCa0gyRlhzMFdEWHZKWXc9\
             </response>{after_tls}\
             <iq type='set' id='{bind}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>",
            header("")
        )
    );
    assert!(out.events.contains(&Event::Authenticated {
        mechanism: Mechanism::ScramSha1
    }));
    assert!(out.events.contains(&Event::Online {
        jid: "juliet@im.example.com/balcony".into()
    }));
}

/// A domain-only account (`example.com`) has no username: PLAIN and SCRAM
/// are never tried with an empty authentication identity, whatever the
/// preferences say; ANONYMOUS when configured, else `NoMechanism`.
#[test]
fn a_domain_only_account_never_authenticates_with_a_password() {
    let features = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>";
    let mut config = plain_config();
    config.jid = "example.com".into();
    config.resource = None;
    let transcript = format!("{SERVER_HEADER}{features}{PEER_CLOSE}");
    let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
    assert!(!out.sent.contains("<auth"), "{}", out.sent);
    assert!(
        matches!(error_of(&out.events), Some(Error::NoMechanism { .. })),
        "{:?}",
        out.events
    );
    config.mechanisms = Some(vec![
        Mechanism::Plain,
        Mechanism::ScramSha1,
        Mechanism::Anonymous,
    ]);
    let out = assert_split_invariant(&config, &[&transcript], &ChannelBinding::None);
    assert!(
        out.sent
            .contains("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'"),
        "{}",
        out.sent
    );
}

/// `handle_input_some` gives what `handle_input` gives on the same read
/// (events, automatic replies in order, the failure and what follows it,
/// bytes after the peer's closing tag ignored), taking at most one window
/// per call; a failed or ended stream takes the rest at once.
#[test]
fn handle_input_some_gives_what_handle_input_gives() {
    let mut stanzas = String::new();
    for i in 0..120 {
        stanzas.push_str(&format!(
            "<message from='romeo@example.net/orchard' type='chat' id='m{i}'><body>number {i}</body></message>\
             <iq type='get' id='p{i}' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\
             <iq type='get' id='v{i}' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>"
        ));
    }
    let ended = format!("{stanzas}</stream:stream><junk/>");
    let failed = format!("{stanzas}<message><body></message>{stanzas}</stream:stream>");
    // Not well-formed: nothing more is read. A protocol violation: the
    // stream reads on to the peer's closing tag.
    let violation = format!("{stanzas}<foo/>{stanzas}</stream:stream>");
    for read in [ended, failed, violation] {
        assert!(read.len() > 3 * Stream::INPUT_WINDOW);
        let now = epoch();
        let (mut whole, mut expected) = online_stream(plain_config(), now);
        // A failure past the first window's events is met as they are
        // taken: `handle_input` reports it from then on.
        let _ = whole.handle_input(read.as_bytes(), now);
        drain(&mut whole, &mut expected);
        let whole_result = whole.handle_input(b"", now);
        let (mut some, mut got) = online_stream(plain_config(), now);
        let mut rest = read.as_bytes();
        let mut some_result = Ok(());
        while !rest.is_empty() {
            match some.handle_input_some(rest, now) {
                Ok(taken) => {
                    assert!(taken <= Stream::INPUT_WINDOW || some.state() == State::Closed);
                    rest = &rest[taken..];
                }
                Err(e) => {
                    some_result = Err(e);
                    rest = &[];
                }
            }
            drain(&mut some, &mut got);
        }
        assert_eq!(some_result, whole_result);
        assert_eq!(got, expected);
        assert_eq!(some.state(), whole.state());
        // The read as `Bytes`: given to the framer a window at a time.
        let (mut owned, mut got) = online_stream(plain_config(), now);
        let _ = owned.handle_input_bytes(bytes::Bytes::from(read.clone().into_bytes()), now);
        drain(&mut owned, &mut got);
        assert_eq!(owned.handle_input(b"", now), whole_result);
        assert_eq!(got, expected);
        assert_eq!(owned.state(), whole.state());
        assert!(
            expected
                .sent
                .contains("<iq type='result' id='p119' to='example.com'/>")
        );
    }
}

/// `Stream::header` is the peer's most recent accepted stream header: kept
/// across a restart until the new stream's header arrives, and not
/// replaced by a header the stream refuses.
#[test]
fn the_peers_header_is_kept_across_a_restart() {
    let now = epoch();
    let second = SERVER_HEADER.replace("id='s1'", "id='s2'");
    for bad_second in [false, true] {
        let mut s = Stream::client(plain_config());
        s.start(now).unwrap();
        assert!(s.header().is_none());
        let id = |s: &Stream| s.header().and_then(|h| h.id.clone());
        s.handle_input(SERVER_HEADER.as_bytes(), now).unwrap();
        assert_eq!(id(&s).as_deref(), Some("s1"));
        s.handle_input(b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", now).unwrap();
        assert_eq!(id(&s).as_deref(), Some("s1"), "kept across the restart");
        let next = if bad_second {
            second.replace("version='1.0' from", "version='2.0' from")
        } else {
            second.clone()
        };
        let result = s.handle_input(next.as_bytes(), now);
        assert_eq!(result.is_err(), bad_second);
        let expected = if bad_second { "s1" } else { "s2" };
        assert_eq!(id(&s).as_deref(), Some(expected));
        let mut out = Outcome {
            sent: String::new(),
            events: Vec::new(),
        };
        drain(&mut s, &mut out);
        let reported: Vec<_> = out
            .events
            .iter()
            .filter_map(|e| match e {
                Event::StreamHeader(h) => h.id.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(
            reported,
            ["s1", "s2"],
            "every header is reported: {:?}",
            out.events
        );
    }
}
