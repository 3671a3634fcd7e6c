//! The client against a real server on loopback (Prosody or ejabberd,
//! whichever `XMPP_INTEROP_SERVER` names), over real TCP and real TLS
//! (rustls): `scripts/prosody.sh` or `scripts/ejabberd.sh` starts it, and
//! `.ci/run` runs these against both. They are `#[ignore]`d so a plain
//! `cargo test` does not count them as passed; run them with
//! `--include-ignored` and the server's `DIR/env` exported. Where the two
//! servers differ, a test branches on the server and says why.
#![allow(clippy::disallowed_methods)] // a real connection reads the real clock

#[path = "../examples/support/blocking.rs"]
mod blocking;
#[path = "common/interop.rs"]
mod interop;

use std::time::{Duration, Instant};

use blocking::{Connection, DriverError, Options, os_seed};
use interop::{InteropEnv, Server, interop_env};
use xmpp_sansio::negotiation::{SaslCondition, StreamFeatures};
use xmpp_sansio::sasl::Mechanism;
use xmpp_sansio::stanza::{IqType, StanzaErrorCondition};
use xmpp_sansio::xml::{Element, ns};
use xmpp_sansio::{ClientConfig, Error, Event, StreamErrorCondition, TlsPolicy};

const WITHIN: Duration = Duration::from_secs(15);

fn seed() -> [u8; 32] {
    os_seed().unwrap_or_else(|e| panic!("{e}"))
}

fn config(env: &InteropEnv, user: &str, domain: &str) -> ClientConfig {
    let mut c = ClientConfig::new(format!("{user}@{domain}"), env.password(user), seed());
    if domain == env.plain_domain {
        c.tls = TlsPolicy::Disabled;
        c.allow_plaintext_auth = true;
    }
    c
}

fn options(env: &InteropEnv, direct_tls: bool) -> Options {
    Options {
        host: env.host.clone(),
        port: if direct_tls { env.tls_port } else { env.port },
        ca_pem: Some(env.ca_pem_path.clone()),
        direct_tls,
        ..Options::default()
    }
}

/// Options for a host where the client stays in the clear
/// (`plain_domain`): ejabberd requires TLS per listener, so that host is
/// reached through its own port there.
fn plain_options(env: &InteropEnv) -> Options {
    Options {
        port: env.plain_port,
        ..options(env, false)
    }
}

/// What a login saw on its way to Online.
struct Login {
    conn: Connection,
    /// The mechanism the stream authenticated with.
    mechanism: Option<Mechanism>,
    /// The features offered before authentication (the last set with SASL
    /// mechanisms in it: after STARTTLS when TLS was started).
    sasl_features: Option<StreamFeatures>,
    jid: String,
}

/// Connects and runs to Online, noting the mechanism and the features.
fn login_seeing(config: ClientConfig, options: &Options) -> Result<Login, DriverError> {
    let mut conn = Connection::connect(config, options)?;
    let (mut mechanism, mut sasl_features) = (None, None);
    let jid = conn.run_until(WITHIN, |_, e| match e {
        Event::Features(f) if !f.mechanisms.is_empty() => {
            sasl_features = Some((**f).clone());
            None
        }
        Event::Authenticated { mechanism: m, .. } => {
            mechanism = Some(*m);
            None
        }
        Event::Online { jid, .. } => Some(jid.clone()),
        _ => None,
    })?;
    Ok(Login {
        conn,
        mechanism,
        sasl_features,
        jid,
    })
}

/// Connects and runs to Online, returning the connection, the mechanism
/// used and the bound JID.
fn login(
    config: ClientConfig,
    options: &Options,
) -> Result<(Connection, Mechanism, String), DriverError> {
    let l = login_seeing(config, options)?;
    let mechanism = l
        .mechanism
        .unwrap_or_else(|| panic!("online without Event::Authenticated"));
    Ok((l.conn, mechanism, l.jid))
}

/// What ejabberd 23.01 offers over TLS (1.2 and 1.3 alike), sorted: with
/// passwords stored as given it can run every SCRAM hash, and it offers
/// each -PLUS form for tls-unique (no XEP-0440 list).
const EJABBERD_OVER_TLS: [&str; 7] = [
    "PLAIN",
    "SCRAM-SHA-1",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-512",
    "SCRAM-SHA-512-PLUS",
];

/// The mechanisms offered, sorted (Prosody's order changes between runs,
/// ejabberd's is its own).
fn offered(features: &Option<StreamFeatures>) -> Vec<String> {
    let mut m = features
        .as_ref()
        .map(|f| f.mechanisms.clone())
        .unwrap_or_default();
    m.sort();
    m
}

fn iq_reply(conn: &mut Connection, kind: IqType, to: Option<&str>, payload: Element) -> Event {
    let id = match conn.stream.send_iq(kind, to, payload, Instant::now()) {
        Ok(id) => id,
        Err(e) => panic!("send_iq: {e}"),
    };
    let reply = conn.run_until(WITHIN, |_, e| match e {
        Event::IqResult { id: i, .. } | Event::IqError { id: i, .. } if *i == id => Some(e.clone()),
        _ => None,
    });
    match reply {
        Ok(e) => e,
        Err(e) => panic!("no reply to {id}: {e}"),
    }
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn starttls_and_scram_login_then_iq_round_trips() {
    let env = interop_env();
    let Login {
        mut conn,
        mechanism,
        sasl_features,
        jid,
    } = match login_seeing(
        config(&env, "alice", &env.tls_domain),
        &options(&env, false),
    ) {
        Ok(x) => x,
        Err(e) => panic!("login: {e}"),
    };
    assert!(conn.stream.is_secure(), "STARTTLS was required and done");
    assert_eq!(conn.tls_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    match env.server {
        // Prosody 0.12 over TLS 1.3 offers exactly these (no SCRAM-SHA-256,
        // no -PLUS: its only binding type, tls-unique, is undefined on TLS
        // 1.3), so the strongest choice is SCRAM-SHA-1.
        Server::Prosody => {
            assert_eq!(offered(&sasl_features), ["PLAIN", "SCRAM-SHA-1"]);
            assert_eq!(mechanism, Some(Mechanism::ScramSha1));
        }
        // ejabberd 23.01 (passwords stored as given) offers every SCRAM hash
        // with its -PLUS form, even on TLS 1.3, with no XEP-0440 list. It
        // checks only tls-unique, which TLS 1.3 does not have, so the
        // default choice skips -PLUS and takes plain SCRAM-SHA-512 (gs2
        // flag `n`, since -PLUS was offered); ejabberd accepts it.
        Server::Ejabberd => {
            assert_eq!(offered(&sasl_features), EJABBERD_OVER_TLS);
            assert_eq!(
                sasl_features
                    .as_ref()
                    .and_then(|f| f.channel_binding_types.clone()),
                None
            );
            assert_eq!(mechanism, Some(Mechanism::ScramSha512));
        }
    }
    assert!(jid.starts_with("alice@tls.localhost/"), "{jid}");

    // IQ round trips: the server's version, a ping, our own roster.
    let Event::IqResult {
        payload: Some(version),
        ..
    } = iq_reply(
        &mut conn,
        IqType::Get,
        Some(&env.tls_domain),
        Element::new("query", "jabber:iq:version"),
    )
    else {
        panic!("no version");
    };
    assert_eq!(
        version
            .get_child("name", "jabber:iq:version")
            .map(|n| n.text().into_owned())
            .as_deref(),
        Some(match env.server {
            Server::Prosody => "Prosody",
            Server::Ejabberd => "ejabberd",
        })
    );
    assert!(matches!(
        iq_reply(
            &mut conn,
            IqType::Get,
            Some(&env.tls_domain),
            Element::new("ping", ns::PING)
        ),
        Event::IqResult { .. }
    ));
    assert!(matches!(
        iq_reply(
            &mut conn,
            IqType::Get,
            None,
            Element::new("query", ns::ROSTER)
        ),
        Event::IqResult {
            payload: Some(_),
            ..
        }
    ));

    // An IQ error: a namespace the server does not serve.
    let Event::IqError { error, .. } = iq_reply(
        &mut conn,
        IqType::Get,
        Some(&env.tls_domain),
        Element::new("query", "urn:example:nothing-here"),
    ) else {
        panic!("expected an error");
    };
    assert_eq!(error.condition, StanzaErrorCondition::ServiceUnavailable);
    conn.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn plain_over_tls_and_over_a_plaintext_host() {
    let env = interop_env();
    let mut over_tls = config(&env, "bob", &env.tls_domain);
    over_tls.mechanisms = Some(vec![Mechanism::Plain]);
    let (mut conn, mechanism, _) = match login(over_tls, &options(&env, false)) {
        Ok(x) => x,
        Err(e) => panic!("PLAIN over TLS: {e}"),
    };
    assert_eq!(mechanism, Mechanism::Plain);
    conn.close();

    let mut cleartext = config(&env, "bob", &env.plain_domain);
    cleartext.mechanisms = Some(vec![Mechanism::Plain]);
    let (mut conn, mechanism, _) = match login(cleartext, &plain_options(&env)) {
        Ok(x) => x,
        Err(e) => panic!("PLAIN in the clear: {e}"),
    };
    assert_eq!(mechanism, Mechanism::Plain);
    assert!(!conn.stream.is_secure());
    conn.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn direct_tls_login() {
    let env = interop_env();
    let (mut conn, _, jid) =
        match login(config(&env, "carol", &env.tls_domain), &options(&env, true)) {
            Ok(x) => x,
            Err(e) => panic!("direct TLS: {e}"),
        };
    assert!(conn.stream.is_secure() && jid.starts_with("carol@"));
    conn.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn a_wrong_password_is_not_authorized() {
    let env = interop_env();
    let mut c = config(&env, "alice", &env.tls_domain);
    c.password = "not-the-password".into();
    match login(c, &options(&env, false)) {
        Err(DriverError::Closed(Some(Error::AuthFailed(f)))) => {
            assert_eq!(f.condition, SaslCondition::NotAuthorized)
        }
        Err(e) => panic!("unexpected failure: {e}"),
        Ok(_) => panic!("logged in with a wrong password"),
    }
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn bind_conflicts_both_ways() {
    let env = interop_env();
    // plain.localhost refuses the newcomer: <conflict/> at bind (Prosody's
    // `conflict_resolve = "kick_new"`, ejabberd's `resource_conflict:
    // closenew`).
    let mut first = config(&env, "carol", &env.plain_domain);
    first.resource = Some("desk".into());
    let (mut holder, _, jid) = match login(first.clone(), &plain_options(&env)) {
        Ok(x) => x,
        Err(e) => panic!("first session: {e}"),
    };
    assert_eq!(jid, "carol@plain.localhost/desk");
    // With one attempt, the refusal ends the stream.
    let mut once = first.clone();
    once.rng_seed = seed();
    once.bind_attempts = 1;
    match login(once, &plain_options(&env)) {
        Err(DriverError::Closed(Some(Error::BindFailed(e)))) => {
            assert_eq!(e.condition, StanzaErrorCondition::Conflict)
        }
        Err(e) => panic!("unexpected failure: {e}"),
        Ok(_) => panic!("two sessions bound the same resource"),
    }
    // By default the stream reports it and lets the server choose.
    let mut retry = first.clone();
    retry.rng_seed = seed();
    let mut conn = match Connection::connect(retry, &plain_options(&env)) {
        Ok(c) => c,
        Err(e) => panic!("connect: {e}"),
    };
    let mut refused = Vec::new();
    let jid = match conn.run_until(WITHIN, |_, e| match e {
        Event::BindFailed { error, resource } => {
            refused.push((error.condition, resource.clone()));
            None
        }
        Event::Online { jid, .. } => Some(jid.clone()),
        _ => None,
    }) {
        Ok(jid) => jid,
        Err(e) => panic!("retry with a server-generated resource: {e}"),
    };
    assert_eq!(
        refused,
        [(StanzaErrorCondition::Conflict, Some("desk".to_owned()))]
    );
    assert!(
        jid.starts_with("carol@plain.localhost/") && jid != "carol@plain.localhost/desk",
        "{jid}"
    );
    // And the session works: our server answers a ping on demand.
    let ping = conn.stream.ping(None, Instant::now()).unwrap_or_default();
    match conn.run_until(WITHIN, |_, e| match e {
        Event::Pong { id, from, .. } if *id == ping => Some(from.clone()),
        _ => None,
    }) {
        Ok(from) => assert_eq!(from.as_deref(), Some("plain.localhost")),
        Err(e) => panic!("ping: {e}"),
    }
    conn.close();
    // Without auto_bind, the application picks again after the refusal.
    let mut manual = first.clone();
    manual.rng_seed = seed();
    manual.auto_bind = false;
    let mut conn = match Connection::connect(manual, &plain_options(&env)) {
        Ok(c) => c,
        Err(e) => panic!("connect: {e}"),
    };
    let mut story = Vec::new();
    let jid = match conn.run_until(WITHIN, |stream, e| match e {
        Event::ReadyToBind { attempts_left } => {
            story.push(format!("ready {attempts_left}"));
            let resource = if *attempts_left == 3 { "desk" } else { "chair" };
            stream.bind(Some(resource), Instant::now()).ok();
            None
        }
        Event::BindFailed { error, .. } => {
            story.push(format!("failed {}", error.condition.as_str()));
            None
        }
        Event::Online { jid, .. } => Some(jid.clone()),
        _ => None,
    }) {
        Ok(jid) => jid,
        Err(e) => panic!("manual bind: {e}"),
    };
    assert_eq!(story, ["ready 3", "failed conflict", "ready 2"]);
    assert_eq!(jid, "carol@plain.localhost/chair");
    conn.close();
    holder.close();

    // tls.localhost (both servers' default) replaces the old session,
    // which receives a <conflict/> stream error.
    let mut first = config(&env, "carol", &env.tls_domain);
    first.resource = Some("desk".into());
    let (mut old, _, _) = match login(first.clone(), &options(&env, false)) {
        Ok(x) => x,
        Err(e) => panic!("first session: {e}"),
    };
    first.rng_seed = seed();
    let (mut new, _, jid) = match login(first, &options(&env, false)) {
        Ok(x) => x,
        Err(e) => panic!("second session: {e}"),
    };
    assert_eq!(jid, "carol@tls.localhost/desk");
    match old.run_until(WITHIN, |_, _| None::<()>) {
        Err(DriverError::Closed(Some(Error::PeerStreamError(e)))) => {
            assert_eq!(e.condition, StreamErrorCondition::Conflict)
        }
        Err(e) => panic!("unexpected: {e}"),
        Ok(()) => unreachable!(),
    }
    new.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn our_client_answers_unserved_iq_namespaces_for_real() {
    let env = interop_env();
    let (mut alice, _, _) = match login(
        config(&env, "alice", &env.plain_domain),
        &plain_options(&env),
    ) {
        Ok(x) => x,
        Err(e) => panic!("alice: {e}"),
    };
    let (mut bob, _, bob_jid) =
        match login(config(&env, "bob", &env.plain_domain), &plain_options(&env)) {
            Ok(x) => x,
            Err(e) => panic!("bob: {e}"),
        };
    // Alice asks Bob's client something it does not serve; Bob's stream
    // answers service-unavailable on its own (RFC 6120 §8.4) and a ping
    // with a result, through the real server.
    let id = alice.stream.send_iq(
        IqType::Get,
        Some(&bob_jid),
        Element::new("query", "urn:example:unknown"),
        Instant::now(),
    );
    let id = id.unwrap_or_default();
    let ping = alice
        .stream
        .ping(Some(&bob_jid), Instant::now())
        .unwrap_or_default();
    alice.flush().ok();
    // Drive both sides in turn (bob's stream answers, alice's collects)
    // until both replies are in, however the server paces delivery.
    let mut got = Vec::new();
    let deadline = Instant::now() + WITHIN;
    while got.len() < 2 && Instant::now() < deadline {
        let _ = bob.run_until(Duration::from_millis(50), |_, _| None::<()>);
        let _ = alice.run_until(Duration::from_millis(50), |_, e| {
            match e {
                Event::IqError {
                    id: i, error, from, ..
                } if *i == id => got.push(format!(
                    "error {} from {}",
                    error.condition,
                    from.clone().unwrap_or_default()
                )),
                Event::Pong { id: i, from, .. }
                    if *i == ping && from.as_deref() == Some(bob_jid.as_str()) =>
                {
                    got.push("pong".to_owned())
                }
                _ => {}
            }
            (got.len() == 2).then_some(())
        });
    }
    got.sort();
    assert_eq!(
        got,
        [
            format!("error service-unavailable from {bob_jid}"),
            "pong".to_owned()
        ]
    );
    alice.close();
    bob.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn tls12_offers_scram_plus_for_tls_unique_only_and_we_log_in_without_it() {
    let env = interop_env();
    let mut opts = options(&env, false);
    opts.tls12_only = true;
    let l = match login_seeing(config(&env, "bob", &env.tls_domain), &opts) {
        Ok(x) => x,
        Err(e) => panic!("login over TLS 1.2: {e}"),
    };
    assert_eq!(l.conn.tls_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    // On TLS 1.2 both servers offer -PLUS for tls-unique only, with no
    // XEP-0440 list (Prosody 0.12 adds SCRAM-SHA-1-PLUS here, where TLS 1.3
    // gets none; ejabberd offers the same as on TLS 1.3). rustls cannot
    // export tls-unique, so the driver has no binding to give: the client
    // must pick plain SCRAM with the gs2 flag `n`, which both accept (`y`
    // would be refused as a downgrade, since -PLUS was offered).
    assert_eq!(
        l.sasl_features
            .as_ref()
            .and_then(|f| f.channel_binding_types.clone()),
        None
    );
    match env.server {
        Server::Prosody => {
            assert_eq!(
                offered(&l.sasl_features),
                ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"]
            );
            assert_eq!(l.mechanism, Some(Mechanism::ScramSha1));
        }
        Server::Ejabberd => {
            assert_eq!(offered(&l.sasl_features), EJABBERD_OVER_TLS);
            assert_eq!(l.mechanism, Some(Mechanism::ScramSha512));
        }
    }
    let mut conn = l.conn;
    conn.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn plus_only_over_tls13_with_exporter_data() {
    let env = interop_env();
    // Over TLS 1.3 the driver hands the stream the tls-exporter binding
    // (RFC 9266). Asking for -PLUS only shows what the server does with it.
    let mut c = config(&env, "carol", &env.tls_domain);
    c.mechanisms = Some(vec![
        Mechanism::ScramSha512Plus,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha1Plus,
    ]);
    match (env.server, login(c, &options(&env, false))) {
        // Prosody 0.12 offers no -PLUS at all over TLS 1.3 (it knows only
        // tls-unique): the client has nothing to choose.
        (Server::Prosody, Err(DriverError::Closed(Some(Error::NoMechanism { mut offered })))) => {
            offered.sort();
            assert_eq!(offered, ["PLAIN", "SCRAM-SHA-1"]);
        }
        (Server::Prosody, Ok(_)) => {
            panic!("Prosody now offers -PLUS over TLS 1.3: add a live -PLUS test")
        }
        // ejabberd 23.01 offers -PLUS without a XEP-0440 list and refuses
        // the tls-exporter binding: why the default choice takes -PLUS
        // without a list only for tls-unique (see the first test).
        (Server::Ejabberd, Err(DriverError::Closed(Some(Error::AuthFailed(f))))) => {
            assert_eq!(f.condition, SaslCondition::NotAuthorized);
            assert!(f.to_string().contains("Invalid channel binding"), "{f}");
        }
        (Server::Ejabberd, Ok(_)) => {
            panic!("ejabberd accepted tls-exporter: add a live -PLUS test")
        }
        (_, Err(e)) => panic!("unexpected failure: {e}"),
    }
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn anonymous_login_gets_a_server_assigned_jid() {
    let env = interop_env();
    // A domain-only JID and ANONYMOUS (RFC 4505), asked for explicitly: the
    // default choice never picks it, so the client refuses to log in.
    let mut c = ClientConfig::new(env.anon_domain.clone(), "", seed());
    match login(c.clone(), &options(&env, false)) {
        Err(DriverError::Closed(Some(Error::NoMechanism { offered }))) => {
            assert_eq!(offered, ["ANONYMOUS"])
        }
        Err(e) => panic!("unexpected failure: {e}"),
        Ok(_) => panic!("logged in anonymously without asking to"),
    }
    c.mechanisms = Some(vec![Mechanism::Anonymous]);
    let mut jids = Vec::new();
    let mut conns = Vec::new();
    for _ in 0..2 {
        c.rng_seed = seed();
        let (mut conn, mechanism, jid) = match login(c.clone(), &options(&env, false)) {
            Ok(x) => x,
            Err(e) => panic!("anonymous login: {e}"),
        };
        assert_eq!(mechanism, Mechanism::Anonymous);
        assert!(conn.stream.is_secure());
        let (local, rest) = jid
            .split_once('@')
            .unwrap_or_else(|| panic!("no local part in {jid}"));
        assert!(!local.is_empty(), "{jid}");
        assert!(rest.starts_with(&format!("{}/", env.anon_domain)), "{jid}");
        // The session works: the server answers a ping.
        assert!(matches!(
            iq_reply(
                &mut conn,
                IqType::Get,
                Some(&env.anon_domain),
                Element::new("ping", ns::PING)
            ),
            Event::IqResult { .. }
        ));
        jids.push(jid);
        conns.push(conn);
    }
    assert_ne!(jids[0], jids[1], "each anonymous session gets its own JID");
    for mut conn in conns {
        conn.close();
    }
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn a_pinned_certificate_is_trusted_exactly() {
    let env = interop_env();
    let pinned = |domain: &str, cert: &std::path::Path| {
        let mut o = options(&env, false);
        o.pinned_cert = Some(cert.to_owned());
        (config(&env, "alice", domain), o)
    };

    // self.localhost's certificate is self-signed with CA:TRUE (as
    // `prosodyctl cert generate` makes them): trusting it as a CA does not
    // work, rustls refuses a CA certificate as the server's own.
    let mut as_ca = options(&env, false);
    as_ca.ca_pem = Some(env.self_signed_cert_path.clone());
    match login(config(&env, "alice", &env.self_signed_domain), &as_ca) {
        Err(DriverError::Handshake(rustls::Error::InvalidCertificate(_))) => {}
        Err(e) => panic!("unexpected failure: {e}"),
        Ok(_) => panic!("a self-signed CA certificate was accepted as a leaf"),
    }

    // Pinned, it is accepted; so is the CA-signed leaf of tls.localhost,
    // pinned without its CA; and the direct TLS port works the same way.
    for (domain, cert, direct) in [
        (&env.self_signed_domain, &env.self_signed_cert_path, false),
        (&env.tls_domain, &env.server_cert_path, false),
        (&env.tls_domain, &env.server_cert_path, true),
    ] {
        let (c, mut o) = pinned(domain, cert);
        if direct {
            o.port = env.tls_port;
            o.direct_tls = true;
        }
        o.ca_pem = None;
        let (mut conn, _, jid) = match login(c, &o) {
            Ok(x) => x,
            Err(e) => panic!("{domain} with its certificate pinned: {e}"),
        };
        assert!(conn.stream.is_secure() && jid.starts_with(&format!("alice@{domain}/")));
        conn.close();
    }

    // A wrong pin is refused in the handshake, before any XMPP is sent in
    // TLS: the server's certificate, though valid for our CA, is not the one
    // pinned. The CA's own certificate is a wrong pin too.
    for wrong in [&env.self_signed_cert_path, &env.ca_pem_path] {
        let (c, o) = pinned(&env.tls_domain, wrong);
        match login(c, &o) {
            Err(DriverError::Handshake(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))) => {}
            Err(e) => panic!("unexpected failure: {e}"),
            Ok(_) => panic!(
                "logged in although {} is not the server's certificate",
                wrong.display()
            ),
        }
    }
}
