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
        }
    }

    /// The addresses this end answers for (IQ reply matching).
    pub(super) fn own(&self) -> &OwnAddress {
        match self {
            Role::Client(c) => &c.own,
            Role::Server(s) => &s.own,
        }
    }

    /// Whom a keepalive ping (or [`super::Stream::ping`] without `to`)
    /// goes to: a client pings its server's domain, a server its client.
    pub(super) fn ping_target(&self) -> &str {
        match self {
            Role::Client(c) => &c.own.domain,
            Role::Server(s) => s.bound_jid.as_deref().unwrap_or(&s.own.domain),
        }
    }

    /// The full JID this end is bound to, once it is.
    pub(super) fn bound_jid(&self) -> Option<&str> {
        match self {
            Role::Client(c) => c.bound_jid.as_deref(),
            Role::Server(s) => s.bound_jid.as_deref(),
        }
    }

    /// Whether stanzas may flow before the stream is online (a client
    /// binding its resource).
    pub(super) fn stanzas_before_online(&self) -> bool {
        match self {
            Role::Client(c) => c.binding(),
            // The server's negotiator deals with them itself.
            Role::Server(_) => false,
        }
    }

    /// Whether the application may answer a request from `from` before
    /// the stream is online: a client binding its resource, to the server
    /// or its own account only (RFC 6120 §7.1).
    pub(super) fn may_reply_before_online(&self, from: Option<&str>) -> bool {
        match self {
            Role::Client(c) => c.binding() && c.addressable_unbound(from),
            // Nothing reaches a server's application before binding.
            Role::Server(_) => false,
        }
    }

    /// Whether a stanza from `from` may be answered now: anyone once
    /// bound; before that, RFC 6120 §7.1.
    pub(super) fn may_address(&self, from: Option<&str>) -> bool {
        match self {
            Role::Client(c) => c.bound_jid.is_some() || c.addressable_unbound(from),
            Role::Server(s) => s.bound_jid.is_some(),
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
        }
        h
    }
}
