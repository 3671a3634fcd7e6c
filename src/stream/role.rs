//! Which end of a stream this is, and the state only that end keeps
//! (after quinn-proto's `ConnectionSide`). Everything else in
//! [`super::Stream`] (framer, output, events, timers, IQ tracking, the
//! phase) is shared by every role.
//!
//! The role decides the content namespace, the header we write, the
//! addresses we answer for, and which negotiator runs (`client.rs` for the
//! initiating entity, `server/` for the receiving entity).

use crate::iq::OwnAddress;
use crate::negotiation::StreamFeatures;
use crate::sasl::{ChannelBinding, ClientAuth};
use crate::stanza::same_address;
use crate::xml::{ns, writer};

use super::component::{ComponentServerSide, ComponentSide};
use super::config::ClientConfig;
use super::server::ServerSide;
use super::sm::SmState;

/// The role of a stream, with its own state.
#[derive(Debug)]
pub(super) enum Role {
    /// The initiating entity of a client-to-server stream (RFC 6120 §2.1).
    Client(ClientSide),
    /// The receiving entity of a client-to-server stream (RFC 6120 §2.1).
    Server(ServerSide),
    /// An external component connecting to a server (XEP-0114).
    Component(ComponentSide),
    /// A server accepting an external component (XEP-0114).
    ComponentServer(ComponentServerSide),
}

/// The client's negotiation step (RFC 6120 §4–§7), while the shared
/// phase is [`super::Phase::Negotiating`].
#[derive(Debug)]
pub(super) enum ClientStep {
    /// Our header is out; the server's is awaited.
    AwaitHeader,
    AwaitFeatures,
    /// `<starttls/>` sent.
    AwaitProceed,
    Sasl(Box<ClientAuth>),
    /// Authenticated, binding offered: waiting for [`super::Stream::bind`].
    BindReady,
    AwaitBind,
    AwaitSession,
    /// `<resume/>` sent (XEP-0198 §5) for this state.
    AwaitResumed(Box<SmState>),
}

/// What only the client end keeps.
#[derive(Debug)]
pub(super) struct ClientSide {
    pub(super) config: ClientConfig,
    pub(super) step: ClientStep,
    /// The account's addresses; the server's bind result may rename them.
    pub(super) own: OwnAddress,
    pub(super) channel_binding: ChannelBinding,
    pub(super) authenticated: bool,
    /// The most recent stream features.
    pub(super) features: Option<StreamFeatures>,
    pub(super) bound_jid: Option<String>,
    /// Bind requests sent on this stream (against `ClientConfig::bind_attempts`).
    pub(super) binds_sent: u32,
    /// The resource the bind request in flight asked for.
    pub(super) bind_resource: Option<String>,
    /// A stream-managed session to resume instead of binding.
    pub(super) resume: Option<Box<SmState>>,
}

impl ClientSide {
    pub(super) fn new(mut config: ClientConfig) -> Self {
        let resume = config.resume.take().map(Box::new);
        let own = OwnAddress {
            bare: config.bare_jid().to_owned(),
            domain: config.domain().to_owned(),
        };
        Self {
            config,
            step: ClientStep::AwaitHeader,
            own,
            channel_binding: ChannelBinding::None,
            authenticated: false,
            features: None,
            bound_jid: None,
            binds_sent: 0,
            bind_resource: None,
            resume,
        }
    }

    /// Whether a resource bind is under way (authenticated, binding
    /// offered): requests from the server or the account may arrive and
    /// be answered (RFC 6120 §7.1).
    pub(super) fn binding(&self) -> bool {
        matches!(
            self.step,
            ClientStep::BindReady | ClientStep::AwaitBind | ClientStep::AwaitSession
        )
    }

    /// RFC 6120 §7.1: before binding, a client may address only the server
    /// and its own account (no `from`, our bare JID, or our domain).
    pub(super) fn addressable_unbound(&self, from: Option<&str>) -> bool {
        from.is_none_or(|f| same_address(f, &self.own.bare) || same_address(f, &self.own.domain))
    }
}

impl Role {
    /// The namespace of stanzas on this stream (RFC 6120 §4.8.2).
    pub(super) fn content_ns(&self) -> &'static str {
        match self {
            Role::Client(_) | Role::Server(_) => ns::JABBER_CLIENT,
            Role::Component(_) | Role::ComponentServer(_) => ns::COMPONENT_ACCEPT,
        }
    }

    /// Whether the peer's header must carry version 1.x (RFC 6120
    /// §4.7.5): not on component streams, whose protocol predates it
    /// (XEP-0114 headers have no `version`).
    pub(super) fn checks_version(&self) -> bool {
        matches!(self, Role::Client(_) | Role::Server(_))
    }

    /// Whether this end writes the first header (the initiating entity).
    pub(super) fn initiates(&self) -> bool {
        matches!(self, Role::Client(_) | Role::Component(_))
    }

    /// Whether this end is a server that routes what its peer sends (IQ
    /// replies to nobody's request are the application's to route,
    /// subscription requests are presence like any other).
    pub(super) fn routes(&self) -> bool {
        matches!(self, Role::Server(_) | Role::ComponentServer(_))
    }

    /// The `from` of requests this end sends itself (IQs, pings): a
    /// component stream's stanzas always carry one (XEP-0114 §3).
    pub(super) fn request_from(&self) -> Option<&str> {
        match self {
            Role::Client(_) | Role::Server(_) => None,
            Role::Component(c) => Some(c.config.domain()),
            Role::ComponentServer(s) => Some(s.config.domain()),
        }
    }

    /// The addresses this end answers for (IQ reply matching).
    pub(super) fn own(&self) -> &OwnAddress {
        match self {
            Role::Client(c) => &c.own,
            Role::Server(s) => &s.own,
            Role::Component(c) => &c.own,
            Role::ComponentServer(s) => &s.own,
        }
    }

    /// Whom a keepalive ping (or [`super::Stream::ping`] without `to`)
    /// goes to: a client pings its server's domain, a server its client,
    /// a component's server its component. A component does not know its
    /// server's domain: `None`.
    pub(super) fn ping_target(&self) -> Option<&str> {
        match self {
            Role::Client(c) => Some(&c.own.domain),
            Role::Server(s) => Some(s.bound_jid.as_deref().unwrap_or(&s.own.domain)),
            Role::Component(_) => None,
            Role::ComponentServer(s) => s.online_jid.as_deref(),
        }
    }

    /// The full JID this end is bound to, once it is.
    pub(super) fn bound_jid(&self) -> Option<&str> {
        match self {
            Role::Client(c) => c.bound_jid.as_deref(),
            Role::Server(s) => s.bound_jid.as_deref(),
            Role::Component(c) => c.online_jid.as_deref(),
            Role::ComponentServer(s) => s.online_jid.as_deref(),
        }
    }

    /// Whether stanzas may flow before the stream is online (a client
    /// binding its resource).
    pub(super) fn stanzas_before_online(&self) -> bool {
        match self {
            Role::Client(c) => c.binding(),
            // The negotiators of the other roles deal with them.
            Role::Server(_) | Role::Component(_) | Role::ComponentServer(_) => false,
        }
    }

    /// Whether the application may answer a request from `from` before
    /// the stream is online: a client binding its resource, to the server
    /// or its own account only (RFC 6120 §7.1).
    pub(super) fn may_reply_before_online(&self, from: Option<&str>) -> bool {
        match self {
            Role::Client(c) => c.binding() && c.addressable_unbound(from),
            // Nothing reaches the application before binding (or the
            // component handshake).
            Role::Server(_) | Role::Component(_) | Role::ComponentServer(_) => false,
        }
    }

    /// Whether a stanza from `from` may be answered now: anyone once
    /// bound; before that, RFC 6120 §7.1.
    pub(super) fn may_address(&self, from: Option<&str>) -> bool {
        match self {
            Role::Client(c) => c.bound_jid.is_some() || c.addressable_unbound(from),
            Role::Server(s) => s.bound_jid.is_some(),
            Role::Component(c) => c.online_jid.is_some(),
            Role::ComponentServer(s) => s.online_jid.is_some(),
        }
    }

    /// Our stream header (RFC 6120 §4.7), for a stream that is encrypted
    /// or not.
    pub(super) fn header(&self, tls_active: bool) -> Vec<u8> {
        let mut h = Vec::with_capacity(256);
        match self {
            Role::Client(c) => {
                // `from` is included once the stream is encrypted, as
                // §4.7.1 recommends.
                h.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='");
                writer::escape_attr(c.config.domain(), &mut h);
                h.extend_from_slice(b"' version='1.0'");
                if tls_active {
                    h.extend_from_slice(b" from='");
                    writer::escape_attr(c.config.bare_jid(), &mut h);
                    h.push(b'\'');
                }
                if let Some(lang) = &c.config.lang {
                    h.extend_from_slice(b" xml:lang='");
                    writer::escape_attr(lang, &mut h);
                    h.push(b'\'');
                }
                h.push(b'>');
            }
            Role::Server(s) => h = s.header(),
            Role::Component(c) => h = c.header(),
            Role::ComponentServer(s) => h = s.header(),
        }
        h
    }
}
