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
                self.clients[i].events,
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
