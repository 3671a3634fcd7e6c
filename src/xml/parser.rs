//! Builds an [`Element`] from the text of one complete top-level element,
//! with the crate's own single-pass [`Tokenizer`] doing the tokenizing, and
//! a [`StreamHeader`] from the stream's start tag (once per stream, with
//! xmlparser). Namespaces and `xml:lang` are resolved against the header's
//! declarations. The scanner has already enforced every limit as
//! the bytes arrived and matched every end tag; the parser checks names,
//! depth, attributes and end tags again on the complete element (cheaply),
//! so it does not depend on the scan for them.

use std::ops::Range;

use xmlparser::{ElementEnd, StrSpan};

use super::element::{AttrNode, Element, Span, TreeWriter};
use super::error::{LimitKind, XmlError};
use super::tokenizer::{Token, Tokenizer};
use super::unescape::{decode_attr, decode_cdata, decode_from};
use super::{Limits, ns};

/// Where the parser takes an element's tokens from: the [`Tokenizer`], or
/// (in tests) xmlparser, the reference it replaced.
trait Tokens {
    fn next_token(&mut self) -> Result<Option<Token>, XmlError>;
}

impl Tokens for Tokenizer<'_> {
    #[inline(always)]
    fn next_token(&mut self) -> Result<Option<Token>, XmlError> {
        Tokenizer::next_token(self)
    }
}

/// A namespace declaration in force for the whole stream (from the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    /// `""` for the default namespace.
    pub(crate) prefix: String,
    pub(crate) ns: String,
}

/// The stream element's start tag (RFC 6120 §4.7).
///
/// Attribute values are unescaped but not validated: checking `version`,
/// `from` and the content namespace is the stream's job, which knows its role.
///
/// ```
/// use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
/// let mut f = Framer::new(Limits::default());
/// f.push(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' version='1.0'>");
/// let Ok(Some(FrameEvent::StreamStart(h))) = f.next_event() else { panic!() };
/// assert_eq!((h.id.as_deref(), h.content_ns.as_deref(), h.stream_prefix.as_str()), (Some("s1"), Some("jabber:client"), "stream"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamHeader {
    /// `to`.
    pub to: Option<String>,
    /// `from`.
    pub from: Option<String>,
    /// `id`.
    pub id: Option<String>,
    /// `version` (absent means pre-RFC 3920 "0.9").
    pub version: Option<String>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The default namespace declared on the header (`jabber:client` for c2s).
    pub content_ns: Option<String>,
    /// The prefix bound to the stream namespace (normally `stream`).
    pub stream_prefix: String,
    pub(crate) bindings: Vec<Binding>,
}

/// One attribute seen in a start tag, as ranges of the element text.
#[derive(Debug, Clone)]
struct RawAttr {
    prefix: Range<usize>,
    local: Range<usize>,
    value: Range<usize>,
    /// The offset in the value of its first byte that needs decoding.
    stop: Option<usize>,
}

/// An in-stanza namespace declaration.
#[derive(Debug, Clone)]
struct Scoped {
    prefix: Range<usize>,
    ns: Span,
}

/// An element whose start tag has been read but not its end.
#[derive(Debug, Clone)]
struct Open {
    prefix: Range<usize>,
    local: Range<usize>,
    scope_len: usize,
}

/// Reusable scratch space, so parsing allocates only the tree itself.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    attrs: Vec<RawAttr>,
    scope: Vec<Scoped>,
    open: Vec<Open>,
    header_spans: Vec<Option<Span>>,
    /// The XML namespace's span in the current tree, once used: every
    /// `xml:lang` shares it, so the tree grows by it once per stanza.
    xml_span: Option<Span>,
    /// The tree writer's open-element stack, kept between stanzas.
    writer_stack: Vec<u32>,
}

/// Entries of each scratch list kept between elements (see [`Parser::trim`]).
const SCRATCH_KEPT: usize = 16;

#[inline]
fn trim_scratch<T>(v: &mut Vec<T>) {
    if v.capacity() > 4 * SCRATCH_KEPT {
        v.clear();
        v.shrink_to(SCRATCH_KEPT);
    }
}

/// String equality that never calls `memcmp` for empty strings (the common
/// unprefixed case), which libc does not short-cut.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// The span of a text or attribute value: the source itself when nothing
/// needs decoding (`stop`, the offset of the first byte that does, as the
/// tokenizer found it), else the decoded copy appended to the tree.
#[inline(always)]
fn value_span(
    w: &mut TreeWriter,
    src: &str,
    range: Range<usize>,
    stop: Option<usize>,
    attr: bool,
) -> Result<Span, XmlError> {
    match stop {
        None => Ok(w.source_span(range)),
        // Decoding resumes at the stop found, not from the start again.
        first => {
            let raw = &src[range];
            // Decoding never lengthens: a reference is longer than the
            // character it stands for, a line end pair becomes one byte.
            let span = w.push_with(raw.len(), |s| decode_from(raw, first, s, attr))?;
            within_budget(w)?;
            Ok(span)
        }
    }
}

/// `Err` once the tree writer is over its budget
/// ([`Limits::max_tree_bytes`], which the writer was given).
#[inline(always)]
fn within_budget(w: &TreeWriter) -> Result<(), XmlError> {
    if w.over_budget() {
        return Err(tree_limit(w));
    }
    Ok(())
}

#[cold]
fn tree_limit(w: &TreeWriter) -> XmlError {
    XmlError::LimitExceeded {
        kind: LimitKind::TreeBytes,
        limit: w.budget(),
    }
}

fn tokenizer_error(e: xmlparser::Error) -> XmlError {
    XmlError::not_well_formed(e.to_string())
}

fn restricted(token: &xmlparser::Token<'_>) -> Option<XmlError> {
    use xmlparser::Token;
    match token {
        Token::Comment { .. } => Some(XmlError::RestrictedXml("comment")),
        Token::ProcessingInstruction { .. } | Token::Declaration { .. } => {
            Some(XmlError::RestrictedXml("processing instruction"))
        }
        Token::DtdStart { .. } | Token::EmptyDtd { .. } | Token::DtdEnd { .. } => {
            Some(XmlError::RestrictedXml("document type declaration"))
        }
        Token::EntityDeclaration { .. } => Some(XmlError::RestrictedXml("entity declaration")),
        _ => None,
    }
}

/// Length of `prefix:local` (or `local`).
fn qname_len(prefix: &StrSpan<'_>, local: &StrSpan<'_>) -> usize {
    if prefix.is_empty() {
        local.len()
    } else {
        prefix.len() + 1 + local.len()
    }
}

fn check_name(len: usize, limits: &Limits) -> Result<(), XmlError> {
    if len > limits.max_name_len {
        return Err(XmlError::LimitExceeded {
            kind: LimitKind::NameLength,
            limit: limits.max_name_len,
        });
    }
    Ok(())
}

/// Whether `ns` is the stream's content namespace, one of those RFC 6120
/// §4.8.5 and XEP-0114 reserve for stanzas (and forbid prefixes for).
fn is_content_ns(header: &StreamHeader, ns: &str) -> bool {
    header.content_ns.as_deref() == Some(ns)
        && matches!(
            ns,
            ns::JABBER_CLIENT | ns::JABBER_SERVER | ns::COMPONENT_ACCEPT
        )
}

/// Checks a namespace declaration against XML Namespaces 1.0 §3.
fn check_declaration(prefix: &str, value: &str) -> Result<(), XmlError> {
    let bad = match prefix {
        "xml" => value != ns::XML,
        "xmlns" => true,
        "" => value == ns::XML || value == ns::XMLNS,
        _ => value.is_empty() || value == ns::XML || value == ns::XMLNS,
    };
    if bad {
        return Err(XmlError::not_well_formed(format!(
            "illegal namespace declaration for prefix {prefix:?}"
        )));
    }
    Ok(())
}

impl Parser {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Entries of room in the scratch lists (for tests of [`Parser::trim`]).
    #[cfg(test)]
    pub(crate) fn scratch_capacity(&self) -> usize {
        self.attrs.capacity()
            + self.scope.capacity()
            + self.open.capacity()
            + self.header_spans.capacity()
            + self.writer_stack.capacity()
    }

    /// Gives back scratch space an unusual element made grow (many
    /// attributes, namespace declarations or levels): each list holding
    /// room for more than four times [`SCRATCH_KEPT`] entries is cut back
    /// to that many. Ordinary stanzas never reach that, so this costs them
    /// a few comparisons; an element that does paid for its regrowth with
    /// at least as many bytes of its own.
    #[inline]
    pub(crate) fn trim(&mut self) {
        trim_scratch(&mut self.attrs);
        trim_scratch(&mut self.scope);
        trim_scratch(&mut self.open);
        trim_scratch(&mut self.header_spans);
        trim_scratch(&mut self.writer_stack);
    }

    /// Parses the text of one complete element (the scanner guarantees it
    /// is one element from `<` to its matching `>`).
    pub(crate) fn parse_element(
        &mut self,
        src: &str,
        header: &StreamHeader,
        limits: &Limits,
    ) -> Result<Element, XmlError> {
        self.parse_tokens(src, Tokenizer::new(src), header, limits)
    }

    /// Builds the tree from the tokens of `src`, in document order: each
    /// token's checks come before anything after it is looked at.
    fn parse_tokens(
        &mut self,
        src: &str,
        mut tokens: impl Tokens,
        header: &StreamHeader,
        limits: &Limits,
    ) -> Result<Element, XmlError> {
        self.scope.clear();
        self.open.clear();
        self.header_spans.clear();
        self.header_spans.resize(header.bindings.len(), None);
        self.xml_span = None;
        let mut w = TreeWriter::with_source(
            src,
            std::mem::take(&mut self.writer_stack),
            limits.max_tree_bytes,
        );
        within_budget(&w)?;
        let mut root_done = false;
        while let Some(token) = tokens.next_token()? {
            if root_done {
                return Err(XmlError::not_well_formed("content after the element"));
            }
            match token {
                Token::ElementStart(name) => {
                    check_name(name.len(), limits)?;
                    self.attrs.clear();
                    self.open.push(Open {
                        prefix: name.prefix,
                        local: name.local,
                        scope_len: self.scope.len(),
                    });
                }
                Token::Attribute { name, value, stop } => {
                    check_name(name.len(), limits)?;
                    let declared = self.scope.len() - self.open.last().map_or(0, |o| o.scope_len);
                    if self.attrs.len() + declared >= limits.max_attributes {
                        return Err(XmlError::LimitExceeded {
                            kind: LimitKind::Attributes,
                            limit: limits.max_attributes,
                        });
                    }
                    let prefix = &src[name.prefix.clone()];
                    let local = &src[name.local.clone()];
                    let decl_prefix = if prefix == "xmlns" {
                        Some(name.local.clone())
                    } else if prefix.is_empty() && local == "xmlns" {
                        Some(name.local.start..name.local.start)
                    } else {
                        None
                    };
                    match decl_prefix {
                        Some(p) => {
                            let ns = value_span(&mut w, src, value, stop, true)?;
                            check_declaration(&src[p.clone()], w.str(ns))?;
                            let own = self.open.last().map_or(0, |o| o.scope_len);
                            if self.scope[own..]
                                .iter()
                                .any(|d| src[d.prefix.clone()] == src[p.clone()])
                            {
                                return Err(XmlError::not_well_formed(
                                    "duplicate namespace declaration",
                                ));
                            }
                            self.scope.push(Scoped { prefix: p, ns });
                        }
                        None => self.attrs.push(RawAttr {
                            prefix: name.prefix,
                            local: name.local,
                            value,
                            stop,
                        }),
                    }
                }
                Token::Open => self.start_element(src, header, &mut w, limits)?,
                Token::Empty => {
                    self.start_element(src, header, &mut w, limits)?;
                    self.end_element(&mut w);
                    root_done = w.depth() == 0;
                }
                Token::Close(name) => {
                    let Some(open) = self.open.last() else {
                        return Err(XmlError::not_well_formed("end tag without a start tag"));
                    };
                    let (prefix, local) = (&src[name.prefix.clone()], &src[name.local.clone()]);
                    if !same(&src[open.prefix.clone()], prefix) || src[open.local.clone()] != *local
                    {
                        return Err(XmlError::not_well_formed(format!(
                            "end tag </{}> does not match the open element",
                            if prefix.is_empty() {
                                local.to_owned()
                            } else {
                                format!("{prefix}:{local}")
                            }
                        )));
                    }
                    self.end_element(&mut w);
                    root_done = w.depth() == 0;
                }
                Token::Text { text, stop } => {
                    let span = value_span(&mut w, src, text, stop, false)?;
                    w.text_span(span);
                }
                Token::Cdata { text, cr } => {
                    let span = if cr {
                        let raw = &src[text.clone()];
                        let span = w.push_with::<XmlError>(raw.len(), |s| {
                            decode_cdata(raw, s);
                            Ok(())
                        })?;
                        within_budget(&w)?;
                        span
                    } else {
                        w.source_span(text)
                    };
                    w.text_span(span);
                }
            }
        }
        if !root_done {
            return Err(XmlError::not_well_formed("unclosed element"));
        }
        within_budget(&w)?;
        // Only reachable with a stanza limit near `Limits::MAX_STANZA_BYTES`
        // (see `element::offset`).
        w.finish_reusing(&mut self.writer_stack)
            .ok_or(XmlError::LimitExceeded {
                kind: LimitKind::StanzaBytes,
                limit: limits.stanza_bytes(),
            })
    }

    fn end_element(&mut self, w: &mut TreeWriter) {
        if let Some(open) = self.open.pop() {
            self.scope.truncate(open.scope_len);
        }
        w.end_element();
    }

    /// Resolves `prefix` (a range of `src`) to a namespace span in `w`.
    fn resolve(
        &mut self,
        src: &str,
        prefix: &str,
        header: &StreamHeader,
        w: &mut TreeWriter,
    ) -> Result<Span, XmlError> {
        if prefix == "xml" {
            // Pushed once per tree, however many `xml:lang`s it has.
            if let Some(span) = self.xml_span {
                return Ok(span);
            }
            let span = w.push_str(ns::XML);
            self.xml_span = Some(span);
            return Ok(span);
        }
        if let Some(d) = self
            .scope
            .iter()
            .rev()
            .find(|d| same(&src[d.prefix.clone()], prefix))
        {
            return Ok(d.ns);
        }
        if let Some(i) = header
            .bindings
            .iter()
            .rposition(|b| same(&b.prefix, prefix))
        {
            if let Some(Some(span)) = self.header_spans.get(i) {
                return Ok(*span);
            }
            let span = w.push_str(&header.bindings[i].ns);
            self.header_spans[i] = Some(span);
            return Ok(span);
        }
        if prefix.is_empty() {
            return Ok(Span::default());
        }
        Err(XmlError::not_well_formed(format!(
            "undeclared namespace prefix {prefix:?}"
        )))
    }

    fn start_element(
        &mut self,
        src: &str,
        header: &StreamHeader,
        w: &mut TreeWriter,
        limits: &Limits,
    ) -> Result<(), XmlError> {
        let Some(open) = self.open.last().cloned() else {
            return Err(XmlError::not_well_formed("attributes without an element"));
        };
        if self.open.len() + 1 > limits.max_depth {
            return Err(XmlError::LimitExceeded {
                kind: LimitKind::Depth,
                limit: limits.max_depth,
            });
        }
        let prefix = &src[open.prefix.clone()];
        if prefix == "xmlns" {
            return Err(XmlError::not_well_formed(
                "element with the reserved prefix xmlns",
            ));
        }
        // Over budget, `ns` may be empty: checked at the end, as nothing it
        // decides here (the content namespace's prefix) fails then.
        let ns = self.resolve(src, prefix, header, w)?;
        // RFC 6120 §4.8.5: no prefix for the content namespace on a stanza.
        // Nested elements are read by namespace whatever their prefix.
        if !prefix.is_empty() && self.open.len() == 1 && is_content_ns(header, w.str(ns)) {
            return Err(XmlError::BadNamespacePrefix(prefix.to_owned()));
        }
        let name = w.source_span(open.local.clone());
        let mut lang = None;
        let mark = w.attrs_mark();
        for i in 0..self.attrs.len() {
            let raw = self.attrs[i].clone();
            let attr_prefix = &src[raw.prefix.clone()];
            let attr_ns = if attr_prefix.is_empty() {
                None
            } else {
                let ns = self.resolve(src, attr_prefix, header, w)?;
                within_budget(w)?;
                Some(ns)
            };
            let local = &src[raw.local.clone()];
            // Unique Att Spec (XML 1.0) and its namespace form (XML Names §6.3).
            let clash = w.attrs_since(mark).iter().any(|a| {
                w.str(a.name) == local
                    && match (a.ns, attr_ns) {
                        (None, None) => true,
                        (Some(x), Some(y)) => w.str(x) == w.str(y),
                        _ => false,
                    }
            });
            if clash {
                return Err(XmlError::not_well_formed(format!(
                    "duplicate attribute {local:?}"
                )));
            }
            let value = value_span(w, src, raw.value.clone(), raw.stop, true)?;
            if attr_prefix == "xml" && local == "lang" {
                lang = Some(value);
            }
            let attr = AttrNode {
                name: w.source_span(raw.local.clone()),
                ns: attr_ns,
                prefix: w.source_span(raw.prefix.clone()),
                value,
            };
            w.push_attr(attr);
        }
        let lang = match lang {
            Some(l) => Some(l),
            None if w.depth() > 0 => w.current_lang(),
            None => header.lang.as_deref().map(|l| w.push_str(l)),
        };
        w.start_element_at(name, ns, lang, mark);
        // Each element's growth is checked as it starts; text's growth,
        // at the next element or the end.
        within_budget(w)
    }
}

/// Parses the stream element's start tag (`src` is `<…>` or `<…/>`).
pub(crate) fn parse_header(src: &str, limits: &Limits) -> Result<StreamHeader, XmlError> {
    use xmlparser::{Token, Tokenizer};
    let mut header = StreamHeader::default();
    let mut element: Option<(String, String)> = None;
    let mut attrs: Vec<(String, String, String)> = Vec::new();
    let mut count = 0usize;
    for token in Tokenizer::from_fragment(src, 0..src.len()) {
        let token = token.map_err(tokenizer_error)?;
        match token {
            Token::ElementStart { prefix, local, .. } => {
                check_name(qname_len(&prefix, &local), limits)?;
                element = Some((prefix.to_string(), local.to_string()));
            }
            Token::Attribute {
                prefix,
                local,
                value,
                ..
            } => {
                check_name(qname_len(&prefix, &local), limits)?;
                count += 1;
                if count > limits.max_attributes {
                    return Err(XmlError::LimitExceeded {
                        kind: LimitKind::Attributes,
                        limit: limits.max_attributes,
                    });
                }
                let mut v = String::new();
                decode_attr(value.as_str(), &mut v)?;
                let (prefix, local) = (prefix.as_str(), local.as_str());
                // Unique Att Spec (XML 1.0); its namespace form is checked
                // below, once every declaration of the tag is known.
                if attrs.iter().any(|(p, l, _)| p == prefix && l == local) {
                    return Err(XmlError::not_well_formed(format!(
                        "duplicate attribute {local:?}"
                    )));
                }
                if prefix == "xmlns" || (prefix.is_empty() && local == "xmlns") {
                    let declared = if prefix.is_empty() { "" } else { local };
                    check_declaration(declared, &v)?;
                    header.bindings.push(Binding {
                        prefix: declared.to_owned(),
                        ns: v.clone(),
                    });
                }
                attrs.push((prefix.to_owned(), local.to_owned(), v));
            }
            Token::ElementEnd {
                end: ElementEnd::Open | ElementEnd::Empty,
                ..
            } => {}
            other => {
                return Err(restricted(&other)
                    .unwrap_or_else(|| XmlError::not_well_formed("malformed stream header")));
            }
        }
    }
    let Some((prefix, local)) = element else {
        return Err(XmlError::not_well_formed("malformed stream header"));
    };
    let stream_ns = if prefix == "xml" {
        Some(ns::XML)
    } else {
        header
            .bindings
            .iter()
            .rev()
            .find(|b| b.prefix == prefix)
            .map(|b| b.ns.as_str())
    };
    match stream_ns {
        None if !prefix.is_empty() => {
            return Err(XmlError::not_well_formed(format!(
                "undeclared namespace prefix {prefix:?}"
            )));
        }
        Some(ns::STREAM) => {}
        other => {
            return Err(XmlError::InvalidNamespace(
                other.unwrap_or_default().to_owned(),
            ));
        }
    }
    if local != "stream" {
        return Err(XmlError::BadFormat("the root element is not <stream>"));
    }
    // XML Names §6.3: no two attributes with the same local name and
    // namespace, whatever their prefixes (`a:x` and `b:x` with `a`, `b`
    // bound to one namespace). At most `max_attributes`, so pairwise.
    let attr_ns = |p: &str| -> Option<&str> {
        match p {
            "" | "xmlns" => None,
            "xml" => Some(ns::XML),
            _ => header
                .bindings
                .iter()
                .rev()
                .find(|b| b.prefix == p)
                .map(|b| b.ns.as_str()),
        }
    };
    for (i, (p, l, _)) in attrs.iter().enumerate() {
        if let Some(n) = attr_ns(p)
            && attrs[..i]
                .iter()
                .any(|(q, m, _)| m == l && attr_ns(q) == Some(n))
        {
            return Err(XmlError::not_well_formed(format!(
                "duplicate attribute {l:?}"
            )));
        }
    }
    for (p, l, v) in attrs {
        match (p.as_str(), l.as_str()) {
            ("", "to") => header.to = Some(v),
            ("", "from") => header.from = Some(v),
            ("", "id") => header.id = Some(v),
            ("", "version") => header.version = Some(v),
            ("xml", "lang") => header.lang = Some(v),
            ("xmlns" | "", _) => {}
            (other, _) => {
                if other != "xml" && !header.bindings.iter().any(|b| b.prefix == other) {
                    return Err(XmlError::not_well_formed(format!(
                        "undeclared namespace prefix {other:?}"
                    )));
                }
            }
        }
    }
    header.content_ns = header
        .bindings
        .iter()
        .rev()
        .find(|b| b.prefix.is_empty())
        .map(|b| b.ns.clone());
    header.stream_prefix = prefix;
    Ok(header)
}

/// The parser's tokens as xmlparser made them before the crate had its own
/// [`Tokenizer`]: the reference the differential tests hold it to. Comments
/// and processing instructions are refused as the parser refused them; the
/// stops are those the parser found then (`first_stop` on each value).
#[cfg(test)]
pub(crate) struct Xmlparser<'a>(xmlparser::Tokenizer<'a>);

#[cfg(test)]
impl<'a> Xmlparser<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self(xmlparser::Tokenizer::from_fragment(src, 0..src.len()))
    }
}

#[cfg(test)]
impl Tokens for Xmlparser<'_> {
    fn next_token(&mut self) -> Result<Option<Token>, XmlError> {
        use super::tokenizer::QName;
        use super::unescape::first_stop;
        use xmlparser::Token as X;
        let qname = |prefix: &StrSpan<'_>, local: &StrSpan<'_>| QName {
            prefix: if prefix.is_empty() {
                local.start()..local.start()
            } else {
                prefix.range()
            },
            local: local.range(),
        };
        let Some(token) = self.0.next() else {
            return Ok(None);
        };
        Ok(Some(match token.map_err(tokenizer_error)? {
            X::ElementStart { prefix, local, .. } => Token::ElementStart(qname(&prefix, &local)),
            X::Attribute {
                prefix,
                local,
                value,
                ..
            } => Token::Attribute {
                name: qname(&prefix, &local),
                value: value.range(),
                stop: first_stop(value.as_str(), true),
            },
            X::ElementEnd { end, .. } => match end {
                ElementEnd::Open => Token::Open,
                ElementEnd::Empty => Token::Empty,
                ElementEnd::Close(prefix, local) => Token::Close(qname(&prefix, &local)),
            },
            X::Text { text } => Token::Text {
                text: text.range(),
                stop: first_stop(text.as_str(), false),
            },
            X::Cdata { text, .. } => Token::Cdata {
                text: text.range(),
                cr: text.as_str().contains('\r'),
            },
            other => {
                return Err(restricted(&other)
                    .unwrap_or_else(|| XmlError::not_well_formed("unexpected markup")));
            }
        }))
    }
}

#[cfg(test)]
impl Parser {
    /// [`Parser::parse_element`] on xmlparser's tokens (see [`Xmlparser`]).
    pub(crate) fn parse_element_reference(
        &mut self,
        src: &str,
        header: &StreamHeader,
        limits: &Limits,
    ) -> Result<Element, XmlError> {
        self.parse_tokens(src, Xmlparser::new(src), header, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> StreamHeader {
        StreamHeader {
            content_ns: Some(ns::JABBER_CLIENT.to_owned()),
            bindings: vec![Binding {
                prefix: String::new(),
                ns: ns::JABBER_CLIENT.to_owned(),
            }],
            ..StreamHeader::default()
        }
    }

    fn text_next_to_cdata(pieces: usize) -> String {
        let mut s = String::from("<message><body>");
        for _ in 0..pieces {
            s.push_str("a<![CDATA[b]]>");
        }
        s.push_str("</body></message>");
        s
    }

    /// Text merged with CDATA used to be re-copied at each merge: 18,723
    /// pieces (256 KiB, within the default limits) built a 700 MB buffer.
    #[test]
    fn text_next_to_cdata_costs_linear_memory() {
        let limits = Limits::default();
        let mut sizes = Vec::new();
        for pieces in [4096, 4 * 4096, 18_723] {
            let src = text_next_to_cdata(pieces);
            let el = Parser::new().parse_element(&src, &header(), &limits);
            let Ok(el) = el else { panic!("{el:?}") };
            let body = el.get_child("body", ns::JABBER_CLIENT);
            assert_eq!(body.map(|b| b.text().len()), Some(2 * pieces));
            let bytes = el.string_bytes();
            assert!(
                bytes <= 3 * src.len(),
                "{bytes} string bytes for {} source bytes",
                src.len()
            );
            sizes.push(bytes);
        }
        // Four times the pieces, at most a little over four times the bytes.
        assert!(sizes[1] <= 4 * sizes[0] + 1024, "{sizes:?}");
    }

    /// Decoded text next to CDATA, and CDATA needing decoding: each run is
    /// still copied at most once.
    #[test]
    fn decoded_text_next_to_cdata_costs_linear_memory() {
        let mut src = String::from("<m>");
        for _ in 0..10_000 {
            src.push_str("&amp;<![CDATA[\r\n]]>x");
        }
        src.push_str("</m>");
        let el = Parser::new().parse_element(&src, &header(), &Limits::default());
        let Ok(el) = el else { panic!("{el:?}") };
        assert_eq!(el.text().len(), 3 * 10_000);
        assert_eq!(el.nodes().count(), 1);
        assert!(el.string_bytes() <= 2 * src.len(), "{}", el.string_bytes());
    }

    /// The XML namespace is stored once per tree, however many `xml:lang`s.
    #[test]
    fn xml_namespace_is_stored_once() {
        let mut src = String::from("<m>");
        for i in 0..200 {
            src.push_str(&format!("<b xml:lang='l{i}'/>"));
        }
        src.push_str("</m>");
        let el = Parser::new().parse_element(&src, &header(), &Limits::default());
        let Ok(el) = el else { panic!("{el:?}") };
        let langs: Vec<_> = el
            .children()
            .filter_map(|c| c.lang().map(str::to_owned))
            .collect();
        assert_eq!(langs.len(), 200);
        assert_eq!(langs[7], "l7");
        let extra = el.string_bytes() - src.len();
        assert!(
            extra <= 2 * ns::XML.len() + ns::JABBER_CLIENT.len(),
            "{extra}"
        );
    }
}
