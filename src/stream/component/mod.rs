//! The component roles (XEP-0114, `jabber:component:accept`): an external
//! component connecting to a server ([`ComponentSide`], the initiating
//! entity) and the server accepting it ([`ComponentServerSide`], the
//! receiving entity).
//!
//! The exchange (XEP-0114 §3): the component's header names the
//! component (`to`); the server answers with its header and a fresh stream
//! id; the component sends `<handshake>` with `hex(SHA-1(id ++ secret))`;
//! the server checks it in constant time and answers an empty
//! `<handshake/>` (or `not-authorized`). Stanzas then flow both ways
//! through the shared dispatcher, each with a `from` and a `to`: what the
//! component sends comes from its own domain (`invalid-from` otherwise).
//! Headers carry no `version` (the protocol predates RFC 3920's).

pub(super) mod config;

use crate::component::{handshake_element, verify_handshake};
use crate::iq::OwnAddress;
use crate::stanza::{StreamErrorCondition, is_valid_address, same_address};
use crate::time::Instant;
use crate::xml::{Element, ns, writer};

use super::dispatch::is_stanza;
use super::role::Role;
use super::{Event, InvalidStanzaReason, Phase, Stream, UsageError, protocol};
use config::{ComponentConfig, ComponentServerConfig, check_domain};

/// The domainpart of an address (`[local@]domain[/resource]`).
fn domain_of(address: &str) -> &str {
    let bare = address.split('/').next().unwrap_or_default();
    bare.split_once('@').map_or(bare, |(_, domain)| domain)
}

/// Whether `address` is an address whose domainpart is `domain`.
fn within(address: &str, domain: &str) -> bool {
    is_valid_address(address) && same_address(domain_of(address), domain)
}

/// A shared secret, kept out of `Debug` output.
#[derive(Clone)]
pub(super) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The component's negotiation step.
#[derive(Debug)]
pub(super) enum ComponentStep {
    /// Our header is out; the server's is awaited.
    AwaitHeader,
    /// Our `<handshake>` is out; the server's empty one is awaited.
    AwaitHandshake,
    /// The server accepted the handshake.
    Online,
}

/// What only the component end keeps.
#[derive(Debug)]
pub(super) struct ComponentSide {
    pub(super) config: ComponentConfig,
    pub(super) step: ComponentStep,
    /// The component's domain, as both the bare JID and the domain.
    pub(super) own: OwnAddress,
    /// The component's domain, once the server accepted the handshake.
    pub(super) online_jid: Option<String>,
}

impl ComponentSide {
    pub(super) fn new(config: ComponentConfig) -> Self {
        let domain = config.domain().to_owned();
        Self {
            config,
            step: ComponentStep::AwaitHeader,
            own: OwnAddress {
                bare: domain.clone(),
                domain,
            },
            online_jid: None,
        }
    }

    /// Our header (XEP-0114 §3): `to` is the component's name; no
    /// `version`.
    pub(super) fn header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(160);
        h.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='");
        writer::escape_attr(self.config.domain(), &mut h);
        h.extend_from_slice(b"'>");
        h
    }

    /// What the component may send: a `from` in its domain (XEP-0114 §3)
    /// and a `to` that is an address.
    pub(super) fn check_outbound(&self, el: &Element) -> Result<(), InvalidStanzaReason> {
        if !el
            .attr("from")
            .is_some_and(|f| within(f, self.config.domain()))
        {
            return Err(InvalidStanzaReason::InvalidFrom);
        }
        check_to(el.attr("to"))
    }
}

/// A `to` that is present and an address.
fn check_to(to: Option<&str>) -> Result<(), InvalidStanzaReason> {
    if to.is_some_and(is_valid_address) {
        Ok(())
    } else {
        Err(InvalidStanzaReason::InvalidTo)
    }
}

/// The server's negotiation step on a component stream.
#[derive(Debug)]
pub(super) enum AcceptStep {
    /// Waiting for the component's header.
    AwaitHeader,
    /// [`Event::ComponentRequest`] is out: the application accepts the
    /// name (with its secret) or refuses it. A handshake that arrives
    /// meanwhile waits here.
    Deciding { handshake: Option<String> },
    /// The name is accepted; the component's handshake is awaited.
    AwaitHandshake { secret: Secret },
    /// The handshake verified.
    Online,
}

/// What only the server end of a component stream keeps.
#[derive(Debug)]
pub(super) struct ComponentServerSide {
    pub(super) config: ComponentServerConfig,
    pub(super) step: AcceptStep,
    /// The component's name (its header's `to`), once it is a domain.
    pub(super) name: Option<String>,
    /// Our stream id (the handshake covers it).
    pub(super) stream_id: String,
    /// Our header is out.
    pub(super) answered: bool,
    /// The server's domain (replies to our own requests).
    pub(super) own: OwnAddress,
    /// The component's name, once its handshake verified.
    pub(super) online_jid: Option<String>,
}

impl ComponentServerSide {
    pub(super) fn new(config: ComponentServerConfig) -> Self {
        let domain = config.domain().to_owned();
        Self {
            config,
            step: AcceptStep::AwaitHeader,
            name: None,
            stream_id: String::new(),
            answered: false,
            own: OwnAddress {
                bare: domain.clone(),
                domain,
            },
            online_jid: None,
        }
    }

    /// Our header (XEP-0114 §3): `from` the component's name, a fresh
    /// `id`; no `version`.
    pub(super) fn header(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(192);
        h.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept'");
        if let Some(name) = &self.name {
            h.extend_from_slice(b" from='");
            writer::escape_attr(name, &mut h);
            h.push(b'\'');
        }
        h.extend_from_slice(b" id='");
        writer::escape_attr(&self.stream_id, &mut h);
        h.extend_from_slice(b"'>");
        h
    }

    /// What the server may send to the component: a `from` that is an
    /// address, and a `to` in the component's domain.
    pub(super) fn check_outbound(&self, el: &Element) -> Result<(), InvalidStanzaReason> {
        if !el.attr("from").is_some_and(is_valid_address) {
            return Err(InvalidStanzaReason::InvalidFrom);
        }
        self.check_to(el.attr("to"))
    }

    /// A `to` in the component's domain.
    pub(super) fn check_to(&self, to: Option<&str>) -> Result<(), InvalidStanzaReason> {
        match (to, &self.online_jid) {
            (Some(to), Some(name)) if within(to, name) => Ok(()),
            _ => Err(InvalidStanzaReason::InvalidTo),
        }
    }
}

impl Stream {
    /// A component stream for `config` (XEP-0114): an external component
    /// that connects to a server in `jabber:component:accept` and
    /// authenticates with a shared secret. [`Stream::start`] writes our
    /// header; the server's header, our `<handshake>` and its empty
    /// `<handshake/>` follow, then [`Event::Online`] with the component's
    /// domain. A wrong secret ends the stream with the server's
    /// `not-authorized` ([`Event::PeerStreamError`]).
    ///
    /// Online, every stanza sent carries a `from` in the component's
    /// domain and a `to` ([`UsageError::InvalidStanza`] otherwise; IQ
    /// requests of [`Stream::send_iq`] get `from` the domain itself), and
    /// what arrives is reported with the same events as on a client
    /// stream.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ComponentConfig, Event, Stream};
    ///
    /// let now = Instant::now();
    /// let mut c = Stream::component(ComponentConfig::new("plays.shakespeare.lit", "test", [1; 32]));
    /// c.start(now)?;
    /// let header = String::from_utf8(c.poll_transmit().unwrap().to_vec())?;
    /// assert!(header.ends_with("xmlns='jabber:component:accept' \
    ///     xmlns:stream='http://etherx.jabber.org/streams' to='plays.shakespeare.lit'>"));
    /// // XEP-0114 §3's exchange:
    /// c.handle_input(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' \
    ///     xmlns='jabber:component:accept' from='plays.shakespeare.lit' id='3BF96D32'>", now)?;
    /// assert_eq!(&c.poll_transmit().unwrap()[..],
    ///     b"<handshake>aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e</handshake>");
    /// c.handle_input(b"<handshake/>", now)?;
    /// let online = std::iter::from_fn(|| c.poll_event()).last();
    /// assert_eq!(online, Some(Event::Online { jid: "plays.shakespeare.lit".into() }));
    ///
    /// // Stanzas come from the component's domain, to someone.
    /// c.send(xmpp_sansio::xml::Element::builder("message", "jabber:component:accept")
    ///     .attr("from", "hamlet@plays.shakespeare.lit").attr("to", "juliet@example.com").build(), now)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn component(config: ComponentConfig) -> Self {
        Self::new_with_role(
            config.rng_seed,
            config.settings(),
            false,
            Role::Component(ComponentSide::new(config)),
        )
    }

    /// The server end of a component stream (XEP-0114): one accepted
    /// connection from an external component. [`Stream::start`] writes
    /// nothing; the component's header names it, our header answers with
    /// a fresh stream id, and [`Event::ComponentRequest`] asks the
    /// application whether it serves that name:
    /// [`Stream::accept_component`] with the name's secret, or
    /// [`Stream::refuse_component`] (`host-unknown`, or `conflict` when
    /// another connection serves it). The handshake is then verified in
    /// constant time (`not-authorized` if wrong); on success the stream
    /// answers `<handshake/>` and reports [`Event::Online`] with the
    /// component's name.
    ///
    /// Online, every stanza the component sends must carry a `from` in
    /// its domain (else the stream ends with `invalid-from`) and a `to`
    /// (else `improper-addressing`); what the server sends must have a
    /// `from` and a `to` in the component's domain.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ComponentServerConfig, Event, Stream};
    ///
    /// let now = Instant::now();
    /// let mut server = Stream::component_server(ComponentServerConfig::new("example.com", [2; 32]));
    /// server.start(now)?;
    /// server.handle_input(b"<stream:stream xmlns='jabber:component:accept' \
    ///     xmlns:stream='http://etherx.jabber.org/streams' to='muc.example.com'>", now)?;
    /// let header = String::from_utf8(server.poll_transmit().unwrap().to_vec())?;
    /// assert!(header.contains("from='muc.example.com' id='"));
    /// let request = std::iter::from_fn(|| server.poll_event()).last();
    /// assert_eq!(request, Some(Event::ComponentRequest { name: "muc.example.com".into() }));
    /// server.accept_component("s3cr3t", now)?;
    ///
    /// // The component computes the handshake from the id it was given.
    /// let id = server.stream_id().unwrap().to_owned();
    /// let handshake = xmpp_sansio::component::handshake_digest(&id, "s3cr3t");
    /// server.handle_input(format!("<handshake>{handshake}</handshake>").as_bytes(), now)?;
    /// assert_eq!(&server.poll_transmit().unwrap()[..], b"<handshake/>");
    /// assert_eq!(server.poll_event(), Some(Event::Online { jid: "muc.example.com".into() }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn component_server(config: ComponentServerConfig) -> Self {
        Self::new_with_role(
            config.rng_seed,
            config.settings(),
            false,
            Role::ComponentServer(ComponentServerSide::new(config)),
        )
    }

    /// On the server end of a component stream, the stream id our header
    /// gave (which the handshake covers), once written; `None` on other
    /// streams.
    pub fn stream_id(&self) -> Option<&str> {
        match &self.role {
            Role::ComponentServer(s) if s.answered => Some(&s.stream_id),
            _ => None,
        }
    }

    /// Answers [`Event::ComponentRequest`]: this server serves the
    /// component, whose shared secret is `secret`. The handshake (already
    /// received, or when it comes) is verified against it.
    ///
    /// Without a pending request this is
    /// [`UsageError::NotAwaitingComponent`] (or [`UsageError::Closed`]),
    /// and nothing is sent.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ComponentServerConfig, Stream, UsageError};
    /// let mut s = Stream::component_server(ComponentServerConfig::new("example.com", [0; 32]));
    /// assert_eq!(s.accept_component("secret", Instant::now()), Err(UsageError::NotAwaitingComponent));
    /// ```
    pub fn accept_component(&mut self, secret: &str, now: Instant) -> Result<(), UsageError> {
        let handshake = self.take_component_decision()?;
        match handshake {
            Some(received) => self.verify_component(secret, &received, now),
            None => {
                if let Role::ComponentServer(s) = &mut self.role {
                    s.step = AcceptStep::AwaitHandshake {
                        secret: Secret(secret.to_owned()),
                    };
                }
            }
        }
        self.release_input(now);
        Ok(())
    }

    /// Answers [`Event::ComponentRequest`]: this server does not serve the
    /// component, and the stream ends with the stream error `condition`
    /// (XEP-0114 §3: `host-unknown` for a name it does not know,
    /// `conflict` for one another connection serves).
    ///
    /// Without a pending request this is
    /// [`UsageError::NotAwaitingComponent`] (or [`UsageError::Closed`]),
    /// and nothing is sent.
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ComponentServerConfig, Stream, StreamErrorCondition, UsageError};
    /// let mut s = Stream::component_server(ComponentServerConfig::new("example.com", [0; 32]));
    /// assert_eq!(s.refuse_component(StreamErrorCondition::Conflict, Instant::now()),
    ///     Err(UsageError::NotAwaitingComponent));
    /// ```
    pub fn refuse_component(
        &mut self,
        condition: StreamErrorCondition,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.take_component_decision()?;
        let name = match &self.role {
            Role::ComponentServer(s) => s.name.clone().unwrap_or_default(),
            _ => String::new(),
        };
        self.fail(protocol(
            condition,
            format!("component {name:?} is not served here"),
        ));
        // Failed: the held input is only read on for the peer's close.
        self.release_input(now);
        Ok(())
    }

    /// Ends the wait for the application's decision, handing back a
    /// handshake received meanwhile.
    fn take_component_decision(&mut self) -> Result<Option<String>, UsageError> {
        match self.phase {
            Phase::Closing { .. } | Phase::Closed => return Err(UsageError::Closed),
            Phase::Negotiating => {}
            _ => return Err(UsageError::NotAwaitingComponent),
        }
        let Role::ComponentServer(s) = &mut self.role else {
            return Err(UsageError::NotAwaitingComponent);
        };
        if !matches!(s.step, AcceptStep::Deciding { .. }) {
            return Err(UsageError::NotAwaitingComponent);
        }
        match std::mem::replace(&mut s.step, AcceptStep::AwaitHeader) {
            AcceptStep::Deciding { handshake } => Ok(handshake),
            _ => Err(UsageError::NotAwaitingComponent),
        }
    }

    // ---- the negotiators ----

    /// The peer's header passed the shared checks. The component sends
    /// its handshake over the server's stream id; the server answers with
    /// its header and asks the application about the name.
    pub(super) fn component_header_accepted(&mut self, now: Instant) {
        let id = self.header().and_then(|h| h.id.clone());
        match &mut self.role {
            Role::Component(c) => {
                let Some(id) = id.filter(|i| !i.is_empty()) else {
                    return self.fail(protocol(
                        StreamErrorCondition::BadFormat,
                        "the server's stream header has no id",
                    ));
                };
                let handshake = handshake_element(&id, &c.config.secret);
                c.step = ComponentStep::AwaitHandshake;
                self.write_nonza(&handshake, now);
            }
            Role::ComponentServer(_) => self.component_server_header_accepted(now),
            _ => {}
        }
    }

    /// XEP-0114 §3: the `to` names the component; an absent or malformed
    /// one is `host-unknown` (after our header, RFC 6120 §4.9.1.2).
    fn component_server_header_accepted(&mut self, now: Instant) {
        let to = self.header().and_then(|h| h.to.clone());
        let name = to.as_deref().filter(|t| check_domain(t).is_ok()).map(|t| {
            t.strip_suffix('.')
                .filter(|d| !d.is_empty())
                .unwrap_or(t)
                .to_owned()
        });
        if let Role::ComponentServer(s) = &mut self.role {
            s.name.clone_from(&name);
        }
        if self.write_component_header() {
            self.wrote(now);
        }
        let Some(name) = name else {
            let reason = match to {
                Some(to) => format!("{to:?} is not a component name"),
                None => "the stream header has no 'to'".to_owned(),
            };
            return self.fail(protocol(StreamErrorCondition::HostUnknown, reason));
        };
        if let Role::ComponentServer(s) = &mut self.role {
            s.step = AcceptStep::Deciding { handshake: None };
        }
        self.push_event(Event::ComponentRequest { name });
        // What follows the header (a pipelined handshake, stanzas) is read
        // after the decision, so the outcome does not depend on the cut.
        self.hold_input_for_decision();
    }

    /// A stream error is due: on the server end of a component stream
    /// whose header has no answer yet, ours goes first (XEP-0114 §3,
    /// RFC 6120 §4.9.1.2).
    pub(super) fn component_header_before_error(&mut self) {
        self.write_component_header();
    }

    /// Writes our header with a fresh stream id unless it is out; `true`
    /// if it wrote it. Only on the server end of a component stream.
    fn write_component_header(&mut self) -> bool {
        if !matches!(&self.role, Role::ComponentServer(s) if !s.answered) {
            return false;
        }
        let id = self.rng.alphanumeric(16);
        let Role::ComponentServer(s) = &mut self.role else {
            return false;
        };
        s.answered = true;
        s.stream_id = id;
        let header = s.header();
        self.out.header(&header)
    }

    /// One element during a component stream's negotiation; handed back
    /// if it is none of the negotiator's (the input loop then ends the
    /// stream with `unsupported-stanza-type`).
    pub(super) fn component_negotiate(&mut self, el: Element, now: Instant) -> Result<(), Element> {
        let handshake = el.is("handshake", ns::COMPONENT_ACCEPT);
        match &mut self.role {
            Role::Component(c) => {
                if handshake && matches!(c.step, ComponentStep::AwaitHandshake) {
                    c.step = ComponentStep::Online;
                    c.online_jid = Some(c.config.domain().to_owned());
                    self.go_online(now);
                    return Ok(());
                }
                Err(el)
            }
            Role::ComponentServer(s) => {
                let stanza = is_stanza(&el, ns::COMPONENT_ACCEPT);
                match &mut s.step {
                    AcceptStep::Deciding { handshake: held } if handshake && held.is_none() => {
                        *held = Some(el.text().into_owned());
                    }
                    AcceptStep::AwaitHandshake { secret } if handshake => {
                        let secret = std::mem::replace(secret, Secret(String::new()));
                        self.verify_component(&secret.0, &el.text(), now);
                    }
                    _ if handshake => self.fail(protocol(
                        StreamErrorCondition::NotAuthorized,
                        "one handshake per stream",
                    )),
                    // Nothing but the handshake before it succeeds
                    // (RFC 6120 §4.9.3.12, as for stanzas before SASL).
                    _ if stanza => self.fail(protocol(
                        StreamErrorCondition::NotAuthorized,
                        format!("<{}/> before the handshake", el.name()),
                    )),
                    _ => return Err(el),
                }
                Ok(())
            }
            _ => Err(el),
        }
    }

    /// Checks the component's handshake against `secret` over our stream
    /// id (in constant time): `<handshake/>` and online, or
    /// `not-authorized` (XEP-0114 §3).
    fn verify_component(&mut self, secret: &str, received: &str, now: Instant) {
        let Role::ComponentServer(s) = &mut self.role else {
            return;
        };
        if !verify_handshake(&s.stream_id, secret, received) {
            return self.fail(protocol(
                StreamErrorCondition::NotAuthorized,
                "the handshake does not match",
            ));
        }
        s.step = AcceptStep::Online;
        s.online_jid = s.name.clone();
        self.write_nonza(&Element::new("handshake", ns::COMPONENT_ACCEPT), now);
        self.go_online(now);
    }

    /// What [`Stream::send`] and [`Stream::send_presence`] may send on a
    /// component stream (XEP-0114 §3: a `from` and a `to` on every
    /// stanza); any stanza on other streams.
    pub(super) fn check_component_outbound(&self, el: &Element) -> Result<(), UsageError> {
        let checked = match &self.role {
            Role::Component(c) => c.check_outbound(el),
            Role::ComponentServer(s) => s.check_outbound(el),
            _ => Ok(()),
        };
        checked.map_err(UsageError::InvalidStanza)
    }

    /// The `to` of a request this stream sends itself ([`Stream::send_iq`],
    /// [`Stream::ping`]): on a component stream it must be present (an
    /// address, and on the server end one in the component's domain).
    pub(super) fn check_component_request_to(&self, to: Option<&str>) -> Result<(), UsageError> {
        let checked = match &self.role {
            Role::Component(_) => check_to(to),
            Role::ComponentServer(s) => s.check_to(to),
            _ => Ok(()),
        };
        checked.map_err(UsageError::InvalidStanza)
    }

    /// A stanza from the component, before the dispatcher sees it
    /// (XEP-0114 §3): its `from` must be in the component's domain
    /// (`invalid-from`, RFC 6120 §4.9.3.9), and it must have a `from` and a
    /// `to` that are addresses (`improper-addressing`, §4.9.3.7). `None` if
    /// the stream failed. Other streams pass every stanza on.
    pub(super) fn component_inbound(&mut self, el: Element) -> Option<Element> {
        let Role::ComponentServer(s) = &self.role else {
            return Some(el);
        };
        let name = s.online_jid.as_deref().unwrap_or_default();
        let error = match (el.attr("from"), el.attr("to")) {
            (None, _) => Some((
                StreamErrorCondition::ImproperAddressing,
                "a stanza without 'from'".to_owned(),
            )),
            (Some(from), _) if !within(from, name) => Some((
                StreamErrorCondition::InvalidFrom,
                format!("'from' {from:?} is not in the component's domain {name}"),
            )),
            (_, to) if !to.is_some_and(is_valid_address) => Some((
                StreamErrorCondition::ImproperAddressing,
                format!("'to' {:?} is not an address", to.unwrap_or_default()),
            )),
            _ => None,
        };
        match error {
            Some((condition, reason)) => {
                self.fail(protocol(condition, reason));
                None
            }
            None => Some(el),
        }
    }
}
