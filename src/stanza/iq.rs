//! `<iq/>` (RFC 6120 §8.2.3).

use super::common::{StanzaView, check_stanza};
use super::{StanzaError, StanzaParseError};
use crate::xml::{Element, ElementBuilder};

/// The `type` of an IQ.
///
/// ```
/// use xmpp_sansio::stanza::IqType;
/// assert_eq!(IqType::from_name("set"), Some(IqType::Set));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IqType {
    /// A request for information.
    Get,
    /// A request that changes something.
    Set,
    /// A successful reply.
    Result,
    /// An error reply.
    Error,
}

impl IqType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            IqType::Get => "get",
            IqType::Set => "set",
            IqType::Result => "result",
            IqType::Error => "error",
        }
    }

    /// Parses the attribute value.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "get" => IqType::Get,
            "set" => IqType::Set,
            "result" => IqType::Result,
            "error" => IqType::Error,
            _ => return None,
        })
    }
}

/// An IQ stanza, checked against RFC 6120 §8.2.3: an `id` and a `type`;
/// `get` and `set` carry exactly one payload child, `result` at most one,
/// `error` an `<error/>`.
///
/// ```
/// use xmpp_sansio::stanza::{ErrorType, Iq, IqType, StanzaError, StanzaErrorCondition, StanzaView};
/// use xmpp_sansio::xml::{Element, ns};
///
/// let request = Element::builder("iq", ns::JABBER_CLIENT)
///     .attr("type", "get").attr("id", "v1").attr("from", "romeo@example.net/orchard")
///     .child(Element::new("query", "jabber:iq:version"))
///     .build();
/// let iq = Iq::from_element(request).unwrap();
/// assert_eq!(iq.type_(), IqType::Get);
/// assert_eq!(iq.payload().unwrap().ns(), "jabber:iq:version");
///
/// let reply = iq.error_reply(StanzaError::from_condition(StanzaErrorCondition::ServiceUnavailable)).unwrap();
/// let reply = Iq::from_element(reply).unwrap();
/// assert_eq!(reply.to().unwrap().as_str(), "romeo@example.net/orchard");
/// assert_eq!(reply.error().unwrap().condition, StanzaErrorCondition::ServiceUnavailable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iq {
    element: Element,
    type_: IqType,
}

impl StanzaView for Iq {
    fn element(&self) -> &Element {
        &self.element
    }
}

impl Iq {
    /// Views `element` as an IQ.
    pub fn from_element(element: Element) -> Result<Self, StanzaParseError> {
        check_stanza(&element, "iq")?;
        let type_ = match element.attr("type") {
            Some(t) => {
                IqType::from_name(t).ok_or(StanzaParseError::Malformed("unknown iq type"))?
            }
            None => return Err(StanzaParseError::Malformed("iq without a type")),
        };
        if element.attr("id").is_none_or(str::is_empty) {
            return Err(StanzaParseError::Malformed("iq without an id"));
        }
        let payloads = element
            .children()
            .filter(|c| !c.is("error", element.ns()))
            .count();
        match type_ {
            IqType::Get | IqType::Set if payloads != 1 => {
                return Err(StanzaParseError::Malformed(
                    "a get or set iq must have exactly one payload",
                ));
            }
            IqType::Result if payloads > 1 => {
                return Err(StanzaParseError::Malformed(
                    "a result iq has at most one payload",
                ));
            }
            IqType::Error if !element.has_child("error", element.ns()) => {
                return Err(StanzaParseError::Malformed("an error iq has no <error/>"));
            }
            _ => {}
        }
        Ok(Self { element, type_ })
    }

    /// The type.
    pub fn type_(&self) -> IqType {
        self.type_
    }

    /// The id (always present in a valid IQ).
    pub fn id(&self) -> &str {
        self.element.attr("id").unwrap_or_default()
    }

    /// The payload: the child that is not `<error/>`.
    pub fn payload(&self) -> Option<Element> {
        self.element
            .children()
            .find(|c| !c.is("error", self.element.ns()))
    }

    /// The element.
    pub fn into_element(self) -> Element {
        self.element
    }

    /// A `result` reply to this `get`/`set`; `None` for a result or error.
    pub fn result_reply(&self, payload: Option<Element>) -> Option<Element> {
        if !matches!(self.type_, IqType::Get | IqType::Set) {
            return None;
        }
        let mut b = reply_to(&self.element, IqType::Result)?;
        if let Some(p) = payload {
            b = b.child(p);
        }
        Some(b.build())
    }

    /// An `error` reply to this `get`/`set`; `None` for a result or error
    /// (RFC 6120 §8.2.3: never answer those).
    pub fn error_reply(&self, error: StanzaError) -> Option<Element> {
        if !matches!(self.type_, IqType::Get | IqType::Set) {
            return None;
        }
        Self::error_reply_to_element(&self.element, error)
    }

    /// An `error` reply to a raw request element that may not have parsed
    /// as an [`Iq`] (to answer malformed requests); needs its `id`.
    pub fn error_reply_to_element(request: &Element, error: StanzaError) -> Option<Element> {
        Some(
            reply_to(request, IqType::Error)?
                .child(error.to_element_in(request.ns()))
                .build(),
        )
    }
}

/// A reply's skeleton: same id, addressed back to the sender.
fn reply_to(request: &Element, type_: IqType) -> Option<ElementBuilder> {
    let id = request.attr("id").filter(|i| !i.is_empty())?;
    Some(
        Element::builder("iq", request.ns())
            .attr("type", type_.as_str())
            .attr("id", id)
            // Outside `jabber:client` (server-to-server and component
            // streams) every stanza carries `from`: the reply comes from
            // whom the request was addressed to (XEP-0114 §3).
            .attr_opt(
                "from",
                request
                    .attr("to")
                    .filter(|_| request.ns() != crate::xml::ns::JABBER_CLIENT),
            )
            .attr_opt("to", request.attr("from")),
    )
}

impl From<Iq> for Element {
    fn from(iq: Iq) -> Element {
        iq.element
    }
}
