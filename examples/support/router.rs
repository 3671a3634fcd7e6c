//! An in-process XMPP server core: server [`Stream`]s, one per accepted
//! connection, and the routing between them (RFC 6121). Shared by path by
//! `examples/demo.rs`, `examples/server.rs` and `tests/router.rs`.
//!
//! Sans-IO like the streams it drives: bytes in ([`Router::handle_input`]),
//! bytes out per session ([`Router::poll_transmit`]), notices for the
//! transport ([`Notice`]: upgrade to TLS, close), time passed in. It owns
//! no socket and never reads the clock; the caller gives every seed.
//!
//! What it does:
//! - accounts: [`StoredCredentials`] derived once ([`Router::add_account`]),
//!   answered to [`Event::CredentialsRequest`] (no plaintext kept);
//! - binding: the resource asked for, or one the stream generates; a
//!   resource already bound for the account is **refused with `conflict`**
//!   (RFC 6120 §7.7.2.2 allows that, replacing the old session, or
//!   another resource: refusing never disconnects a working session);
//! - routing by `to` (RFC 6121 §8.5): a full JID to that session; a bare
//!   JID to the account's available resources (messages of type `normal`
//!   and `chat` to those of highest non-negative priority, `headline` to
//!   all non-negative ones, presence to all available ones), IQs to a bare
//!   JID answered by the server on the user's behalf; errors as the RFC's
//!   table says (`service-unavailable`; no offline storage); other domains
//!   get `remote-server-not-found` (no server-to-server);
//! - the server itself (no `to`, or the domain): roster get and set and
//!   remove (RFC 6121 §2, with versioning: `ver` is a counter), pushes to
//!   every interested resource (one that asked for the roster), ping (the
//!   stream answers), disco#info (identity and features), anything else
//!   `service-unavailable`;
//! - subscriptions (RFC 6121 §3): `subscribe` / `subscribed` /
//!   `unsubscribe` / `unsubscribed` through the states none / to / from /
//!   both with pending-out (`ask`) and pending-in (kept, and delivered
//!   again at the contact's next initial presence), roster pushes on every
//!   change, current presence sent on approval, unavailable on cancel;
//! - presence (RFC 6121 §4): broadcast to subscribers (`from` / `both`)
//!   and to the account's own available resources, probes answered at
//!   initial presence (to the new resource), directed presence routed,
//!   unavailable broadcast when a session ends without sending it.
//!
//! Not supported: offline storage, subscription pre-approval, privacy
//! lists and blocking, directed-presence tracking (unavailable goes to
//! subscribers only), s2s, other domains, MUC.
#![allow(dead_code, unreachable_pub)] // shared by path; each user takes part

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use xmpp_sansio::im::{RosterItem, Subscription};
use xmpp_sansio::sasl::{ChannelBinding, SaslError, StoredCredentials};
use xmpp_sansio::stanza::{
    Address, Iq, IqType, Presence, StanzaError, StanzaErrorCondition, StanzaView,
};
use xmpp_sansio::xml::{Element, ns};
use xmpp_sansio::{Event, ServerConfig, State, Stream};

/// A session's handle: one per accepted connection.
pub type SessionId = u64;

/// What the transport must do, or may log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Write out what the session has queued (its `<proceed/>`), then
    /// upgrade the transport to TLS and call [`Router::tls_established`].
    StartTls(SessionId),
    /// The session is over: write out what it has queued, close the
    /// transport, then call [`Router::remove`].
    Closed(SessionId),
    /// Something worth a line in a log.
    Log(SessionId, String),
}

const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

/// One account: its keys and its roster.
struct Account {
    credentials: StoredCredentials,
    /// Contacts by bare JID (RFC 6121 §2); `subscription` never `Remove`.
    roster: BTreeMap<String, RosterItem>,
    /// Inbound subscription requests not yet answered, by the requester's
    /// bare JID ("pending in", §3.1.3): the request as received.
    pending_in: BTreeMap<String, Element>,
    /// The roster version (§2.6): bumped at each change.
    ver: u64,
}

struct Session {
    stream: Stream,
    /// The full JID once bound.
    jid: Option<String>,
    /// The last broadcast available presence (stamped); `None`: unavailable.
    presence: Option<Element>,
    priority: i8,
    /// Asked for the roster, so gets pushes (RFC 6121 §2.1.6).
    interested: bool,
    closed: bool,
}

impl Session {
    fn bare(&self) -> Option<&str> {
        self.jid.as_deref().map(|j| Address::new(j).bare())
    }
}

/// The server core: accounts, sessions, routing.
pub struct Router {
    template: ServerConfig,
    domain: String,
    accounts: BTreeMap<String, Account>,
    sessions: BTreeMap<SessionId, Session>,
    next_id: SessionId,
    notices: VecDeque<Notice>,
}

/// `addr` as compared: prepared (RFC 6122) when it can be, as sent otherwise.
fn norm(addr: &str) -> String {
    Address::new(addr)
        .jid()
        .map(|j| j.to_string())
        .unwrap_or_else(|_| addr.to_owned())
}

/// The bare part of `addr`, prepared.
fn bare(addr: &str) -> String {
    norm(Address::new(addr).bare())
}

fn is_full(addr: &str) -> bool {
    Address::new(addr).resource().is_some()
}

fn error(condition: StanzaErrorCondition) -> StanzaError {
    StanzaError::from_condition(condition)
}

/// An error reply to a message or presence (RFC 6120 §8.3.1): the same
/// kind, type `error`, from its `to` back to its `from`, with its id.
fn bounce(el: &Element, err: StanzaError) -> Option<Element> {
    if el.attr("type") == Some("error") {
        return None;
    }
    Some(
        Element::builder(el.name(), el.ns())
            .attr("type", "error")
            .attr_opt("id", el.attr("id"))
            .attr_opt("from", el.attr("to"))
            .attr_opt("to", el.attr("from"))
            .child(err.to_element_in(el.ns()))
            .build(),
    )
}

fn with_attr(el: &Element, name: &str, value: &str) -> Element {
    el.to_builder().attr(name, value).build()
}

fn presence_of(type_: Option<&str>, from: &str, to: &str) -> Element {
    Element::builder("presence", ns::JABBER_CLIENT)
        .attr("from", from)
        .attr("to", to)
        .attr_opt("type", type_)
        .build()
}

impl Router {
    /// A router for `template`'s domain. Each session gets a copy of
    /// `template` with its own seed; roster versioning is advertised.
    pub fn new(mut template: ServerConfig) -> Self {
        if !template
            .features
            .iter()
            .any(|f| f.is("ver", ns::ROSTER_VER))
        {
            template.features.push(Element::new("ver", ns::ROSTER_VER));
        }
        let domain = norm(template.domain());
        Self {
            template,
            domain,
            accounts: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_id: 1,
            notices: VecDeque::new(),
        }
    }

    /// The domain served.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Provisions `user` (a localpart) with keys derived from `password`
    /// (SCRAM-SHA-1/256/512 at once, `iterations` rounds, `salt`).
    pub fn add_account(
        &mut self,
        user: &str,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<(), SaslError> {
        let credentials = StoredCredentials::derive(password, salt, iterations)?;
        self.accounts.insert(
            user.to_owned(),
            Account {
                credentials,
                roster: BTreeMap::new(),
                pending_in: BTreeMap::new(),
                ver: 0,
            },
        );
        Ok(())
    }

    /// A new connection: a started server stream with `seed` (fresh and
    /// unpredictable per connection outside tests).
    pub fn accept(&mut self, seed: [u8; 32], now: Instant) -> SessionId {
        let mut config = self.template.clone();
        config.rng_seed = seed;
        let mut stream = Stream::server(config);
        // A fresh server stream always starts.
        let _ = stream.start(now);
        let id = self.next_id;
        self.next_id += 1;
        self.sessions.insert(
            id,
            Session {
                stream,
                jid: None,
                presence: None,
                priority: 0,
                interested: false,
                closed: false,
            },
        );
        id
    }

    /// Bytes read from session `id`'s transport.
    pub fn handle_input(&mut self, id: SessionId, data: &[u8], now: Instant) {
        if let Some(s) = self.sessions.get_mut(&id) {
            // A failure is reported as Event::Closed too.
            let _ = s.stream.handle_input(data, now);
        }
        self.pump(now);
    }

    /// Session `id`'s transport ended.
    pub fn handle_eof(&mut self, id: SessionId, now: Instant) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.stream.handle_eof(now);
        }
        self.pump(now);
    }

    /// The TLS handshake of session `id` finished (after [`Notice::StartTls`]).
    pub fn tls_established(&mut self, id: SessionId, binding: ChannelBinding, now: Instant) {
        if let Some(s) = self.sessions.get_mut(&id) {
            let _ = s.stream.tls_established(binding, now);
        }
        self.pump(now);
    }

    /// Deadlines that passed, on every session.
    pub fn handle_timeout(&mut self, now: Instant) {
        for s in self.sessions.values_mut() {
            s.stream.handle_timeout(now);
        }
        self.pump(now);
    }

    /// The earliest deadline of any session.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sessions
            .values()
            .filter_map(|s| s.stream.poll_timeout())
            .min()
    }

    /// Bytes to write to session `id`'s transport.
    pub fn poll_transmit(&mut self, id: SessionId) -> Option<Bytes> {
        self.sessions.get_mut(&id)?.stream.poll_transmit()
    }

    /// The next notice for the transport or the log.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }

    /// Every session, in order of arrival.
    pub fn session_ids(&self) -> Vec<SessionId> {
        self.sessions.keys().copied().collect()
    }

    /// The full JID bound to session `id`.
    pub fn bound_jid(&self, id: SessionId) -> Option<&str> {
        self.sessions.get(&id)?.jid.as_deref()
    }

    /// Forgets a session after [`Notice::Closed`] (its transport closed).
    pub fn remove(&mut self, id: SessionId) {
        self.sessions.remove(&id);
    }

    /// Closes every stream (server shutdown); the usual notices follow.
    pub fn close_all(&mut self, now: Instant) {
        for s in self.sessions.values_mut() {
            s.stream.close(now);
        }
        self.pump(now);
    }

    /// `user`'s roster as the server keeps it (for tests and logs).
    pub fn roster(&self, user: &str) -> Vec<RosterItem> {
        self.accounts
            .get(user)
            .map(|a| a.roster.values().cloned().collect())
            .unwrap_or_default()
    }

    // ---- events ----

    /// Handles every event of every session until all are quiet.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut quiet = true;
            for id in self.session_ids() {
                while let Some(event) = self
                    .sessions
                    .get_mut(&id)
                    .and_then(|s| s.stream.poll_event())
                {
                    quiet = false;
                    self.on_event(id, event, now);
                }
            }
            if quiet {
                return;
            }
        }
    }

    fn log(&mut self, id: SessionId, text: impl Into<String>) {
        self.notices.push_back(Notice::Log(id, text.into()));
    }

    fn stream(&mut self, id: SessionId) -> Option<&mut Stream> {
        self.sessions.get_mut(&id).map(|s| &mut s.stream)
    }

    fn on_event(&mut self, id: SessionId, event: Event, now: Instant) {
        match event {
            Event::StartTls => {
                self.log(id, "STARTTLS: <proceed/>, upgrading");
                self.notices.push_back(Notice::StartTls(id));
            }
            Event::CredentialsRequest {
                mechanism,
                username,
                ..
            } => {
                let creds = self.accounts.get(&username).map(|a| a.credentials.clone());
                self.log(
                    id,
                    format!(
                        "SASL {}: credentials for {username:?} ({})",
                        mechanism.name(),
                        if creds.is_some() { "known" } else { "unknown" }
                    ),
                );
                if let Some(s) = self.stream(id) {
                    let _ = s.provide_credentials(creds.as_ref(), now);
                }
            }
            Event::Authenticated { mechanism } => {
                self.log(id, format!("authenticated with {}", mechanism.name()))
            }
            Event::AuthFailed {
                reason,
                attempts_left,
                ..
            } => self.log(
                id,
                format!("authentication failed ({reason:?}), {attempts_left} attempts left"),
            ),
            Event::BindRequest {
                account, resource, ..
            } => self.on_bind(id, &account, resource.as_deref(), now),
            Event::Online { jid } => {
                self.log(id, format!("bound {jid}"));
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.jid = Some(norm(&jid));
                }
            }
            Event::Message(m) => self.on_message(id, m.into_element(), now),
            Event::Presence(p) => self.on_presence(id, p.into_element(), now),
            Event::IqRequest(iq) => self.on_iq(id, iq, now),
            Event::IqReply(iq) => {
                // A client's answer to a request routed to it: on to its `to`.
                let el = iq.into_element();
                match el.attr("to").and_then(|t| self.session_of(t)) {
                    Some(target) => self.deliver(target, el, now),
                    None => self.log(id, "an IQ reply for nobody connected: dropped"),
                }
            }
            Event::Closed { by, error } => self.on_closed(id, by, error, now),
            Event::PeerStreamError(e) => self.log(id, format!("peer stream error: {e}")),
            Event::Unhandled(el) => self.log(id, format!("unhandled: {}", el.to_xml())),
            Event::MalformedRequest { request, .. } => {
                self.log(id, format!("malformed request: {}", request.to_xml()))
            }
            // Answers to our pushes, headers, timeouts: nothing to do.
            _ => {}
        }
    }

    fn on_bind(&mut self, id: SessionId, account: &str, resource: Option<&str>, now: Instant) {
        let taken = resource.is_some_and(|r| {
            let full = norm(&format!("{account}/{r}"));
            self.sessions
                .values()
                .any(|s| !s.closed && s.jid.as_deref() == Some(full.as_str()))
        });
        let Some(s) = self.stream(id) else { return };
        if taken {
            let _ = s.refuse_bind(error(StanzaErrorCondition::Conflict), now);
            self.log(
                id,
                format!("bind {account}/{}: conflict", resource.unwrap_or_default()),
            );
        } else {
            let _ = s.accept_bind(resource, now);
        }
    }

    fn on_closed(
        &mut self,
        id: SessionId,
        by: xmpp_sansio::ClosedBy,
        error: Option<xmpp_sansio::Error>,
        now: Instant,
    ) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        s.closed = true;
        let jid = s.jid.take();
        let was_available = s.presence.take().is_some();
        s.interested = false;
        match &error {
            Some(e) => self.log(id, format!("closed by {by:?}: {e}")),
            None => self.log(id, format!("closed by {by:?}")),
        }
        if let (Some(full), true) = (jid, was_available) {
            // RFC 6121 §4.5.2: gone without unavailable presence.
            let unavailable = Element::builder("presence", ns::JABBER_CLIENT)
                .attr("from", full.as_str())
                .attr("type", "unavailable")
                .build();
            self.broadcast(&full, &unavailable, now);
        }
        self.notices.push_back(Notice::Closed(id));
    }

    // ---- lookups ----

    /// The contacts in `user`'s roster whose subscription `keep` takes.
    fn contacts_of(&self, user: &str, keep: impl Fn(Subscription) -> bool) -> Vec<String> {
        self.accounts
            .get(user)
            .map(|a| {
                a.roster
                    .values()
                    .filter(|i| keep(i.subscription))
                    .map(|i| i.jid.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The local account of `addr`, if it names one of ours.
    fn local_user(&self, addr: &str) -> Option<String> {
        let b = bare(addr);
        let (local, domain) = b.split_once('@')?;
        (domain == self.domain && self.accounts.contains_key(local)).then(|| local.to_owned())
    }

    fn is_our_domain(&self, addr: &str) -> bool {
        let b = bare(addr);
        let domain = b.rsplit_once('@').map_or(b.as_str(), |(_, d)| d);
        domain == self.domain
    }

    /// The bound session whose full JID is `addr`.
    fn session_of(&self, addr: &str) -> Option<SessionId> {
        let full = norm(addr);
        self.sessions
            .iter()
            .find(|(_, s)| !s.closed && s.jid.as_deref() == Some(full.as_str()))
            .map(|(id, _)| *id)
    }

    /// Sessions of `user` (localpart) that sent available presence.
    fn available(&self, user: &str) -> Vec<SessionId> {
        let b = format!("{user}@{}", self.domain);
        self.sessions
            .iter()
            .filter(|(_, s)| !s.closed && s.presence.is_some() && s.bare() == Some(b.as_str()))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Sessions of `user` that asked for the roster.
    fn interested(&self, user: &str) -> Vec<SessionId> {
        let b = format!("{user}@{}", self.domain);
        self.sessions
            .iter()
            .filter(|(_, s)| !s.closed && s.interested && s.bare() == Some(b.as_str()))
            .map(|(id, _)| *id)
            .collect()
    }

    fn subscription(&self, user: &str, contact: &str) -> Option<Subscription> {
        Some(self.accounts.get(user)?.roster.get(contact)?.subscription)
    }

    /// Writes `el` on session `target` (nothing if it is gone).
    fn deliver(&mut self, target: SessionId, el: Element, now: Instant) {
        if let Some(s) = self.sessions.get_mut(&target)
            && !s.closed
        {
            let _ = s.stream.send(el, now);
        }
    }

    fn deliver_all(&mut self, targets: &[SessionId], el: &Element, now: Instant) {
        for t in targets {
            self.deliver(*t, el.clone(), now);
        }
    }

    /// Sends `el` back to session `id` as an error reply, if it is not an
    /// error itself.
    fn reject(
        &mut self,
        id: SessionId,
        el: &Element,
        condition: StanzaErrorCondition,
        now: Instant,
    ) {
        if let Some(reply) = bounce(el, error(condition)) {
            self.deliver(id, reply, now);
        }
    }

    /// Answers `iq` (from session `id`) with `reply`, from whom it was
    /// addressed to: a reply on behalf of an account or the domain comes
    /// from that address, so the client matches it to its request.
    fn answer(&mut self, id: SessionId, iq: &Iq, reply: Option<Element>, now: Instant) {
        let Some(mut reply) = reply else { return };
        if let Some(to) = iq.element().attr("to") {
            reply = with_attr(&reply, "from", to);
        }
        if let Some(s) = self.stream(id) {
            let _ = s.send(reply, now);
        }
    }

    fn iq_result(&mut self, id: SessionId, iq: &Iq, payload: Option<Element>, now: Instant) {
        self.answer(id, iq, iq.result_reply(payload), now);
    }

    fn iq_error(&mut self, id: SessionId, iq: &Iq, err: StanzaError, now: Instant) {
        self.answer(id, iq, iq.error_reply(err), now);
    }

    // ---- messages (RFC 6121 §8.5, Table 1) ----

    fn on_message(&mut self, id: SessionId, el: Element, now: Instant) {
        let type_ = el.attr("type").unwrap_or("normal").to_owned();
        let Some(to) = el.attr("to").map(str::to_owned) else {
            // To the server itself: nothing here handles messages.
            return self.reject(id, &el, StanzaErrorCondition::ServiceUnavailable, now);
        };
        if !self.is_our_domain(&to) {
            return self.reject(id, &el, StanzaErrorCondition::RemoteServerNotFound, now);
        }
        let Some(user) = self.local_user(&to) else {
            // The domain itself, or no such account (§8.5.1).
            if type_ == "headline" && !is_full(&to) {
                return;
            }
            return self.reject(id, &el, StanzaErrorCondition::ServiceUnavailable, now);
        };
        if is_full(&to) {
            if let Some(target) = self.session_of(&to) {
                self.log(id, format!("message → {to}"));
                return self.deliver(target, el, now);
            }
            if type_ != "chat" {
                // §8.5.3.2.1: normal, groupchat, headline to no such resource.
                return self.reject(id, &el, StanzaErrorCondition::ServiceUnavailable, now);
            }
        }
        // A bare JID, or a chat to a resource that is not there.
        let candidates: Vec<(SessionId, i8)> = self
            .available(&user)
            .into_iter()
            .filter_map(|t| self.sessions.get(&t).map(|s| (t, s.priority)))
            .filter(|(_, p)| *p >= 0)
            .collect();
        match type_.as_str() {
            "error" => {}
            "groupchat" => self.reject(id, &el, StanzaErrorCondition::ServiceUnavailable, now),
            "headline" => {
                let all: Vec<SessionId> = candidates.iter().map(|(t, _)| *t).collect();
                self.deliver_all(&all, &el, now);
            }
            _ if candidates.is_empty() => {
                // No offline storage: §8.5.2.2.1 (b).
                self.log(id, format!("message → {to}: nobody available"));
                self.reject(id, &el, StanzaErrorCondition::ServiceUnavailable, now)
            }
            _ => {
                let best = candidates.iter().map(|(_, p)| *p).max().unwrap_or(0);
                let most: Vec<SessionId> = candidates
                    .iter()
                    .filter(|(_, p)| *p == best)
                    .map(|(t, _)| *t)
                    .collect();
                self.log(id, format!("message → {to} ({} resource(s))", most.len()));
                self.deliver_all(&most, &el, now);
            }
        }
    }

    // ---- IQ ----

    fn on_iq(&mut self, id: SessionId, iq: Iq, now: Instant) {
        let el = iq.element().clone();
        let from = el.attr("from").unwrap_or_default().to_owned();
        let sender = bare(&from);
        let payload = iq.payload();
        let payload_ns = payload
            .as_ref()
            .map(|p| p.ns().to_owned())
            .unwrap_or_default();
        let to = el.attr("to").map(str::to_owned);
        let refuse = |r: &mut Self, c: StanzaErrorCondition| r.iq_error(id, &iq, error(c), now);
        let Some(to) = to else {
            return self.server_iq(id, &iq, now);
        };
        if !self.is_our_domain(&to) {
            return refuse(self, StanzaErrorCondition::RemoteServerNotFound);
        }
        if !to.contains('@') {
            // The domain (or domain/resource): the server answers.
            if is_full(&to) {
                return refuse(self, StanzaErrorCondition::ServiceUnavailable);
            }
            return self.server_iq(id, &iq, now);
        }
        let Some(user) = self.local_user(&to) else {
            return refuse(self, StanzaErrorCondition::ServiceUnavailable);
        };
        let own = bare(&to) == sender;
        if !is_full(&to) {
            // §8.5.2.1.3: the server answers for the account.
            if own && payload_ns == ns::ROSTER {
                return self.roster_iq(id, &iq, &user, now);
            }
            if payload_ns == ns::ROSTER {
                return refuse(self, StanzaErrorCondition::Forbidden);
            }
            return refuse(self, StanzaErrorCondition::ServiceUnavailable);
        }
        // §8.5.3.1: only to someone who shares presence with the sender.
        let shares = own
            || matches!(
                self.subscription(&user, &sender),
                Some(Subscription::From | Subscription::Both)
            );
        match self.session_of(&to) {
            Some(target) if shares => {
                self.log(id, format!("iq → {to}"));
                self.deliver(target, el, now)
            }
            _ => refuse(self, StanzaErrorCondition::ServiceUnavailable),
        }
    }

    /// An IQ to the server itself.
    fn server_iq(&mut self, id: SessionId, iq: &Iq, now: Instant) {
        let payload = iq.payload();
        let user = self
            .sessions
            .get(&id)
            .and_then(|s| s.bare())
            .and_then(|b| b.split_once('@'))
            .map(|(l, _)| l.to_owned());
        match (&payload, user) {
            (Some(p), Some(user)) if p.ns() == ns::ROSTER && iq.element().attr("to").is_none() => {
                self.roster_iq(id, iq, &user, now)
            }
            (Some(p), _) if p.is("query", DISCO_INFO) && iq.type_() == IqType::Get => {
                let mut query = Element::builder("query", DISCO_INFO).child(
                    Element::builder("identity", DISCO_INFO)
                        .attr("category", "server")
                        .attr("type", "im")
                        .attr("name", "xmpp-sansio router")
                        .build(),
                );
                for var in [DISCO_INFO, ns::PING, ns::ROSTER] {
                    query = query.child(
                        Element::builder("feature", DISCO_INFO)
                            .attr("var", var)
                            .build(),
                    );
                }
                self.iq_result(id, iq, Some(query.build()), now);
            }
            (Some(p), _) if p.is("ping", ns::PING) => self.iq_result(id, iq, None, now),
            _ => self.iq_error(id, iq, error(StanzaErrorCondition::ServiceUnavailable), now),
        }
    }

    // ---- the roster (RFC 6121 §2) ----

    fn roster_iq(&mut self, id: SessionId, iq: &Iq, user: &str, now: Instant) {
        let query = iq
            .payload()
            .unwrap_or_else(|| Element::new("query", ns::ROSTER));
        match iq.type_() {
            IqType::Get => {
                let Some(account) = self.accounts.get(user) else {
                    return;
                };
                let ver = account.ver.to_string();
                // §2.6.3: the version the client has is current: empty result.
                let payload = if query.attr("ver") == Some(ver.as_str()) {
                    None
                } else {
                    let mut q = Element::builder("query", ns::ROSTER).attr("ver", ver.as_str());
                    for item in account.roster.values() {
                        q = q.child(item.to_element());
                    }
                    Some(q.build())
                };
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.interested = true;
                }
                self.iq_result(id, iq, payload, now);
            }
            _ => self.roster_set(id, iq, &query, user, now),
        }
    }

    fn roster_set(&mut self, id: SessionId, iq: &Iq, query: &Element, user: &str, now: Instant) {
        let refuse = |r: &mut Self, c: StanzaErrorCondition, text: &str| {
            r.iq_error(id, iq, error(c).with_text(Some("en"), text), now)
        };
        // §2.3.3: exactly one item, with a valid address.
        let items: Vec<Element> = query
            .children()
            .filter(|c| c.is("item", ns::ROSTER))
            .collect();
        if items.len() != 1 || query.children().count() != 1 {
            return refuse(
                self,
                StanzaErrorCondition::BadRequest,
                "exactly one <item/>",
            );
        }
        let Ok(item) = RosterItem::from_element(&items[0]) else {
            return refuse(self, StanzaErrorCondition::BadRequest, "unreadable <item/>");
        };
        let Ok(jid) = Address::new(&item.jid).jid() else {
            return refuse(self, StanzaErrorCondition::JidMalformed, "not an address");
        };
        let contact = jid.to_string();
        let me = format!("{user}@{}", self.domain);
        if contact == me {
            return refuse(self, StanzaErrorCondition::NotAllowed, "your own address");
        }
        if item.subscription == Subscription::Remove {
            return self.roster_remove(id, iq, user, &contact, now);
        }
        let Some(account) = self.accounts.get_mut(user) else {
            return;
        };
        // The client sets name and groups; subscription and ask are ours.
        let entry = account
            .roster
            .entry(contact.clone())
            .or_insert_with(|| RosterItem::new(contact.clone()));
        entry.name = item.name.clone();
        entry.groups = item.groups.clone();
        self.iq_result(id, iq, None, now);
        self.log(id, format!("roster set {contact}"));
        self.push(user, &contact, now);
    }

    fn roster_remove(&mut self, id: SessionId, iq: &Iq, user: &str, contact: &str, now: Instant) {
        let Some(account) = self.accounts.get_mut(user) else {
            return;
        };
        let Some(old) = account.roster.remove(contact) else {
            // §2.5.3: not in the roster.
            return self.iq_error(id, iq, error(StanzaErrorCondition::ItemNotFound), now);
        };
        account.pending_in.remove(contact);
        self.iq_result(id, iq, None, now);
        self.log(id, format!("roster remove {contact}"));
        let me = format!("{user}@{}", self.domain);
        // §2.5.2: cancel both ways, as if unsubscribe and unsubscribed were sent.
        if matches!(old.subscription, Subscription::To | Subscription::Both) || old.ask {
            self.inbound_unsubscribe(contact, &me, now);
        }
        if matches!(old.subscription, Subscription::From | Subscription::Both) {
            self.unavailable_to(user, contact, now);
            self.inbound_unsubscribed(contact, &me, now);
        }
        self.bump(user);
        let mut removed = RosterItem::new(contact);
        removed.subscription = Subscription::Remove;
        self.push_item(user, &removed, now);
    }

    fn bump(&mut self, user: &str) -> String {
        match self.accounts.get_mut(user) {
            Some(a) => {
                a.ver += 1;
                a.ver.to_string()
            }
            None => String::new(),
        }
    }

    /// A roster push of `contact`'s item (after a change) to every
    /// interested resource of `user`.
    fn push(&mut self, user: &str, contact: &str, now: Instant) {
        self.bump(user);
        let item = self
            .accounts
            .get(user)
            .and_then(|a| a.roster.get(contact))
            .cloned();
        if let Some(item) = item {
            self.push_item(user, &item, now);
        }
    }

    fn push_item(&mut self, user: &str, item: &RosterItem, now: Instant) {
        let ver = self
            .accounts
            .get(user)
            .map(|a| a.ver.to_string())
            .unwrap_or_default();
        let query = Element::builder("query", ns::ROSTER)
            .attr("ver", ver)
            .child(item.to_element())
            .build();
        for t in self.interested(user) {
            if let Some(s) = self.sessions.get_mut(&t) {
                let to = s.jid.clone();
                let _ = s
                    .stream
                    .send_iq(IqType::Set, to.as_deref(), query.clone(), now);
            }
        }
    }

    // ---- presence (RFC 6121 §3, §4) ----

    fn on_presence(&mut self, id: SessionId, el: Element, now: Instant) {
        let Some(full) = self.sessions.get(&id).and_then(|s| s.jid.clone()) else {
            return;
        };
        let Some(user) = self.local_user(&full) else {
            return;
        };
        let me = bare(&full);
        let type_ = el.attr("type").map(str::to_owned);
        let to = el.attr("to").map(str::to_owned);
        match (type_.as_deref(), to) {
            (
                Some(kind @ ("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed")),
                Some(to),
            ) => {
                let contact = bare(&to);
                if !self.is_our_domain(&contact) {
                    return self.reject(id, &el, StanzaErrorCondition::RemoteServerNotFound, now);
                }
                let el = with_attr(&el, "to", &contact);
                self.log(id, format!("{kind} → {contact}"));
                match kind {
                    "subscribe" => self.outbound_subscribe(&user, &me, &contact, el, now),
                    "subscribed" => self.outbound_subscribed(&user, &me, &contact, el, now),
                    "unsubscribe" => self.outbound_unsubscribe(&user, &me, &contact, el, now),
                    _ => self.outbound_unsubscribed(&user, &me, &contact, el, now),
                }
            }
            (Some("probe"), Some(to)) => {
                let contact = bare(&to);
                self.answer_probe(&contact, &me, &[id], now);
            }
            (None | Some("unavailable"), None) => self.on_broadcast(id, &user, &full, el, now),
            (None | Some("unavailable") | Some("error"), Some(to)) => {
                // Directed presence (§4.6), or a presence error back.
                if !self.is_our_domain(&to) {
                    return self.reject(id, &el, StanzaErrorCondition::RemoteServerNotFound, now);
                }
                if is_full(&to) {
                    if let Some(target) = self.session_of(&to) {
                        self.deliver(target, el, now);
                    }
                } else if let Some(target_user) = self.local_user(&to)
                    && type_.as_deref() != Some("error")
                {
                    let targets = self.available(&target_user);
                    self.deliver_all(&targets, &el, now);
                }
            }
            // Subscription types without `to`, and the rest: nothing to do.
            _ => {}
        }
    }

    /// Presence with no `to` (§4.2, §4.4, §4.5): broadcast.
    fn on_broadcast(&mut self, id: SessionId, user: &str, full: &str, el: Element, now: Instant) {
        let available = el.attr("type").is_none();
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        let initial = available && s.presence.is_none();
        if available {
            s.priority = Presence::from_element(el.clone())
                .map(|p| p.priority())
                .unwrap_or(0);
            s.presence = Some(el.clone());
        } else if s.presence.take().is_none() {
            return; // unavailable while unavailable: nothing to tell
        }
        self.log(
            id,
            format!(
                "{} presence",
                if initial {
                    "initial"
                } else if available {
                    "updated"
                } else {
                    "unavailable"
                }
            ),
        );
        self.broadcast(full, &el, now);
        if available {
            // The account's own available resources, this one included (§4.2.2).
            let own: Vec<SessionId> = self.available(user);
            self.deliver_all(&own, &el, now);
        }
        if initial {
            let me = bare(full);
            // §4.3: probes to every contact we are subscribed to.
            let contacts =
                self.contacts_of(user, |s| matches!(s, Subscription::To | Subscription::Both));
            for contact in contacts {
                self.answer_probe(&contact, &me, &[id], now);
            }
            // §3.1.3: pending requests again, to the new resource.
            let pending: Vec<Element> = self
                .accounts
                .get(user)
                .map(|a| a.pending_in.values().cloned().collect())
                .unwrap_or_default();
            for p in pending {
                self.deliver(id, p, now);
            }
        }
    }

    /// `el` (from `full`, no `to`) to every available resource of every
    /// subscriber (`from` / `both`), and, when unavailable, to the
    /// account's other available resources.
    fn broadcast(&mut self, full: &str, el: &Element, now: Instant) {
        let Some(user) = self.local_user(full) else {
            return;
        };
        let subscribers = self.contacts_of(&user, |s| {
            matches!(s, Subscription::From | Subscription::Both)
        });
        for contact in subscribers {
            if let Some(c) = self.local_user(&contact) {
                for t in self.available(&c) {
                    let to = self.sessions.get(&t).and_then(|s| s.jid.clone());
                    if let Some(to) = to {
                        self.deliver(t, with_attr(el, "to", &to), now);
                    }
                }
            }
        }
        if el.attr("type") == Some("unavailable") {
            let own = self.available(&user);
            self.deliver_all(&own, el, now);
        }
    }

    /// A probe from `prober` (bare) about `contact` (§4.3.2): the current
    /// presence of each of the contact's available resources, to
    /// `targets` (the prober's sessions), if the prober may see it.
    fn answer_probe(&mut self, contact: &str, prober: &str, targets: &[SessionId], now: Instant) {
        let Some(c) = self.local_user(contact) else {
            return;
        };
        let allowed = matches!(
            self.subscription(&c, prober),
            Some(Subscription::From | Subscription::Both)
        ) || bare(contact) == prober;
        if !allowed {
            return;
        }
        self.send_current_presence(&c, targets, now);
    }

    /// The last presence of each available resource of `user`, to `targets`.
    fn send_current_presence(&mut self, user: &str, targets: &[SessionId], now: Instant) {
        let presences: Vec<Element> = self
            .available(user)
            .into_iter()
            .filter_map(|t| self.sessions.get(&t).and_then(|s| s.presence.clone()))
            .collect();
        for t in targets {
            let Some(to) = self.sessions.get(t).and_then(|s| s.jid.clone()) else {
                continue;
            };
            for p in &presences {
                self.deliver(*t, with_attr(p, "to", &to), now);
            }
        }
    }

    /// Unavailable presence from each available resource of `user` to the
    /// available resources of `contact` (it no longer sees us).
    fn unavailable_to(&mut self, user: &str, contact: &str, now: Instant) {
        let Some(c) = self.local_user(contact) else {
            return;
        };
        let froms: Vec<String> = self
            .available(user)
            .into_iter()
            .filter_map(|t| self.sessions.get(&t).and_then(|s| s.jid.clone()))
            .collect();
        for t in self.available(&c) {
            let Some(to) = self.sessions.get(&t).and_then(|s| s.jid.clone()) else {
                continue;
            };
            for from in &froms {
                self.deliver(t, presence_of(Some("unavailable"), from, &to), now);
            }
        }
    }

    fn item_mut(&mut self, user: &str, contact: &str) -> Option<&mut RosterItem> {
        self.accounts.get_mut(user)?.roster.get_mut(contact)
    }

    /// §3.1.2: the user asks to see `contact`'s presence.
    fn outbound_subscribe(
        &mut self,
        user: &str,
        me: &str,
        contact: &str,
        el: Element,
        now: Instant,
    ) {
        let Some(account) = self.accounts.get_mut(user) else {
            return;
        };
        let item = account
            .roster
            .entry(contact.to_owned())
            .or_insert_with(|| RosterItem::new(contact));
        if matches!(item.subscription, Subscription::None | Subscription::From) && !item.ask {
            item.ask = true;
            self.push(user, contact, now);
        }
        self.inbound_subscribe(contact, me, el, now);
    }

    /// §3.1.3: at the contact.
    fn inbound_subscribe(&mut self, contact: &str, requester: &str, el: Element, now: Instant) {
        let Some(c) = self.local_user(contact) else {
            return; // §8.5.1: silently ignored
        };
        if matches!(
            self.subscription(&c, requester),
            Some(Subscription::From | Subscription::Both)
        ) {
            // Already approved: the contact's server answers for it.
            let me = bare(contact);
            let answer = presence_of(Some("subscribed"), &me, requester);
            return self.inbound_subscribed(requester, &me, answer, now);
        }
        if let Some(a) = self.accounts.get_mut(&c) {
            a.pending_in.insert(requester.to_owned(), el.clone());
        }
        let targets = self.available(&c);
        self.deliver_all(&targets, &el, now);
    }

    /// §3.1.5: the user approves `contact`'s request.
    fn outbound_subscribed(
        &mut self,
        user: &str,
        me: &str,
        contact: &str,
        el: Element,
        now: Instant,
    ) {
        let Some(account) = self.accounts.get_mut(user) else {
            return;
        };
        if account.pending_in.remove(contact).is_none() {
            return; // no request to approve (no pre-approval here)
        }
        let item = account
            .roster
            .entry(contact.to_owned())
            .or_insert_with(|| RosterItem::new(contact));
        item.subscription = match item.subscription {
            Subscription::To | Subscription::Both => Subscription::Both,
            _ => Subscription::From,
        };
        self.push(user, contact, now);
        self.inbound_subscribed(contact, me, el, now);
        // The contact now sees our current presence.
        if let Some(c) = self.local_user(contact) {
            let targets = self.available(&c);
            self.send_current_presence(user, &targets, now);
        }
    }

    /// §3.1.6: at the requester, the approval.
    fn inbound_subscribed(&mut self, user_addr: &str, contact: &str, el: Element, now: Instant) {
        let Some(u) = self.local_user(user_addr) else {
            return;
        };
        let Some(item) = self.item_mut(&u, contact) else {
            return; // §3.1.6: ignored
        };
        if !item.ask || !matches!(item.subscription, Subscription::None | Subscription::From) {
            return;
        }
        item.ask = false;
        item.subscription = match item.subscription {
            Subscription::From => Subscription::Both,
            _ => Subscription::To,
        };
        self.push(&u, contact, now);
        let targets = self.available(&u);
        self.deliver_all(&targets, &el, now);
    }

    /// §3.3.2: the user stops seeing `contact`'s presence.
    fn outbound_unsubscribe(
        &mut self,
        user: &str,
        me: &str,
        contact: &str,
        _el: Element,
        now: Instant,
    ) {
        if let Some(item) = self.item_mut(user, contact) {
            let before = (item.subscription, item.ask);
            item.ask = false;
            item.subscription = match item.subscription {
                Subscription::Both => Subscription::From,
                Subscription::To => Subscription::None,
                s => s,
            };
            if before != (item.subscription, item.ask) {
                self.push(user, contact, now);
            }
        }
        self.inbound_unsubscribe(contact, me, now);
    }

    /// §3.3.3: at the contact.
    fn inbound_unsubscribe(&mut self, contact: &str, requester: &str, now: Instant) {
        let Some(c) = self.local_user(contact) else {
            return;
        };
        let had_pending = self
            .accounts
            .get_mut(&c)
            .and_then(|a| a.pending_in.remove(requester))
            .is_some();
        let Some(item) = self.item_mut(&c, requester) else {
            return;
        };
        if !matches!(item.subscription, Subscription::From | Subscription::Both) {
            let _ = had_pending;
            return;
        }
        item.subscription = match item.subscription {
            Subscription::Both => Subscription::To,
            _ => Subscription::None,
        };
        self.push(&c, requester, now);
        let el = presence_of(Some("unsubscribe"), requester, &bare(contact));
        let targets = self.available(&c);
        self.deliver_all(&targets, &el, now);
        self.unavailable_to(&c, requester, now);
    }

    /// §3.2: the user cancels or denies `contact`'s subscription.
    fn outbound_unsubscribed(
        &mut self,
        user: &str,
        me: &str,
        contact: &str,
        el: Element,
        now: Instant,
    ) {
        let had_pending = self
            .accounts
            .get_mut(user)
            .and_then(|a| a.pending_in.remove(contact))
            .is_some();
        let mut had_from = false;
        if let Some(item) = self.item_mut(user, contact)
            && matches!(item.subscription, Subscription::From | Subscription::Both)
        {
            had_from = true;
            item.subscription = match item.subscription {
                Subscription::Both => Subscription::To,
                _ => Subscription::None,
            };
        }
        if had_from {
            self.push(user, contact, now);
            self.unavailable_to(user, contact, now);
        }
        if had_from || had_pending {
            self.inbound_unsubscribed_el(contact, me, el, now);
        }
    }

    fn inbound_unsubscribed(&mut self, user_addr: &str, contact: &str, now: Instant) {
        let el = presence_of(Some("unsubscribed"), contact, &bare(user_addr));
        self.inbound_unsubscribed_el(user_addr, contact, el, now);
    }

    /// §3.2.3: at the (former) subscriber.
    fn inbound_unsubscribed_el(
        &mut self,
        user_addr: &str,
        contact: &str,
        el: Element,
        now: Instant,
    ) {
        let Some(u) = self.local_user(user_addr) else {
            return;
        };
        let Some(item) = self.item_mut(&u, contact) else {
            return;
        };
        if !item.ask && !matches!(item.subscription, Subscription::To | Subscription::Both) {
            return; // §3.2.3: ignored
        }
        item.ask = false;
        item.subscription = match item.subscription {
            Subscription::Both => Subscription::From,
            Subscription::To => Subscription::None,
            s => s,
        };
        self.push(&u, contact, now);
        let targets = self.available(&u);
        self.deliver_all(&targets, &el, now);
    }

    /// The state a session's stream is in (for tests).
    pub fn state(&self, id: SessionId) -> Option<State> {
        self.sessions.get(&id).map(|s| s.stream.state())
    }
}
