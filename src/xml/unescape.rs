//! Decoding character data and attribute values: the five predefined
//! entities, character references, and XML's line-end and attribute-value
//! normalization. Any other entity reference is restricted XML (RFC 6120
//! §11.1): XMPP streams have no DTD to declare one.

use super::error::XmlError;

/// Appends decoded character data to `out` (the parser calls
/// [`decode_from`] with the first stop it already found).
#[cfg(test)]
pub(crate) fn decode_text(raw: &str, out: &mut String) -> Result<(), XmlError> {
    decode(raw, out, false)
}

/// Appends a decoded, normalized attribute value to `out`.
pub(crate) fn decode_attr(raw: &str, out: &mut String) -> Result<(), XmlError> {
    decode(raw, out, true)
}

/// Appends CDATA content to `out` (line ends normalized, nothing else).
pub(crate) fn decode_cdata(raw: &str, out: &mut String) {
    let mut rest = raw;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
        }
    }
    out.push_str(rest);
}

fn decode(raw: &str, out: &mut String, attr: bool) -> Result<(), XmlError> {
    decode_from(raw, first_stop(raw, attr), out, attr)
}

/// Decodes `raw` as character data (or, with `attr`, as [`decode_attr`] does),
/// given `first`, the index of its first byte that needs decoding, as
/// [`first_stop`] (or the element tokenizer) found it: the bytes before it
/// are not looked at again.
pub(crate) fn decode_from(
    raw: &str,
    first: Option<usize>,
    out: &mut String,
    attr: bool,
) -> Result<(), XmlError> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    let mut next = first;
    while let Some(at) = next {
        // Every stop byte is ASCII, so `at` and the byte after it are char
        // boundaries.
        out.push_str(&raw[i..at]);
        i = at + 1;
        match bytes[at] {
            b'&' => {
                // The body runs over bytes a reference may hold, to `;`.
                // Each byte is looked at once: it is consumed with the
                // reference, or the element fails.
                let rest = &raw[i..];
                let len = rest.bytes().take_while(|&b| in_reference(b)).count();
                if rest.as_bytes().get(len) != Some(&b';') {
                    return Err(XmlError::not_well_formed("'&' without a reference"));
                }
                // `len` stops at an ASCII byte, so it is a char boundary.
                out.push(reference(&rest[..len])?);
                i += len + 1;
            }
            b'\r' => {
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.push(if attr { ' ' } else { '\n' });
            }
            _ => out.push(' '),
        }
        next = find_stop(&bytes[i..], attr).map(|found| i + found);
    }
    out.push_str(&raw[i..]);
    Ok(())
}

/// Whether `b` may be part of a reference body (between `&` and `;`): the
/// ASCII name characters, `#`, and any byte of a non-ASCII character (a
/// name may hold those; [`reference()`] checks the whole body).
fn in_reference(b: u8) -> bool {
    b >= 0x80 || b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-' | b'#')
}

/// The index of the first byte of `raw` that needs decoding, if any.
pub(crate) fn first_stop(raw: &str, attr: bool) -> Option<usize> {
    find_stop(raw.as_bytes(), attr)
}

fn is_stop(b: u8, attr: bool) -> bool {
    b == b'&' || b == b'\r' || (attr && (b == b'\t' || b == b'\n'))
}

/// The index of the first byte that needs decoding, eight bytes at a time.
fn find_stop(bytes: &[u8], attr: bool) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Flags bytes below `n` (`n` = 1: zero bytes); a false positive only
    // sends us to the exact check below.
    let below = |x: u64, n: u64| x.wrapping_sub(LO * n) & !x & HI;
    let mut words = bytes.chunks_exact(8);
    for (k, word) in words.by_ref().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(word);
        let w = u64::from_le_bytes(b);
        let amp = below(w ^ (LO * u64::from(b'&')), 1);
        // For attributes, one test for all bytes below 0x0E covers `\r`,
        // tab and newline; text needs `\r` alone.
        let ws = if attr {
            below(w, 0x0E)
        } else {
            below(w ^ (LO * u64::from(b'\r')), 1)
        };
        if amp | ws != 0
            && let Some(j) = word.iter().position(|&b| is_stop(b, attr))
        {
            return Some(k * 8 + j);
        }
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&b| is_stop(b, attr))
        .map(|j| bytes.len() - tail.len() + j)
}

/// Resolves the body of a reference (between `&` and `;`).
fn reference(name: &str) -> Result<char, XmlError> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let Some(num) = name.strip_prefix('#') else {
                return if is_name(name) {
                    Err(XmlError::RestrictedXml("reference to an undeclared entity"))
                } else {
                    Err(XmlError::not_well_formed("malformed entity reference"))
                };
            };
            let value = match num.strip_prefix('x') {
                Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()
                }
                None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                    num.parse().ok()
                }
                _ => return Err(XmlError::not_well_formed("malformed character reference")),
            };
            match value.and_then(char::from_u32) {
                Some(c) if is_xml_char(c) => c,
                _ => {
                    return Err(XmlError::not_well_formed(
                        "character reference to a character XML forbids",
                    ));
                }
            }
        }
    };
    Ok(c)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.' | '\u{B7}'))
}

/// The XML 1.0 `Char` production.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> Result<String, XmlError> {
        let mut s = String::new();
        decode_text(raw, &mut s).map(|_| s)
    }

    fn attr(raw: &str) -> Result<String, XmlError> {
        let mut s = String::new();
        decode_attr(raw, &mut s).map(|_| s)
    }

    #[test]
    fn predefined_entities_and_character_references() {
        assert_eq!(
            text("a &lt;&gt;&amp;&apos;&quot; &#65;&#x42;&#x1F680;").as_deref(),
            Ok("a <>&'\" AB🚀")
        );
    }

    #[test]
    fn line_ends_and_attribute_whitespace() {
        assert_eq!(text("a\r\nb\rc\nd").as_deref(), Ok("a\nb\nc\nd"));
        assert_eq!(attr("a\r\nb\tc\nd&#10;e").as_deref(), Ok("a b c d\ne"));
        let mut s = String::new();
        decode_cdata("x\r\ny\r", &mut s);
        assert_eq!(s, "x\ny\n");
    }

    /// The word-at-a-time search finds exactly the first stop, for text
    /// and values, wherever it falls in a word, among other control bytes.
    #[test]
    fn first_stop_agrees_with_position() {
        let mut hay: String = (0u8..0x10).map(char::from).collect();
        hay.push_str("ab&cd\u{e9}ef\rgh ij\tkl\nmn\u{b}op&");
        for start in 0..hay.len() {
            let Some(h) = hay.get(start..) else { continue };
            for attr in [false, true] {
                let want = h.bytes().position(|b| is_stop(b, attr));
                assert_eq!(first_stop(h, attr), want, "from {start}, attr {attr}");
            }
        }
    }

    #[test]
    fn undeclared_entities_are_restricted_xml() {
        assert_eq!(
            text("&nbsp;"),
            Err(XmlError::RestrictedXml("reference to an undeclared entity"))
        );
    }

    #[test]
    fn bad_references_are_not_well_formed() {
        for bad in [
            "&#0;",
            "&#x;",
            "&#xD800;",
            "&#xFFFE;",
            "&#1114112;",
            "&amp",
            "& x;",
            "&#12a;",
            "&#x1b;",
        ] {
            assert!(
                matches!(text(bad), Err(XmlError::NotWellFormed(_))),
                "{bad}"
            );
        }
    }
}
