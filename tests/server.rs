//! The server Stream (the receiving entity of RFC 6120): client
//! transcripts fed whole, cut at every byte offset and one byte at a time
//! (`assert_server_split_invariant`, `assert_chunking_invariant`), and a
//! client Stream back to back with a server Stream (`common::pair`). The
//! one transcript that is not split-invariant, bytes after `<starttls/>`
//! in the same read, says why.

mod common;

use std::time::Duration;

use common::pair::*;
use common::server_side::*;
use common::*;
use proptest::prelude::*;
use xmpp_sansio::negotiation::SaslCondition;
use xmpp_sansio::sasl::{ChannelBinding, FailureReason, Mechanism};
use xmpp_sansio::stanza::{Message, StanzaError, StanzaErrorCondition, StanzaView};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{
    ClientConfig, ClosedBy, Error, Event, ServerConfig, State, Stream, StreamErrorCondition,
    TimeoutKind, TlsPolicy, UsageError,
};

const STREAM_ERROR_NS: &str = "xmlns='urn:ietf:params:xml:ns:xmpp-streams'";

/// Everything up to (and with) our stream header in `sent`, and the rest.
fn after_header(sent: &str) -> &str {
    sent.find("'>").map_or("", |i| &sent[i + 2..])
}

/// A server driven to the point where the client is authenticated as
/// juliet over PLAIN and has restarted the stream.
fn authenticated(d: &mut Driver) {
    d.feed(format!("{CLIENT_HEADER}{}", plain_auth("juliet", "r0m30")))
        .ok();
    d.stream.provide_credentials(Some(&juliet()), d.now).ok();
    d.drain();
    d.feed(CLIENT_HEADER).ok();
}

/// … and bound as juliet@example.com/balcony.
fn bound(d: &mut Driver) {
    authenticated(d);
    d.feed(bind_request(Some("balcony"))).ok();
    d.stream.accept_bind(Some("balcony"), d.now).ok();
    d.drain();
}

/// `m` as Romeo's server would route it: with Romeo's full JID.
fn from_romeo(m: Message) -> Element {
    m.into_element()
        .to_builder()
        .attr("from", "romeo@example.net/orchard")
        .build()
}

fn server_setup(config: ServerConfig) -> impl Fn(std::time::Instant) -> Stream {
    move |now| started_server(&config, now)
}

// ---- the header (RFC 6120 §4.7) ----

#[test]
fn the_client_header_is_answered_with_ours_a_fresh_id_and_the_features() {
    let config = plain_server_config();
    let header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' from='juliet@example.com' version='1.0'>";
    let out = assert_server_split_invariant(&config, &[header], &ChannelBinding::None);
    let ids = stream_ids(&out.sent);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].len(), 16);
    assert_eq!(
        out.sent,
        format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
             from='example.com' id='{}' to='juliet@example.com' version='1.0' xml:lang='en'>\
             <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-512</mechanism>\
             <mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism>\
             </mechanisms></stream:features>",
            ids[0]
        )
    );
    assert!(
        matches!(&out.events[..], [Event::StreamHeader(h)] if h.from.as_deref() == Some("juliet@example.com"))
    );
    // The seed decides the id; another seed, another id.
    let mut other = config.clone();
    other.rng_seed = [6; 32];
    let out2 = run_server_phases(&other, &[header], &[], &ChannelBinding::None);
    assert_ne!(stream_ids(&out2.sent), ids);
}

#[test]
fn a_header_to_another_domain_is_host_unknown_after_our_header() {
    for (to, reason) in [
        (" to='example.org'", "not \"example.org\""),
        ("", "no 'to'"),
    ] {
        let header = format!(
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'{to} version='1.0'>"
        );
        let out = assert_server_split_invariant(
            &plain_server_config(),
            &[&header],
            &ChannelBinding::None,
        );
        assert!(
            out.sent.starts_with("<?xml version='1.0'?><stream:stream "),
            "{}",
            out.sent
        );
        assert!(
            after_header(&out.sent)
                .starts_with(&format!("<stream:error><host-unknown {STREAM_ERROR_NS}/>")),
            "{}",
            out.sent
        );
        assert!(out.sent.ends_with("</stream:error></stream:stream>"));
        assert!(!out.sent.contains("<stream:features"));
        let closed = out.events.last();
        assert!(
            matches!(closed, None | Some(Event::StreamHeader(_))),
            "waits for the client's close: {closed:?}"
        );
        let mut s = started_server(&plain_server_config(), epoch());
        let err = s.handle_input(header.as_bytes(), epoch()).unwrap_err();
        assert!(
            matches!(&err, Error::Protocol { condition: StreamErrorCondition::HostUnknown, reason: r } if r.contains(reason)),
            "{err}"
        );
    }
    // The domain is compared as a domain: case and a final dot do not matter.
    let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='EXAMPLE.com.' version='1.0'>";
    let out = run_server_phases(
        &plain_server_config(),
        &[header],
        &[],
        &ChannelBinding::None,
    );
    assert!(out.sent.contains("<stream:features>"), "{}", out.sent);
}

#[test]
fn a_wrong_namespace_or_version_is_refused_after_our_header() {
    for (header, condition) in [
        (
            "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>",
            "invalid-namespace",
        ),
        (
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/wrong' to='example.com' version='1.0'>",
            "invalid-namespace",
        ),
        (
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com'>",
            "unsupported-version",
        ),
        (
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='2.0'>",
            "unsupported-version",
        ),
        (
            "<?xml version='1.0'?><!-- hi --><stream:stream>",
            "restricted-xml",
        ),
        (
            "<stream:stream xmlns='jabber:client' a='1' a='2'>",
            "not-well-formed",
        ),
    ] {
        let out =
            assert_server_split_invariant(&plain_server_config(), &[header], &ChannelBinding::None);
        assert!(out.sent.starts_with("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='"), "{header}: {}", out.sent);
        assert!(
            after_header(&out.sent)
                .starts_with(&format!("<stream:error><{condition} {STREAM_ERROR_NS}/>")),
            "{header}: {}",
            out.sent
        );
        assert!(out.sent.ends_with("</stream:stream>"));
    }
    // A minor version above ours is answered with 1.0 (RFC 6120 §4.7.5).
    let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.5'>";
    let out = run_server_phases(
        &plain_server_config(),
        &[header],
        &[],
        &ChannelBinding::None,
    );
    assert!(out.sent.contains(" version='1.0'") && out.sent.contains("<stream:features>"));
}

// ---- STARTTLS (RFC 6120 §5) ----

#[test]
fn required_starttls_is_offered_alone_and_proceed_is_the_last_clear_byte() {
    let mut config = plain_server_config();
    config.tls = TlsPolicy::Required;
    config.allow_plaintext_auth = false;
    let phases = [
        format!("{CLIENT_HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        CLIENT_HEADER.to_owned(),
    ];
    let phases: Vec<&str> = phases.iter().map(String::as_str).collect();
    let out =
        assert_server_split_invariant(&config, &phases, &ChannelBinding::TlsExporter(vec![7; 32]));
    let (clear, secure) = out
        .sent
        .split_once("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .unwrap();
    assert!(clear.ends_with("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"), "{clear}");
    // After TLS: a new header (a new id), SCRAM with -PLUS and PLAIN.
    assert!(secure.starts_with("<?xml version='1.0'?><stream:stream "));
    let ids = stream_ids(&out.sent);
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert!(secure.contains("<mechanism>SCRAM-SHA-512-PLUS</mechanism>"));
    assert!(secure.contains("<mechanism>PLAIN</mechanism>"));
    assert!(secure.contains("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>"));
    assert!(!secure.contains("starttls"));
    let kinds: Vec<&str> = out
        .events
        .iter()
        .map(|e| match e {
            Event::StreamHeader(_) => "header",
            Event::StartTls => "starttls",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["header", "starttls", "header"]);
}

#[test]
fn optional_starttls_is_offered_beside_sasl_without_plain() {
    let mut config = plain_server_config();
    config.tls = TlsPolicy::Preferred;
    config.allow_plaintext_auth = false;
    let out = assert_server_split_invariant(&config, &[CLIENT_HEADER], &ChannelBinding::None);
    assert!(out.sent.ends_with(
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
         <mechanism>SCRAM-SHA-512</mechanism><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism>\
         </mechanisms></stream:features>"
    ), "{}", out.sent);
}

#[test]
fn auth_before_required_tls_fails_with_encryption_required() {
    let mut config = plain_server_config();
    config.tls = TlsPolicy::Required;
    let phase = format!("{CLIENT_HEADER}{}", plain_auth("juliet", "r0m30"));
    let out = assert_server_split_invariant(&config, &[&phase], &ChannelBinding::None);
    assert!(
        out.sent.ends_with(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><encryption-required/></failure>"
        ),
        "{}",
        out.sent
    );
    assert!(out.events.contains(&Event::AuthFailed {
        mechanism: None,
        reason: FailureReason::EncryptionRequired,
        attempts_left: 2
    }));
    // PLAIN in the clear, when only offered over TLS, is refused the same way.
    let mut config = plain_server_config();
    config.allow_plaintext_auth = false;
    let out = assert_server_split_invariant(&config, &[&phase], &ChannelBinding::None);
    assert!(!out.sent.contains("<mechanism>PLAIN</mechanism>"));
    assert!(out.sent.ends_with(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><encryption-required/></failure>"
    ));
}

#[test]
fn bytes_after_starttls_in_the_same_read_are_refused() {
    // Not split-invariant by nature: cut after `<starttls/>`, the bytes
    // arrive in a later read, while the stream awaits TLS, and are refused
    // the same way (DataAfterProceed), but after the hand-off event.
    let mut config = plain_server_config();
    config.tls = TlsPolicy::Required;
    let now = epoch();
    let mut s = started_server(&config, now);
    let injected = format!(
        "{CLIENT_HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>{}",
        plain_auth("juliet", "r0m30")
    );
    assert_eq!(
        s.handle_input(injected.as_bytes(), now),
        Err(Error::DataAfterProceed)
    );
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    drain(&mut s, &mut out);
    assert!(
        out.sent
            .ends_with("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        "nothing after <proceed/>: {}",
        out.sent
    );
    assert!(
        !out.events
            .iter()
            .any(|e| matches!(e, Event::CredentialsRequest { .. }))
    );
    assert_eq!(s.state(), State::Closed);
    // In two reads: the second arrives while awaiting TLS.
    let mut s = started_server(&config, now);
    let (a, b) = injected.split_at(injected.find("<auth").unwrap());
    assert!(s.handle_input(a.as_bytes(), now).is_ok());
    assert_eq!(
        s.handle_input(b.as_bytes(), now),
        Err(Error::DataAfterProceed)
    );
    // tls_established outside the hand-off is a usage error.
    let mut s = started_server(&config, now);
    assert_eq!(
        s.tls_established(ChannelBinding::None, now),
        Err(UsageError::NotAwaitingTls)
    );
}

// ---- SASL (RFC 6120 §6) ----

#[test]
fn plain_login_asks_the_application_for_the_keys_then_restarts() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        d.feed(format!("{CLIENT_HEADER}{}", plain_auth("juliet", "r0m30")))
            .ok();
        assert_eq!(d.stream.state(), State::Negotiating);
        d.stream
            .provide_credentials(Some(&juliet()), d.now)
            .unwrap();
        assert_eq!(
            d.stream.provide_credentials(None, d.now),
            Err(UsageError::NotAwaitingCredentials)
        );
        d.drain();
        d.feed(CLIENT_HEADER).ok();
    });
    let sasl = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
    let (_, restarted) = out.sent.split_once(sasl).unwrap();
    assert!(restarted.starts_with("<?xml version='1.0'?><stream:stream "));
    assert!(restarted.ends_with("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>"), "{restarted}");
    let events: Vec<&Event> = out
        .events
        .iter()
        .filter(|e| !matches!(e, Event::StreamHeader(_)))
        .collect();
    assert_eq!(
        events,
        [
            &Event::CredentialsRequest {
                mechanism: Mechanism::Plain,
                username: "juliet".into(),
                authzid: None
            },
            &Event::Authenticated {
                mechanism: Mechanism::Plain
            },
        ]
    );
}

#[test]
fn a_failed_login_may_be_retried_until_the_attempts_run_out() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        d.feed(CLIENT_HEADER).ok();
        for attempt in 0..3 {
            // A wrong password, an unknown account, a wrong mechanism.
            let auth = match attempt {
                0 => plain_auth("juliet", "wrong"),
                1 => plain_auth("nobody", "r0m30"),
                _ => "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>"
                    .to_owned(),
            };
            d.feed(auth).ok();
            if attempt < 2 {
                let creds = (attempt == 0).then(juliet);
                d.stream.provide_credentials(creds.as_ref(), d.now).unwrap();
                d.drain();
            }
        }
    });
    let failures: Vec<&Event> = out
        .events
        .iter()
        .filter(|e| matches!(e, Event::AuthFailed { .. }))
        .collect();
    assert_eq!(
        failures,
        [
            &Event::AuthFailed {
                mechanism: Some(Mechanism::Plain),
                reason: FailureReason::InvalidCredentials,
                attempts_left: 2
            },
            &Event::AuthFailed {
                mechanism: Some(Mechanism::Plain),
                reason: FailureReason::InvalidCredentials,
                attempts_left: 1
            },
            &Event::AuthFailed {
                mechanism: None,
                reason: FailureReason::InvalidMechanism,
                attempts_left: 0
            },
        ]
    );
    // The same condition for a wrong password and an unknown account.
    assert_eq!(
        out.sent
            .matches(
                "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
            )
            .count(),
        2
    );
    assert!(out.sent.ends_with(&format!(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism/></failure>\
         <stream:error><not-authorized {STREAM_ERROR_NS}/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>too many failed authentication attempts</text></stream:error></stream:stream>"
    )), "{}", out.sent);
}

#[test]
fn the_attempts_are_kept_within_what_rfc_6120_allows() {
    for (configured, allowed) in [(0, 3), (1, 3), (4, 4), (99, 6)] {
        let mut config = plain_server_config();
        config.sasl_attempts = configured;
        let now = epoch();
        let mut s = started_server(&config, now);
        s.handle_input(CLIENT_HEADER.as_bytes(), now).ok();
        let mut failures = 0;
        while s.state() == State::Negotiating && failures < 10 {
            s.handle_input(
                b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X'/>",
                now,
            )
            .ok();
            failures += 1;
        }
        assert_eq!(failures, allowed, "sasl_attempts = {configured}");
    }
}

#[test]
fn sasl_abort_and_bad_base64_are_failures() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        d.feed(CLIENT_HEADER).ok();
        d.feed(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>not base64!</auth>",
        )
        .ok();
        // No initial response: an empty challenge, then the client aborts.
        d.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
            .ok();
        d.feed("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            .ok();
    });
    assert!(
        after_header(&out.sent).ends_with(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><incorrect-encoding/></failure>\
         <challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\
         <failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>"
        ),
        "{}",
        out.sent
    );
    assert_eq!(SaslCondition::Aborted.as_str(), "aborted");
}

#[test]
fn stanzas_before_authentication_are_not_authorized() {
    let phase = format!("{CLIENT_HEADER}<message to='romeo@example.net'><body>hi</body></message>");
    let out =
        assert_server_split_invariant(&plain_server_config(), &[&phase], &ChannelBinding::None);
    assert!(
        out.sent.contains(&format!(
            "<stream:error><not-authorized {STREAM_ERROR_NS}/>"
        )),
        "{}",
        out.sent
    );
    assert!(!out.events.iter().any(|e| matches!(e, Event::Message(_))));
}

// ---- binding (RFC 6120 §7) ----

#[test]
fn a_bind_request_is_decided_by_the_application() {
    let (out, jids) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        authenticated(d);
        assert_eq!(
            d.stream.accept_bind(None, d.now),
            Err(UsageError::NotAwaitingBind)
        );
        d.feed(bind_request(Some("balcony"))).ok();
        // Refused once (a resource in use), then asked for again.
        d.stream
            .refuse_bind(
                StanzaError::from_condition(StanzaErrorCondition::Conflict),
                d.now,
            )
            .unwrap();
        d.drain();
        d.feed(bind_request(None)).ok();
        assert_eq!(
            d.stream.accept_bind(Some(""), d.now).map_err(|_| ()),
            Err(()),
            "an empty resource is no resource"
        );
        d.stream.accept_bind(None, d.now).unwrap();
        d.drain();
        (d.stream.bound_jid().map(str::to_owned), d.stream.state())
    });
    let (jid, state) = jids;
    let jid = jid.unwrap();
    assert_eq!(state, State::Online);
    let resource = jid.strip_prefix("juliet@example.com/").unwrap();
    assert_eq!(
        resource.len(),
        16,
        "generated from the stream's random generator"
    );
    assert!(out.sent.contains("<iq type='error' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
        || out.sent.contains("<iq type='error' id='b1'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"), "{}", out.sent);
    assert!(out.sent.ends_with(&format!("<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{jid}</jid></bind></iq>")));
    let binds: Vec<&Event> = out
        .events
        .iter()
        .filter(|e| matches!(e, Event::BindRequest { .. } | Event::Online { .. }))
        .collect();
    assert_eq!(
        binds,
        [
            &Event::BindRequest {
                id: "b1".into(),
                account: "juliet@example.com".into(),
                resource: Some("balcony".into())
            },
            &Event::BindRequest {
                id: "b1".into(),
                account: "juliet@example.com".into(),
                resource: None
            },
            &Event::Online { jid: jid.clone() },
        ]
    );
}

#[test]
fn an_invalid_resource_is_bad_request_and_stanzas_wait_for_binding() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        authenticated(d);
        d.feed(format!("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{}</resource></bind></iq>", "x".repeat(1024))).ok();
        d.feed("<iq type='get' id='v1' to='example.com'><query xmlns='jabber:iq:version'/></iq>")
            .ok();
        d.feed("<message to='romeo@example.net'><body>too early</body></message>")
            .ok();
        d.feed("<iq type='result' id='r1'/>").ok();
    });
    let rest = after_header(out.sent.rsplit("<stream:stream ").next().unwrap());
    assert!(rest.contains("<iq type='error' id='b1'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"), "{rest}");
    assert!(rest.contains("<iq type='error' id='v1'><error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"), "{rest}");
    assert!(rest.contains("<message type='error'><error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"), "{rest}");
    assert!(!out.events.iter().any(|e| matches!(
        e,
        Event::BindRequest { .. } | Event::Message(_) | Event::IqRequest(_)
    )));
    assert!(matches!(out.events.last(), Some(Event::Unhandled(el)) if el.attr("id") == Some("r1")));
}

// ---- online: from stamped (RFC 6120 §8.1.2.1) ----

#[test]
fn from_is_stamped_with_the_full_jid_or_checked() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        bound(d);
        d.feed("<message to='romeo@example.net' id='m1'><body>no from</body></message>")
            .ok();
        d.feed("<message to='romeo@example.net' id='m2' from='juliet@example.com'><body>bare</body></message>").ok();
        d.feed("<message to='romeo@example.net' id='m3' from='Juliet@Example.com/balcony'><body>full</body></message>").ok();
        d.feed("<presence to='romeo@example.net' type='subscribe' id='p1'/>")
            .ok();
        d.feed("<presence/>").ok();
    });
    let froms: Vec<(String, Option<String>)> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some((
                m.id().unwrap_or_default().to_owned(),
                m.element().attr("from").map(str::to_owned),
            )),
            Event::Presence(p) => Some((
                p.id().unwrap_or("-").to_owned(),
                p.element().attr("from").map(str::to_owned),
            )),
            _ => None,
        })
        .collect();
    let full = Some("juliet@example.com/balcony".to_owned());
    assert_eq!(
        froms,
        [
            ("m1".into(), full.clone()),
            ("m2".into(), full.clone()),
            ("m3".into(), full.clone()),
            // RFC 6121 §3.1.2: a subscription request comes from the bare JID.
            ("p1".into(), Some("juliet@example.com".to_owned())),
            ("-".into(), full),
        ]
    );
}

#[test]
fn a_from_that_is_not_the_client_is_invalid_from() {
    for from in [
        "romeo@example.net",
        "juliet@example.com/other",
        "example.com",
        "juliet@",
    ] {
        let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
            bound(d);
            d.feed(format!(
                "<message to='romeo@example.net' from='{from}'><body>spoof</body></message>"
            ))
            .ok();
        });
        assert!(
            out.sent
                .contains(&format!("<stream:error><invalid-from {STREAM_ERROR_NS}/>")),
            "{from}: {}",
            out.sent
        );
        assert!(
            !out.events.iter().any(|e| matches!(e, Event::Message(_))),
            "{from}"
        );
    }
}

#[test]
fn a_to_that_is_not_an_address_is_jid_malformed() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        bound(d);
        d.feed("<message to='romeo@' id='m1'><body>x</body></message>")
            .ok();
        d.feed("<iq type='get' to='a@b@c' id='q1'><query xmlns='jabber:iq:version'/></iq>")
            .ok();
        d.feed("<message to='romeo@example.net' id='m2'><body>fine</body></message>")
            .ok();
    });
    assert!(out.sent.contains("<message type='error' id='m1' to='juliet@example.com/balcony'><error type='modify'><jid-malformed "), "{}", out.sent);
    assert!(out.sent.contains("<iq type='error' id='q1' to='juliet@example.com/balcony'><error type='modify'><jid-malformed "), "{}", out.sent);
    let kinds: Vec<&str> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Unhandled(_) => Some("unhandled"),
            Event::MalformedRequest { replied: true, .. } => Some("malformed"),
            Event::Message(_) => Some("message"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["unhandled", "malformed", "message"]);
}

#[test]
fn requests_to_the_server_and_routed_replies() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        bound(d);
        // The legacy session and a ping to the server are answered here.
        d.feed(
            "<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
        )
        .ok();
        d.feed("<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")
            .ok();
        // A ping to a contact is the application's to route.
        d.feed("<iq type='get' id='p2' to='romeo@example.net/orchard'><ping xmlns='urn:xmpp:ping'/></iq>").ok();
        // The client's answer to a request routed to it.
        d.feed("<iq type='result' id='routed-1' to='romeo@example.net/orchard'/>")
            .ok();
    });
    assert!(
        out.sent
            .contains("<iq type='result' id='s1' to='juliet@example.com/balcony'/>"),
        "{}",
        out.sent
    );
    assert!(
        out.sent.contains(
            "<iq type='result' id='p1' to='juliet@example.com/balcony' from='example.com'/>"
        ) || out
            .sent
            .contains("<iq type='result' id='p1' to='juliet@example.com/balcony'"),
        "{}",
        out.sent
    );
    assert!(!out.sent.contains("id='p2'"));
    let routed: Vec<&Event> = out
        .events
        .iter()
        .filter(|e| matches!(e, Event::IqRequest(_) | Event::IqReply(_)))
        .collect();
    assert!(
        matches!(routed[..], [Event::IqRequest(q), Event::IqReply(r)]
        if q.id() == "p2" && q.element().attr("from") == Some("juliet@example.com/balcony")
        && r.id() == "routed-1" && r.element().attr("from") == Some("juliet@example.com/balcony")),
        "{routed:?}"
    );
}

#[test]
fn the_server_sends_to_its_client_and_closes() {
    let (out, ()) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        bound(d);
        d.stream
            .send(
                from_romeo(Message::chat("juliet@example.com/balcony", "hello")),
                d.now,
            )
            .unwrap();
        d.drain();
        d.stream.close(d.now);
        assert_eq!(d.stream.state(), State::Closing);
        d.feed("</stream:stream>").ok();
    });
    assert!(out.sent.ends_with("<message to='juliet@example.com/balcony' type='chat' from='romeo@example.net/orchard'><body>hello</body></message></stream:stream>"), "{}", out.sent);
    assert_eq!(
        out.events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Local,
            error: None
        })
    );
}

#[test]
fn limits_and_iq_rules_apply_to_what_the_client_sends() {
    let mut config = plain_server_config();
    config.limits.max_stanza_bytes = 300;
    let (out, ()) = assert_chunking_invariant(server_setup(config.clone()), |d| {
        bound(d);
        // An IQ of unknown type is a request that cannot be processed.
        d.feed("<iq type='fetch' id='u1' to='example.com'><query xmlns='jabber:iq:version'/></iq>")
            .ok();
        // A stanza over the limit ends the stream.
        d.feed(format!(
            "<message to='romeo@example.net'><body>{}</body></message>",
            "x".repeat(400)
        ))
        .ok();
    });
    assert!(out.sent.contains("<iq type='error' id='u1' to='juliet@example.com/balcony'><error type='modify'><bad-request "), "{}", out.sent);
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, Event::MalformedRequest { replied: true, .. }))
    );
    assert!(
        out.sent.contains(&format!(
            "<stream:error><policy-violation {STREAM_ERROR_NS}/>"
        )),
        "{}",
        out.sent
    );
    assert!(!out.events.iter().any(|e| matches!(e, Event::Message(_))));
}

#[test]
fn negotiation_times_out_on_the_server_too() {
    let now = epoch();
    let mut s = started_server(&plain_server_config(), now);
    assert!(s.poll_timeout().is_some());
    s.handle_input(CLIENT_HEADER.as_bytes(), now).ok();
    s.handle_timeout(now + Duration::from_secs(61));
    assert_eq!(s.error(), Some(&Error::Timeout(TimeoutKind::Negotiation)));
}

// ---- back to back (common::pair) ----

fn events_of(events: &[Event], f: impl Fn(&Event) -> bool) -> Vec<Event> {
    events.iter().filter(|e| f(e)).cloned().collect()
}

#[test]
fn pair_plaintext_plain_login_when_allowed() {
    let mut c = pair_client_config(TlsPolicy::Disabled);
    c.allow_plaintext_auth = true;
    c.mechanisms = Some(vec![Mechanism::Plain]);
    c.resource = Some("balcony".into());
    let mut s = pair_server_config(TlsPolicy::Disabled);
    s.allow_plaintext_auth = true;
    let mut p = Pair::new(c.clone(), s);
    assert!(p.online());
    assert_eq!(p.client.bound_jid(), Some("juliet@example.com/balcony"));
    assert_eq!(p.server.bound_jid(), Some("juliet@example.com/balcony"));
    assert!(p.server_events.contains(&Event::Authenticated {
        mechanism: Mechanism::Plain
    }));
    assert!(p.client_events.contains(&Event::Authenticated {
        mechanism: Mechanism::Plain
    }));
    // Not allowed on the server: PLAIN is not offered, the client finds nothing.
    let mut p = Pair::new(c, pair_server_config(TlsPolicy::Disabled));
    p.drive();
    assert!(
        matches!(p.client.error(), Some(Error::NoMechanism { .. })),
        "{:?}",
        p.client.error()
    );
}

#[test]
fn pair_scram_login_with_each_hash() {
    for m in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
    ] {
        let mut c = pair_client_config(TlsPolicy::Disabled);
        c.mechanisms = Some(vec![m]);
        let mut p = Pair::new(c.clone(), pair_server_config(TlsPolicy::Disabled));
        assert!(p.online(), "{m:?}");
        assert!(
            p.server_events
                .contains(&Event::Authenticated { mechanism: m })
        );
        assert!(
            p.client_events
                .contains(&Event::Authenticated { mechanism: m })
        );
        // A wrong password fails on both sides, and the client's stream ends.
        let mut wrong = c.clone();
        wrong.password = "wrong".into();
        let mut p = Pair::new(wrong, pair_server_config(TlsPolicy::Disabled));
        p.drive();
        assert!(
            matches!(p.client.error(), Some(Error::AuthFailed(f)) if f.condition == SaslCondition::NotAuthorized)
        );
        assert!(
            matches!(
                &p.server_events[..],
                [
                    ..,
                    Event::AuthFailed {
                        reason: FailureReason::InvalidCredentials,
                        ..
                    },
                    Event::Closed { .. }
                ]
            ),
            "{:?}",
            p.server_events
        );
    }
}

#[test]
fn pair_starttls_hand_off_then_scram_plus() {
    let mut p = Pair::new(
        pair_client_config(TlsPolicy::Required),
        pair_server_config(TlsPolicy::Required),
    );
    p.binding = ChannelBinding::TlsExporter(vec![42; 32]);
    assert!(
        p.online(),
        "{}\n{}\n{:?}\n{:?}",
        p.client_sent,
        p.server_sent,
        p.client_events,
        p.server_events
    );
    assert!(p.client.is_secure() && p.server.is_secure());
    assert!(
        p.server_events.contains(&Event::StartTls) && p.client_events.contains(&Event::StartTls)
    );
    assert!(p.server_events.contains(&Event::Authenticated {
        mechanism: Mechanism::ScramSha512Plus
    }));
    // Different binding data on the two ends (a man in the middle): the
    // server refuses the client's proof of the channel.
    let mut p = Pair::new(
        pair_client_config(TlsPolicy::Required),
        pair_server_config(TlsPolicy::Required),
    );
    p.binding = ChannelBinding::TlsExporter(vec![1; 32]);
    p.server_binding = Some(ChannelBinding::TlsExporter(vec![2; 32]));
    p.drive();
    assert!(
        matches!(p.client.error(), Some(Error::AuthFailed(_))),
        "{:?}",
        p.client.error()
    );
    assert!(p.server_events.iter().any(|e| matches!(
        e,
        Event::AuthFailed {
            reason: FailureReason::ChannelBindingMismatch,
            ..
        }
    )));
}

#[test]
fn pair_bind_with_and_without_a_resource_and_after_a_conflict() {
    // Asked for: granted.
    let mut c = pair_client_config(TlsPolicy::Disabled);
    c.resource = Some("balcony".into());
    let mut p = Pair::new(c.clone(), pair_server_config(TlsPolicy::Disabled));
    assert!(p.online());
    assert_eq!(p.client.bound_jid(), Some("juliet@example.com/balcony"));
    // None asked for: the server generates one, and both agree on it.
    let mut p = Pair::new(
        pair_client_config(TlsPolicy::Disabled),
        pair_server_config(TlsPolicy::Disabled),
    );
    assert!(p.online());
    assert_eq!(p.client.bound_jid(), p.server.bound_jid());
    assert!(
        p.client
            .bound_jid()
            .unwrap()
            .starts_with("juliet@example.com/")
    );
    // In use: refused with conflict; the client's auto_bind asks again
    // without a resource, and the server generates one.
    let mut p = Pair::new(c, pair_server_config(TlsPolicy::Disabled));
    p.bind_policy = BindPolicy::Taken(vec!["balcony".into()]);
    assert!(p.online());
    let jid = p.client.bound_jid().unwrap().to_owned();
    assert_ne!(jid, "juliet@example.com/balcony");
    assert_eq!(p.server.bound_jid(), Some(jid.as_str()));
    assert!(
        matches!(&events_of(&p.client_events, |e| matches!(e, Event::BindFailed { .. }))[..],
        [Event::BindFailed { error, resource: Some(r) }] if error.condition == StanzaErrorCondition::Conflict && r == "balcony")
    );
    assert_eq!(
        events_of(&p.server_events, |e| matches!(e, Event::BindRequest { .. })).len(),
        2
    );
}

#[test]
fn pair_anonymous_login_gets_a_generated_account_when_enabled() {
    let mut c = ClientConfig::new("example.com", "", [3; 32]);
    c.tls = TlsPolicy::Disabled;
    c.mechanisms = Some(vec![Mechanism::Anonymous]);
    let mut s = pair_server_config(TlsPolicy::Disabled);
    s.mechanisms.push(Mechanism::Anonymous);
    let mut p = Pair::new(c.clone(), s);
    assert!(p.online(), "{:?}", p.client.error());
    let jid = p.server.bound_jid().unwrap().to_owned();
    let (local, rest) = jid.split_once('@').unwrap();
    assert_eq!(local.len(), 16);
    assert!(rest.starts_with("example.com/"));
    assert_eq!(p.client.bound_jid(), Some(jid.as_str()));
    assert!(
        !p.server_events
            .iter()
            .any(|e| matches!(e, Event::CredentialsRequest { .. }))
    );
    // Not offered unless configured.
    let mut p = Pair::new(c, pair_server_config(TlsPolicy::Disabled));
    p.drive();
    assert!(matches!(p.client.error(), Some(Error::NoMechanism { .. })));
}

/// A pair bound and online, over plaintext SCRAM.
fn online_pair() -> Pair {
    let mut c = pair_client_config(TlsPolicy::Disabled);
    c.resource = Some("balcony".into());
    c.iq_requests = xmpp_sansio::IqRequestPolicy::All;
    let mut p = Pair::new(c, pair_server_config(TlsPolicy::Disabled));
    assert!(p.online());
    p
}

#[test]
fn pair_stanzas_both_ways_with_from_stamped() {
    let mut p = online_pair();
    let now = p.now;
    p.client
        .send(Message::chat("romeo@example.net", "up"), now)
        .unwrap();
    p.server
        .send(
            from_romeo(Message::chat("juliet@example.com/balcony", "down")),
            now,
        )
        .unwrap();
    let id = p
        .client
        .send_iq(
            xmpp_sansio::stanza::IqType::Get,
            Some("romeo@example.net"),
            Element::new("query", "jabber:iq:version"),
            now,
        )
        .unwrap();
    p.drive();
    let up = events_of(&p.server_events, |e| matches!(e, Event::Message(_)));
    assert!(
        matches!(&up[..], [Event::Message(m)] if m.body(None).as_deref() == Some("up")
        && m.element().attr("from") == Some("juliet@example.com/balcony")),
        "{up:?}"
    );
    let down = events_of(&p.client_events, |e| matches!(e, Event::Message(_)));
    assert!(
        matches!(&down[..], [Event::Message(m)] if m.body(None).as_deref() == Some("down")
        && m.element().attr("from") == Some("romeo@example.net/orchard")),
        "{down:?}"
    );
    // The IQ arrives as a request to route; answered (as if from Romeo), the
    // client gets its result.
    let Some(Event::IqRequest(request)) = p
        .server_events
        .iter()
        .rev()
        .find(|e| matches!(e, Event::IqRequest(_)))
        .cloned()
    else {
        panic!("no request: {:?}", p.server_events)
    };
    assert_eq!(
        request.element().attr("from"),
        Some("juliet@example.com/balcony")
    );
    let mut reply = request.result_reply(None).unwrap().to_builder();
    reply = reply.attr("from", "romeo@example.net");
    p.server.send(reply.build(), now).unwrap();
    p.drive();
    assert!(
        p.client_events
            .iter()
            .any(|e| matches!(e, Event::IqResult { id: i, .. } if *i == id)),
        "{:?}",
        p.client_events
    );
}

#[test]
fn pair_close_from_either_side() {
    let mut p = online_pair();
    p.client.close(p.now);
    p.drive();
    assert_eq!(
        p.client_events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Local,
            error: None
        })
    );
    assert_eq!(
        p.server_events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Peer,
            error: None
        })
    );
    let mut p = online_pair();
    p.server.close(p.now);
    p.drive();
    assert_eq!(
        p.server_events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Local,
            error: None
        })
    );
    assert_eq!(
        p.client_events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Peer,
            error: None
        })
    );
    // The client's transport simply goes away.
    let mut p = online_pair();
    p.client_eof();
    assert_eq!(p.server.error(), Some(&Error::UnexpectedEof));
}

#[test]
fn pair_keepalive_pings_from_the_server_are_answered() {
    let mut c = pair_client_config(TlsPolicy::Disabled);
    c.resource = Some("balcony".into());
    let mut s = pair_server_config(TlsPolicy::Disabled);
    s.ping_interval = Some(Duration::from_secs(30));
    let mut p = Pair::new(c, s);
    assert!(p.online());
    p.advance(Duration::from_secs(95));
    assert_eq!(p.server.state(), State::Online, "{:?}", p.server.error());
    assert!(p.server_sent.contains("<ping xmlns='urn:xmpp:ping'/>"));
    let _ = ServerConfig::new("x", *b"s", [0; 32]);
    let _: Option<ClientConfig> = None;
}

#[test]
fn pair_a_client_ping_to_its_server_gets_a_pong() {
    // The client sends its ping to the domain and takes the reply only
    // from there (RFC 6120 §8.1.2.1): the server's answer names it.
    let mut c = pair_client_config(TlsPolicy::Disabled);
    c.resource = Some("balcony".into());
    let mut p = Pair::new(c, pair_server_config(TlsPolicy::Disabled));
    assert!(p.online());
    let id = p.client.ping(None, p.now).unwrap();
    p.drive();
    assert!(
        p.client_events
            .iter()
            .any(|e| matches!(e, Event::Pong { id: i, .. } if *i == id)),
        "{:?}",
        p.client_events
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Random chunkings both ways and a random interleaving of stanzas
    /// each way: every stanza sent arrives exactly once, in order, with
    /// the same content (and the client's `from` stamped).
    #[test]
    fn pair_every_stanza_arrives_once_in_order(
        up in proptest::collection::vec(1usize..64, 0..6),
        down in proptest::collection::vec(1usize..64, 0..6),
        ops in proptest::collection::vec((any::<bool>(), "[a-z <>&'\"é]{0,12}", any::<bool>()), 1..20),
    ) {
        let mut c = pair_client_config(TlsPolicy::Disabled);
        c.resource = Some("balcony".into());
        let mut p = Pair::new(c, pair_server_config(TlsPolicy::Disabled));
        p.up = Chunking::sizes(up);
        p.down = Chunking::sizes(down);
        prop_assert!(p.online());
        let (mut sent_up, mut sent_down) = (Vec::new(), Vec::new());
        for (i, (from_client, body, drive)) in ops.into_iter().enumerate() {
            let body = format!("{i}:{body}");
            let now = p.now;
            if from_client {
                p.client.send(Message::chat("romeo@example.net", body.as_str()), now).unwrap();
                sent_up.push(body);
            } else {
                p.server.send(Message::chat("juliet@example.com/balcony", body.as_str()), now).unwrap();
                sent_down.push(body);
            }
            if drive {
                p.drive();
            }
        }
        p.drive();
        let got_up: Vec<String> = p.server_events.iter().filter_map(|e| match e {
            Event::Message(m) => {
                assert_eq!(m.element().attr("from"), Some("juliet@example.com/balcony"));
                m.body(None)
            }
            _ => None,
        }).collect();
        let got_down: Vec<String> = p.client_events.iter().filter_map(|e| match e {
            Event::Message(m) => m.body(None),
            _ => None,
        }).collect();
        prop_assert_eq!(got_up, sent_up);
        prop_assert_eq!(got_down, sent_down);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    /// Whatever a client sends, in whatever order and chunking, the server
    /// never panics, answers requests when asked, and ends in a state the
    /// chunking does not change.
    #[test]
    fn any_client_input_is_handled_the_same_in_any_chunking(
        pieces in proptest::collection::vec(0usize..14, 0..12),
        cut in 1usize..40,
    ) {
        let vocabulary = [
            CLIENT_HEADER.to_owned(),
            plain_auth("juliet", "r0m30"),
            plain_auth("juliet", "nope"),
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj1qdWxpZXQscj1hYmM=</auth>".to_owned(),
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdzLHI9YWJj</response>".to_owned(),
            "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".to_owned(),
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".to_owned(),
            bind_request(Some("balcony")),
            bind_request(None),
            "<message to='romeo@example.net'><body>hi</body></message>".to_owned(),
            "<iq type='get' id='q' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>".to_owned(),
            "<presence from='mallory@evil.example'/>".to_owned(),
            "</stream:stream>".to_owned(),
            "<bogus/>".to_owned(),
        ];
        // Each piece is one write of the client's, cut into reads of
        // `chunk` bytes; the application answers between pieces.
        let run = |chunk: usize| {
            let now = epoch();
            let mut s = started_server(&plain_server_config(), now);
            let mut out = Outcome { sent: String::new(), events: Vec::new() };
            for &i in std::iter::once(&0).chain(&pieces) {
                let seen = out.events.len();
                for read in vocabulary[i].as_bytes().chunks(chunk) {
                    let _ = s.handle_input(read, now);
                }
                drain(&mut s, &mut out);
                match out.events[seen..].last() {
                    Some(Event::CredentialsRequest { .. }) => {
                        s.provide_credentials(Some(&juliet()), now).unwrap();
                    }
                    Some(Event::BindRequest { .. }) => s.accept_bind(None, now).unwrap(),
                    Some(Event::StartTls) => s.tls_established(ChannelBinding::None, now).unwrap(),
                    _ => {}
                }
                drain(&mut s, &mut out);
            }
            (out, s.state(), s.error().cloned())
        };
        let whole = run(usize::MAX);
        prop_assert_eq!(run(cut), whole.clone());
        prop_assert_eq!(run(1), whole);
    }
}

/// The roster requests of RFC 6121 §2 are a client's: on a server stream
/// they are refused and nothing is written.
#[test]
fn client_only_commands_are_refused_on_a_server_stream() {
    let mut p = online_pair();
    let now = p.now;
    p.drive();
    let before = p.server.stanzas_sent();
    assert_eq!(
        p.server.request_roster(None, now),
        Err(UsageError::ClientOnly)
    );
    assert_eq!(
        p.server
            .set_roster_item(&xmpp_sansio::im::RosterItem::new("romeo@example.net"), now),
        Err(UsageError::ClientOnly)
    );
    assert_eq!(
        p.server.remove_roster_item("romeo@example.net", now),
        Err(UsageError::ClientOnly)
    );
    assert_eq!(p.server.poll_transmit(), None);
    assert_eq!(p.server.stanzas_sent(), before);
    // The client's own requests still work.
    assert!(p.client.request_roster(None, now).is_ok());
}

/// A reply the server application sends with `reply_iq_*` speaks for
/// whom the request was addressed to (the domain, another account): it
/// carries that `from`, so the client, which matches replies by sender
/// (RFC 6120 §8.1.2.1), takes it as the answer.
#[test]
fn pair_replies_of_the_server_application_reach_the_client_as_answers() {
    let mut p = online_pair();
    let now = p.now;
    let mut asked = Vec::new();
    for to in [
        "example.com",
        "romeo@example.net",
        "romeo@example.net/orchard",
    ] {
        let id = p
            .client
            .send_iq(
                xmpp_sansio::stanza::IqType::Get,
                Some(to),
                Element::new("query", "jabber:iq:version"),
                now,
            )
            .unwrap();
        asked.push((to, id));
    }
    p.drive();
    let requests: Vec<_> = p
        .server_events
        .iter()
        .filter_map(|e| match e {
            Event::IqRequest(iq) => Some(iq.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 3, "{:?}", p.server_events);
    for (i, request) in requests.iter().enumerate() {
        if i == 1 {
            let error = xmpp_sansio::stanza::StanzaError::new(
                xmpp_sansio::stanza::ErrorType::Cancel,
                xmpp_sansio::stanza::StanzaErrorCondition::ItemNotFound,
            );
            p.server.reply_iq_error(request, error, now).unwrap();
        } else {
            p.server.reply_iq_result(request, None, now).unwrap();
        }
    }
    p.drive();
    for (i, (to, id)) in asked.iter().enumerate() {
        let answered = p.client_events.iter().any(|e| match e {
            Event::IqResult { id: got, from, .. } | Event::IqError { id: got, from, .. } => {
                got == id && from.as_deref() == Some(*to)
            }
            _ => false,
        });
        assert!(answered, "reply {i} from {to}: {:?}", p.client_events);
    }
    assert!(
        !p.client_events
            .iter()
            .any(|e| matches!(e, Event::Unhandled(_))),
        "{:?}",
        p.client_events
    );
}
