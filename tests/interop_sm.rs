//! Stream management (XEP-0198) against a real server on loopback:
//! Prosody's `mod_smacks` or ejabberd's `mod_stream_mgmt` (both enabled by
//! `scripts/prosody.sh` and `scripts/ejabberd.sh`). `#[ignore]`d like the
//! other live tests; `.ci/run` runs them against both servers.
#![allow(clippy::disallowed_methods)] // a real connection reads the real clock

#[path = "../examples/support/blocking.rs"]
mod blocking;
#[path = "common/interop.rs"]
mod interop;

use std::time::{Duration, Instant};

use blocking::{Connection, Options, os_seed};
use interop::{InteropEnv, interop_env};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{ClientConfig, Event, SmConfig, SmState, TlsPolicy};

const WITHIN: Duration = Duration::from_secs(15);

fn config(env: &InteropEnv, user: &str, resource: &str) -> ClientConfig {
    let seed = os_seed().unwrap_or_else(|e| panic!("{e}"));
    let mut c = ClientConfig::new(
        format!("{user}@{}", env.plain_domain),
        env.password(user),
        seed,
    );
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c.resource = Some(resource.into());
    c
}

fn options(env: &InteropEnv) -> Options {
    Options {
        host: env.host.clone(),
        port: env.plain_port,
        ca_pem: Some(env.ca_pem_path.clone()),
        ..Options::default()
    }
}

fn chat(to: &str, body: &str) -> Element {
    Element::builder("message", "jabber:client")
        .attr("to", to)
        .attr("type", "chat")
        .attr("id", body)
        .child(Element::builder("body", "jabber:client").text(body).build())
        .build()
}

/// Runs `conn` for `within`, collecting message bodies that start with
/// `tag`; stops early once `until` of them arrived (`None`: run it all).
fn collect(
    conn: &mut Connection,
    tag: &str,
    until: Option<usize>,
    within: Duration,
) -> Vec<String> {
    let mut got = Vec::new();
    let _ = conn.run_until(within, |_, e| {
        if let Event::Message(m) = e
            && let Some(body) = m.body(None).filter(|b| b.starts_with(tag))
        {
            got.push(body);
        }
        (Some(got.len()) == until).then_some(())
    });
    got
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh, DIR/env exported"]
fn enable_ack_kill_and_resume_delivers_what_was_sent_in_between_once() {
    let env = interop_env();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tag = format!("sm{stamp}-");
    // Alice: stream management with resumption, an ack asked for at once.
    let mut alice_config = config(&env, "alice", "sm-live");
    alice_config.stream_management = SmConfig::enabled();
    alice_config.stream_management.ack_after_stanzas = Some(1);
    let mut alice = Connection::connect(alice_config.clone(), &options(&env)).expect("connect");
    let (jid, id) = alice
        .run_until(WITHIN, |s, e| match e {
            Event::SmEnabled { id, .. } => {
                Some((s.bound_jid().unwrap_or_default().to_owned(), id.clone()))
            }
            _ => None,
        })
        .expect("stream management enabled");
    assert!(id.is_some(), "the server grants resumption");
    let mut bob =
        Connection::connect(config(&env, "bob", "sm-live-peer"), &options(&env)).expect("connect");
    let bob_jid = bob
        .run_until(WITHIN, |_, e| match e {
            Event::Online { jid } => Some(jid.clone()),
            _ => None,
        })
        .expect("bob online");

    // Before the cut: both ways, acknowledged.
    for n in 1..=2 {
        bob.stream
            .send(chat(&jid, &format!("{tag}b{n}")), Instant::now())
            .expect("send");
    }
    bob.flush().expect("flush");
    let mut alice_got = collect(&mut alice, &tag, Some(2), WITHIN);
    let sent: Vec<Element> = (1..=3)
        .map(|n| chat(&bob_jid, &format!("{tag}a{n}")))
        .collect();
    for m in &sent {
        alice.stream.send(m.clone(), Instant::now()).expect("send");
    }
    let mut acked = Vec::new();
    alice
        .run_until(WITHIN, |_, e| {
            if let Event::Acknowledged { stanzas } = e {
                acked.extend(stanzas.iter().cloned());
            }
            (acked.len() == sent.len()).then_some(())
        })
        .expect("the server acknowledges what alice sent");
    assert_eq!(acked, sent, "released exactly once each, in order");

    // The cut: one more stanza queued but never written, then the TCP
    // connection is dropped without a closing tag.
    alice
        .stream
        .send(chat(&bob_jid, &format!("{tag}a4")), Instant::now())
        .expect("send");
    let state = alice.stream.sm_state().expect("a state");
    assert!(state.resumable());
    assert_eq!(state.unacked.len(), 1);
    drop(alice);
    // Persisted and read back, as an application restarting would.
    let state = SmState::from_xml(&state.to_xml()).expect("the saved state parses");

    // Meanwhile bob writes to the vanished session.
    std::thread::sleep(Duration::from_millis(300));
    for n in 3..=4 {
        bob.stream
            .send(chat(&jid, &format!("{tag}b{n}")), Instant::now())
            .expect("send");
    }
    bob.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));

    // Resume on a new connection.
    let mut alice =
        Connection::connect_resuming(alice_config, Some(state), &options(&env)).expect("reconnect");
    let mut before_resumed = Vec::new();
    let resumed = alice
        .run_until(WITHIN, |_, e| match e {
            Event::Resumed { jid, resent } => Some((jid.clone(), *resent)),
            Event::Online { .. } | Event::ResumeFailed { .. } => panic!("not resumed: {e:?}"),
            Event::Message(m) => {
                before_resumed.extend(m.body(None));
                None
            }
            _ => None,
        })
        .expect("resumed");
    assert_eq!(resumed, (jid.clone(), 1), "the unwritten stanza is resent");
    alice_got.extend(before_resumed);
    alice_got.extend(collect(&mut alice, &tag, None, Duration::from_secs(3)));
    let want: Vec<String> = (1..=4).map(|n| format!("{tag}b{n}")).collect();
    assert_eq!(alice_got, want, "what bob sent arrives once each, in order");

    let bob_got = collect(&mut bob, &tag, None, Duration::from_secs(3));
    let want: Vec<String> = (1..=4).map(|n| format!("{tag}a{n}")).collect();
    assert_eq!(bob_got, want, "what alice sent arrives once each, in order");
    alice.close();
    bob.close();
}
