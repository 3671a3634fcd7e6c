//! The client's side of stream negotiation (RFC 6120 §4–§7) and the
//! dispatch of inbound stanzas. Every transition of [`super::Phase`] is here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::iq::{Purpose, is_valid_address};
use crate::negotiation::{SaslFailure, StreamFeatures};
use crate::sasl::{ClientAuth, Credentials, Mechanism, SaslError, select_mechanism};
use crate::stanza::{
    ErrorType, Iq, IqType, Message, Presence, StanzaError, StanzaErrorCondition, StanzaParseError,
    StanzaView, StreamError, StreamErrorCondition,
};
use crate::time::Instant;
use crate::xml::{Element, FrameEvent, StreamHeader, ns};

use super::{ClosedBy, Error, Event, Phase, Stream, TlsPolicy, config::IqRequestPolicy};

/// A protocol violation that earns the peer a stream error.
fn protocol(condition: StreamErrorCondition, reason: impl Into<String>) -> Error {
    Error::Protocol {
        condition,
        reason: reason.into(),
    }
}

/// SASL payloads are base64; `=` is an explicitly empty one (RFC 6120
/// §6.4.2). `None` if the text is not base64.
fn decode_sasl(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.is_empty() || text == "=" {
        return Some(Vec::new());
    }
    BASE64.decode(text).ok()
}

/// The `<error/>` of an error reply; `undefined-condition` if it is unreadable.
fn error_of(iq: &Iq) -> StanzaError {
    iq.error().unwrap_or_else(|| {
        StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::UndefinedCondition)
    })
}

/// `<auth/>` with its initial response: `=` marks a present but empty one
/// (RFC 6120 §6.4.2); no text means no initial response at all.
fn auth_element(mechanism: &str, initial: Option<&[u8]>) -> Element {
    let b = Element::builder("auth", ns::SASL).attr("mechanism", mechanism);
    match initial {
        None => b,
        Some([]) => b.text("="),
        Some(d) => b.text(BASE64.encode(d)),
    }
    .build()
}

/// `<response/>`: empty data is an empty element (§6.4.3).
fn response_element(data: &[u8]) -> Element {
    Element::builder("response", ns::SASL)
        .text(BASE64.encode(data))
        .build()
}

impl Stream {
    /// Reads framer events until more input is needed or the stream stops.
    pub(super) fn process_frames(&mut self, now: Instant) {
        loop {
            if matches!(self.phase, Phase::Closed | Phase::AwaitTls) {
                break;
            }
            let event = match self.framer.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => {
                    // Nothing more can be read from this input (and, after
                    // another failure, this one is not reported).
                    self.input_unreadable = true;
                    self.fail(Error::Xml(e));
                    break;
                }
            };
            if self.error.is_some() {
                // Failed, or the peer sent a stream error: read on for the
                // peer's closing tag only (RFC 6120 §4.4).
                if matches!(event, FrameEvent::StreamEnd) {
                    self.finish_close();
                }
                continue;
            }
            match event {
                FrameEvent::StreamStart(header) => self.on_header(*header, now),
                FrameEvent::Element(el) => self.on_element(el, now),
                FrameEvent::StreamEnd => self.on_stream_end(now),
            }
            if matches!(self.phase, Phase::AwaitTls) && self.framer.unconsumed() > 0 {
                // Bytes after <proceed/> in the same read were sent in
                // plaintext after the switch: never process them.
                self.fail(Error::DataAfterProceed);
            }
        }
    }

    fn on_header(&mut self, header: StreamHeader, _now: Instant) {
        // Every header is reported, in order, before its stream's features
        // (and before a failure it causes).
        self.events
            .push_back(Event::StreamHeader(Box::new(header.clone())));
        if matches!(self.phase, Phase::Closing) {
            // We closed before the server's header arrived: record it, and
            // keep waiting for its closing tag.
            self.header = Some(header);
            return;
        }
        if !matches!(self.phase, Phase::AwaitHeader) {
            return self.fail(protocol(
                StreamErrorCondition::BadFormat,
                "unexpected stream header",
            ));
        }
        if header.content_ns.as_deref() != Some(ns::JABBER_CLIENT) {
            return self.fail(protocol(
                StreamErrorCondition::InvalidNamespace,
                format!(
                    "content namespace {:?}, expected jabber:client",
                    header.content_ns.as_deref().unwrap_or("")
                ),
            ));
        }
        // RFC 6120 §4.7.5: we speak 1.x; an absent version means pre-1.0.
        let major = header
            .version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        if major != Some(1) {
            return self.fail(protocol(
                StreamErrorCondition::UnsupportedVersion,
                format!(
                    "stream version {:?}",
                    header.version.as_deref().unwrap_or("(none)")
                ),
            ));
        }
        self.header = Some(header);
        self.phase = Phase::AwaitFeatures;
    }

    /// The peer's `</stream:stream>`: answered with ours (RFC 6120 §4.4).
    /// Orderly once online or after our own close; before that, the
    /// negotiation never finished, and that is an error.
    fn on_stream_end(&mut self, now: Instant) {
        match self.phase {
            Phase::Online | Phase::Closing => {
                self.closed_by.get_or_insert(ClosedBy::Peer);
                self.write_close(now);
                self.finish_close();
            }
            _ => self.fail(Error::ClosedByPeer),
        }
    }

    fn on_element(&mut self, el: Element, now: Instant) {
        if el.is("error", ns::STREAM) {
            let error = StreamError::from_element(&el)
                .unwrap_or_else(|_| StreamError::new(StreamErrorCondition::UndefinedCondition));
            // Reported as it arrives; Event::Closed follows once the peer's
            // closing tag (or its end of file) does.
            self.events.push_back(Event::PeerStreamError(error.clone()));
            return self.fail(Error::PeerStreamError(error));
        }
        match self.phase {
            Phase::Closing => self.on_element_while_closing(el, now),
            Phase::AwaitFeatures if el.is("features", ns::STREAM) => self.on_features(&el, now),
            Phase::AwaitProceed if el.ns() == ns::TLS => self.on_tls(&el),
            Phase::Sasl(_) if el.ns() == ns::SASL => self.on_sasl(&el, now),
            Phase::BindReady | Phase::AwaitBind | Phase::AwaitSession | Phase::Online
                if el.ns() == ns::JABBER_CLIENT
                    && matches!(el.name(), "message" | "presence" | "iq") =>
            {
                self.on_stanza(el, now)
            }
            _ => self.fail(protocol(
                StreamErrorCondition::UnsupportedStanzaType,
                format!("unexpected <{}/> in {:?}", el.name(), el.ns()),
            )),
        }
    }

    /// After our `</stream:stream>`: RFC 6120 §4.4 has us keep processing
    /// what the peer sends until its closing tag, writing nothing. Stanzas
    /// are reported as usual once a resource was bound; before that they
    /// cannot be legitimate (the stream may still be unauthenticated, even
    /// unencrypted) and are [`Event::Unhandled`]. `<proceed/>` or `<success/>` means the peer
    /// has moved to a new stream (TLS, or the SASL restart) that we will
    /// never open, so no closing tag will come for this one: the stream
    /// ends now. Other negotiation elements no longer apply and are
    /// reported as [`Event::Unhandled`], not treated as violations.
    fn on_element_while_closing(&mut self, el: Element, now: Instant) {
        if el.ns() == ns::JABBER_CLIENT
            && matches!(el.name(), "message" | "presence" | "iq")
            && self.bound_jid.is_some()
        {
            return self.on_stanza(el, now);
        }
        if el.is("proceed", ns::TLS) || el.is("success", ns::SASL) {
            return self.finish_close();
        }
        self.events.push_back(Event::Unhandled(el));
    }

    fn on_features(&mut self, el: &Element, now: Instant) {
        let features = StreamFeatures::from_element(el);
        self.features = Some(features.clone());
        self.events
            .push_back(Event::Features(Box::new(features.clone())));
        if self.authenticated {
            if !features.bind {
                return self.cannot_negotiate(
                    &features,
                    protocol(
                        StreamErrorCondition::UnsupportedFeature,
                        "resource binding not offered",
                    ),
                );
            }
            return self.begin_binding(now);
        }
        if !self.tls_active {
            match (features.starttls, self.config.tls) {
                (Some(_), TlsPolicy::Required | TlsPolicy::Preferred) => {
                    self.write_element(&Element::new("starttls", ns::TLS), now);
                    self.phase = Phase::AwaitProceed;
                    return;
                }
                (None, TlsPolicy::Required) => {
                    return self.cannot_negotiate(&features, Error::TlsUnavailable);
                }
                (Some(true), TlsPolicy::Disabled) => {
                    return self.cannot_negotiate(&features, Error::TlsRequiredByServer);
                }
                _ => {}
            }
        }
        self.start_sasl(&features, now);
    }

    /// Nothing in `features` is something the client can negotiate now
    /// (STARTTLS, SASL, resource binding): the stream ends with `otherwise`,
    /// unless the server marks a feature the client does not know as
    /// required. Then RFC 6120 §4.9.3.23 calls for `unsupported-feature`
    /// (a mandatory-to-negotiate feature the client does not support, and
    /// no other it can negotiate beside it). Whenever there is something to
    /// negotiate, the client goes on: the unknown feature may no longer be
    /// offered after the restart that follows.
    fn cannot_negotiate(&mut self, features: &StreamFeatures, otherwise: Error) {
        let required: Vec<String> = features
            .required_unknown()
            .map(|f| format!("<{} xmlns='{}'/>", f.name(), f.ns()))
            .collect();
        if required.is_empty() {
            return self.fail(otherwise);
        }
        self.fail(protocol(
            StreamErrorCondition::UnsupportedFeature,
            format!(
                "required feature {} not supported, and nothing else to negotiate ({otherwise})",
                required.join(", ")
            ),
        ))
    }

    fn on_tls(&mut self, el: &Element) {
        match el.name() {
            "proceed" => {
                self.phase = Phase::AwaitTls;
                self.events.push_back(Event::StartTls);
            }
            _ => self.fail(Error::TlsFailed),
        }
    }

    fn start_sasl(&mut self, features: &StreamFeatures, now: Instant) {
        // A domain-only account has no username to authenticate with a
        // password: only the mechanisms without one (ANONYMOUS, EXTERNAL)
        // remain, never PLAIN or SCRAM with an empty authcid.
        let username_less = self.config.username().is_empty();
        let offered: Vec<&str> = features
            .mechanisms
            .iter()
            .map(String::as_str)
            .filter(|m| !username_less || matches!(*m, "ANONYMOUS" | "EXTERNAL"))
            .collect();
        let allow_plain = self.tls_active || self.config.allow_plaintext_auth;
        let Some(mechanism) = select_mechanism(
            &offered,
            self.config.mechanisms.as_deref(),
            &self.channel_binding,
            features.channel_binding_types.as_deref(),
            allow_plain,
        ) else {
            return self.cannot_negotiate(
                features,
                Error::NoMechanism {
                    offered: features.mechanisms.clone(),
                },
            );
        };
        let credentials = Credentials {
            username: self.config.username().to_owned(),
            password: self.config.password.clone(),
            authzid: self.config.authzid.clone(),
        };
        let server_offered_plus = offered.iter().any(|m| m.ends_with("-PLUS"));
        // Drawn even when a fixed nonce is configured, so the rest of the
        // stream's randomness does not depend on that test setting.
        let drawn = self.rng.alphanumeric(24);
        let nonce = self.config.scram_client_nonce.clone().unwrap_or(drawn);
        let mut auth = match ClientAuth::new(
            mechanism,
            &credentials,
            &self.channel_binding,
            &nonce,
            server_offered_plus,
        ) {
            Ok(auth) => auth.with_max_iterations(self.config.max_scram_iterations),
            Err(e) => return self.fail(Error::Sasl(e)),
        };
        let initial = match auth.initial_response() {
            Ok(initial) => initial,
            Err(e) => return self.fail(Error::Sasl(e)),
        };
        let el = auth_element(mechanism.name(), initial.as_deref());
        self.write_element(&el, now);
        self.phase = Phase::Sasl(Box::new(auth));
    }

    fn on_sasl(&mut self, el: &Element, now: Instant) {
        let Phase::Sasl(auth) = &mut self.phase else {
            return;
        };
        match el.name() {
            "challenge" => {
                let response = decode_sasl(&el.text())
                    .ok_or(SaslError::MalformedChallenge("not base64"))
                    .and_then(|data| auth.respond(&data));
                match response {
                    Ok(data) => self.write_element(&response_element(&data), now),
                    Err(e) => {
                        // RFC 6120 §6.4.4: the client aborts the handshake.
                        self.write_element(&Element::new("abort", ns::SASL), now);
                        self.fail(Error::Sasl(e));
                    }
                }
            }
            "success" => {
                let Some(data) = decode_sasl(&el.text()) else {
                    return self.fail(protocol(
                        StreamErrorCondition::BadFormat,
                        "SASL success data is not valid base64",
                    ));
                };
                // No text and `=` both mean no additional data (§6.4.6).
                let additional = (!data.is_empty()).then_some(&data[..]);
                if let Err(e) = auth.finish(additional) {
                    return self.fail(Error::Sasl(e));
                }
                let mechanism: Mechanism = auth.mechanism();
                self.authenticated = true;
                self.events.push_back(Event::Authenticated { mechanism });
                // RFC 6120 §6.4.6: a new stream, with any bytes after
                // <success/> (the server may pipeline its header) kept.
                self.framer.restart();
                self.send_header(now);
                self.phase = Phase::AwaitHeader;
            }
            "failure" => self.fail(Error::AuthFailed(SaslFailure::from_element(el))),
            other => self.fail(protocol(
                StreamErrorCondition::UnsupportedStanzaType,
                format!("unexpected SASL <{other}/>"),
            )),
        }
    }

    /// After authentication, bind: at once with the configured resource
    /// ([`super::ClientConfig::auto_bind`]), or when the application calls
    /// [`Stream::bind`].
    fn begin_binding(&mut self, now: Instant) {
        if self.config.auto_bind {
            let resource = self.config.requested_resource().map(str::to_owned);
            self.send_bind(resource, now);
        } else {
            self.await_bind_command();
        }
    }

    /// Waits for [`Stream::bind`], telling the application so.
    fn await_bind_command(&mut self) {
        self.phase = Phase::BindReady;
        let attempts_left = self.bind_attempts_left();
        self.events.push_back(Event::ReadyToBind { attempts_left });
    }

    /// How many more bind requests [`super::ClientConfig::bind_attempts`] allows.
    fn bind_attempts_left(&self) -> u32 {
        self.config
            .bind_attempts
            .max(1)
            .saturating_sub(self.binds_sent)
    }

    /// Sends a bind request for `resource` (`None`: the server chooses).
    pub(super) fn send_bind(&mut self, resource: Option<String>, now: Instant) {
        let mut bind = Element::builder("bind", ns::BIND);
        if let Some(resource) = &resource {
            bind = bind.child(
                Element::builder("resource", ns::BIND)
                    .text(resource.as_str())
                    .build(),
            );
        }
        let timeout = self.config.iq_timeout;
        self.send_iq_internal(IqType::Set, None, bind.build(), Purpose::Bind, timeout, now);
        self.binds_sent = self.binds_sent.saturating_add(1);
        self.bind_resource = resource;
        self.phase = Phase::AwaitBind;
    }

    /// A bind error (RFC 6120 §7.6.2, §7.7.2) is reported as
    /// [`Event::BindFailed`]; then, while attempts remain, the application
    /// binds again (without `auto_bind`), or the stream asks the server to
    /// choose the resource if the one it asked for was refused with
    /// `conflict` or `bad-request` (with `auto_bind`). Otherwise the stream
    /// fails with [`Error::BindFailed`].
    fn on_bind_error(&mut self, error: StanzaError, now: Instant) {
        let resource = self.bind_resource.take();
        self.events.push_back(Event::BindFailed {
            error: error.clone(),
            resource: resource.clone(),
        });
        if self.bind_attempts_left() == 0 {
            return self.fail(Error::BindFailed(error));
        }
        if !self.config.auto_bind {
            return self.await_bind_command();
        }
        let resource_refused = matches!(
            error.condition,
            StanzaErrorCondition::Conflict | StanzaErrorCondition::BadRequest
        );
        if resource.is_some() && resource_refused {
            return self.send_bind(None, now);
        }
        self.fail(Error::BindFailed(error))
    }

    fn on_bind_reply(&mut self, iq: &Iq, now: Instant) {
        if iq.type_() == IqType::Error {
            return self.on_bind_error(error_of(iq), now);
        }
        let jid = iq
            .payload()
            .filter(|p| p.is("bind", ns::BIND))
            .and_then(|b| b.get_child("jid", ns::BIND))
            .map(|j| j.text().trim().to_owned())
            .filter(|j| !j.is_empty());
        let Some(jid) = jid else {
            return self.fail(protocol(
                StreamErrorCondition::UndefinedCondition,
                "bind result without a JID",
            ));
        };
        // RFC 6120 §7.6.3.1: the server returns a full JID. Its parts are
        // taken as sent (a resource the `jid` crate refuses is still ours).
        let Some((bare, domain)) = full_jid_parts(&jid) else {
            return self.fail(protocol(
                StreamErrorCondition::UndefinedCondition,
                format!("bind result {jid:?} is not a full JID"),
            ));
        };
        // The server names our address: with ANONYMOUS, an authzid or a
        // server that rewrites the username, it is not the configured one,
        // and pushes, replies and the keepalive ping follow it.
        self.own.bare = bare.to_owned();
        self.own.domain = domain.to_owned();
        self.bound_jid = Some(jid);
        // RFC 6121 Appendix E: the session request only when not optional.
        if self.features.as_ref().and_then(|f| f.session) == Some(false) {
            let timeout = self.config.iq_timeout;
            self.send_iq_internal(
                IqType::Set,
                None,
                Element::new("session", ns::SESSION),
                Purpose::Session,
                timeout,
                now,
            );
            self.phase = Phase::AwaitSession;
        } else {
            self.go_online();
        }
    }

    fn go_online(&mut self) {
        self.phase = Phase::Online;
        self.negotiation_deadline = None;
        let jid = self.bound_jid.clone().unwrap_or_default();
        self.events.push_back(Event::Online { jid });
    }

    fn on_stanza(&mut self, el: Element, now: Instant) {
        match el.name() {
            "message" => match Message::from_element(el.clone()) {
                Ok(m) => self.events.push_back(Event::Message(m)),
                Err(_) => self.events.push_back(Event::Unhandled(el)),
            },
            "presence" => match Presence::from_element(el.clone()) {
                Ok(p) if p.type_() == crate::stanza::PresenceType::Subscribe => {
                    self.events.push_back(Event::SubscriptionRequest(p))
                }
                Ok(p) => self.events.push_back(Event::Presence(p)),
                Err(_) => self.events.push_back(Event::Unhandled(el)),
            },
            _ => self.on_iq(el, now),
        }
    }

    fn on_iq(&mut self, el: Element, now: Instant) {
        let is_reply = matches!(el.attr("type"), Some("result" | "error"));
        if !is_reply && let Some(from) = el.attr("from").filter(|f| !is_valid_address(f)) {
            // A request (or what may be one) from something that is not
            // an address: a reply would go nowhere meant (`juliet@`).
            // Reported, never answered, whatever it asks.
            let error = StanzaParseError::JidMalformed {
                attr: "from",
                value: from.to_owned(),
            };
            return self.events.push_back(Event::MalformedRequest {
                request: el,
                error,
                replied: false,
            });
        }
        let iq = match Iq::from_element(el.clone()) {
            Ok(iq) => iq,
            Err(e) if !is_reply => {
                // RFC 6120 §8.2.3: a request that cannot be processed, an
                // unknown or missing type included, gets an error reply
                // (`bad-request`) when it can be answered at all: it has
                // an id, and its sender may be addressed now (§7.1).
                let reply = self
                    .may_answer(el.attr("from"))
                    .then(|| Iq::error_reply_to_element(&el, e.stanza_error()))
                    .flatten();
                if let Some(reply) = &reply {
                    self.write_element(reply, now);
                }
                return self.events.push_back(Event::MalformedRequest {
                    request: el,
                    error: e,
                    replied: reply.is_some(),
                });
            }
            // A malformed result or error is never answered (§8.2.3).
            Err(_) => return self.events.push_back(Event::Unhandled(el)),
        };
        match iq.type_() {
            IqType::Get | IqType::Set => self.on_iq_request(iq, now),
            IqType::Result | IqType::Error => {
                let id = iq.id().to_owned();
                let from = iq.element().attr("from").map(str::to_owned);
                let Some(pending) = self.iq.take_reply(&id, from.as_deref(), &self.own) else {
                    // Not a reply to anything we asked, or from the wrong
                    // sender (RFC 6120 §8.1.2.1): never answer a result or error.
                    self.events.push_back(Event::Unhandled(el));
                    return;
                };
                match pending.purpose {
                    // Too late to bind: we are closing.
                    Purpose::Bind | Purpose::Session if matches!(self.phase, Phase::Closing) => {
                        self.events.push_back(Event::Unhandled(el))
                    }
                    Purpose::Bind => self.on_bind_reply(&iq, now),
                    Purpose::Session => {
                        if iq.type_() == IqType::Error {
                            self.fail(Error::SessionFailed(error_of(&iq)));
                        } else {
                            self.go_online();
                        }
                    }
                    // Any answer, even an error, shows the server is alive.
                    Purpose::Ping => self.ping_outstanding = false,
                    Purpose::UserPing { .. } if iq.type_() == IqType::Error => {
                        self.events.push_back(Event::IqError {
                            id,
                            from,
                            error: error_of(&iq),
                        })
                    }
                    Purpose::UserPing { sent } => self.events.push_back(Event::Pong {
                        id,
                        from,
                        rtt: now.saturating_duration_since(sent),
                    }),
                    Purpose::Roster { ver } => self.on_roster_reply(id, from, &iq, ver),
                    Purpose::Application => {
                        let event = if iq.type_() == IqType::Error {
                            Event::IqError {
                                id,
                                from,
                                error: error_of(&iq),
                            }
                        } else {
                            Event::IqResult {
                                id,
                                from,
                                payload: iq.payload(),
                            }
                        };
                        self.events.push_back(event);
                    }
                }
            }
        }
    }

    fn on_iq_request(&mut self, iq: Iq, now: Instant) {
        // Before binding nobody but the server and the account can reach
        // us, and we could not answer anyone else (RFC 6120 §7.1): such a
        // request is reported, not answered.
        if self.bound_jid.is_none() && !self.addressable_unbound(iq.element().attr("from")) {
            return self
                .events
                .push_back(Event::Unhandled(iq.element().clone()));
        }
        let payload_ns = iq.payload().map(|p| p.ns().to_owned()).unwrap_or_default();
        if payload_ns == ns::ROSTER && iq.type_() == IqType::Set {
            return self.on_roster_push(&iq, now);
        }
        if payload_ns == ns::PING && self.config.answer_pings && iq.type_() == IqType::Get {
            if let Some(reply) = iq.result_reply(None) {
                self.write_element(&reply, now);
            }
            return;
        }
        let wanted = match &self.config.iq_requests {
            IqRequestPolicy::All => true,
            IqRequestPolicy::Namespaces(list) => list.contains(&payload_ns),
        };
        let refusal = if !wanted {
            // RFC 6120 §8.4: a request for a namespace we do not serve.
            StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::ServiceUnavailable)
        } else if self.inbound.len() >= self.config.max_unanswered_requests {
            // The application has this many requests to answer already.
            StanzaError::new(ErrorType::Wait, StanzaErrorCondition::ResourceConstraint)
        } else {
            self.inbound.insert(iq.element().attr("from"), iq.id());
            return self.events.push_back(Event::IqRequest(iq));
        };
        if let Some(reply) = iq.error_reply(refusal) {
            self.write_element(&reply, now);
        }
    }
}

/// The bare JID and domain of a full JID `[local@]domain/resource`, each
/// part non-empty; `None` if `jid` is not one.
fn full_jid_parts(jid: &str) -> Option<(&str, &str)> {
    let (bare, resource) = jid.split_once('/')?;
    let domain = match bare.split_once('@') {
        Some((local, domain)) if !local.is_empty() => domain,
        Some(_) => return None,
        None => bare,
    };
    (!domain.is_empty() && !resource.is_empty() && !domain.contains('@')).then_some((bare, domain))
}
