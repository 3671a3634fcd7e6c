//! Stream management (XEP-0198, `urn:xmpp:sm:3`), for either role: one
//! machine ([`Sm`]) owned and driven by the [`Stream`].
//!
//! - **Counting.** Every stanza handled inbound counts (`h`, modulo
//!   2^32), once counting started: for the side that sent `<enable/>`
//!   when `<enabled/>` arrives, for the other when `<enable/>` does.
//!   `<r/>` is answered with `<a h=''/>` at once.
//! - **Keeping.** Every stanza written once outbound counting started
//!   (the enabling side: from `<enable/>` on; the other: after
//!   `<enabled/>`) goes through [`super::Output::stanza`] and is kept here,
//!   as its `Element`, until the peer's `h` covers it. `<a h=''/>`
//!   releases exactly those ([`Event::Acknowledged`]); an `h` beyond what
//!   was sent ends the stream with `undefined-condition` and
//!   `<handled-count-too-high/>` (XEP-0198 §4).
//! - **Asking.** `<r/>` goes out after [`SmConfig::ack_after_stanzas`]
//!   stanzas not yet covered by a request, or [`SmConfig::ack_after`]
//!   after the first of them (the [`Timer::SmAck`] entry).
//! - **Resuming.** [`SmState`] is the whole resumable state as plain
//!   data; [`Stream::sm_state`] takes it at any time, and a new stream
//!   resumes from it (client: [`Stream::client_resuming`]; server:
//!   [`Stream::accept_resume`]) and resends exactly what the peer's `h`
//!   does not cover, once each, in order.

use std::collections::VecDeque;

use crate::stanza::{StanzaErrorCondition, StreamErrorCondition, full_jid_parts};
use crate::time::{Duration, Instant, deadline};
use crate::xml::{Element, Limits, XmlError, ns};

use super::role::{ClientStep, Role};
use super::server::Step as ServerStep;
use super::timers::Timer;
use super::{ClientConfig, Error, Event, Phase, Stream, UsageError, protocol};

/// Stream management settings (XEP-0198), for a client
/// ([`ClientConfig::stream_management`]) or a server
/// ([`crate::ServerConfig::stream_management`]).
///
/// ```
/// use std::time::Duration;
/// use xmpp_sansio::{ClientConfig, SmConfig};
/// let mut config = ClientConfig::new("juliet@example.com", "pw", [0; 32]);
/// assert!(!config.stream_management.enable);  // off unless asked for
/// config.stream_management = SmConfig::enabled();
/// config.stream_management.ack_after = Some(Duration::from_secs(10));
/// assert!(config.stream_management.resume);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmConfig {
    /// Use stream management: a client enables it after binding when the
    /// server offers it; a server offers it after authentication. Off by
    /// default.
    pub enable: bool,
    /// A client asks for resumption (`resume='true'`); a server grants it
    /// when asked (with an id from the stream's random generator).
    pub resume: bool,
    /// A client's preferred longest resumption wait (`max`); a server's
    /// longest (sent in `<enabled/>`). `None`: none said.
    pub max_resume: Option<Duration>,
    /// Ask for an ack (`<r/>`) once this many stanzas were sent since the
    /// last request. `None`: never by count.
    pub ack_after_stanzas: Option<u32>,
    /// Ask for an ack this long after the first stanza sent since the
    /// last request. `None`: never by time.
    pub ack_after: Option<Duration>,
}

impl Default for SmConfig {
    fn default() -> Self {
        Self {
            enable: false,
            resume: true,
            max_resume: None,
            ack_after_stanzas: Some(5),
            ack_after: Some(Duration::from_secs(30)),
        }
    }
}

impl SmConfig {
    /// The defaults with stream management on: resumption asked for (or
    /// granted), an ack asked for after 5 stanzas or 30 seconds.
    pub fn enabled() -> Self {
        Self {
            enable: true,
            ..Self::default()
        }
    }
}

/// The resumable state of a stream-managed session (XEP-0198), as plain
/// data: what an application persists to resume after a disconnection,
/// even after a restart ([`SmState::to_xml`], [`SmState::from_xml`]).
///
/// The stanza numbered `acked + 1 + i` (modulo 2^32) is `unacked[i]`:
/// sent, not yet acknowledged by the peer.
///
/// ```
/// use xmpp_sansio::SmState;
/// use xmpp_sansio::xml::Element;
/// let state = SmState {
///     id: Some("c2s-1".into()),
///     jid: Some("juliet@example.com/balcony".into()),
///     inbound: 7,
///     acked: u32::MAX,
///     unacked: vec![Element::builder("message", "jabber:client").attr("to", "romeo@example.net").build()],
///     ..SmState::default()
/// };
/// assert_eq!(state.sent(), 0); // wrapped
/// let xml = state.to_xml();
/// assert_eq!(SmState::from_xml(&xml), Ok(state));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SmState {
    /// The resumption id (`<enabled id=''/>`); `None` when the session
    /// cannot be resumed.
    pub id: Option<String>,
    /// Where to reconnect to resume (`<enabled location=''/>`), if said.
    pub location: Option<String>,
    /// The longest resumption wait, in seconds (`<enabled max=''/>`), if said.
    pub max: Option<u32>,
    /// The full JID bound to the session.
    pub jid: Option<String>,
    /// Stanzas handled from the peer (our `h`), modulo 2^32.
    pub inbound: u32,
    /// The peer's last `h`: our stanzas it has acknowledged, modulo 2^32.
    pub acked: u32,
    /// The stanzas sent after those, unacknowledged, in order.
    pub unacked: Vec<Element>,
}

/// Why [`SmState::from_xml`] could not read a saved state.
///
/// ```
/// use xmpp_sansio::{SmState, SmStateError};
/// assert!(matches!(SmState::from_xml("<x/>"), Err(SmStateError::NotAState)));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmStateError {
    /// The text is not one well-formed element.
    #[error("not XML: {0}")]
    Xml(#[from] XmlError),
    /// Not an `<sm-state/>` element in [`SmState::NS`].
    #[error("not a saved stream-management state")]
    NotAState,
    /// A counter is missing or not a number below 2^32.
    #[error("attribute {0} is missing or not a 32-bit count")]
    BadCount(&'static str),
}

impl SmState {
    /// The namespace of the saved form.
    pub const NS: &'static str = "urn:xmpp-sansio:sm-state:0";

    /// Stanzas sent (acknowledged or not), modulo 2^32.
    pub fn sent(&self) -> u32 {
        self.acked.wrapping_add(count(self.unacked.len()))
    }

    /// Whether the session can be resumed: it has a resumption id and a
    /// bound JID.
    pub fn resumable(&self) -> bool {
        self.id.is_some() && self.jid.is_some()
    }

    /// The state as XML text: one `<sm-state/>` element holding the
    /// unacknowledged stanzas as they were sent.
    pub fn to_xml(&self) -> String {
        Element::builder("sm-state", Self::NS)
            .attr_opt("id", self.id.as_deref())
            .attr_opt("location", self.location.as_deref())
            .attr_opt("max", self.max.map(|m| m.to_string()))
            .attr_opt("jid", self.jid.as_deref())
            .attr("inbound", self.inbound.to_string())
            .attr("acked", self.acked.to_string())
            .children(self.unacked.iter().cloned())
            .build()
            .to_xml()
    }

    /// Reads what [`SmState::to_xml`] wrote.
    pub fn from_xml(xml: &str) -> Result<Self, SmStateError> {
        // The stanzas were ours; the limits only keep the parse bounded
        // by the text's own size.
        let limits = Limits {
            max_stanza_bytes: Limits::MAX_STANZA_BYTES,
            max_depth: 1024,
            max_attributes: 4096,
            max_name_len: 4096,
            max_tree_bytes: usize::MAX,
        };
        let el = Element::parse(xml, limits)?;
        if !el.is("sm-state", Self::NS) {
            return Err(SmStateError::NotAState);
        }
        let number = |name: &'static str| {
            el.attr(name)
                .and_then(parse_count)
                .ok_or(SmStateError::BadCount(name))
        };
        Ok(Self {
            id: el.attr("id").map(str::to_owned),
            location: el.attr("location").map(str::to_owned),
            max: match el.attr("max") {
                Some(m) => Some(parse_count(m).ok_or(SmStateError::BadCount("max"))?),
                None => None,
            },
            jid: el.attr("jid").map(str::to_owned),
            inbound: number("inbound")?,
            acked: number("acked")?,
            unacked: el.children().collect(),
        })
    }
}

/// A queue length as a count modulo 2^32.
fn count(n: usize) -> u32 {
    // Truncation is the modulo the XEP counts in.
    (n as u64 & u64::from(u32::MAX)) as u32
}

/// An unsigned decimal below 2^32 (XEP-0198's `xs:unsignedInt`).
fn parse_count(s: &str) -> Option<u32> {
    let s = s.trim();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Where the machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmPhase {
    Off,
    /// We sent `<enable/>`.
    EnableSent,
    /// `<enabled/>` passed (either way): both counters run.
    Enabled,
}

/// The stream-management machine of one stream.
#[derive(Debug)]
pub(super) struct Sm {
    pub(super) config: SmConfig,
    phase: SmPhase,
    counting_in: bool,
    counting_out: bool,
    inbound: u32,
    acked: u32,
    queue: VecDeque<Element>,
    /// Stanzas sent since our last `<r/>`.
    uncovered: u32,
    id: Option<String>,
    location: Option<String>,
    max: Option<u32>,
    jid: Option<String>,
    /// Ever enabled on this stream (so its state can be taken after the end).
    used: bool,
}

impl Sm {
    pub(super) fn new(config: SmConfig) -> Self {
        Self {
            config,
            phase: SmPhase::Off,
            counting_in: false,
            counting_out: false,
            inbound: 0,
            acked: 0,
            queue: VecDeque::new(),
            uncovered: 0,
            id: None,
            location: None,
            max: None,
            jid: None,
            used: false,
        }
    }

    /// Whether outbound stanzas are counted and kept for resending now.
    pub(super) fn keeps_outbound(&self) -> bool {
        self.counting_out
    }

    /// Whether stream management runs (or was asked for) on this stream.
    pub(super) fn active(&self) -> bool {
        self.phase != SmPhase::Off
    }

    /// The state as plain data, once stream management was used.
    pub(super) fn snapshot(&self) -> Option<SmState> {
        self.used.then(|| SmState {
            id: self.id.clone(),
            location: self.location.clone(),
            max: self.max,
            jid: self.jid.clone(),
            inbound: self.inbound,
            acked: self.acked,
            unacked: self.queue.iter().cloned().collect(),
        })
    }

    /// Takes over a saved state (resumption): counters, queue, id.
    fn load(&mut self, state: SmState) {
        self.phase = SmPhase::Enabled;
        self.counting_in = true;
        self.counting_out = true;
        self.used = true;
        self.inbound = state.inbound;
        self.acked = state.acked;
        self.queue = state.unacked.into();
        self.uncovered = 0;
        self.id = state.id;
        self.location = state.location;
        self.max = state.max;
        self.jid = state.jid;
    }

    /// One stanza handled inbound.
    pub(super) fn on_inbound(&mut self) {
        if self.counting_in {
            self.inbound = self.inbound.wrapping_add(1);
        }
    }

    /// One stanza written; `true` when it is the first since the last
    /// request (the ack timer starts).
    fn on_outbound(&mut self, el: &Element) -> bool {
        if !self.counting_out {
            return false;
        }
        self.queue.push_back(el.clone());
        self.uncovered = self.uncovered.saturating_add(1);
        self.uncovered == 1
    }

    /// Whether the count policy asks for an ack now.
    fn ack_due_by_count(&self) -> bool {
        self.counting_out
            && self
                .config
                .ack_after_stanzas
                .is_some_and(|n| self.uncovered >= n.max(1))
    }

    /// Stanzas sent, modulo 2^32.
    fn sent(&self) -> u32 {
        self.acked.wrapping_add(count(self.queue.len()))
    }

    /// The peer's `h`: the stanzas it newly acknowledges, or the error
    /// when it acknowledges more than was sent.
    fn on_ack(&mut self, h: u32) -> Result<Vec<Element>, Error> {
        let newly = h.wrapping_sub(self.acked);
        if newly as usize > self.queue.len() {
            return Err(Error::HandledCountTooHigh {
                h,
                send_count: self.sent(),
            });
        }
        self.acked = h;
        Ok(self.queue.drain(..newly as usize).collect())
    }

    /// Stops: nothing is counted or kept any more (a refused `<enable/>`,
    /// a failed resumption).
    fn off(&mut self) -> Vec<Element> {
        let queue = std::mem::take(&mut self.queue);
        *self = Sm::new(self.config.clone());
        queue.into()
    }
}

/// `<a h=''/>`, `<r/>` and the rest, built.
fn sm_element(name: &str) -> Element {
    Element::new(name, ns::SM)
}

fn ack_element(h: u32) -> Element {
    Element::builder("a", ns::SM)
        .attr("h", h.to_string())
        .build()
}

/// `<failed/>` with a stanza error condition (XEP-0198 §3, §5).
fn failed_element(condition: StanzaErrorCondition, h: Option<u32>) -> Element {
    Element::builder("failed", ns::SM)
        .attr_opt("h", h.map(|h| h.to_string()))
        .child(Element::new(condition.as_str(), ns::STANZAS))
        .build()
}

/// The `<handled-count-too-high/>` of XEP-0198 §4, for the stream error.
pub(super) fn handled_count_too_high(h: u32, send_count: u32) -> Element {
    Element::builder("handled-count-too-high", ns::SM)
        .attr("h", h.to_string())
        .attr("send-count", send_count.to_string())
        .build()
}

/// The `h` of an `<a/>`, `<resumed/>`, `<resume/>` or `<failed/>`.
fn h_of(el: &Element) -> Option<u32> {
    el.attr("h").and_then(parse_count)
}

/// A true XML Schema boolean.
fn truthy(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("true" | "1"))
}

impl Stream {
    /// A client stream that resumes the stream-managed session `state`
    /// (XEP-0198 §5) instead of binding a resource: after authentication
    /// it sends `<resume previd='' h=''/>`. On `<resumed/>` the stream is
    /// online with the session's JID ([`Event::Resumed`], no
    /// [`Event::Online`]), having resent exactly the stanzas the server's
    /// `h` does not cover, once each, in order. On `<failed/>`, or when
    /// the server offers no stream management, the stanzas still
    /// unacknowledged are handed back ([`Event::ResumeFailed`]) and the
    /// stream binds a new resource as usual (then enables stream
    /// management again, if configured).
    ///
    /// `state` is what [`Stream::sm_state`] returned on the old stream
    /// (directly, or through [`SmState::to_xml`] and [`SmState::from_xml`]).
    /// One that cannot be resumed ([`SmState::resumable`]) is handed back
    /// the same way after authentication.
    ///
    /// ```
    /// use xmpp_sansio::{ClientConfig, SmConfig, SmState, Stream};
    /// let mut config = ClientConfig::new("juliet@example.com", "pw", [0; 32]);
    /// config.stream_management = SmConfig::enabled();
    /// let saved = SmState { id: Some("s1".into()), jid: Some("juliet@example.com/b".into()), ..SmState::default() };
    /// let stream = Stream::client_resuming(config, saved.clone());
    /// assert_eq!(stream.sm_state(), None); // nothing resumed yet
    /// ```
    /// The same as [`Stream::client`] with [`ClientConfig::resume`] set
    /// (which works with [`Stream::client_over_tls`] too).
    pub fn client_resuming(mut config: ClientConfig, state: SmState) -> Self {
        config.resume = Some(state);
        Self::client(config)
    }

    /// The stream-management state as plain data, to persist for
    /// resumption ([`SmState::to_xml`]): `None` until stream management
    /// was enabled (or resumed) on this stream. It stays available after
    /// the stream ends, which is when it matters: take it then, and
    /// resume on a new stream ([`Stream::client_resuming`]; a server
    /// keeps it for [`Stream::accept_resume`]).
    pub fn sm_state(&self) -> Option<SmState> {
        self.sm.snapshot()
    }

    /// **Server role.** Resumes the session the client asked for with
    /// [`Event::ResumeRequest`]: `state` is the old stream's
    /// [`Stream::sm_state`], kept by the application under its id. The
    /// stream answers `<resumed/>` with its inbound count, releases what
    /// the client's `h` acknowledges ([`Event::Acknowledged`]), resends
    /// the rest once each in order, and is online with the session's JID
    /// ([`Event::Resumed`]). The application must stop the old stream.
    ///
    /// Without a pending request this is [`UsageError::NotAwaitingResume`];
    /// a state whose id is not the requested one, without a JID, or for
    /// another account is [`UsageError::ResumeStateMismatch`]. Either way
    /// nothing is sent. An `h` beyond what the state sent ends the stream
    /// with `undefined-condition` (XEP-0198 §4).
    pub fn accept_resume(&mut self, state: SmState, now: Instant) -> Result<(), UsageError> {
        self.check_negotiating()?;
        let Role::Server(s) = &self.role else {
            return Err(UsageError::NotAwaitingResume);
        };
        let ServerStep::ResumeDecision { previd, h } = &s.step else {
            return Err(UsageError::NotAwaitingResume);
        };
        let h = *h;
        let account = s.account.as_deref().unwrap_or_default();
        let jid_fits = state
            .jid
            .as_deref()
            .and_then(full_jid_parts)
            .is_some_and(|(bare, _)| bare == account);
        if state.id.as_deref() != Some(previd.as_str()) || !jid_fits {
            return Err(UsageError::ResumeStateMismatch);
        }
        let jid = state.jid.clone().unwrap_or_default();
        let previd = previd.clone();
        if let Role::Server(s) = &mut self.role {
            s.bound_jid = Some(jid.clone());
            s.step = ServerStep::AwaitBind;
        }
        self.sm.load(state);
        let resumed = Element::builder("resumed", ns::SM)
            .attr("previd", previd)
            .attr("h", self.sm.inbound.to_string())
            .build();
        self.write_nonza(&resumed, now);
        self.finish_resume(h, jid, now);
        self.release_input(now);
        Ok(())
    }

    /// **Server role.** Refuses the resumption of [`Event::ResumeRequest`]
    /// (no such session, or it expired): `<failed/>` with
    /// `item-not-found` (XEP-0198 §5); the client may bind instead.
    /// Without a pending request this is [`UsageError::NotAwaitingResume`].
    pub fn refuse_resume(&mut self, now: Instant) -> Result<(), UsageError> {
        self.check_negotiating()?;
        let Role::Server(s) = &mut self.role else {
            return Err(UsageError::NotAwaitingResume);
        };
        if !matches!(s.step, ServerStep::ResumeDecision { .. }) {
            return Err(UsageError::NotAwaitingResume);
        }
        s.step = ServerStep::AwaitBind;
        self.write_nonza(
            &failed_element(StanzaErrorCondition::ItemNotFound, None),
            now,
        );
        self.release_input(now);
        Ok(())
    }

    /// Counts a stanza written (once counting started) and asks for an
    /// ack if the policy says so.
    pub(super) fn sm_on_written(&mut self, el: &Element, now: Instant) {
        if self.sm.on_outbound(el) {
            let at = self.sm.config.ack_after.and_then(|t| deadline(now, t));
            self.timers.set(Timer::SmAck, at);
        }
        if self.sm.ack_due_by_count() {
            self.request_ack(now);
        }
    }

    /// `<r/>`, if stanzas were sent since the last one.
    pub(super) fn request_ack(&mut self, now: Instant) {
        self.timers.stop(Timer::SmAck);
        if self.sm.uncovered > 0 && self.sm.counting_out {
            self.sm.uncovered = 0;
            self.write_nonza(&sm_element("r"), now);
        }
    }

    /// Online, a client enables stream management when configured and
    /// offered (XEP-0198 §3); outbound counting starts with `<enable/>`.
    pub(super) fn maybe_enable_sm(&mut self, now: Instant) {
        let Role::Client(c) = &self.role else {
            return;
        };
        let offered = c.features.as_ref().is_some_and(|f| f.stream_management);
        if !self.sm.config.enable || !offered || self.sm.active() {
            return;
        }
        let config = &self.sm.config;
        let enable = Element::builder("enable", ns::SM)
            .attr_opt("resume", config.resume.then_some("true"))
            .attr_opt(
                "max",
                config
                    .max_resume
                    .filter(|_| config.resume)
                    .map(|m| m.as_secs().to_string()),
            )
            .build();
        self.write_nonza(&enable, now);
        self.sm.phase = SmPhase::EnableSent;
        self.sm.counting_out = true;
        self.sm.used = true;
        self.sm.jid = self.role.bound_jid().map(str::to_owned);
    }

    /// An element in the stream-management namespace, once stanzas flow
    /// (or while closing: acks still release, nothing is written). Handed
    /// back if it is not one this stream expects.
    pub(super) fn on_sm_element(&mut self, el: Element, now: Instant) -> Result<(), Element> {
        if el.ns() != ns::SM {
            return Err(el);
        }
        let server = matches!(self.role, Role::Server(_));
        match (el.name(), self.sm.phase) {
            ("r", SmPhase::Enabled) => {
                let a = ack_element(self.sm.inbound);
                self.write_nonza(&a, now);
            }
            ("a", SmPhase::Enabled | SmPhase::EnableSent) => {
                let Some(h) = h_of(&el) else {
                    self.fail(protocol(
                        StreamErrorCondition::BadFormat,
                        "<a/> without a valid 'h'",
                    ));
                    return Ok(());
                };
                self.apply_ack(h);
            }
            ("enabled", SmPhase::EnableSent) if !server => {
                self.sm.phase = SmPhase::Enabled;
                self.sm.counting_in = true;
                let resumable = truthy(el.attr("resume"));
                self.sm.id = el.attr("id").filter(|_| resumable).map(str::to_owned);
                self.sm.location = el.attr("location").map(str::to_owned);
                self.sm.max = el.attr("max").and_then(parse_count);
                self.push_event(Event::SmEnabled {
                    id: self.sm.id.clone(),
                    location: self.sm.location.clone(),
                    max: self.sm.max,
                });
            }
            ("failed", SmPhase::EnableSent) if !server => {
                // The stanzas sent meanwhile went out as on any stream.
                self.sm.off();
                let condition = el
                    .children()
                    .find(|c| c.ns() == ns::STANZAS)
                    .and_then(|c| StanzaErrorCondition::from_name(c.name()));
                self.push_event(Event::SmFailed { condition });
            }
            ("enable", _) if server => self.on_enable(&el, now),
            _ => return Err(el),
        }
        Ok(())
    }

    /// Server: `<enable/>` once bound (XEP-0198 §3). Inbound counting
    /// starts now, outbound once `<enabled/>` is out.
    fn on_enable(&mut self, el: &Element, now: Instant) {
        if !self.sm.config.enable || self.sm.active() || !matches!(self.phase, Phase::Online) {
            let failed = failed_element(StanzaErrorCondition::UnexpectedRequest, None);
            return self.write_nonza(&failed, now);
        }
        let resume = truthy(el.attr("resume")) && self.sm.config.resume;
        let id = resume.then(|| self.rng.alphanumeric(24));
        let max = self
            .sm
            .config
            .max_resume
            .filter(|_| resume)
            .map(|m| u32::try_from(m.as_secs()).unwrap_or(u32::MAX));
        let enabled = Element::builder("enabled", ns::SM)
            .attr_opt("id", id.as_deref())
            .attr_opt("resume", resume.then_some("true"))
            .attr_opt("max", max.map(|m| m.to_string()))
            .build();
        self.sm.phase = SmPhase::Enabled;
        self.sm.counting_in = true;
        self.sm.used = true;
        self.sm.id = id.clone();
        self.sm.max = max;
        self.sm.jid = self.role.bound_jid().map(str::to_owned);
        self.write_nonza(&enabled, now);
        self.sm.counting_out = true;
        self.push_event(Event::SmEnabled {
            id,
            location: None,
            max,
        });
    }

    /// The peer's `h`: releases what it acknowledges, or fails the stream.
    /// `false` if it failed.
    fn apply_ack(&mut self, h: u32) -> bool {
        match self.sm.on_ack(h) {
            Ok(stanzas) => {
                if !stanzas.is_empty() {
                    self.push_event(Event::Acknowledged { stanzas });
                }
                true
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// Client, after authentication with a state to resume: `<resume/>`
    /// if the server offers stream management and the state allows it;
    /// `false` otherwise (the state was handed back, bind instead).
    pub(super) fn client_try_resume(&mut self, now: Instant) -> bool {
        let c = self.client_side_mut();
        let Some(state) = c.resume.take() else {
            return false;
        };
        let offered = c.features.as_ref().is_some_and(|f| f.stream_management);
        if !offered || !state.resumable() {
            self.resume_failed(*state, None);
            return false;
        }
        let resume = Element::builder("resume", ns::SM)
            .attr("previd", state.id.clone().unwrap_or_default())
            .attr("h", state.inbound.to_string())
            .build();
        self.write_nonza(&resume, now);
        self.client_side_mut().step = ClientStep::AwaitResumed(state);
        true
    }

    /// Client: the answer to `<resume/>`.
    pub(super) fn on_resume_answer(&mut self, el: &Element, now: Instant) {
        let c = self.client_side_mut();
        let ClientStep::AwaitResumed(state) =
            std::mem::replace(&mut c.step, ClientStep::AwaitFeatures)
        else {
            return;
        };
        let state = *state;
        match el.name() {
            "resumed" => {
                let Some(h) = h_of(el) else {
                    return self.fail(protocol(
                        StreamErrorCondition::BadFormat,
                        "<resumed/> without a valid 'h'",
                    ));
                };
                if el.attr("previd") != state.id.as_deref() {
                    return self.fail(protocol(
                        StreamErrorCondition::UndefinedCondition,
                        "<resumed/> for another session",
                    ));
                }
                let jid = state.jid.clone().unwrap_or_default();
                if let Some((bare, domain)) = full_jid_parts(&jid) {
                    let (bare, domain) = (bare.to_owned(), domain.to_owned());
                    let c = self.client_side_mut();
                    c.own.bare = bare;
                    c.own.domain = domain;
                }
                self.client_side_mut().bound_jid = Some(jid.clone());
                self.sm.load(state);
                self.finish_resume(h, jid, now);
            }
            "failed" => {
                let h = h_of(el);
                self.resume_failed(state, h);
                if self.error.is_none() {
                    self.after_failed_resume(now);
                }
            }
            other => self.fail(protocol(
                StreamErrorCondition::UnsupportedStanzaType,
                format!("unexpected <{other}/> in answer to <resume/>"),
            )),
        }
    }

    /// Either role, the state loaded: applies the peer's `h`, resends the
    /// rest in order (each once, still kept until acknowledged), asks for
    /// an ack, and is online.
    fn finish_resume(&mut self, h: u32, jid: String, now: Instant) {
        if !self.apply_ack(h) {
            return;
        }
        let resend: Vec<Element> = self.sm.queue.iter().cloned().collect();
        let content_ns = self.role.content_ns();
        for el in &resend {
            if self.out.stanza(el, content_ns) {
                self.wrote(now);
            }
        }
        self.sm.uncovered = count(resend.len());
        if !resend.is_empty() {
            self.request_ack(now);
        }
        self.enter_online();
        self.push_event(Event::Resumed {
            jid,
            resent: resend.len(),
        });
    }

    /// A resumption that cannot happen: what the peer's `h` (if any)
    /// acknowledges is released, the rest handed back.
    fn resume_failed(&mut self, state: SmState, h: Option<u32>) {
        self.sm.load(state);
        if let Some(h) = h
            && !self.apply_ack(h)
        {
            return;
        }
        let unacked = self.sm.off();
        self.push_event(Event::ResumeFailed { unacked });
    }

    /// After `<failed/>`: bind as if no resumption had been asked for.
    fn after_failed_resume(&mut self, now: Instant) {
        let bind_offered = self.client_side().features.as_ref().is_some_and(|f| f.bind);
        if !bind_offered {
            return self.fail(protocol(
                StreamErrorCondition::UnsupportedFeature,
                "resumption failed, and resource binding is not offered",
            ));
        }
        self.begin_binding(now);
    }

    /// Server, before binding: `<resume/>` asks the application
    /// ([`Event::ResumeRequest`]); `<enable/>` is too early.
    pub(super) fn server_sm_before_bind(&mut self, el: &Element, now: Instant) {
        match el.name() {
            "resume" if self.sm.config.enable => {
                let (Some(previd), Some(h)) = (el.attr("previd"), h_of(el)) else {
                    let failed = failed_element(StanzaErrorCondition::BadRequest, None);
                    return self.write_nonza(&failed, now);
                };
                let previd = previd.to_owned();
                if let Role::Server(s) = &mut self.role {
                    s.step = ServerStep::ResumeDecision {
                        previd: previd.clone(),
                        h,
                    };
                }
                self.push_event(Event::ResumeRequest { previd, h });
                self.hold_input_for_decision();
            }
            _ => {
                let failed = failed_element(StanzaErrorCondition::UnexpectedRequest, None);
                self.write_nonza(&failed, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: u32) -> Element {
        Element::builder("message", ns::JABBER_CLIENT)
            .attr("id", i.to_string())
            .build()
    }

    #[test]
    fn acks_release_exactly_what_they_cover_across_the_wrap() {
        let mut sm = Sm::new(SmConfig::enabled());
        sm.counting_out = true;
        sm.acked = u32::MAX - 1;
        for i in 0..4 {
            sm.on_outbound(&msg(i));
        }
        assert_eq!(sm.sent(), 2);
        assert_eq!(sm.on_ack(u32::MAX).map(|v| v.len()), Ok(1));
        assert_eq!(sm.on_ack(u32::MAX).map(|v| v.len()), Ok(0));
        assert_eq!(sm.on_ack(1).map(|v| v.len()), Ok(2));
        assert_eq!(
            sm.on_ack(3),
            Err(Error::HandledCountTooHigh {
                h: 3,
                send_count: 2
            })
        );
        assert_eq!(sm.queue.len(), 1);
    }

    #[test]
    fn counts_parse_as_unsigned_ints() {
        assert_eq!(parse_count("4294967295"), Some(u32::MAX));
        assert_eq!(parse_count("4294967296"), None);
        assert_eq!(parse_count("-1"), None);
        assert_eq!(parse_count("+1"), None);
        assert_eq!(parse_count(""), None);
        assert_eq!(parse_count(" 7 "), Some(7));
    }
}
