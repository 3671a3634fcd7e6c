//! Presence (RFC 6121 §4) and subscriptions (§3): building what the client
//! sends, and tracking which resources of each contact are online.

use std::collections::BTreeMap;

use crate::stanza::{Address, Presence, PresenceType, PriorityError, StanzaView};
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
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    /// RFC 6121 §4.7.2.3: priority is an integer in −128..=127.
    #[error("priority {0} is outside -128..=127")]
    PriorityOutOfRange(i64),
    /// A pre-approval was asked for, but the server does not advertise
    /// `<sub xmlns='urn:xmpp:features:pre-approval'/>` (RFC 6121 §3.4).
    #[error("the server does not offer subscription pre-approval")]
    PreApprovalNotOffered,
    /// RFC 6121 §4.5.1: unavailable presence MUST NOT carry `<show/>` or
    /// `<priority/>` (they describe an available resource). The field is
    /// the element refused: `"show"` or `"priority"`. The builder refuses
    /// rather than drop what the caller asked for.
    #[error("unavailable presence carries no <{0}/> (RFC 6121 §4.5.1)")]
    NotInUnavailable(&'static str),
}

/// Builds outbound presence: initial, later, unavailable, directed.
///
/// The setters that can be wrong return a typed [`PresenceError`] rather
/// than build a stanza the RFC forbids: a priority outside −128..=127, and
/// `<show/>` or `<priority/>` on unavailable presence (RFC 6121 §4.5.1).
/// An `id` is set with [`PresenceBuilder::id`], or filled in by
/// [`crate::Stream::send_presence`].
///
/// ```
/// use xmpp_sansio::im::{PresenceBuilder, PresenceError, Show};
///
/// let p = PresenceBuilder::available()
///     .id("p1")
///     .show(Show::Away)
///     .unwrap()
///     .status(None, "Out for lunch")
///     .status(Some("de"), "Beim Mittagessen")
///     .priority(5)
///     .unwrap()
///     .build();
/// assert_eq!(
///     p.to_xml(),
///     "<presence xmlns='jabber:client' id='p1'><show>away</show><status>Out for lunch</status>\
///      <status xml:lang='de'>Beim Mittagessen</status><priority>5</priority></presence>"
/// );
/// assert!(PresenceBuilder::available().priority(128).is_err());
/// assert_eq!(PresenceBuilder::unavailable().show(Show::Xa).err(),
///            Some(PresenceError::NotInUnavailable("show")));
/// ```
#[derive(Debug, Clone)]
pub struct PresenceBuilder {
    type_: PresenceType,
    to: Option<String>,
    id: Option<String>,
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
            id: None,
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

    /// Sets `id` (RFC 6120 §8.1.3 recommends one; RFC 6121 §3.1.1 and
    /// §3.2.1 ask it of subscription requests and answers, to track the
    /// replies). [`crate::Stream::send_presence`] fills one in when unset.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets `<show/>`. Unavailable presence never carries one (RFC 6121
    /// §4.5.1): [`PresenceError::NotInUnavailable`].
    pub fn show(mut self, show: Show) -> Result<Self, PresenceError> {
        if self.type_ == PresenceType::Unavailable {
            return Err(PresenceError::NotInUnavailable("show"));
        }
        self.show = Some(show);
        Ok(self)
    }

    /// Adds a `<status/>`, one per language.
    pub fn status(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        self.statuses.push((lang.map(str::to_owned), text.into()));
        self
    }

    /// Sets `<priority/>`; out of −128..=127 is an error, never a wrap.
    /// Unavailable presence never carries one (RFC 6121 §4.5.1):
    /// [`PresenceError::NotInUnavailable`].
    pub fn priority(mut self, priority: i64) -> Result<Self, PresenceError> {
        if self.type_ == PresenceType::Unavailable {
            return Err(PresenceError::NotInUnavailable("priority"));
        }
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
            .attr_opt("id", self.id)
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
/// Subscriptions are between bare JIDs (§3.1.1, §3.1.5, §3.2.1): given a
/// full JID, each helper drops the resource (everything from the first
/// `/`), keeping the rest as given. The stanzas carry no `id`: the
/// stream gives each one when it sends it ([`crate::Stream::send`] or
/// [`crate::Stream::send_presence`], which returns it; RFC 6121 asks for
/// one, and an answer's must not mirror the request's, which a fresh id
/// never does), or set one with [`PresenceBuilder::id`].
///
/// ```
/// use xmpp_sansio::im::{PresenceError, subscription};
/// use xmpp_sansio::negotiation::StreamFeatures;
/// assert_eq!(subscription::subscribe("romeo@example.net").to_xml(),
///            "<presence xmlns='jabber:client' to='romeo@example.net' type='subscribe'/>");
/// // To the bare JID, whatever resource was given.
/// assert_eq!(subscription::subscribed("romeo@example.net/orchard").to_xml(),
///            "<presence xmlns='jabber:client' to='romeo@example.net' type='subscribed'/>");
///
/// // Pre-approval only where the server offers it (`Stream::features`).
/// let mut features = StreamFeatures::default();
/// assert_eq!(subscription::preapprove("nurse@example.com", &features).err(),
///            Some(PresenceError::PreApprovalNotOffered));
/// features.pre_approval = true;
/// assert_eq!(subscription::preapprove("nurse@example.com", &features).map(|p| p.to_xml()),
///            Ok("<presence xmlns='jabber:client' to='nurse@example.com' type='subscribed'/>".into()));
/// ```
pub mod subscription {
    use super::{PresenceBuilder, PresenceError};
    use crate::negotiation::StreamFeatures;
    use crate::stanza::{Address, PresenceType};
    use crate::xml::Element;

    /// A subscription stanza of `type_` to `contact`'s bare JID.
    fn to_bare(type_: PresenceType, contact: &str) -> Element {
        PresenceBuilder::of_type(type_)
            .to(Address::new(contact).bare())
            .build()
    }

    /// Ask to see `contact`'s presence (§3.1.1).
    pub fn subscribe(contact: &str) -> Element {
        to_bare(PresenceType::Subscribe, contact)
    }

    /// Approve `contact`'s request (§3.1.4). To approve one not made yet,
    /// use [`preapprove`], which checks that the server supports that.
    pub fn subscribed(contact: &str) -> Element {
        to_bare(PresenceType::Subscribed, contact)
    }

    /// Pre-approve a request `contact` has not made yet (§3.4): the same
    /// `subscribed` stanza, allowed only when the server advertises the
    /// pre-approval feature in `features` (from
    /// [`crate::Stream::features`]). Support is optional, and a server that
    /// has it must say so (§3.4); elsewhere the stanza has no defined
    /// meaning. A pre-approved contact shows `approved='true'` in the roster.
    pub fn preapprove(contact: &str, features: &StreamFeatures) -> Result<Element, PresenceError> {
        if !features.pre_approval {
            return Err(PresenceError::PreApprovalNotOffered);
        }
        Ok(subscribed(contact))
    }

    /// Stop seeing `contact`'s presence (§3.3.1).
    pub fn unsubscribe(contact: &str) -> Element {
        to_bare(PresenceType::Unsubscribe, contact)
    }

    /// Deny a request, or cancel `contact`'s subscription to us (§3.2.1).
    pub fn unsubscribed(contact: &str) -> Element {
        to_bare(PresenceType::Unsubscribed, contact)
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
    /// The `<show/>` text when it is none of the four values RFC 6121
    /// §4.7.2.1 allows (then `show` is `None`: plain available).
    pub unknown_show: Option<String>,
    /// The status texts by language.
    pub statuses: Vec<(Option<String>, String)>,
    /// The priority: 0 when absent (RFC 6121 §4.7.2.3), and 0 when invalid,
    /// with the reason in `priority_error`.
    pub priority: i8,
    /// Why the `<priority/>` sent was invalid, if it was.
    pub priority_error: Option<PriorityError>,
}

impl ResourcePresence {
    fn of(presence: &Presence) -> Self {
        let show_text = presence.show();
        let show = show_text.as_deref().and_then(Show::from_name);
        let (priority, priority_error) = match presence.checked_priority() {
            Ok(p) => (p.unwrap_or(0), None),
            Err(e) => (0, Some(e)),
        };
        Self {
            show,
            unknown_show: show_text.filter(|_| show.is_none()),
            statuses: presence.statuses(),
            priority,
            priority_error,
        }
    }
}

/// Tracks which resources of each contact are online, and with what,
/// from the presence stanzas the application feeds it.
///
/// Addresses are compared as the `jid` crate prepares them (RFC 6122:
/// `Romeo@Example.NET/orchard` is `romeo@example.net/orchard`); one it
/// refuses is kept as sent, so its presence is not lost.
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
/// tracker.apply(&p("Romeo@Example.net/garden", None, "5"));
/// assert_eq!(tracker.resources("romeo@example.net").count(), 2);
/// assert_eq!(tracker.best("ROMEO@example.net").map(|(r, _)| r), Some("garden"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PresenceTracker {
    contacts: BTreeMap<String, BTreeMap<String, ResourcePresence>>,
}

/// `address` as a (bare, resource) key: prepared by the `jid` crate when it
/// accepts it, as sent otherwise. No resource is the empty string.
fn key(address: &str) -> (String, String) {
    match jid::Jid::new(address) {
        Ok(j) => (
            j.to_bare().to_string(),
            j.resource().map(|r| r.to_string()).unwrap_or_default(),
        ),
        Err(_) => {
            let raw = Address::new(address);
            (
                raw.bare().to_owned(),
                raw.resource().unwrap_or("").to_owned(),
            )
        }
    }
}

impl PresenceTracker {
    /// Applies a presence: available updates its resource; unavailable
    /// removes it, and so does an error (a bare JID removes them all).
    /// Subscription types and probes change nothing. Returns whether the
    /// tracker changed.
    ///
    /// RFC 6121 §4.7.1: `type='error'` means our presence could not be
    /// processed by, or delivered to, that address (e.g. its server is
    /// unreachable); whatever it said before is no longer known, so it
    /// counts as unavailable rather than staying online forever.
    pub fn apply(&mut self, presence: &Presence) -> bool {
        let Some(from) = presence.from() else {
            return false;
        };
        let (bare, resource) = key(from.as_str());
        match presence.type_() {
            PresenceType::Available => {
                let info = ResourcePresence::of(presence);
                let resources = self.contacts.entry(bare).or_default();
                resources.insert(resource, info.clone()) != Some(info)
            }
            PresenceType::Unavailable | PresenceType::Error => {
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
            .get(&key(bare).0)
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
        self.contacts.contains_key(&key(bare).0)
    }

    /// The bare JIDs with at least one online resource, in order (as
    /// prepared by the `jid` crate where it accepts them).
    ///
    /// ```
    /// use xmpp_sansio::im::PresenceTracker;
    /// use xmpp_sansio::stanza::Presence;
    /// use xmpp_sansio::xml::{Element, ns};
    /// let from = |a: &str| Presence::from_element(
    ///     Element::builder("presence", ns::JABBER_CLIENT).attr("from", a).build()).unwrap();
    /// let mut tracker = PresenceTracker::default();
    /// tracker.apply(&from("nurse@example.com/balcony"));
    /// tracker.apply(&from("romeo@example.net/orchard"));
    /// assert_eq!(tracker.contacts().collect::<Vec<_>>(), ["nurse@example.com", "romeo@example.net"]);
    /// assert!(tracker.forget("Romeo@example.net"));
    /// assert_eq!(tracker.contacts().count(), 1);
    /// ```
    pub fn contacts(&self) -> impl Iterator<Item = &str> {
        self.contacts.keys().map(String::as_str)
    }

    /// Forgets every resource of `bare` (the contact left the roster, say:
    /// what it sent is no longer of interest). Returns whether any was
    /// tracked. Entries come from peers, so an application tracking
    /// presence from addresses outside its roster (MUC occupants, directed
    /// presence) forgets them this way when it is done with them.
    pub fn forget(&mut self, bare: &str) -> bool {
        self.contacts.remove(&key(bare).0).is_some()
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
        // Inbound: invalid is told apart from absent, and never wrapped.
        let bad = presence("a@b/c", None, Some("300"));
        assert_eq!(
            bad.checked_priority(),
            Err(PriorityError::OutOfRange("300".into()))
        );
        assert_eq!(bad.priority(), 0, "the lenient reading");
        assert_eq!(
            presence("a@b/c", None, Some("-129")).checked_priority(),
            Err(PriorityError::OutOfRange("-129".into()))
        );
        assert_eq!(
            presence("a@b/c", None, Some("99999999999999999999999")).checked_priority(),
            Err(PriorityError::OutOfRange("99999999999999999999999".into()))
        );
        assert_eq!(
            presence("a@b/c", None, Some("high")).checked_priority(),
            Err(PriorityError::NotAnInteger("high".into()))
        );
        assert_eq!(
            presence("a@b/c", None, Some("")).checked_priority(),
            Err(PriorityError::NotAnInteger(String::new()))
        );
        assert_eq!(
            presence("a@b/c", None, Some("+7")).checked_priority(),
            Ok(Some(7))
        );
        assert_eq!(presence("a@b/c", None, None).checked_priority(), Ok(None));
    }

    #[test]
    fn tracker_keeps_a_bad_priority_visible() {
        let mut t = PresenceTracker::default();
        assert!(t.apply(&presence("a@b/c", None, Some("300"))));
        let (_, p) = t.best("a@b").unwrap_or_else(|| panic!("online"));
        assert_eq!(p.priority, 0);
        assert_eq!(
            p.priority_error,
            Some(PriorityError::OutOfRange("300".into()))
        );
        assert!(t.apply(&presence("a@b/c", None, Some("4"))));
        let (_, p) = t.best("a@b").unwrap_or_else(|| panic!("online"));
        assert_eq!((p.priority, p.priority_error.clone()), (4, None));
        assert!(
            !t.apply(&presence("a@b/c", None, Some("4"))),
            "the same again changes nothing"
        );
    }

    #[test]
    fn tracker_keeps_an_unknown_show_visible() {
        let mut t = PresenceTracker::default();
        let el = Element::builder("presence", ns::JABBER_CLIENT)
            .attr("from", "a@b/c")
            .child(
                Element::builder("show", ns::JABBER_CLIENT)
                    .text("lunch")
                    .build(),
            )
            .build();
        let p = Presence::from_element(el).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.apply(&p));
        let (_, r) = t.best("a@b").unwrap_or_else(|| panic!("online"));
        assert_eq!((r.show, r.unknown_show.as_deref()), (None, Some("lunch")));
    }

    #[test]
    fn tracker_compares_prepared_addresses() {
        let mut t = PresenceTracker::default();
        assert!(t.apply(&presence("Romeo@Example.NET/orchard", None, None)));
        assert!(t.apply(&presence("romeo@example.net/garden", None, None)));
        assert_eq!(t.resources("romeo@example.net").count(), 2);
        assert!(t.is_online("ROMEO@EXAMPLE.NET"));
        assert!(t.apply(&presence(
            "romeo@EXAMPLE.net/orchard",
            Some("unavailable"),
            None
        )));
        assert_eq!(
            t.resources("romeo@example.net")
                .map(|(r, _)| r)
                .collect::<Vec<_>>(),
            ["garden"]
        );
        // Resources are case-sensitive (resourceprep does not fold case).
        assert!(!t.apply(&presence(
            "romeo@example.net/Garden",
            Some("unavailable"),
            None
        )));
        // An address the jid crate refuses is kept as sent.
        assert!(t.apply(&presence("bad@@example.net/x", None, None)));
        assert!(t.is_online("bad@@example.net"));
    }

    #[test]
    fn an_error_presence_takes_the_sender_offline() {
        let mut t = PresenceTracker::default();
        t.apply(&presence("a@b/one", None, None));
        t.apply(&presence("a@b/two", None, None));
        assert!(t.apply(&presence("a@b/one", Some("error"), None)));
        assert_eq!(t.resources("a@b").count(), 1);
        assert!(t.apply(&presence("a@b", Some("error"), None)));
        assert!(!t.is_online("a@b"));
        assert!(!t.apply(&presence("x@y", Some("error"), None)));
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
