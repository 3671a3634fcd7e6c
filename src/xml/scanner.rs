//! The resumable boundary scan: finds where the stream header, each
//! top-level element and the stream's end tag begin and end, in one pass
//! over the bytes however they are chunked.
//!
//! The scanner keeps its state between calls (where in a tag, inside a
//! quoted attribute value, inside CDATA, which elements are open), so a byte
//! is scanned once and never again while the element around it grows.
//! Markup that restricted XML forbids (comments, processing instructions,
//! DTDs) is rejected the moment it is recognised.
//! Every limit holds while the bytes arrive, not once the element is
//! complete: a name (element or attribute) fails in the call that brings
//! the byte making it longer than the limit (a byte at a time, on that
//! byte), an attribute on its value's opening quote, depth on the start
//! tag's `>`, and the byte limit on the first byte past it.
//! Each end tag is matched byte by byte against the name of the element it
//! closes (the names of open elements are ranges of the buffered element,
//! the stream's own is kept aside), so a mismatch fails at its first wrong
//! byte instead of leaving the element open. UTF-8 validation (the
//! framer), tokenizing and the rest of well-formedness (the element
//! tokenizer in `tokenizer.rs` and the parser) follow once per complete
//! element.
//!
//! Bytes that arrive a few at a time need not be scanned as they arrive.
//! After each scan, [`Scanner::lazy`] gives the framer a small automaton
//! ([`LAZY`]) and a buffer length: the automaton follows the bytes pushed
//! after the scan position only as long as each is one the scan would
//! step over without completing a boundary, raising an error or changing
//! anything but the place in a tag (text inside a stanza, the inside of a
//! quoted value or of CDATA, names, `=`, whitespace, an end tag's name as
//! far as it matches the open element's, the `/>` of an element nested in
//! a stanza, which changes no depth and completes nothing, and the tags of
//! one element nested in it at a time, opened under the depth limit, its
//! name kept by the framer for its end tag); every other `>` and
//! everything that could be wrong end it. The length is the earliest at
//! which a limit could fire on such bytes. The framer scans only when the automaton ends or the buffer
//! reaches that length; the scan then takes the waiting bytes with the new
//! ones, in the same states it would have taken them one by one. The
//! promise, for any chunking: every event and every error is the same, and
//! comes in the same call, as if each byte were scanned as it arrives
//! (an error in the call that brings the byte raising it, a limit on the
//! byte that passes it); only the work moves. Each byte still counts once
//! in the examined bytes (when the automaton lets it wait, or when the
//! scan takes it), and whitespace outside elements waits a few bytes at
//! most, so an endless run of keepalives holds no more than before.

use super::Limits;
use super::error::{LimitKind, XmlError};

/// A complete piece of the stream, as byte offsets into the framer's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boundary {
    /// `<?xml …?>` before the stream header.
    Declaration { start: usize, end: usize },
    /// The stream element's start tag; `empty` for a `<stream:stream/>`.
    Header {
        start: usize,
        end: usize,
        empty: bool,
    },
    /// One complete top-level child of the stream.
    Element { start: usize, end: usize },
    /// The stream element's end tag.
    StreamEnd { start: usize, end: usize },
}

// `repr(u8)`: a plain tag byte, so the hot tests of the state (is it
// `Between`?) stay one comparison instead of decoding a niche layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum State {
    /// Outside any markup: prolog or epilog (depth 0), between stanzas
    /// (depth 1), or character data inside a stanza.
    Between,
    /// Just after `<`.
    Lt,
    /// Inside a start tag, at the given place.
    Tag(Tag),
    /// Inside a start tag after `/`: only `>` may follow.
    StartTagSlash,
    /// Inside an end tag's name, matching it against the open element's
    /// (the bytes from [`Scanner::end_name_start`] on have matched).
    EndTag,
    /// After an end tag's name: whitespace, then `>`.
    EndTagTail,
    /// After `<!`, having matched this many bytes of `[CDATA[`.
    Bang(u8),
    /// Inside CDATA, having seen this many `]` in a row (at most 2).
    Cdata(u8),
    /// After `<?`, having matched this many bytes of `xml`.
    Pi(u8),
    /// Inside the XML declaration, having just seen `?` (true) or not.
    Declaration(bool),
    /// After the stream's end tag.
    Closed,
}

/// Where in a start tag the scan is (outside [`State::StartTagSlash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Tag {
    /// In the element's name (started at [`Scanner::name_start`]).
    Name,
    /// After the name or an attribute value: whitespace, an attribute's
    /// name, `>` or `/`.
    Space,
    /// In an attribute's name (started at [`Scanner::name_start`]).
    AttrName,
    /// After an attribute's name and whitespace: `=` is next.
    BeforeEq,
    /// After `=`: whitespace, then the value's opening quote.
    AfterEq,
    /// Inside a value quoted with this byte.
    Value(u8),
}

/// Whether a byte may be part of a name, as far as the scan cares: any byte
/// but whitespace and the ones that end or cannot be in a name (what else
/// a name may not hold is the parser's to refuse).
const NAME_BYTE: [bool; 256] = {
    let mut t = [true; 256];
    let mut i = 0;
    let stops = b" \t\r\n>/='\"<&";
    while i < stops.len() {
        t[stops[i] as usize] = false;
        i += 1;
    }
    t
};

/// A state of [`LAZY`] (the constants below name them). A type of its
/// own, not a `u8`: the compiler knows its value is below [`L_STATES`],
/// so a row of the table is indexed with no mask and no bounds check
/// (one instruction less a byte pushed one at a time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Lazy {
    Text = 0,
    Slash = 1,
    Lt = 2,
    Name = 3,
    Space = 4,
    Attr = 5,
    BeforeEq = 6,
    AfterEq = 7,
    Apos = 8,
    Quot = 9,
    SpaceOnly = 10,
    Cdata = 11,
    End = 12,
    EndOpen = 16,
    EndByte = 17,
    SlashMark = 18,
    LtMark = 19,
    GtMark = 20,
    Wake = 31,
}

/// The states of the check that lets bytes wait unscanned ([`LAZY`]): a
/// small automaton over the bytes after the scan position that follows
/// the scan only where no byte can be wrong, complete anything or reach a
/// limit other than the ones [`Scanner::lazy`]'s length bounds. Any other
/// byte goes to [`WAKE`], and then the scan must run.
pub(crate) const WAKE: Lazy = Lazy::Wake;
/// Character data inside a stanza: anything but `<`.
pub(crate) const L_TEXT: Lazy = Lazy::Text;
/// In a start tag inside a stanza, after its `/` (only `>` may follow,
/// which returns to the text around the element: no depth, no boundary).
pub(crate) const L_SLASH: Lazy = Lazy::Slash;
/// Just after a `<` in a stanza: a name's first byte starts a start tag.
pub(crate) const L_LT: Lazy = Lazy::Lt;
/// In a start tag's element name.
const L_NAME: Lazy = Lazy::Name;
/// In a start tag, after the name or a value: whitespace, an attribute.
const L_SPACE: Lazy = Lazy::Space;
/// In an attribute's name.
const L_ATTR: Lazy = Lazy::Attr;
/// After an attribute's name and whitespace: `=` is next.
const L_BEFORE_EQ: Lazy = Lazy::BeforeEq;
/// After `=`: whitespace, then the opening quote.
const L_AFTER_EQ: Lazy = Lazy::AfterEq;
/// Inside a value quoted with `'`.
const L_APOS: Lazy = Lazy::Apos;
/// Inside a value quoted with `"`.
const L_QUOT: Lazy = Lazy::Quot;
/// Whitespace: outside any element, or in an end tag after its name.
const L_SPACE_ONLY: Lazy = Lazy::SpaceOnly;
/// Inside CDATA: anything but `]`.
const L_CDATA: Lazy = Lazy::Cdata;
/// In an end tag's name, as far as it matches the open element's: the
/// table sends every byte to [`L_END_BYTE`], which the framer compares
/// with the name ([`Scanner::end_name`]).
pub(crate) const L_END: Lazy = Lazy::End;
/// A marker (from here on, no state lets a byte wait without more work):
/// the last byte pushed is an end tag's `/` after `<` ([`L_LT`]).
pub(crate) const L_END_OPEN: Lazy = Lazy::EndOpen;
/// A marker: the last byte pushed is the next byte of an end tag's name.
/// Any byte after a marker goes to [`WAKE`].
pub(crate) const L_END_BYTE: Lazy = Lazy::EndByte;
/// A marker: the last byte pushed is a `/` in a start tag, where the scan
/// takes it: [`L_SLASH`] if the tag is inside a stanza
/// ([`Scanner::nested`]), where its `>` completes nothing; the scan's
/// otherwise (a top-level element's `/>` completes it).
pub(crate) const L_SLASH_MARK: Lazy = Lazy::SlashMark;
/// A marker: the last byte pushed is a `<` in a stanza's text, whose
/// place the framer notes (it is [`L_LT`] then): the name of the start
/// tag it may begin follows it.
pub(crate) const L_LT_MARK: Lazy = Lazy::LtMark;
/// A marker: the last byte pushed is a start tag's `>`. It waits if the
/// tag is inside a stanza and its element may open one level deeper
/// ([`Scanner::may_open`]), the tag began with a `<` the framer noted, and
/// no other element is open unscanned: the framer then keeps the element's
/// name for its end tag, whose `>` waits too (back to the text around it).
pub(crate) const L_GT_MARK: Lazy = Lazy::GtMark;
/// Rows in [`LAZY`]: one more than the largest [`Lazy`] state.
pub(crate) const L_STATES: usize = 32;

/// The automaton of [`WAKE`]: `LAZY[state][byte]` is the next state.
pub(crate) const LAZY: [[Lazy; 256]; L_STATES] = {
    let mut t = [[WAKE; 256]; L_STATES];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let space = matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        let name = NAME_BYTE[i];
        t[L_TEXT as usize][i] = if b == b'<' { L_LT_MARK } else { L_TEXT };
        // `</`, `<!` and `<?` are the scan's; so is `<` and a byte that
        // cannot begin a name ("a tag without a name").
        if name && b != b'!' && b != b'?' {
            t[L_LT as usize][i] = L_NAME;
        }
        if b == b'/' {
            t[L_LT as usize][i] = L_END_OPEN;
            // `<a/`, `<a b='c'/`, `<a /`: as `scan_tag` takes them.
            t[L_NAME as usize][i] = L_SLASH_MARK;
            t[L_SPACE as usize][i] = L_SLASH_MARK;
        }
        if b == b'>' {
            t[L_SLASH as usize][i] = L_TEXT;
            t[L_NAME as usize][i] = L_GT_MARK;
            t[L_SPACE as usize][i] = L_GT_MARK;
        }
        if name {
            t[L_NAME as usize][i] = L_NAME;
            t[L_SPACE as usize][i] = L_ATTR;
            t[L_ATTR as usize][i] = L_ATTR;
        }
        if space {
            t[L_NAME as usize][i] = L_SPACE;
            t[L_SPACE as usize][i] = L_SPACE;
            t[L_ATTR as usize][i] = L_BEFORE_EQ;
            t[L_BEFORE_EQ as usize][i] = L_BEFORE_EQ;
            t[L_AFTER_EQ as usize][i] = L_AFTER_EQ;
            t[L_SPACE_ONLY as usize][i] = L_SPACE_ONLY;
        }
        if b == b'=' {
            t[L_ATTR as usize][i] = L_AFTER_EQ;
            t[L_BEFORE_EQ as usize][i] = L_AFTER_EQ;
        }
        if b == b'\'' {
            t[L_AFTER_EQ as usize][i] = L_APOS;
        }
        if b == b'"' {
            t[L_AFTER_EQ as usize][i] = L_QUOT;
        }
        t[L_APOS as usize][i] = if b == b'\'' { L_SPACE } else { L_APOS };
        t[L_QUOT as usize][i] = if b == b'"' { L_SPACE } else { L_QUOT };
        t[L_CDATA as usize][i] = if b == b']' { WAKE } else { L_CDATA };
        t[L_END as usize][i] = L_END_BYTE;
        i += 1;
    }
    t
};

/// For each state of [`LAZY`] that waits and that every byte but one
/// leaves as it is (character data: all but `<`; a quoted value: all but
/// its quote; CDATA: all but `]`), that byte; [`NO_RUN`] for every other
/// state. Derived from the table, so the two cannot disagree. One byte at
/// a time, most bytes fall in such a state: [`runs_on`] lets them wait
/// with one comparison instead of a step of the table.
pub(crate) const RUN_KEY: [u16; L_STATES] = {
    let mut keys = [NO_RUN; L_STATES];
    let mut state = 0;
    while state < L_STATES {
        let mut leaving = 0;
        let mut key = NO_RUN;
        let mut b = 0;
        while b < 256 {
            if LAZY[state][b] as usize != state {
                leaving += 1;
                key = b as u16;
            }
            b += 1;
        }
        if leaving == 1 && state < L_END_OPEN as usize {
            keys[state] = key;
        }
        state += 1;
    }
    keys
};

/// [`RUN_KEY`] of a state with no single byte that leaves it.
pub(crate) const NO_RUN: u16 = 0xFFFF;

/// Whether `b`, in the state whose [`RUN_KEY`] is `key`, leaves the state
/// as it is (and so waits): `b` is not the key, and the state has one. In
/// one comparison: `b ^ key` is zero for the key itself, and has its top
/// bit set (negative as an `i16`) for [`NO_RUN`], whatever `b` is.
#[inline(always)]
pub(crate) fn runs_on(b: u8, key: u16) -> bool {
    (u16::from(b) ^ key).cast_signed() > 0
}

/// How many bytes of whitespace outside any element (between stanzas,
/// before the header, after the stream) may wait unscanned: a bound on
/// what an endless run of them holds.
const IDLE_DEFERRED: usize = 64;

/// How long the name at the start of `bytes` is, as the scan reads an
/// element's name.
pub(crate) fn name_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|&&b| NAME_BYTE[usize::from(b)])
        .count()
}

/// The boundary scanner; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    state: State,
    depth: usize,
    /// Offset of the `<` that opened the current header, declaration,
    /// top-level element or stream end tag.
    element_start: usize,
    /// Offset of the next byte to examine.
    pos: usize,
    /// Whether an XML declaration may still come (start of a document).
    declaration_allowed: bool,
    /// Quoted values seen in the current start tag: its attributes and
    /// namespace declarations, one value each.
    attrs_in_tag: usize,
    /// Offset of the first byte of the element or attribute name being read.
    name_start: usize,
    /// The current start tag's element name: offset and length.
    tag_name: (usize, usize),
    /// Offset of the first byte of the current end tag's name.
    end_name_start: usize,
    /// Names of the open elements below the stream element, outermost
    /// first, as (offset from `element_start`, length): they lie in the
    /// buffered top-level element, which is kept until it is complete.
    open: Vec<(usize, usize)>,
    /// The stream element's qualified name, for its end tag.
    stream_name: Vec<u8>,
    examined: u64,
}

impl Scanner {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Between,
            depth: 0,
            element_start: 0,
            pos: 0,
            declaration_allowed: true,
            attrs_in_tag: 0,
            name_start: 0,
            tag_name: (0, 0),
            end_name_start: 0,
            open: Vec::new(),
            stream_name: Vec::new(),
            examined: 0,
        }
    }

    /// A scanner positioned inside an open stream element, as if its header
    /// had been read: for one element read on its own ([`Element::parse`]).
    ///
    /// [`Element::parse`]: super::Element::parse
    pub(crate) fn inside_stream() -> Self {
        Self {
            depth: 1,
            declaration_allowed: false,
            stream_name: b"stream:stream".to_vec(),
            ..Self::new()
        }
    }

    /// Forgets the document (a stream restart) but keeps the position.
    pub(crate) fn restart(&mut self) {
        let pos = self.pos;
        let examined = self.examined;
        *self = Self::new();
        self.pos = pos;
        self.element_start = pos;
        self.examined = examined;
    }

    /// Bytes examined so far, over all calls (the linearity witness).
    pub(crate) fn examined(&self) -> u64 {
        self.examined
    }

    /// Offset of the next byte to examine; after an error, of the byte
    /// that caused it.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Whether the scanner is inside a header, declaration or top-level element.
    #[inline]
    fn in_element(&self) -> bool {
        !(matches!(self.state, State::Between | State::Closed) && self.depth <= 1)
    }

    /// The first buffer offset still needed (earlier bytes may be dropped).
    #[inline]
    pub(crate) fn keep_from(&self) -> usize {
        if self.in_element() {
            self.element_start
        } else {
            self.pos
        }
    }

    /// Shifts every offset down after the buffer dropped `n` leading bytes.
    pub(crate) fn shift(&mut self, n: usize) {
        self.pos -= n;
        self.element_start = self.element_start.saturating_sub(n);
        self.name_start = self.name_start.saturating_sub(n);
        self.tag_name.0 = self.tag_name.0.saturating_sub(n);
        self.end_name_start = self.end_name_start.saturating_sub(n);
    }

    /// The name the current end tag must have: the innermost open
    /// element's, or the stream's at depth 1; `None` outside the stream.
    fn expected_name<'a>(&'a self, buf: &'a [u8]) -> Option<&'a [u8]> {
        match self.depth {
            0 => None,
            1 => Some(&self.stream_name),
            _ => {
                let &(at, len) = self.open.last()?;
                let start = self.element_start + at;
                buf.get(start..start + len)
            }
        }
    }

    /// Where the check that lets bytes wait unscanned starts, after this
    /// scan: the [`LAZY`] state for the scanner's state (the bytes from the
    /// scan position on must all be new), and the buffer length from which
    /// the scan must run whatever the bytes. The automaton never passes a
    /// byte that could be wrong, complete a boundary or raise the depth
    /// limit (a `>` wakes the scan, but for a nested element's `/>`, and
    /// the tags of one element nested at a time under the depth limit,
    /// which are none of these); the length is the earliest at
    /// which one of the other limits could fire on the bytes it passes:
    /// the byte limit from the element's start, the name limit from the
    /// start of the name being read (or of any that could start at the
    /// scan position), the attribute limit counting four bytes an
    /// attribute at least (from one opening quote to the next: the
    /// closing quote, a name, `=`); or where whitespace outside elements has
    /// waited long enough. Scanning the bytes later, with whatever
    /// follows, so gives exactly what scanning each as it arrives gives:
    /// the same events, the same error on the same byte, none sooner.
    pub(crate) fn lazy(&self, limits: &Limits) -> (Lazy, usize) {
        let state = match self.state {
            State::Between if self.depth >= 2 => L_TEXT,
            State::Between | State::Closed | State::EndTagTail => L_SPACE_ONLY,
            State::Lt => L_LT,
            State::Tag(Tag::Name) => L_NAME,
            State::Tag(Tag::AttrName) => L_ATTR,
            State::Tag(Tag::Space) => L_SPACE,
            State::Tag(Tag::BeforeEq) => L_BEFORE_EQ,
            State::Tag(Tag::AfterEq) => L_AFTER_EQ,
            State::Tag(Tag::Value(b'\'')) => L_APOS,
            State::Tag(Tag::Value(_)) => L_QUOT,
            State::Cdata(0) => L_CDATA,
            State::EndTag if self.depth >= 2 => L_END,
            State::StartTagSlash if self.depth >= 2 => L_SLASH,
            State::StartTagSlash
            | State::EndTag
            | State::Bang(_)
            | State::Cdata(_)
            | State::Pi(_)
            | State::Declaration(_) => WAKE,
        };
        // Each bound is the offset of the first byte that could pass a
        // limit; the scan must run once the buffer holds it.
        let bytes = if self.in_element() {
            self.element_start.saturating_add(limits.stanza_bytes())
        } else {
            self.pos
                .saturating_add(IDLE_DEFERRED.min(limits.stanza_bytes()))
        };
        let name = match self.state {
            State::Tag(Tag::Name | Tag::AttrName) => self.name_start,
            _ => self.pos,
        }
        .saturating_add(limits.max_name_len);
        // The quote that passes the attribute limit: one more than are
        // left in this tag (or in a new one), each opening quote four
        // bytes after the one before at least (`'x'y='`).
        let left = match self.state {
            State::Tag(_) => limits.max_attributes.saturating_sub(self.attrs_in_tag),
            _ => limits.max_attributes,
        };
        let attrs = self.pos.saturating_add(left.saturating_mul(4));
        (state, bytes.min(name).min(attrs).saturating_add(1))
    }

    /// Whether the scan is inside a stanza (a start tag from here on is a
    /// nested element's: its `/>` completes nothing).
    pub(crate) fn nested(&self) -> bool {
        self.depth >= 2
    }

    /// Whether the scan is inside a stanza with room for one more level
    /// under the depth limit: a start tag from here on may open its
    /// element without raising anything.
    pub(crate) fn may_open(&self, limits: &Limits) -> bool {
        self.depth >= 2 && self.depth < limits.max_depth
    }

    /// Where the name an end tag must have lies in the buffer (offset,
    /// length): the innermost open element's below the stream element;
    /// `(0, 0)` at the stream element or outside it (the scan matches
    /// those end tags itself). Then how many bytes of it an end tag being
    /// read has matched.
    pub(crate) fn end_name(&self) -> ((usize, usize), usize) {
        let name = match self.open.last() {
            Some(&(at, len)) if self.depth >= 2 => (self.element_start + at, len),
            _ => (0, 0),
        };
        let matched = match self.state {
            State::EndTag => self.pos - self.end_name_start,
            _ => 0,
        };
        (name, matched)
    }

    /// Consumes the bytes from the scan position on while each is one that
    /// needs no more than a step of the state (ordinary text, bytes of a
    /// start tag up to its end, an end tag's name as it matches), and
    /// returns whether that reached the end of `buf`. This is
    /// the whole work of most calls when input arrives a byte at a time;
    /// it never consumes a byte [`Scanner::scan`] would treat differently,
    /// and it stops at the byte limit so `scan` reports that.
    #[inline]
    pub(crate) fn skip_plain(&mut self, buf: &[u8], limits: &Limits) -> bool {
        // Only for a few pending bytes: longer runs go faster through the
        // word-at-a-time searches of `scan`.
        let start = self.pos;
        let Some(pending) = buf.get(start..) else {
            return false;
        };
        if pending.len() > 8 {
            return false;
        }
        // The byte limit: `scan` reports the byte that passes it.
        let room = (self.element_start.saturating_add(limits.stanza_bytes())).saturating_sub(start);
        let pending = pending.get(..room).unwrap_or(pending);
        let mut n = 0;
        for &b in pending {
            let plain = match self.state {
                State::Between => self.depth >= 2 && b != b'<',
                State::Tag(tag) => match self.tag_step(tag, b, limits) {
                    Some(next) => {
                        self.state = State::Tag(next);
                        true
                    }
                    None => false,
                },
                State::EndTagTail => is_space(b),
                State::EndTag => self
                    .expected_name(buf)
                    .is_some_and(|name| name.get(self.pos - self.end_name_start) == Some(&b)),
                State::Cdata(0) => b != b']',
                _ => false,
            };
            if !plain {
                break;
            }
            self.pos += 1;
            n += 1;
        }
        self.examined += n as u64;
        self.pos == buf.len()
    }

    /// One byte of a start tag at the scan position, as
    /// [`Scanner::scan_tag`] takes it, when all the byte does is move the
    /// tag's state: the next state. `None` for a byte `scan` must see (the
    /// end of the tag, the end of the element's name, a limit reached,
    /// malformed markup), which then stays unconsumed.
    #[inline]
    fn tag_step(&mut self, tag: Tag, b: u8, limits: &Limits) -> Option<Tag> {
        let name = NAME_BYTE[b as usize];
        let name_fits = || self.pos - self.name_start < limits.max_name_len;
        match tag {
            Tag::Name => (name && name_fits()).then_some(Tag::Name),
            Tag::AttrName if name => name_fits().then_some(Tag::AttrName),
            Tag::AttrName | Tag::BeforeEq if b == b'=' => Some(Tag::AfterEq),
            Tag::AttrName | Tag::BeforeEq | Tag::Space | Tag::AfterEq if is_space(b) => {
                Some(if tag == Tag::AttrName {
                    Tag::BeforeEq
                } else {
                    tag
                })
            }
            Tag::Space if name && limits.max_name_len > 0 => {
                self.name_start = self.pos;
                Some(Tag::AttrName)
            }
            Tag::AfterEq
                if matches!(b, b'"' | b'\'') && self.attrs_in_tag < limits.max_attributes =>
            {
                self.attrs_in_tag += 1;
                Some(Tag::Value(b))
            }
            Tag::Value(quote) => Some(if b == quote { Tag::Space } else { tag }),
            _ => None,
        }
    }

    /// Scans `buf` from where the last call stopped. Returns the next
    /// boundary, or `None` when more bytes are needed.
    pub(crate) fn scan(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<Boundary>, XmlError> {
        let before = self.pos;
        let result = self.scan_inner(buf, limits);
        self.examined += (self.pos - before) as u64;
        result
    }

    fn scan_inner(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<Boundary>, XmlError> {
        let max_bytes = limits.stanza_bytes();
        loop {
            let in_element = self.in_element();
            let bound = if in_element {
                buf.len().min(self.element_start.saturating_add(max_bytes))
            } else {
                buf.len()
            };
            if self.pos >= bound {
                if in_element && self.pos < buf.len() {
                    return Err(XmlError::LimitExceeded {
                        kind: LimitKind::StanzaBytes,
                        limit: max_bytes,
                    });
                }
                return Ok(None);
            }
            let window = &buf[self.pos..bound];
            match self.state {
                State::Between => {
                    if self.depth >= 2 {
                        // Character data inside a stanza: jump to the next tag.
                        match find_byte(window, b'<') {
                            Some(i) => {
                                self.pos += i + 1;
                                // Decide the tag's kind here when its next
                                // byte is at hand (what `Lt` would do),
                                // saving a trip through the dispatch.
                                self.state = match window.get(i + 1) {
                                    Some(b'/') => {
                                        self.pos += 1;
                                        self.end_name_start = self.pos;
                                        State::EndTag
                                    }
                                    Some(b'!' | b'?') | None => State::Lt,
                                    Some(_) => {
                                        self.attrs_in_tag = 0;
                                        self.name_start = self.pos;
                                        State::Tag(Tag::Name)
                                    }
                                };
                            }
                            None => self.pos = bound,
                        }
                        continue;
                    }
                    // Prolog, epilog, or between stanzas: whitespace only.
                    let ws = window.iter().take_while(|b| is_space(**b)).count();
                    self.pos += ws;
                    let Some(&b) = window.get(ws) else { continue };
                    if b != b'<' {
                        let error = if self.depth == 1 {
                            XmlError::BadFormat("character data between top-level elements")
                        } else {
                            XmlError::not_well_formed("character data outside the stream element")
                        };
                        return data_outside_markup(&buf[self.pos..], error);
                    }
                    // Whitespace before a declaration is tolerated (strict
                    // XML forbids it; some servers send a keepalive first).
                    self.element_start = self.pos;
                    self.pos += 1;
                    self.state = State::Lt;
                }
                State::Lt => {
                    let b = window[0];
                    match b {
                        b'/' => {
                            self.pos += 1;
                            self.end_name_start = self.pos;
                            self.state = State::EndTag;
                        }
                        b'!' => {
                            self.pos += 1;
                            self.state = State::Bang(0);
                        }
                        b'?' => {
                            self.pos += 1;
                            self.state = State::Pi(0);
                        }
                        _ => {
                            self.attrs_in_tag = 0;
                            self.name_start = self.pos;
                            self.state = State::Tag(Tag::Name);
                        }
                    }
                }
                State::Tag(tag) => match self.scan_tag(tag, window, limits)? {
                    Some(b'>') => {
                        if let Some(header) = self.start_tag_closed(buf, limits)? {
                            return Ok(Some(header));
                        }
                    }
                    Some(_) => self.state = State::StartTagSlash,
                    None => {}
                },
                State::StartTagSlash => {
                    if window[0] != b'>' {
                        return Err(XmlError::not_well_formed("'/' inside a start tag"));
                    }
                    self.pos += 1;
                    self.state = State::Between;
                    match self.depth {
                        0 => {
                            self.state = State::Closed;
                            self.declaration_allowed = false;
                            return Ok(Some(Boundary::Header {
                                start: self.element_start,
                                end: self.pos,
                                empty: true,
                            }));
                        }
                        1 => {
                            return Ok(Some(Boundary::Element {
                                start: self.element_start,
                                end: self.pos,
                            }));
                        }
                        _ => {}
                    }
                }
                State::EndTag => {
                    let done = self.pos - self.end_name_start;
                    let Some(name) = self.expected_name(buf) else {
                        return Err(XmlError::not_well_formed(
                            "end tag outside the stream element",
                        ));
                    };
                    let rest = name.get(done..).unwrap_or_default();
                    let n = rest.len().min(window.len());
                    if let Some(i) = window[..n].iter().zip(rest).position(|(a, b)| a != b) {
                        let error = mismatched_end_tag(name);
                        self.pos += i;
                        return Err(error);
                    }
                    let complete = n == rest.len();
                    self.pos += n;
                    if !complete {
                        continue;
                    }
                    self.state = State::EndTagTail;
                    // The usual `</name>`: close it here, saving a trip.
                    if window.get(n) == Some(&b'>') {
                        self.pos += 1;
                        if let Some(boundary) = self.end_tag_closed() {
                            return Ok(Some(boundary));
                        }
                    }
                }
                State::EndTagTail => {
                    let ws = window.iter().take_while(|b| is_space(**b)).count();
                    self.pos += ws;
                    let Some(&b) = window.get(ws) else { continue };
                    if b != b'>' {
                        // More name (`</bodyx>`) or anything else.
                        return Err(mismatched_end_tag(
                            self.expected_name(buf).unwrap_or_default(),
                        ));
                    }
                    self.pos += 1;
                    if let Some(boundary) = self.end_tag_closed() {
                        return Ok(Some(boundary));
                    }
                }
                State::Bang(matched) => {
                    let b = window[0];
                    if matched == 0 {
                        match b {
                            b'-' => return Err(XmlError::RestrictedXml("comment")),
                            b'[' => {}
                            b'D' => {
                                return Err(XmlError::RestrictedXml("document type declaration"));
                            }
                            b'E' | b'A' | b'N' => {
                                return Err(XmlError::RestrictedXml("markup declaration"));
                            }
                            _ => return Err(XmlError::not_well_formed("malformed '<!' markup")),
                        }
                    } else if b != b"[CDATA["[matched as usize] {
                        return Err(XmlError::not_well_formed("malformed CDATA section"));
                    }
                    let opened = matched as usize + 1 == b"[CDATA[".len();
                    // The error is the `[` that opens the section where
                    // none may be: checked before the scan moves past it.
                    if opened {
                        match self.depth {
                            0 => {
                                return Err(XmlError::not_well_formed(
                                    "CDATA outside the stream element",
                                ));
                            }
                            1 => {
                                return Err(XmlError::BadFormat(
                                    "character data between top-level elements",
                                ));
                            }
                            _ => {}
                        }
                    }
                    self.pos += 1;
                    self.state = if opened {
                        State::Cdata(0)
                    } else {
                        State::Bang(matched + 1)
                    };
                }
                State::Cdata(brackets) => {
                    if brackets == 0 {
                        match find_byte(window, b']') {
                            Some(i) => {
                                self.pos += i + 1;
                                self.state = State::Cdata(1);
                            }
                            None => self.pos = bound,
                        }
                        continue;
                    }
                    let b = window[0];
                    self.pos += 1;
                    self.state = match b {
                        b'>' if brackets == 2 => State::Between,
                        b']' => State::Cdata(2),
                        _ => State::Cdata(0),
                    };
                }
                State::Pi(matched) => {
                    let b = window[0];
                    if (matched as usize) < 3 {
                        if !self.declaration_allowed
                            || self.depth != 0
                            || b != b"xml"[matched as usize]
                        {
                            return Err(XmlError::RestrictedXml("processing instruction"));
                        }
                        self.pos += 1;
                        self.state = State::Pi(matched + 1);
                    } else if is_space(b) {
                        self.pos += 1;
                        self.state = State::Declaration(false);
                    } else {
                        return Err(XmlError::RestrictedXml("processing instruction"));
                    }
                }
                State::Declaration(question) => {
                    let b = window[0];
                    self.pos += 1;
                    if question && b == b'>' {
                        self.state = State::Between;
                        self.declaration_allowed = false;
                        return Ok(Some(Boundary::Declaration {
                            start: self.element_start,
                            end: self.pos,
                        }));
                    }
                    self.state = State::Declaration(b == b'?');
                }
                State::Closed => {
                    let ws = window.iter().take_while(|b| is_space(**b)).count();
                    self.pos += ws;
                    if ws < window.len() {
                        return data_outside_markup(
                            &buf[self.pos..],
                            XmlError::not_well_formed("data after the end of the stream"),
                        );
                    }
                }
            }
        }
    }
}

impl Scanner {
    /// Runs through a start tag from `tag`, over `window` (which starts at
    /// the scan position): names are checked against the name limit byte
    /// by byte, values are skipped eight bytes at a time, and each value's
    /// opening quote counts one attribute. Returns the `>` or `/` that ends
    /// the tag's attributes (consumed), or `None` with the state saved when
    /// the window ends first.
    #[inline]
    fn scan_tag(
        &mut self,
        mut tag: Tag,
        window: &[u8],
        limits: &Limits,
    ) -> Result<Option<u8>, XmlError> {
        let base = self.pos;
        let mut i = 0;
        let result = loop {
            let Some(&b) = window.get(i) else {
                break Ok(None);
            };
            match tag {
                Tag::Name | Tag::AttrName => {
                    // The limit is checked once the run ends: within this
                    // call, so a name fails before more bytes are pushed.
                    while let Some(&b) = window.get(i) {
                        if !NAME_BYTE[b as usize] {
                            break;
                        }
                        i += 1;
                    }
                    let len = base + i - self.name_start;
                    if len > limits.max_name_len {
                        // The error is the byte that crosses the limit:
                        // the scan stops there, so whatever follows it
                        // (a byte that is not UTF-8, say) is never seen,
                        // however the bytes were cut into reads.
                        i = (self.name_start + limits.max_name_len)
                            .saturating_sub(base)
                            .min(i);
                        break Err(XmlError::LimitExceeded {
                            kind: LimitKind::NameLength,
                            limit: limits.max_name_len,
                        });
                    }
                    let Some(&b) = window.get(i) else {
                        break Ok(None);
                    };
                    if tag == Tag::Name {
                        if len == 0 {
                            break Err(XmlError::not_well_formed("a tag without a name"));
                        }
                        self.tag_name = (self.name_start, len);
                        match b {
                            b'>' | b'/' => {
                                i += 1;
                                break Ok(Some(b));
                            }
                            _ if is_space(b) => {
                                i += 1;
                                tag = Tag::Space;
                            }
                            _ => break Err(XmlError::not_well_formed("malformed element name")),
                        }
                    } else {
                        i += 1;
                        match b {
                            // `name='`, the usual form: straight to the value.
                            b'=' if matches!(window.get(i), Some(b'"' | b'\'')) => {
                                tag = Tag::AfterEq;
                            }
                            b'=' => {
                                tag = Tag::AfterEq;
                                continue;
                            }
                            _ if is_space(b) => {
                                tag = Tag::BeforeEq;
                                continue;
                            }
                            _ => {
                                // The error is this byte: the scan stops
                                // on it, not after it, so what follows is
                                // never seen, however the bytes were cut.
                                i -= 1;
                                break Err(XmlError::not_well_formed("attribute without a value"));
                            }
                        }
                        // The value's opening quote, as `Tag::AfterEq` takes it.
                        let quote = window[i];
                        self.attrs_in_tag += 1;
                        if self.attrs_in_tag > limits.max_attributes {
                            break Err(XmlError::LimitExceeded {
                                kind: LimitKind::Attributes,
                                limit: limits.max_attributes,
                            });
                        }
                        i += 1;
                        tag = Tag::Value(quote);
                    }
                }
                Tag::Space => match b {
                    b'>' | b'/' => {
                        i += 1;
                        break Ok(Some(b));
                    }
                    _ if is_space(b) => i += 1,
                    _ if NAME_BYTE[b as usize] => {
                        self.name_start = base + i;
                        tag = Tag::AttrName;
                    }
                    _ => break Err(XmlError::not_well_formed("malformed start tag")),
                },
                Tag::BeforeEq => match b {
                    b'=' => {
                        i += 1;
                        tag = Tag::AfterEq;
                    }
                    _ if is_space(b) => i += 1,
                    _ => break Err(XmlError::not_well_formed("attribute without a value")),
                },
                Tag::AfterEq => match b {
                    b'"' | b'\'' => {
                        // One value per attribute: the count limit holds
                        // before the element is buffered.
                        self.attrs_in_tag += 1;
                        if self.attrs_in_tag > limits.max_attributes {
                            break Err(XmlError::LimitExceeded {
                                kind: LimitKind::Attributes,
                                limit: limits.max_attributes,
                            });
                        }
                        i += 1;
                        tag = Tag::Value(b);
                    }
                    _ if is_space(b) => i += 1,
                    _ => break Err(XmlError::not_well_formed("unquoted attribute value")),
                },
                Tag::Value(quote) => match find_byte(&window[i..], quote) {
                    Some(j) => {
                        i += j + 1;
                        tag = Tag::Space;
                    }
                    None => i = window.len(),
                },
            }
        };
        self.pos = base + i;
        self.state = State::Tag(tag);
        result
    }

    /// An end tag's `>` was read (the scan position is past it): one
    /// element fewer is open. Returns the boundary it completes, if any.
    #[inline]
    fn end_tag_closed(&mut self) -> Option<Boundary> {
        self.state = State::Between;
        match self.depth {
            // Unreachable: no end tag is matched outside the stream.
            0 => None,
            1 => {
                self.depth = 0;
                self.state = State::Closed;
                Some(Boundary::StreamEnd {
                    start: self.element_start,
                    end: self.pos,
                })
            }
            d => {
                self.depth = d - 1;
                self.open.pop();
                (self.depth == 1).then_some(Boundary::Element {
                    start: self.element_start,
                    end: self.pos,
                })
            }
        }
    }

    /// A start tag's `>` was read: the stream header is complete, or one
    /// more element is open (its name kept for its end tag).
    fn start_tag_closed(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<Boundary>, XmlError> {
        self.state = State::Between;
        let (at, len) = self.tag_name;
        if self.depth == 0 {
            self.depth = 1;
            self.declaration_allowed = false;
            self.stream_name.clear();
            self.stream_name
                .extend_from_slice(buf.get(at..at + len).unwrap_or_default());
            return Ok(Some(Boundary::Header {
                start: self.element_start,
                end: self.pos,
                empty: false,
            }));
        }
        self.depth += 1;
        if self.depth > limits.max_depth {
            // The error is the `>` that closes the start tag one level too
            // deep: the scan stops on it, so what follows is never seen.
            self.pos = self.pos.saturating_sub(1);
            return Err(XmlError::LimitExceeded {
                kind: LimitKind::Depth,
                limit: limits.max_depth,
            });
        }
        self.open.push((at - self.element_start, len));
        Ok(None)
    }
}

fn mismatched_end_tag(expected: &[u8]) -> XmlError {
    XmlError::not_well_formed(format!(
        "end tag does not match the start tag <{}>",
        String::from_utf8_lossy(expected)
    ))
}

/// The error for data where only whitespace or markup may be (`rest`
/// starts with it): `error` for a character, but `unsupported-encoding`
/// (RFC 6120 §4.9.3.22) for bytes that are not UTF-8. A character split
/// across chunks waits for its remaining bytes (`Ok(None)`), so the answer
/// is the same in any chunking; the scan position stays on its first byte.
fn data_outside_markup(rest: &[u8], error: XmlError) -> Result<Option<Boundary>, XmlError> {
    if rest.first().is_some_and(|&b| b >= 0x80) {
        let head = rest.get(..4).unwrap_or(rest);
        if let Err(e) = std::str::from_utf8(head)
            && e.valid_up_to() == 0
        {
            return match e.error_len() {
                None => Ok(None),
                Some(_) => Err(XmlError::InvalidUtf8),
            };
        }
    }
    Err(error)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index of the first `needle` in `hay`, eight bytes at a time.
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut words = hay.chunks_exact(8);
    for (k, word) in words.by_ref().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes) ^ pattern;
        // Classic "has zero byte": the lowest flagged byte is the first match.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(k * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&b| b == needle)
        .map(|i| hay.len() - tail.len() + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte [`runs_on`] lets wait is one the table keeps in its state,
    /// a state that waits; the states with a key are the four runs
    /// (text, both quotes, CDATA), each keyed on the one byte that ends it.
    #[test]
    fn run_keys_agree_with_the_lazy_table() {
        let keyed: Vec<(usize, u16)> = RUN_KEY
            .iter()
            .enumerate()
            .filter(|(_, k)| **k != NO_RUN)
            .map(|(s, k)| (s, *k))
            .collect();
        assert_eq!(
            keyed,
            vec![
                (L_TEXT as usize, u16::from(b'<')),
                (L_APOS as usize, u16::from(b'\'')),
                (L_QUOT as usize, u16::from(b'"')),
                (L_CDATA as usize, u16::from(b']')),
            ]
        );
        for (state, row) in LAZY.iter().enumerate() {
            for b in 0..=255u8 {
                let runs = runs_on(b, RUN_KEY[state]);
                let stays = row[usize::from(b)] as usize == state && state < L_END_OPEN as usize;
                if RUN_KEY[state] == NO_RUN {
                    assert!(!runs, "state {state}, byte {b}: no key, no run");
                } else {
                    assert_eq!(runs, stays, "state {state}, byte {b}");
                }
            }
        }
    }

    #[test]
    fn find_byte_agrees_with_position() {
        let hay = b"0123456789abcdef<ghijklmnopq<rs";
        for start in 0..hay.len() {
            for end in start..=hay.len() {
                let h = &hay[start..end];
                assert_eq!(find_byte(h, b'<'), h.iter().position(|&b| b == b'<'));
            }
        }
        assert_eq!(find_byte(&[0x80, 0x3c], b'<'), Some(1));
        assert_eq!(find_byte(&[0xff; 17], 0xff), Some(0));
    }

    fn boundaries(input: &[u8]) -> Result<Vec<Boundary>, XmlError> {
        let mut s = Scanner::new();
        let mut out = Vec::new();
        let limits = Limits::default();
        while let Some(b) = s.scan(input, &limits)? {
            out.push(b);
        }
        Ok(out)
    }

    #[test]
    fn finds_header_elements_and_end() {
        let input = b"<?xml version='1.0'?><s:stream xmlns:s='x' a='>'> <a b=\"/>\"><b/>t<![CDATA[<]]]>]]></a><c/></s:stream>";
        let got = boundaries(input);
        let Ok(got) = got else { panic!("{got:?}") };
        assert_eq!(got.len(), 5);
        assert!(matches!(
            got[0],
            Boundary::Declaration { start: 0, end: 21 }
        ));
        assert!(matches!(got[1], Boundary::Header { start: 21, .. }));
        let Boundary::Element { start, end } = got[2] else {
            panic!()
        };
        assert_eq!(
            &input[start..end],
            &b"<a b=\"/>\"><b/>t<![CDATA[<]]]>]]></a>"[..]
        );
        assert!(matches!(got[4], Boundary::StreamEnd { .. }));
    }

    #[test]
    fn rejects_restricted_markup() {
        for bad in [
            &b"<s><!-- x --></s>"[..],
            b"<!DOCTYPE s><s>",
            b"<s><a><?pi x?></a>",
            b"<s><?xml version='1.0'?>",
        ] {
            assert!(
                matches!(boundaries(bad), Err(XmlError::RestrictedXml(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
