//! Two clients and an embedded server in one process, over real loopback
//! TCP sockets with real TLS: the whole of XMPP IM, with no setup.
//!
//! ```sh
//! cargo run --example demo
//! ```
//!
//! At start-up it makes a throwaway CA and a certificate for `localhost`
//! (rcgen), starts the router (`support/router.rs`) on 127.0.0.1 with
//! STARTTLS required (rustls as the server, `support/serve.rs`) and two
//! accounts, then connects alice and bob (rustls as the client,
//! `support/blocking.rs`), and prints what happens: headers, features,
//! STARTTLS, the SCRAM mechanism, bind, roster set and push, the
//! subscription handshake both ways, presence, a chat message each way,
//! the close. Each expected event is awaited with a timeout; any step
//! that does not happen exits with status 1, naming it.
#![allow(clippy::disallowed_methods)] // a real program reads the real clock

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/router.rs"]
mod router;
#[path = "support/serve.rs"]
mod serve;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blocking::{Connection, Options};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use xmpp_sansio::im::{PresenceBuilder, RosterItem, Subscription, subscription};
use xmpp_sansio::stanza::{Message, PresenceType, StanzaView};
use xmpp_sansio::{ClientConfig, Event, ServerConfig};

const DOMAIN: &str = "localhost";
const STEP: Duration = Duration::from_secs(3);

type Failure = String;

/// Prints a line with the time since start.
struct Narrator {
    t0: Instant,
}

impl Narrator {
    fn say(&self, who: &str, text: &str) {
        println!(
            "[{:7.1} ms] {who:<6} {text}",
            self.t0.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// A client and the events it has seen but nobody asked for yet.
struct Client {
    name: &'static str,
    conn: Connection,
    inbox: Vec<Event>,
}

impl Client {
    /// Waits for the first event `pred` accepts (one seen earlier counts).
    fn expect(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Result<Event, Failure> {
        if let Some(i) = self.inbox.iter().position(&pred) {
            return Ok(self.inbox.remove(i));
        }
        let inbox = &mut self.inbox;
        self.conn
            .run_until(STEP, |_, e| {
                if pred(e) {
                    Some(e.clone())
                } else {
                    inbox.push(e.clone());
                    None
                }
            })
            .map_err(|e| format!("{}: {what}: {e}", self.name))
    }

    fn now() -> Instant {
        Instant::now()
    }

    fn flush(&mut self) -> Result<(), Failure> {
        self.conn
            .flush()
            .map_err(|e| format!("{}: write: {e}", self.name))
    }
}

fn features_in_words(e: &Event) -> Option<String> {
    let Event::Features(f) = e else { return None };
    let mut parts = Vec::new();
    if f.starttls.is_some() {
        parts.push("STARTTLS".to_owned());
    }
    if !f.mechanisms.is_empty() {
        parts.push(format!("SASL {}", f.mechanisms.join(" ")));
    }
    if f.bind {
        parts.push("bind".to_owned());
    }
    if f.roster_versioning {
        parts.push("roster versioning".to_owned());
    }
    Some(parts.join(", "))
}

/// Connects `user` and tells each negotiation step, until online.
fn login(
    n: &Narrator,
    name: &'static str,
    resource: &str,
    port: u16,
    ca: &CertificateDer<'static>,
) -> Result<Client, Failure> {
    let seed = blocking::os_seed().map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(format!("{name}@{DOMAIN}"), format!("{name}-secret"), seed);
    config.resource = Some(resource.to_owned());
    let options = Options {
        host: "127.0.0.1".into(),
        port,
        ca_der: vec![ca.clone()],
        ..Options::default()
    };
    let conn =
        Connection::connect(config, &options).map_err(|e| format!("{name}: connect: {e}"))?;
    n.say(name, &format!("connected to 127.0.0.1:{port}"));
    let mut client = Client {
        name,
        conn,
        inbox: Vec::new(),
    };
    let mut tls_told = false;
    let jid = client
        .conn
        .run_until(STEP, |stream, e| {
            match e {
                Event::StreamHeader(h) => n.say(
                    name,
                    &format!(
                        "stream header from {}, id {}",
                        h.from.as_deref().unwrap_or("?"),
                        h.id.as_deref().unwrap_or("?")
                    ),
                ),
                Event::Features(_) => {
                    if stream.is_secure() && !tls_told {
                        tls_told = true;
                    }
                    n.say(
                        name,
                        &format!("features: {}", features_in_words(e).unwrap_or_default()),
                    )
                }
                Event::StartTls => {
                    n.say(name, "<proceed/>: TLS handshake (rustls), stream restarts")
                }
                Event::Authenticated { mechanism } => n.say(
                    name,
                    &format!(
                        "authenticated with {} (server signature verified)",
                        mechanism.name()
                    ),
                ),
                Event::Online { jid } => {
                    n.say(name, &format!("bound: {jid}"));
                    return Some(Ok(jid.clone()));
                }
                Event::Closed { error, .. } => {
                    return Some(Err(format!("{name}: closed during login: {error:?}")));
                }
                _ => {}
            }
            None
        })
        .map_err(|e| format!("{name}: login: {e}"))??;
    if jid != format!("{name}@{DOMAIN}/{resource}") {
        return Err(format!("{name}: bound {jid}, not the resource asked for"));
    }
    if client.conn.tls_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return Err(format!("{name}: not on TLS 1.3"));
    }
    Ok(client)
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

fn item_in_words(e: &Event) -> String {
    match e {
        Event::RosterPush { item, ver } => format!(
            "roster push: {} subscription={}{} (ver {})",
            item.jid,
            item.subscription.as_str(),
            if item.ask { " ask=subscribe" } else { "" },
            ver.as_deref().unwrap_or("-")
        ),
        other => format!("{other:?}"),
    }
}

/// The throwaway CA and a `localhost` certificate it signed.
fn certificates() -> Result<
    (
        CertificateDer<'static>,
        CertificateDer<'static>,
        PrivateKeyDer<'static>,
    ),
    Failure,
> {
    let err = |e: rcgen::Error| format!("certificate: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "xmpp-sansio demo CA");
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(err)?;
    let leaf = CertificateParams::new(vec![DOMAIN.to_owned()]).map_err(err)?;
    let cert = leaf.signed_by(&key, &issuer).map_err(err)?;
    Ok((
        ca_cert.der().clone(),
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    ))
}

fn run(n: &Narrator) -> Result<(), Failure> {
    // ---- the server ----
    let (ca, cert, key) = certificates()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
        .map_err(|e| format!("server TLS: {e}"))?;
    let mut config = ServerConfig::new(DOMAIN, serve::os_seed(), [0; 32]);
    config.scram_iterations = 4096;
    let mut router = router::Router::new(config);
    for user in ["alice", "bob"] {
        router
            .add_account(
                user,
                &format!("{user}-secret"),
                &serve::os_seed()[..16],
                4096,
            )
            .map_err(|e| format!("account {user}: {e}"))?;
    }
    let mut server = serve::Server::bind("127.0.0.1:0", router, Some(Arc::new(tls)))
        .map_err(|e| format!("listen: {e}"))?;
    let port = server.local_addr().map_err(|e| e.to_string())?.port();
    n.say(
        "server",
        &format!("listening on 127.0.0.1:{port} for {DOMAIN} (throwaway CA, STARTTLS required; accounts alice, bob)"),
    );
    let t0 = n.t0;
    let server_log = Arc::new(Mutex::new(Vec::new()));
    let log = server_log.clone();
    server.log = Some(Box::new(move |id, text: &str| {
        if let Ok(mut l) = log.lock() {
            l.push(format!(
                "[{:7.1} ms] server #{id} {text}",
                t0.elapsed().as_secs_f64() * 1000.0
            ));
        }
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let stop_server = stop.clone();
    let thread = std::thread::spawn(move || {
        server.run(|| stop_server.load(Ordering::Relaxed));
        server.shutdown(Duration::from_millis(500));
    });

    let result = scenario(n, port, &ca);
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    println!("--- the server's log:");
    if let Ok(l) = server_log.lock() {
        for line in l.iter() {
            println!("{line}");
        }
    }
    result
}

fn scenario(n: &Narrator, port: u16, ca: &CertificateDer<'static>) -> Result<(), Failure> {
    const ALICE: &str = "alice@localhost";
    const BOB: &str = "bob@localhost";
    const ALICE_FULL: &str = "alice@localhost/desk";
    const BOB_FULL: &str = "bob@localhost/phone";
    let mut alice = login(n, "alice", "desk", port, ca)?;
    let mut bob = login(n, "bob", "phone", port, ca)?;

    for c in [&mut alice, &mut bob] {
        let roster = c
            .conn
            .fetch_roster(STEP)
            .map_err(|e| format!("{}: roster: {e}", c.name))?;
        n.say(c.name, &format!("roster: {} items", roster.items.len()));
        c.conn
            .stream
            .send_presence(PresenceBuilder::available().build(), Client::now())
            .map_err(|e| format!("{}: presence: {e}", c.name))?;
        c.flush()?;
        c.expect("its own initial presence", |e| {
            matches!(e, Event::Presence(_))
        })?;
        n.say(c.name, "initial presence sent (and echoed by the server)");
    }

    // Roster set and push.
    let item = RosterItem::new(BOB)
        .with_name("Bob")
        .with_groups(["Friends"]);
    alice
        .conn
        .stream
        .set_roster_item(&item, Client::now())
        .map_err(|e| format!("alice: roster set: {e}"))?;
    alice.flush()?;
    n.say(
        "alice",
        "roster set: bob@localhost, name Bob, group Friends",
    );
    let e = alice.expect(
        "the push of bob's item",
        push_of(BOB, Subscription::None, false),
    )?;
    n.say("alice", &item_in_words(&e));

    // The subscription handshake, alice → bob.
    let send = |c: &mut Client, el: xmpp_sansio::xml::Element, what: &str| -> Result<(), Failure> {
        c.conn
            .stream
            .send_presence(el, Client::now())
            .map_err(|e| format!("{}: {what}: {e}", c.name))?;
        c.flush()
    };
    send(&mut alice, subscription::subscribe(BOB), "subscribe")?;
    n.say("alice", "→ subscribe to bob");
    let e = alice.expect("ask=subscribe", push_of(BOB, Subscription::None, true))?;
    n.say("alice", &item_in_words(&e));
    bob.expect("alice's request", |e| {
        matches!(e, Event::SubscriptionRequest(_))
    })?;
    n.say("bob", "subscription request from alice@localhost");
    send(&mut bob, subscription::subscribed(ALICE), "approve")?;
    n.say("bob", "→ subscribed (approved)");
    let e = bob.expect("from", push_of(ALICE, Subscription::From, false))?;
    n.say("bob", &item_in_words(&e));
    let e = alice.expect("to", push_of(BOB, Subscription::To, false))?;
    n.say("alice", &item_in_words(&e));
    alice.expect("subscribed", presence_from(BOB, PresenceType::Subscribed))?;
    alice.expect(
        "bob's presence",
        presence_from(BOB_FULL, PresenceType::Available),
    )?;
    n.say("alice", "subscribed, and bob@localhost/phone is available");

    // And back, bob → alice: both.
    send(&mut bob, subscription::subscribe(ALICE), "subscribe")?;
    n.say("bob", "→ subscribe to alice");
    alice.expect("bob's request", |e| {
        matches!(e, Event::SubscriptionRequest(_))
    })?;
    send(&mut alice, subscription::subscribed(BOB), "approve")?;
    n.say("alice", "→ subscribed (approved)");
    let e = alice.expect("both", push_of(BOB, Subscription::Both, false))?;
    n.say("alice", &item_in_words(&e));
    let e = bob.expect("both", push_of(ALICE, Subscription::Both, false))?;
    n.say("bob", &item_in_words(&e));
    bob.expect(
        "alice's presence",
        presence_from(ALICE_FULL, PresenceType::Available),
    )?;
    n.say("bob", "alice@localhost/desk is available");

    // Presence: an update reaches the contact.
    let away = PresenceBuilder::available()
        .status(None, "writing the demo")
        .build();
    send(&mut alice, away, "presence")?;
    let e = bob.expect(
        "alice's status",
        |e| matches!(e, Event::Presence(p) if p.status(None).is_some()),
    )?;
    if let Event::Presence(p) = e {
        n.say(
            "bob",
            &format!("alice's presence: {:?}", p.status(None).unwrap_or_default()),
        );
    }

    // A chat message each way.
    alice
        .conn
        .stream
        .send(
            Message::chat(BOB, "Hello Bob, over TLS through our own server."),
            Client::now(),
        )
        .map_err(|e| format!("alice: chat: {e}"))?;
    alice.flush()?;
    let e = bob.expect("alice's chat", |e| matches!(e, Event::Message(_)))?;
    let Event::Message(m) = e else { unreachable!() };
    n.say(
        "bob",
        &format!(
            "chat from {}: {:?}",
            m.from().map(|f| f.as_str().to_owned()).unwrap_or_default(),
            m.body(None).unwrap_or_default()
        ),
    );
    if m.from().map(|f| f.as_str().to_owned()).as_deref() != Some(ALICE_FULL) {
        return Err("bob: the chat does not come from alice's full JID".into());
    }
    bob.conn
        .stream
        .send(
            Message::chat(ALICE_FULL, "Hello Alice. Loud and clear."),
            Client::now(),
        )
        .map_err(|e| format!("bob: chat: {e}"))?;
    bob.flush()?;
    let e = alice.expect("bob's chat", |e| matches!(e, Event::Message(_)))?;
    let Event::Message(m) = e else { unreachable!() };
    n.say(
        "alice",
        &format!(
            "chat from {}: {:?}",
            m.from().map(|f| f.as_str().to_owned()).unwrap_or_default(),
            m.body(None).unwrap_or_default()
        ),
    );

    // The close: alice leaves; bob sees her go; bob leaves.
    alice.conn.stream.close(Client::now());
    alice.flush()?;
    alice.expect("the server's closing tag", |e| {
        matches!(e, Event::Closed { error: None, .. })
    })?;
    n.say("alice", "stream closed by both sides");
    bob.expect(
        "alice unavailable",
        presence_from(ALICE_FULL, PresenceType::Unavailable),
    )?;
    n.say("bob", "alice@localhost/desk is unavailable");
    bob.conn.stream.close(Client::now());
    bob.flush()?;
    bob.expect("the server's closing tag", |e| {
        matches!(e, Event::Closed { error: None, .. })
    })?;
    n.say("bob", "stream closed by both sides");
    Ok(())
}

fn main() -> ExitCode {
    let usage = "usage: cargo run --example demo --   (no options: it needs no setup)";
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("-h" | "--help") => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("demo: unknown argument {other}\n{usage}");
            return ExitCode::from(2);
        }
    }
    let n = Narrator { t0: Instant::now() };
    match run(&n) {
        Ok(()) => {
            println!(
                "demo: every step happened, in {:.1} ms",
                n.t0.elapsed().as_secs_f64() * 1000.0
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
