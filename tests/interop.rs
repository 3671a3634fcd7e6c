//! The client against a real Prosody on loopback, over real TCP and real
//! TLS (rustls): `scripts/prosody.sh` starts it, `.ci/run` always runs
//! these (XMPP_INTEROP_REQUIRED=1). Without a server configured they print
//! why and pass.
#![allow(clippy::disallowed_methods)] // a real connection reads the real clock

#[path = "../examples/support/blocking.rs"]
mod blocking;
#[path = "common/interop.rs"]
mod interop;

use std::time::{Duration, Instant};

use blocking::{Connection, DriverError, Options, os_seed};
use interop::{InteropEnv, interop_env};
use xmpp_sansio::negotiation::SaslCondition;
use xmpp_sansio::sasl::Mechanism;
use xmpp_sansio::stanza::{IqType, StanzaErrorCondition};
use xmpp_sansio::xml::{Element, ns};
use xmpp_sansio::{ClientConfig, Error, Event, StreamErrorCondition, TlsPolicy};

const WITHIN: Duration = Duration::from_secs(15);

fn config(env: &InteropEnv, user: &str, domain: &str) -> ClientConfig {
    let mut c = ClientConfig::new(format!("{user}@{domain}"), env.password(user), os_seed());
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
    }
}

/// Connects and runs to Online, returning the connection, the mechanism
/// used and the bound JID.
fn login(
    config: ClientConfig,
    options: &Options,
) -> Result<(Connection, Mechanism, String), DriverError> {
    let mut conn = Connection::connect(config, options)?;
    let mut mechanism = None;
    let jid = conn.run_until(WITHIN, |_, e| match e {
        Event::Authenticated { mechanism: m } => {
            mechanism = Some(*m);
            None
        }
        Event::Online { jid } => Some(jid.clone()),
        _ => None,
    })?;
    Ok((conn, mechanism.unwrap_or(Mechanism::Anonymous), jid))
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
fn starttls_and_scram_login_then_iq_round_trips() {
    let Some(env) = interop_env() else { return };
    let (mut conn, mechanism, jid) = match login(
        config(&env, "alice", &env.tls_domain),
        &options(&env, false),
    ) {
        Ok(x) => x,
        Err(e) => panic!("login: {e}"),
    };
    assert!(conn.stream.is_secure(), "STARTTLS was required and done");
    assert!(
        matches!(
            mechanism,
            Mechanism::ScramSha1 | Mechanism::ScramSha256 | Mechanism::ScramSha512
        ),
        "{mechanism:?}"
    );
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
        Some("Prosody")
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
fn plain_over_tls_and_over_a_plaintext_host() {
    let Some(env) = interop_env() else { return };
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
    let (mut conn, mechanism, _) = match login(cleartext, &options(&env, false)) {
        Ok(x) => x,
        Err(e) => panic!("PLAIN in the clear: {e}"),
    };
    assert_eq!(mechanism, Mechanism::Plain);
    assert!(!conn.stream.is_secure());
    conn.close();
}

#[test]
fn direct_tls_login() {
    let Some(env) = interop_env() else { return };
    let (mut conn, _, jid) =
        match login(config(&env, "carol", &env.tls_domain), &options(&env, true)) {
            Ok(x) => x,
            Err(e) => panic!("direct TLS: {e}"),
        };
    assert!(conn.stream.is_secure() && jid.starts_with("carol@"));
    conn.close();
}

#[test]
fn a_wrong_password_is_not_authorized() {
    let Some(env) = interop_env() else { return };
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
fn bind_conflicts_both_ways() {
    let Some(env) = interop_env() else { return };
    // plain.localhost refuses the newcomer: <conflict/> at bind.
    let mut first = config(&env, "carol", &env.plain_domain);
    first.resource = Some("desk".into());
    let (mut holder, _, jid) = match login(first.clone(), &options(&env, false)) {
        Ok(x) => x,
        Err(e) => panic!("first session: {e}"),
    };
    assert_eq!(jid, "carol@plain.localhost/desk");
    first.rng_seed = os_seed();
    match login(first, &options(&env, false)) {
        Err(DriverError::Closed(Some(Error::BindFailed(e)))) => {
            assert_eq!(e.condition, StanzaErrorCondition::Conflict)
        }
        Err(e) => panic!("unexpected failure: {e}"),
        Ok(_) => panic!("two sessions bound the same resource"),
    }
    holder.close();

    // tls.localhost (Prosody's default) replaces the old session, which
    // receives a <conflict/> stream error.
    let mut first = config(&env, "carol", &env.tls_domain);
    first.resource = Some("desk".into());
    let (mut old, _, _) = match login(first.clone(), &options(&env, false)) {
        Ok(x) => x,
        Err(e) => panic!("first session: {e}"),
    };
    first.rng_seed = os_seed();
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
fn our_client_answers_unserved_iq_namespaces_for_real() {
    let Some(env) = interop_env() else { return };
    let (mut alice, _, _) = match login(
        config(&env, "alice", &env.plain_domain),
        &options(&env, false),
    ) {
        Ok(x) => x,
        Err(e) => panic!("alice: {e}"),
    };
    let (mut bob, _, bob_jid) = match login(
        config(&env, "bob", &env.plain_domain),
        &options(&env, false),
    ) {
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
        .send_iq(
            IqType::Get,
            Some(&bob_jid),
            Element::new("ping", ns::PING),
            Instant::now(),
        )
        .unwrap_or_default();
    alice.flush().ok();
    let _ = bob.run_until(Duration::from_millis(500), |_, _| None::<()>);
    let mut got = Vec::new();
    let _ = alice.run_until(WITHIN, |_, e| {
        match e {
            Event::IqError { id: i, error, from } if *i == id => got.push(format!(
                "error {} from {}",
                error.condition,
                from.clone().unwrap_or_default()
            )),
            Event::IqResult { id: i, .. } if *i == ping => got.push("pong".to_owned()),
            _ => {}
        }
        (got.len() == 2).then_some(())
    });
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
