//! RFC 6121 on the stream: roster requests and their results, roster
//! pushes (validated, then acknowledged or refused), roster changes.

use crate::im::{Roster, RosterItem, RosterPushRejection, Subscription};
use crate::iq::Purpose;
use crate::stanza::same_address;
use crate::stanza::{ErrorType, Iq, IqType, StanzaError, StanzaErrorCondition, StanzaView};
use crate::time::Instant;
use crate::xml::{Element, LimitKind, XmlError, ns};

use super::reply::IqReply;
use super::{Error, Event, InvalidStanzaReason, Stream, UsageError};

impl Stream {
    /// Requests the roster (RFC 6121 §2.1.3). With `cached_ver` (from a
    /// [`crate::im::RosterCache`]; `""` to bootstrap) and a server that
    /// advertises roster versioning, asks only for what changed (§2.6); the
    /// version is left out for servers that do not. The answer arrives as
    /// [`Event::Roster`] (whose `request_ver` is the version sent, if
    /// any), or [`Event::IqError`] with the returned id. A
    /// result that is no roster (a payload in another namespace, or no
    /// payload when no version was sent) arrives as [`Event::IqResult`].
    pub fn request_roster(
        &mut self,
        cached_ver: Option<&str>,
        now: Instant,
    ) -> Result<String, UsageError> {
        self.check_client()?;
        self.check_online()?;
        let versioning = self.features().is_some_and(|f| f.roster_versioning);
        let ver = cached_ver.filter(|_| versioning);
        let query = Element::builder("query", ns::ROSTER)
            .attr_opt("ver", ver)
            .build();
        let timeout = self.settings.iq_timeout;
        let purpose = Purpose::Roster {
            ver: ver.map(str::to_owned),
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
        self.check_client()?;
        if item.subscription == Subscription::Remove {
            return Err(UsageError::InvalidStanza(
                InvalidStanzaReason::RemoveWithSetRosterItem,
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
        self.check_client()?;
        let query = Element::builder("query", ns::ROSTER)
            .child(item.to_element())
            .build();
        self.send_iq(IqType::Set, None, query, now)
    }

    /// Sends a `<presence/>` (RFC 6121 §3, §4), giving it an `id` when it
    /// has none, and returns its id. RFC 6121 asks subscription requests
    /// and answers to carry one (§3.1.1, §3.2.1), and RFC 6120 §8.1.3
    /// recommends one on every presence: an error coming back names it.
    /// Assigned ids come from the same generator as IQ ids (seeded by
    /// [`crate::ClientConfig::rng_seed`], so deterministic), never reused
    /// on this stream, so an answer's id never mirrors a request's (§3.2.1).
    ///
    /// Refused with [`UsageError::InvalidStanza`], nothing sent: anything
    /// but a presence in `jabber:client`, and unavailable presence with
    /// `<show/>` or `<priority/>` (§4.5.1; [`crate::im::PresenceBuilder`]
    /// refuses them already). [`Stream::send`] sends a presence through
    /// here too (the id it gives is then not returned).
    ///
    /// ```
    /// # use xmpp_sansio::{ClientConfig, Stream, TlsPolicy};
    /// # use std::time::Instant;
    /// use xmpp_sansio::im::{PresenceBuilder, subscription};
    /// # let mut config = ClientConfig::new("juliet@example.com", "secret", [1; 32]);
    /// # config.tls = TlsPolicy::Disabled;
    /// # config.allow_plaintext_auth = true;
    /// # let now = Instant::now();
    /// # let mut stream = Stream::client(config);
    /// # stream.start(now).unwrap();
    /// # let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    /// # stream.handle_input(format!("{header}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
    /// #     <mechanism>PLAIN</mechanism></mechanisms></stream:features><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\
    /// #     {header}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>").as_bytes(), now).unwrap();
    /// # let sent = String::from_utf8(stream.poll_transmit().unwrap().to_vec()).unwrap();
    /// # let bind_id = sent.split("<iq type='set' id='").nth(1).unwrap().split('\'').next().unwrap();
    /// # stream.handle_input(format!("<iq type='result' id='{bind_id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
    /// #     <jid>juliet@example.com/balcony</jid></bind></iq>").as_bytes(), now).unwrap();
    /// # while stream.poll_transmit().is_some() {}
    /// // Online as juliet@example.com/balcony:
    /// let id = stream.send_presence(subscription::subscribe("romeo@example.net/orchard"), now).unwrap();
    /// let sent = String::from_utf8(stream.poll_transmit().unwrap().to_vec()).unwrap();
    /// assert_eq!(sent, format!("<presence to='romeo@example.net' type='subscribe' id='{id}'/>"));
    /// // An id given is kept.
    /// let id = stream.send_presence(PresenceBuilder::available().id("p1").build(), now).unwrap();
    /// assert_eq!(id, "p1");
    /// ```
    pub fn send_presence(
        &mut self,
        presence: impl Into<Element>,
        now: Instant,
    ) -> Result<String, UsageError> {
        self.check_online()?;
        let presence = presence.into();
        let content_ns = self.role.content_ns();
        if !presence.is("presence", content_ns) {
            return Err(UsageError::InvalidStanza(InvalidStanzaReason::NotAPresence));
        }
        self.check_component_outbound(&presence)?;
        if presence.attr("type") == Some("unavailable")
            && presence
                .children()
                .any(|c| c.ns() == content_ns && matches!(c.name(), "show" | "priority"))
        {
            return Err(UsageError::InvalidStanza(
                InvalidStanzaReason::UnavailableWithShowOrPriority,
            ));
        }
        let given = presence.attr("id").map(str::to_owned);
        let (presence, id) = match given {
            Some(id) => (presence, id),
            None => {
                let id = self.iq.next_id();
                (presence.to_builder().attr("id", id.clone()).build(), id)
            }
        };
        self.write_stanza(&presence, now);
        Ok(id)
    }

    pub(super) fn on_roster_reply(
        &mut self,
        id: String,
        from: Option<String>,
        iq: &Iq,
        request_ver: Option<String>,
    ) {
        let event = match (iq.type_(), iq.payload()) {
            (IqType::Error, _) => {
                let error = iq.error().unwrap_or_else(|| {
                    StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::UndefinedCondition)
                });
                Event::IqError { id, from, error }
            }
            (_, Some(q)) if q.is("query", ns::ROSTER) => {
                // The typed roster is held beside the tree it is read
                // from: the two together stay within the tree budget.
                let budget = self.framer.limits().max_tree_bytes;
                if q.tree_heap().saturating_add(Roster::heap_bound(&q)) > budget {
                    self.fail(Error::Xml(XmlError::LimitExceeded {
                        kind: LimitKind::TreeBytes,
                        limit: budget,
                    }));
                    return;
                }
                Event::Roster {
                    id,
                    roster: Some(Roster::from_query(&q)),
                    request_ver,
                }
            }
            // RFC 6121 §2.6.3: the empty result means "your version is
            // current", which only answers a request that sent one.
            (_, None) if request_ver.is_some() => Event::Roster {
                id,
                roster: None,
                request_ver,
            },
            // A reply to our request, but no roster: reported as the plain
            // result it is, so the request still ends with an event of its id.
            (_, payload) => Event::IqResult { id, from, payload },
        };
        self.push_event(event);
    }

    /// RFC 6121 §2.1.6: a push comes from the server (no `from`, or our
    /// bare JID) and holds exactly one item; it is acknowledged with a
    /// result. Anything else is refused with an error, not applied, and
    /// reported as [`Event::RosterPushRejected`].
    pub(super) fn on_roster_push(&mut self, iq: &Iq, now: Instant) {
        let from_server = iq
            .from()
            .is_none_or(|f| same_address(f.as_str(), &self.role.own().bare));
        let push = if from_server {
            RosterPushRejection::read_push(iq.payload().as_ref())
        } else {
            Err(RosterPushRejection::ForeignSender)
        };
        match push {
            Ok((item, ver)) => {
                self.write_iq_reply(IqReply::to(iq.element(), None), now);
                self.push_event(Event::RosterPush { item, ver });
            }
            Err(reason) => {
                let error = reason.stanza_error();
                self.write_iq_reply(IqReply::to(iq.element(), Some(&error)), now);
                self.push_event(Event::RosterPushRejected {
                    push: iq.clone(),
                    reason,
                });
            }
        }
    }

    /// Refuses a client-only command on a server stream.
    fn check_client(&self) -> Result<(), UsageError> {
        match self.role {
            super::role::Role::Client(_) => Ok(()),
            _ => Err(UsageError::ClientOnly),
        }
    }
}
