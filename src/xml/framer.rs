//! The inbound half of the XML layer: bytes in, in any chunking; stream
//! header, top-level elements and the stream's end out, one at a time.

use super::Limits;
use super::element::Element;
use super::error::XmlError;
use super::parser::{Parser, StreamHeader, parse_header};
use super::scanner::{
    Boundary, L_END, L_END_BYTE, L_END_OPEN, L_GT_MARK, L_LT, L_LT_MARK, L_SLASH, L_SLASH_MARK,
    L_TEXT, LAZY, Lazy, RUN_KEY, Scanner, WAKE, name_len, runs_on,
};

/// Buffer capacity the framer keeps however idle the stream (see
/// `Framer::settle`): enough for most stanzas read a byte at a time
/// without regrowing the buffer for each.
const KEPT_BYTES: usize = 512;

/// Buffer capacity from which a cut to less moves the bytes to a new
/// allocation rather than cutting the block in place (see
/// `Framer::cut_to`): half of glibc's default mmap threshold, so any block
/// that could be a mapping of its own is left for a block that cannot.
const MOVED_CUT_BYTES: usize = 64 * 1024;

/// What the framer found next in the stream.
///
/// ```
/// use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
/// let mut f = Framer::new(Limits::default());
/// f.push(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>");
/// assert!(matches!(f.next_event(), Ok(Some(FrameEvent::StreamStart(_)))));
/// assert_eq!(f.next_event(), Ok(Some(FrameEvent::StreamEnd)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// The stream element's start tag (boxed: it is large and rare, and
    /// keeping the event small keeps every `next_event` call cheap).
    StreamStart(Box<StreamHeader>),
    /// One complete top-level element (a stanza, features, SASL, TLS…).
    /// Never one in the content namespace written with a prefix: that
    /// fails the stream instead (see [`Framer`]).
    Element(Element),
    /// The stream element's end tag (`</stream:stream>`), or a header that
    /// closed itself (`<stream:stream/>`).
    StreamEnd,
}

/// Turns inbound bytes into [`FrameEvent`]s.
///
/// [`push`](Framer::push) appends bytes; [`next_event`](Framer::next_event)
/// returns events lazily, so a caller can act on one (for example
/// [`restart`](Framer::restart) after SASL success) before the bytes that
/// follow it are read. Each byte is examined a bounded number of times
/// whatever the chunking: once by the boundary scan (before which a byte
/// pushed a few at a time takes one table step, which lets it wait
/// unscanned while it can complete or break nothing), and once more when
/// the complete element is tokenized. Errors are sticky: after one, every call returns it again.
///
/// Besides what XML 1.0 and RFC 6120 §11 forbid, the framer refuses, as
/// early as the bytes allow:
/// - an end tag that does not match its start tag (prefix included), at
///   its first wrong byte, `not-well-formed`, whatever the depth: the
///   stanzas after it are never read as part of the open one;
/// - anything past a [`Limits`] value, on the byte that passes it (a name
///   within `max_name_len` bytes of its start), `policy-violation`;
/// - RFC 6120 §4.8.5: a top-level element qualified by the stream's content
///   namespace (`jabber:client`, `jabber:server`,
///   `jabber:component:accept`) through a prefix, as in
///   `<foo:message xmlns:foo='jabber:client'>`. It is not returned as an
///   element: the stream fails with [`XmlError::BadNamespacePrefix`]
///   (`bad-namespace-prefix`, §4.9.3.2) rather than ignoring the stanza.
///   Stream-namespace elements (`<stream:features>`, `<stream:error>`) keep
///   their prefix, other namespaces may use any, and elements nested in a
///   stanza are read by namespace whatever their prefix.
///
/// ```
/// use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
///
/// let mut framer = Framer::new(Limits::default());
/// let stream = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
///     xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>\
///     <message to='a@b'><body>h&amp;llo</body></message></stream:stream>";
/// let mut events = Vec::new();
/// for byte in stream.as_bytes().chunks(1) {          // any chunking
///     framer.push(byte);
///     while let Some(ev) = framer.next_event()? {
///         events.push(ev);
///     }
/// }
/// assert!(matches!(&events[0], FrameEvent::StreamStart(h) if h.version.as_deref() == Some("1.0")));
/// let FrameEvent::Element(msg) = &events[1] else { panic!() };
/// assert_eq!(msg.ns(), "jabber:client");
/// assert_eq!(msg.lang(), Some("en"));
/// assert_eq!(msg.get_child("body", "jabber:client").unwrap().text(), "h&llo");
/// assert_eq!(events[2], FrameEvent::StreamEnd);
/// # Ok::<(), xmpp_sansio::xml::XmlError>(())
/// ```
///
/// ```
/// use xmpp_sansio::StreamErrorCondition;
/// use xmpp_sansio::xml::{FrameEvent, Framer, Limits, XmlError};
///
/// let header = "<stream:stream xmlns='jabber:client' \
///     xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
/// let refused = |stanza: &str| {
///     let mut framer = Framer::new(Limits::default());
///     framer.push(format!("{header}{stanza}").as_bytes());
///     assert!(matches!(framer.next_event(), Ok(Some(FrameEvent::StreamStart(_)))));
///     framer.next_event().err().map(|e| e.condition())
/// };
/// assert_eq!(refused("<message><body>x</message>"), Some(StreamErrorCondition::NotWellFormed));
/// assert_eq!(
///     refused("<foo:message xmlns:foo='jabber:client'/>"),
///     Some(StreamErrorCondition::BadNamespacePrefix)
/// );
/// assert_eq!(refused("<stream:features/>"), None);
/// ```
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    scanner: Scanner,
    parser: Parser,
    header: Option<StreamHeader>,
    limits: Limits,
    error: Option<XmlError>,
    parsed_bytes: u64,
    /// A self-closing header was returned; its end is the next event.
    pending_end: bool,
    /// The scan position after the last scan: with `lazy` and `deadline`,
    /// where the bytes that wait unscanned begin (see the scanner's module
    /// docs). For [`Framer::bytes_examined`].
    checked: usize,
    /// The state of [`LAZY`] after the bytes pushed since the last scan,
    /// [`WAKE`] once one of them needs the scan (or a failure, a stream
    /// end to report, a restart, a large push: anything that needs it).
    lazy: Lazy,
    /// `lazy`'s [`RUN_KEY`], set with it ([`Framer::set_lazy`]): in a
    /// state that every byte but one leaves as it is (text, a quoted
    /// value, CDATA), a byte pushed alone is tested against it and takes
    /// no step of the table ([`runs_on`]).
    run_key: u16,
    /// The buffer length from which the scan must run whatever the bytes
    /// (a limit could fire there): [`Scanner::lazy`]. Once the buffer is
    /// that long, `lazy` is [`WAKE`] (so [`Framer::nothing_yet`] tests the
    /// state alone).
    deadline: usize,
    /// While the buffer is shorter than this, one byte pushed has room
    /// and leaves the buffer short of `deadline`: `min(capacity,
    /// deadline - 1)`, kept by [`Framer::set_fast_len`] wherever either
    /// changes. One comparison so stands for the room test and the
    /// deadline test of a byte-at-a-time push.
    fast_len: usize,
    /// Whether a byte pushed alone may take the fast path at all
    /// ([`Framer::set_fast_push`]): while it may not, `fast_len` is 0,
    /// so the one comparison that tests room and deadline tests this too.
    fast_push: bool,
    /// The name an end tag read in [`L_END`] must have (offset, length in
    /// the buffer: [`Scanner::end_name`]), and how many of its bytes
    /// have matched.
    end_name: (usize, usize),
    end_matched: usize,
    /// The scan was inside a stanza ([`Scanner::nested`]): a `/` in a
    /// start tag ([`L_SLASH_MARK`]) may wait.
    nested: bool,
    /// A start tag's `>` may wait ([`L_GT_MARK`], [`Scanner::may_open`]).
    may_open: bool,
    /// Where the last `<` pushed since the scan lies ([`L_LT_MARK`]), or
    /// [`NO_TAG`].
    tag_at: usize,
    /// While an element whose start tag's `>` waited is open: the name its
    /// parent's end tag must have (`end_name` is the element's, so its end
    /// tag is matched as any, and its `>` waits too).
    outer: Option<(usize, usize)>,
}

/// [`Framer::tag_at`] when no `<` was pushed since the scan.
const NO_TAG: usize = usize::MAX;

impl Framer {
    /// A framer expecting a stream header, enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            buf: Vec::new(),
            scanner: Scanner::new(),
            parser: Parser::new(),
            header: None,
            limits,
            error: None,
            parsed_bytes: 0,
            pending_end: false,
            checked: 0,
            lazy: WAKE,
            run_key: RUN_KEY[WAKE as usize],
            deadline: 0,
            fast_len: 0,
            fast_push: true,
            end_name: (0, 0),
            end_matched: 0,
            nested: false,
            may_open: false,
            tag_at: NO_TAG,
            outer: None,
        }
    }

    /// A framer inside a stream element that binds nothing (no default
    /// namespace, no prefixes, no `xml:lang`), so each element it frames is
    /// read as a document of its own; `</stream:stream>` ends it.
    pub(crate) fn inside_bare_stream(limits: Limits) -> Self {
        Self {
            scanner: Scanner::inside_stream(),
            header: Some(StreamHeader {
                stream_prefix: "stream".to_owned(),
                ..StreamHeader::default()
            }),
            ..Self::new(limits)
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Appends inbound bytes. Nothing is parsed until [`Framer::next_event`].
    ///
    /// The bytes are copied, all of them: a caller that must not hold a
    /// whole large read at once uses [`Framer::feed`] instead. After an
    /// error nothing more is kept.
    #[inline(always)]
    pub fn push(&mut self, bytes: &[u8]) {
        // The consumed bytes at the front are dropped after the scan that
        // consumed them (`Framer::compact`), not here. After a failure the
        // buffer has no room and `grow` refuses to make any.
        if let [b] = bytes {
            // A byte at a time: one test (room, and short of the
            // deadline), the push, one step of the check that lets it
            // wait unscanned.
            if self.buf.len() < self.fast_len {
                self.buf.push(*b);
                self.step(*b);
            } else {
                self.push_one(*b);
            }
            return;
        }
        if self.buf.capacity() - self.buf.len() < bytes.len() && !self.grow(bytes.len()) {
            return;
        }
        if bytes.len() <= 16 {
            // Tiny reads: a plain loop beats a call into memcpy.
            for &b in bytes {
                self.buf.push(b);
                self.step(b);
                if self.lazy >= L_END_OPEN {
                    // Each byte's marker now: the next byte's step needs
                    // it resolved.
                    self.resolve();
                }
            }
            self.wake_at_deadline();
        } else {
            // Larger reads go to the scan, which is fastest on runs.
            self.buf.extend_from_slice(bytes);
            self.set_lazy(WAKE);
        }
    }

    /// [`Framer::push`] of one byte past its fast test: the buffer is full
    /// (it grows) or the byte reaches the deadline (the scan must run).
    #[cold]
    #[inline(never)]
    fn push_one(&mut self, b: u8) {
        if self.buf.len() == self.buf.capacity() && !self.grow(1) {
            return;
        }
        self.buf.push(b);
        self.step(b);
        self.wake_at_deadline();
    }

    /// Wakes the scan once the buffer reaches the deadline (a limit could
    /// fire there), whatever the state: what lets
    /// [`Framer::nothing_yet`] test the state alone.
    #[inline]
    fn wake_at_deadline(&mut self) {
        if self.buf.len() >= self.deadline {
            self.set_lazy(WAKE);
        }
    }

    /// Recomputes [`Framer::fast_len`] after the capacity or the deadline
    /// changed.
    #[inline]
    fn set_fast_len(&mut self) {
        self.fast_len = if self.fast_push {
            self.buf.capacity().min(self.deadline.saturating_sub(1))
        } else {
            0
        };
    }

    /// Opens or closes the fast path of a byte pushed alone: closed, every
    /// push takes the general path (a `Stream` whose input is stopped
    /// closes it, so its own fast path tests one bound, not the bound and
    /// its flag: [`Framer::try_push_waits`]).
    pub(crate) fn set_fast_push(&mut self, open: bool) {
        self.fast_push = open;
        self.set_fast_len();
    }

    /// Whether the fast path of a byte pushed alone is open.
    pub(crate) fn fast_push(&self) -> bool {
        self.fast_push
    }

    /// One step of the check that lets bytes wait unscanned, on the byte
    /// just pushed.
    /// (An end tag's byte leaves a marker, [`L_END_OPEN`] or
    /// [`L_END_BYTE`], and a start tag's `/` one, [`L_SLASH_MARK`], that
    /// [`Framer::end_tag_step`] resolves.)
    #[inline(always)]
    fn step(&mut self, b: u8) {
        if !runs_on(b, self.run_key) {
            self.step_table(b);
        }
    }

    /// [`Framer::step`] for a byte that is not a run byte: its step of
    /// the table.
    #[inline(always)]
    fn step_table(&mut self, b: u8) {
        // Stored only when it changes: most bytes (four in five on the
        // bench corpus) leave the state as it is, and a store every byte
        // would chain each byte's step to the one before through memory
        // (a store, then its load on the next byte). One byte at a time
        // that chain made the framer 1.86x its 4 KiB time, against about
        // 1.55x without it (docs/performance.md, section 1).
        let next = LAZY[self.lazy as usize][usize::from(b)];
        if next != self.lazy {
            self.set_lazy(next);
        }
    }

    /// Sets the state of the check that lets bytes wait unscanned, with
    /// its [`RUN_KEY`].
    #[inline(always)]
    fn set_lazy(&mut self, state: Lazy) {
        self.lazy = state;
        self.run_key = RUN_KEY[state as usize];
    }

    /// Resolves a marker [`Framer::step`] left on the last byte pushed, in
    /// an end tag: its name is matched byte by byte against the open
    /// element's; any other marker, and any other byte, is
    /// [`Framer::other_marker`]'s. Returns whether the byte may wait
    /// unscanned.
    #[inline(never)]
    fn end_tag_step(&mut self) -> bool {
        let (at, len) = self.end_name;
        let next = match (self.lazy, self.buf.last()) {
            (L_END_OPEN, _) if len > 0 => {
                self.end_matched = 0;
                L_END
            }
            (L_END_BYTE, Some(&b))
                if self.end_matched < len && self.buf.get(at + self.end_matched) == Some(&b) =>
            {
                self.end_matched += 1;
                L_END
            }
            _ => self.other_marker(),
        };
        self.set_lazy(next);
        self.lazy != WAKE
    }

    /// The markers other than an end tag's name: a start tag's `>` opens
    /// its element unscanned (inside a stanza, under the depth limit, one
    /// element at a time, its `<` noted: its name becomes the one end tags
    /// match); the end tag's `>` that closes it returns to the text around
    /// it; a start tag's `/` waits inside a stanza. Anything else wakes
    /// the scan. The next state.
    #[inline(never)]
    fn other_marker(&mut self) -> Lazy {
        let last = self.buf.len().saturating_sub(1);
        match (self.lazy, self.buf.last()) {
            (L_GT_MARK, _) if self.may_open && self.outer.is_none() && self.tag_at < last => {
                let name_at = self.tag_at + 1;
                let name = self.buf.get(name_at..last).map_or(0, name_len);
                if name == 0 {
                    return WAKE;
                }
                self.outer = Some(self.end_name);
                self.end_name = (name_at, name);
                L_TEXT
            }
            (L_END_BYTE, Some(b'>')) if self.end_matched == self.end_name.1 => {
                // The element opened unscanned is closed: back to the
                // text around it, whose end tag is the scan's element's.
                match self.outer.take() {
                    Some(outer) => {
                        self.end_name = outer;
                        L_TEXT
                    }
                    None => WAKE,
                }
            }
            (L_SLASH_MARK, _) if self.nested => L_SLASH,
            _ => WAKE,
        }
    }

    /// Makes room for `more` bytes: doubling the capacity, as `Vec` does,
    /// but never past the stanza limit on the way up to it, and exactly
    /// what is needed on the one step that crosses it. An element that
    /// grows past the limit (and fails) so holds at most the limit plus
    /// one push, not twice that; once the capacity is past the limit
    /// (large reads of complete stanzas), it doubles again, so the cost
    /// stays amortized O(1) per byte.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, more: usize) -> bool {
        if self.error.is_some() {
            return false;
        }
        let len = self.buf.len();
        let needed = len.saturating_add(more);
        let cap = self.buf.capacity();
        let limit = self.limits.stanza_bytes();
        let target = if needed <= limit {
            needed.max(cap.saturating_mul(2).max(32).min(limit))
        } else if cap <= limit {
            needed
        } else {
            needed.max(cap.saturating_mul(2))
        };
        self.buf.reserve_exact(target - len);
        self.set_fast_len();
        true
    }

    /// Reads from `input` only as far as the next event: pushes it in
    /// pieces of at most [`Framer::FEED_WINDOW`] bytes until an event is
    /// ready, and returns how many bytes of `input` it took and the event.
    /// `None` means more bytes are needed, and every byte of `input` was
    /// taken. An event already complete in what was pushed before comes
    /// first, with 0 bytes taken.
    ///
    /// Call it again with the rest of `input` after each event. The framer
    /// then holds at most the element being read, one window and the
    /// unread rest of the last window, however large `input` is: a caller
    /// that handles each event before the next one keeps memory bounded by
    /// the stanza limit rather than by the size of its reads. The result
    /// is the same as [`push`](Framer::push) and
    /// [`next_event`](Framer::next_event) give in any chunking; an error is
    /// sticky as there.
    ///
    /// ```
    /// use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
    /// let mut framer = Framer::new(Limits::default());
    /// let mut input: &[u8] = b"<stream:stream xmlns='jabber:client' \
    ///     xmlns:stream='http://etherx.jabber.org/streams'><a/><b/>";
    /// let mut names = Vec::new();
    /// loop {
    ///     let (taken, event) = framer.feed(input)?;
    ///     input = &input[taken..];
    ///     match event {
    ///         Some(FrameEvent::Element(e)) => names.push(e.name().to_owned()),
    ///         Some(_) => {}
    ///         None => break, // all of `input` was taken
    ///     }
    /// }
    /// assert_eq!(names, ["a", "b"]);
    /// assert!(input.is_empty());
    /// # Ok::<(), xmpp_sansio::xml::XmlError>(())
    /// ```
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<FrameEvent>), XmlError> {
        let mut taken = 0;
        loop {
            if let Some(event) = self.next_event()? {
                return Ok((taken, Some(event)));
            }
            if taken == input.len() {
                return Ok((taken, None));
            }
            let end = input.len().min(taken + Self::FEED_WINDOW);
            self.push(&input[taken..end]);
            taken = end;
        }
    }

    /// The most [`Framer::feed`] copies from its input before looking for
    /// the next event.
    pub const FEED_WINDOW: usize = 4096;

    /// The header of the current stream, once it has arrived.
    pub fn header(&self) -> Option<&StreamHeader> {
        self.header.as_ref()
    }

    /// Expects a new stream header next (a stream restart after STARTTLS or
    /// SASL, RFC 6120 §4.3.3). Bytes already pushed but not yet returned as
    /// events are kept and read as the new stream.
    pub fn restart(&mut self) {
        self.scanner.restart();
        self.header = None;
        self.pending_end = false;
        self.checked = self.scanner.pos();
        self.set_lazy(WAKE);
    }

    /// Bytes pushed that no event has consumed yet.
    pub fn unconsumed(&self) -> usize {
        self.buf.len() - self.scanner.keep_from().min(self.buf.len())
    }

    /// Total bytes examined by the scan and the element tokenizer: the witness that
    /// cost is linear in the input whatever the chunking.
    ///
    /// Each byte counts once, when first examined: by the scan, or by the
    /// check that lets it wait unscanned (the scan that later takes it
    /// does not count it again). Between a push that wakes the scan and
    /// the [`Framer::next_event`] that runs it, the bytes that waited
    /// before it are left out (the scan counts them): read the count after
    /// `next_event`.
    pub fn bytes_examined(&self) -> u64 {
        // The bytes pushed since the last scan wait while the check lets
        // them; once one wakes the scan, they count when it takes them.
        // (Not kept byte by byte: `push` stays a push and a table step.)
        let len = self.buf.len();
        let end = if self.lazy < L_END_OPEN && len < self.deadline {
            len
        } else {
            self.checked
        };
        let waiting = end.saturating_sub(self.scanner.pos());
        self.scanner.examined() + self.parsed_bytes + waiting as u64
    }

    /// The next event, `Ok(None)` when more bytes are needed.
    ///
    /// Drain it as `while let Some(event) = framer.next_event()? { … }`
    /// (the example on [`Framer`]). A `match` whose arm for `Ok(None)`
    /// leaves the result to be dropped (`Ok(None) => break`) makes some
    /// builds call the result's drop glue on every read that completes
    /// nothing. One byte at a time, in a fat-LTO build, that was 2.17×
    /// the 4 KiB instructions against 1.85× (docs/performance.md, §2).
    #[inline(always)]
    pub fn next_event(&mut self) -> Result<Option<FrameEvent>, XmlError> {
        if self.nothing_yet() {
            return Ok(None);
        }
        self.next_event_slow()
    }

    /// [`Framer::next_event`]'s fast path on its own: whether the bytes
    /// pushed since the last scan may all wait unscanned with no limit
    /// reachable yet, so nothing can be complete or wrong (`next_event`
    /// would return `Ok(None)`; it need not be called).
    #[inline(always)]
    pub(crate) fn nothing_yet(&mut self) -> bool {
        // At the deadline the state is `WAKE` (`Framer::deadline`).
        debug_assert!(self.buf.len() < self.deadline || self.lazy == WAKE);
        self.lazy < L_END_OPEN || self.resolve()
    }

    /// Resolves the marker [`Framer::step`] left on the last byte pushed,
    /// if it did: whether the byte may wait. A `<` in text is only noted
    /// (here, inline: there is one per tag); the rest is
    /// [`Framer::end_tag_step`]'s.
    #[inline(always)]
    fn resolve(&mut self) -> bool {
        let last = self.buf.len().saturating_sub(1);
        if self.lazy == L_LT_MARK {
            self.tag_at = last;
            self.set_lazy(L_LT);
            return true;
        }
        if self.lazy == L_END_BYTE {
            // The next byte of an end tag's name, as it matches: inline
            // too (one per byte of every end tag's name).
            let (at, len) = self.end_name;
            if self.end_matched < len
                && self.buf.get(last).is_some()
                && self.buf.get(at + self.end_matched) == self.buf.get(last)
            {
                self.end_matched += 1;
                self.set_lazy(L_END);
                return true;
            }
        }
        self.lazy != WAKE && self.end_tag_step()
    }

    /// One byte's push, step and wait test, if it can take the fast path
    /// (room, short of the deadline, [`Framer::set_fast_push`] open):
    /// whether it waits, as [`Framer::nothing_yet`] would say. `None`, and
    /// nothing pushed, otherwise.
    #[inline(always)]
    pub(crate) fn try_push_waits(&mut self, b: u8) -> Option<bool> {
        if self.buf.len() >= self.fast_len {
            return None;
        }
        self.buf.push(b);
        if runs_on(b, self.run_key) {
            // The state stays, and it waits.
            return Some(true);
        }
        self.step_table(b);
        Some(self.lazy < L_END_OPEN || self.resolve())
    }

    #[cold]
    #[inline(never)]
    fn next_event_slow(&mut self) -> Result<Option<FrameEvent>, XmlError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        // A few bytes that each only step the state (an end tag's name
        // as it matches, say): stepped over without the scan's dispatch.
        if !self.pending_end && self.scanner.skip_plain(&self.buf, &self.limits) {
            self.rearm();
            return Ok(None);
        }
        let result = self.next_event_inner();
        // The scan took every byte that waited: none is counted twice.
        debug_assert!(result.is_err() || self.scanner.pos() >= self.checked);
        match &result {
            Ok(Some(_)) => self.settle(),
            Ok(None) => self.compact(),
            Err(e) => {
                self.error = Some(e.clone());
                // Nothing more will be read: give the buffer back.
                self.buf = Vec::new();
            }
        }
        self.rearm();
        result
    }

    /// After a scan: where the check that lets bytes wait unscanned starts,
    /// and until what length ([`Scanner::lazy`]); nothing waits while an
    /// error or a stream end is to be reported, or bytes remain that the
    /// scan has not reached.
    #[inline]
    fn rearm(&mut self) {
        let pos = self.scanner.pos();
        self.checked = pos;
        if self.error.is_some() || self.pending_end || pos < self.buf.len() {
            // Bytes the check has not seen, or something to report.
            self.set_lazy(WAKE);
        } else {
            let (lazy, deadline) = self.scanner.lazy(&self.limits);
            self.set_lazy(lazy);
            self.deadline = deadline;
            (self.end_name, self.end_matched) = self.scanner.end_name();
            self.nested = self.scanner.nested();
            self.may_open = self.scanner.may_open(&self.limits);
            self.tag_at = NO_TAG;
            self.outer = None;
            self.wake_at_deadline();
        }
        // The scan may have given the buffer back (`settle`, a failure).
        self.set_fast_len();
    }

    /// After a scan that found nothing: drops the consumed bytes once they
    /// are at least half the buffer, so each byte is moved at most a
    /// bounded number of times on average.
    #[inline]
    fn compact(&mut self) {
        let keep = self.scanner.keep_from().min(self.buf.len());
        if keep > 0 && keep >= self.buf.len() - keep {
            self.buf.drain(..keep);
            self.scanner.shift(keep);
        }
    }

    /// The error to report for `e`, raised by the scan on the byte at its
    /// position (never a parser's error: the parser checks UTF-8 first): [`XmlError::InvalidUtf8`] (`unsupported-encoding`, RFC
    /// 6120 §4.9.3.22) if the bytes of the current element up to and
    /// including that one are not UTF-8, since that came first. (A
    /// misplaced byte of a broken character, such as `<m\x80essage>`, is
    /// otherwise often first seen as a structural error: a name that does
    /// not match its end tag, a value without quotes.) A character still
    /// incomplete at that byte is not counted, so every chunking gives the
    /// same answer: the scan fails on the same byte in any.
    #[cold]
    fn first_in_byte_order(&self, e: XmlError) -> XmlError {
        if matches!(e, XmlError::InvalidUtf8) {
            return e;
        }
        let start = self.scanner.keep_from().min(self.buf.len());
        let end = self.buf.len().min(self.scanner.pos().saturating_add(1));
        match std::str::from_utf8(&self.buf[start..end.max(start)]) {
            Err(bad) if bad.error_len().is_some() => XmlError::InvalidUtf8,
            _ => e,
        }
    }

    /// After an event: drops the bytes it consumed once they are at least
    /// half the buffer (as `push` does), and gives memory back once the
    /// buffer's capacity is far above what it holds. With nothing left
    /// unconsumed, a buffer over [`KEPT_BYTES`] is freed; otherwise one
    /// over four times `max(unconsumed, KEPT_BYTES)` is cut to twice that.
    ///
    /// The cost stays amortized O(1) per byte in any chunking: moving the
    /// unconsumed bytes is paid for by the consumed ones, at least as many;
    /// a capacity is only cut when at least a quarter of it was consumed
    /// since it was reached (a `Vec` that grew to `c` held more than `c/2`),
    /// and the cut copies at most a quarter. So sizes that alternate
    /// (a large read, then small ones) cost at most one reallocation per
    /// large read, paid for by its bytes, and nothing per small one.
    #[inline]
    fn settle(&mut self) {
        self.parser.trim();
        let keep = self.scanner.keep_from();
        let live = self.buf.len() - keep.min(self.buf.len());
        if keep > 0 && keep >= live {
            self.buf.drain(..keep);
            self.scanner.shift(keep);
        }
        let cap = self.buf.capacity();
        if cap <= KEPT_BYTES {
            return;
        }
        if live == 0 {
            self.buf = Vec::new();
        } else if cap / 4 > live.max(KEPT_BYTES) {
            self.cut_to(2 * live.max(KEPT_BYTES));
        }
    }

    /// Cuts the buffer's capacity to `cap` (never below its length), its
    /// bytes kept. A cut from a capacity of [`MOVED_CUT_BYTES`] or more to
    /// less moves the bytes to a new allocation instead of cutting the
    /// block in place: glibc serves a block that large with a mapping of
    /// its own when its heap has no room (`M_MMAP_THRESHOLD`, 128 KiB by
    /// default), and a mapped block reallocated stays mapped (`mremap`)
    /// however small it gets. A buffer cut in place after one large stanza
    /// would then make every later growth and cut of it (one of each per
    /// read that ends inside a stanza) a system call and fresh page
    /// faults, until the buffer is next freed. The move costs one
    /// allocation and a copy of less than [`MOVED_CUT_BYTES`], once per
    /// large capacity given back; a cut that stays large is made in place
    /// (such a block is a mapping anyway), so the two blocks are never
    /// both held when the smaller is large too.
    #[inline]
    fn cut_to(&mut self, cap: usize) {
        let cap = cap.max(self.buf.len());
        if self.buf.capacity() >= MOVED_CUT_BYTES && cap < MOVED_CUT_BYTES {
            self.move_to(cap);
        } else {
            self.buf.shrink_to(cap);
        }
    }

    /// [`Framer::cut_to`] from a large capacity to a small one: the bytes
    /// into a new block of capacity `cap` (at least their length).
    #[cold]
    #[inline(never)]
    fn move_to(&mut self, cap: usize) {
        let mut moved = Vec::with_capacity(cap);
        moved.extend_from_slice(&self.buf);
        self.buf = moved;
    }

    #[inline]
    fn next_event_inner(&mut self) -> Result<Option<FrameEvent>, XmlError> {
        if std::mem::take(&mut self.pending_end) {
            return Ok(Some(FrameEvent::StreamEnd));
        }
        loop {
            let scanned = self.scanner.scan(&self.buf, &self.limits);
            let Some(boundary) = scanned.map_err(|e| self.first_in_byte_order(e))? else {
                return Ok(None);
            };
            match boundary {
                Boundary::Declaration { start, end } => {
                    check_declaration(self.text(start, end)?)?;
                }
                Boundary::Header { start, end, empty } => {
                    let header = parse_header(self.text(start, end)?, &self.limits)?;
                    self.parsed_bytes += (end - start) as u64;
                    self.header = Some(header.clone());
                    if empty {
                        // Reported as a start; the end follows on the next call.
                        self.pending_end = true;
                    }
                    return Ok(Some(FrameEvent::StreamStart(Box::new(header))));
                }
                Boundary::Element { start, end } => {
                    let Some(header) = &self.header else {
                        return Err(XmlError::not_well_formed(
                            "element before the stream header",
                        ));
                    };
                    let src = std::str::from_utf8(&self.buf[start..end])
                        .map_err(|_| XmlError::InvalidUtf8)?;
                    let element = self.parser.parse_element(src, header, &self.limits)?;
                    self.parsed_bytes += (end - start) as u64;
                    return Ok(Some(FrameEvent::Element(element)));
                }
                // The scanner matched the end tag against the header's name.
                Boundary::StreamEnd { .. } => {
                    return Ok(Some(FrameEvent::StreamEnd));
                }
            }
        }
    }

    fn text(&self, start: usize, end: usize) -> Result<&str, XmlError> {
        std::str::from_utf8(&self.buf[start..end]).map_err(|_| XmlError::InvalidUtf8)
    }
}

/// Checks `<?xml …?>`: version 1.0, and UTF-8 if an encoding is named.
fn check_declaration(text: &str) -> Result<(), XmlError> {
    // XML allows any whitespace after `<?xml` (the scanner checked there is
    // some); xmlparser knows only a space there, so give it one.
    let spaced;
    let text = match text.strip_prefix("<?xml") {
        Some(rest) if rest.starts_with(['\t', '\r', '\n']) => {
            spaced = format!("<?xml {}", rest.get(1..).unwrap_or_default());
            spaced.as_str()
        }
        _ => text,
    };
    match xmlparser::Tokenizer::from(text).next() {
        Some(Ok(xmlparser::Token::Declaration {
            version, encoding, ..
        })) => {
            if version.as_str() != "1.0" {
                return Err(XmlError::not_well_formed(format!("XML version {version}")));
            }
            match encoding {
                Some(enc) if !enc.as_str().eq_ignore_ascii_case("utf-8") => {
                    Err(XmlError::UnsupportedEncoding(enc.to_string()))
                }
                _ => Ok(()),
            }
        }
        Some(Err(e)) => Err(XmlError::not_well_formed(e.to_string())),
        _ => Err(XmlError::not_well_formed("malformed XML declaration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"<stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

    fn stanzas(bytes: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < bytes {
            out.extend_from_slice(
                format!("<message from='a{i}@b' id='m{i}'><body>hello {i}</body></message>")
                    .as_bytes(),
            );
            i += 1;
        }
        out
    }

    /// With its fast path closed (a `Stream` whose input is stopped), a
    /// byte pushed alone takes none of it, and pushing still reads as
    /// with it open: the same events, byte by byte or not.
    #[test]
    fn a_closed_fast_path_changes_nothing_but_the_path() {
        let mut input = HEADER.to_vec();
        input.extend_from_slice(&stanzas(600));
        let events = |open: bool| {
            let mut f = Framer::new(Limits::default());
            f.set_fast_push(open);
            let mut out = Vec::new();
            for b in &input {
                if let Some(waits) = f.try_push_waits(*b) {
                    assert!(open, "a closed fast path takes no byte");
                    if waits {
                        continue;
                    }
                } else {
                    f.push(std::slice::from_ref(b));
                }
                while let Ok(Some(event)) = f.next_event() {
                    out.push(event);
                }
            }
            assert_eq!(f.fast_push(), open);
            out
        };
        let (open, closed) = (events(true), events(false));
        assert!(open.len() > 5, "{} events", open.len());
        assert_eq!(open, closed);
    }

    /// Reads every event; returns how many elements there were.
    fn drain(f: &mut Framer) -> usize {
        let mut n = 0;
        while let Ok(Some(event)) = f.next_event() {
            n += usize::from(matches!(event, FrameEvent::Element(_)));
        }
        n
    }

    /// Pushes `bytes` one at a time, asking for an event after each;
    /// returns the events and how many of the bytes woke the scan.
    fn byte_by_byte(f: &mut Framer, bytes: &[u8]) -> (usize, usize) {
        let (mut events, mut wakes) = (0, 0);
        for b in bytes {
            f.push(std::slice::from_ref(b));
            wakes += usize::from(!f.nothing_yet());
            while let Ok(Some(_)) = f.next_event() {
                events += 1;
            }
        }
        (events, wakes)
    }

    #[test]
    fn nested_elements_wait_unscanned() {
        let mut f = Framer::new(Limits::default());
        f.push(HEADER);
        drain(&mut f);
        // Into a stanza: the top-level `<` and its start tag's `>` wake the
        // scan; a nested element's start tag does not.
        assert_eq!(byte_by_byte(&mut f, b"<message><body>hi"), (0, 2));
        // Nor its end tag, nor self-closing tags, however deep.
        let nested = b" there</body><c x='1'/> <d/> <x a='1' ><item/></x>";
        assert_eq!(byte_by_byte(&mut f, nested), (0, 0));
        // One element opened unscanned at a time: a start tag inside it
        // wakes the scan, and so do end tags of elements it has read.
        assert_eq!(byte_by_byte(&mut f, b"<x><y>"), (0, 1));
        assert_eq!(byte_by_byte(&mut f, b"</y></x>"), (0, 2));
        // A top-level element's `/>` completes it, on its `>`.
        assert_eq!(byte_by_byte(&mut f, b"</message>"), (1, 1));
        assert_eq!(byte_by_byte(&mut f, b"<presence a='1'/"), (0, 2));
        assert_eq!(byte_by_byte(&mut f, b">"), (1, 1));
    }

    #[test]
    fn a_start_tag_at_the_depth_limit_wakes_the_scan() {
        let mut f = Framer::new(Limits {
            max_depth: 4,
            ..Limits::default()
        });
        f.push(HEADER);
        drain(&mut f);
        // `<b>` opens unscanned (depth 3); `<y>` inside it wakes the scan
        // (depth 4, the limit). In `<y>`, `<c>` would pass the limit: its
        // `>` wakes the scan, which fails on it.
        byte_by_byte(&mut f, b"<a><b><y>x<c");
        assert!(f.nothing_yet());
        f.push(b">");
        assert!(!f.nothing_yet());
        assert!(matches!(
            f.next_event(),
            Err(XmlError::LimitExceeded { .. })
        ));
    }

    #[test]
    fn the_buffer_is_given_back_after_a_burst() {
        let mut f = Framer::new(Limits::default());
        f.push(HEADER);
        drain(&mut f);
        let burst = stanzas(1 << 20);
        f.push(&burst);
        assert!(f.buf.capacity() >= 1 << 20);
        assert!(drain(&mut f) > 10_000);
        // Nothing unconsumed: the megabyte is gone.
        assert_eq!(f.unconsumed(), 0);
        assert!(f.buf.capacity() <= KEPT_BYTES, "{}", f.buf.capacity());

        // A burst that ends inside a stanza keeps room for that stanza only.
        let mut burst = stanzas(1 << 20);
        burst.extend_from_slice(b"<message id='open'><body>not yet");
        f.push(&burst);
        drain(&mut f);
        assert_eq!(f.unconsumed(), 32);
        assert!(f.buf.capacity() <= 4 * KEPT_BYTES, "{}", f.buf.capacity());
        f.push(b"</body></message>");
        assert_eq!(drain(&mut f), 1);
        assert!(f.buf.capacity() <= KEPT_BYTES);
    }

    #[test]
    fn a_large_buffer_is_cut_into_a_new_block() {
        // After a read of 128 KiB (a block glibc maps on its own), the cut
        // that keeps a partial stanza moves it to a new, small block
        // instead of reallocating the mapping in place; the bytes survive.
        let mut f = Framer::new(Limits::default());
        f.push(HEADER);
        drain(&mut f);
        let mut burst = stanzas(128 * 1024);
        burst.extend_from_slice(b"<message id='open'><body>not yet");
        f.push(&burst);
        let large = f.buf.as_ptr();
        assert!(f.buf.capacity() >= MOVED_CUT_BYTES);
        drain(&mut f);
        assert_eq!(f.unconsumed(), 32);
        assert!(f.buf.capacity() <= 4 * KEPT_BYTES, "{}", f.buf.capacity());
        assert_ne!(f.buf.as_ptr(), large);
        f.push(b"</body></message>");
        assert_eq!(drain(&mut f), 1);
    }

    #[test]
    fn the_buffer_is_given_back_as_a_large_read_is_consumed() {
        // The capacity shrinks while the events of one read are taken,
        // not only at its end.
        let mut f = Framer::new(Limits::default());
        f.push(HEADER);
        drain(&mut f);
        let burst = stanzas(1 << 20);
        f.push(&burst);
        let mut taken = 0;
        while let Ok(Some(_)) = f.next_event() {
            taken += 1;
            if taken == 12_000 {
                let left = f.unconsumed();
                assert!(left < 1 << 19, "{left}");
                assert!(f.buf.capacity() <= 4 * left.max(KEPT_BYTES), "{left}");
            }
        }
    }

    #[test]
    fn alternating_read_sizes_do_not_thrash() {
        // One large read, then many small ones, over and over: at most a
        // couple of capacity changes per large read, none per small one.
        let mut f = Framer::new(Limits::default());
        f.push(HEADER);
        drain(&mut f);
        let large = stanzas(64 * 1024);
        let small = stanzas(1);
        let mut changes = 0;
        let mut cap = f.buf.capacity();
        let mut note = |f: &Framer| {
            if f.buf.capacity() != cap {
                cap = f.buf.capacity();
                changes += 1;
            }
        };
        for _ in 0..20 {
            f.push(&large);
            note(&f);
            drain(&mut f);
            note(&f);
            for _ in 0..200 {
                f.push(&small);
                note(&f);
                assert_eq!(drain(&mut f), 1);
                note(&f);
            }
        }
        assert!(changes <= 20 * 3, "{changes} capacity changes");
    }

    #[test]
    fn a_failed_framer_holds_nothing() {
        let mut f = Framer::new(Limits {
            max_stanza_bytes: 64 * 1024,
            ..Limits::default()
        });
        f.push(HEADER);
        drain(&mut f);
        let mut open = b"<message><body>".to_vec();
        open.resize(70 * 1024, b'x');
        f.push(&open);
        assert!(f.next_event().is_err());
        assert_eq!(f.buf.capacity(), 0);
        f.push(&open);
        assert_eq!(f.buf.capacity(), 0);
        assert!(f.next_event().is_err());
    }

    #[test]
    fn an_element_past_the_limit_holds_the_limit_and_one_push() {
        for limit in [64 * 1024, 256 * 1024, 1 << 20] {
            let mut f = Framer::new(Limits {
                max_stanza_bytes: limit,
                ..Limits::default()
            });
            f.push(HEADER);
            drain(&mut f);
            f.push(b"<message a='");
            let chunk = vec![b'x'; 40_000];
            let mut most = 0;
            let mut pushed = 0;
            while f.next_event().is_ok() {
                f.push(&chunk);
                pushed += chunk.len();
                most = most.max(f.buf.capacity());
                assert!(pushed <= limit + chunk.len());
            }
            assert!(most <= limit + chunk.len() + 16, "{limit}: {most}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_before_a_structural_error_are_the_error() {
        // The scan sees a name that does not match its end tag, a value
        // without quotes, a bad end tag: the byte that is not UTF-8 came
        // first, in any chunking.
        let cases: [(&[u8], bool); 7] = [
            (b"<m\x80essage></message>", true),
            (b"<message a=\x80'x'/>", true),
            (b"<message a=\xc0\xaf'x'/>", true),
            (b"<message><b\xffody></body></message>", true),
            (b"<message></mess\x80age>", true),
            // A valid character there is a structural error itself, and so
            // is a byte that may begin one (what follows is not looked at).
            (b"<message a=\xc3\xa9'x'/>", false),
            (b"<message></mess\xed\xa0\x80age>", false),
        ];
        for (stanza, utf8) in cases {
            let mut input = HEADER.to_vec();
            input.extend_from_slice(stanza);
            for cut in 1..input.len() {
                let mut f = Framer::new(Limits::default());
                let mut result = Ok(None);
                for piece in [&input[..cut], &input[cut..]] {
                    f.push(piece);
                    result = loop {
                        match f.next_event() {
                            Ok(Some(_)) => {}
                            other => break other,
                        }
                    };
                }
                let Err(e) = result else {
                    panic!("{stanza:x?}")
                };
                assert_eq!(
                    matches!(e, XmlError::InvalidUtf8),
                    utf8,
                    "{stanza:x?} cut at {cut}: {e:?}"
                );
            }
        }
    }

    #[test]
    fn scratch_space_grown_by_one_element_is_given_back() {
        let mut f = Framer::new(Limits {
            max_attributes: 10_000,
            ..Limits::default()
        });
        f.push(HEADER);
        drain(&mut f);
        let mut el = String::from("<message");
        for i in 0..5000 {
            el.push_str(&format!(" a{i}='{i}' xmlns:p{i}='urn:{i}'"));
        }
        el.push_str("/>");
        f.push(el.as_bytes());
        assert_eq!(drain(&mut f), 1);
        assert!(f.parser.scratch_capacity() <= 5 * 4 * 16);
    }

    #[test]
    fn feed_holds_one_window_beside_the_element_and_gives_the_same_events() {
        let mut input = HEADER.to_vec();
        input.extend_from_slice(&stanzas(1 << 20));
        let big = format!(
            "<iq type='result' id='r'><query>{}</query></iq>",
            "y".repeat(100_000)
        );
        input.extend_from_slice(big.as_bytes());
        input.extend_from_slice(b"</stream:stream>");

        let mut pushed = Framer::new(Limits::default());
        pushed.push(&input);
        let mut expected = Vec::new();
        while let Ok(Some(event)) = pushed.next_event() {
            expected.push(event);
        }

        for read in [1usize, 100, 4096, 5000, 1 << 20, input.len()] {
            let mut f = Framer::new(Limits::default());
            let mut got = Vec::new();
            let mut most = 0;
            for mut chunk in input.chunks(read) {
                loop {
                    let Ok((taken, event)) = f.feed(chunk) else {
                        panic!("reads of {read}: an error")
                    };
                    most = most.max(f.buf.capacity());
                    chunk = &chunk[taken..];
                    match event {
                        Some(event) => got.push(event),
                        None => break,
                    }
                }
                assert!(chunk.is_empty());
            }
            assert_eq!(got, expected, "reads of {read}");
            // The largest element (~100 KB) and a window or two, never the read.
            assert!(
                most <= 2 * (big.len() + 2 * Framer::FEED_WINDOW),
                "{read}: {most}"
            );
        }
    }
}
