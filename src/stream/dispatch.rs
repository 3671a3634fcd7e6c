//! Inbound stanzas once they may flow, for every role: messages and
//! presence become events; IQ replies are matched to our requests (id and
//! sender) and routed by who asked (the application, the negotiator's
//! bind and session requests, keepalive pings, the RFC 6121 handling in
//! `im.rs`); IQ requests are answered automatically (pings, refusals) or
//! delivered to the application, each allowed exactly one reply.

use crate::iq::Purpose;
use crate::stanza::{
    ErrorType, Iq, IqType, Message, Presence, PresenceType, StanzaError, StanzaErrorCondition,
    StanzaParseError, StanzaView,
};
use crate::stanza::{is_valid_address, same_address};
use crate::time::Instant;
use crate::xml::{Element, ns};

use super::reply::IqReply;
use super::role::Role;
use super::{Error, Event, IqRequestPolicy, Phase, Stream};

/// Whether `el` is a stanza (RFC 6120 §8): `<message/>`, `<presence/>` or
/// `<iq/>` in the stream's content namespace.
pub(super) fn is_stanza(el: &Element, content_ns: &str) -> bool {
    el.ns() == content_ns && matches!(el.name(), "message" | "presence" | "iq")
}

/// The `<error/>` of an error reply; `undefined-condition` if it is unreadable.
pub(super) fn error_of(iq: &Iq) -> StanzaError {
    iq.error().unwrap_or_else(|| {
        StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::UndefinedCondition)
    })
}

impl Stream {
    /// One inbound stanza (`is_stanza` holds).
    pub(super) fn on_stanza(&mut self, el: Element, now: Instant) {
        // XEP-0198: every stanza that reaches here is handled.
        self.sm.on_inbound();
        // A server stamps `from` on what its client sends (RFC 6120 §8.1.2.1).
        let Some(el) = self.server_inbound(el, now) else {
            return;
        };
        // A component's server checks the addresses (XEP-0114 §3).
        let Some(el) = self.component_inbound(el) else {
            return;
        };
        let server = self.role.routes();
        match el.name() {
            "message" => match Message::from_element(el.clone()) {
                Ok(m) => self.push_event(Event::Message(m)),
                Err(_) => self.push_event(Event::Unhandled(el)),
            },
            "presence" => match Presence::from_element(el.clone()) {
                // To a server, the client's request is outbound: its
                // router handles it as any presence.
                Ok(p) if p.type_() == PresenceType::Subscribe && !server => {
                    self.push_event(Event::SubscriptionRequest(p))
                }
                Ok(p) => self.push_event(Event::Presence(p)),
                Err(_) => self.push_event(Event::Unhandled(el)),
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
            return self.push_event(Event::MalformedRequest {
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
                let error = e.stanza_error();
                let replied = self.may_answer(el.attr("from"))
                    && self.write_iq_reply(IqReply::to(&el, Some(&error)), now);
                return self.push_event(Event::MalformedRequest {
                    request: el,
                    error: e,
                    replied,
                });
            }
            // A malformed result or error is never answered (§8.2.3).
            Err(_) => return self.push_event(Event::Unhandled(el)),
        };
        match iq.type_() {
            IqType::Get | IqType::Set => self.on_iq_request(iq, now),
            IqType::Result | IqType::Error => self.on_iq_reply(iq, el, now),
        }
    }

    fn on_iq_reply(&mut self, iq: Iq, el: Element, now: Instant) {
        let id = iq.id().to_owned();
        let from = iq.element().attr("from").map(str::to_owned);
        let Some(pending) = self.iq.take_reply(&id, from.as_deref(), self.role.own()) else {
            // Not a reply to anything we asked, or from the wrong
            // sender (RFC 6120 §8.1.2.1): never answer a result or error.
            // A server's client answers requests routed to it: those
            // replies are for the application to route on.
            let event = if self.role.routes() {
                Event::IqReply(iq)
            } else {
                Event::Unhandled(el)
            };
            self.push_event(event);
            return;
        };
        match pending.purpose {
            // Too late to bind: we are closing.
            Purpose::Bind | Purpose::Session if matches!(self.phase, Phase::Closing { .. }) => {
                self.push_event(Event::Unhandled(el))
            }
            Purpose::Bind => self.on_bind_reply(&iq, now),
            Purpose::Session => {
                if iq.type_() == IqType::Error {
                    self.fail(Error::SessionFailed(error_of(&iq)));
                } else {
                    self.go_online(now);
                }
            }
            // Any answer, even an error, shows the server is alive.
            Purpose::Ping => {
                self.ping_outstanding = false;
                self.arm_ping();
            }
            Purpose::UserPing { .. } if iq.type_() == IqType::Error => {
                self.push_event(Event::IqError {
                    id,
                    from,
                    error: error_of(&iq),
                })
            }
            Purpose::UserPing { sent } => self.push_event(Event::Pong {
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
                self.push_event(event);
            }
        }
    }

    fn on_iq_request(&mut self, iq: Iq, now: Instant) {
        // Before binding nobody but the server and the account can reach
        // us, and we could not answer anyone else (RFC 6120 §7.1): such a
        // request is reported, not answered.
        if !self.role.may_address(iq.element().attr("from")) {
            return self
                .events
                .push_back(Event::Unhandled(iq.element().clone()));
        }
        let payload_ns = iq.payload().map(|p| p.ns().to_owned()).unwrap_or_default();
        let (client, to_us) = match &self.role {
            Role::Client(_) => (true, true),
            Role::Server(s) => (false, s.addressed_to_server(iq.element().attr("to"))),
            // Components answer pings to their domain (or, on the server
            // end, to the server's): requests always carry `to` there.
            Role::Component(_) | Role::ComponentServer(_) => (
                false,
                iq.element()
                    .attr("to")
                    .is_some_and(|t| same_address(t, &self.role.own().domain)),
            ),
        };
        if client && payload_ns == ns::ROSTER && iq.type_() == IqType::Set {
            return self.on_roster_push(&iq, now);
        }
        if !client && self.server_answers_session(&iq, now) {
            return;
        }
        if to_us
            && payload_ns == ns::PING
            && self.settings.answer_pings
            && iq.type_() == IqType::Get
        {
            // A server answers from the address the ping was sent to (its
            // domain), as the client matches replies by sender.
            let from = iq.element().attr("to").filter(|_| !client);
            self.write_iq_reply(IqReply::to(iq.element(), None).map(|r| r.from(from)), now);
            return;
        }
        let wanted = match &self.settings.iq_requests {
            IqRequestPolicy::All => true,
            IqRequestPolicy::Namespaces(list) => list.contains(&payload_ns),
        };
        let refusal = if !wanted {
            // RFC 6120 §8.4: a request for a namespace we do not serve.
            StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::ServiceUnavailable)
        } else if self.inbound.len() >= self.settings.max_unanswered_requests {
            // The application has this many requests to answer already.
            StanzaError::new(ErrorType::Wait, StanzaErrorCondition::ResourceConstraint)
        } else {
            self.inbound.insert(iq.element().attr("from"), iq.id());
            return self.push_event(Event::IqRequest(iq));
        };
        self.write_iq_reply(IqReply::to(iq.element(), Some(&refusal)), now);
    }

    /// Whether an automatic reply to a request from `from` may be written
    /// now: our closing tag is not out, and the sender can be addressed
    /// (anyone once bound; before that, RFC 6120 §7.1).
    fn may_answer(&self, from: Option<&str>) -> bool {
        !self.out.close_sent() && self.role.may_address(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_are_three_elements_in_the_content_namespace() {
        for name in ["message", "presence", "iq"] {
            assert!(is_stanza(
                &Element::new(name, ns::JABBER_CLIENT),
                ns::JABBER_CLIENT
            ));
            assert!(!is_stanza(
                &Element::new(name, ns::JABBER_CLIENT),
                "jabber:server"
            ));
            assert!(!is_stanza(&Element::new(name, ns::SASL), ns::JABBER_CLIENT));
        }
        assert!(!is_stanza(
            &Element::new("features", ns::STREAM),
            ns::STREAM
        ));
        assert!(!is_stanza(
            &Element::new("auth", ns::JABBER_CLIENT),
            ns::JABBER_CLIENT
        ));
    }
}
