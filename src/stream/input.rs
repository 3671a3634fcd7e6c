//! The input loop: framer events to the handler of the current phase.
//! Headers and the stream's end are handled here for every role; elements
//! go to the role's negotiator while negotiating (`client.rs`), to the
//! dispatcher (`dispatch.rs`) once stanzas flow, and are read on, writing
//! nothing, while closing.

use std::collections::VecDeque;

use crate::stanza::{StreamError, StreamErrorCondition};
use crate::time::Instant;
use crate::xml::{Element, FrameEvent, StreamHeader, XmlError, ns};

use super::dispatch::is_stanza;
use super::{ClosedBy, Error, Event, PeerHeader, Phase, Stream, protocol};

impl Stream {
    /// `handle_input` past its fast path, which pushed the input and took
    /// `first` from the framer (not `Ok(None)`): handles it, reads on, and
    /// returns what `handle_input` returns.
    #[inline(never)]
    pub(super) fn handle_frames(
        &mut self,
        first: Result<Option<FrameEvent>, XmlError>,
        now: Instant,
    ) -> Result<(), Error> {
        if self.on_frame(first, now) {
            self.process_frames(now);
        }
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Reads framer events until more input is needed or the stream
    /// stops, or until the events queued cover [`Stream::INPUT_WINDOW`]
    /// bytes of input: then the rest waits in the framer (`backlog`) and
    /// is read as [`Stream::poll_event`] takes the events, so one large
    /// read never holds more than a window's events at once.
    pub(super) fn process_frames(&mut self, now: Instant) {
        self.backlog = None;
        self.process_frames_until_window(now);
        self.refresh_poll_ready();
    }

    /// [`Stream::process_frames`]'s loop: sets `backlog` where it stops
    /// at a window's end.
    fn process_frames_until_window(&mut self, now: Instant) {
        let unread = self.framer.unconsumed();
        loop {
            if matches!(self.phase, Phase::Closed | Phase::AwaitTls)
                || (self.held_for_decision && matches!(self.phase, Phase::Negotiating))
            {
                break;
            }
            if !self.events.is_empty()
                && unread.saturating_sub(self.framer.unconsumed()) >= Self::INPUT_WINDOW
            {
                self.backlog = Some(now);
                break;
            }
            let next = self.framer.next_event();
            if !self.on_frame(next, now) {
                break;
            }
        }
    }

    /// Reads on from the backlog, if there is one, as far as
    /// [`Stream::process_frames`] goes at a time.
    #[cold]
    pub(super) fn read_backlog(&mut self) {
        if let Some(at) = self.backlog {
            self.process_frames(at);
        }
        self.read_unread(false);
        if self.out.pending() && self.late_output.is_none() {
            self.late_output = self.last_input;
        }
    }

    /// Gives owned reads ([`Stream::handle_input_bytes`]) to the framer a
    /// window at a time, older bytes first: until an event is queued, or
    /// (`all`) until none is left.
    pub(super) fn read_unread(&mut self, all: bool) {
        while self.backlog.is_none()
            && (all || self.events.is_empty())
            && !self.held_for_decision
            && let Some((bytes, at)) = self.unread.front_mut()
        {
            let at = *at;
            let piece = bytes.split_to(bytes.len().min(Self::INPUT_WINDOW));
            if bytes.is_empty() {
                self.unread.pop_front();
                if self.unread.is_empty() {
                    // Its memory goes back: an idle stream holds none.
                    self.unread = VecDeque::new();
                    self.refresh_input_stopped();
                    self.refresh_poll_ready();
                }
            }
            self.take_input(&piece, at);
        }
    }

    /// Reads the whole backlog: before the end of file, a deadline, or
    /// anything else that must see every byte already read.
    pub(super) fn read_all_backlog(&mut self) {
        loop {
            if let Some(at) = self.backlog {
                self.process_frames(at);
            } else if self.unread.is_empty() || self.held_for_decision {
                return;
            } else {
                self.read_unread(true);
            }
        }
    }

    /// Handles what the framer gave; `false` if there is nothing more to
    /// read now (more input needed, or the input is unreadable).
    fn on_frame(&mut self, next: Result<Option<FrameEvent>, XmlError>, now: Instant) -> bool {
        let event = match next {
            Ok(Some(event)) => event,
            Ok(None) => return false,
            Err(e) => {
                // Nothing more can be read from this input (and, after
                // another failure, this one is not reported).
                self.input_unreadable = true;
                self.fail(Error::Xml(e));
                return false;
            }
        };
        if self.error.is_some() {
            // Failed, or the peer sent a stream error: read on for the
            // peer's closing tag only (RFC 6120 §4.4).
            if matches!(event, FrameEvent::StreamEnd) {
                self.finish_close();
            }
            return true;
        }
        match event {
            FrameEvent::StreamStart(header) => self.on_header(header, now),
            FrameEvent::Element(el) => self.on_element(el, now),
            FrameEvent::StreamEnd => self.on_stream_end(),
        }
        if matches!(self.phase, Phase::AwaitTls)
            && (self.framer.unconsumed() > 0 || !self.unread.is_empty())
        {
            // Bytes after <proceed/> in the same read were sent in
            // plaintext after the switch: never process them.
            self.fail(Error::DataAfterProceed);
        }
        true
    }

    /// The peer's stream header: checked here for every role (content
    /// namespace, version), then handed to the role's negotiator.
    fn on_header(&mut self, header: Box<StreamHeader>, now: Instant) {
        let refusal = match self.phase {
            // We closed before the peer's header arrived: record it, and
            // keep waiting for its closing tag.
            Phase::Closing { .. } => None,
            _ => Some(self.header_refusal(&header)),
        };
        // Every header is reported, in order, before its stream's features
        // (and before a failure it causes). The framer keeps the header
        // (`Stream::header` reads it there), so the event takes this copy.
        self.push_event(Event::StreamHeader(header));
        match refusal {
            Some(Some(error)) => self.fail(error),
            Some(None) => {
                self.header = PeerHeader::InFramer;
                self.header_accepted(now);
            }
            None => self.header = PeerHeader::InFramer,
        }
    }

    /// Why `header` cannot open the peer's stream now, if it cannot: the
    /// checks every role makes (content namespace, version).
    fn header_refusal(&self, header: &StreamHeader) -> Option<Error> {
        if !(matches!(self.phase, Phase::Negotiating) && self.awaits_header()) {
            return Some(protocol(
                StreamErrorCondition::BadFormat,
                "unexpected stream header",
            ));
        }
        let content_ns = self.role.content_ns();
        if header.content_ns.as_deref() != Some(content_ns) {
            return Some(protocol(
                StreamErrorCondition::InvalidNamespace,
                format!(
                    "content namespace {:?}, expected {content_ns}",
                    header.content_ns.as_deref().unwrap_or("")
                ),
            ));
        }
        // RFC 6120 §4.7.5: we speak 1.x; an absent version means pre-1.0.
        let major = header
            .version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        if major != Some(1) && self.role.checks_version() {
            return Some(protocol(
                StreamErrorCondition::UnsupportedVersion,
                format!(
                    "stream version {:?}",
                    header.version.as_deref().unwrap_or("(none)")
                ),
            ));
        }
        None
    }

    /// The peer's `</stream:stream>`: answered with ours (RFC 6120 §4.4).
    /// Orderly once online or after our own close; before that, the
    /// negotiation never finished, and that is an error.
    fn on_stream_end(&mut self) {
        match self.phase {
            Phase::Online | Phase::Closing { .. } => {
                self.closed_by.get_or_insert(ClosedBy::Peer);
                self.out.close();
                self.finish_close();
            }
            _ => self.fail(Error::ClosedByPeer),
        }
    }

    fn on_element(&mut self, el: Element, now: Instant) {
        if el.is("error", ns::STREAM) {
            let error = StreamError::from_element(&el)
                .unwrap_or_else(|_| StreamError::new(StreamErrorCondition::UndefinedCondition));
            // Reported as it arrives; Event::Closed follows once the peer's
            // closing tag (or its end of file) does.
            self.push_event(Event::PeerStreamError(error.clone()));
            return self.fail(Error::PeerStreamError(error));
        }
        let stanza = is_stanza(&el, self.role.content_ns());
        let unexpected = match self.phase {
            Phase::Closing { bound } => return self.on_element_while_closing(el, bound, now),
            Phase::Online if stanza => return self.on_stanza(el, now),
            Phase::Online => match self.on_sm_element(el, now) {
                Ok(()) => return,
                Err(el) => el,
            },
            Phase::Negotiating => match self.negotiate(el, now) {
                Ok(()) => return,
                Err(el) if stanza && self.role.stanzas_before_online() => {
                    return self.on_stanza(el, now);
                }
                Err(el) => el,
            },
            _ => el,
        };
        self.fail(protocol(
            StreamErrorCondition::UnsupportedStanzaType,
            format!(
                "unexpected <{}/> in {:?}",
                unexpected.name(),
                unexpected.ns()
            ),
        ))
    }

    /// After our `</stream:stream>`: RFC 6120 §4.4 has us keep processing
    /// what the peer sends until its closing tag, writing nothing. Stanzas
    /// are reported as usual once a resource was bound (`bound`); before
    /// that they cannot be legitimate (the stream may still be
    /// unauthenticated, even unencrypted) and are [`Event::Unhandled`]. An
    /// element that moves the peer to a new stream we will never open
    /// (`<proceed/>`, `<success/>`) means no closing tag will come for this
    /// one: the stream ends now. Other negotiation elements no longer apply
    /// and are reported as [`Event::Unhandled`], not treated as violations.
    fn on_element_while_closing(&mut self, el: Element, bound: bool, now: Instant) {
        if bound && is_stanza(&el, self.role.content_ns()) {
            return self.on_stanza(el, now);
        }
        // Acks still release what they cover (nothing is written now).
        let Err(el) = self.on_sm_element(el, now) else {
            return;
        };
        if self.peer_restarts_stream(&el) {
            return self.finish_close();
        }
        self.push_event(Event::Unhandled(el));
    }
}
