//! Rosters (RFC 6121 §2): items, results, pushes, and a versioned cache.

use std::collections::BTreeMap;

use super::Groups;

use crate::stanza::{Address, ErrorType, StanzaError, StanzaErrorCondition, StanzaParseError};
use crate::xml::{Element, ns};

/// The `subscription` state of a roster item (RFC 6121 §2.1.2.5).
///
/// ```
/// use xmpp_sansio::im::Subscription;
/// assert_eq!(Subscription::from_attr(None), Subscription::None);
/// assert_eq!(Subscription::from_attr(Some("both")).as_str(), "both");
/// // §2.1.2.5: a value the RFC does not define is ignored, read as absent.
/// assert_eq!(Subscription::from_attr(Some("sometimes")), Subscription::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Subscription {
    /// Neither side is subscribed (the default when absent).
    #[default]
    None,
    /// We see the contact's presence.
    To,
    /// The contact sees ours.
    From,
    /// Both ways.
    Both,
    /// In a set or a push: the item is removed. Never valid in a roster
    /// result (RFC 6121 §2.1.2.5): [`Roster::from_query`] sets such an item
    /// aside in [`Roster::skipped`].
    Remove,
}

impl Subscription {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
            Subscription::Remove => "remove",
        }
    }

    /// Parses the attribute value. Absent is `none`, and so is any value
    /// RFC 6121 does not define: §2.1.2.5 has the client ignore such a
    /// value in a result and in a push, which is reading it as absent.
    /// (`remove` is defined, and valid only in a push: [`Roster::from_query`]
    /// sets an item with it aside.)
    pub fn from_attr(value: Option<&str>) -> Self {
        match value {
            Some("to") => Subscription::To,
            Some("from") => Subscription::From,
            Some("both") => Subscription::Both,
            Some("remove") => Subscription::Remove,
            _ => Subscription::None,
        }
    }
}

/// One roster item (RFC 6121 §2.1.2).
///
/// ```
/// use xmpp_sansio::im::{RosterItem, Subscription};
///
/// let item = RosterItem::new("nurse@example.com").with_name("Nurse").with_groups(["Servants"]);
/// let back = RosterItem::from_element(&item.to_element()).unwrap();
/// assert_eq!(back, item);
/// assert_eq!(back.subscription, Subscription::None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterItem {
    /// The contact's JID, as sent (not prepared). Usually a bare JID; RFC
    /// 6121 does not forbid a resource, so one is kept. An item read from
    /// the server always has one the `jid` crate accepts
    /// ([`RosterItem::from_element`]).
    pub jid: String,
    /// The handle the user gave the contact.
    pub name: Option<String>,
    /// The subscription state.
    pub subscription: Subscription,
    /// `ask='subscribe'`: our subscription request is pending.
    pub ask: bool,
    /// `approved='true'`: the contact is pre-approved (RFC 6121 §3.4).
    pub approved: bool,
    /// Groups: a set (RFC 6121 §2.1.2.6; servers do not keep an order).
    pub groups: Groups,
}

impl RosterItem {
    /// An item for `jid` with nothing else set.
    pub fn new(jid: impl Into<String>) -> Self {
        Self {
            jid: jid.into(),
            name: None,
            subscription: Subscription::None,
            ask: false,
            approved: false,
            groups: Groups::new(),
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the groups.
    pub fn with_groups<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// The JID as an [`Address`] (typed on demand).
    pub fn address(&self) -> Address<'_> {
        Address::new(&self.jid)
    }

    /// Reads an `<item/>` of `jabber:iq:roster`. Refused: no `jid`, or
    /// one the `jid` crate does not accept (RFC 6122), as
    /// [`StanzaParseError::JidMalformed`] with `attr` `"jid"`. An unknown
    /// `subscription` is read as `none` ([`Subscription::from_attr`]); only
    /// `ask='subscribe'` sets [`RosterItem::ask`] (RFC 6121 Appendix D).
    ///
    /// ```
    /// use xmpp_sansio::im::{RosterItem, Subscription};
    /// use xmpp_sansio::stanza::StanzaParseError;
    /// use xmpp_sansio::xml::{Element, ns};
    /// let item = |jid: &str| Element::builder("item", ns::ROSTER).attr("jid", jid)
    ///     .attr("subscription", "sometimes").attr("ask", "unsubscribe").build();
    /// let read = RosterItem::from_element(&item("romeo@example.net")).unwrap();
    /// assert_eq!((read.subscription, read.ask), (Subscription::None, false));
    /// assert!(matches!(RosterItem::from_element(&item("@example.net")),
    ///                  Err(StanzaParseError::JidMalformed { attr: "jid", .. })));
    /// ```
    pub fn from_element(el: &Element) -> Result<Self, StanzaParseError> {
        if !el.is("item", ns::ROSTER) {
            return Err(StanzaParseError::Malformed("not a roster item"));
        }
        let jid = el
            .attr("jid")
            .filter(|j| !j.is_empty())
            .ok_or(StanzaParseError::Malformed("roster item without a jid"))?;
        // RFC 6121 §2.1.2.4: the item is identified by a JID. One the `jid`
        // crate refuses (`"juliet"@example.com`, `@example.com`, `a@b@c`)
        // identifies no contact. A JID with a resource is a JID: RFC 6121
        // does not restrict items to bare JIDs, so it is kept as sent.
        if jid::Jid::new(jid).is_err() {
            return Err(StanzaParseError::JidMalformed {
                attr: "jid",
                value: jid.to_owned(),
            });
        }
        // RFC 6121 §2.1.2.6: a group name is not empty; duplicates collapse.
        // Counted first, so the names are collected without spare room.
        let named = |c: &Element| c.is("group", ns::ROSTER) && !c.text().is_empty();
        let mut names = Vec::with_capacity(el.children().filter(named).count());
        names.extend(el.children().filter(named).map(|g| g.text().into_owned()));
        let groups = Groups::from(names);
        Ok(Self {
            jid: jid.to_owned(),
            name: el.attr("name").map(str::to_owned),
            subscription: Subscription::from_attr(el.attr("subscription")),
            ask: el.attr("ask") == Some("subscribe"),
            approved: matches!(el.attr("approved"), Some("true" | "1")),
            groups,
        })
    }

    /// Builds the `<item/>`. `approved` and `ask` are included when set
    /// (servers ignore them in a set, RFC 6121 §2.1.2.1 and §2.1.2.2).
    pub fn to_element(&self) -> Element {
        let mut b = Element::builder("item", ns::ROSTER)
            .attr("jid", self.jid.clone())
            .attr_opt("name", self.name.clone());
        if self.subscription != Subscription::None {
            b = b.attr("subscription", self.subscription.as_str());
        }
        if self.ask {
            b = b.attr("ask", "subscribe");
        }
        if self.approved {
            b = b.attr("approved", "true");
        }
        for g in &self.groups {
            b = b.child(Element::builder("group", ns::ROSTER).text(g).build());
        }
        b.build()
    }
}

/// A roster result: every item, and the version when the server keeps one.
/// Items that cannot be read are set aside in [`Roster::skipped`], raw, so
/// one bad item neither costs the whole roster nor vanishes.
///
/// ```
/// use xmpp_sansio::im::Roster;
/// use xmpp_sansio::xml::{Element, ns};
/// let item = |jid: &str, sub: &str| Element::builder("item", ns::ROSTER)
///     .attr("jid", jid).attr("subscription", sub).build();
/// let query = Element::builder("query", ns::ROSTER).attr("ver", "v9")
///     .child(item("romeo@example.net", "both"))
///     .child(item("tybalt@example.org", "remove")) // never valid in a result
///     .build();
/// let roster = Roster::from_query(&query);
/// assert_eq!((roster.items.len(), roster.ver.as_deref()), (1, Some("v9")));
/// assert_eq!(roster.skipped[0].attr("jid"), Some("tybalt@example.org"));
/// assert!(!roster.is_complete());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    /// The roster version (RFC 6121 §2.6), if any.
    pub ver: Option<String>,
    /// The items.
    pub items: Vec<RosterItem>,
    /// The `<item/>` children that could not be read (no `jid`, a `jid`
    /// that is not a valid JID, or `subscription='remove'`, which RFC 6121
    /// §2.1.2.5 does not allow in a result), exactly as received.
    pub skipped: Vec<Element>,
}

impl Roster {
    /// Reads a `<query xmlns='jabber:iq:roster'/>` from a roster result.
    /// Unreadable items go to [`Roster::skipped`].
    pub fn from_query(query: &Element) -> Self {
        let item = |c: &Element| c.is("item", ns::ROSTER);
        let mut roster = Self {
            ver: query.attr("ver").map(str::to_owned),
            // Counted first: the vector is allocated once, at its size.
            items: Vec::with_capacity(query.children().filter(item).count()),
            skipped: Vec::new(),
        };
        for child in query.children().filter(item) {
            match RosterItem::from_element(&child) {
                Ok(item) if item.subscription != Subscription::Remove => roster.items.push(item),
                _ => roster.skipped.push(child),
            }
        }
        roster
    }

    /// At most the heap [`Roster::from_query`] takes for `query`: the items'
    /// vector and strings, the skipped items' handles, and one item's JID
    /// check at a time. The stream checks it against
    /// [`crate::xml::Limits::max_tree_bytes`] before it builds a roster.
    pub(crate) fn heap_bound(query: &Element) -> usize {
        let per_item = size_of::<RosterItem>() + 2 * size_of::<Element>();
        let mut bound = 0usize;
        let mut longest_jid = 0usize;
        for item in query.children().filter(|c| c.is("item", ns::ROSTER)) {
            let jid = item.attr("jid").map_or(0, str::len);
            longest_jid = longest_jid.max(jid);
            let name = item.attr("name").map_or(0, str::len);
            let groups: usize = item
                .children()
                .map(|g| 2 * (size_of::<String>() + g.text().len()))
                .sum();
            bound = bound
                .saturating_add(per_item + jid + name)
                .saturating_add(groups);
        }
        // The `jid` crate's check of the longest JID: its copy, prepared.
        bound.saturating_add(2 * longest_jid)
    }

    /// Whether every item was read ([`Roster::skipped`] is empty). A
    /// [`RosterCache`] does not adopt the version of an incomplete roster.
    pub fn is_complete(&self) -> bool {
        self.skipped.is_empty()
    }

    /// The `<query/>` holding this roster (a convenient persistence form);
    /// skipped items are kept as they came.
    pub fn to_query(&self) -> Element {
        Element::builder("query", ns::ROSTER)
            .attr_opt("ver", self.ver.clone())
            .children(self.items.iter().map(RosterItem::to_element))
            .children(self.skipped.iter().cloned())
            .build()
    }
}

/// Why a roster push was refused (RFC 6121 §2.1.6). The stream answers it
/// with [`RosterPushRejection::stanza_error`] and reports it as
/// [`crate::Event::RosterPushRejected`]; nothing is applied.
///
/// ```
/// use xmpp_sansio::im::RosterPushRejection;
/// use xmpp_sansio::stanza::StanzaErrorCondition;
/// let r = RosterPushRejection::ItemCount(2);
/// assert!(r.from_server());
/// assert_eq!(r.stanza_error().condition, StanzaErrorCondition::BadRequest);
/// assert!(!RosterPushRejection::ForeignSender.from_server());
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterPushRejection {
    /// `from` is neither absent nor our bare JID (our full JID included):
    /// the client must ignore it (§2.1.6). Answered `service-unavailable`,
    /// as for any request we do not serve (RFC 6120 §8.4); the roster did
    /// not change.
    #[error("a roster push from someone other than the server")]
    ForeignSender,
    /// The query holds this many items instead of exactly one. Answered
    /// `bad-request`.
    #[error("a roster push carries exactly one item, not {0}")]
    ItemCount(usize),
    /// The one item cannot be read (no `jid`, or a `jid` that is not a
    /// valid JID: [`StanzaParseError::JidMalformed`]). Answered
    /// `bad-request` whatever the reason: the payload, not the stanza's
    /// addressing, is at fault. (An unknown `subscription` is no reason:
    /// it is read as `none`, §2.1.2.5.)
    #[error("unreadable roster push item: {0}")]
    BadItem(StanzaParseError),
}

impl RosterPushRejection {
    /// Whether the push came from the server itself. If so, the server's
    /// roster may have changed without the client learning how: call
    /// [`RosterCache::mark_stale`] so the next request fetches it whole.
    pub fn from_server(&self) -> bool {
        !matches!(self, RosterPushRejection::ForeignSender)
    }

    /// The error the push is answered with.
    pub fn stanza_error(&self) -> StanzaError {
        match self {
            RosterPushRejection::ForeignSender => {
                StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::ServiceUnavailable)
            }
            RosterPushRejection::BadItem(_) | RosterPushRejection::ItemCount(_) => {
                StanzaError::from_condition(StanzaErrorCondition::BadRequest)
                    .with_text(Some("en"), self.to_string())
            }
        }
    }

    /// Reads a push's `<query/>` (its payload), sender already checked:
    /// the one item and the new version.
    pub(crate) fn read_push(
        query: Option<&Element>,
    ) -> Result<(RosterItem, Option<String>), RosterPushRejection> {
        let items: Vec<Element> = query
            .into_iter()
            .flat_map(|q| q.children())
            .filter(|c| c.is("item", ns::ROSTER))
            .collect();
        let [one] = items.as_slice() else {
            return Err(RosterPushRejection::ItemCount(items.len()));
        };
        let item = RosterItem::from_element(one).map_err(RosterPushRejection::BadItem)?;
        let ver = query.and_then(|q| q.attr("ver")).map(str::to_owned);
        Ok((item, ver))
    }
}

/// A client-side roster cache for versioning (RFC 6121 §2.6): plain data
/// the application keeps and persists as it likes ([`RosterCache::to_query`]
/// is one way).
///
/// ```
/// use xmpp_sansio::im::{Roster, RosterCache, RosterItem, Subscription};
///
/// let mut cache = RosterCache::default();
/// assert_eq!(cache.request_ver(), "");            // bootstrap versioning
/// cache.replace(Roster {
///     ver: Some("v1".into()),
///     items: vec![RosterItem::new("romeo@example.net")],
///     ..Roster::default()
/// });
/// assert_eq!(cache.request_ver(), "v1");
/// let mut removed = RosterItem::new("romeo@example.net");
/// removed.subscription = Subscription::Remove;
/// cache.apply_push(removed, Some("v2".into()));
/// assert!(cache.items.is_empty());
/// assert_eq!(cache.ver.as_deref(), Some("v2"));
/// assert_eq!(cache.request_ver(), "", "an empty cache bootstraps again");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RosterCache {
    /// The version of the cached roster; `None` before any versioned result.
    pub ver: Option<String>,
    /// Items by bare JID.
    pub items: BTreeMap<String, RosterItem>,
}

impl RosterCache {
    /// The `ver` to send with a roster request: the cached version, or the
    /// empty string to bootstrap versioning (RFC 6121 §2.6.2).
    ///
    /// An empty cache always bootstraps, whatever its version: fetching an
    /// empty roster in full costs nothing, and it sidesteps a real server
    /// quirk (Prosody 0.12 numbers a never-modified roster `1` and its first
    /// change `1` too, so a cached empty roster would be declared current
    /// after that change).
    pub fn request_ver(&self) -> &str {
        if self.items.is_empty() {
            ""
        } else {
            self.ver.as_deref().unwrap_or("")
        }
    }

    /// Replaces the cache with a full roster result. If some items could
    /// not be read ([`Roster::is_complete`] is false), the result's version
    /// is not adopted: the cache is stale, and the next request fetches the
    /// roster whole again rather than be told a version lacking those
    /// items is current.
    pub fn replace(&mut self, roster: Roster) {
        self.ver = if roster.is_complete() {
            roster.ver
        } else {
            None
        };
        self.items = roster
            .items
            .into_iter()
            .map(|i| (i.jid.clone(), i))
            .collect();
    }

    /// Applies a push (RFC 6121 §2.1.6): adds, updates or removes the item;
    /// the push's version becomes the cache's. A cache without a version
    /// (never versioned, incomplete, or [stale](RosterCache::mark_stale))
    /// keeps none: a push tells one change, not that nothing else was
    /// missed, so only a complete roster result gives it a version again.
    pub fn apply_push(&mut self, item: RosterItem, ver: Option<String>) {
        if item.subscription == Subscription::Remove {
            self.items.remove(&item.jid);
        } else {
            self.items.insert(item.jid.clone(), item);
        }
        if ver.is_some() && self.ver.is_some() {
            self.ver = ver;
        }
    }

    /// Forgets the cached version (the items stay): the next
    /// [`RosterCache::request_ver`] asks for the whole roster. Call it when
    /// a change may have been missed, e.g. a push from the server was
    /// refused ([`RosterPushRejection::from_server`]).
    pub fn mark_stale(&mut self) {
        self.ver = None;
    }

    /// The cache as a `<query/>` element (to persist).
    pub fn to_query(&self) -> Element {
        Roster {
            ver: self.ver.clone(),
            items: self.items.values().cloned().collect(),
            skipped: Vec::new(),
        }
        .to_query()
    }

    /// Restores a cache from [`RosterCache::to_query`]'s element.
    pub fn from_query(query: &Element) -> Self {
        let mut cache = Self::default();
        cache.replace(Roster::from_query(query));
        cache
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(xml_attrs: &[(&str, &str)], groups: &[&str]) -> Element {
        let mut b = Element::builder("item", ns::ROSTER);
        for (k, v) in xml_attrs {
            b = b.attr(*k, *v);
        }
        for g in groups {
            b = b.child(Element::builder("group", ns::ROSTER).text(*g).build());
        }
        b.build()
    }

    #[test]
    fn items_are_checked_and_groups_form_a_set() {
        assert!(RosterItem::from_element(&item(&[], &[])).is_err(), "no jid");
        // §2.1.2.5: an unknown subscription is ignored, not a reason to
        // refuse the item.
        let odd =
            RosterItem::from_element(&item(&[("jid", "a@b"), ("subscription", "sometimes")], &[]));
        assert_eq!(odd.map(|i| i.subscription), Ok(Subscription::None));
        // Not a JID: refused, with the value as sent.
        for bad in [
            "\"juliet\"@example.com",
            "@example.com",
            "a@b@c",
            "a@b/",
            "/r",
            "a b@c",
        ] {
            assert_eq!(
                RosterItem::from_element(&item(&[("jid", bad)], &[])),
                Err(StanzaParseError::JidMalformed {
                    attr: "jid",
                    value: bad.to_owned()
                }),
                "{bad}"
            );
        }
        // A domain (a gateway) and a full JID are JIDs, kept as sent.
        for good in ["gateway.example.com", "Romeo@Example.net/orchard"] {
            let read = RosterItem::from_element(&item(&[("jid", good)], &[]));
            assert_eq!(read.map(|i| i.jid), Ok(good.to_owned()));
        }
        let ok = RosterItem::from_element(&item(
            &[("jid", "a@b"), ("approved", "1")],
            &["x", "", "x", "y"],
        ));
        let ok = ok.unwrap_or_else(|e| panic!("{e}"));
        assert!(ok.approved);
        assert_eq!(ok.groups.iter().collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn one_bad_item_does_not_cost_the_roster() {
        let query = Element::builder("query", ns::ROSTER)
            .attr("ver", "7")
            .child(item(&[("jid", "a@b")], &[]))
            .child(item(&[("subscription", "both")], &[]))
            .build();
        let roster = Roster::from_query(&query);
        assert_eq!((roster.items.len(), roster.ver.as_deref()), (1, Some("7")));
        assert_eq!(roster.skipped, [item(&[("subscription", "both")], &[])]);
        // The cache keeps what was read but not the version: it is stale.
        let mut cache = RosterCache::default();
        cache.replace(roster.clone());
        assert_eq!((cache.items.len(), cache.ver.as_deref()), (1, None));
        assert_eq!(cache.request_ver(), "", "the next request fetches it whole");
        // Persisted as a roster, the skipped item comes back as it was.
        assert_eq!(Roster::from_query(&roster.to_query()), roster);
    }

    #[test]
    fn remove_is_not_an_item_of_a_result() {
        let query = Element::builder("query", ns::ROSTER)
            .attr("ver", "8")
            .child(item(&[("jid", "a@b"), ("subscription", "remove")], &[]))
            .build();
        let roster = Roster::from_query(&query);
        assert!(roster.items.is_empty());
        assert_eq!(roster.skipped.len(), 1);
        let mut cache = RosterCache::default();
        cache.replace(roster);
        assert_eq!(cache.ver, None);
    }

    #[test]
    fn pushes_carry_exactly_one_readable_item() {
        let query = |items: &[Element]| {
            Element::builder("query", ns::ROSTER)
                .attr("ver", "9")
                .children(items.iter().cloned())
                .build()
        };
        let ok = RosterPushRejection::read_push(Some(&query(&[item(
            &[("jid", "a@b"), ("subscription", "remove")],
            &[],
        )])));
        assert!(
            matches!(ok, Ok((i, Some(v))) if i.subscription == Subscription::Remove && v == "9")
        );
        assert_eq!(
            RosterPushRejection::read_push(Some(&query(&[]))),
            Err(RosterPushRejection::ItemCount(0))
        );
        assert_eq!(
            RosterPushRejection::read_push(None),
            Err(RosterPushRejection::ItemCount(0))
        );
        let two = [item(&[("jid", "a@b")], &[]), item(&[("jid", "c@d")], &[])];
        assert_eq!(
            RosterPushRejection::read_push(Some(&query(&two))),
            Err(RosterPushRejection::ItemCount(2))
        );
        let bad = RosterPushRejection::read_push(Some(&query(&[item(&[("name", "x")], &[])])));
        assert!(matches!(bad, Err(RosterPushRejection::BadItem(_))));
    }

    #[test]
    fn a_stale_cache_bootstraps_but_keeps_its_items() {
        let mut cache = RosterCache::default();
        cache.replace(Roster {
            ver: Some("5".into()),
            items: vec![RosterItem::new("a@b")],
            skipped: Vec::new(),
        });
        assert_eq!(cache.request_ver(), "5");
        cache.mark_stale();
        assert_eq!(cache.request_ver(), "");
        assert_eq!(cache.items.len(), 1);
        // A later push does not make it current again.
        cache.apply_push(RosterItem::new("c@d"), Some("6".into()));
        assert_eq!((cache.items.len(), cache.request_ver()), (2, ""));
    }

    #[test]
    fn cache_round_trips_as_xml_and_ignores_unversioned_pushes_for_its_version() {
        let mut cache = RosterCache::default();
        cache.replace(Roster {
            ver: Some("3".into()),
            items: vec![RosterItem::new("a@b").with_groups(["g"])],
            skipped: Vec::new(),
        });
        cache.apply_push(RosterItem::new("c@d"), None);
        assert_eq!(cache.ver.as_deref(), Some("3"));
        assert_eq!(RosterCache::from_query(&cache.to_query()), cache);
    }
}
