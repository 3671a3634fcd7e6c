//! The router of `examples/support/router.rs`: several client `Stream`s
//! connected in memory to server `Stream`s through it, running the IM
//! features end to end (RFC 6121) with no external server, the bytes cut
//! in several chunk sizes both ways.
#![allow(clippy::disallowed_methods)] // one real instant per test, then virtual

#[path = "../examples/support/router.rs"]
mod router;

use std::time::Instant;

use router::{Notice, Router, SessionId};
use xmpp_sansio::im::{PresenceBuilder, RosterItem, Subscription, subscription};
use xmpp_sansio::sasl::ChannelBinding;
use xmpp_sansio::stanza::{Message, MessageType, PresenceType, StanzaErrorCondition, StanzaView};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{ClientConfig, Event, ServerConfig, State, Stream};

const DOMAIN: &str = "example.com";

/// One client and its end of the in-memory connection.
struct Client {
    stream: Stream,
    session: SessionId,
    /// Events not yet taken by the test.
    events: Vec<Event>,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
}

/// A router and its clients; bytes move in `chunk`-sized pieces (0: whole).
struct Net {
    router: Router,
    clients: Vec<Client>,
    now: Instant,
    chunk: usize,
    log: Vec<String>,
}

impl Net {
    fn new(chunk: usize) -> Self {
        let mut config = ServerConfig::new(DOMAIN, *b"router test fake-salt secret", [0; 32]);
        config.scram_iterations = 64;
        let mut router = Router::new(config);
        for (user, pw) in [
            ("alice", "alice-pw"),
            ("bob", "bob-pw"),
            ("carol", "carol-pw"),
        ] {
            router
                .add_account(user, pw, format!("salt-{user}").as_bytes(), 64)
                .unwrap();
        }
        Self {
            router,
            clients: Vec::new(),
            now: Instant::now(),
            chunk,
            log: Vec::new(),
        }
    }

    /// Connects `user` with `resource`; returns the client's index once
    /// the stream is online (STARTTLS, SCRAM, bind).
    fn login(&mut self, user: &str, resource: &str) -> usize {
        let i = self.connect(user, Some(resource));
        self.drive();
        assert_eq!(
            self.clients[i].stream.state(),
            State::Online,
            "{user} online"
        );
        let jid = format!("{user}@{DOMAIN}/{resource}");
        assert!(
            self.take(i, |e| matches!(e, Event::Online { jid: j } if *j == jid)),
            "{user}: Online {{ {jid} }}"
        );
        i
    }

    fn connect(&mut self, user: &str, resource: Option<&str>) -> usize {
        let n = self.clients.len() as u8;
        let mut config = ClientConfig::new(
            format!("{user}@{DOMAIN}"),
            format!("{user}-pw"),
            [n + 1; 32],
        );
        config.resource = resource.map(str::to_owned);
        let mut stream = Stream::client(config);
        stream.start(self.now).unwrap();
        let session = self.router.accept([n + 100; 32], self.now);
        self.clients.push(Client {
            stream,
            session,
            events: Vec::new(),
            to_server: Vec::new(),
            to_client: Vec::new(),
        });
        self.clients.len() - 1
    }

    fn cut(&self, len: usize) -> usize {
        if self.chunk == 0 {
            len
        } else {
            self.chunk.min(len)
        }
    }

    /// Moves bytes every way until nobody has anything to say.
    fn drive(&mut self) {
        for _ in 0..1_000_000 {
            let mut moved = false;
            for i in 0..self.clients.len() {
                let c = &mut self.clients[i];
                while let Some(b) = c.stream.poll_transmit() {
                    c.to_server.extend_from_slice(&b);
                }
                while let Some(e) = c.stream.poll_event() {
                    if e == Event::StartTls {
                        c.stream
                            .tls_established(ChannelBinding::None, self.now)
                            .unwrap();
                    }
                    c.events.push(e);
                    moved = true;
                }
                while let Some(b) = self.router.poll_transmit(c.session) {
                    c.to_client.extend_from_slice(&b);
                }
            }
            while let Some(n) = self.router.poll_notice() {
                match n {
                    Notice::StartTls(id) => {
                        // What the session queued (`<proceed/>`) goes out first.
                        if let Some(c) = self.clients.iter_mut().find(|c| c.session == id) {
                            while let Some(b) = self.router.poll_transmit(id) {
                                c.to_client.extend_from_slice(&b);
                            }
                        }
                        self.router
                            .tls_established(id, ChannelBinding::None, self.now)
                    }
                    Notice::Closed(id) => {
                        if let Some(c) = self.clients.iter_mut().find(|c| c.session == id) {
                            while let Some(b) = self.router.poll_transmit(id) {
                                c.to_client.extend_from_slice(&b);
                            }
                        }
                        self.router.remove(id);
                    }
                    Notice::Log(id, text) => self.log.push(format!("{id}: {text}")),
                }
                moved = true;
            }
            for i in 0..self.clients.len() {
                if !self.clients[i].to_server.is_empty() {
                    let n = self.cut(self.clients[i].to_server.len());
                    let chunk: Vec<u8> = self.clients[i].to_server.drain(..n).collect();
                    let id = self.clients[i].session;
                    self.router.handle_input(id, &chunk, self.now);
                    moved = true;
                }
                if !self.clients[i].to_client.is_empty() {
                    let n = self.cut(self.clients[i].to_client.len());
                    let chunk: Vec<u8> = self.clients[i].to_client.drain(..n).collect();
                    let _ = self.clients[i].stream.handle_input(&chunk, self.now);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the network never went quiet");
    }

    /// Takes the first event of client `i` that `pred` accepts.
    fn take(&mut self, i: usize, pred: impl Fn(&Event) -> bool) -> bool {
        let events = &mut self.clients[i].events;
        match events.iter().position(pred) {
            Some(p) => {
                events.remove(p);
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, i: usize, what: &str, pred: impl Fn(&Event) -> bool) {
        self.drive();
        if !self.take(i, pred) {
            panic!(
                "client {i}: expected {what}; has {:#?}\nrouter log:\n{}",
                self.clients[i]
                    .events
                    .iter()
                    .filter(|e| !matches!(e, Event::StreamHeader(_) | Event::Features(_)))
                    .collect::<Vec<_>>(),
                self.log.join("\n")
            );
        }
    }

    /// Client `i` has no event `pred` accepts.
    fn expect_none(&mut self, i: usize, what: &str, pred: impl Fn(&Event) -> bool) {
        self.drive();
        if let Some(e) = self.clients[i].events.iter().find(|e| pred(e)) {
            panic!("client {i}: unexpected {what}: {e:?}");
        }
    }

    fn s(&mut self, i: usize) -> &mut Stream {
        &mut self.clients[i].stream
    }

    fn roster(&mut self, i: usize) -> Vec<RosterItem> {
        let now = self.now;
        let id = self.s(i).request_roster(None, now).unwrap();
        self.drive();
        let events = &mut self.clients[i].events;
        let p = events
            .iter()
            .position(|e| matches!(e, Event::Roster { id: r, .. } if *r == id))
            .expect("roster result");
        match events.remove(p) {
            Event::Roster { roster, .. } => roster.unwrap_or_default().items,
            _ => unreachable!(),
        }
    }

    fn send(&mut self, i: usize, el: impl Into<Element>) {
        let now = self.now;
        self.s(i).send(el, now).unwrap();
        self.drive();
    }

    fn presence(&mut self, i: usize, el: Element) {
        let now = self.now;
        self.s(i).send_presence(el, now).unwrap();
        self.drive();
    }

    fn clear(&mut self) {
        self.drive();
        for c in &mut self.clients {
            c.events.clear();
        }
    }
}

fn push_of(jid: &str, sub: Subscription, ask: bool) -> impl Fn(&Event) -> bool {
    let jid = jid.to_owned();
    move |e| {
        matches!(e, Event::RosterPush { item, .. }
            if item.jid == jid && item.subscription == sub && item.ask == ask)
    }
}

fn presence_from(from: &str, type_: PresenceType) -> impl Fn(&Event) -> bool {
    let from = from.to_owned();
    move |e| {
        matches!(e, Event::Presence(p)
            if p.type_() == type_ && p.from().is_some_and(|f| f.as_str() == from))
    }
}

fn subscription_request(from: &str) -> impl Fn(&Event) -> bool {
    let from = from.to_owned();
    move |e| matches!(e, Event::SubscriptionRequest(p) if p.from().is_some_and(|f| f.as_str() == from))
}

fn chat_from(from: &str, body: &str) -> impl Fn(&Event) -> bool {
    let (from, body) = (from.to_owned(), body.to_owned());
    move |e| {
        matches!(e, Event::Message(m)
            if m.from().is_some_and(|f| f.as_str() == from) && m.body(None).as_deref() == Some(body.as_str()))
    }
}

fn message_error(condition: StanzaErrorCondition) -> impl Fn(&Event) -> bool {
    move |e| {
        matches!(e, Event::Message(m)
            if m.type_() == MessageType::Error && m.error().is_some_and(|err| err.condition == condition))
    }
}

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const ALICE_FULL: &str = "alice@example.com/desk";
const BOB_FULL: &str = "bob@example.com/phone";

/// The whole IM scenario between alice and bob.
fn scenario(chunk: usize) {
    let mut net = Net::new(chunk);
    let a = net.login("alice", "desk");
    let b = net.login("bob", "phone");
    assert!(net.roster(a).is_empty());
    assert!(net.roster(b).is_empty());
    net.presence(a, PresenceBuilder::available().build());
    net.presence(b, PresenceBuilder::available().build());
    // Each sees its own initial presence (RFC 6121 §4.2.2), nobody else's.
    net.expect(
        a,
        "own presence",
        presence_from(ALICE_FULL, PresenceType::Available),
    );
    net.expect_none(
        b,
        "alice's presence",
        presence_from(ALICE_FULL, PresenceType::Available),
    );
    net.clear();

    // Roster set → push to the interested resource.
    let now = net.now;
    net.s(a)
        .set_roster_item(
            &RosterItem::new(BOB)
                .with_name("Bob")
                .with_groups(["Friends"]),
            now,
        )
        .unwrap();
    net.expect(a, "the push of bob's item", move |e| {
        matches!(e, Event::RosterPush { item, ver: Some(_) }
            if item.jid == BOB && item.name.as_deref() == Some("Bob")
                && item.groups.contains("Friends") && item.subscription == Subscription::None)
    });
    net.expect(a, "the set's result", |e| {
        matches!(e, Event::IqResult { .. })
    });

    // alice → bob: subscribe; pending out; bob is asked; bob approves.
    net.presence(a, subscription::subscribe(BOB));
    net.expect(
        a,
        "ask=subscribe push",
        push_of(BOB, Subscription::None, true),
    );
    net.expect(b, "the request", subscription_request(ALICE));
    net.presence(b, subscription::subscribed(ALICE));
    net.expect(b, "from push", push_of(ALICE, Subscription::From, false));
    net.expect(a, "to push", push_of(BOB, Subscription::To, false));
    net.expect(
        a,
        "subscribed",
        presence_from(BOB, PresenceType::Subscribed),
    );
    // §3.1.5: alice now gets bob's current presence.
    net.expect(
        a,
        "bob's presence",
        presence_from(BOB_FULL, PresenceType::Available),
    );
    net.clear();

    // bob → alice: subscribe back; both.
    net.presence(b, subscription::subscribe(ALICE));
    net.expect(b, "ask push", push_of(ALICE, Subscription::From, true));
    net.expect(a, "the request", subscription_request(BOB));
    net.presence(a, subscription::subscribed(BOB));
    net.expect(a, "both push", push_of(BOB, Subscription::Both, false));
    net.expect(b, "both push", push_of(ALICE, Subscription::Both, false));
    net.expect(
        b,
        "alice's presence",
        presence_from(ALICE_FULL, PresenceType::Available),
    );
    assert_eq!(
        net.router.roster("alice")[0].subscription,
        Subscription::Both
    );
    net.clear();

    // Presence seen by the contact: an update reaches the subscriber.
    net.presence(
        b,
        PresenceBuilder::available()
            .status(None, "in the orchard")
            .build(),
    );
    net.expect(a, "bob's update", move |e| {
        matches!(e, Event::Presence(p) if p.from().is_some_and(|f| f.as_str() == BOB_FULL)
            && p.status(None).as_deref() == Some("in the orchard"))
    });

    // Chat each way: to the bare JID, answered to the full JID.
    net.send(a, Message::chat(BOB, "hello bob"));
    net.expect(b, "alice's chat", chat_from(ALICE_FULL, "hello bob"));
    net.send(b, Message::chat(ALICE_FULL, "hello alice"));
    net.expect(a, "bob's chat", chat_from(BOB_FULL, "hello alice"));

    // Removal: both subscriptions cancelled, pushes to both.
    net.clear();
    let now = net.now;
    net.s(a).remove_roster_item(BOB, now).unwrap();
    net.expect(a, "remove push", push_of(BOB, Subscription::Remove, false));
    net.expect(b, "none push", push_of(ALICE, Subscription::None, false));
    net.expect(
        b,
        "alice unavailable",
        presence_from(ALICE_FULL, PresenceType::Unavailable),
    );
    assert!(net.roster(a).is_empty());
    // The router keeps bob's item for alice, with no subscription.
    let items = net.roster(b);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].subscription, Subscription::None);

    // A chat to a bare JID still reaches an available resource.
    net.send(a, Message::chat(BOB, "still there?"));
    net.expect(
        b,
        "chat without subscription",
        chat_from(ALICE_FULL, "still there?"),
    );

    // Close: both streams end cleanly.
    let now = net.now;
    net.s(a).close(now);
    net.s(b).close(now);
    net.expect(a, "closed", |e| {
        matches!(e, Event::Closed { error: None, .. })
    });
    net.expect(b, "closed", |e| {
        matches!(e, Event::Closed { error: None, .. })
    });
    assert!(net.router.session_ids().is_empty(), "sessions forgotten");
}

#[test]
fn im_scenario_whole() {
    scenario(0);
}

#[test]
fn im_scenario_one_byte() {
    scenario(1);
}

#[test]
fn im_scenario_odd_chunks() {
    for chunk in [2, 7, 64, 1000] {
        scenario(chunk);
    }
}

/// alice and bob logged in, available, subscribed both ways.
fn friends(chunk: usize) -> (Net, usize, usize) {
    let mut net = Net::new(chunk);
    let a = net.login("alice", "desk");
    let b = net.login("bob", "phone");
    net.roster(a);
    net.roster(b);
    net.presence(a, PresenceBuilder::available().build());
    net.presence(b, PresenceBuilder::available().build());
    for (x, y, yj, xj) in [(a, b, BOB, ALICE), (b, a, ALICE, BOB)] {
        net.presence(x, subscription::subscribe(yj));
        net.presence(y, subscription::subscribed(xj));
    }
    assert_eq!(
        net.router.roster("alice")[0].subscription,
        Subscription::Both
    );
    assert_eq!(net.router.roster("bob")[0].subscription, Subscription::Both);
    net.clear();
    (net, a, b)
}

#[test]
fn messages_nobody_can_take_bounce_with_the_rfc_conditions() {
    let mut net = Net::new(0);
    let a = net.login("alice", "desk");
    let b = net.login("bob", "phone");
    // RFC 6121 §8.5.1: no such account.
    net.send(a, Message::chat("nobody@example.com", "hi"));
    net.expect(
        a,
        "service-unavailable (no account)",
        message_error(StanzaErrorCondition::ServiceUnavailable),
    );
    // §8.5.2.2.1: bob exists but sent no presence (no offline storage).
    net.send(a, Message::chat(BOB, "hi"));
    net.expect(
        a,
        "service-unavailable (not available)",
        message_error(StanzaErrorCondition::ServiceUnavailable),
    );
    net.expect_none(b, "a message", |e| matches!(e, Event::Message(_)));
    // §8.5.3.2.1: a normal message to a resource that is not there.
    net.send(
        a,
        Message::new(
            MessageType::Normal,
            Some("bob@example.com/nowhere"),
            Some("hi"),
        ),
    );
    net.expect(
        a,
        "service-unavailable (no resource)",
        message_error(StanzaErrorCondition::ServiceUnavailable),
    );
    // …while a full JID that is connected gets it, available or not (§8.5.3.1).
    net.send(a, Message::chat(BOB_FULL, "direct"));
    net.expect(b, "direct chat", chat_from(ALICE_FULL, "direct"));
    // Groupchat to a bare JID is never delivered (§8.5.2.1.1).
    net.presence(b, PresenceBuilder::available().build());
    net.send(
        a,
        Message::new(MessageType::Groupchat, Some(BOB), Some("room?")),
    );
    net.expect(
        a,
        "service-unavailable (groupchat)",
        message_error(StanzaErrorCondition::ServiceUnavailable),
    );
    // No server-to-server: another domain is not found.
    net.send(a, Message::chat("romeo@example.net", "hi"));
    net.expect(
        a,
        "remote-server-not-found",
        message_error(StanzaErrorCondition::RemoteServerNotFound),
    );
    // An error is never answered with an error.
    net.clear();
    net.send(
        a,
        Message::new(MessageType::Error, Some("nobody@example.com"), None),
    );
    net.expect_none(a, "a bounce of an error", |e| {
        matches!(e, Event::Message(_))
    });
}

#[test]
fn a_chat_to_a_missing_resource_goes_to_the_bare_jid() {
    let mut net = Net::new(0);
    let a = net.login("alice", "desk");
    let b = net.login("bob", "phone");
    net.presence(b, PresenceBuilder::available().build());
    net.send(a, Message::chat("bob@example.com/gone", "anyone?"));
    net.expect(b, "the chat", chat_from(ALICE_FULL, "anyone?"));
}

#[test]
fn bare_jid_messages_go_to_the_highest_priority_and_never_to_negative_ones() {
    let mut net = Net::new(3);
    let a = net.login("alice", "desk");
    let b1 = net.login("bob", "phone");
    let b2 = net.login("bob", "laptop");
    let b3 = net.login("bob", "pager");
    net.presence(
        b1,
        PresenceBuilder::available().priority(1).unwrap().build(),
    );
    net.presence(
        b2,
        PresenceBuilder::available().priority(5).unwrap().build(),
    );
    net.presence(
        b3,
        PresenceBuilder::available().priority(-1).unwrap().build(),
    );
    net.clear();
    net.send(a, Message::chat(BOB, "to the most available"));
    net.expect(
        b2,
        "the chat",
        chat_from(ALICE_FULL, "to the most available"),
    );
    net.expect_none(b1, "the chat", |e| matches!(e, Event::Message(_)));
    // Headlines go to every non-negative resource.
    net.send(
        a,
        Message::new(MessageType::Headline, Some(BOB), Some("news")),
    );
    net.expect(
        b1,
        "headline",
        |e| matches!(e, Event::Message(m) if m.type_() == MessageType::Headline),
    );
    net.expect(
        b2,
        "headline",
        |e| matches!(e, Event::Message(m) if m.type_() == MessageType::Headline),
    );
    net.expect_none(b3, "anything", |e| matches!(e, Event::Message(_)));
    // Only negative resources left: as if none were available.
    let now = net.now;
    net.s(b1).close(now);
    net.s(b2).close(now);
    net.drive();
    net.send(a, Message::chat(BOB, "hello?"));
    net.expect(
        a,
        "service-unavailable",
        message_error(StanzaErrorCondition::ServiceUnavailable),
    );
    net.expect_none(b3, "the chat", |e| matches!(e, Event::Message(_)));
}

#[test]
fn a_resource_in_use_is_refused_with_conflict() {
    let mut net = Net::new(0);
    let first = net.login("alice", "desk");
    let second = net.connect("alice", Some("desk"));
    net.drive();
    assert!(
        net.take(second, |e| matches!(e, Event::BindFailed { error, .. }
            if error.condition == StanzaErrorCondition::Conflict)),
        "{:?}",
        net.clients[second].events
    );
    // The first session is untouched.
    assert_eq!(net.s(first).state(), State::Online);
    // The stream's default: retry with a server-generated resource.
    assert_eq!(net.s(second).state(), State::Online);
    assert_ne!(net.s(second).bound_jid(), Some(ALICE_FULL));
}

#[test]
fn removing_an_item_not_in_the_roster_is_item_not_found() {
    let mut net = Net::new(0);
    let a = net.login("alice", "desk");
    let now = net.now;
    let id = net.s(a).remove_roster_item(BOB, now).unwrap();
    net.expect(a, "item-not-found", move |e| {
        matches!(e, Event::IqError { id: i, error, .. }
            if *i == id && error.condition == StanzaErrorCondition::ItemNotFound)
    });
}

#[test]
fn roster_sets_are_checked() {
    let mut net = Net::new(0);
    let a = net.login("alice", "desk");
    let b = net.login("bob", "phone");
    net.roster(b);
    let now = net.now;
    // Two items: bad-request (RFC 6121 §2.3.3).
    let two = Element::builder("query", "jabber:iq:roster")
        .child(RosterItem::new(BOB).to_element())
        .child(RosterItem::new("carol@example.com").to_element())
        .build();
    let id = net
        .s(a)
        .send_iq(xmpp_sansio::stanza::IqType::Set, None, two, now)
        .unwrap();
    net.expect(a, "bad-request", move |e| {
        matches!(e, Event::IqError { id: i, error, .. } if *i == id && error.condition == StanzaErrorCondition::BadRequest)
    });
    // Someone else's roster: forbidden (§2.1.5 security note, §2.3.3).
    let one = Element::builder("query", "jabber:iq:roster")
        .child(RosterItem::new("carol@example.com").to_element())
        .build();
    let id = net
        .s(a)
        .send_iq(xmpp_sansio::stanza::IqType::Set, Some(BOB), one, now)
        .unwrap();
    net.expect(a, "forbidden", move |e| {
        matches!(e, Event::IqError { id: i, error, .. } if *i == id && error.condition == StanzaErrorCondition::Forbidden)
    });
    net.expect_none(b, "a push", |e| matches!(e, Event::RosterPush { .. }));
    assert!(net.router.roster("bob").is_empty());
}

#[test]
fn roster_versioning_answers_a_current_version_with_an_empty_result() {
    let mut net = Net::new(0);
    let a = net.login("alice", "desk");
    assert!(net.s(a).features().unwrap().roster_versioning);
    let now = net.now;
    net.s(a)
        .set_roster_item(&RosterItem::new(BOB), now)
        .unwrap();
    net.drive();
    let id = net.s(a).request_roster(Some(""), now).unwrap();
    net.drive();
    let ver = net.clients[a]
        .events
        .iter()
        .find_map(|e| match e {
            Event::Roster {
                id: i,
                roster: Some(r),
                ..
            } if *i == id => r.ver.clone(),
            _ => None,
        })
        .expect("a versioned roster");
    let id = net.s(a).request_roster(Some(&ver), now).unwrap();
    net.expect(
        a,
        "the empty result",
        move |e| matches!(e, Event::Roster { id: i, roster: None, .. } if *i == id),
    );
}

#[test]
fn pushes_reach_every_interested_resource_and_only_those() {
    let mut net = Net::new(0);
    let a1 = net.login("alice", "desk");
    let a2 = net.login("alice", "phone");
    let a3 = net.login("alice", "watch"); // never asks for the roster
    net.roster(a1);
    net.roster(a2);
    let now = net.now;
    net.s(a1)
        .set_roster_item(&RosterItem::new(BOB), now)
        .unwrap();
    net.expect(a1, "push", push_of(BOB, Subscription::None, false));
    net.expect(a2, "push", push_of(BOB, Subscription::None, false));
    net.expect_none(a3, "push", |e| matches!(e, Event::RosterPush { .. }));
}

#[test]
fn initial_presence_probes_contacts_and_redelivers_pending_requests() {
    let (mut net, a, b) = friends(5);
    // bob leaves; alice sees him go (§4.5.2: the server says so for him).
    net.clients[b].to_server.clear();
    let session = net.clients[b].session;
    net.router.handle_eof(session, net.now);
    net.expect(
        a,
        "bob unavailable",
        presence_from(BOB_FULL, PresenceType::Unavailable),
    );
    // carol asks alice while alice's second resource is offline.
    let c = net.login("carol", "home");
    net.presence(c, subscription::subscribe(ALICE));
    net.expect(
        a,
        "carol's request",
        subscription_request("carol@example.com"),
    );
    // bob comes back: his initial presence probes alice (§4.3).
    let b2 = net.login("bob", "tablet");
    net.presence(b2, PresenceBuilder::available().build());
    net.expect(
        b2,
        "alice's presence, probed",
        presence_from(ALICE_FULL, PresenceType::Available),
    );
    net.expect(
        a,
        "bob's presence",
        presence_from("bob@example.com/tablet", PresenceType::Available),
    );
    // A second resource of alice: carol's request again (§3.1.3).
    let a2 = net.login("alice", "phone");
    net.presence(a2, PresenceBuilder::available().build());
    net.expect(
        a2,
        "carol's request again",
        subscription_request("carol@example.com"),
    );
    net.expect(
        a2,
        "bob's presence, probed",
        presence_from("bob@example.com/tablet", PresenceType::Available),
    );
    // alice's first resource sees the second come online (§4.2.2).
    net.expect(
        a,
        "own other resource",
        presence_from("alice@example.com/phone", PresenceType::Available),
    );
}

#[test]
fn a_denied_request_leaves_no_subscription() {
    let mut net = Net::new(0);
    let a = net.login("alice", "desk");
    let b = net.login("bob", "phone");
    net.roster(a);
    net.presence(a, PresenceBuilder::available().build());
    net.presence(b, PresenceBuilder::available().build());
    net.presence(a, subscription::subscribe(BOB));
    net.expect(a, "ask push", push_of(BOB, Subscription::None, true));
    net.presence(b, subscription::unsubscribed(ALICE));
    net.expect(a, "ask cleared", push_of(BOB, Subscription::None, false));
    net.expect(
        a,
        "unsubscribed",
        presence_from(BOB, PresenceType::Unsubscribed),
    );
    // An approval now, with no request pending, changes nothing (§3.1.5).
    net.presence(b, subscription::subscribed(ALICE));
    net.expect_none(a, "a push", |e| matches!(e, Event::RosterPush { .. }));
    assert_eq!(
        net.router.roster("alice")[0].subscription,
        Subscription::None
    );
    assert!(net.router.roster("bob").is_empty());
}

#[test]
fn unsubscribe_and_unsubscribed_cancel_one_direction_each() {
    let (mut net, a, b) = friends(0);
    // alice stops watching bob (§3.3): both → from at alice, both → to at bob.
    net.presence(a, subscription::unsubscribe(BOB));
    net.expect(a, "from push", push_of(BOB, Subscription::From, false));
    net.expect(b, "to push", push_of(ALICE, Subscription::To, false));
    net.expect(
        b,
        "the unsubscribe",
        presence_from(ALICE, PresenceType::Unsubscribe),
    );
    net.expect(
        a,
        "bob unavailable to alice",
        presence_from(BOB_FULL, PresenceType::Unavailable),
    );
    // bob's presence no longer reaches alice; alice's still reaches bob.
    net.presence(b, PresenceBuilder::available().status(None, "x").build());
    net.expect_none(
        a,
        "bob's update",
        presence_from(BOB_FULL, PresenceType::Available),
    );
    net.presence(a, PresenceBuilder::available().status(None, "y").build());
    net.expect(
        b,
        "alice's update",
        presence_from(ALICE_FULL, PresenceType::Available),
    );
    // alice cancels bob's subscription (§3.2): none both sides.
    net.presence(a, subscription::unsubscribed(BOB));
    net.expect(a, "none push", push_of(BOB, Subscription::None, false));
    net.expect(b, "none push", push_of(ALICE, Subscription::None, false));
    net.expect(
        b,
        "alice unavailable to bob",
        presence_from(ALICE_FULL, PresenceType::Unavailable),
    );
    net.expect(
        b,
        "unsubscribed",
        presence_from(ALICE, PresenceType::Unsubscribed),
    );
}

#[test]
fn iqs_route_to_full_jids_that_share_presence_and_back() {
    let (mut net, a, b) = friends(4);
    let c = net.login("carol", "home");
    let now = net.now;
    // alice pings bob's resource; bob's client answers; alice gets the pong.
    let id = net.s(a).ping(Some(BOB_FULL), now).unwrap();
    net.expect(
        a,
        "pong from bob",
        move |e| matches!(e, Event::Pong { id: i, from: Some(f), .. } if *i == id && f == BOB_FULL),
    );
    // carol shares nothing with bob: service-unavailable (§8.5.3.1).
    let id = net.s(c).ping(Some(BOB_FULL), now).unwrap();
    net.expect(c, "service-unavailable", move |e| {
        matches!(e, Event::IqError { id: i, error, .. }
            if *i == id && error.condition == StanzaErrorCondition::ServiceUnavailable)
    });
    // A bare JID: the server answers for the account (§8.5.2.1.3).
    let id = net.s(a).ping(Some(BOB), now).unwrap();
    net.expect(a, "service-unavailable", move |e| {
        matches!(e, Event::IqError { id: i, error, .. }
            if *i == id && error.condition == StanzaErrorCondition::ServiceUnavailable)
    });
    net.expect_none(b, "a request", |e| matches!(e, Event::IqRequest(_)));
    // The server itself answers pings and disco#info.
    let id = net.s(a).ping(None, now).unwrap();
    net.expect(
        a,
        "pong from the server",
        move |e| matches!(e, Event::Pong { id: i, .. } if *i == id),
    );
    let disco = Element::new("query", "http://jabber.org/protocol/disco#info");
    let id = net
        .s(a)
        .send_iq(xmpp_sansio::stanza::IqType::Get, Some(DOMAIN), disco, now)
        .unwrap();
    net.expect(a, "disco#info", move |e| {
        matches!(e, Event::IqResult { id: i, payload: Some(p), .. }
            if *i == id && p.children().any(|c| c.attr("var") == Some("urn:xmpp:ping")))
    });
}
