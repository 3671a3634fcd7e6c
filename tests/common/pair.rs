//! A client `Stream` and a server `Stream` (or a component and its
//! server's end, `Pair::component`) back to back, in memory (after
//! quinn-proto's test `Pair`): bytes move between them in configurable
//! chunk sizes, time is a virtual clock, and the server's application
//! side (account store, bind decisions, STARTTLS) answers automatically
//! unless a test turns it off.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use xmpp_sansio::sasl::{ChannelBinding, StoredCredentials};
use xmpp_sansio::stanza::{StanzaError, StanzaErrorCondition};
use xmpp_sansio::{
    ClientConfig, ComponentConfig, ComponentServerConfig, Event, ServerConfig, Stream, TlsPolicy,
};

/// The test account: `juliet@example.com`, password `r0m30`.
pub const USER: &str = "juliet";
pub const PASSWORD: &str = "r0m30";
pub const DOMAIN: &str = "example.com";

/// Keys for `password` (one salt, few iterations: tests stay fast).
pub fn stored(password: &str) -> StoredCredentials {
    StoredCredentials::derive(password, b"0123456789abcdef", 64).expect("derivable credentials")
}

/// A server for `example.com` with STARTTLS `tls`, the account
/// `juliet`/`r0m30`, and few SCRAM iterations for unknown accounts.
pub fn pair_server_config(tls: TlsPolicy) -> ServerConfig {
    let mut c = ServerConfig::new(DOMAIN, *b"pair fake-salt secret", [9; 32]);
    c.tls = tls;
    c.scram_iterations = 64;
    c
}

/// A client for `juliet@example.com` with STARTTLS `tls`.
pub fn pair_client_config(tls: TlsPolicy) -> ClientConfig {
    let mut c = ClientConfig::new("juliet@example.com", PASSWORD, [3; 32]);
    c.tls = tls;
    c
}

/// How the pair's server application answers a bind request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindPolicy {
    /// Accept the resource asked for (or generate one).
    Accept,
    /// Refuse these resources with `conflict`; accept the others.
    Taken(Vec<String>),
    /// Leave the request pending: the test decides.
    Manual,
}

/// One direction's chunking: the sizes of successive `handle_input`
/// calls, cycled; empty means each batch of bytes whole.
#[derive(Debug, Clone, Default)]
pub struct Chunking {
    pub sizes: Vec<usize>,
    next: usize,
}

impl Chunking {
    pub fn whole() -> Self {
        Self::default()
    }

    pub fn sizes(sizes: Vec<usize>) -> Self {
        Self {
            sizes: sizes.into_iter().map(|s| s.max(1)).collect(),
            next: 0,
        }
    }

    fn take(&mut self, available: usize) -> usize {
        if self.sizes.is_empty() {
            return available;
        }
        let n = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        n.min(available)
    }
}

/// The component of `Pair::component`, and its shared secret.
pub const COMPONENT: &str = "muc.example.com";
pub const COMPONENT_SECRET: &str = "s3cr3t";

/// Which way bytes move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client → server.
    Up,
    /// Server → client.
    Down,
}

/// A client (or component) and a server stream connected back to back:
/// `client` is the initiating end.
pub struct Pair {
    pub client: Stream,
    pub server: Stream,
    pub now: Instant,
    /// Client → server.
    pub up: Chunking,
    /// Server → client.
    pub down: Chunking,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    /// Every event each side reported, in order.
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    /// Everything each side wrote.
    pub client_sent: String,
    pub server_sent: String,
    /// The server application's account store (username → keys).
    pub accounts: HashMap<String, StoredCredentials>,
    /// Answer credential requests from `accounts` at once.
    pub auto_credentials: bool,
    pub bind_policy: BindPolicy,
    /// The channel binding both sides' TLS layers give…
    pub binding: ChannelBinding,
    /// …unless the server's differs (a man in the middle).
    pub server_binding: Option<ChannelBinding>,
    /// Component names the server end serves, with their secrets
    /// (component pairs); any other name is refused with `host-unknown`.
    pub components: HashMap<String, String>,
    /// Kill the connection once this many bytes went this way: what
    /// follows, either way, is lost ([`Pair::dead`]).
    pub cut: Option<(Dir, usize)>,
    /// The connection was killed (by `cut`).
    pub dead: bool,
    delivered_up: usize,
    delivered_down: usize,
}

impl Pair {
    /// A pair over `client` and `server` configurations; both started.
    pub fn new(client: ClientConfig, server: ServerConfig) -> Self {
        Self::from_streams(Stream::client(client), Stream::server(server))
    }

    /// A pair over two streams made by the test; both started.
    pub fn from_streams(mut client: Stream, mut server: Stream) -> Self {
        let now = Instant::now();
        server.start(now).expect("server starts");
        client.start(now).expect("client starts");
        let mut accounts = HashMap::new();
        accounts.insert(USER.to_owned(), stored(PASSWORD));
        Self {
            client,
            server,
            now,
            up: Chunking::whole(),
            down: Chunking::whole(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_sent: String::new(),
            server_sent: String::new(),
            accounts,
            auto_credentials: true,
            bind_policy: BindPolicy::Accept,
            binding: ChannelBinding::None,
            server_binding: None,
            components: HashMap::from([(COMPONENT.to_owned(), COMPONENT_SECRET.to_owned())]),
            cut: None,
            dead: false,
            delivered_up: 0,
            delivered_down: 0,
        }
    }

    /// A component (`muc.example.com`, `secret`) and the server end that
    /// accepts it (`example.com`, serving `muc.example.com` with
    /// [`COMPONENT_SECRET`]).
    pub fn component(secret: &str) -> Self {
        Self::from_streams(
            Stream::component(ComponentConfig::new(COMPONENT, secret, [4; 32])),
            Stream::component_server(ComponentServerConfig::new(DOMAIN, [8; 32])),
        )
    }

    /// The default pair: plaintext, PLAIN allowed on both sides.
    pub fn plaintext() -> Self {
        let mut c = pair_client_config(TlsPolicy::Disabled);
        c.allow_plaintext_auth = true;
        let mut s = pair_server_config(TlsPolicy::Disabled);
        s.allow_plaintext_auth = true;
        Self::new(c, s)
    }

    /// Collects what either side queued.
    fn collect(&mut self) {
        // Handling an event can queue output (the TLS hand-off restarts
        // the client's stream), so collect until both sides are quiet.
        loop {
            let before = (self.client_sent.len(), self.server_sent.len());
            let events = self.client_events.len() + self.server_events.len();
            self.collect_once();
            if before == (self.client_sent.len(), self.server_sent.len())
                && events == self.client_events.len() + self.server_events.len()
            {
                return;
            }
        }
    }

    fn collect_once(&mut self) {
        while let Some(bytes) = self.client.poll_transmit() {
            self.client_sent.push_str(&String::from_utf8_lossy(&bytes));
            self.to_server.extend_from_slice(&bytes);
        }
        while let Some(event) = self.client.poll_event() {
            if event == Event::StartTls {
                self.client
                    .tls_established(self.binding.clone(), self.now)
                    .expect("client TLS hand-off");
            }
            self.client_events.push(event);
        }
        while let Some(event) = self.server.poll_event() {
            self.on_server_event(&event);
            self.server_events.push(event);
        }
        while let Some(bytes) = self.server.poll_transmit() {
            self.server_sent.push_str(&String::from_utf8_lossy(&bytes));
            self.to_client.extend_from_slice(&bytes);
        }
    }

    /// What the server's application does with an event.
    fn on_server_event(&mut self, event: &Event) {
        let now = self.now;
        match event {
            Event::StartTls => {
                let binding = self.server_binding.clone();
                self.server
                    .tls_established(binding.unwrap_or_else(|| self.binding.clone()), now)
                    .expect("server TLS hand-off");
            }
            Event::CredentialsRequest { username, .. } if self.auto_credentials => {
                let creds = self.accounts.get(username).cloned();
                self.server
                    .provide_credentials(creds.as_ref(), now)
                    .expect("credentials awaited");
            }
            Event::ComponentRequest { name } => match self.components.get(name) {
                Some(secret) => self
                    .server
                    .accept_component(secret, now)
                    .expect("component decision awaited"),
                None => self
                    .server
                    .refuse_component(xmpp_sansio::StreamErrorCondition::HostUnknown, now)
                    .expect("component decision awaited"),
            },
            Event::BindRequest { resource, .. } => match &self.bind_policy {
                BindPolicy::Manual => {}
                BindPolicy::Taken(taken)
                    if resource.as_ref().is_some_and(|r| taken.contains(r)) =>
                {
                    self.server
                        .refuse_bind(
                            StanzaError::from_condition(StanzaErrorCondition::Conflict),
                            now,
                        )
                        .expect("bind awaited");
                }
                _ => {
                    let resource = resource.clone();
                    self.server
                        .accept_bind(resource.as_deref(), now)
                        .expect("bind awaited");
                }
            },
            _ => {}
        }
    }

    /// Moves bytes both ways, in the configured chunks, until neither
    /// side has anything more to say.
    pub fn drive(&mut self) {
        for _ in 0..1_000_000 {
            self.collect();
            if self.dead {
                self.to_server.clear();
                self.to_client.clear();
            }
            if self.to_server.is_empty() && self.to_client.is_empty() {
                return;
            }
            if !self.to_server.is_empty() {
                let n = self.up.take(self.to_server.len());
                let n = self.budget(Dir::Up, n);
                let chunk: Vec<u8> = self.to_server.drain(..n).collect();
                let _ = self.server.handle_input(&chunk, self.now);
            }
            self.collect();
            if !self.to_client.is_empty() && !self.dead {
                let n = self.down.take(self.to_client.len());
                let n = self.budget(Dir::Down, n);
                let chunk: Vec<u8> = self.to_client.drain(..n).collect();
                let _ = self.client.handle_input(&chunk, self.now);
            }
        }
        panic!("the pair never went quiet");
    }

    /// How many of `n` bytes may go `dir` before the cut; the connection
    /// dies when the cut is reached.
    fn budget(&mut self, dir: Dir, n: usize) -> usize {
        if self.dead {
            return 0;
        }
        let delivered = match dir {
            Dir::Up => &mut self.delivered_up,
            Dir::Down => &mut self.delivered_down,
        };
        let n = match self.cut {
            Some((d, at)) if d == dir => n.min(at.saturating_sub(*delivered)),
            _ => n,
        };
        *delivered += n;
        if matches!(self.cut, Some((d, at)) if d == dir && *delivered >= at) {
            self.dead = true;
        }
        n
    }

    /// Both sides see the end of the transport (after a cut).
    pub fn both_eof(&mut self) {
        self.client.handle_eof(self.now);
        self.server.handle_eof(self.now);
        self.collect();
    }

    /// Advances the virtual clock by `d`, firing both sides' timers that
    /// fall due on the way, and drives after each.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|t| *t <= end)
                .min();
            let Some(t) = next else { break };
            self.now = self.now.max(t);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            self.drive();
        }
        self.now = end;
    }

    /// The client's end of file reaches the server (its socket closed).
    pub fn client_eof(&mut self) {
        self.server.handle_eof(self.now);
        self.collect();
    }

    /// Both online? (Drives first.)
    pub fn online(&mut self) -> bool {
        self.drive();
        self.client.state() == xmpp_sansio::State::Online
            && self.server.state() == xmpp_sansio::State::Online
    }
}
