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

/// What a byte is to the loops over character data and values.
const PLAIN: u8 = 0;
/// `&` or `\r`: needs decoding in text and values.
const STOP: u8 = 1;
/// Tab or newline: needs decoding in values only.
const WS: u8 = 2;
/// A control character the `Char` production forbids.
const BAD: u8 = 3;
/// `0xEF`: may begin U+FFFE or U+FFFF, which `Char` forbids.
const EF: u8 = 4;
/// `<`.
const LT: u8 = 5;
/// `>`: ends `]]>`, which text may not hold.
const GT: u8 = 6;
/// `'` or `"`: may end a value.
const QUOTE: u8 = 7;
/// `]`: may begin the `]]>` that ends a CDATA section.
const BRACKET: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = BAD;
        i += 1;
    }
    t[b'\t' as usize] = WS;
    t[b'\n' as usize] = WS;
    t[b'\r' as usize] = STOP;
    t[b'&' as usize] = STOP;
    t[0xEF] = EF;
    t[b'<' as usize] = LT;
    t[b'>' as usize] = GT;
    t[b'\'' as usize] = QUOTE;
    t[b'"' as usize] = QUOTE;
    t[b']' as usize] = BRACKET;
    t
};

/// ASCII bytes of a name after its first: letters, digits, `_`, `-`, `.`
/// (`:` is the prefix separator, handled apart).
const NAME: [bool; 128] = {
    let mut t = [false; 128];
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
    is_name_start(c)
        || matches!(c, '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
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
        let mut colon = None;
        loop {
            match self.bytes.get(self.pos) {
                Some(&b) if b < 0x80 => {
                    if NAME[usize::from(b)] {
                        self.pos += 1;
                    } else if b == b':' {
                        if colon.is_some() {
                            return Err(malformed("a name with two ':'"));
                        }
                        colon = Some(self.pos);
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                Some(_) => match self.char_at(self.pos) {
                    Some(c) if is_name_char(c) => self.pos += c.len_utf8(),
                    _ => break,
                },
                None => break,
            }
        }
        let (prefix, local) = match colon {
            Some(c) => (start..c, c + 1..self.pos),
            None => (start..start, start..self.pos),
        };
        let starts_well = |r: &Range<usize>| match self.bytes.get(r.start) {
            Some(&b) if b < 0x80 => b.is_ascii_alphabetic() || b == b'_',
            Some(_) => self.char_at(r.start).is_some_and(is_name_start),
            None => false,
        };
        if local.is_empty()
            || !starts_well(&local)
            || (!prefix.is_empty() && !starts_well(&prefix))
        {
            return Err(malformed("malformed name"));
        }
        Ok(QName { prefix, local })
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
        let mut stop = None;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(malformed("unclosed attribute value"));
            };
            match CLASS[usize::from(b)] {
                PLAIN | GT | BRACKET => {}
                STOP | WS => {
                    if stop.is_none() {
                        stop = Some(self.pos - start);
                    }
                }
                QUOTE if b == quote => break,
                QUOTE => {}
                LT => return Err(malformed("'<' in an attribute value")),
                EF => self.check_ef()?,
                _ => return Err(forbidden()),
            }
            self.pos += 1;
        }
        let value = start..self.pos;
        self.pos += 1;
        Ok(Token::Attribute { name, value, stop })
    }

    /// At a `0xEF` byte: fails on U+FFFE and U+FFFF (`EF BF BE`, `EF BF BF`).
    #[cold]
    fn check_ef(&self) -> Result<(), XmlError> {
        match self.bytes.get(self.pos + 1..self.pos + 3) {
            Some([0xBF, 0xBE | 0xBF]) => Err(forbidden()),
            _ => Ok(()),
        }
    }

    /// Character data up to the next `<` or the end.
    fn text(&mut self) -> Result<Token, XmlError> {
        let start = self.pos;
        let mut stop = None;
        while let Some(&b) = self.bytes.get(self.pos) {
            match CLASS[usize::from(b)] {
                PLAIN | WS | QUOTE | BRACKET => {}
                STOP => {
                    if stop.is_none() {
                        stop = Some(self.pos - start);
                    }
                }
                LT => break,
                GT => {
                    if self.pos >= start + 2 && self.bytes[self.pos - 2..self.pos] == *b"]]" {
                        return Err(malformed("']]>' in character data"));
                    }
                }
                EF => self.check_ef()?,
                _ => return Err(forbidden()),
            }
            self.pos += 1;
        }
        Ok(Token::Text {
            text: start..self.pos,
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
        let mut cr = false;
        while let Some(&b) = self.bytes.get(self.pos) {
            match CLASS[usize::from(b)] {
                BRACKET => {
                    if self.bytes.get(self.pos + 1..self.pos + 3) == Some(b"]>") {
                        let text = start..self.pos;
                        self.pos += 3;
                        return Ok(Token::Cdata { text, cr });
                    }
                }
                STOP => cr |= b == b'\r',
                EF => self.check_ef()?,
                BAD => return Err(forbidden()),
                _ => {}
            }
            self.pos += 1;
        }
        Err(malformed("unclosed CDATA section"))
    }
}

#[cold]
fn forbidden() -> XmlError {
    malformed("a character XML forbids")
}
