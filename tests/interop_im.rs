//! RFC 6121 against a real Prosody on loopback, with two accounts: roster
//! set, rename and remove with their pushes, the subscription handshake
//! both ways, presence with show/status/priority as the other account sees
//! it, a message round trip, and roster versioning across a reconnect.
#![allow(clippy::disallowed_methods)] // real connections read the real clock

#[path = "../examples/support/blocking.rs"]
mod blocking;
#[path = "common/interop.rs"]
mod interop;

use std::time::{Duration, Instant};

use blocking::{Connection, Options, os_seed};
use interop::{InteropEnv, interop_env};
use xmpp_sansio::im::{
    MessageBuilder, PresenceBuilder, PresenceTracker, RosterCache, RosterItem, Show, Subscription,
    subscription,
};
use xmpp_sansio::stanza::{MessageType, PresenceType, StanzaView};
use xmpp_sansio::{ClientConfig, Event, TlsPolicy};

const WITHIN: Duration = Duration::from_secs(15);

fn connect(env: &InteropEnv, user: &str, resource: &str) -> (Connection, String) {
    let mut c = ClientConfig::new(
        format!("{user}@{}", env.plain_domain),
        env.password(user),
        os_seed(),
    );
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c.resource = Some(resource.into());
    let options = Options {
        host: env.host.clone(),
        port: env.port,
        ca_pem: Some(env.ca_pem_path.clone()),
        direct_tls: false,
    };
    let mut conn = Connection::connect(c, &options).unwrap_or_else(|e| panic!("{user}: {e}"));
    let jid = conn
        .run_until(WITHIN, |_, e| match e {
            Event::Online { jid } => Some(jid.clone()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{user} online: {e}"));
    (conn, jid)
}

/// Runs `conn` until `pick` returns `Some` for an event.
fn wait<T>(conn: &mut Connection, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    conn.run_until(WITHIN, |_, e| pick(e))
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

/// Sends a stanza and writes it out at once (a connection's output is
/// otherwise written only while that connection is being driven).
fn send(conn: &mut Connection, stanza: xmpp_sansio::xml::Element) {
    conn.stream
        .send(stanza, Instant::now())
        .unwrap_or_else(|e| panic!("send: {e}"));
    conn.flush().unwrap_or_else(|e| panic!("flush: {e}"));
}

/// Lets `conn` process whatever arrived, without waiting for anything.
fn pump(conn: &mut Connection) {
    let _ = conn.run_until(Duration::from_millis(300), |_, _| None::<()>);
}

fn push_for(e: &Event, jid: &str) -> Option<RosterItem> {
    match e {
        Event::RosterPush { item, .. } if item.jid == jid => Some(item.clone()),
        _ => None,
    }
}

#[test]
fn roster_subscriptions_presence_and_messages_between_two_accounts() {
    let Some(env) = interop_env() else { return };
    let (alice_bare, bob_bare) = (
        format!("alice@{}", env.plain_domain),
        format!("bob@{}", env.plain_domain),
    );
    let (mut alice, _) = connect(&env, "alice", "im-test");
    let (mut bob, bob_full) = connect(&env, "bob", "im-test");
    let now = Instant::now;

    // Start clean: no roster entry either way (ignore "not found").
    for (conn, other) in [(&mut alice, &bob_bare), (&mut bob, &alice_bare)] {
        let id = conn
            .stream
            .remove_roster_item(other, now())
            .unwrap_or_default();
        wait(conn, "cleanup", |e| {
            matches!(e, Event::IqResult { id: i, .. } | Event::IqError { id: i, .. } if *i == id)
                .then_some(())
        });
    }

    // Bob requests his roster too: pushes go only to resources that have
    // (RFC 6121 §2.1.6, "interested resources").
    let bob_roster = bob.stream.request_roster(None, now()).unwrap_or_default();
    wait(&mut bob, "bob's roster", |e| {
        matches!(e, Event::Roster { id, .. } if *id == bob_roster).then_some(())
    });

    // Roster get, then set (add with name and group): result and push.
    let id = alice.stream.request_roster(None, now()).unwrap_or_default();
    let roster = wait(&mut alice, "roster", |e| match e {
        Event::Roster { id: i, roster } if *i == id => Some(roster.clone()),
        _ => None,
    });
    assert!(roster.is_some_and(|r| r.items.iter().all(|i| i.jid != bob_bare)));
    let item = RosterItem::new(bob_bare.clone())
        .with_name("Bob")
        .with_groups(["Friends", "Верона"]);
    alice
        .stream
        .set_roster_item(&item, now())
        .unwrap_or_default();
    let pushed = wait(&mut alice, "push after set", |e| push_for(e, &bob_bare));
    assert_eq!(
        (pushed.name.as_deref(), pushed.subscription),
        (Some("Bob"), Subscription::None)
    );
    assert_eq!(
        pushed.groups,
        ["Friends".to_owned(), "Верона".to_owned()].into()
    );

    // Rename.
    alice
        .stream
        .set_roster_item(&item.clone().with_name("Robert"), now())
        .unwrap_or_default();
    let renamed = wait(&mut alice, "push after rename", |e| push_for(e, &bob_bare));
    assert_eq!(renamed.name.as_deref(), Some("Robert"));

    // Both available first, so presence flows once subscribed.
    send(&mut alice, PresenceBuilder::available().build());
    send(&mut bob, PresenceBuilder::available().build());

    // Subscription handshake, alice -> bob: request, pending ask, approval.
    send(&mut alice, subscription::subscribe(&bob_bare));
    let pending = wait(&mut alice, "ask=subscribe push", |e| {
        push_for(e, &bob_bare).filter(|i| i.ask)
    });
    assert_eq!(pending.subscription, Subscription::None);
    let request = wait(&mut bob, "subscription request", |e| match e {
        Event::SubscriptionRequest(p) => p.from().map(|a| a.bare().to_owned()),
        _ => None,
    });
    assert_eq!(request, alice_bare);
    send(&mut bob, subscription::subscribed(&alice_bare));
    let to = wait(&mut alice, "subscription=to", |e| {
        push_for(e, &bob_bare).filter(|i| i.subscription == Subscription::To)
    });
    assert!(!to.ask);

    // And bob -> alice, so it is both ways.
    send(&mut bob, subscription::subscribe(&alice_bare));
    pump(&mut bob);
    wait(&mut alice, "request from bob", |e| {
        matches!(e, Event::SubscriptionRequest(p) if p.from().is_some_and(|a| a.bare() == bob_bare))
            .then_some(())
    });
    send(&mut alice, subscription::subscribed(&bob_bare));
    wait(&mut alice, "subscription=both", |e| {
        push_for(e, &bob_bare).filter(|i| i.subscription == Subscription::Both)
    });
    wait(&mut bob, "bob's subscription=both", |e| {
        push_for(e, &alice_bare).filter(|i| i.subscription == Subscription::Both)
    });

    // Presence with show, statuses and priority, as alice sees it.
    let presence = PresenceBuilder::available()
        .show(Show::Dnd)
        .status(None, "Busy with the balcony scene")
        .status(Some("it"), "Occupato")
        .priority(-5)
        .unwrap_or_else(|e| panic!("{e}"))
        .build();
    send(&mut bob, presence);
    let mut tracker = PresenceTracker::default();
    let seen = wait(&mut alice, "bob's dnd presence", |e| match e {
        Event::Presence(p)
            if p.from().is_some_and(|a| a.as_str() == bob_full)
                && p.show().as_deref() == Some("dnd") =>
        {
            tracker.apply(p);
            Some(p.clone())
        }
        _ => None,
    });
    assert_eq!(seen.priority(), -5);
    assert_eq!(seen.status(Some("it")).as_deref(), Some("Occupato"));
    assert_eq!(
        seen.status(None).as_deref(),
        Some("Busy with the balcony scene")
    );
    let (resource, info) = tracker
        .best(&bob_bare)
        .unwrap_or_else(|| panic!("bob not tracked"));
    assert_eq!(
        (resource, info.show, info.priority),
        ("im-test", Some(Show::Dnd), -5)
    );

    // A message round trip: two languages, a thread, an extension payload.
    let chat = MessageBuilder::new(MessageType::Chat, bob_full.clone())
        .id("m-1")
        .body(None, "Art thou not Romeo? <3 & 🌹")
        .body(Some("cs"), "Nejsi ty Romeo?")
        .thread("t-1", Some("p-1"))
        .payload(xmpp_sansio::xml::Element::new(
            "active",
            "http://jabber.org/protocol/chatstates",
        ))
        .build();
    send(&mut alice, chat);
    let got = wait(&mut bob, "alice's message", |e| match e {
        Event::Message(m) if m.id() == Some("m-1") => Some(m.clone()),
        _ => None,
    });
    assert_eq!(got.type_(), MessageType::Chat);
    assert_eq!(
        got.body(None).as_deref(),
        Some("Art thou not Romeo? <3 & 🌹")
    );
    assert_eq!(got.body(Some("cs")).as_deref(), Some("Nejsi ty Romeo?"));
    assert_eq!(
        got.thread(),
        Some(("t-1".to_owned(), Some("p-1".to_owned())))
    );
    assert!(
        got.payloads()
            .iter()
            .any(|p| p.is("active", "http://jabber.org/protocol/chatstates"))
    );
    let reply = MessageBuilder::new(
        MessageType::Chat,
        got.from().map(|a| a.to_string()).unwrap_or_default(),
    )
    .id("m-2")
    .body(None, "Neither, fair saint")
    .build();
    send(&mut bob, reply);
    let back = wait(&mut alice, "bob's reply", |e| match e {
        Event::Message(m) if m.id() == Some("m-2") => m.body(None),
        _ => None,
    });
    assert_eq!(back, "Neither, fair saint");

    // Unavailable presence reaches alice and the tracker forgets bob.
    send(&mut bob, PresenceBuilder::unavailable().build());
    wait(&mut alice, "bob unavailable", |e| match e {
        Event::Presence(p)
            if p.type_() == PresenceType::Unavailable
                && p.from().is_some_and(|a| a.bare() == bob_bare) =>
        {
            tracker.apply(p);
            Some(())
        }
        _ => None,
    });
    assert!(!tracker.is_online(&bob_bare));

    // Remove: the push says so, and bob's subscription to alice is cancelled.
    alice.stream.remove_roster_item(&bob_bare, now()).ok();
    wait(&mut alice, "remove push", |e| {
        push_for(e, &bob_bare).filter(|i| i.subscription == Subscription::Remove)
    });
    let bobs_view = wait(&mut bob, "bob's push after removal", |e| {
        push_for(e, &alice_bare).filter(|i| i.subscription == Subscription::None)
    });
    assert!(!bobs_view.ask);
    alice.close();
    bob.close();
}

#[test]
fn roster_versioning_across_a_reconnect() {
    let Some(env) = interop_env() else { return };
    let (mut carol, _) = connect(&env, "carol", "versioning");
    let now = Instant::now;
    assert!(
        carol.stream.features().is_some_and(|f| f.roster_versioning),
        "Prosody advertises roster versioning"
    );

    // Bootstrap with ver='' and build the cache; then a change by push.
    let mut cache = RosterCache::default();
    let id = carol
        .stream
        .request_roster(Some(cache.request_ver()), now())
        .unwrap_or_default();
    let first = wait(&mut carol, "first roster", |e| match e {
        Event::Roster { id: i, roster } if *i == id => Some(roster.clone()),
        _ => None,
    });
    cache.replace(first.unwrap_or_else(|| panic!("a bootstrap request gets the whole roster")));
    let contact = "versioned-contact@example.org";
    carol
        .stream
        .set_roster_item(&RosterItem::new(contact).with_name("V"), now())
        .ok();
    let (item, ver) = wait(&mut carol, "push", |e| match e {
        Event::RosterPush { item, ver } if item.jid == contact => Some((item.clone(), ver.clone())),
        _ => None,
    });
    assert!(ver.is_some(), "pushes carry a version");
    cache.apply_push(item, ver);
    carol.close();

    // Persist and restore the cache as plain data, reconnect, and ask with
    // its version: the empty result says the cache is current.
    let saved = cache.to_query().to_xml();
    let (mut again, _) = connect(&env, "carol", "versioning");
    let id = again
        .stream
        .request_roster(Some(cache.request_ver()), now())
        .unwrap_or_default();
    let answer = wait(&mut again, "versioned roster", |e| match e {
        Event::Roster { id: i, roster } if *i == id => Some(roster.clone()),
        _ => None,
    });
    assert_eq!(answer, None, "cache {saved} is current");
    assert!(cache.items.contains_key(contact));

    // Clean up so the test can run again against the same server.
    again.stream.remove_roster_item(contact, now()).ok();
    let (item, ver) = wait(&mut again, "removal push", |e| match e {
        Event::RosterPush { item, ver } if item.jid == contact => Some((item.clone(), ver.clone())),
        _ => None,
    });
    cache.apply_push(item, ver);
    assert!(!cache.items.contains_key(contact));
    again.close();
}
