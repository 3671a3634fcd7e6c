//! A hook-style adapter over the poll API, for callers who prefer handlers
//! (in the spirit of Protocol::XMPP). It adds no behaviour of its own:
//! [`Stream::dispatch`] takes events from [`Stream::poll_event`] and calls
//! the matching method. Each method gets the stream to answer with; its
//! sends are queued as usual, so handlers can never re-enter input
//! processing.

use crate::im::{Roster, RosterItem, RosterPushRejection};
use crate::stanza::{ErrorType, Iq, Message, Presence, StanzaError, StanzaErrorCondition};
use crate::time::Instant;
use crate::xml::Element;
use crate::{Error, Event, Stream};

/// Event handlers with default methods: implement the ones you need.
///
/// ```
/// use std::time::Instant;
/// use xmpp_sansio::hooks::Handler;
/// use xmpp_sansio::stanza::Message;
/// use xmpp_sansio::{ClientConfig, Stream, TlsPolicy};
///
/// #[derive(Default)]
/// struct Bot { online_as: Option<String>, messages: usize }
///
/// impl Handler for Bot {
///     fn on_online(&mut self, _stream: &mut Stream, jid: &str, _now: Instant) {
///         self.online_as = Some(jid.to_owned());
///     }
///     fn on_message(&mut self, _stream: &mut Stream, _message: Message, _now: Instant) {
///         self.messages += 1;
///     }
/// }
///
/// let mut config = ClientConfig::new("bot@example.com", "secret", [1; 32]);
/// config.tls = TlsPolicy::Disabled;
/// config.allow_plaintext_auth = true;
/// let now = Instant::now();
/// let mut stream = Stream::client(config);
/// stream.start(now).unwrap();
/// let header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
/// stream.handle_input(format!("{header}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
///     <mechanism>PLAIN</mechanism></mechanisms></stream:features><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\
///     {header}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>").as_bytes(), now).unwrap();
/// let sent = String::from_utf8(stream.poll_transmit().unwrap().to_vec()).unwrap();
/// let bind_id = sent.split("<iq type='set' id='").nth(1).unwrap().split('\'').next().unwrap();
/// stream.handle_input(format!("<iq type='result' id='{bind_id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
///     <jid>bot@example.com/r</jid></bind></iq><message from='a@example.com'><body>hi</body></message>").as_bytes(), now).unwrap();
///
/// let mut bot = Bot::default();
/// stream.dispatch(&mut bot, now);
/// assert_eq!(bot.online_as.as_deref(), Some("bot@example.com/r"));
/// assert_eq!(bot.messages, 1);
/// ```
#[allow(unused_variables)]
pub trait Handler {
    /// [`Event::StartTls`]: the caller's I/O loop must upgrade the transport
    /// and call [`Stream::tls_established`]; this is only a notification.
    fn on_start_tls(&mut self, stream: &mut Stream, now: Instant) {}
    /// [`Event::Online`].
    fn on_online(&mut self, stream: &mut Stream, jid: &str, now: Instant) {}
    /// [`Event::Message`].
    fn on_message(&mut self, stream: &mut Stream, message: Message, now: Instant) {}
    /// [`Event::Presence`].
    fn on_presence(&mut self, stream: &mut Stream, presence: Presence, now: Instant) {}
    /// [`Event::SubscriptionRequest`]; by default the request is left
    /// pending (the server keeps it until the user decides).
    fn on_subscription_request(&mut self, stream: &mut Stream, request: Presence, now: Instant) {}
    /// [`Event::IqRequest`]. By default it is answered with
    /// `service-unavailable` (RFC 6120 §8.4), so no request goes unanswered.
    fn on_iq_request(&mut self, stream: &mut Stream, request: Iq, now: Instant) {
        let error = StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::ServiceUnavailable);
        let _ = stream.reply_iq_error(&request, error, now);
    }
    /// [`Event::IqResult`].
    fn on_iq_result(
        &mut self,
        stream: &mut Stream,
        id: &str,
        payload: Option<Element>,
        now: Instant,
    ) {
    }
    /// [`Event::IqError`].
    fn on_iq_error(&mut self, stream: &mut Stream, id: &str, error: StanzaError, now: Instant) {}
    /// [`Event::IqTimeout`].
    fn on_iq_timeout(&mut self, stream: &mut Stream, id: &str, now: Instant) {}
    /// [`Event::Roster`] (`roster: None`: `request_ver`, the version the
    /// request sent, is current).
    fn on_roster(
        &mut self,
        stream: &mut Stream,
        id: &str,
        roster: Option<Roster>,
        request_ver: Option<&str>,
        now: Instant,
    ) {
    }
    /// [`Event::RosterPush`] (already acknowledged, unless we had closed).
    fn on_roster_push(
        &mut self,
        stream: &mut Stream,
        item: RosterItem,
        ver: Option<String>,
        now: Instant,
    ) {
    }
    /// [`Event::RosterPushRejected`] (already answered with an error; not
    /// applied). Mark a roster cache stale when `reason.from_server()`.
    fn on_roster_push_rejected(
        &mut self,
        stream: &mut Stream,
        push: Iq,
        reason: RosterPushRejection,
        now: Instant,
    ) {
    }
    /// [`Event::Closed`]; [`Stream::closed_by`] tells which side ended it.
    fn on_closed(&mut self, stream: &mut Stream, error: Option<Error>, now: Instant) {}
    /// Every other event ([`Event::Features`], [`Event::Authenticated`],
    /// [`Event::Unhandled`], and any added later).
    fn on_other(&mut self, stream: &mut Stream, event: Event, now: Instant) {}
}

impl Stream {
    /// Hands every pending event to `handler` (the hook-style API; see
    /// [`Handler`]). Drain [`Stream::poll_transmit`] afterwards, as always.
    pub fn dispatch(&mut self, handler: &mut impl Handler, now: Instant) {
        while let Some(event) = self.poll_event() {
            match event {
                Event::StartTls => handler.on_start_tls(self, now),
                Event::Online { jid } => handler.on_online(self, &jid, now),
                Event::Message(m) => handler.on_message(self, m, now),
                Event::Presence(p) => handler.on_presence(self, p, now),
                Event::SubscriptionRequest(p) => handler.on_subscription_request(self, p, now),
                Event::IqRequest(iq) => handler.on_iq_request(self, iq, now),
                Event::IqResult { id, payload, .. } => {
                    handler.on_iq_result(self, &id, payload, now)
                }
                Event::IqError { id, error, .. } => handler.on_iq_error(self, &id, error, now),
                Event::IqTimeout { id } => handler.on_iq_timeout(self, &id, now),
                Event::Roster {
                    id,
                    roster,
                    request_ver,
                } => handler.on_roster(self, &id, roster, request_ver.as_deref(), now),
                Event::RosterPush { item, ver } => handler.on_roster_push(self, item, ver, now),
                Event::RosterPushRejected { push, reason } => {
                    handler.on_roster_push_rejected(self, push, reason, now)
                }
                Event::Closed { error, .. } => handler.on_closed(self, error, now),
                other => handler.on_other(self, other, now),
            }
        }
    }
}
