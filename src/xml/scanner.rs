//! The resumable boundary scan: finds where the stream header, each
//! top-level element and the stream's end tag begin and end, in one pass
//! over the bytes however they are chunked.
//!
//! The scanner keeps its state between calls (inside a tag, inside a quoted
//! attribute value, inside CDATA, how deep), so a byte is examined once when
//! it arrives and never again while the element around it grows. Markup that
//! restricted XML forbids (comments, processing instructions, DTDs) is
//! rejected the moment it is recognised, and so are too many attributes in
//! one start tag (each has one quoted value, which the scan finds anyway).
//! Tokenizing, UTF-8 validation and well-formedness are the parser's job,
//! once per complete element. The name-length limit is the parser's too:
//! checking it here would mean looking at every name byte the word-at-a-time
//! search now skips, and the byte limit already bounds what is buffered
//! before the parser sees a long name (one stanza, at most).

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside any markup: prolog or epilog (depth 0), between stanzas
    /// (depth 1), or character data inside a stanza.
    Between,
    /// Just after `<`.
    Lt,
    /// Inside a start tag, outside attribute values.
    StartTag,
    /// Inside a start tag after `/`: only `>` may follow.
    StartTagSlash,
    /// Inside a quoted attribute value (the quote byte).
    AttrValue(u8),
    /// Inside an end tag.
    EndTag,
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
    }

    /// Consumes the bytes from the scan position on while each is one that
    /// cannot change the state (ordinary text, attribute-value or name
    /// bytes), and returns whether that reached the end of `buf`. This is
    /// the whole work of most calls when input arrives a byte at a time;
    /// it never consumes a byte [`Scanner::scan`] would treat differently,
    /// and it stops at the byte limit so `scan` reports that.
    #[inline]
    pub(crate) fn skip_plain(&mut self, buf: &[u8], limits: &Limits) -> bool {
        // Only for a few pending bytes: longer runs go faster through the
        // word-at-a-time searches of `scan`.
        if buf.len().saturating_sub(self.pos) > 8 {
            return false;
        }
        let limit = self.element_start.saturating_add(limits.stanza_bytes());
        let end = buf.len().min(limit);
        let start = self.pos;
        while self.pos < end {
            let b = buf[self.pos];
            let plain = match self.state {
                State::Between => self.depth >= 2 && b != b'<',
                State::AttrValue(q) => b != q,
                State::StartTag => !matches!(b, b'>' | b'"' | b'\'' | b'/'),
                State::EndTag => b != b'>',
                State::Cdata(0) => b != b']',
                _ => false,
            };
            if !plain {
                break;
            }
            self.pos += 1;
        }
        self.examined += (self.pos - start) as u64;
        self.pos == buf.len()
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
                                        State::EndTag
                                    }
                                    Some(b'!' | b'?') | None => State::Lt,
                                    Some(_) => {
                                        self.attrs_in_tag = 0;
                                        State::StartTag
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
                            self.state = State::StartTag;
                        }
                    }
                }
                State::StartTag => {
                    // Run through attribute values here rather than via the
                    // outer dispatch: a tag has several, each costs a trip.
                    let mut at = 0;
                    let found = loop {
                        match find_tag_byte(&window[at..]) {
                            Some(i) if matches!(window[at + i], b'"' | b'\'') => {
                                // One value per attribute: the count limit
                                // holds before the element is buffered.
                                self.attrs_in_tag += 1;
                                if self.attrs_in_tag > limits.max_attributes {
                                    self.pos += at + i;
                                    return Err(XmlError::LimitExceeded {
                                        kind: LimitKind::Attributes,
                                        limit: limits.max_attributes,
                                    });
                                }
                                let quote = window[at + i];
                                match find_byte(&window[at + i + 1..], quote) {
                                    Some(j) => at += i + 1 + j + 1,
                                    None => {
                                        self.pos = bound;
                                        self.state = State::AttrValue(quote);
                                        break None;
                                    }
                                }
                            }
                            Some(i) => break Some(at + i),
                            None => {
                                self.pos = bound;
                                break None;
                            }
                        }
                    };
                    let Some(i) = found else { continue };
                    self.pos += i + 1;
                    match window[i] {
                        b'>' => {
                            self.state = State::Between;
                            if self.depth == 0 {
                                self.depth = 1;
                                self.declaration_allowed = false;
                                return Ok(Some(Boundary::Header {
                                    start: self.element_start,
                                    end: self.pos,
                                    empty: false,
                                }));
                            }
                            self.depth += 1;
                            if self.depth > limits.max_depth {
                                return Err(XmlError::LimitExceeded {
                                    kind: LimitKind::Depth,
                                    limit: limits.max_depth,
                                });
                            }
                        }
                        _ => self.state = State::StartTagSlash,
                    }
                }
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
                State::AttrValue(quote) => match find_byte(window, quote) {
                    Some(i) => {
                        self.pos += i + 1;
                        self.state = State::StartTag;
                    }
                    None => self.pos = bound,
                },
                State::EndTag => match find_byte(window, b'>') {
                    Some(i) => {
                        self.pos += i + 1;
                        self.state = State::Between;
                        match self.depth {
                            0 => {
                                return Err(XmlError::not_well_formed(
                                    "end tag outside the stream element",
                                ));
                            }
                            1 => {
                                self.depth = 0;
                                self.state = State::Closed;
                                return Ok(Some(Boundary::StreamEnd {
                                    start: self.element_start,
                                    end: self.pos,
                                }));
                            }
                            d => {
                                self.depth = d - 1;
                                if self.depth == 1 {
                                    return Ok(Some(Boundary::Element {
                                        start: self.element_start,
                                        end: self.pos,
                                    }));
                                }
                            }
                        }
                    }
                    None => self.pos = bound,
                },
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
                    self.pos += 1;
                    if matched as usize + 1 == b"[CDATA[".len() {
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
                            _ => self.state = State::Cdata(0),
                        }
                    } else {
                        self.state = State::Bang(matched + 1);
                    }
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

/// The index of the first byte that matters inside a start tag (`>`, a
/// quote, or `/`), eight bytes at a time.
fn find_tag_byte(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut words = hay.chunks_exact(8);
    for (k, word) in words.by_ref().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let found = has_zero(w ^ (LO * u64::from(b'>')))
            | has_zero(w ^ (LO * u64::from(b'"')))
            | has_zero(w ^ (LO * u64::from(b'\'')))
            | has_zero(w ^ (LO * u64::from(b'/')));
        if found != 0 {
            // Each flag's lowest set byte is a true match; bytes above a
            // match may be false positives, so take the exact position.
            let first = (found.trailing_zeros() / 8) as usize;
            return Some(k * 8 + first);
        }
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&b| matches!(b, b'>' | b'"' | b'\'' | b'/'))
        .map(|i| hay.len() - tail.len() + i)
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

    #[test]
    fn find_tag_byte_agrees_with_position() {
        let hay = b"message to='a' from=\"b\"/><x>y";
        for start in 0..hay.len() {
            let h = &hay[start..];
            let want = h
                .iter()
                .position(|&b| matches!(b, b'>' | b'"' | b'\'' | b'/'));
            assert_eq!(find_tag_byte(h), want, "from {start}");
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
