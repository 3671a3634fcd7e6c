//! The server's negotiator: stream negotiation as the receiving entity of
//! a client-to-server stream (RFC 6120 §4–§7). It answers each client
//! header with ours and the features of the stage (STARTTLS, SASL, then
//! resource binding), hands STARTTLS over to the caller, runs the SASL
//! exchange with [`ServerAuth`] (asking the application for the stored
//! keys through an event), asks the application to accept or refuse each
//! bind request, and once bound stamps `from` on every stanza the client
//! sends (§8.1.2.1). Every transition of [`ServerStep`] is here; stanzas
//! go to the shared dispatcher once bound.

pub(super) mod config;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::iq::OwnAddress;
use crate::sasl::{
    ChannelBinding, FailureReason, Identity, Mechanism, ServerAuth, ServerSaslConfig, ServerStep,
    StoredCredentials, decode_payload,
};
use crate::stanza::{
    ErrorType, Iq, IqType, StanzaError, StanzaErrorCondition, StanzaParseError, StanzaView,
    StreamErrorCondition, is_valid_address, same_address,
};
use crate::time::Instant;
use crate::xml::{Element, ns, writer};

use super::config::check_resource;
use super::dispatch::is_stanza;
use super::role::Role;
use super::{Error, Event, Phase, Stream, TlsPolicy, UsageError, protocol};
use config::ServerConfig;

/// The server's negotiation step, while the shared phase is
/// [`Phase::Negotiating`].
#[derive(Debug)]
pub(super) enum Step {
    /// Waiting for the client's header (the first, or after a restart).
    AwaitHeader,
    /// The features before authentication are out: `<starttls/>` or
    /// `<auth/>` may come.
    AwaitAuth,
    /// A SASL exchange runs. `awaiting_credentials`: the application was
    /// asked for the account's keys ([`Event::CredentialsRequest`]).
    Sasl {
        auth: Box<ServerAuth>,
        awaiting_credentials: bool,
    },
    /// Authenticated, binding offered: a bind request may come.
    AwaitBind,
    /// A bind request was reported ([`Event::BindRequest`]); the
    /// application accepts or refuses it.
    BindDecision { request: Box<Element> },
    /// A resumption request was reported ([`Event::ResumeRequest`]); the
    /// application accepts or refuses it (XEP-0198 §5).
    ResumeDecision { previd: String, h: u32 },
}

/// What only the server end keeps.
#[derive(Debug)]
pub(super) struct ServerSide {
    pub(super) config: ServerConfig,
    pub(super) step: Step,
    /// The channel-binding data of the TLS layer (SCRAM-PLUS).
    pub(super) channel_binding: ChannelBinding,
    /// The bare JID the client authenticated as.
    pub(super) account: Option<String>,
    /// The full JID bound to the stream.
    pub(super) bound_jid: Option<String>,
    /// SASL exchanges that failed on this stream.
    pub(super) sasl_failures: u32,
    /// Our id for the current stream (a fresh one for each header).
    pub(super) stream_id: String,
    /// The client header's `from` (if an address), echoed as our `to`.
    pub(super) peer_from: Option<String>,
    /// Our header for the client's current stream is out.
    pub(super) answered: bool,
    /// The addresses replies to our own requests may come from.
    pub(super) own: OwnAddress,
}

impl ServerSide {
    pub(super) fn new(config: ServerConfig) -> Self {
        let domain = config.domain().to_owned();
        Self {
            config,
            step: Step::AwaitHeader,
            channel_binding: ChannelBinding::None,
            account: None,
            bound_jid: None,
            sasl_failures: 0,
            stream_id: String::new(),
            peer_from: None,
            answered: false,
            own: OwnAddress {
                bare: domain.clone(),
                domain,
            },
        }
    }

    /// Our stream header (RFC 6120 §4.7): `from` our domain, a fresh `id`,
    /// `to` the client's `from` if it gave one (§4.7.2), version 1.0.
    pub(super) fn header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(256);
        h.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='");
        writer::escape_attr(self.config.domain(), &mut h);
        h.extend_from_slice(b"' id='");
        writer::escape_attr(&self.stream_id, &mut h);
        h.push(b'\'');
        if let Some(to) = &self.peer_from {
            h.extend_from_slice(b" to='");
            writer::escape_attr(to, &mut h);
            h.push(b'\'');
        }
        h.extend_from_slice(b" version='1.0'");
        if let Some(lang) = &self.config.lang {
            h.extend_from_slice(b" xml:lang='");
            writer::escape_attr(lang, &mut h);
            h.push(b'\'');
        }
        h.push(b'>');
        h
    }

    /// The SASL policy of this stage of the stream.
    fn sasl_config(&self, tls_active: bool) -> ServerSaslConfig {
        let mut c = ServerSaslConfig::new(self.config.unknown_account_secret.clone());
        c.mechanisms = self.config.mechanisms.clone();
        c.tls = tls_active;
        if self.channel_binding.type_name().is_some() {
            c.channel_bindings = vec![self.channel_binding.clone()];
        }
        c.allow_plain_without_tls = self.config.allow_plaintext_auth;
        c.iterations = self.config.scram_iterations;
        c.domain = Some(self.config.domain().to_owned());
        c
    }

    /// Whether STARTTLS is offered now.
    fn offers_starttls(&self, tls_active: bool) -> bool {
        !tls_active && self.config.tls != TlsPolicy::Disabled
    }

    /// Whether STARTTLS must come first (nothing else is offered).
    fn tls_first(&self, tls_active: bool) -> bool {
        !tls_active && self.config.tls == TlsPolicy::Required
    }

    /// RFC 6120 §8.1.2.1: a stanza from the client gets `from` set to its
    /// full JID (the bare JID for subscription-related presence, as the
    /// RFC allows and RFC 6121 §3 asks). A `from` the client gave must be
    /// its full or bare JID: anything else is `Err` (`invalid-from`).
    pub(super) fn stamp(&self, el: Element) -> Result<Element, Element> {
        let (Some(full), Some(bare)) = (self.bound_jid.as_deref(), self.account.as_deref()) else {
            return Err(el);
        };
        if el
            .attr("from")
            .is_some_and(|f| !same_address(f, full) && !same_address(f, bare))
        {
            return Err(el);
        }
        let subscription = el.name() == "presence"
            && matches!(
                el.attr("type"),
                Some("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed")
            );
        let from = if subscription { bare } else { full };
        // A stanza that cannot be rebuilt is not passed on unstamped.
        el.to_builder()
            .attr("from", from)
            .try_build()
            .map_err(|_| el)
    }

    /// Whether `to` addresses the server itself (no `to`, or our domain).
    pub(super) fn addressed_to_server(&self, to: Option<&str>) -> bool {
        to.is_none_or(|t| same_address(t, self.config.domain()))
    }
}

/// `<challenge/>`: empty data is an empty element.
fn challenge_element(data: &[u8]) -> Element {
    Element::builder("challenge", ns::SASL)
        .text(BASE64.encode(data))
        .build()
}

/// `<success/>`, with the additional data if any (RFC 6120 §6.4.6).
fn success_element(data: Option<&[u8]>) -> Element {
    let b = Element::builder("success", ns::SASL);
    match data {
        Some(d) if !d.is_empty() => b.text(BASE64.encode(d)),
        _ => b,
    }
    .build()
}

/// `<failure/>` with the condition of `reason` (RFC 6120 §6.5).
fn failure_element(reason: FailureReason) -> Element {
    Element::builder("failure", ns::SASL)
        .child(Element::new(reason.condition().as_str(), ns::SASL))
        .build()
}

/// An error reply to a message or presence (RFC 6120 §8.3.1): the same
/// kind of stanza, type `error`, back to its sender, with its id. `None`
/// for one that is an error already (never answered).
fn stanza_error_reply(el: &Element, error: StanzaError) -> Option<Element> {
    if el.attr("type") == Some("error") {
        return None;
    }
    if el.name() == "iq" {
        return match el.attr("type") {
            Some("get" | "set") => Iq::error_reply_to_element(el, error),
            _ => None,
        };
    }
    Some(
        Element::builder(el.name(), el.ns())
            .attr("type", "error")
            .attr_opt("id", el.attr("id"))
            .attr_opt("to", el.attr("from"))
            .child(error.to_element_in(el.ns()))
            .build(),
    )
}

impl Stream {
    /// A server stream for `config`: the receiving entity of one accepted
    /// client connection. [`Stream::start`] arms the negotiation timer
    /// and writes nothing; our header answers the client's.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{Event, ServerConfig, Stream, TlsPolicy};
    ///
    /// let mut config = ServerConfig::new("example.com", *b"fake-salt secret", [1; 32]);
    /// config.tls = TlsPolicy::Disabled;                     // a loopback test
    /// let now = Instant::now();
    /// let mut server = Stream::server(config);
    /// server.start(now)?;
    /// assert_eq!(server.poll_transmit(), None);             // the client speaks first
    /// server.handle_input(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    ///     xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>", now)?;
    /// let answer = String::from_utf8(server.poll_transmit().unwrap().to_vec()).unwrap();
    /// assert!(answer.starts_with("<?xml version='1.0'?><stream:stream xmlns='jabber:client'"));
    /// assert!(answer.contains("from='example.com'") && answer.contains(" id='"));
    /// assert!(answer.ends_with("<mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"));
    /// assert!(matches!(server.poll_event(), Some(Event::StreamHeader(h)) if h.to.as_deref() == Some("example.com")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// A whole login, the application answering the stream's requests
    /// (here at once; a real one when its account store replies):
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::sasl::StoredCredentials;
    /// use xmpp_sansio::stanza::StanzaView;
    /// use xmpp_sansio::{Event, ServerConfig, Stream, TlsPolicy};
    ///
    /// let mut config = ServerConfig::new("example.com", *b"fake-salt secret", [1; 32]);
    /// config.tls = TlsPolicy::Disabled;
    /// config.allow_plaintext_auth = true;                  // PLAIN in the clear: tests only
    /// let now = Instant::now();
    /// let mut server = Stream::server(config);
    /// server.start(now)?;
    /// let header = "<stream:stream xmlns='jabber:client' \
    ///     xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";
    /// // "\0juliet\0r0m30", base64:
    /// let auth = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldAByMG0zMA==</auth>";
    /// server.handle_input(format!("{header}{auth}").as_bytes(), now)?;
    /// let mut events = std::iter::from_fn(|| server.poll_event()).skip(1); // the header
    /// assert!(matches!(events.next(), Some(Event::CredentialsRequest { username, .. }) if username == "juliet"));
    /// drop(events);
    /// // The account store keeps salted keys, never the password:
    /// let keys = StoredCredentials::derive("r0m30", b"0123456789abcdef", 4096)?;
    /// server.provide_credentials(Some(&keys), now)?;
    /// assert!(String::from_utf8(server.poll_transmit().unwrap().to_vec())?.ends_with("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"));
    ///
    /// // The client restarts the stream and asks for a resource.
    /// let bind = "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
    ///     <resource>balcony</resource></bind></iq>";
    /// server.handle_input(format!("{header}{bind}").as_bytes(), now)?;
    /// let request = std::iter::from_fn(|| server.poll_event()).find(|e| matches!(e, Event::BindRequest { .. }));
    /// assert!(matches!(request, Some(Event::BindRequest { account, resource: Some(r), .. })
    ///     if account == "juliet@example.com" && r == "balcony"));
    /// server.accept_bind(Some("balcony"), now)?;             // or refuse_bind(conflict)
    /// assert_eq!(server.poll_event(), Some(Event::Online { jid: "juliet@example.com/balcony".into() }));
    ///
    /// // What the client sends now comes from its full JID.
    /// server.handle_input(b"<message to='romeo@example.net'><body>hi</body></message>", now)?;
    /// let Some(Event::Message(m)) = server.poll_event() else { panic!() };
    /// assert_eq!(m.element().attr("from"), Some("juliet@example.com/balcony"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server(config: ServerConfig) -> Self {
        Self::new_with_role(
            config.rng_seed,
            super::config::Settings::of_server(&config),
            config.direct_tls,
            Role::Server(ServerSide::new(config)),
        )
    }

    /// Like [`Stream::server`] over a transport that is already TLS
    /// (direct TLS, XEP-0368), with the channel-binding data it offers
    /// (SCRAM-PLUS is offered with it).
    pub fn server_over_tls(mut config: ServerConfig, binding: ChannelBinding) -> Self {
        config.direct_tls = true;
        let mut stream = Self::server(config);
        if let Role::Server(s) = &mut stream.role {
            s.channel_binding = binding;
        }
        stream
    }

    /// Answers [`Event::CredentialsRequest`]: the account's stored keys,
    /// or `None` when there is no such account (the exchange then goes on
    /// as for a wrong password, and fails the same way: a client cannot
    /// tell the two apart). Call it as soon as the account store answers,
    /// now or later; the SASL exchange waits meanwhile (under
    /// [`ServerConfig::negotiation_timeout`]).
    ///
    /// Without a pending request this is
    /// [`UsageError::NotAwaitingCredentials`] (or [`UsageError::Closed`]),
    /// and nothing is sent.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ServerConfig, Stream, UsageError};
    /// let mut s = Stream::server(ServerConfig::new("example.com", *b"secret", [0; 32]));
    /// assert_eq!(s.provide_credentials(None, Instant::now()), Err(UsageError::NotAwaitingCredentials));
    /// ```
    pub fn provide_credentials(
        &mut self,
        credentials: Option<&StoredCredentials>,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.check_negotiating()?;
        let Role::Server(s) = &mut self.role else {
            return Err(UsageError::NotAwaitingCredentials);
        };
        if !matches!(
            s.step,
            Step::Sasl {
                awaiting_credentials: true,
                ..
            }
        ) {
            return Err(UsageError::NotAwaitingCredentials);
        }
        let Step::Sasl { mut auth, .. } = std::mem::replace(&mut s.step, Step::AwaitAuth) else {
            return Err(UsageError::NotAwaitingCredentials);
        };
        let step = auth.provide(credentials);
        self.on_sasl_step(auth, step, now);
        self.release_input(now);
        Ok(())
    }

    /// Accepts the bind request of [`Event::BindRequest`] (RFC 6120 §7.6):
    /// binds `resource` (the one the client asked for, or another: the
    /// server has the last word, §7.7.2.3), or with `None` one the stream
    /// generates from its random generator. The reply carries the full
    /// JID; [`Event::Online`] follows, and stanzas flow.
    ///
    /// A resource that is not valid (1 to 1023 bytes, a resourcepart) is
    /// [`UsageError::InvalidConfig`]; without a pending bind request this
    /// is [`UsageError::NotAwaitingBind`] (or [`UsageError::Closed`]).
    /// Either way nothing is sent.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ServerConfig, Stream, UsageError};
    /// let mut s = Stream::server(ServerConfig::new("example.com", *b"secret", [0; 32]));
    /// assert_eq!(s.accept_bind(Some("desk"), Instant::now()), Err(UsageError::NotAwaitingBind));
    /// ```
    pub fn accept_bind(&mut self, resource: Option<&str>, now: Instant) -> Result<(), UsageError> {
        self.check_negotiating()?;
        if let Some(resource) = resource {
            check_resource(resource).map_err(UsageError::InvalidConfig)?;
        }
        let generated = self.rng.alphanumeric(16);
        let Role::Server(s) = &mut self.role else {
            return Err(UsageError::NotAwaitingBind);
        };
        let Step::BindDecision { request } = &s.step else {
            return Err(UsageError::NotAwaitingBind);
        };
        let Some(account) = s.account.clone() else {
            return Err(UsageError::NotAwaitingBind);
        };
        let full = format!("{account}/{}", resource.unwrap_or(&generated));
        let reply = Iq::from_element((**request).clone()).ok().and_then(|iq| {
            iq.result_reply(Some(
                Element::builder("bind", ns::BIND)
                    .child(
                        Element::builder("jid", ns::BIND)
                            .text(full.as_str())
                            .build(),
                    )
                    .build(),
            ))
        });
        s.bound_jid = Some(full);
        s.step = Step::AwaitBind;
        if let Some(reply) = reply {
            self.write_stanza(&reply, now);
        }
        self.go_online(now);
        self.release_input(now);
        Ok(())
    }

    /// Refuses the bind request of [`Event::BindRequest`] with `error`
    /// (RFC 6120 §7.6.2, §7.7.2: `conflict` for a resource in use,
    /// `not-allowed`, `resource-constraint`…). The client may ask again;
    /// the stream waits for its next request (under
    /// [`ServerConfig::negotiation_timeout`]). Without a pending bind
    /// request this is [`UsageError::NotAwaitingBind`], and nothing is sent.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::stanza::{StanzaError, StanzaErrorCondition};
    /// use xmpp_sansio::{ServerConfig, Stream, UsageError};
    /// let mut s = Stream::server(ServerConfig::new("example.com", *b"secret", [0; 32]));
    /// let conflict = StanzaError::from_condition(StanzaErrorCondition::Conflict);
    /// assert_eq!(s.refuse_bind(conflict, Instant::now()), Err(UsageError::NotAwaitingBind));
    /// ```
    pub fn refuse_bind(&mut self, error: StanzaError, now: Instant) -> Result<(), UsageError> {
        self.check_negotiating()?;
        let Role::Server(s) = &mut self.role else {
            return Err(UsageError::NotAwaitingBind);
        };
        if !matches!(s.step, Step::BindDecision { .. }) {
            return Err(UsageError::NotAwaitingBind);
        }
        let Step::BindDecision { request } = std::mem::replace(&mut s.step, Step::AwaitBind) else {
            return Err(UsageError::NotAwaitingBind);
        };
        if let Some(reply) = Iq::error_reply_to_element(&request, error) {
            self.write_stanza(&reply, now);
        }
        self.release_input(now);
        Ok(())
    }

    /// Commands of the negotiation: the stream must still be negotiating.
    pub(super) fn check_negotiating(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Closing { .. } | Phase::Closed => Err(UsageError::Closed),
            _ => Ok(()),
        }
    }

    // ---- the negotiator ----

    /// The client's header passed the shared checks (content namespace,
    /// version): ours answers it, then the `to` is checked (RFC 6120
    /// §4.7.2: our domain, else `host-unknown`), then the features of the
    /// stage go out.
    pub(super) fn server_header_accepted(&mut self, now: Instant) {
        self.answer_header(now);
        let Role::Server(s) = &self.role else { return };
        let domain = s.config.domain().to_owned();
        let refused = match self.header().and_then(|h| h.to.as_deref()) {
            None => Some("the stream header has no 'to'".to_owned()),
            Some(to) if !same_address(to, &domain) => {
                Some(format!("this server serves {domain}, not {to:?}"))
            }
            Some(_) => None,
        };
        if let Some(reason) = refused {
            return self.fail(protocol(StreamErrorCondition::HostUnknown, reason));
        }
        self.send_features(now);
    }

    /// Writes our header for the client's current stream, once: with a
    /// fresh stream id (RFC 6120 §4.7.3), `to` the client's `from`. Also
    /// before a stream error, which a stream header must precede (§4.9.1.2).
    pub(super) fn answer_header(&mut self, now: Instant) {
        if self.write_server_header() {
            self.wrote(now);
        }
    }

    /// A stream error is due: on a server stream whose client header has
    /// no answer yet, our header goes first (RFC 6120 §4.9.1.2).
    pub(super) fn server_header_before_error(&mut self) {
        self.write_server_header();
    }

    /// Writes our header for the current stream unless it is out; `true`
    /// if it wrote it. Not on a client stream.
    fn write_server_header(&mut self) -> bool {
        if !matches!(&self.role, Role::Server(s) if !s.answered) {
            return false;
        }
        let id = self.rng.alphanumeric(16);
        let from = self
            .header()
            .and_then(|h| h.from.as_deref())
            .filter(|f| is_valid_address(f))
            .map(str::to_owned);
        let Role::Server(s) = &mut self.role else {
            return false;
        };
        if s.answered {
            return false;
        }
        s.answered = true;
        s.stream_id = id;
        s.peer_from = from;
        let header = s.header();
        self.out.header(&header)
    }

    /// The features of the stage (RFC 6120 §4.3.2): before TLS, STARTTLS
    /// (alone when required, §5.3.1); before authentication, the SASL
    /// mechanisms (§6.3.3, with XEP-0440's channel-binding types when a
    /// -PLUS form is offered); after it, resource binding, the optional
    /// legacy session and the configured extras.
    fn send_features(&mut self, now: Instant) {
        let tls_active = self.tls_active;
        let Role::Server(s) = &mut self.role else {
            return;
        };
        let mut features = Element::builder("features", ns::STREAM);
        if s.account.is_some() {
            features = features.child(Element::new("bind", ns::BIND));
            if s.config.offer_session {
                features = features.child(
                    Element::builder("session", ns::SESSION)
                        .child(Element::new("optional", ns::SESSION))
                        .build(),
                );
            }
            if s.config.stream_management.enable {
                features = features.child(Element::new("sm", ns::SM));
            }
            features = features.children(s.config.features.iter().cloned());
            s.step = Step::AwaitBind;
        } else {
            if s.offers_starttls(tls_active) {
                let mut starttls = Element::builder("starttls", ns::TLS);
                if s.tls_first(tls_active) {
                    starttls = starttls.child(Element::new("required", ns::TLS));
                }
                features = features.child(starttls.build());
            }
            if !s.tls_first(tls_active) {
                let sasl = s.sasl_config(tls_active);
                if !sasl.offered().is_empty() {
                    features = features.child(sasl.mechanisms_element());
                }
                if let Some(cb) = sasl.channel_binding_element() {
                    features = features.child(cb);
                }
            }
            s.step = Step::AwaitAuth;
        }
        self.write_nonza(&features.build(), now);
    }

    /// One element during negotiation; handed back if it is none of the
    /// negotiator's (the shared input loop then ends the stream with
    /// `unsupported-stanza-type`).
    pub(super) fn server_negotiate(&mut self, el: Element, now: Instant) -> Result<(), Element> {
        let tls_active = self.tls_active;
        let Role::Server(s) = &self.role else {
            return Err(el);
        };
        let content_ns = ns::JABBER_CLIENT;
        match &s.step {
            Step::AwaitAuth if el.is("starttls", ns::TLS) && s.offers_starttls(tls_active) => {
                self.on_starttls(now)
            }
            Step::AwaitAuth if el.is("auth", ns::SASL) => self.on_auth(&el, now),
            Step::Sasl { .. }
                if el.ns() == ns::SASL && matches!(el.name(), "response" | "abort") =>
            {
                self.on_sasl_response(&el, now)
            }
            Step::AwaitBind if is_bind_request(&el) => self.on_bind_request(el, now),
            Step::AwaitBind if el.ns() == ns::SM => self.server_sm_before_bind(&el, now),
            Step::AwaitBind | Step::BindDecision { .. } if is_stanza(&el, content_ns) => {
                self.on_unbound_stanza(el, now)
            }
            // RFC 6120 §4.9.3.12: stanzas before authentication.
            _ if is_stanza(&el, content_ns) && s.account.is_none() => self.fail(protocol(
                StreamErrorCondition::NotAuthorized,
                format!("<{}/> before authentication", el.name()),
            )),
            _ => return Err(el),
        }
        Ok(())
    }

    /// `<starttls/>`: `<proceed/>` is the last thing written in the clear
    /// (RFC 6120 §5.4.2.3); the caller upgrades the transport, then calls
    /// [`Stream::tls_established`]. Bytes after `<starttls/>` in the same
    /// read are refused by the input loop ([`Error::DataAfterProceed`]).
    fn on_starttls(&mut self, now: Instant) {
        self.write_nonza(&Element::new("proceed", ns::TLS), now);
        self.set_phase(Phase::AwaitTls);
        self.push_event(Event::StartTls);
    }

    /// TLS is up (after [`Event::StartTls`]): the client restarts the
    /// stream, and our header answers its new one.
    pub(super) fn server_tls_established(&mut self, binding: ChannelBinding) {
        if let Role::Server(s) = &mut self.role {
            s.channel_binding = binding;
            s.step = Step::AwaitHeader;
            s.answered = false;
        }
    }

    fn on_auth(&mut self, el: &Element, now: Instant) {
        let tls_active = self.tls_active;
        let nonce = self.rng.alphanumeric(24);
        let Role::Server(s) = &self.role else { return };
        if s.tls_first(tls_active) {
            // Nothing but STARTTLS was offered (RFC 6120 §5.3.1).
            return self.on_sasl_failure(None, FailureReason::EncryptionRequired, now);
        }
        let initial = match decode_payload(&el.text()) {
            Ok(initial) => initial,
            Err(reason) => return self.on_sasl_failure(None, reason, now),
        };
        let mut auth = match ServerAuth::new(&s.sasl_config(tls_active), &nonce) {
            Ok(auth) => Box::new(auth),
            Err(e) => return self.fail(Error::Sasl(e)),
        };
        let step = auth.start(el.attr("mechanism").unwrap_or_default(), initial.as_deref());
        self.on_sasl_step(auth, step, now);
    }

    fn on_sasl_response(&mut self, el: &Element, now: Instant) {
        let Role::Server(s) = &mut self.role else {
            return;
        };
        let Step::Sasl { mut auth, .. } = std::mem::replace(&mut s.step, Step::AwaitAuth) else {
            return;
        };
        let step = if el.name() == "abort" {
            auth.abort()
        } else {
            match decode_payload(&el.text()) {
                // An empty `<response/>` is empty data (RFC 6120 §6.4.3).
                Ok(data) => auth.respond(&data.unwrap_or_default()),
                Err(reason) => ServerStep::Failure(reason),
            }
        };
        self.on_sasl_step(auth, step, now);
    }

    /// Writes what `step` of the exchange calls for, and moves on.
    fn on_sasl_step(&mut self, auth: Box<ServerAuth>, step: ServerStep, now: Instant) {
        let mechanism = auth.mechanism();
        match step {
            ServerStep::Challenge(data) => {
                self.set_server_step(Step::Sasl {
                    auth,
                    awaiting_credentials: false,
                });
                self.write_nonza(&challenge_element(&data), now);
            }
            ServerStep::NeedCredentials { username, authzid } => {
                let Some(mechanism) = mechanism else {
                    return self.on_sasl_failure(None, FailureReason::OutOfOrder, now);
                };
                self.set_server_step(Step::Sasl {
                    auth,
                    awaiting_credentials: true,
                });
                self.push_event(Event::CredentialsRequest {
                    mechanism,
                    username,
                    authzid,
                });
                self.hold_input_for_decision();
            }
            ServerStep::Success {
                identity,
                additional_data,
            } => {
                let Some(mechanism) = mechanism else {
                    return self.on_sasl_failure(None, FailureReason::OutOfOrder, now);
                };
                let local = match &identity {
                    Identity::Account { username, .. } => username.clone(),
                    _ => self.rng.alphanumeric(16).to_lowercase(),
                };
                self.write_nonza(&success_element(additional_data.as_deref()), now);
                let Role::Server(s) = &mut self.role else {
                    return;
                };
                s.account = Some(format!("{local}@{}", s.config.domain()));
                s.step = Step::AwaitHeader;
                s.answered = false;
                self.push_event(Event::Authenticated { mechanism });
                // RFC 6120 §6.4.6: a new stream; whatever the client
                // pipelined after its last SASL element is kept.
                self.restart_framer();
            }
            ServerStep::Failure(reason) => self.on_sasl_failure(mechanism, reason, now),
        }
    }

    fn set_server_step(&mut self, step: Step) {
        if let Role::Server(s) = &mut self.role {
            s.step = step;
        }
    }

    /// `<failure/>` with the condition; the client may try again
    /// (RFC 6120 §6.4.5) until [`ServerConfig::sasl_attempts`] are used,
    /// then the stream ends with `not-authorized`.
    fn on_sasl_failure(
        &mut self,
        mechanism: Option<Mechanism>,
        reason: FailureReason,
        now: Instant,
    ) {
        self.write_nonza(&failure_element(reason), now);
        let Role::Server(s) = &mut self.role else {
            return;
        };
        s.sasl_failures = s.sasl_failures.saturating_add(1);
        s.step = Step::AwaitAuth;
        let attempts_left = s
            .config
            .effective_sasl_attempts()
            .saturating_sub(s.sasl_failures);
        self.push_event(Event::AuthFailed {
            mechanism,
            reason,
            attempts_left,
        });
        if attempts_left == 0 {
            self.fail(protocol(
                StreamErrorCondition::NotAuthorized,
                "too many failed authentication attempts",
            ));
        }
    }

    /// `<iq type='set'><bind/></iq>`: a resource the client may not have
    /// (not a valid resourcepart, RFC 6120 §7.7.2.1) is refused at once
    /// with `bad-request`; otherwise the application decides
    /// ([`Event::BindRequest`]).
    fn on_bind_request(&mut self, el: Element, now: Instant) {
        let resource = el
            .children()
            .find(|c| c.is("bind", ns::BIND))
            .and_then(|b| b.get_child("resource", ns::BIND))
            .map(|r| r.text().trim().to_owned())
            .filter(|r| !r.is_empty());
        if let Some(r) = &resource
            && let Err(e) = check_resource(r)
        {
            let error = StanzaError::new(ErrorType::Modify, StanzaErrorCondition::BadRequest)
                .with_text(Some("en"), e.to_string());
            if let Some(reply) = Iq::error_reply_to_element(&el, error) {
                self.write_stanza(&reply, now);
            }
            return;
        }
        let id = el.attr("id").unwrap_or_default().to_owned();
        let Role::Server(s) = &mut self.role else {
            return;
        };
        let account = s.account.clone().unwrap_or_default();
        s.step = Step::BindDecision {
            request: Box::new(el),
        };
        self.push_event(Event::BindRequest {
            id,
            account,
            resource,
        });
        self.hold_input_for_decision();
    }

    /// A stanza after authentication but before binding: it has no full
    /// JID to come from, so it is not processed. A request or message that
    /// can be answered gets `not-authorized` (as Prosody answers); the
    /// rest is [`Event::Unhandled`].
    fn on_unbound_stanza(&mut self, el: Element, now: Instant) {
        let error = StanzaError::new(ErrorType::Auth, StanzaErrorCondition::NotAuthorized)
            .with_text(Some("en"), "bind a resource first");
        match stanza_error_reply(&el, error) {
            Some(reply) => self.write_stanza(&reply, now),
            None => self.push_event(Event::Unhandled(el)),
        }
    }

    /// A stanza from the bound client, before the dispatcher sees it:
    /// `from` stamped (or `invalid-from`), a `to` that is not an address
    /// answered with `jid-malformed`. `None` if it was dealt with here.
    pub(super) fn server_inbound(&mut self, el: Element, now: Instant) -> Option<Element> {
        let Role::Server(s) = &self.role else {
            return Some(el);
        };
        let el = match s.stamp(el) {
            Ok(el) => el,
            Err(el) => {
                let from = el.attr("from").unwrap_or_default().to_owned();
                self.fail(protocol(
                    StreamErrorCondition::InvalidFrom,
                    format!("'from' {from:?} is not the client's address"),
                ));
                return None;
            }
        };
        if let Some(to) = el.attr("to").filter(|t| !is_valid_address(t)) {
            let error = StanzaParseError::JidMalformed {
                attr: "to",
                value: to.to_owned(),
            };
            let reply = stanza_error_reply(&el, error.stanza_error());
            if let Some(reply) = &reply {
                self.write_stanza(reply, now);
            }
            let event = if el.name() == "iq" && !matches!(el.attr("type"), Some("result" | "error"))
            {
                Event::MalformedRequest {
                    request: el,
                    error,
                    replied: reply.is_some(),
                }
            } else {
                Event::Unhandled(el)
            };
            self.push_event(event);
            return None;
        }
        Some(el)
    }

    /// Online, the server answers a legacy session request (RFC 6121
    /// Appendix E) with a result, when it offered the feature.
    pub(super) fn server_answers_session(&mut self, iq: &Iq, now: Instant) -> bool {
        let Role::Server(s) = &self.role else {
            return false;
        };
        let session = s.config.offer_session
            && iq.type_() == IqType::Set
            && s.addressed_to_server(iq.element().attr("to"))
            && iq.payload().is_some_and(|p| p.is("session", ns::SESSION));
        if session && let Some(reply) = iq.result_reply(None) {
            self.write_stanza(&reply, now);
        }
        session
    }
}

/// `<iq type='set'>` whose one child is `<bind/>` (RFC 6120 §7.6).
fn is_bind_request(el: &Element) -> bool {
    el.is("iq", ns::JABBER_CLIENT)
        && el.attr("type") == Some("set")
        && el.attr("id").is_some_and(|i| !i.is_empty())
        && el.children().count() == 1
        && el.children().any(|c| c.is("bind", ns::BIND))
}
