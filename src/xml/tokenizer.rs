//! The tokenizer of one complete element: the text of a top-level element
//! the scanner has delimited, already checked as UTF-8, read once from its
//! `<` to its last `>` in tight loops over its bytes, without allocating.
//!
//! It yields the tokens the parser builds the tree from, in document order,
//! and checks the well-formedness rules that belong to single tokens: the
//! XML 1.0 `Name` production for element and attribute names (`prefix:local`
//! with at most one `:`, each part starting with a name-start character),
//! whitespace between attributes, `=` between optional whitespace, a quoted
//! value without `<`, the `Char` production in text, values and CDATA, no
//! `]]>` in text, and complete tags and CDATA sections. It refuses comments,
//! processing instructions and DTD markup as restricted XML (RFC 6120
//! §11.1), as the scanner does before it. Everything across tokens (names
//! of end tags matching, namespaces, duplicate attributes, limits, what a
//! reference decodes to) is the parser's.
//!
//! For each text and attribute value it also reports the first byte that
//! needs decoding (`&`, `\r`, and in values tab and newline), so the parser
//! copies nothing when nothing needs it and never searches the value again.
//!
//! Errors are all `not-well-formed` or `restricted-xml`, as xmlparser's
//! (which this replaces for elements) were.

use std::ops::Range;

use super::error::XmlError;

/// A qualified name, as ranges of the element text (`prefix` is empty,
/// at the name's start, when there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QName {
    pub(crate) prefix: Range<usize>,
    pub(crate) local: Range<usize>,
}

impl QName {
    /// Bytes of `prefix:local` (or `local`).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        if self.prefix.is_empty() {
            self.local.len()
        } else {
            self.local.end - self.prefix.start
        }
    }
}

/// One token of an element, as ranges of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// `<name`.
    ElementStart(QName),
    /// `name='value'` in a start tag; `stop` is the offset in the value of
    /// its first byte that needs decoding, if any.
    Attribute {
        name: QName,
        value: Range<usize>,
        stop: Option<usize>,
    },
    /// The `>` that ends a start tag.
    Open,
    /// The `/>` that ends an empty element's tag.
    Empty,
    /// `</name>`.
    Close(QName),
    /// Character data up to the next `<` (or the end); `stop` as for values.
    Text {
        text: Range<usize>,
        stop: Option<usize>,
    },
    /// A CDATA section's content; `cr` when it holds a `\r`.
    Cdata { text: Range<usize>, cr: bool },
}

/// Bytes that need no attention (`true`) in character data, attribute
/// values and CDATA sections: the loops run over those and stop at the
/// others, a table lookup a byte.
const fn quiet(loud: &[u8]) -> [bool; 256] {
    let mut t = [true; 256];
    let mut i = 0;
    // Control characters: the `Char` production forbids all but tab,
    // newline and carriage return, and those need decoding in values.
    while i < 0x20 {
        t[i] = false;
        i += 1;
    }
    // May begin U+FFFE or U+FFFF, which `Char` forbids.
    t[0xEF] = false;
    let mut i = 0;
    while i < loud.len() {
        t[loud[i] as usize] = false;
        i += 1;
    }
    t
}

/// In text: `<` ends it, `&` and `\r` need decoding, `>` may end `]]>`.
const TEXT: [bool; 256] = {
    let mut t = quiet(b"<&>");
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// In a value: either quote may end it, `<` is refused, `&` needs decoding
/// (as tab, newline and carriage return do).
const VALUE: [bool; 256] = quiet(b"'\"<&");

/// In CDATA: `]` may begin the end, `\r` needs decoding.
const CDATA: [bool; 256] = {
    let mut t = quiet(b"]");
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// ASCII bytes of a name after its first: letters, digits, `_`, `-`, `.`
/// (`:` is the prefix separator, handled apart; other bytes are not
/// ASCII, or not name characters).
const NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
        i += 1;
    }
    t
};

/// XML 1.0 `NameStartChar` outside ASCII.
fn is_name_start(c: char) -> bool {
    matches!(c,
        '\u{C0}'..='\u{D6}'
        | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}'
        | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}'
        | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 `NameChar` outside ASCII.
fn is_name_char(c: char) -> bool {
    is_name_start(c) || matches!(c, '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn malformed(what: &'static str) -> XmlError {
    XmlError::not_well_formed(what)
}

/// The tokenizer; see the module docs. Every byte is looked at once (a
/// `>` also looks back at the two before it, `0xEF` at the two after).
#[derive(Debug)]
pub(crate) struct Tokenizer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Inside a start tag, after its name.
    in_tag: bool,
}

impl<'a> Tokenizer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            in_tag: false,
        }
    }

    /// Bytes read so far.
    #[cfg(test)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next token, `None` at the end of the text.
    #[inline]
    pub(crate) fn next_token(&mut self) -> Result<Option<Token>, XmlError> {
        let Some(&b) = self.bytes.get(self.pos) else {
            return Ok(None);
        };
        if self.in_tag {
            return self.in_start_tag().map(Some);
        }
        if b != b'<' {
            return self.text().map(Some);
        }
        match self.bytes.get(self.pos + 1) {
            Some(b'/') => {
                self.pos += 2;
                let name = self.qname()?;
                self.skip_spaces();
                self.expect(b'>', "malformed end tag")?;
                Ok(Some(Token::Close(name)))
            }
            Some(b'!') => self.bang().map(Some),
            Some(b'?') => Err(XmlError::RestrictedXml("processing instruction")),
            Some(_) => {
                self.pos += 1;
                let name = self.qname()?;
                self.in_tag = true;
                Ok(Some(Token::ElementStart(name)))
            }
            None => Err(malformed("'<' at the end of the element")),
        }
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|&b| is_space(b)) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), XmlError> {
        if self.bytes.get(self.pos) != Some(&byte) {
            return Err(malformed(what));
        }
        self.pos += 1;
        Ok(())
    }

    /// The character at `pos` (a character boundary: the tokenizer only
    /// moves by whole characters).
    fn char_at(&self, pos: usize) -> Option<char> {
        self.src.get(pos..).and_then(|s| s.chars().next())
    }

    /// `prefix:local` or `local`: name characters up to the first other
    /// one, at most one `:`, each part starting with a name-start character.
    fn qname(&mut self) -> Result<QName, XmlError> {
        let start = self.pos;
        let mut i = start;
        let mut colon = None;
        loop {
            i = self.skip(i, &NAME);
            match self.bytes.get(i) {
                Some(b':') => {
                    if colon.is_some() {
                        return Err(malformed("a name with two ':'"));
                    }
                    colon = Some(i);
                    i += 1;
                }
                Some(&b) if b >= 0x80 => match self.char_at(i) {
                    Some(c) if is_name_char(c) => i += c.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        self.pos = i;
        let (prefix, local) = match colon {
            Some(c) => (start..c, c + 1..i),
            None => (start..start, start..i),
        };
        let starts_well = |at: usize| match self.bytes.get(at) {
            Some(&b) if b < 0x80 => b.is_ascii_alphabetic() || b == b'_',
            Some(_) => self.char_at(at).is_some_and(is_name_start),
            None => false,
        };
        if local.is_empty()
            || !starts_well(local.start)
            || (!prefix.is_empty() && !starts_well(prefix.start))
        {
            return Err(malformed("malformed name"));
        }
        Ok(QName { prefix, local })
    }

    /// The first offset from `i` on whose byte `table` does not pass.
    #[inline(always)]
    fn skip(&self, i: usize, table: &[bool; 256]) -> usize {
        let rest = self.bytes.get(i..).unwrap_or_default();
        i + rest
            .iter()
            .position(|&b| !table[usize::from(b)])
            .unwrap_or(rest.len())
    }

    /// Inside a start tag after its name: `>`, `/>`, or whitespace and an
    /// attribute.
    fn in_start_tag(&mut self) -> Result<Token, XmlError> {
        let spaced = self.skip_spaces();
        match self.bytes.get(self.pos) {
            Some(b'>') => {
                self.pos += 1;
                self.in_tag = false;
                return Ok(Token::Open);
            }
            Some(b'/') => {
                self.pos += 1;
                self.expect(b'>', "'/' inside a start tag")?;
                self.in_tag = false;
                return Ok(Token::Empty);
            }
            _ => {}
        }
        if !spaced {
            return Err(malformed("no whitespace before an attribute"));
        }
        let name = self.qname()?;
        self.skip_spaces();
        self.expect(b'=', "attribute without a value")?;
        self.skip_spaces();
        let quote = match self.bytes.get(self.pos) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(malformed("unquoted attribute value")),
        };
        self.pos += 1;
        let start = self.pos;
        let mut i = start;
        let mut stop = None;
        loop {
            i = self.skip(i, &VALUE);
            match self.bytes.get(i) {
                Some(&b) if b == quote => break,
                Some(b'\'' | b'"') => {}
                Some(b'&' | b'\t' | b'\n' | b'\r') => {
                    if stop.is_none() {
                        stop = Some(i - start);
                    }
                }
                Some(b'<') => return Err(malformed("'<' in an attribute value")),
                Some(0xEF) => self.check_ef(i)?,
                Some(_) => return Err(forbidden()),
                None => return Err(malformed("unclosed attribute value")),
            }
            i += 1;
        }
        self.pos = i;
        let value = start..self.pos;
        self.pos += 1;
        Ok(Token::Attribute { name, value, stop })
    }

    /// At a `0xEF` byte: fails on U+FFFE and U+FFFF (`EF BF BE`, `EF BF BF`).
    #[cold]
    fn check_ef(&self, at: usize) -> Result<(), XmlError> {
        match self.bytes.get(at + 1..at + 3) {
            Some([0xBF, 0xBE | 0xBF]) => Err(forbidden()),
            _ => Ok(()),
        }
    }

    /// Character data up to the next `<` or the end.
    fn text(&mut self) -> Result<Token, XmlError> {
        let start = self.pos;
        let mut i = start;
        let mut stop = None;
        loop {
            i = self.skip(i, &TEXT);
            match self.bytes.get(i) {
                Some(b'<') | None => break,
                Some(b'&' | b'\r') => {
                    if stop.is_none() {
                        stop = Some(i - start);
                    }
                }
                Some(b'>') => {
                    if i >= start + 2 && self.bytes.get(i - 2..i) == Some(b"]]") {
                        return Err(malformed("']]>' in character data"));
                    }
                }
                Some(0xEF) => self.check_ef(i)?,
                Some(_) => return Err(forbidden()),
            }
            i += 1;
        }
        self.pos = i;
        Ok(Token::Text {
            text: start..i,
            stop,
        })
    }

    /// After `<!`: a CDATA section, or markup restricted XML refuses.
    fn bang(&mut self) -> Result<Token, XmlError> {
        let rest = self.bytes.get(self.pos + 2..).unwrap_or_default();
        match rest.first() {
            Some(b'[') => {}
            Some(b'-') => return Err(XmlError::RestrictedXml("comment")),
            Some(b'D') => return Err(XmlError::RestrictedXml("document type declaration")),
            Some(b'E' | b'A' | b'N') => return Err(XmlError::RestrictedXml("markup declaration")),
            _ => return Err(malformed("malformed '<!' markup")),
        }
        if !rest.starts_with(b"[CDATA[") {
            return Err(malformed("malformed CDATA section"));
        }
        self.pos += 9;
        let start = self.pos;
        let mut i = start;
        let mut cr = false;
        loop {
            i = self.skip(i, &CDATA);
            match self.bytes.get(i) {
                Some(b']') => {
                    if self.bytes.get(i + 1..i + 3) == Some(b"]>") {
                        self.pos = i + 3;
                        return Ok(Token::Cdata { text: start..i, cr });
                    }
                }
                Some(b'\r') => cr = true,
                Some(0xEF) => self.check_ef(i)?,
                Some(_) => return Err(forbidden()),
                None => break,
            }
            i += 1;
        }
        self.pos = i;
        Err(malformed("unclosed CDATA section"))
    }
}

#[cold]
fn forbidden() -> XmlError {
    malformed("a character XML forbids")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::*;
    use crate::xml::parser::{Binding, Parser, StreamHeader};
    use crate::xml::scanner::{Boundary, Scanner};
    use crate::xml::{Element, Limits, ns};

    fn tokens(src: &str) -> Result<Vec<Token>, XmlError> {
        let mut t = Tokenizer::new(src);
        let mut out = Vec::new();
        while let Some(token) = t.next_token()? {
            out.push(token);
        }
        assert_eq!(t.pos(), src.len(), "every byte walked: {src:?}");
        Ok(out)
    }

    fn well_formed(src: &str) -> bool {
        tokens(src).is_ok()
    }

    #[test]
    fn names_follow_the_name_production() {
        for good in [
            "a",
            "_a",
            "a-b.c9",
            "p:a",
            "é",
            "日本",
            "a\u{B7}",
            "a\u{300}",
            "\u{200C}x",
            "\u{10000}",
            "\u{EFFFF}",
            "x\u{203F}",
            "\u{FFFD}",
            "\u{C0}\u{D6}\u{D8}\u{F6}\u{F8}",
            // An empty prefix: xmlparser reads `:a` as `a`, and so does this.
            ":a",
        ] {
            assert!(well_formed(&format!("<{good} {good}='v'/>")), "{good:?}");
        }
        for bad in [
            "1a",
            "-a",
            ".a",
            "a:",
            "a:b:c",
            "p:1a",
            "\u{B7}a",
            "\u{300}a",
            "\u{37E}",
            "\u{D7}",
            "\u{F7}",
            "\u{80}",
            "\u{2040}a",
            "\u{F0000}",
            "p:\u{B7}",
        ] {
            assert!(
                !well_formed(&format!("<x {bad}='v'/>")),
                "attribute {bad:?}"
            );
            assert!(!well_formed(&format!("<{bad}/>")), "element {bad:?}");
        }
    }

    #[test]
    fn tags_attributes_and_characters() {
        for good in [
            "<a b='1' c=\"2\"/>",
            "<a b = '1'\n\tc\r\n=\r\n\"'\"></a >",
            "<a>x]]y]>z</a>",
            "<a><![CDATA[<&]]]]><![CDATA[]]></a>",
            "<a b='\u{FEFF}\u{FFFD}\u{7F}\u{85}'>\u{EF}\u{FFFD}</a>",
        ] {
            assert!(well_formed(good), "{good:?}");
        }
        for bad in [
            "<a b='1'c='2'/>",
            "<a b/>",
            "<a b='1/>",
            "<a b=1/>",
            "<a b='<'/>",
            "<a / >",
            "<a>]]></a>",
            "<a>\u{1}</a>",
            "<a b='\u{B}'/>",
            "<a>\u{FFFE}</a>",
            "<a b='\u{FFFF}'/>",
            "<a><![CDATA[\u{0}]]></a>",
            "<a><![CDATA[x]]</a>",
            "<a><![CDAT[x]]></a>",
            "< a/>",
            "<a></ a>",
            "<a></a x>",
            "<",
        ] {
            assert!(!well_formed(bad), "{bad:?}");
        }
        for (markup, what) in [
            ("<!-- c -->", "comment"),
            ("<!-x", "comment"),
            ("<!DOCTYPE a>", "document type declaration"),
            ("<!ENTITY a 'b'>", "markup declaration"),
            ("<?pi x?>", "processing instruction"),
            ("<?xml version='1.0'?>", "processing instruction"),
        ] {
            assert_eq!(
                tokens(&format!("<a>{markup}</a>")),
                Err(XmlError::RestrictedXml(what)),
                "{markup}"
            );
        }
    }

    #[test]
    fn stops_are_the_first_byte_that_needs_decoding() {
        let t = tokens("<a b='xy\tz&amp;' c='pl&#10;'>ab\t\r\n&lt;</a>");
        let Ok(t) = t else { panic!("{t:?}") };
        let stops: Vec<_> = t
            .iter()
            .filter_map(|t| match t {
                Token::Attribute { stop, .. } | Token::Text { stop, .. } => Some(*stop),
                _ => None,
            })
            .collect();
        assert_eq!(stops, [Some(2), Some(2), Some(3)]);
    }

    // The differential test: the parser on this tokenizer against the
    // parser on xmlparser's tokens, the reference it replaced.

    fn header() -> StreamHeader {
        let binding = |prefix: &str, ns: &str| Binding {
            prefix: prefix.to_owned(),
            ns: ns.to_owned(),
        };
        StreamHeader {
            content_ns: Some(ns::JABBER_CLIENT.to_owned()),
            stream_prefix: "stream".to_owned(),
            lang: Some("en".to_owned()),
            bindings: vec![
                binding("", ns::JABBER_CLIENT),
                binding("stream", ns::STREAM),
                binding("h", "urn:h"),
            ],
            ..StreamHeader::default()
        }
    }

    fn pick(items: &'static [&'static str]) -> BoxedStrategy<String> {
        prop::sample::select(items).prop_map(str::to_owned).boxed()
    }

    fn name() -> BoxedStrategy<String> {
        prop_oneof![
            60 => pick(&[
                "a", "b", "body", "x1", "_u", "a-b.c", "é", "日本", "p:a", "q:a", "p:b", "h:a",
                "xml:lang", "stream:x", "message",
            ]),
            10 => pick(&["xmlns", "xmlns:p", "xmlns:q", "xmlns:h", "xmlns:xml", "xmlns:xmlns"]),
            1 => pick(&[
                "1a", "-a", ".a", "a:b:c", ":a", "a:", "p:1a", "\u{B7}a", "a\u{B7}", "a\u{300}",
                "\u{300}a", "\u{37E}", "a\u{37E}b", "\u{2040}a", "a\u{2040}", "\u{10000}",
                "\u{F0000}a", "\u{EFFFF}", "\u{D7}", "a\u{F7}", "\u{80}", "a$b", "x:", "u:a",
                "a\u{FFFE}", "abcdefghij", "p:abcdefg",
            ]),
            1 => "[a-z_:\\-.0-9\u{B7}\u{C0}-\u{37F}\u{2000}-\u{2100}\u{FFF0}-\u{FFFF}]{1,4}",
        ]
        .boxed()
    }

    fn chars() -> BoxedStrategy<String> {
        prop_oneof![
            40 => pick(&["x", "hello", " ", "é", "日本", "\u{1F600}", "\u{FEFF}", "\u{FFFD}", "\u{7F}\u{85}"]),
            10 => pick(&["&amp;", "&lt;", "&gt;", "&apos;", "&quot;", "&#65;", "&#x41;", "&#x1F600;", "&copy;"]),
            8 => pick(&["\t", "\n", "\r\n", "\r", "]", "]]", ">", "'", "\""]),
            1 => pick(&[
                "&", "&amp", "& ;", "&nbsp;", "&#0;", "&#xD800;", "&#xFFFE;", "&#;", "&#x;",
                "&#12a;", "&a b;", "<", "]]>", "\u{1}", "\u{B}", "\u{1F}", "\u{FFFE}", "\u{FFFF}",
                "\u{0}",
            ]),
        ]
        .boxed()
    }

    fn run() -> BoxedStrategy<String> {
        prop::collection::vec(chars(), 0..4)
            .prop_map(|v| v.concat())
            .boxed()
    }

    fn attribute() -> BoxedStrategy<String> {
        let value = prop_oneof![
            6 => run(),
            2 => pick(&["urn:a", "urn:p", "urn:h", "", "jabber:client", ns::XML, ns::XMLNS]),
        ];
        (
            prop_oneof![30 => pick(&[" ", "\n", "\t "]), 1 => Just(String::new())],
            name(),
            prop_oneof![
                30 => pick(&["=", " = ", "\r\n=\t"]),
                1 => pick(&["", " "]),
            ],
            prop_oneof![30 => pick(&["'", "\""]), 1 => Just(String::new())],
            value,
            prop::option::weighted(0.02, pick(&["'", "\"", "", "<"])),
        )
            .prop_map(|(sep, name, eq, q, value, other)| {
                let close = other.unwrap_or_else(|| q.clone());
                format!("{sep}{name}{eq}{q}{value}{close}")
            })
            .boxed()
    }

    fn element() -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            4 => run(),
            1 => run().prop_map(|r| format!("<![CDATA[{r}]]>")),
            1 => pick(&["<![CDATA[a\r\nb]]>", "<![CDATA[x]]", "<![CDATA[]]>"]),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            (
                name(),
                prop::collection::vec(attribute(), 0..4),
                prop::collection::vec(inner, 0..4),
                prop_oneof![
                    40 => Just(None),
                    1 => name().prop_map(Some),
                    1 => pick(&["p:a", "q:a", "a", "a "]).prop_map(Some),
                ],
                prop_oneof![
                    30 => pick(&[">", ">", ">", "/>", " />", " >"]),
                    1 => pick(&["/ >", "", "/"]),
                ],
            )
                .prop_map(|(name, attrs, children, end_name, end)| {
                    let attrs = attrs.concat();
                    if end.contains('/') {
                        format!("<{name}{attrs}{end}")
                    } else {
                        let end_name = end_name.unwrap_or_else(|| name.clone());
                        format!("<{name}{attrs}{end}{}</{end_name}>", children.concat())
                    }
                })
        })
        .prop_filter("an element", |s| s.starts_with('<'))
        .boxed()
    }

    fn input() -> BoxedStrategy<(String, bool)> {
        let element = prop_oneof![
            20 => element(),
            // RFC 6120 §4.8.5, and the content namespace declared again.
            1 => (
                pick(&["p", "q", ""]),
                pick(&["jabber:client", "urn:p"]),
                element()
            )
                .prop_map(|(p, ns, inner)| {
                    let (colon, decl) = if p.is_empty() { ("", String::new()) } else { (":", format!(":{p}")) };
                    format!("<{p}{colon}m xmlns{decl}='{ns}'>{inner}</{p}{colon}m>")
                }),
        ];
        (
            element,
            prop::option::weighted(
                0.03,
                pick(&["x", "<a/>", "<!-- c -->", "<?p?>", "<", "</a>"]),
            ),
            prop::bool::weighted(0.25),
        )
            .prop_map(|(el, after, tight)| (format!("{el}{}", after.unwrap_or_default()), tight))
            .boxed()
    }

    /// Errors of the same kind: `not-well-formed` whatever the wording
    /// (the tokenizers word them differently), any other exactly.
    fn same_error(a: &XmlError, b: &XmlError) -> bool {
        match (a, b) {
            (XmlError::NotWellFormed(_), XmlError::NotWellFormed(_)) => true,
            _ => a == b,
        }
    }

    fn same_tree(a: &Element, b: &Element) -> bool {
        a == b
            && a.to_xml() == b.to_xml()
            && a.lang() == b.lang()
            && a.string_bytes() == b.string_bytes()
            && a.children().count() == b.children().count()
            && a.children()
                .zip(b.children())
                .all(|(x, y)| same_tree(&x, &y))
    }

    fn label(r: &Result<Element, XmlError>) -> &'static str {
        match r {
            Ok(_) => "accepted",
            Err(XmlError::NotWellFormed(_)) => "not-well-formed",
            Err(XmlError::RestrictedXml(_)) => "restricted-xml",
            Err(XmlError::LimitExceeded { .. }) => "limit",
            Err(XmlError::BadNamespacePrefix(_)) => "bad-namespace-prefix",
            Err(_) => "other",
        }
    }

    /// Markup xmlparser tokenizes differently from the scanner (and from
    /// the tokenizer, which follows the scanner): the scanner refuses all
    /// of it before the parser sees it.
    fn has_bang_or_pi(s: &str) -> bool {
        s.contains("<?")
            || s.match_indices("<!")
                .any(|(i, _)| !s[i + 2..].starts_with("[CDATA["))
    }

    /// The parser on the tokenizer gives the same tree, or an error of the
    /// same kind, as on xmlparser's tokens: on what the scanner passes (the
    /// only input it gets in a stream) and on the raw strings (but for the
    /// markup above). Prints how many of each outcome the generator made.
    #[test]
    fn the_tokenizer_agrees_with_xmlparser() {
        let tight = Limits {
            max_depth: 4,
            max_attributes: 3,
            max_name_len: 8,
            ..Limits::default()
        };
        let header = header();
        let counts: [[AtomicUsize; 6]; 2] = Default::default();
        let kinds = [
            "accepted",
            "not-well-formed",
            "restricted-xml",
            "limit",
            "bad-namespace-prefix",
            "other",
        ];
        let count = |mode: usize, r: &Result<Element, XmlError>| {
            let k = kinds.iter().position(|k| *k == label(r)).unwrap_or(5);
            counts[mode][k].fetch_add(1, Ordering::Relaxed);
        };
        let mut runner = TestRunner::new(Config {
            cases: 6000,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&input(), |(s, tight_limits)| {
            let limits = if tight_limits {
                tight.clone()
            } else {
                Limits::default()
            };
            let mut scanner = Scanner::inside_stream();
            if let Ok(Some(Boundary::Element { start, end })) = scanner.scan(s.as_bytes(), &limits)
            {
                let src = &s[start..end];
                let new = Parser::new().parse_element(src, &header, &limits);
                let old = Parser::new().parse_element_reference(src, &header, &limits);
                count(0, &new);
                match (&new, &old) {
                    (Ok(a), Ok(b)) => prop_assert!(same_tree(a, b), "{src:?}: {a:?} / {b:?}"),
                    (Err(a), Err(b)) => prop_assert!(same_error(a, b), "{src:?}: {a:?} / {b:?}"),
                    _ => prop_assert!(false, "{src:?}: {new:?} / {old:?}"),
                }
                if new.is_ok() {
                    prop_assert!(tokens(src).is_ok());
                }
            }
            if !has_bang_or_pi(&s) {
                let new = Parser::new().parse_element(&s, &header, &limits);
                let old = Parser::new().parse_element_reference(&s, &header, &limits);
                count(1, &new);
                match (&new, &old) {
                    (Ok(a), Ok(b)) => prop_assert!(same_tree(a, b), "{s:?}: {a:?} / {b:?}"),
                    (Err(a), Err(b)) => prop_assert!(same_error(a, b), "{s:?}: {a:?} / {b:?}"),
                    _ => prop_assert!(false, "{s:?}: {new:?} / {old:?}"),
                }
            }
            Ok(())
        });
        for (mode, name) in ["after the scanner", "raw"].iter().enumerate() {
            let tally: Vec<_> = kinds
                .iter()
                .zip(&counts[mode])
                .map(|(k, c)| format!("{k} {}", c.load(Ordering::Relaxed)))
                .collect();
            println!("{name}: {}", tally.join(", "));
        }
        if let Err(e) = result {
            panic!("{e}");
        }
        // Both paths in good proportion, and every kind reached.
        for (mode, counts) in counts.iter().enumerate() {
            let n: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            let total: usize = n.iter().sum();
            assert!(total >= 1000, "mode {mode}: {n:?}");
            assert!(
                n[0] * 5 >= total && n[0] * 5 <= 4 * total,
                "mode {mode}: {n:?}"
            );
            assert!(n[1] > 0 && n[2] > 0 && n[4] > 0, "mode {mode}: {n:?}");
        }
        assert!(counts[1][3].load(Ordering::Relaxed) > 0, "limits reached");
    }
}
