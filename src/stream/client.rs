//! The client's negotiator: stream negotiation as the initiating entity
//! (RFC 6120 §4–§7): features, STARTTLS, SASL, resource binding and the
//! legacy session. Every transition of [`ClientStep`] is here; stanzas
//! that arrive meanwhile go to the shared dispatcher.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::iq::Purpose;
use crate::negotiation::{SaslFailure, StreamFeatures};
use crate::sasl::{ClientAuth, Credentials, Mechanism, SaslError, select_mechanism};
use crate::stanza::full_jid_parts;
use crate::stanza::{Iq, IqType, StanzaError, StanzaErrorCondition, StreamErrorCondition};
use crate::time::Instant;
use crate::xml::{Element, ns};

use super::component::{AcceptStep, ComponentStep};
use super::dispatch::error_of;
use super::role::{ClientSide, ClientStep, Role};
use super::server::Step as ServerStep;
use super::{Error, Event, Phase, Stream, TlsPolicy, protocol};

/// SASL payloads are base64; `=` is an explicitly empty one (RFC 6120
/// §6.4.2). `None` if the text is not base64.
fn decode_sasl(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.is_empty() || text == "=" {
        return Some(Vec::new());
    }
    BASE64.decode(text).ok()
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
    /// The client's own state. Only the client's negotiator (which the
    /// hooks below run for a client stream only) and client commands
    /// (which check the role first) call it.
    pub(super) fn client_side(&self) -> &ClientSide {
        match &self.role {
            Role::Client(c) => c,
            _ => unreachable!("the client negotiator runs on client streams only"),
        }
    }

    pub(super) fn client_side_mut(&mut self) -> &mut ClientSide {
        match &mut self.role {
            Role::Client(c) => c,
            _ => unreachable!("the client negotiator runs on client streams only"),
        }
    }

    /// Whether the negotiator waits for the peer's stream header.
    pub(super) fn awaits_header(&self) -> bool {
        match &self.role {
            Role::Client(c) => matches!(c.step, ClientStep::AwaitHeader),
            Role::Server(s) => matches!(s.step, ServerStep::AwaitHeader),
            Role::Component(c) => matches!(c.step, ComponentStep::AwaitHeader),
            Role::ComponentServer(s) => matches!(s.step, AcceptStep::AwaitHeader),
        }
    }

    /// The peer's header passed the shared checks: features come next
    /// (the server writes its header and features now).
    pub(super) fn header_accepted(&mut self, now: Instant) {
        match &mut self.role {
            Role::Client(c) => c.step = ClientStep::AwaitFeatures,
            Role::Server(_) => self.server_header_accepted(now),
            Role::Component(_) | Role::ComponentServer(_) => self.component_header_accepted(now),
        }
    }

    /// While closing: `<proceed/>` or `<success/>` means the server has
    /// moved to a new stream (TLS, or the SASL restart) that we will never
    /// open, so no closing tag will come for this one. (Nothing the client
    /// sends does that to a server.)
    pub(super) fn peer_restarts_stream(&self, el: &Element) -> bool {
        matches!(self.role, Role::Client(_))
            && (el.is("proceed", ns::TLS) || el.is("success", ns::SASL))
    }

    /// One element during negotiation; handed back if it is none of the
    /// negotiator's (a stanza while binding, or a violation).
    pub(super) fn negotiate(&mut self, el: Element, now: Instant) -> Result<(), Element> {
        let step = match &self.role {
            Role::Client(c) => &c.step,
            Role::Server(_) => return self.server_negotiate(el, now),
            Role::Component(_) | Role::ComponentServer(_) => {
                return self.component_negotiate(el, now);
            }
        };
        match step {
            ClientStep::AwaitFeatures if el.is("features", ns::STREAM) => {
                self.on_features(&el, now)
            }
            ClientStep::AwaitProceed if el.ns() == ns::TLS => self.on_tls(&el),
            ClientStep::Sasl(_) if el.ns() == ns::SASL => self.on_sasl(&el, now),
            ClientStep::AwaitResumed(_) if el.ns() == ns::SM => self.on_resume_answer(&el, now),
            _ => return Err(el),
        }
        Ok(())
    }

    fn on_features(&mut self, el: &Element, now: Instant) {
        let features = StreamFeatures::from_element(el);
        self.client_side_mut().features = Some(features.clone());
        self.events
            .push_back(Event::Features(Box::new(features.clone())));
        if self.client_side().authenticated {
            // XEP-0198 §5: resume instead of binding, when asked to.
            if self.client_side().resume.is_some() && self.client_try_resume(now) {
                return;
            }
            if self.error.is_some() {
                return;
            }
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
            match (features.starttls, self.client_side().config.tls) {
                (Some(_), TlsPolicy::Required | TlsPolicy::Preferred) => {
                    self.write_nonza(&Element::new("starttls", ns::TLS), now);
                    self.client_side_mut().step = ClientStep::AwaitProceed;
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
                self.set_phase(Phase::AwaitTls);
                self.push_event(Event::StartTls);
            }
            _ => self.fail(Error::TlsFailed),
        }
    }

    fn start_sasl(&mut self, features: &StreamFeatures, now: Instant) {
        let tls_active = self.tls_active;
        let c = self.client_side();
        // A domain-only account has no username to authenticate with a
        // password: only the mechanisms without one (ANONYMOUS, EXTERNAL)
        // remain, never PLAIN or SCRAM with an empty authcid.
        let username_less = c.config.username().is_empty();
        let offered: Vec<&str> = features
            .mechanisms
            .iter()
            .map(String::as_str)
            .filter(|m| {
                !username_less || Mechanism::from_name(m).is_some_and(|m| !m.uses_password())
            })
            .collect();
        let allow_plain = tls_active || c.config.allow_plaintext_auth;
        let Some(mechanism) = select_mechanism(
            &offered,
            c.config.mechanisms.as_deref(),
            &c.channel_binding,
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
            username: c.config.username().to_owned(),
            password: c.config.password.clone(),
            authzid: c.config.authzid.clone(),
        };
        let server_offered_plus = offered.iter().any(|m| m.ends_with("-PLUS"));
        // Drawn even when a fixed nonce is configured, so the rest of the
        // stream's randomness does not depend on that test setting.
        let drawn = self.rng.alphanumeric(24);
        let c = self.client_side();
        let nonce = c.config.scram_client_nonce.clone().unwrap_or(drawn);
        let mut auth = match ClientAuth::new(
            mechanism,
            &credentials,
            &c.channel_binding,
            &nonce,
            server_offered_plus,
        ) {
            Ok(auth) => auth.with_max_iterations(c.config.max_scram_iterations),
            Err(e) => return self.fail(Error::Sasl(e)),
        };
        let initial = match auth.initial_response() {
            Ok(initial) => initial,
            Err(e) => return self.fail(Error::Sasl(e)),
        };
        let el = auth_element(mechanism.name(), initial.as_deref());
        self.write_nonza(&el, now);
        self.client_side_mut().step = ClientStep::Sasl(Box::new(auth));
    }

    fn on_sasl(&mut self, el: &Element, now: Instant) {
        let ClientStep::Sasl(auth) = &mut self.client_side_mut().step else {
            return;
        };
        match el.name() {
            "challenge" => {
                let response = decode_sasl(&el.text())
                    .ok_or(SaslError::MalformedChallenge("not base64"))
                    .and_then(|data| auth.respond(&data));
                match response {
                    Ok(data) => self.write_nonza(&response_element(&data), now),
                    Err(e) => {
                        // RFC 6120 §6.4.4: the client aborts the handshake.
                        self.write_nonza(&Element::new("abort", ns::SASL), now);
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
                let c = self.client_side_mut();
                c.authenticated = true;
                c.step = ClientStep::AwaitHeader;
                self.push_event(Event::Authenticated { mechanism });
                // RFC 6120 §6.4.6: a new stream, with any bytes after
                // <success/> (the server may pipeline its header) kept.
                self.restart_framer();
                self.send_header(now);
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
    pub(super) fn begin_binding(&mut self, now: Instant) {
        let config = &self.client_side().config;
        if config.auto_bind {
            let resource = config.requested_resource().map(str::to_owned);
            self.send_bind(resource, now);
        } else {
            self.await_bind_command();
        }
    }

    /// Waits for [`Stream::bind`], telling the application so.
    fn await_bind_command(&mut self) {
        self.client_side_mut().step = ClientStep::BindReady;
        let attempts_left = self.bind_attempts_left();
        self.push_event(Event::ReadyToBind { attempts_left });
    }

    /// How many more bind requests [`super::ClientConfig::bind_attempts`] allows.
    fn bind_attempts_left(&self) -> u32 {
        let c = self.client_side();
        c.config.bind_attempts.max(1).saturating_sub(c.binds_sent)
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
        let timeout = self.settings.iq_timeout;
        self.send_iq_internal(IqType::Set, None, bind.build(), Purpose::Bind, timeout, now);
        let c = self.client_side_mut();
        c.binds_sent = c.binds_sent.saturating_add(1);
        c.bind_resource = resource;
        c.step = ClientStep::AwaitBind;
    }

    /// A bind error (RFC 6120 §7.6.2, §7.7.2) is reported as
    /// [`Event::BindFailed`]; then, while attempts remain, the application
    /// binds again (without `auto_bind`), or the stream asks the server to
    /// choose the resource if the one it asked for was refused with
    /// `conflict` or `bad-request` (with `auto_bind`). Otherwise the stream
    /// fails with [`Error::BindFailed`].
    fn on_bind_error(&mut self, error: StanzaError, now: Instant) {
        let resource = self.client_side_mut().bind_resource.take();
        self.push_event(Event::BindFailed {
            error: error.clone(),
            resource: resource.clone(),
        });
        if self.bind_attempts_left() == 0 {
            return self.fail(Error::BindFailed(error));
        }
        if !self.client_side().config.auto_bind {
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

    /// The answer to our bind request (routed here by the dispatcher).
    pub(super) fn on_bind_reply(&mut self, iq: &Iq, now: Instant) {
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
        let (bare, domain) = (bare.to_owned(), domain.to_owned());
        let c = self.client_side_mut();
        c.own.bare = bare;
        c.own.domain = domain;
        c.bound_jid = Some(jid);
        // RFC 6121 Appendix E: the session request only when not optional.
        if c.features.as_ref().and_then(|f| f.session) == Some(false) {
            c.step = ClientStep::AwaitSession;
            let timeout = self.settings.iq_timeout;
            self.send_iq_internal(
                IqType::Set,
                None,
                Element::new("session", ns::SESSION),
                Purpose::Session,
                timeout,
                now,
            );
        } else {
            self.go_online(now);
        }
    }
}
