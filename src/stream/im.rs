//! RFC 6121 on the stream: roster requests and their results, roster
//! pushes (validated, then acknowledged or refused), roster changes.

use crate::im::{Roster, RosterItem, RosterPushRejection, Subscription};
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
    /// [`Event::Roster`], or [`Event::IqError`] with the returned id. A
    /// result that is no roster (a payload in another namespace, or no
    /// payload when no version was sent) arrives as [`Event::IqResult`].
    pub fn request_roster(
        &mut self,
        cached_ver: Option<&str>,
        now: Instant,
    ) -> Result<String, UsageError> {
        self.check_online()?;
        let versioning = self.features.as_ref().is_some_and(|f| f.roster_versioning);
        let ver = cached_ver.filter(|_| versioning);
        let query = Element::builder("query", ns::ROSTER)
            .attr_opt("ver", ver)
            .build();
        let timeout = self.config.iq_timeout;
        let purpose = Purpose::Roster {
            versioned: ver.is_some(),
        };
        Ok(self.send_iq_internal(IqType::Get, None, query, purpose, timeout, now))
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

    pub(super) fn on_roster_reply(
        &mut self,
        id: String,
        from: Option<String>,
        iq: &Iq,
        versioned: bool,
    ) {
        let event = match (iq.type_(), iq.payload()) {
            (IqType::Error, _) => {
                let error = iq.error().unwrap_or_else(|| {
                    StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::UndefinedCondition)
                });
                Event::IqError { id, from, error }
            }
            (_, Some(q)) if q.is("query", ns::ROSTER) => Event::Roster {
                id,
                roster: Some(Roster::from_query(&q)),
            },
            // RFC 6121 §2.6.3: the empty result means "your version is
            // current", which only answers a request that sent one.
            (_, None) if versioned => Event::Roster { id, roster: None },
            // A reply to our request, but no roster: reported as the plain
            // result it is, so the request still ends with an event of its id.
            (_, payload) => Event::IqResult { id, from, payload },
        };
        self.events.push_back(event);
    }

    /// RFC 6121 §2.1.6: a push comes from the server (no `from`, or our
    /// bare JID) and holds exactly one item; it is acknowledged with a
    /// result. Anything else is refused with an error, not applied, and
    /// reported as [`Event::RosterPushRejected`].
    pub(super) fn on_roster_push(&mut self, iq: &Iq, now: Instant) {
        let from_server = iq
            .from()
            .is_none_or(|f| same_address(f.as_str(), &self.own.bare));
        let push = if from_server {
            RosterPushRejection::read_push(iq.payload().as_ref())
        } else {
            Err(RosterPushRejection::ForeignSender)
        };
        match push {
            Ok((item, ver)) => {
                if let Some(reply) = iq.result_reply(None) {
                    self.write_element(&reply, now);
                }
                self.events.push_back(Event::RosterPush { item, ver });
            }
            Err(reason) => {
                if let Some(reply) = iq.error_reply(reason.stanza_error()) {
                    self.write_element(&reply, now);
                }
                self.events.push_back(Event::RosterPushRejected {
                    push: iq.clone(),
                    reason,
                });
            }
        }
    }
}
