//! RFC 6121 on the stream: roster requests and their results, roster
//! pushes (validated and acknowledged), roster changes.

use crate::im::{Roster, RosterItem, Subscription};
use crate::iq::{Purpose, same_address};
use crate::stanza::{ErrorType, Iq, IqType, StanzaError, StanzaErrorCondition, StanzaView};
use crate::time::Instant;
use crate::xml::{Element, ns};

use super::{Event, Stream, UsageError};

impl Stream {
    /// Requests the roster (RFC 6121 §2.1.3). With `cached_ver` (from a
    /// [`crate::im::RosterCache`]; `""` to bootstrap) and a server that
    /// advertises roster versioning, asks only for what changed (§2.6); the
    /// version is left out for servers that do not. The answer arrives as
    /// [`Event::Roster`], or [`Event::IqError`] with the returned id.
    pub fn request_roster(
        &mut self,
        cached_ver: Option<&str>,
        now: Instant,
    ) -> Result<String, UsageError> {
        self.check_online()?;
        let versioning = self.features.as_ref().is_some_and(|f| f.roster_versioning);
        let query = Element::builder("query", ns::ROSTER)
            .attr_opt("ver", cached_ver.filter(|_| versioning))
            .build();
        let timeout = self.config.iq_timeout;
        Ok(self.send_iq_internal(IqType::Get, None, query, Purpose::Roster, timeout, now))
    }

    /// Adds or updates a roster item (RFC 6121 §2.3): name and groups.
    /// The result or error arrives as [`Event::IqResult`] / [`Event::IqError`];
    /// the change itself comes back as an [`Event::RosterPush`].
    pub fn set_roster_item(
        &mut self,
        item: &RosterItem,
        now: Instant,
    ) -> Result<String, UsageError> {
        if item.subscription == Subscription::Remove {
            return Err(UsageError::InvalidStanza(
                "use remove_roster_item to remove",
            ));
        }
        // The server manages subscription, ask and approved (§2.1.2): send
        // only what the client may set.
        let mut sent = RosterItem::new(item.jid.clone());
        sent.name = item.name.clone();
        sent.groups = item.groups.clone();
        self.roster_set(sent, now)
    }

    /// Removes a roster item (RFC 6121 §2.5), cancelling subscriptions both ways.
    pub fn remove_roster_item(&mut self, jid: &str, now: Instant) -> Result<String, UsageError> {
        let mut item = RosterItem::new(jid);
        item.subscription = Subscription::Remove;
        self.roster_set(item, now)
    }

    fn roster_set(&mut self, item: RosterItem, now: Instant) -> Result<String, UsageError> {
        let query = Element::builder("query", ns::ROSTER)
            .child(item.to_element())
            .build();
        self.send_iq(IqType::Set, None, query, now)
    }

    pub(super) fn on_roster_reply(&mut self, id: String, from: Option<String>, iq: &Iq) {
        match iq.type_() {
            IqType::Error => {
                let error = iq.error().unwrap_or_else(|| {
                    StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::UndefinedCondition)
                });
                self.events.push_back(Event::IqError { id, from, error });
            }
            _ => {
                let roster = iq
                    .payload()
                    .filter(|q| q.is("query", ns::ROSTER))
                    .map(|q| Roster::from_query(&q).0);
                self.events.push_back(Event::Roster { id, roster });
            }
        }
    }

    /// RFC 6121 §2.1.6: a push comes from the server (no `from`, or our
    /// bare JID) and holds exactly one item; it is acknowledged with a
    /// result. Anything else is refused and not applied.
    pub(super) fn on_roster_push(&mut self, iq: &Iq, now: Instant) {
        let from_server = iq
            .from()
            .is_none_or(|f| same_address(f.as_str(), &self.own.bare));
        if !from_server {
            let refusal =
                StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::ServiceUnavailable);
            if let Some(reply) = iq.error_reply(refusal) {
                self.write_element(&reply, now);
            }
            return;
        }
        let query = iq.payload();
        let items: Vec<Element> = query
            .iter()
            .flat_map(|q| q.children())
            .filter(|c| c.is("item", ns::ROSTER))
            .collect();
        let item = match items.as_slice() {
            [one] => RosterItem::from_element(one),
            _ => Err(crate::stanza::StanzaParseError::Malformed(
                "a roster push carries exactly one item",
            )),
        };
        match item {
            Ok(item) => {
                if let Some(reply) = iq.result_reply(None) {
                    self.write_element(&reply, now);
                }
                let ver = query
                    .as_ref()
                    .and_then(|q| q.attr("ver"))
                    .map(str::to_owned);
                self.events.push_back(Event::RosterPush { item, ver });
            }
            Err(e) => {
                if let Some(reply) = iq.error_reply(e.stanza_error()) {
                    self.write_element(&reply, now);
                }
            }
        }
    }
}
