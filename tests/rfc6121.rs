//! RFC 6121 exchanges as transcripts through a client `Stream`, modelled on
//! the RFC's examples (juliet@example.com/balcony and her contacts): roster
//! get and result (§2.1.3–4, unreadable items and non-roster results
//! included), pushes and their validation (§2.1.6), set and remove with
//! their error cases (§2.3.3, §2.5.3), versioning (§2.6), subscriptions and
//! pre-approval (§3), presence (§4), and messages (§5). Every inbound part
//! is also fed a byte at a time.

mod common;

use std::time::Instant;

use common::*;
use xmpp_sansio::im::{
    MessageBuilder, PresenceBuilder, PresenceError, PresenceTracker, Roster, RosterCache,
    RosterItem, RosterPushRejection, Show, Subscription, subscription,
};
use xmpp_sansio::stanza::{
    ErrorType, MessageType, PresenceType, PriorityError, StanzaError, StanzaErrorCondition,
    StanzaParseError, StanzaView,
};
use xmpp_sansio::xml::{Element, ns};
use xmpp_sansio::{Event, Stream};

/// A stream online as juliet@example.com/balcony, with roster versioning
/// advertised or not.
fn online(versioning: bool) -> (Stream, Instant) {
    let ver = if versioning {
        "<ver xmlns='urn:xmpp:features:rosterver'/>"
    } else {
        ""
    };
    online_with(ver)
}

/// A stream online as juliet@example.com/balcony, with `extra` among the
/// features offered after authentication.
fn online_with(extra: &str) -> (Stream, Instant) {
    let now = epoch();
    let mut stream = Stream::client(plain_config());
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    stream.start(now).ok();
    let script = format!(
        "{SERVER_HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>\
         <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>{SERVER_HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{extra}</stream:features>"
    );
    stream.handle_input(script.as_bytes(), now).ok();
    drain(&mut stream, &mut out);
    let id = bind_request_id(&out.sent).unwrap_or_default();
    let bind = format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>"
    );
    stream.handle_input(bind.as_bytes(), now).ok();
    drain(
        &mut stream,
        &mut Outcome {
            sent: String::new(),
            events: Vec::new(),
        },
    );
    (stream, now)
}

/// Feeds `input` whole to one stream and byte by byte to a twin; both must
/// send and report the same; returns what the first did.
fn feed(stream: &mut Stream, twin: &mut Stream, input: &str, now: Instant) -> Outcome {
    let mut a = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    let mut b = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    stream.handle_input(input.as_bytes(), now).ok();
    drain(stream, &mut a);
    for byte in input.as_bytes() {
        twin.handle_input(std::slice::from_ref(byte), now).ok();
        drain(twin, &mut b);
    }
    assert_eq!(a, b, "one byte at a time differs from whole");
    a
}

fn sent(stream: &mut Stream) -> String {
    let mut out = Outcome {
        sent: String::new(),
        events: Vec::new(),
    };
    drain(stream, &mut out);
    out.sent
}

/// What the stream wrote for one presence sent with `send`, with the `id`
/// the stream gave it (RFC 6121 §3, §4) taken out; panics if it has none.
fn sent_presence(stream: &mut Stream) -> String {
    let out = sent(stream);
    let Some((head, rest)) = out.split_once(" id='") else {
        panic!("no id in {out}")
    };
    let Some((id, tail)) = rest.split_once('\'') else {
        panic!("{out}")
    };
    assert!(!id.is_empty(), "{out}");
    format!("{head}{tail}")
}

#[test]
fn roster_get_result_and_cache_section_2_1() {
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    let id = s.request_roster(Some("ver7"), now).unwrap_or_default();
    t.request_roster(Some("ver7"), now).ok();
    // No versioning advertised: no `ver` attribute (§2.6.1).
    assert_eq!(
        sent(&mut s),
        format!("<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'/></iq>")
    );
    sent(&mut t);
    let result = format!(
        "<iq id='{id}' to='juliet@example.com/balcony' type='result'>
           <query xmlns='jabber:iq:roster' ver='ver11'>
             <item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item>
             <item jid='mercutio@example.com' name='Mercutio' subscription='from'/>
             <item jid='benvolio@example.net' name='Benvolio' subscription='none' ask='subscribe'/>
             <item jid='nurse@example.com' approved='true' subscription='none'/>
           </query>
         </iq>"
    );
    let out = feed(&mut s, &mut t, &result, now);
    let Some(Event::Roster {
        id: got,
        roster: Some(roster),
        request_ver: None,
    }) = out.events.first()
    else {
        panic!("{:?}", out.events)
    };
    assert_eq!(*got, id);
    assert_eq!(roster.ver.as_deref(), Some("ver11"));
    let by_jid = |j: &str| {
        roster
            .items
            .iter()
            .find(|i| i.jid == j)
            .cloned()
            .unwrap_or_else(|| RosterItem::new("?"))
    };
    assert_eq!(by_jid("romeo@example.net").subscription, Subscription::Both);
    assert!(by_jid("romeo@example.net").groups.contains("Friends"));
    assert_eq!(
        by_jid("mercutio@example.com").subscription,
        Subscription::From
    );
    assert!(by_jid("benvolio@example.net").ask);
    assert!(by_jid("nurse@example.com").approved);
    let mut cache = RosterCache::default();
    cache.replace(roster.clone());
    assert_eq!(cache.items.len(), 4);
}

#[test]
fn pushes_are_acknowledged_and_validated_section_2_1_6() {
    let (mut s, now) = online(true);
    let (mut t, _) = online(true);
    let mut cache = RosterCache::default();
    cache.replace(Roster {
        ver: Some("ver11".into()),
        items: vec![RosterItem::new("romeo@example.net")],
        ..Roster::default()
    });
    // From the server (no `from`): applied and acknowledged.
    let push = "<iq id='a78b4q6ha463' to='juliet@example.com/balcony' type='set'>
                  <query xmlns='jabber:iq:roster' ver='ver12'><item jid='nurse@example.com'/></query>
                </iq>";
    let out = feed(&mut s, &mut t, push, now);
    assert_eq!(out.sent, "<iq type='result' id='a78b4q6ha463'/>");
    let [Event::RosterPush { item, ver }] = &out.events[..] else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        (item.jid.as_str(), ver.as_deref()),
        ("nurse@example.com", Some("ver12"))
    );
    cache.apply_push(item.clone(), ver.clone());

    // From our own bare JID: also the server (ejabberd's form).
    let own = "<iq id='p2' from='juliet@example.com' type='set'><query xmlns='jabber:iq:roster' ver='ver13'><item jid='tybalt@example.org' subscription='remove'/></query></iq>";
    let out = feed(&mut s, &mut t, own, now);
    assert_eq!(
        out.sent,
        "<iq type='result' id='p2' to='juliet@example.com'/>"
    );
    assert!(
        matches!(&out.events[..], [Event::RosterPush { item, .. }] if item.subscription == Subscription::Remove)
    );

    // From anyone else: refused, not applied, and reported.
    let spoof = "<iq id='p3' from='mallory@evil.example/x' type='set'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.example' subscription='both'/></query></iq>";
    let out = feed(&mut s, &mut t, spoof, now);
    assert!(out.sent.starts_with("<iq type='error' id='p3' to='mallory@evil.example/x'><error type='cancel'><service-unavailable"), "{}", out.sent);
    let [Event::RosterPushRejected { push, reason }] = &out.events[..] else {
        panic!("{:?}", out.events)
    };
    assert_eq!(*reason, RosterPushRejection::ForeignSender);
    assert!(!reason.from_server(), "the roster did not change");
    assert_eq!(push.id(), "p3");

    // From our own full JID: not the server either (§2.1.6 allows only no
    // `from` or the bare JID).
    let full = "<iq id='p4' from='juliet@example.com/balcony' type='set'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.example'/></query></iq>";
    let out = feed(&mut s, &mut t, full, now);
    assert!(out.sent.contains("<service-unavailable"), "{}", out.sent);
    assert!(matches!(
        &out.events[..],
        [Event::RosterPushRejected {
            reason: RosterPushRejection::ForeignSender,
            ..
        }]
    ));

    // From the server but malformed: bad-request, reported, and the cache
    // may now miss a change, so it is marked stale.
    for (push, want) in [
        (
            "<iq id='p5' type='set'><query xmlns='jabber:iq:roster' ver='ver14'><item jid='a@example.org'/><item jid='b@example.org'/></query></iq>",
            RosterPushRejection::ItemCount(2),
        ),
        (
            "<iq id='p6' type='set'><query xmlns='jabber:iq:roster' ver='ver15'/></iq>",
            RosterPushRejection::ItemCount(0),
        ),
    ] {
        let out = feed(&mut s, &mut t, push, now);
        assert!(
            out.sent
                .contains("<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"),
            "{}",
            out.sent
        );
        let [Event::RosterPushRejected { reason, .. }] = &out.events[..] else {
            panic!("{:?}", out.events)
        };
        assert_eq!(*reason, want);
        assert!(reason.from_server());
        let mut stale = cache.clone();
        assert_ne!(stale.request_ver(), "", "a versioned cache so far");
        stale.mark_stale();
        assert_eq!(stale.request_ver(), "", "a stale cache fetches it whole");
    }
    for push in [
        "<iq id='p7' type='set'><query xmlns='jabber:iq:roster' ver='ver16'><item name='No JID'/></query></iq>",
        "<iq id='p8' type='set'><query xmlns='jabber:iq:roster' ver='ver17'><item jid='@example.org'/></query></iq>",
    ] {
        let out = feed(&mut s, &mut t, push, now);
        assert!(out.sent.contains("<bad-request"), "{}", out.sent);
        let [Event::RosterPushRejected { push, reason }] = &out.events[..] else {
            panic!("{:?}", out.events)
        };
        assert!(
            matches!(reason, RosterPushRejection::BadItem(_)),
            "{reason:?}"
        );
        assert!(push.payload().is_some(), "the push is kept as received");
        if reason.from_server() {
            cache.mark_stale();
        }
    }
    // The stale cache asks for the whole roster next time, whatever pushes
    // follow.
    let out = feed(
        &mut s,
        &mut t,
        "<iq id='p9' type='set'><query xmlns='jabber:iq:roster' ver='ver18'><item jid='d@example.org'/></query></iq>",
        now,
    );
    if let [Event::RosterPush { item, ver }] = &out.events[..] {
        cache.apply_push(item.clone(), ver.clone());
    }
    assert_eq!(cache.items.len(), 3);
    assert_eq!(cache.request_ver(), "");
}

#[test]
fn a_pre_approved_contact_section_3_4() {
    // Without the feature, the helper refuses.
    let (plain, _) = online(true);
    let features = plain.features().cloned().unwrap_or_default();
    assert!(!features.pre_approval);
    assert_eq!(
        subscription::preapprove("nurse@example.com", &features).err(),
        Some(PresenceError::PreApprovalNotOffered)
    );
    // A server that offers it (§3.4): the stream's features say so.
    let offer = "<sub xmlns='urn:xmpp:features:pre-approval'/>";
    let (mut s, now) = online_with(offer);
    let (mut t, _) = online_with(offer);
    let offered = s.features().cloned().unwrap_or_default();
    assert!(offered.pre_approval);
    let el = subscription::preapprove("nurse@example.com", &offered);
    s.send(el.unwrap_or_else(|e| panic!("{e}")), now).ok();
    assert_eq!(
        sent_presence(&mut s),
        "<presence to='nurse@example.com' type='subscribed'/>"
    );
    // §3.4.2: the server records it and pushes approved='true'.
    let out = feed(
        &mut s,
        &mut t,
        "<iq id='pa1' type='set'><query xmlns='jabber:iq:roster' ver='ver20'><item jid='nurse@example.com' approved='true' subscription='none'/></query></iq>",
        now,
    );
    assert_eq!(out.sent, "<iq type='result' id='pa1'/>");
    assert!(
        matches!(&out.events[..], [Event::RosterPush { item, .. }] if item.approved && item.subscription == Subscription::None),
        "{:?}",
        out.events
    );
}

#[test]
fn results_that_are_no_roster_section_2_1_4_and_2_6_3() {
    // A result with unreadable items: the rest is read, those are kept raw,
    // and a cache does not adopt the version.
    let (mut s, now) = online(true);
    let (mut t, _) = online(true);
    let id = s.request_roster(Some(""), now).unwrap_or_default();
    t.request_roster(Some(""), now).ok();
    sent(&mut s);
    sent(&mut t);
    let result = format!(
        "<iq id='{id}' type='result'><query xmlns='jabber:iq:roster' ver='ver30'>\
           <item jid='romeo@example.net' subscription='both'/>\
           <item name='No JID'/>\
           <item jid='tybalt@example.org' subscription='remove'/>\
         </query></iq>"
    );
    let out = feed(&mut s, &mut t, &result, now);
    let [
        Event::Roster {
            roster: Some(roster),
            ..
        },
    ] = &out.events[..]
    else {
        panic!("{:?}", out.events)
    };
    assert_eq!(roster.items.len(), 1);
    assert_eq!(
        roster
            .skipped
            .iter()
            .map(|i| i.attr("jid"))
            .collect::<Vec<_>>(),
        [None, Some("tybalt@example.org")]
    );
    let mut cache = RosterCache::default();
    cache.replace(roster.clone());
    assert_eq!(cache.items.len(), 1);
    assert_eq!(cache.request_ver(), "", "the next login fetches it whole");

    // An empty result when we sent no version is not "current": it is a
    // plain result of the request.
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    let id = s.request_roster(Some("ver30"), now).unwrap_or_default();
    t.request_roster(Some("ver30"), now).ok();
    assert!(!sent(&mut s).contains("ver="), "no versioning advertised");
    sent(&mut t);
    let out = feed(
        &mut s,
        &mut t,
        &format!("<iq id='{id}' type='result'/>"),
        now,
    );
    assert!(
        matches!(&out.events[..], [Event::IqResult { id: i, payload: None, .. }] if *i == id),
        "{:?}",
        out.events
    );
    let id = s.request_roster(None, now).unwrap_or_default();
    t.request_roster(None, now).ok();
    let out = feed(
        &mut s,
        &mut t,
        &format!("<iq id='{id}' type='result'><query xmlns='jabber:iq:private'/></iq>"),
        now,
    );
    assert!(
        matches!(&out.events[..], [Event::IqResult { id: i, payload: Some(p), .. }] if *i == id && p.ns() == "jabber:iq:private"),
        "a payload in another namespace: {:?}",
        out.events
    );
}

#[test]
fn set_and_remove_section_2_3_and_2_5() {
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    let mut nurse = RosterItem::new("nurse@example.com")
        .with_name("Nurse")
        .with_groups(["Servants"]);
    nurse.subscription = Subscription::Both; // the server's business: not sent
    nurse.ask = true;
    let id = s.set_roster_item(&nurse, now).unwrap_or_default();
    t.set_roster_item(&nurse, now).ok();
    assert_eq!(
        sent(&mut s),
        format!(
            "<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse'><group>Servants</group></item></query></iq>"
        )
    );
    sent(&mut t);
    let out = feed(
        &mut s,
        &mut t,
        &format!("<iq id='{id}' type='result'/>"),
        now,
    );
    assert!(matches!(&out.events[..], [Event::IqResult { id: i, .. }] if *i == id));

    // §2.3.3: the server refuses a set; each error comes back typed.
    for (type_, condition, error_type) in [
        ("modify", "bad-request", ErrorType::Modify),
        ("modify", "not-acceptable", ErrorType::Modify),
        ("auth", "forbidden", ErrorType::Auth),
    ] {
        let long = RosterItem::new("nurse@example.com").with_name("N".repeat(2000));
        let id = s.set_roster_item(&long, now).unwrap_or_default();
        t.set_roster_item(&long, now).ok();
        sent(&mut s);
        sent(&mut t);
        let out = feed(
            &mut s,
            &mut t,
            &format!(
                "<iq id='{id}' to='juliet@example.com/balcony' type='error'><error type='{type_}'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
            ),
            now,
        );
        let [Event::IqError { id: i, error, .. }] = &out.events[..] else {
            panic!("{:?}", out.events)
        };
        assert_eq!(*i, id);
        assert_eq!(
            (error.condition.as_str(), error.type_),
            (condition, error_type)
        );
    }

    let id = s
        .remove_roster_item("nurse@example.com", now)
        .unwrap_or_default();
    t.remove_roster_item("nurse@example.com", now).ok();
    assert_eq!(
        sent(&mut s),
        format!(
            "<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query></iq>"
        )
    );
    sent(&mut t);
    // §2.5.3: removing an item that is not there is item-not-found.
    let out = feed(
        &mut s,
        &mut t,
        &format!(
            "<iq id='{id}' to='juliet@example.com/balcony' type='error'><error type='modify'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        ),
        now,
    );
    assert!(
        matches!(&out.events[..], [Event::IqError { error, .. }] if error.condition == StanzaErrorCondition::ItemNotFound),
        "{:?}",
        out.events
    );
}

#[test]
fn versioning_section_2_6() {
    let (mut s, now) = online(true);
    let (mut t, _) = online(true);
    let mut cache = RosterCache::default();
    // Bootstrap: ver=''.
    let id = s
        .request_roster(Some(cache.request_ver()), now)
        .unwrap_or_default();
    t.request_roster(Some(cache.request_ver()), now).ok();
    assert_eq!(
        sent(&mut s),
        format!("<iq type='get' id='{id}'><query xmlns='jabber:iq:roster' ver=''/></iq>")
    );
    sent(&mut t);
    let out = feed(
        &mut s,
        &mut t,
        &format!(
            "<iq id='{id}' type='result'><query xmlns='jabber:iq:roster' ver='ver14'><item jid='romeo@example.net' subscription='both'/></query></iq>"
        ),
        now,
    );
    let Some(Event::Roster {
        roster: Some(r), ..
    }) = out.events.first()
    else {
        panic!()
    };
    cache.replace(r.clone());

    // Current cache: the empty result (§2.6.3), then the pushes that follow.
    let id = s
        .request_roster(Some(cache.request_ver()), now)
        .unwrap_or_default();
    t.request_roster(Some(cache.request_ver()), now).ok();
    assert!(sent(&mut s).contains("ver='ver14'"));
    sent(&mut t);
    let out = feed(
        &mut s,
        &mut t,
        &format!(
            "<iq id='{id}' type='result'/>\
             <iq id='push1' type='set'><query xmlns='jabber:iq:roster' ver='ver15'><item jid='nurse@example.com' name='Nurse'/></query></iq>\
             <iq id='push2' type='set'><query xmlns='jabber:iq:roster' ver='ver16'><item jid='romeo@example.net' subscription='remove'/></query></iq>"
        ),
        now,
    );
    let mut events = out.events.into_iter();
    assert!(
        matches!(events.next(), Some(Event::Roster { roster: None, .. })),
        "empty result: the cache is current"
    );
    for e in events {
        if let Event::RosterPush { item, ver } = e {
            cache.apply_push(item, ver);
        }
    }
    assert_eq!(cache.ver.as_deref(), Some("ver16"));
    assert_eq!(cache.request_ver(), "ver16");
    assert_eq!(
        cache.items.keys().cloned().collect::<Vec<_>>(),
        ["nurse@example.com"]
    );
    // Plain data: it persists and restores as XML.
    assert_eq!(RosterCache::from_query(&cache.to_query()), cache);
}

#[test]
fn subscriptions_section_3() {
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    for (el, xml) in [
        (
            subscription::subscribe("romeo@example.net"),
            "<presence to='romeo@example.net' type='subscribe'/>",
        ),
        (
            subscription::subscribed("romeo@example.net"),
            "<presence to='romeo@example.net' type='subscribed'/>",
        ),
        (
            subscription::unsubscribe("romeo@example.net"),
            "<presence to='romeo@example.net' type='unsubscribe'/>",
        ),
        (
            subscription::unsubscribed("romeo@example.net"),
            "<presence to='romeo@example.net' type='unsubscribed'/>",
        ),
    ] {
        s.send(el, now).ok();
        assert_eq!(sent_presence(&mut s), xml);
    }
    // An inbound request surfaces for the application to answer; the
    // other subscription types arrive as presence.
    let out = feed(
        &mut s,
        &mut t,
        "<presence from='romeo@example.net' to='juliet@example.com' type='subscribe'/>\
         <presence from='romeo@example.net' to='juliet@example.com' type='subscribed'/>\
         <presence from='romeo@example.net' to='juliet@example.com' type='unsubscribed'/>",
        now,
    );
    assert!(
        matches!(&out.events[0], Event::SubscriptionRequest(p) if p.from().is_some_and(|a| a.as_str() == "romeo@example.net"))
    );
    assert!(matches!(&out.events[1], Event::Presence(p) if p.type_() == PresenceType::Subscribed));
    assert!(
        matches!(&out.events[2], Event::Presence(p) if p.type_() == PresenceType::Unsubscribed)
    );
}

#[test]
fn presence_section_4() {
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    let initial = PresenceBuilder::available().show(Show::Dnd).and_then(|p| {
        p.status(None, "Wooing Juliet")
            .status(Some("cs"), "Dvořím se Julii")
            .priority(1)
    });
    s.send(initial.unwrap_or_else(|e| panic!("{e}")).build(), now)
        .ok();
    assert_eq!(
        sent_presence(&mut s),
        "<presence><show>dnd</show><status>Wooing Juliet</status><status xml:lang='cs'>Dvořím se Julii</status><priority>1</priority></presence>"
    );
    s.send(
        PresenceBuilder::unavailable()
            .to("romeo@example.net")
            .build(),
        now,
    )
    .ok();
    assert_eq!(
        sent_presence(&mut s),
        "<presence to='romeo@example.net' type='unavailable'/>"
    );
    assert!(PresenceBuilder::available().priority(-129).is_err());

    let mut tracker = PresenceTracker::default();
    let out = feed(
        &mut s,
        &mut t,
        "<presence from='romeo@example.net/orchard' xml:lang='en'><show>xa</show><status>Down the garden path</status><priority>-1</priority></presence>\
         <presence from='romeo@example.net/garden'><priority>3</priority></presence>\
         <presence from='romeo@example.net/orchard' type='unavailable'/>",
        now,
    );
    for e in &out.events {
        if let Event::Presence(p) = e {
            tracker.apply(p);
        }
    }
    let Event::Presence(first) = &out.events[0] else {
        panic!()
    };
    assert_eq!(
        (
            first.show().as_deref(),
            first.priority(),
            first.status(None).as_deref()
        ),
        (Some("xa"), -1, Some("Down the garden path"))
    );
    let online: Vec<&str> = tracker
        .resources("romeo@example.net")
        .map(|(r, _)| r)
        .collect();
    assert_eq!(online, ["garden"]);

    // An out-of-range priority is told apart from an absent one, and the
    // tracker keeps the resource online with the reason visible; a case
    // variant of the address is the same contact.
    let out = feed(
        &mut s,
        &mut t,
        "<presence from='Romeo@Example.net/orchard'><show>away</show><priority>300</priority></presence>\
         <presence from='mercutio@example.com/street'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://example.com' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>",
        now,
    );
    let [Event::Presence(bad), Event::Presence(plain)] = &out.events[..] else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        bad.checked_priority(),
        Err(PriorityError::OutOfRange("300".into()))
    );
    assert_eq!(plain.checked_priority(), Ok(None));
    assert!(
        plain.payloads()[0].is("c", "http://jabber.org/protocol/caps"),
        "extended content kept (§4.7.3)"
    );
    assert!(tracker.apply(bad));
    assert!(tracker.apply(plain));
    let orchard = tracker
        .resources("romeo@example.net")
        .find(|(r, _)| *r == "orchard")
        .map(|(_, p)| p.clone());
    let orchard = orchard.unwrap_or_else(|| panic!("orchard is online"));
    assert_eq!(
        (orchard.priority, orchard.priority_error, orchard.show),
        (
            0,
            Some(PriorityError::OutOfRange("300".into())),
            Some(Show::Away)
        )
    );
    assert_eq!(
        tracker.best("romeo@example.net").map(|(r, _)| r),
        Some("garden"),
        "3 beats an invalid priority"
    );

    // A bare-JID unavailable takes every resource offline; a
    // presence error takes its sender offline.
    let out = feed(
        &mut s,
        &mut t,
        "<presence from='romeo@example.net' type='unavailable'/>\
         <presence from='mercutio@example.com/street' type='error'><error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
        now,
    );
    assert_eq!(out.events.len(), 2, "{:?}", out.events);
    for e in &out.events {
        let Event::Presence(p) = e else {
            panic!("{e:?}")
        };
        assert!(tracker.apply(p), "{p:?}");
    }
    assert!(!tracker.is_online("romeo@example.net"));
    assert!(!tracker.is_online("mercutio@example.com"));
}

#[test]
fn messages_section_5() {
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    let m = MessageBuilder::new(MessageType::Chat, "romeo@example.net")
        .id("ktx72v49")
        .subject(None, "I implore you!")
        .subject(Some("cs"), "Úpěnlivě prosím!")
        .body(None, "Wherefore art thou, Romeo?")
        .body(Some("cs"), "Proč se jmenuješ Romeo?")
        .thread("e0ffe42b28561960c6b12b944a092794b9683a38", None)
        .build();
    s.send(m, now).ok();
    assert_eq!(
        sent(&mut s),
        "<message to='romeo@example.net' id='ktx72v49' type='chat'><subject>I implore you!</subject><subject xml:lang='cs'>Úpěnlivě prosím!</subject>\
         <body>Wherefore art thou, Romeo?</body><body xml:lang='cs'>Proč se jmenuješ Romeo?</body><thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>"
    );
    let out = feed(
        &mut s,
        &mut t,
        "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' xml:lang='en'>\
           <body>Neither, fair saint, if either thee dislike.</body>\
           <thread parent='e0ffe42b28561960c6b12b944a092794b9683a38'>7edac73ab41e45c4aafa7b2d7b749080</thread>\
           <x xmlns='jabber:x:oob'><url>http://www.example.com/balcony.png</url></x>\
         </message>\
         <message from='coven@chat.shakespeare.lit/firstwitch' type='groupchat'><body>Thrice the brinded cat hath mew'd.</body></message>\
         <message from='shakespeare.lit' type='headline'><subject>Alert</subject></message>",
        now,
    );
    let messages: Vec<_> = out
        .events
        .iter()
        .filter_map(|e| {
            if let Event::Message(m) = e {
                Some(m)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[0].type_(),
        MessageType::Normal,
        "no type means normal"
    );
    assert_eq!(
        messages[0].body(Some("en")).as_deref(),
        Some("Neither, fair saint, if either thee dislike.")
    );
    assert_eq!(
        messages[0].thread(),
        Some((
            "7edac73ab41e45c4aafa7b2d7b749080".into(),
            Some("e0ffe42b28561960c6b12b944a092794b9683a38".into())
        ))
    );
    let oob = &messages[0].payloads()[0];
    assert!(
        oob.is("x", "jabber:x:oob") && oob.get_child("url", "jabber:x:oob").is_some(),
        "extensions kept intact"
    );
    assert_eq!(messages[1].type_(), MessageType::Groupchat);
    assert_eq!(messages[2].type_(), MessageType::Headline);
    assert_eq!(
        messages[2].subjects(),
        [(Some("en".into()), "Alert".into())]
    );

    // A chat, an error, and an unknown type (which is normal, §5.2.2).
    let out = feed(
        &mut s,
        &mut t,
        "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' id='c1' type='chat'><body>Art thou there?</body></message>\
         <message from='mercutio@example.com' id='ktx72v49' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>\
         <message from='romeo@example.net/orchard' type='whisper'><body>psst</body></message>",
        now,
    );
    let [
        Event::Message(chat),
        Event::Message(error),
        Event::Message(odd),
    ] = &out.events[..]
    else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        (chat.type_(), chat.body(None).as_deref()),
        (MessageType::Chat, Some("Art thou there?"))
    );
    assert_eq!(error.type_(), MessageType::Error);
    assert_eq!(error.id(), Some("ktx72v49"));
    assert_eq!(
        error.error().map(|e| e.condition),
        Some(StanzaErrorCondition::ServiceUnavailable)
    );
    assert_eq!(odd.type_(), MessageType::Normal);

    // Answering a message with an error (RFC 6120 §8.3): addresses swapped.
    let refusal = StanzaError::from_condition(StanzaErrorCondition::FeatureNotImplemented);
    let reply = MessageBuilder::error_reply(chat, refusal.clone());
    s.send(
        reply.unwrap_or_else(|| panic!("a chat can be answered")),
        now,
    )
    .ok();
    assert_eq!(
        sent(&mut s),
        "<message type='error' id='c1' to='romeo@example.net/orchard' from='juliet@example.com/balcony'>\
         <error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    );
    assert!(
        MessageBuilder::error_reply(error, refusal).is_none(),
        "an error is never answered with an error"
    );
}

/// Requests the roster on `s` and its twin `t` with `ver`, and returns the
/// request's id (the same on both: they share the seed).
fn roster_request(s: &mut Stream, t: &mut Stream, ver: Option<&str>, now: Instant) -> String {
    let id = s.request_roster(ver, now).unwrap_or_default();
    t.request_roster(ver, now).ok();
    sent(s);
    sent(t);
    id
}

#[test]
fn unknown_subscription_values_are_ignored_section_2_1_2_5() {
    let (mut s, now) = online(true);
    let (mut t, _) = online(true);
    // In a result: values other than none/to/from/both are read as absent
    // (`none`), and the item is a contact like any other.
    let id = roster_request(&mut s, &mut t, Some(""), now);
    let result = format!(
        "<iq id='{id}' type='result'><query xmlns='jabber:iq:roster' ver='ver40'>\
           <item jid='romeo@example.net' subscription='both'/>\
           <item jid='mercutio@example.com' subscription='sometimes'/>\
           <item jid='benvolio@example.net' subscription='BOTH'/>\
           <item jid='nurse@example.com' subscription=''/>\
         </query></iq>"
    );
    let out = feed(&mut s, &mut t, &result, now);
    let [
        Event::Roster {
            roster: Some(roster),
            ..
        },
    ] = &out.events[..]
    else {
        panic!("{:?}", out.events)
    };
    assert!(roster.is_complete(), "{:?}", roster.skipped);
    let subscriptions: Vec<_> = roster
        .items
        .iter()
        .map(|i| (i.jid.as_str(), i.subscription))
        .collect();
    assert_eq!(
        subscriptions,
        [
            ("romeo@example.net", Subscription::Both),
            ("mercutio@example.com", Subscription::None),
            ("benvolio@example.net", Subscription::None),
            ("nurse@example.com", Subscription::None),
        ]
    );
    let mut cache = RosterCache::default();
    cache.replace(roster.clone());
    assert_eq!(cache.request_ver(), "ver40", "a complete roster: versioned");

    // In a push: the same, and the push is acknowledged and applied (the
    // known `both` becomes `none`), not refused.
    let push = "<iq id='u1' type='set'><query xmlns='jabber:iq:roster' ver='ver41'><item jid='romeo@example.net' subscription='mutual'/></query></iq>";
    let out = feed(&mut s, &mut t, push, now);
    assert_eq!(out.sent, "<iq type='result' id='u1'/>");
    let [Event::RosterPush { item, ver }] = &out.events[..] else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        (item.jid.as_str(), item.subscription),
        ("romeo@example.net", Subscription::None)
    );
    cache.apply_push(item.clone(), ver.clone());
    assert_eq!(
        (
            cache.items["romeo@example.net"].subscription,
            cache.request_ver()
        ),
        (Subscription::None, "ver41")
    );
}

#[test]
fn items_whose_jid_is_no_jid_are_set_aside_section_2_1_2_4() {
    let (mut s, now) = online(true);
    let (mut t, _) = online(true);
    let bad = [
        "\"juliet\"@example.com",
        "@example.com",
        "a@b@c",
        "romeo@example.net/",
        "bad host@exa mple.com",
    ];
    let id = roster_request(&mut s, &mut t, Some(""), now);
    let items: String = bad
        .iter()
        .map(|j| {
            let j = j.replace('"', "&quot;");
            format!("<item jid=\"{j}\" subscription='both'/>")
        })
        .collect();
    // A domain (a gateway) and a full JID are JIDs: contacts, kept as sent.
    let result = format!(
        "<iq id='{id}' type='result'><query xmlns='jabber:iq:roster' ver='ver50'>\
           <item jid='romeo@example.net' subscription='both'/>{items}\
           <item jid='icq.example.com' subscription='both'/>\
           <item jid='Mercutio@Example.com/street'/>\
         </query></iq>"
    );
    let out = feed(&mut s, &mut t, &result, now);
    let [
        Event::Roster {
            roster: Some(roster),
            ..
        },
    ] = &out.events[..]
    else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        roster
            .items
            .iter()
            .map(|i| i.jid.as_str())
            .collect::<Vec<_>>(),
        [
            "romeo@example.net",
            "icq.example.com",
            "Mercutio@Example.com/street"
        ]
    );
    assert_eq!(
        roster
            .skipped
            .iter()
            .map(|i| i.attr("jid").unwrap_or_default())
            .collect::<Vec<_>>(),
        bad,
        "set aside as received"
    );
    let mut cache = RosterCache::default();
    cache.replace(roster.clone());
    assert_eq!(
        cache.request_ver(),
        "",
        "incomplete: the version is not adopted"
    );

    // In a push: refused with bad-request, not applied, reported with the
    // typed reason; it came from the server, so a cache goes stale.
    for (n, jid) in bad.iter().enumerate() {
        let jid = jid.replace('"', "&quot;");
        let push = format!(
            "<iq id='j{n}' type='set'><query xmlns='jabber:iq:roster' ver='ver6{n}'><item jid=\"{jid}\"/></query></iq>"
        );
        let out = feed(&mut s, &mut t, &push, now);
        assert!(
            out.sent.starts_with(&format!(
                "<iq type='error' id='j{n}'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            )),
            "{}",
            out.sent
        );
        let [Event::RosterPushRejected { reason, .. }] = &out.events[..] else {
            panic!("{:?}", out.events)
        };
        assert_eq!(
            *reason,
            RosterPushRejection::BadItem(StanzaParseError::JidMalformed {
                attr: "jid",
                value: bad[n].to_owned()
            })
        );
        assert!(reason.from_server());
    }
    // A full JID in a push is a JID: applied.
    let out = feed(
        &mut s,
        &mut t,
        "<iq id='j9' type='set'><query xmlns='jabber:iq:roster' ver='ver70'><item jid='romeo@example.net/orchard'/></query></iq>",
        now,
    );
    assert_eq!(out.sent, "<iq type='result' id='j9'/>");
    assert!(
        matches!(&out.events[..], [Event::RosterPush { item, .. }] if item.jid == "romeo@example.net/orchard")
    );
}

#[test]
fn the_current_result_names_the_version_it_confirms_section_2_6_3() {
    let (mut s, now) = online(true);
    let (mut t, _) = online(true);
    for ver in ["ver14", "", "a version with spaces & <marks>"] {
        let id = roster_request(&mut s, &mut t, Some(ver), now);
        let out = feed(
            &mut s,
            &mut t,
            &format!("<iq id='{id}' type='result'/>"),
            now,
        );
        let [
            Event::Roster {
                id: got,
                roster: None,
                request_ver: Some(confirmed),
            },
        ] = &out.events[..]
        else {
            panic!("{:?}", out.events)
        };
        assert_eq!((got.as_str(), confirmed.as_str()), (id.as_str(), ver));
    }
    // A full result says which version was asked with, too.
    let id = roster_request(&mut s, &mut t, Some("ver14"), now);
    let out = feed(
        &mut s,
        &mut t,
        &format!("<iq id='{id}' type='result'><query xmlns='jabber:iq:roster' ver='ver20'/></iq>"),
        now,
    );
    assert!(
        matches!(&out.events[..], [Event::Roster { roster: Some(r), request_ver: Some(v), .. }] if v == "ver14" && r.ver.as_deref() == Some("ver20")),
        "{:?}",
        out.events
    );
    // The hook-style API passes it on.
    struct Seen(Vec<(Option<Roster>, Option<String>)>);
    impl xmpp_sansio::hooks::Handler for Seen {
        fn on_roster(
            &mut self,
            _: &mut Stream,
            _: &str,
            roster: Option<Roster>,
            request_ver: Option<&str>,
            _: Instant,
        ) {
            self.0.push((roster, request_ver.map(str::to_owned)));
        }
    }
    let id = roster_request(&mut s, &mut t, Some("ver21"), now);
    s.handle_input(format!("<iq id='{id}' type='result'/>").as_bytes(), now)
        .ok();
    let mut seen = Seen(Vec::new());
    s.dispatch(&mut seen, now);
    assert_eq!(seen.0, [(None, Some("ver21".to_owned()))]);
}

#[test]
fn unavailable_presence_carries_no_show_or_priority_section_4_5_1() {
    // The builder refuses them, typed, whichever way unavailable was asked for.
    for unavailable in [
        PresenceBuilder::unavailable(),
        PresenceBuilder::of_type(PresenceType::Unavailable),
    ] {
        assert_eq!(
            unavailable.clone().show(Show::Away).err(),
            Some(PresenceError::NotInUnavailable("show"))
        );
        assert_eq!(
            unavailable.clone().priority(0).err(),
            Some(PresenceError::NotInUnavailable("priority"))
        );
        // Statuses are allowed (§4.5.1's own example).
        assert_eq!(
            unavailable
                .status(None, "going on vacation")
                .build()
                .to_xml(),
            "<presence xmlns='jabber:client' type='unavailable'><status>going on vacation</status></presence>"
        );
    }
    // Available and directed available presence keep them.
    for available in [
        PresenceBuilder::available(),
        PresenceBuilder::available().to("romeo@example.net"),
    ] {
        let p = available.show(Show::Away).and_then(|p| p.priority(0));
        assert!(p.is_ok(), "{p:?}");
    }
    // A hand-built element gets the same answer from send_presence, and
    // nothing is written.
    let (mut s, now) = online(false);
    for (child, text) in [("show", "away"), ("priority", "1")] {
        use xmpp_sansio::xml::{Element, ns};
        let el = Element::builder("presence", ns::JABBER_CLIENT)
            .attr("type", "unavailable")
            .child(
                Element::builder(child, ns::JABBER_CLIENT)
                    .text(text)
                    .build(),
            )
            .build();
        assert!(
            matches!(
                s.send_presence(el, now),
                Err(xmpp_sansio::UsageError::InvalidStanza(_))
            ),
            "{child}"
        );
        assert_eq!(sent(&mut s), "");
    }
}

#[test]
fn subscription_stanzas_go_to_the_bare_jid_section_3() {
    type Helper = fn(&str) -> xmpp_sansio::xml::Element;
    let helpers: [(Helper, &str); 4] = [
        (subscription::subscribe, "subscribe"),
        (subscription::subscribed, "subscribed"),
        (subscription::unsubscribe, "unsubscribe"),
        (subscription::unsubscribed, "unsubscribed"),
    ];
    for (helper, type_) in helpers {
        for (given, bare) in [
            ("romeo@example.net/orchard", "romeo@example.net"),
            (
                "romeo@example.net/orchard/with/slashes",
                "romeo@example.net",
            ),
            ("Romeo@Example.net/Orchard", "Romeo@Example.net"),
            ("romeo@example.net", "romeo@example.net"),
            ("gateway.example.com/registered", "gateway.example.com"),
        ] {
            assert_eq!(
                helper(given).to_xml(),
                format!("<presence xmlns='jabber:client' to='{bare}' type='{type_}'/>"),
                "{type_} {given}"
            );
        }
    }
    let features = xmpp_sansio::negotiation::StreamFeatures {
        pre_approval: true,
        ..Default::default()
    };
    assert_eq!(
        subscription::preapprove("nurse@example.com/chamber", &features).map(|p| p.to_xml()),
        Ok("<presence xmlns='jabber:client' to='nurse@example.com' type='subscribed'/>".to_owned())
    );
}

#[test]
fn outbound_presence_carries_an_id_section_3_1_1_and_3_2_1() {
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    let mut ids = Vec::new();
    for (el, rest) in [
        (
            subscription::subscribe("romeo@example.net/orchard"),
            "to='romeo@example.net' type='subscribe'",
        ),
        (
            subscription::subscribed("romeo@example.net"),
            "to='romeo@example.net' type='subscribed'",
        ),
        (
            subscription::unsubscribed("romeo@example.net"),
            "to='romeo@example.net' type='unsubscribed'",
        ),
        (PresenceBuilder::available().build(), ""),
        (PresenceBuilder::unavailable().build(), "type='unavailable'"),
    ] {
        let id = s.send_presence(el.clone(), now);
        let id = id.unwrap_or_else(|e| panic!("{e}"));
        assert!(!id.is_empty());
        let space = if rest.is_empty() { "" } else { " " };
        assert_eq!(sent(&mut s), format!("<presence{space}{rest} id='{id}'/>"));
        // Deterministic: a stream with the same seed gives the same ids.
        assert_eq!(t.send_presence(el, now).ok(), Some(id.clone()));
        sent(&mut t);
        ids.push(id);
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "fresh ids: {ids:?}");
    // Not shared with IQ requests either.
    let iq = s.request_roster(None, now).unwrap_or_default();
    assert!(!ids.contains(&iq), "{iq} in {ids:?}");
    sent(&mut s);

    // An id given is kept, through the builder or by hand.
    let given = PresenceBuilder::of_type(PresenceType::Subscribe)
        .to("romeo@example.net")
        .id("sub1")
        .build();
    assert_eq!(s.send_presence(given, now).ok().as_deref(), Some("sub1"));
    assert_eq!(
        sent(&mut s),
        "<presence to='romeo@example.net' id='sub1' type='subscribe'/>"
    );
    // `send` takes the same path: an id added, one given kept, and an
    // unavailable presence with <show/> refused (§4.5.1).
    s.send(subscription::subscribe("romeo@example.net"), now)
        .ok();
    let out = sent(&mut s);
    let id = out
        .split("id='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap_or_default()
        .to_owned();
    assert!(!id.is_empty() && !ids.contains(&id), "{out}");
    assert_eq!(
        out,
        format!("<presence to='romeo@example.net' type='subscribe' id='{id}'/>")
    );
    let given = PresenceBuilder::available().id("p1").build();
    assert_eq!(s.send(given, now), Ok(()));
    assert_eq!(sent(&mut s), "<presence id='p1'/>");
    let sneaky = Element::builder("presence", ns::JABBER_CLIENT)
        .attr("type", "unavailable")
        .child(
            Element::builder("show", ns::JABBER_CLIENT)
                .text("away")
                .build(),
        )
        .build();
    assert!(s.send(sneaky, now).is_err());
    assert_eq!(sent(&mut s), "");
    // Only presence.
    let message = MessageBuilder::new(MessageType::Chat, "romeo@example.net").build();
    assert!(s.send_presence(message, now).is_err());
    assert_eq!(sent(&mut s), "");
}

#[test]
fn body_and_status_fall_back_to_the_stanzas_language_section_5_2_3() {
    let (mut s, now) = online(false);
    let (mut t, _) = online(false);
    // The stanza is in English; its first body is German, the English one
    // has no xml:lang of its own (it inherits the stanza's).
    let out = feed(
        &mut s,
        &mut t,
        "<message from='romeo@example.net/orchard' xml:lang='en'>\
           <body xml:lang='de'>Wo bist du?</body><body>Where art thou?</body><body xml:lang='cs'>Kde jsi?</body>\
         </message>\
         <message from='romeo@example.net/orchard' xml:lang='cs'>\
           <body xml:lang='de'>Wo bist du?</body><body xml:lang='en'>Where art thou?</body><body xml:lang='cs'>Kde jsi?</body>\
         </message>\
         <presence from='romeo@example.net/orchard' xml:lang='en'>\
           <status xml:lang='de'>Im Garten</status><status>In the orchard</status>\
         </presence>\
         <message from='romeo@example.net/orchard'><body xml:lang='de'>Wo bist du?</body><body xml:lang='en'>Where art thou?</body></message>\
         <message from='romeo@example.net/orchard' xml:lang='it'><body xml:lang='de'>Wo bist du?</body><body xml:lang='cs'>Kde jsi?</body></message>",
        now,
    );
    let [
        Event::Message(en),
        Event::Message(cs),
        Event::Presence(p),
        Event::Message(inherited),
        Event::Message(it),
    ] = &out.events[..]
    else {
        panic!("{:?}", out.events)
    };
    // The language asked for wins.
    assert_eq!(en.body(Some("de")).as_deref(), Some("Wo bist du?"));
    assert_eq!(en.body(Some("cs")).as_deref(), Some("Kde jsi?"));
    // Otherwise the stanza's own language, not the first body.
    assert_eq!(en.body(Some("fr")).as_deref(), Some("Where art thou?"));
    assert_eq!(en.body(None).as_deref(), Some("Where art thou?"));
    assert_eq!(cs.body(Some("fr")).as_deref(), Some("Kde jsi?"));
    assert_eq!(cs.body(None).as_deref(), Some("Kde jsi?"));
    assert_eq!(p.status(Some("fr")).as_deref(), Some("In the orchard"));
    assert_eq!(p.status(None).as_deref(), Some("In the orchard"));
    // A stanza without xml:lang is in the stream's language (here 'en',
    // RFC 6120 §4.7.4).
    assert_eq!(
        inherited.body(Some("fr")).as_deref(),
        Some("Where art thou?")
    );
    // No body in the asked or the stanza's language: the first.
    assert_eq!(it.body(Some("fr")).as_deref(), Some("Wo bist du?"));
    assert_eq!(it.body(None).as_deref(), Some("Wo bist du?"));
}

#[test]
fn only_ask_subscribe_means_pending_appendix_d() {
    let (mut s, now) = online(true);
    let (mut t, _) = online(true);
    let asks = [
        (Some("subscribe"), true),
        // RFC 3921 also had ask='unsubscribe'; RFC 6121's schema has only
        // 'subscribe' (Appendix D): anything else is not pending.
        (Some("unsubscribe"), false),
        (Some("Subscribe"), false),
        (Some("true"), false),
        (Some(""), false),
        (None, false),
    ];
    let item = |n: usize, ask: Option<&str>| match ask {
        Some(a) => format!("<item jid='c{n}@example.net' ask='{a}'/>"),
        None => format!("<item jid='c{n}@example.net'/>"),
    };
    let id = roster_request(&mut s, &mut t, Some(""), now);
    let items: String = asks
        .iter()
        .enumerate()
        .map(|(n, (a, _))| item(n, *a))
        .collect();
    let out = feed(
        &mut s,
        &mut t,
        &format!(
            "<iq id='{id}' type='result'><query xmlns='jabber:iq:roster' ver='v1'>{items}</query></iq>"
        ),
        now,
    );
    let [
        Event::Roster {
            roster: Some(roster),
            ..
        },
    ] = &out.events[..]
    else {
        panic!("{:?}", out.events)
    };
    assert_eq!(
        roster.items.iter().map(|i| i.ask).collect::<Vec<_>>(),
        asks.iter().map(|(_, pending)| *pending).collect::<Vec<_>>()
    );
    // The same in pushes.
    for (n, (ask, pending)) in asks.iter().enumerate() {
        let push = format!(
            "<iq id='a{n}' type='set'><query xmlns='jabber:iq:roster'>{}</query></iq>",
            item(n, *ask)
        );
        let out = feed(&mut s, &mut t, &push, now);
        assert!(
            matches!(&out.events[..], [Event::RosterPush { item, .. }] if item.ask == *pending),
            "{ask:?}: {:?}",
            out.events
        );
    }
}
