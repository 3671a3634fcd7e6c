//! `<presence/>` (RFC 6120 §8.2.2, RFC 6121 §4).

use super::StanzaParseError;
use super::common::{StanzaView, check_stanza, pick_text, texts_by_lang};
use crate::xml::{Element, ns};

/// The `type` of a presence (RFC 6121 §4.7.1); absent means available.
///
/// ```
/// use xmpp_sansio::stanza::PresenceType;
/// assert_eq!(PresenceType::from_attr(None), Ok(PresenceType::Available));
/// assert!(PresenceType::from_attr(Some("invented")).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PresenceType {
    /// No `type`: the sender is available.
    #[default]
    Available,
    /// An error reply.
    Error,
    /// A request for the recipient's presence.
    Probe,
    /// A subscription request.
    Subscribe,
    /// A subscription approval.
    Subscribed,
    /// The sender is no longer available.
    Unavailable,
    /// Cancels our subscription to the recipient.
    Unsubscribe,
    /// Cancels the recipient's subscription to us.
    Unsubscribed,
}

impl PresenceType {
    /// The attribute value (`None` for available).
    pub fn as_attr(self) -> Option<&'static str> {
        Some(match self {
            PresenceType::Available => return None,
            PresenceType::Error => "error",
            PresenceType::Probe => "probe",
            PresenceType::Subscribe => "subscribe",
            PresenceType::Subscribed => "subscribed",
            PresenceType::Unavailable => "unavailable",
            PresenceType::Unsubscribe => "unsubscribe",
            PresenceType::Unsubscribed => "unsubscribed",
        })
    }

    /// Reads the attribute; an unknown value is an error (RFC 6121 §4.7.1).
    pub fn from_attr(value: Option<&str>) -> Result<Self, StanzaParseError> {
        Ok(match value {
            None => PresenceType::Available,
            Some("error") => PresenceType::Error,
            Some("probe") => PresenceType::Probe,
            Some("subscribe") => PresenceType::Subscribe,
            Some("subscribed") => PresenceType::Subscribed,
            Some("unavailable") => PresenceType::Unavailable,
            Some("unsubscribe") => PresenceType::Unsubscribe,
            Some("unsubscribed") => PresenceType::Unsubscribed,
            Some(_) => return Err(StanzaParseError::Malformed("unknown presence type")),
        })
    }
}

/// Why a received `<priority/>` is invalid (RFC 6121 §4.7.2.3: an integer
/// in −128..=127). Each variant keeps the text as sent (trimmed).
///
/// ```
/// use xmpp_sansio::stanza::PriorityError;
/// assert_eq!(PriorityError::OutOfRange("300".into()).to_string(), "priority 300 is outside -128..=127");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriorityError {
    /// An integer, but outside −128..=127.
    #[error("priority {0} is outside -128..=127")]
    OutOfRange(String),
    /// Not an integer at all.
    #[error("priority {0:?} is not an integer")]
    NotAnInteger(String),
}

/// A presence stanza: a view over its element.
///
/// ```
/// use xmpp_sansio::stanza::{Presence, PresenceType, StanzaView};
/// use xmpp_sansio::xml::{Element, ns};
///
/// let el = Element::builder("presence", ns::JABBER_CLIENT)
///     .attr("from", "romeo@example.net/orchard")
///     .child(Element::builder("show", ns::JABBER_CLIENT).text("away").build())
///     .child(Element::builder("priority", ns::JABBER_CLIENT).text("-1").build())
///     .build();
/// let p = Presence::from_element(el).unwrap();
/// assert_eq!(p.type_(), PresenceType::Available);
/// assert_eq!(p.show().as_deref(), Some("away"));
/// assert_eq!(p.priority(), 0 - 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    element: Element,
    type_: PresenceType,
}

impl StanzaView for Presence {
    fn element(&self) -> &Element {
        &self.element
    }
}

impl Presence {
    /// Views `element` as a presence.
    pub fn from_element(element: Element) -> Result<Self, StanzaParseError> {
        check_stanza(&element, "presence")?;
        let type_ = PresenceType::from_attr(element.attr("type"))?;
        Ok(Self { element, type_ })
    }

    /// The type.
    pub fn type_(&self) -> PresenceType {
        self.type_
    }

    /// `<show/>` (away, chat, dnd, xa), as sent.
    pub fn show(&self) -> Option<String> {
        self.element
            .get_child("show", self.element.ns())
            .map(|s| s.text().trim().to_owned())
    }

    /// Every `<status/>` with its language.
    pub fn statuses(&self) -> Vec<(Option<String>, String)> {
        texts_by_lang(&self.element, "status")
    }

    /// The status in `lang`, else in the stanza's language, else the first.
    pub fn status(&self, lang: Option<&str>) -> Option<String> {
        pick_text(&self.statuses(), lang, self.element.lang())
    }

    /// `<priority/>`, leniently: 0 when absent (RFC 6121 §4.7.2.3) and
    /// also when invalid. Use [`Presence::checked_priority`] to tell the two
    /// apart.
    pub fn priority(&self) -> i8 {
        self.checked_priority().ok().flatten().unwrap_or(0)
    }

    /// `<priority/>`, checked: `Ok(None)` when absent, `Err` when it is not
    /// an integer in −128..=127 (RFC 6121 §4.7.2.3). The RFC says nothing
    /// of what a receiver does with an invalid value; this crate reports it
    /// and never wraps or clamps it.
    ///
    /// ```
    /// use xmpp_sansio::stanza::{Presence, PriorityError};
    /// use xmpp_sansio::xml::{Element, ns};
    /// let with = |prio: &str| Presence::from_element(Element::builder("presence", ns::JABBER_CLIENT)
    ///     .child(Element::builder("priority", ns::JABBER_CLIENT).text(prio).build()).build()).unwrap();
    /// assert_eq!(with(" -128 ").checked_priority(), Ok(Some(-128)));
    /// assert_eq!(with("300").checked_priority(), Err(PriorityError::OutOfRange("300".into())));
    /// assert_eq!(with("high").checked_priority(), Err(PriorityError::NotAnInteger("high".into())));
    /// assert_eq!(with("300").priority(), 0); // the lenient reading
    /// let none = Presence::from_element(Element::new("presence", ns::JABBER_CLIENT)).unwrap();
    /// assert_eq!(none.checked_priority(), Ok(None));
    /// ```
    pub fn checked_priority(&self) -> Result<Option<i8>, PriorityError> {
        let Some(el) = self.element.get_child("priority", self.element.ns()) else {
            return Ok(None);
        };
        let text = el.text();
        let text = text.trim();
        if let Ok(p) = text.parse::<i8>() {
            return Ok(Some(p));
        }
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Err(PriorityError::OutOfRange(text.to_owned()))
        } else {
            Err(PriorityError::NotAnInteger(text.to_owned()))
        }
    }

    /// The element.
    pub fn into_element(self) -> Element {
        self.element
    }
}

impl From<Presence> for Element {
    fn from(p: Presence) -> Element {
        p.element
    }
}

/// `<presence/>` with nothing else: initial available presence.
pub fn available() -> Element {
    Element::new("presence", ns::JABBER_CLIENT)
}
