//! The client Stream against recorded and computed server transcripts:
//! every negotiation path and failure, IQ tracking and timers. The login
//! transcripts are fed cut at every byte offset and one byte at a time.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::*;
use std::time::Duration;
use xmpp_sansio::negotiation::SaslCondition;
use xmpp_sansio::sasl::{ChannelBinding, Mechanism, SaslError, ScramHash, ScramKeys};
use xmpp_sansio::stanza::{ErrorType, IqType, StanzaError, StanzaErrorCondition, StanzaView};
use xmpp_sansio::xml::{Element, XmlError, ns};
use xmpp_sansio::{
    ClientConfig, Error, Event, IqRequestPolicy, State, Stream, StreamErrorCondition, TlsPolicy,
    UsageError,
};

const FEATURES_PLAIN: &str = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>";
const FEATURES_BIND: &str =
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
const SUCCESS: &str = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";

/// The id the client (with its fixed seed) gives its n-th IQ.
fn iq_id(config: &ClientConfig, n: usize) -> String {
    let now = epoch();
    // Ids depend only on the seed: probe over a plaintext PLAIN login.
    let mut probe = config.clone();
    probe.tls = TlsPolicy::Disabled;
    probe.allow_plaintext_auth = true;
    probe.mechanisms = None;
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

fn bind_result(id: &str) -> String {
    format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>"
    )
}

fn error_of(events: &[Event]) -> Option<Error> {
    events.iter().find_map(|e| match e {
        Event::Closed { error } => Some(error.clone()),
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

    let kinds: Vec<&str> = out
        .events
        .iter()
        .map(|e| match e {
            Event::Features(_) => "features",
            Event::Authenticated { .. } => "authenticated",
            Event::Online { .. } => "online",
            Event::Message(_) => "message",
            Event::Presence(_) => "presence",
            Event::Closed { error: None } => "closed",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "features",
            "authenticated",
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

#[test]
fn a_server_that_does_not_know_the_password_is_caught() {
    let mut config = plain_config();
    config.mechanisms = Some(vec![Mechanism::ScramSha1]);
    let features = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>";
    let probe = run_phases(
        config.clone(),
        &[&format!("{SERVER_HEADER}{features}")],
        &[],
        &ChannelBinding::None,
    );
    let auth_b64 = probe
        .sent
        .split("mechanism='SCRAM-SHA-1'>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default();
    let client_first =
        String::from_utf8(BASE64.decode(auth_b64).unwrap_or_default()).unwrap_or_default();
    let nonce = client_first.rsplit("r=").next().unwrap_or_default();
    let server_first = format!("r={nonce}x,s={},i=4096", BASE64.encode(b"salt"));
    let transcript = format!(
        "{SERVER_HEADER}{features}<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>",
        BASE64.encode(&server_first),
        BASE64.encode("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    );
    let out = run_phases(config, &[&transcript], &[], &ChannelBinding::None);
    assert_eq!(
        error_of(&out.events),
        Some(Error::Sasl(SaslError::ServerSignatureMismatch))
    );
    assert!(
        !out.events
            .iter()
            .any(|e| matches!(e, Event::Authenticated { .. } | Event::Online { .. }))
    );
}

/// A server that sends its SCRAM final message as a challenge, then a
/// success with `=` (explicitly empty data, RFC 6120 §6.4.6).
#[test]
fn scram_final_as_challenge_then_success_with_equals() {
    let mut config = plain_config();
    config.mechanisms = Some(vec![Mechanism::ScramSha1]);
    let features = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>";
    let probe = run_phases(
        config.clone(),
        &[&format!("{SERVER_HEADER}{features}")],
        &[],
        &ChannelBinding::None,
    );
    let auth_b64 = probe
        .sent
        .split("mechanism='SCRAM-SHA-1'>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default();
    let client_first =
        String::from_utf8(BASE64.decode(auth_b64).unwrap_or_default()).unwrap_or_default();
    let nonce = client_first.rsplit("r=").next().unwrap_or_default();
    let server_first = format!("r={nonce}S,s={},i=16", BASE64.encode(b"salt"));
    let auth_message = format!("{},{server_first},c=biws,r={nonce}S", &client_first[3..]);
    let keys = ScramKeys::derive(ScramHash::Sha1, "r0m30", b"salt", 16);
    let server_final = format!(
        "v={}",
        BASE64.encode(keys.server_signature(ScramHash::Sha1, auth_message.as_bytes()))
    );
    let transcript = format!(
        "{SERVER_HEADER}{features}<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>\
         <challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</success>",
        BASE64.encode(&server_first),
        BASE64.encode(&server_final)
    );
    let out = run_phases(config, &[&transcript], &[], &ChannelBinding::None);
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

#[test]
fn sasl_failure_is_typed_with_its_text() {
    let transcript = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><account-disabled/><text xml:lang='en'>Call 212-555-1212 for help.</text></failure>"
    );
    let out = assert_split_invariant(&plain_config(), &[&transcript], &ChannelBinding::None);
    let Some(Error::AuthFailed(failure)) = error_of(&out.events) else {
        panic!("{:?}", out.events)
    };
    assert_eq!(failure.condition, SaslCondition::AccountDisabled);
    assert_eq!(
        failure.text,
        Some((Some("en".into()), "Call 212-555-1212 for help.".into()))
    );
    assert!(out.sent.ends_with("</stream:stream>"));
}

#[test]
fn bind_conflict_and_not_allowed_fail_the_stream() {
    let config = plain_config();
    let bind = iq_id(&config, 1);
    for condition in ["conflict", "not-allowed"] {
        let transcript = format!(
            "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}<iq type='error' id='{bind}'><error type='cancel'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        );
        let out = run_phases(config.clone(), &[&transcript], &[], &ChannelBinding::None);
        let Some(Error::BindFailed(e)) = error_of(&out.events) else {
            panic!("{:?}", out.events)
        };
        assert_eq!(e.condition.as_str(), condition);
    }
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
    let optional = run_phases(
        config.clone(),
        &[&with(
            "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>",
        )],
        &[],
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
    let out = run_phases(config, &[&required], &[], &ChannelBinding::None);
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
    let mut required = plain_config();
    required.tls = TlsPolicy::Required;
    assert_eq!(
        error_of(&run_phases(required.clone(), &[&no_tls], &[], &ChannelBinding::None).events),
        Some(Error::TlsUnavailable)
    );
    assert_eq!(
        error_of(&run_phases(plain_config(), &[&starttls], &[], &ChannelBinding::None).events),
        Some(Error::TlsRequiredByServer)
    );
    let mut preferred = plain_config();
    preferred.tls = TlsPolicy::Preferred;
    let out = run_phases(preferred, &[&no_tls], &[], &ChannelBinding::None);
    assert!(
        out.sent.contains("mechanism='PLAIN'"),
        "continues without TLS"
    );

    // PLAIN is never used in the clear unless allowed.
    let mut strict = plain_config();
    strict.allow_plaintext_auth = false;
    let out = run_phases(strict, &[&no_tls], &[], &ChannelBinding::None);
    assert_eq!(
        error_of(&out.events),
        Some(Error::NoMechanism {
            offered: vec!["PLAIN".into()]
        })
    );

    // Plaintext injected after <proceed/> is never processed.
    let injected = format!(
        "{}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        starttls
    );
    let out = run_phases(required.clone(), &[&injected], &[], &ChannelBinding::None);
    assert_eq!(error_of(&out.events), Some(Error::DataAfterProceed));
    let now = epoch();
    let mut s = Stream::client(required);
    s.start(now).ok();
    s.handle_input(
        format!("{starttls}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").as_bytes(),
        now,
    )
    .ok();
    assert_eq!(s.state(), State::AwaitingTls);
    assert_eq!(s.handle_input(b" ", now), Err(Error::DataAfterProceed));

    // Direct TLS: no STARTTLS, `from` in the first header, PLAIN allowed.
    let mut direct = plain_config();
    direct.tls = TlsPolicy::Required;
    direct.allow_plaintext_auth = false;
    let mut s = Stream::client_over_tls(direct, ChannelBinding::None);
    s.start(now).ok();
    s.handle_input(no_tls.as_bytes(), now).ok();
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    drain(&mut s, &mut out);
    assert!(
        out.sent.contains("from='juliet@example.com'") && out.sent.contains("mechanism='PLAIN'")
    );
}

#[test]
fn pipelined_header_after_success_in_one_read() {
    let config = plain_config();
    let bind = iq_id(&config, 1);
    let all = format!(
        "{SERVER_HEADER}{FEATURES_PLAIN}{SUCCESS}{SERVER_HEADER}{FEATURES_BIND}{}",
        bind_result(&bind)
    );
    let out = run_phases(config, &[&all], &[], &ChannelBinding::None);
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
        let out = run_phases(plain_config(), &[header], &[], &ChannelBinding::None);
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
    let now = epoch();
    let mut s = Stream::client(plain_config());
    s.start(now).ok();
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    drain(&mut s, &mut out);
    let input = format!("{SERVER_HEADER}<!-- no comments in XMPP -->");
    let err = s.handle_input(input.as_bytes(), now);
    assert_eq!(err, Err(Error::Xml(XmlError::RestrictedXml("comment"))));
    assert_eq!(s.handle_input(b"<message/>", now), err, "sticky");
    drain(&mut s, &mut out);
    assert!(
        out.sent.contains(
            "<stream:error><restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        )
    );
    assert!(out.sent.ends_with("</stream:stream>"));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(
        out.events
            .iter()
            .filter(|e| matches!(e, Event::Closed { .. }))
            .count(),
        1
    );
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
    let now = epoch();
    let (mut s, mut out) = online_stream(plain_config(), now);
    assert_eq!(s.state(), State::Online);
    let version = Element::new("query", "jabber:iq:version");
    let id = s
        .send_iq(
            IqType::Get,
            Some("romeo@example.net/orchard"),
            version.clone(),
            now,
        )
        .unwrap_or_default();
    let other = s
        .send_iq(IqType::Get, Some("romeo@example.net/orchard"), version, now)
        .unwrap_or_default();
    drain(&mut s, &mut out);
    assert!(out.sent.contains(&format!("<iq type='get' id='{id}' to='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>")));

    // A reply from someone else is not a reply (RFC 6120 §8.1.2.1).
    let spoofed = format!(
        "<iq type='result' id='{id}' from='mallory@evil.example/x'><query xmlns='jabber:iq:version'><name>x</name></query></iq>"
    );
    s.handle_input(spoofed.as_bytes(), now).ok();
    let genuine = format!(
        "<iq type='result' id='{id}' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'><name>Verona</name></query></iq>"
    );
    s.handle_input(genuine.as_bytes(), now).ok();
    let error = format!(
        "<iq type='error' id='{other}' from='romeo@example.net/orchard'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    );
    s.handle_input(error.as_bytes(), now).ok();
    let mut fresh = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    drain(&mut s, &mut fresh);
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
    let roster = s
        .send_iq(
            IqType::Get,
            Some("juliet@example.com"),
            Element::new("query", ns::ROSTER),
            now,
        )
        .unwrap_or_default();
    s.handle_input(format!("<iq type='result' id='{roster}'/>").as_bytes(), now)
        .ok();
    assert!(matches!(s.poll_event(), Some(Event::IqResult { id, .. }) if id == roster));

    // Timeouts come from poll_timeout, and only when due.
    let late = s
        .send_iq(
            IqType::Get,
            None,
            Element::new("query", "jabber:iq:last"),
            now,
        )
        .unwrap_or_default();
    let due = s.poll_timeout().unwrap_or(now);
    assert_eq!(
        due,
        now + Duration::from_secs(60).min(Duration::from_secs(90))
    );
    s.handle_timeout(due - Duration::from_millis(1));
    assert_eq!(s.poll_event(), None, "early handle_timeout does nothing");
    s.handle_timeout(due);
    assert_eq!(s.poll_event(), Some(Event::IqTimeout { id: late.clone() }));
    s.handle_input(format!("<iq type='result' id='{late}'/>").as_bytes(), now)
        .ok();
    assert!(
        matches!(s.poll_event(), Some(Event::Unhandled(_))),
        "a late reply is not reported as the reply"
    );
}

#[test]
fn inbound_requests_follow_the_policy() {
    let now = epoch();
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::Namespaces(vec!["jabber:iq:version".into()]);
    let (mut s, _) = online_stream(config, now);
    s.handle_input(b"<iq type='get' id='q1' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq><iq type='set' id='q2' from='romeo@example.net/orchard'/>", now).ok();
    let Some(Event::IqRequest(request)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(request.id(), "q1");
    let reply = Element::builder("query", "jabber:iq:version")
        .child(
            Element::builder("name", "jabber:iq:version")
                .text("xmpp-sansio")
                .build(),
        )
        .build();
    s.reply_iq_result(&request, Some(reply), now).ok();
    s.reply_iq_error(
        &request,
        StanzaError::new(
            ErrorType::Cancel,
            StanzaErrorCondition::FeatureNotImplemented,
        ),
        now,
    )
    .ok();
    let sent = String::from_utf8(s.poll_transmit().map(|b| b.to_vec()).unwrap_or_default())
        .unwrap_or_default();
    // The malformed set (no payload) got bad-request on its own.
    assert!(sent.starts_with("<iq type='error' id='q2' to='romeo@example.net/orchard'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"), "{sent}");
    assert!(sent.contains("<iq type='result' id='q1' to='romeo@example.net/orchard'><query xmlns='jabber:iq:version'><name>xmpp-sansio</name></query></iq>"));
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
            error: Some(Error::Timeout("keepalive ping"))
        })
    );
}

#[test]
fn negotiation_timeout_and_orderly_close() {
    let now = epoch();
    let mut s = Stream::client(plain_config());
    s.start(now).ok();
    let deadline = s.poll_timeout().unwrap_or(now);
    assert_eq!(deadline, now + Duration::from_secs(60));
    s.handle_timeout(deadline);
    assert_eq!(s.error(), Some(&Error::Timeout("stream negotiation")));

    let (mut s, _) = online_stream(plain_config(), now);
    s.close(now);
    assert_eq!(s.poll_transmit().as_deref(), Some(&b"</stream:stream>"[..]));
    assert_eq!(s.state(), State::Closing);
    assert_eq!(
        s.send(Element::new("presence", ns::JABBER_CLIENT), now),
        Err(UsageError::Closed)
    );
    s.handle_input(b"</stream:stream>", now).ok();
    assert!(std::iter::from_fn(|| s.poll_event()).any(|e| e == Event::Closed { error: None }));
    assert_eq!(s.poll_transmit(), None, "no second closing tag");

    // A peer that never answers: Closed after the close timeout.
    let (mut s, _) = online_stream(plain_config(), now);
    s.close(now);
    let t = s.poll_timeout().unwrap_or(now);
    s.handle_timeout(t);
    assert_eq!(s.state(), State::Closed);
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
        Err(UsageError::InvalidStanza(
            "not a message, presence or iq in jabber:client"
        ))
    );
    assert_eq!(
        s.send_iq(IqType::Result, None, Element::new("q", "urn:x"), now),
        Err(UsageError::InvalidStanza(
            "send_iq sends get or set; use reply_iq_* for replies"
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
    let now = epoch();
    let mut config = plain_config();
    config.iq_requests = IqRequestPolicy::All;
    let (mut s, _) = online_stream(config, now);
    s.handle_input(b"<iq type='get' id='h1' from='romeo@example.net/orchard'><query xmlns='urn:example:x'/></iq>", now).ok();
    s.dispatch(&mut Quiet, now);
    let sent = String::from_utf8(s.poll_transmit().map(|b| b.to_vec()).unwrap_or_default())
        .unwrap_or_default();
    assert!(sent.contains("<iq type='error' id='h1' to='romeo@example.net/orchard'><error type='cancel'><service-unavailable"), "{sent}");
    assert_eq!(s.poll_event(), None, "dispatch drained every event");
}
