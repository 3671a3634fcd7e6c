//! The inbound half of the XML layer: bytes in, in any chunking; stream
//! header, top-level elements and the stream's end out, one at a time.

use super::Limits;
use super::element::Element;
use super::error::XmlError;
use super::parser::{Parser, StreamHeader, parse_header};
use super::scanner::{Boundary, Scanner};

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
/// whatever the chunking: once by the boundary scan, and once more when the
/// complete element is tokenized. Errors are sticky: after one, every call
/// returns it again.
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
}

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
    #[inline]
    pub fn push(&mut self, bytes: &[u8]) {
        let keep = self.scanner.keep_from();
        // Drop consumed bytes once they are at least half the buffer, so
        // each byte is moved at most a bounded number of times on average.
        if keep > 0 && keep >= self.buf.len() - keep {
            self.buf.drain(..keep);
            self.scanner.shift(keep);
        }
        if let [b] = bytes {
            // A byte at a time: one push, no loop.
            self.buf.push(*b);
        } else if bytes.len() <= 16 {
            // Tiny reads (a byte at a time, say): a plain loop beats a
            // call into memcpy, which dominated one-byte feeding.
            self.buf.reserve(bytes.len());
            for &b in bytes {
                self.buf.push(b);
            }
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

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
    }

    /// Bytes pushed that no event has consumed yet.
    pub fn unconsumed(&self) -> usize {
        self.buf.len() - self.scanner.keep_from().min(self.buf.len())
    }

    /// Total bytes examined by the scan and the parser: the witness that
    /// cost is linear in the input whatever the chunking.
    pub fn bytes_examined(&self) -> u64 {
        self.scanner.examined() + self.parsed_bytes
    }

    /// The next event, `Ok(None)` when more bytes are needed.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<FrameEvent>, XmlError> {
        // Fast path: the new bytes are all ones that change nothing.
        if self.error.is_none()
            && !self.pending_end
            && self.scanner.skip_plain(&self.buf, &self.limits)
        {
            return Ok(None);
        }
        self.next_event_slow()
    }

    fn next_event_slow(&mut self) -> Result<Option<FrameEvent>, XmlError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let result = self.next_event_inner();
        if let Err(e) = &result {
            self.error = Some(e.clone());
        }
        result
    }

    #[inline]
    fn next_event_inner(&mut self) -> Result<Option<FrameEvent>, XmlError> {
        if std::mem::take(&mut self.pending_end) {
            return Ok(Some(FrameEvent::StreamEnd));
        }
        loop {
            let Some(boundary) = self.scanner.scan(&self.buf, &self.limits)? else {
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
