//! Rosters (RFC 6121 §2): items, results, pushes, and a versioned cache.

use std::collections::{BTreeMap, BTreeSet};

use crate::stanza::{Address, StanzaParseError};
use crate::xml::{Element, ns};

/// The `subscription` state of a roster item (RFC 6121 §2.1.2.5).
///
/// ```
/// use xmpp_sansio::im::Subscription;
/// assert_eq!(Subscription::from_attr(None), Ok(Subscription::None));
/// assert_eq!(Subscription::from_attr(Some("both")).map(|s| s.as_str()), Ok("both"));
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
    /// In a set or a push: the item is removed.
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

    /// Parses the attribute value; absent is `none`.
    pub fn from_attr(value: Option<&str>) -> Result<Self, StanzaParseError> {
        Ok(match value {
            None | Some("none") => Subscription::None,
            Some("to") => Subscription::To,
            Some("from") => Subscription::From,
            Some("both") => Subscription::Both,
            Some("remove") => Subscription::Remove,
            Some(_) => return Err(StanzaParseError::Malformed("unknown roster subscription")),
        })
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
    /// The contact's bare JID, as sent.
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
    pub groups: BTreeSet<String>,
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
            groups: BTreeSet::new(),
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

    /// Reads an `<item/>` of `jabber:iq:roster`.
    pub fn from_element(el: &Element) -> Result<Self, StanzaParseError> {
        if !el.is("item", ns::ROSTER) {
            return Err(StanzaParseError::Malformed("not a roster item"));
        }
        let jid = el
            .attr("jid")
            .filter(|j| !j.is_empty())
            .ok_or(StanzaParseError::Malformed("roster item without a jid"))?;
        // RFC 6121 §2.1.2.6: a group name is not empty; duplicates collapse.
        let groups = el
            .children()
            .filter(|c| c.is("group", ns::ROSTER))
            .map(|g| g.text().into_owned())
            .filter(|name| !name.is_empty())
            .collect();
        Ok(Self {
            jid: jid.to_owned(),
            name: el.attr("name").map(str::to_owned),
            subscription: Subscription::from_attr(el.attr("subscription"))?,
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
            b = b.child(
                Element::builder("group", ns::ROSTER)
                    .text(g.clone())
                    .build(),
            );
        }
        b.build()
    }
}

/// A roster result: every item, and the version when the server keeps one.
///
/// ```
/// use xmpp_sansio::im::Roster;
/// use xmpp_sansio::xml::{Element, ns};
/// let query = Element::builder("query", ns::ROSTER).attr("ver", "v9")
///     .child(Element::builder("item", ns::ROSTER).attr("jid", "romeo@example.net").build())
///     .build();
/// let (roster, skipped) = Roster::from_query(&query);
/// assert_eq!((roster.items.len(), skipped, roster.ver.as_deref()), (1, 0, Some("v9")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    /// The roster version (RFC 6121 §2.6), if any.
    pub ver: Option<String>,
    /// The items.
    pub items: Vec<RosterItem>,
}

impl Roster {
    /// Reads a `<query xmlns='jabber:iq:roster'/>`. Items that cannot be
    /// read are skipped (one bad item must not cost the whole roster) and
    /// counted in the second value.
    pub fn from_query(query: &Element) -> (Self, usize) {
        let mut skipped = 0;
        let items = query
            .children()
            .filter(|c| c.is("item", ns::ROSTER))
            .filter_map(|c| RosterItem::from_element(&c).map_err(|_| skipped += 1).ok())
            .collect();
        (
            Self {
                ver: query.attr("ver").map(str::to_owned),
                items,
            },
            skipped,
        )
    }

    /// The `<query/>` holding this roster (a convenient persistence form).
    pub fn to_query(&self) -> Element {
        Element::builder("query", ns::ROSTER)
            .attr_opt("ver", self.ver.clone())
            .children(self.items.iter().map(RosterItem::to_element))
            .build()
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
/// cache.replace(Roster { ver: Some("v1".into()), items: vec![RosterItem::new("romeo@example.net")] });
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

    /// Replaces the cache with a full roster result.
    pub fn replace(&mut self, roster: Roster) {
        self.ver = roster.ver;
        self.items = roster
            .items
            .into_iter()
            .map(|i| (i.jid.clone(), i))
            .collect();
    }

    /// Applies a push (RFC 6121 §2.1.6): adds, updates or removes the item;
    /// the push's version becomes the cache's.
    pub fn apply_push(&mut self, item: RosterItem, ver: Option<String>) {
        if item.subscription == Subscription::Remove {
            self.items.remove(&item.jid);
        } else {
            self.items.insert(item.jid.clone(), item);
        }
        if ver.is_some() {
            self.ver = ver;
        }
    }

    /// The cache as a `<query/>` element (to persist).
    pub fn to_query(&self) -> Element {
        Roster {
            ver: self.ver.clone(),
            items: self.items.values().cloned().collect(),
        }
        .to_query()
    }

    /// Restores a cache from [`RosterCache::to_query`]'s element.
    pub fn from_query(query: &Element) -> Self {
        let mut cache = Self::default();
        cache.replace(Roster::from_query(query).0);
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
        assert!(
            RosterItem::from_element(&item(&[("jid", "a@b"), ("subscription", "sometimes")], &[]))
                .is_err()
        );
        let ok = RosterItem::from_element(&item(
            &[("jid", "a@b"), ("approved", "1")],
            &["x", "", "x", "y"],
        ));
        let ok = ok.unwrap_or_else(|e| panic!("{e}"));
        assert!(ok.approved);
        assert_eq!(
            ok.groups.iter().map(String::as_str).collect::<Vec<_>>(),
            ["x", "y"]
        );
    }

    #[test]
    fn one_bad_item_does_not_cost_the_roster() {
        let query = Element::builder("query", ns::ROSTER)
            .attr("ver", "7")
            .child(item(&[("jid", "a@b")], &[]))
            .child(item(&[("subscription", "both")], &[]))
            .build();
        let (roster, skipped) = Roster::from_query(&query);
        assert_eq!(
            (roster.items.len(), skipped, roster.ver.as_deref()),
            (1, 1, Some("7"))
        );
    }

    #[test]
    fn cache_round_trips_as_xml_and_ignores_unversioned_pushes_for_its_version() {
        let mut cache = RosterCache::default();
        cache.replace(Roster {
            ver: Some("3".into()),
            items: vec![RosterItem::new("a@b").with_groups(["g"])],
        });
        cache.apply_push(RosterItem::new("c@d"), None);
        assert_eq!(cache.ver.as_deref(), Some("3"));
        assert_eq!(RosterCache::from_query(&cache.to_query()), cache);
    }
}
