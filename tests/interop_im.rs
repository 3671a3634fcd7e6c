//! RFC 6121 against a real server on loopback (Prosody or ejabberd, as
//! `XMPP_INTEROP_SERVER` says): roster set, rename and remove with their
//! pushes; the subscription handshake both ways, its cancellation both
//! ways (unsubscribe, unsubscribed, a refused request) and pre-approval
//! (or, where the server does not offer it, what an unrequested
//! `subscribed` does); presence with show/status/priority, broadcast and
//! directed; messages of every type (chat, normal, headline, errors the
//! server generates, groupchat in a XEP-0045 room); roster versioning
//! across a reconnect, with the cache persisted as text. Where the servers
//! differ, the test branches on the server and says why.
//!
//! Each test has its own accounts on plain.localhost (both scripts
//! register them), so the tests can run in parallel, and each starts by
//! removing whatever an earlier run left in its rosters. Ignored by
//! default, like `tests/interop.rs`: run with `--include-ignored`.
#![allow(clippy::disallowed_methods)] // real connections read the real clock

#[path = "../examples/support/blocking.rs"]
mod blocking;
#[path = "common/interop.rs"]
mod interop;
#[path = "../examples/support/roster_store.rs"]
mod roster_store;

use std::time::{Duration, Instant};

use blocking::{Connection, Options, os_seed};
use interop::{InteropEnv, Server, interop_env};
use xmpp_sansio::im::{
    MessageBuilder, PresenceBuilder, PresenceError, PresenceTracker, Roster, RosterCache,
    RosterItem, Show, Subscription, subscription,
};
use xmpp_sansio::stanza::{
    ErrorType, IqType, Message, MessageType, Presence, PresenceType, StanzaErrorCondition,
    StanzaView,
};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{ClientConfig, Event, TlsPolicy};

const WITHIN: Duration = Duration::from_secs(15);

fn connect(env: &InteropEnv, user: &str, resource: &str) -> (Connection, String) {
    let seed = os_seed().unwrap_or_else(|e| panic!("{e}"));
    let mut c = ClientConfig::new(
        format!("{user}@{}", env.plain_domain),
        env.password(user),
        seed,
    );
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c.resource = Some(resource.into());
    let options = Options {
        host: env.host.clone(),
        port: env.plain_port,
        ..Options::default()
    };
    let mut conn = Connection::connect(c, &options).unwrap_or_else(|e| panic!("{user}: {e}"));
    let jid = conn
        .run_until(WITHIN, |_, e| match e {
            Event::Online { jid, .. } => Some(jid.clone()),
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

/// Requests the roster (which also makes `conn` an interested resource,
/// RFC 6121 §2.1.6: roster pushes go only to those).
fn roster(conn: &mut Connection) -> Roster {
    let id = conn
        .stream
        .request_roster(None, Instant::now())
        .unwrap_or_else(|e| panic!("roster request: {e}"));
    wait(conn, "roster", |e| match e {
        Event::Roster { id: i, roster, .. } if *i == id => Some(roster.clone().unwrap_or_default()),
        Event::IqError { id: i, error, .. } if *i == id => panic!("roster refused: {error}"),
        _ => None,
    })
}

/// Removes `others` from `conn`'s roster (not-found is fine): a test starts
/// from no relation, whatever an earlier run against this server left.
fn forget(conn: &mut Connection, others: &[&str]) {
    for other in others {
        let id = conn
            .stream
            .remove_roster_item(other, Instant::now())
            .unwrap_or_else(|e| panic!("remove: {e}"));
        wait(conn, "cleanup", |e| match e {
            Event::IqResult { id: i, .. } => (*i == id).then_some(()),
            Event::IqError { id: i, error, .. } if *i == id => {
                assert_eq!(error.condition, StanzaErrorCondition::ItemNotFound);
                Some(())
            }
            _ => None,
        });
    }
}

/// A marker message: the server delivers one sender's stanzas to one
/// recipient in order, so once the marker has arrived, everything that
/// sender sent that recipient before it has arrived too.
fn marker(to: &str, id: &str) -> Element {
    MessageBuilder::new(MessageType::Chat, to)
        .id(id)
        .body(None, "marker")
        .build()
}

/// Every event `conn` sees up to and including the first for which `last`
/// holds.
fn until(conn: &mut Connection, what: &str, last: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    wait(conn, what, |e| {
        seen.push(e.clone());
        last(e).then_some(())
    });
    seen
}

/// Every event `conn` sees before the marker `id`.
fn until_marker(conn: &mut Connection, id: &str) -> Vec<Event> {
    let mut seen = Vec::new();
    wait(conn, id, |e| match e {
        Event::Message(m) if m.id() == Some(id) => Some(()),
        other => {
            seen.push(other.clone());
            None
        }
    });
    seen
}

/// `a` subscribes to `b`'s presence and `b` approves; returns once both
/// rosters say so. `b` must be available (requests go to available
/// resources, §3.1.3) and both interested.
fn subscribe(a: &mut Connection, a_bare: &str, b: &mut Connection, b_bare: &str) {
    send(a, subscription::subscribe(b_bare));
    wait(b, "subscription request", |e| {
        matches!(e, Event::SubscriptionRequest(p) if p.from().is_some_and(|f| f.bare() == a_bare))
            .then_some(())
    });
    send(b, subscription::subscribed(a_bare));
    wait(a, "subscription to", |e| {
        push_for(e, b_bare)
            .filter(|i| matches!(i.subscription, Subscription::To | Subscription::Both))
    });
    wait(b, "subscription from", |e| {
        push_for(e, a_bare)
            .filter(|i| matches!(i.subscription, Subscription::From | Subscription::Both))
    });
}

/// After `actor` acted: what `actor` and each of `peers` received because
/// of it, each event in one line ([`describe`]). `actor` sends a marker to
/// itself and to each peer; the server handles one sender's stanzas in
/// order, so whatever it sent anyone while handling the action arrives
/// before the marker.
fn effects(
    actor: &mut Connection,
    actor_full: &str,
    peers: &mut [(&mut Connection, &str)],
    id: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    send(actor, marker(actor_full, id));
    for (_, full) in peers.iter() {
        send(actor, marker(full, id));
    }
    let mine = until_marker(actor, id).iter().map(describe).collect();
    let theirs = peers
        .iter_mut()
        .map(|(conn, _)| until_marker(conn, id).iter().map(describe).collect())
        .collect();
    (mine, theirs)
}

/// Lets everything already sent to `conn` arrive (a marker to itself), so
/// the next [`effects`] sees only the next action's.
fn settle(conn: &mut Connection, full: &str) {
    send(conn, marker(full, "settle"));
    until_marker(conn, "settle");
}

/// An event in one line, for comparing sequences.
fn describe(e: &Event) -> String {
    let from = |a: Option<xmpp_sansio::stanza::Address<'_>>| {
        a.map(|a| a.as_str().to_owned()).unwrap_or_default()
    };
    match e {
        Event::RosterPush { item, .. } => format!(
            "push {} {}{}{}",
            item.jid,
            item.subscription.as_str(),
            if item.ask { " ask" } else { "" },
            if item.approved { " approved" } else { "" }
        ),
        Event::SubscriptionRequest(p) => format!("subscription request from {}", from(p.from())),
        Event::Presence(p) => format!(
            "{} from {}{}",
            p.type_().as_attr().unwrap_or("available"),
            from(p.from()),
            p.status(None)
                .map(|s| format!(" {s:?}"))
                .unwrap_or_default()
        ),
        Event::Message(m) => format!("{} message from {}", m.type_().as_str(), from(m.from())),
        other => format!("{other:?}"),
    }
}

fn bare(env: &InteropEnv, user: &str) -> String {
    format!("{user}@{}", env.plain_domain)
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn roster_subscriptions_presence_and_messages_between_two_accounts() {
    let env = interop_env();
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
        Event::Roster { id: i, roster, .. } if *i == id => Some(roster.clone()),
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
    // Given bob's full JID, the helper addresses his bare JID (RFC 6121
    // §3.1.1), and send_presence gives the request an id, which arrives.
    let request_id = alice
        .stream
        .send_presence(subscription::subscribe(&bob_full), now())
        .unwrap_or_else(|e| panic!("subscribe: {e}"));
    alice.flush().unwrap_or_else(|e| panic!("flush: {e}"));
    let pending = wait(&mut alice, "ask=subscribe push", |e| {
        push_for(e, &bob_bare).filter(|i| i.ask)
    });
    assert_eq!(pending.subscription, Subscription::None);
    let request = wait(&mut bob, "subscription request", |e| match e {
        Event::SubscriptionRequest(p) => Some((
            p.from().map(|a| a.bare().to_owned()),
            p.to().map(|a| a.as_str().to_owned()),
            p.id().map(str::to_owned),
        )),
        _ => None,
    });
    // Prosody delivers it as addressed (the bare JID); ejabberd stamps the
    // receiving resource's full JID on `to` (RFC 6120 §8.5.2.1.1 lets a
    // server deliver to each resource): then the bare part must be bob's.
    let to_as_delivered = match env.server {
        Server::Prosody => bob_bare.clone(),
        Server::Ejabberd => bob_full.clone(),
    };
    assert_eq!(
        request,
        (
            Some(alice_bare.clone()),
            Some(to_as_delivered),
            Some(request_id.clone())
        )
    );
    let answer_id = bob
        .stream
        .send_presence(subscription::subscribed(&alice_bare), now())
        .unwrap_or_else(|e| panic!("subscribed: {e}"));
    assert_ne!(
        answer_id, request_id,
        "never mirrors the request's (§3.2.1)"
    );
    bob.flush().unwrap_or_else(|e| panic!("flush: {e}"));
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
        .and_then(|p| {
            p.status(None, "Busy with the balcony scene")
                .status(Some("it"), "Occupato")
                .priority(-5)
        })
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
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn roster_versioning_across_a_reconnect() {
    let env = interop_env();
    let (mut carol, _) = connect(&env, "carol", "versioning");
    let now = Instant::now;
    assert!(
        carol.stream.features().is_some_and(|f| f.roster_versioning),
        "the server advertises roster versioning"
    );

    // Bootstrap with ver='' and build the cache; then a change by push.
    let mut cache = RosterCache::default();
    let id = carol
        .stream
        .request_roster(Some(cache.request_ver()), now())
        .unwrap_or_default();
    let first = wait(&mut carol, "first roster", |e| match e {
        Event::Roster { id: i, roster, .. } if *i == id => Some(roster.clone()),
        _ => None,
    });
    cache.replace(first.unwrap_or_else(|| panic!("a bootstrap request gets the whole roster")));
    let contact = "versioned-contact@example.org";
    carol
        .stream
        .set_roster_item(&RosterItem::new(contact).with_name("V"), now())
        .ok();
    let (item, ver) = wait(&mut carol, "push", |e| match e {
        Event::RosterPush { item, ver, .. } if item.jid == contact => {
            Some((item.clone(), ver.clone()))
        }
        _ => None,
    });
    assert!(ver.is_some(), "pushes carry a version");
    cache.apply_push(item, ver);
    carol.close();

    // Persist the cache as text and restore it from that text, reconnect,
    // and ask with its version: the empty result says the cache is current.
    let saved = roster_store::save(&cache);
    let restored = roster_store::load(&saved).unwrap_or_else(|e| panic!("{e}: {saved}"));
    assert_eq!(restored, cache, "the cache survives persistence");
    let mut cache = restored;
    let (mut again, _) = connect(&env, "carol", "versioning");
    let id = again
        .stream
        .request_roster(Some(cache.request_ver()), now())
        .unwrap_or_default();
    let answer = wait(&mut again, "versioned roster", |e| match e {
        Event::Roster { id: i, roster, .. } if *i == id => Some(roster.clone()),
        _ => None,
    });
    assert_eq!(answer, None, "cache {saved} is current");
    assert!(cache.items.contains_key(contact));

    // Clean up so the test can run again against the same server.
    again.stream.remove_roster_item(contact, now()).ok();
    let (item, ver) = wait(&mut again, "removal push", |e| match e {
        Event::RosterPush { item, ver, .. } if item.jid == contact => {
            Some((item.clone(), ver.clone()))
        }
        _ => None,
    });
    cache.apply_push(item, ver);
    assert!(!cache.items.contains_key(contact));
    again.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn unsubscribe_unsubscribed_and_a_refused_request() {
    let env = interop_env();
    let (dave_bare, erin_bare) = (bare(&env, "dave"), bare(&env, "erin"));
    let (mut dave, dave_full) = connect(&env, "dave", "unsub");
    let (mut erin, erin_full) = connect(&env, "erin", "unsub");
    forget(&mut dave, &[&erin_bare]);
    forget(&mut erin, &[&dave_bare]);
    roster(&mut dave);
    roster(&mut erin);
    send(&mut dave, PresenceBuilder::available().build());
    send(&mut erin, PresenceBuilder::available().build());
    subscribe(&mut dave, &dave_bare, &mut erin, &erin_bare);
    subscribe(&mut erin, &erin_bare, &mut dave, &dave_bare);
    settle(&mut dave, &dave_full);
    settle(&mut erin, &erin_full);
    let (d, e) = (dave_bare.as_str(), erin_bare.as_str());
    // Where one side gets both a roster push and a presence stanza, the
    // RFC lists them without prescribing an order, and the servers differ
    // (Prosody delivers the presence first, ejabberd pushes first): those
    // sides are compared as sets.
    let set = |mut v: Vec<String>| {
        v.sort();
        v
    };

    // Dave unsubscribes from erin's presence (RFC 6121 §3.3): both ->
    // from for him, both -> to for her, and she is told. §3.3.3 asks the
    // contact's server to send him her unavailable presence: ejabberd does,
    // Prosody does not (her presence simply stops).
    send(&mut dave, subscription::unsubscribe(e));
    let (mine, theirs) = effects(&mut dave, &dave_full, &mut [(&mut erin, &erin_full)], "A");
    let mut expected = vec![format!("push {e} from")];
    if env.is_ejabberd() {
        expected.push(format!("unavailable from {erin_full}"));
    }
    assert_eq!(mine, expected);
    assert_eq!(
        set(theirs.concat()),
        set(vec![
            format!("unsubscribe from {d}"),
            format!("push {d} to")
        ])
    );

    // Dave cancels erin's subscription to him (§3.2): none on both sides,
    // she is told, and his presence goes unavailable for her.
    send(&mut dave, subscription::unsubscribed(e));
    let (mine, theirs) = effects(&mut dave, &dave_full, &mut [(&mut erin, &erin_full)], "B");
    assert_eq!(mine, [format!("push {e} none")]);
    assert_eq!(
        set(theirs.concat()),
        set(vec![
            format!("unsubscribed from {d}"),
            format!("push {d} none"),
            format!("unavailable from {dave_full}"),
        ])
    );

    // Erin asks again and dave refuses with unsubscribed (§3.2.1): her
    // pending ask is cleared. Prosody acknowledges a request with
    // unavailable presence from the contact's bare JID; ejabberd does not.
    send(&mut erin, subscription::subscribe(d));
    let (mine, theirs) = effects(&mut erin, &erin_full, &mut [(&mut dave, &dave_full)], "C1");
    let mut expected = vec![format!("push {d} none ask")];
    if env.is_prosody() {
        expected.push(format!("unavailable from {d}"));
    }
    assert_eq!(mine, expected);
    assert_eq!(theirs, [[format!("subscription request from {e}")]]);
    send(&mut dave, subscription::unsubscribed(e));
    let (mine, theirs) = effects(&mut dave, &dave_full, &mut [(&mut erin, &erin_full)], "C2");
    assert_eq!(
        mine,
        Vec::<String>::new(),
        "a refusal changes dave's roster not"
    );
    assert_eq!(
        set(theirs.concat()),
        set(vec![
            format!("unsubscribed from {d}"),
            format!("push {d} none")
        ])
    );

    // What the rosters say now. ejabberd has deleted dave's item for erin
    // (subscription none, no name, no group) when he refused her request,
    // without the roster push RFC 6121 §2.1.6 asks for (none arrived
    // before the marker above): a client's cached roster keeps the item
    // until its next roster request.
    let item = |r: Roster, jid: &str| r.items.into_iter().find(|i| i.jid == jid);
    for (conn, other) in [(&mut dave, e), (&mut erin, d)] {
        match (env.server, item(roster(conn), other)) {
            (Server::Ejabberd, None) if other == e => {}
            (_, Some(it)) => {
                assert_eq!((it.subscription, it.ask), (Subscription::None, false))
            }
            (_, None) => panic!("{other} gone"),
        }
    }
    dave.close();
    erin.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn pre_approval_where_offered_ignored_where_not() {
    let env = interop_env();
    let (frank_bare, grace_bare) = (bare(&env, "frank"), bare(&env, "grace"));
    let (mut frank, frank_full) = connect(&env, "frank", "pre");
    let (mut grace, grace_full) = connect(&env, "grace", "pre");
    // RFC 6121 §3.4: a server that supports pre-approval says so. Prosody
    // 0.12 does; ejabberd 23.01 does not, and the helper then refuses to
    // build the stanza.
    let features = frank.stream.features().cloned().unwrap_or_default();
    assert_eq!(features.pre_approval, env.is_prosody());
    forget(&mut frank, &[&grace_bare]);
    forget(&mut grace, &[&frank_bare]);
    roster(&mut frank);
    roster(&mut grace);
    send(
        &mut frank,
        PresenceBuilder::available()
            .status(None, "frank here")
            .build(),
    );
    send(&mut grace, PresenceBuilder::available().build());
    settle(&mut frank, &frank_full);
    settle(&mut grace, &grace_full);
    let (f, g) = (frank_bare.as_str(), grace_bare.as_str());

    if env.is_ejabberd() {
        // Without the feature the helper refuses; sent anyway, an
        // unrequested `subscribed` is ignored (§3.4 leaves it undefined):
        // no push, nothing to grace. Her later request reaches frank as any
        // request does, and waits for his answer.
        assert!(matches!(
            subscription::preapprove(g, &features),
            Err(PresenceError::PreApprovalNotOffered)
        ));
        send(&mut frank, subscription::subscribed(g));
        let (mine, theirs) = effects(
            &mut frank,
            &frank_full,
            &mut [(&mut grace, &grace_full)],
            "A",
        );
        assert_eq!((mine, theirs), (vec![], vec![vec![]]));
        send(&mut grace, subscription::subscribe(f));
        let (mine, theirs) = effects(
            &mut grace,
            &grace_full,
            &mut [(&mut frank, &frank_full)],
            "B",
        );
        assert_eq!(mine, [format!("push {f} none ask")]);
        assert_eq!(theirs, [[format!("subscription request from {g}")]]);
        frank.close();
        grace.close();
        return;
    }

    // Frank approves grace before she asks: the server records it and
    // pushes the item; grace is told nothing. Prosody's push (and roster
    // result) omits approved='true', which §3.4 has the server include.
    let preapproval = subscription::preapprove(g, &features).expect("offered, so allowed");
    send(&mut frank, preapproval);
    let (mine, theirs) = effects(
        &mut frank,
        &frank_full,
        &mut [(&mut grace, &grace_full)],
        "A",
    );
    assert_eq!(mine, [format!("push {g} none")]);
    assert_eq!(theirs, [Vec::<String>::new()]);

    // Grace asks: approved at once on frank's behalf. Frank's client sees
    // no request, only the roster change; grace gets the approval and
    // frank's presence.
    send(&mut grace, subscription::subscribe(f));
    let (mine, theirs) = effects(
        &mut grace,
        &grace_full,
        &mut [(&mut frank, &frank_full)],
        "B",
    );
    assert_eq!(
        mine,
        [
            format!("push {f} none ask"),
            format!("subscribed from {f}"),
            format!("push {f} to"),
            format!("available from {frank_full} \"frank here\""),
        ]
    );
    assert_eq!(theirs, [[format!("push {g} from")]]);
    frank.close();
    grace.close();
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn directed_presence_reaches_only_its_addressee() {
    let env = interop_env();
    let (heidi_bare, ivan_bare, judy_bare) =
        (bare(&env, "heidi"), bare(&env, "ivan"), bare(&env, "judy"));
    let (mut one, one_full) = connect(&env, "heidi", "one");
    let (mut two, two_full) = connect(&env, "heidi", "two");
    let (mut ivan, ivan_full) = connect(&env, "ivan", "directed");
    let (mut judy, judy_full) = connect(&env, "judy", "directed");
    forget(&mut ivan, &[&heidi_bare, &judy_bare]);
    forget(&mut judy, &[&ivan_bare]);
    forget(&mut one, &[&ivan_bare]);
    roster(&mut ivan);
    roster(&mut judy);
    for conn in [&mut one, &mut two, &mut judy, &mut ivan] {
        send(conn, PresenceBuilder::available().build());
    }
    // Judy sees ivan's presence; heidi has no subscription to it.
    subscribe(&mut judy, &judy_bare, &mut ivan, &ivan_bare);
    for (conn, full) in [
        (&mut one, &one_full),
        (&mut two, &two_full),
        (&mut judy, &judy_full),
        (&mut ivan, &ivan_full),
    ] {
        settle(conn, full);
    }
    let mut run = |ivan: &mut Connection, presence: Element, id: &str| {
        send(ivan, presence);
        effects(
            ivan,
            &ivan_full,
            &mut [
                (&mut one, &one_full),
                (&mut two, &two_full),
                (&mut judy, &judy_full),
            ],
            id,
        )
    };
    let nothing = Vec::<String>::new;

    // Broadcast: to the subscriber (and back to ivan's own resource), not
    // to heidi.
    let (mine, theirs) = run(
        &mut ivan,
        PresenceBuilder::available().status(None, "to all").build(),
        "broadcast",
    );
    let seen = format!("available from {ivan_full} \"to all\"");
    assert_eq!(mine, std::slice::from_ref(&seen));
    assert_eq!(theirs, [nothing(), nothing(), vec![seen]]);

    // Directed to one full JID (RFC 6121 §4.6): only that resource gets it;
    // not heidi's other resource, not the subscriber, not ivan himself.
    let (mine, theirs) = run(
        &mut ivan,
        PresenceBuilder::available()
            .to(one_full.clone())
            .status(None, "just for one")
            .build(),
        "directed",
    );
    assert_eq!(mine, nothing());
    assert_eq!(
        theirs,
        [
            vec![format!("available from {ivan_full} \"just for one\"")],
            nothing(),
            nothing()
        ]
    );

    // Going unavailable reaches the subscriber and, since the server
    // remembers directed presence (§4.6.3), heidi's resource "one" too.
    // Prosody also reflects it to the resource that sent it, as it does
    // available presence; ejabberd does not.
    let (mine, theirs) = run(&mut ivan, PresenceBuilder::unavailable().build(), "gone");
    let gone = format!("unavailable from {ivan_full}");
    match env.server {
        Server::Prosody => assert_eq!(mine, std::slice::from_ref(&gone)),
        Server::Ejabberd => assert_eq!(mine, nothing()),
    }
    assert_eq!(theirs, [vec![gone.clone()], nothing(), vec![gone]]);
    for conn in [&mut one, &mut two, &mut ivan, &mut judy] {
        conn.close();
    }
}

/// The messages `conn` receives before the marker `id`.
fn messages_until(conn: &mut Connection, id: &str) -> Vec<Message> {
    until_marker(conn, id)
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn normal_headline_and_error_messages() {
    let env = interop_env();
    let leo_bare = bare(&env, "leo");
    let (mut kim, kim_full) = connect(&env, "kim", "messages");
    let (mut a, a_full) = connect(&env, "leo", "a");
    let (mut b, b_full) = connect(&env, "leo", "b");
    for (conn, full) in [(&mut a, &a_full), (&mut b, &b_full)] {
        send(conn, PresenceBuilder::available().build());
        settle(conn, full);
    }

    // A normal message (no type attribute) to one resource, and a headline
    // to the bare JID, which goes to every available resource (RFC 6121
    // §8.5.2.1.1).
    send(
        &mut kim,
        MessageBuilder::new(MessageType::Normal, a_full.clone())
            .id("normal-1")
            .subject(None, "A note")
            .body(None, "Please read")
            .build(),
    );
    send(
        &mut kim,
        MessageBuilder::new(MessageType::Headline, leo_bare.clone())
            .id("headline-1")
            .body(None, "News")
            .build(),
    );
    send(&mut kim, marker(&a_full, "delivered"));
    send(&mut kim, marker(&b_full, "delivered"));
    let at_a = messages_until(&mut a, "delivered");
    let at_b = messages_until(&mut b, "delivered");
    let ids = |ms: &[Message]| {
        ms.iter()
            .map(|m| (m.id().unwrap_or_default().to_owned(), m.type_()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&at_a),
        [
            ("normal-1".to_owned(), MessageType::Normal),
            ("headline-1".to_owned(), MessageType::Headline)
        ]
    );
    assert_eq!(
        ids(&at_b),
        [("headline-1".to_owned(), MessageType::Headline)]
    );
    let normal = &at_a[0];
    assert_eq!(normal.element().attr("type"), None, "sent without a type");
    // The subject's language is the stanza's: `en` from both servers.
    assert_eq!(
        normal.subjects(),
        [(Some("en".to_owned()), "A note".to_owned())]
    );
    assert_eq!(normal.body(None).as_deref(), Some("Please read"));
    assert_eq!(
        normal.from().map(|f| f.as_str().to_owned()).as_deref(),
        Some(kim_full.as_str())
    );
    assert_eq!(at_b[0].body(None).as_deref(), Some("News"));

    // Errors the server itself generates, as message events with the id
    // sent: no such local user (service-unavailable for chat and normal;
    // a headline Prosody drops silently and ejabberd refuses the same way,
    // RFC 6121 allows both for an account that does not exist), and a
    // remote domain (neither server does s2s here: Prosody says
    // not-allowed with its text; ejabberd, whose outgoing s2s is denied by
    // its access rule, forbidden with its own).
    let nobody = format!("nobody@{}", env.plain_domain);
    for (id, to, type_) in [
        ("to-nobody-chat", nobody.as_str(), MessageType::Chat),
        ("to-nobody-normal", nobody.as_str(), MessageType::Normal),
        ("to-nobody-headline", nobody.as_str(), MessageType::Headline),
        (
            "to-remote",
            "someone@nonexistent.invalid",
            MessageType::Chat,
        ),
    ] {
        send(
            &mut kim,
            MessageBuilder::new(type_, to)
                .id(id)
                .body(None, "Hello?")
                .build(),
        );
    }
    send(&mut kim, marker(&kim_full, "errors"));
    let errors: Vec<_> = messages_until(&mut kim, "errors")
        .iter()
        .map(|m| {
            assert_eq!(m.type_(), MessageType::Error);
            let error = m
                .error()
                .unwrap_or_else(|| panic!("no <error/> in {:?}", m.element().to_xml()));
            (
                m.id().unwrap_or_default().to_owned(),
                m.from().map(|f| f.as_str().to_owned()).unwrap_or_default(),
                error.type_,
                error.condition,
                error.text(None).map(str::to_owned),
            )
        })
        .collect();
    let no_such_user = |id: &str| {
        (
            id.to_owned(),
            nobody.clone(),
            ErrorType::Cancel,
            StanzaErrorCondition::ServiceUnavailable,
            None,
        )
    };
    let remote = |type_, condition, text: &str| {
        (
            "to-remote".to_owned(),
            "someone@nonexistent.invalid".to_owned(),
            type_,
            condition,
            Some(text.to_owned()),
        )
    };
    let expected = match env.server {
        Server::Prosody => vec![
            no_such_user("to-nobody-chat"),
            no_such_user("to-nobody-normal"),
            remote(
                ErrorType::Cancel,
                StanzaErrorCondition::NotAllowed,
                "Communication with remote domains is not enabled",
            ),
        ],
        Server::Ejabberd => vec![
            no_such_user("to-nobody-chat"),
            no_such_user("to-nobody-normal"),
            no_such_user("to-nobody-headline"),
            remote(
                ErrorType::Auth,
                StanzaErrorCondition::Forbidden,
                "Access denied by service policy",
            ),
        ],
    };
    assert_eq!(errors, expected);
    for conn in [&mut kim, &mut a, &mut b] {
        conn.close();
    }
}

/// The `<x xmlns='http://jabber.org/protocol/muc#user'/>` status codes of
/// an occupant presence.
fn muc_status_codes(p: &Presence) -> Vec<String> {
    let mut codes: Vec<String> = p
        .element()
        .get_child("x", MUC_USER)
        .map(|x| {
            x.children()
                .filter(|c| c.is("status", MUC_USER))
                .filter_map(|c| c.attr("code").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    codes.sort();
    codes
}

const MUC: &str = "http://jabber.org/protocol/muc";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";

fn join(room: &str, nick: &str) -> Element {
    PresenceBuilder::available()
        .to(format!("{room}/{nick}"))
        .payload(Element::new("x", MUC))
        .build()
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh or scripts/ejabberd.sh"]
fn groupchat_in_a_room_with_two_accounts() {
    let env = interop_env();
    let (mut mike, _) = connect(&env, "mike", "muc");
    let (mut nina, _) = connect(&env, "nina", "muc");
    let suffix: String = os_seed()
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let room = format!("interop-{suffix}@{}", env.muc_domain);
    let (mike_nick, nina_nick) = (format!("{room}/Mike"), format!("{room}/Nina"));
    let occupant_presences = |events: &[Event]| {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Presence(p) if p.from().is_some_and(|f| f.as_str() != room) => Some((
                    p.from().map(|f| f.as_str().to_owned()).unwrap_or_default(),
                    p.type_(),
                    muc_status_codes(p),
                )),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let is_subject = |e: &Event| {
        matches!(e, Event::Message(m) if m.type_() == MessageType::Groupchat
            && m.from().is_some_and(|f| f.as_str() == room)
            && m.body(None).is_none()
            && m.element().has_child("subject", xmpp_sansio::xml::ns::JABBER_CLIENT))
    };
    let presence_from = |nick: &str, type_: PresenceType| {
        let nick = nick.to_owned();
        move |e: &Event| {
            matches!(e, Event::Presence(p) if p.type_() == type_
                && p.from().is_some_and(|f| f.as_str() == nick))
        }
    };
    let message_id = |id: &str| {
        let id = id.to_owned();
        move |e: &Event| matches!(e, Event::Message(m) if m.id() == Some(id.as_str()))
    };
    // What the room sends comes from the room, not from the account that
    // caused it: a marker from that account may overtake it (ejabberd runs
    // each room as a process of its own). So each step waits for the
    // room's own last stanza of that step (XEP-0045 fixes the order:
    // occupant presences, then the occupant's own presence, then the
    // subject), and a room's stanzas to one occupant arrive in order.

    // Mike creates the room (XEP-0045 §10.1): his own presence comes back
    // with 110 (this is you) and 201 (room created), then the (empty)
    // subject.
    send(&mut mike, join(&room, "Mike"));
    let seen = until(&mut mike, "the new room's subject", is_subject);
    // ejabberd first sends the room's own presence, from its bare JID,
    // with entity capabilities (XEP-0115); Prosody does not.
    let room_presence = seen.iter().any(|e| {
        matches!(e, Event::Presence(p) if p.from().is_some_and(|f| f.as_str() == room)
            && p.element().has_child("c", "http://jabber.org/protocol/caps"))
    });
    assert_eq!(room_presence, env.is_ejabberd());
    assert_eq!(
        occupant_presences(&seen),
        [(
            mike_nick.clone(),
            PresenceType::Available,
            vec!["110".to_owned(), "201".to_owned()]
        )]
    );

    // A new room is locked until configured: accept the defaults (an
    // instant room, §10.1.2).
    let instant = Element::builder("query", "http://jabber.org/protocol/muc#owner")
        .child(
            Element::builder("x", "jabber:x:data")
                .attr("type", "submit")
                .build(),
        )
        .build();
    let id = mike
        .stream
        .send_iq(IqType::Set, Some(&room), instant, Instant::now())
        .unwrap_or_else(|e| panic!("{e}"));
    wait(&mut mike, "room configuration", |e| match e {
        Event::IqResult { id: i, from, .. } if *i == id => {
            assert_eq!(from.as_deref(), Some(room.as_str()));
            Some(())
        }
        Event::IqError { id: i, error, .. } if *i == id => panic!("configuration: {error}"),
        _ => None,
    });

    // Nina joins: she sees mike, then herself (110), then the subject; mike
    // sees her arrive.
    send(&mut nina, join(&room, "Nina"));
    let at_nina = until(&mut nina, "the subject on joining", is_subject);
    let at_mike = until(
        &mut mike,
        "nina's arrival",
        presence_from(&nina_nick, PresenceType::Available),
    );
    assert_eq!(
        occupant_presences(&at_nina),
        [
            (mike_nick.clone(), PresenceType::Available, vec![]),
            (
                nina_nick.clone(),
                PresenceType::Available,
                vec!["110".to_owned()]
            ),
        ]
    );
    assert_eq!(
        occupant_presences(&at_mike),
        [(nina_nick.clone(), PresenceType::Available, vec![])]
    );

    // Groupchat round trip: a message to the room comes back to every
    // occupant, the sender included, from the sender's occupant JID.
    let say = |conn: &mut Connection, id: &str, text: &str| {
        send(
            conn,
            MessageBuilder::new(MessageType::Groupchat, room.clone())
                .id(id)
                .body(None, text)
                .build(),
        );
    };
    let groupchat = |events: Vec<Event>| {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some((
                    m.type_(),
                    m.id().unwrap_or_default().to_owned(),
                    m.from().map(|f| f.as_str().to_owned()).unwrap_or_default(),
                    m.body(None).unwrap_or_default(),
                )),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    say(&mut mike, "g-1", "Hello, room");
    let expected = [(
        MessageType::Groupchat,
        "g-1".to_owned(),
        mike_nick.clone(),
        "Hello, room".to_owned(),
    )];
    assert_eq!(
        groupchat(until(&mut mike, "g-1", message_id("g-1"))),
        expected
    );
    assert_eq!(
        groupchat(until(&mut nina, "g-1", message_id("g-1"))),
        expected
    );
    say(&mut nina, "g-2", "Hello, Mike");
    assert_eq!(
        groupchat(until(&mut mike, "g-2", message_id("g-2"))),
        [(
            MessageType::Groupchat,
            "g-2".to_owned(),
            nina_nick.clone(),
            "Hello, Mike".to_owned()
        )]
    );
    until(&mut nina, "g-2", message_id("g-2"));

    // Nina leaves (110 on her own unavailable presence); after that the
    // room refuses her messages with not-acceptable.
    send(
        &mut nina,
        PresenceBuilder::unavailable().to(nina_nick.clone()).build(),
    );
    say(&mut nina, "g-3", "Still here?");
    let at_nina = until(&mut nina, "the refusal of g-3", message_id("g-3"));
    let at_mike = until(
        &mut mike,
        "nina leaving",
        presence_from(&nina_nick, PresenceType::Unavailable),
    );
    assert_eq!(
        occupant_presences(&at_nina),
        [(
            nina_nick.clone(),
            PresenceType::Unavailable,
            vec!["110".to_owned()]
        )]
    );
    assert_eq!(
        occupant_presences(&at_mike),
        [(nina_nick.clone(), PresenceType::Unavailable, vec![])]
    );
    let refused: Vec<_> = at_nina
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) if m.type_() == MessageType::Error => Some((
                m.id().map(str::to_owned),
                m.from().map(|f| f.as_str().to_owned()),
                m.error().map(|e| e.condition),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        refused,
        [(
            Some("g-3".to_owned()),
            Some(room.clone()),
            Some(StanzaErrorCondition::NotAcceptable)
        )]
    );
    // The room had handled g-3 when nina got its refusal; mike's next
    // message comes back to him after anything the room sent him before.
    say(&mut mike, "g-4", "Gone, then");
    let at_mike = until(&mut mike, "g-4", message_id("g-4"));
    assert!(
        !at_mike
            .iter()
            .any(|e| matches!(e, Event::Message(m) if m.id() == Some("g-3"))),
        "a non-occupant's message reaches nobody"
    );
    mike.close();
    nina.close();
}
