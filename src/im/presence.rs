//! Presence (RFC 6121 §4) and subscriptions (§3): building what the client
//! sends, and tracking which resources of each contact are online.

use std::collections::BTreeMap;

use crate::stanza::{Presence, PresenceType, StanzaView};
use crate::xml::{Element, ns};

/// `<show/>` (RFC 6121 §4.7.2.1).
///
/// ```
/// use xmpp_sansio::im::Show;
/// assert_eq!(Show::from_name("dnd"), Some(Show::Dnd));
/// assert_eq!(Show::Xa.as_str(), "xa");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Show {
    /// Temporarily away.
    Away,
    /// Actively interested in chatting.
    Chat,
    /// Do not disturb.
    Dnd,
    /// Extended away.
    Xa,
}

impl Show {
    /// The element's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Show::Away => "away",
            Show::Chat => "chat",
            Show::Dnd => "dnd",
            Show::Xa => "xa",
        }
    }

    /// Parses the element's text.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "away" => Show::Away,
            "chat" => Show::Chat,
            "dnd" => Show::Dnd,
            "xa" => Show::Xa,
            _ => return None,
        })
    }
}

/// Why a presence cannot be built.
///
/// ```
/// use xmpp_sansio::im::{PresenceBuilder, PresenceError};
/// assert_eq!(PresenceBuilder::available().priority(200).err(), Some(PresenceError::PriorityOutOfRange(200)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    /// RFC 6121 §4.7.2.3: priority is an integer in −128..=127.
    #[error("priority {0} is outside -128..=127")]
    PriorityOutOfRange(i64),
}

/// Builds outbound presence: initial, later, unavailable, directed.
///
/// ```
/// use xmpp_sansio::im::{PresenceBuilder, Show};
///
/// let p = PresenceBuilder::available()
///     .show(Show::Away)
///     .status(None, "Out for lunch")
///     .status(Some("de"), "Beim Mittagessen")
///     .priority(5)
///     .unwrap()
///     .build();
/// assert_eq!(
///     p.to_xml(),
///     "<presence xmlns='jabber:client'><show>away</show><status>Out for lunch</status>\
///      <status xml:lang='de'>Beim Mittagessen</status><priority>5</priority></presence>"
/// );
/// assert!(PresenceBuilder::available().priority(128).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct PresenceBuilder {
    type_: PresenceType,
    to: Option<String>,
    show: Option<Show>,
    statuses: Vec<(Option<String>, String)>,
    priority: Option<i8>,
    payloads: Vec<Element>,
}

impl PresenceBuilder {
    /// Available presence (no `type`).
    pub fn available() -> Self {
        Self::of_type(PresenceType::Available)
    }

    /// Unavailable presence.
    pub fn unavailable() -> Self {
        Self::of_type(PresenceType::Unavailable)
    }

    /// Presence of any type.
    pub fn of_type(type_: PresenceType) -> Self {
        Self {
            type_,
            to: None,
            show: None,
            statuses: Vec::new(),
            priority: None,
            payloads: Vec::new(),
        }
    }

    /// Directs it to one entity (RFC 6121 §4.6).
    pub fn to(mut self, to: impl Into<String>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// Sets `<show/>`.
    pub fn show(mut self, show: Show) -> Self {
        self.show = Some(show);
        self
    }

    /// Adds a `<status/>`, one per language.
    pub fn status(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        self.statuses.push((lang.map(str::to_owned), text.into()));
        self
    }

    /// Sets `<priority/>`; out of −128..=127 is an error, never a wrap.
    pub fn priority(mut self, priority: i64) -> Result<Self, PresenceError> {
        self.priority =
            Some(i8::try_from(priority).map_err(|_| PresenceError::PriorityOutOfRange(priority))?);
        Ok(self)
    }

    /// Adds an extension payload.
    pub fn payload(mut self, el: Element) -> Self {
        self.payloads.push(el);
        self
    }

    /// The `<presence/>` element.
    pub fn build(self) -> Element {
        let mut b = Element::builder("presence", ns::JABBER_CLIENT)
            .attr_opt("to", self.to)
            .attr_opt("type", self.type_.as_attr());
        if let Some(show) = self.show {
            b = b.child(
                Element::builder("show", ns::JABBER_CLIENT)
                    .text(show.as_str())
                    .build(),
            );
        }
        for (lang, text) in self.statuses {
            b = b.child(
                Element::builder("status", ns::JABBER_CLIENT)
                    .lang(lang)
                    .text(text)
                    .build(),
            );
        }
        if let Some(p) = self.priority {
            b = b.child(
                Element::builder("priority", ns::JABBER_CLIENT)
                    .text(p.to_string())
                    .build(),
            );
        }
        b.children(self.payloads).build()
    }
}

/// Subscription requests and answers (RFC 6121 §3): the presence stanzas
/// of the handshake, addressed to a bare JID.
///
/// ```
/// use xmpp_sansio::im::subscription;
/// assert_eq!(subscription::subscribe("romeo@example.net").to_xml(),
///            "<presence xmlns='jabber:client' to='romeo@example.net' type='subscribe'/>");
/// ```
pub mod subscription {
    use super::PresenceBuilder;
    use crate::stanza::PresenceType;
    use crate::xml::Element;

    /// Ask to see `contact`'s presence (§3.1.1).
    pub fn subscribe(contact: &str) -> Element {
        PresenceBuilder::of_type(PresenceType::Subscribe)
            .to(contact)
            .build()
    }

    /// Approve `contact`'s request, or pre-approve one not made yet (§3.1.4, §3.4).
    pub fn subscribed(contact: &str) -> Element {
        PresenceBuilder::of_type(PresenceType::Subscribed)
            .to(contact)
            .build()
    }

    /// Stop seeing `contact`'s presence (§3.3.1).
    pub fn unsubscribe(contact: &str) -> Element {
        PresenceBuilder::of_type(PresenceType::Unsubscribe)
            .to(contact)
            .build()
    }

    /// Deny a request, or cancel `contact`'s subscription to us (§3.2.1).
    pub fn unsubscribed(contact: &str) -> Element {
        PresenceBuilder::of_type(PresenceType::Unsubscribed)
            .to(contact)
            .build()
    }
}

/// What one online resource last said.
///
/// ```
/// use xmpp_sansio::im::PresenceTracker;
/// let tracker = PresenceTracker::default();
/// assert!(tracker.resources("romeo@example.net").next().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePresence {
    /// `<show/>`, if any (absent means plain available).
    pub show: Option<Show>,
    /// The status texts by language.
    pub statuses: Vec<(Option<String>, String)>,
    /// The priority (0 when absent).
    pub priority: i8,
}

/// Tracks which resources of each contact are online, and with what,
/// from the presence stanzas the application feeds it.
///
/// ```
/// use xmpp_sansio::im::{PresenceTracker, Show};
/// use xmpp_sansio::stanza::Presence;
/// use xmpp_sansio::xml::{Element, ns};
///
/// let mut tracker = PresenceTracker::default();
/// let p = |from: &str, show: Option<&str>, prio: &str| {
///     let mut b = Element::builder("presence", ns::JABBER_CLIENT).attr("from", from)
///         .child(Element::builder("priority", ns::JABBER_CLIENT).text(prio).build());
///     if let Some(s) = show { b = b.child(Element::builder("show", ns::JABBER_CLIENT).text(s).build()); }
///     Presence::from_element(b.build()).unwrap()
/// };
/// tracker.apply(&p("romeo@example.net/orchard", Some("away"), "1"));
/// tracker.apply(&p("romeo@example.net/garden", None, "5"));
/// assert_eq!(tracker.resources("romeo@example.net").count(), 2);
/// assert_eq!(tracker.best("romeo@example.net").map(|(r, _)| r), Some("garden"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PresenceTracker {
    contacts: BTreeMap<String, BTreeMap<String, ResourcePresence>>,
}

impl PresenceTracker {
    /// Applies a presence: available updates its resource, unavailable
    /// removes it (a bare-JID unavailable removes them all). Other types
    /// (subscriptions, probes, errors) change nothing. Returns whether the
    /// tracker changed.
    pub fn apply(&mut self, presence: &Presence) -> bool {
        let Some(from) = presence.from() else {
            return false;
        };
        let (bare, resource) = (
            from.bare().to_owned(),
            from.resource().unwrap_or("").to_owned(),
        );
        match presence.type_() {
            PresenceType::Available => {
                let info = ResourcePresence {
                    show: presence.show().as_deref().and_then(Show::from_name),
                    statuses: presence.statuses(),
                    priority: presence.priority(),
                };
                self.contacts
                    .entry(bare)
                    .or_default()
                    .insert(resource, info);
                true
            }
            PresenceType::Unavailable => {
                let Some(resources) = self.contacts.get_mut(&bare) else {
                    return false;
                };
                let changed = if resource.is_empty() {
                    !std::mem::take(resources).is_empty()
                } else {
                    resources.remove(&resource).is_some()
                };
                if resources.is_empty() {
                    self.contacts.remove(&bare);
                }
                changed
            }
            _ => false,
        }
    }

    /// The online resources of `bare`, by resource name.
    pub fn resources<'a>(
        &'a self,
        bare: &str,
    ) -> impl Iterator<Item = (&'a str, &'a ResourcePresence)> + 'a {
        self.contacts
            .get(bare)
            .into_iter()
            .flatten()
            .map(|(r, p)| (r.as_str(), p))
    }

    /// The resource with the highest priority (ties: the first by name).
    pub fn best(&self, bare: &str) -> Option<(&str, &ResourcePresence)> {
        self.resources(bare).fold(
            None,
            |best: Option<(&str, &ResourcePresence)>, (r, p)| match best {
                Some((_, b)) if b.priority >= p.priority => best,
                _ => Some((r, p)),
            },
        )
    }

    /// Whether any resource of `bare` is online.
    pub fn is_online(&self, bare: &str) -> bool {
        self.contacts.contains_key(bare)
    }

    /// Forgets everyone (the stream ended: RFC 6121 §4.4 has no presence
    /// information survive a session).
    pub fn clear(&mut self) {
        self.contacts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(from: &str, type_: Option<&str>, prio: Option<&str>) -> Presence {
        let mut b = Element::builder("presence", ns::JABBER_CLIENT)
            .attr("from", from)
            .attr_opt("type", type_);
        if let Some(p) = prio {
            b = b.child(
                Element::builder("priority", ns::JABBER_CLIENT)
                    .text(p)
                    .build(),
            );
        }
        match Presence::from_element(b.build()) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn priority_bounds_are_checked_not_wrapped() {
        assert!(PresenceBuilder::available().priority(-128).is_ok());
        assert!(PresenceBuilder::available().priority(127).is_ok());
        assert_eq!(
            PresenceBuilder::available().priority(128).err(),
            Some(PresenceError::PriorityOutOfRange(128))
        );
        assert_eq!(
            PresenceBuilder::available().priority(-129).err(),
            Some(PresenceError::PriorityOutOfRange(-129))
        );
        // Inbound: out of range or not a number reads as 0.
        assert_eq!(presence("a@b/c", None, Some("300")).priority(), 0);
        assert_eq!(presence("a@b/c", None, Some("high")).priority(), 0);
    }

    #[test]
    fn tracker_follows_resources_and_ignores_other_types() {
        let mut t = PresenceTracker::default();
        assert!(t.apply(&presence("a@b/one", None, Some("1"))));
        assert!(t.apply(&presence("a@b/two", None, Some("1"))));
        assert!(!t.apply(&presence("a@b/three", Some("subscribe"), None)));
        assert_eq!(
            t.best("a@b").map(|(r, _)| r),
            Some("one"),
            "ties go to the first by name"
        );
        assert!(t.apply(&presence("a@b/one", Some("unavailable"), None)));
        assert_eq!(t.resources("a@b").count(), 1);
        assert!(
            t.apply(&presence("a@b", Some("unavailable"), None)),
            "a bare unavailable clears all"
        );
        assert!(!t.is_online("a@b"));
        assert!(!t.apply(&presence("x@y/z", Some("unavailable"), None)));
    }
}
