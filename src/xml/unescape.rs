//! Decoding character data and attribute values: the five predefined
//! entities, character references, and XML's line-end and attribute-value
//! normalization. Any other entity reference is restricted XML (RFC 6120
//! §11.1): XMPP streams have no DTD to declare one.

use super::error::XmlError;

/// Bytes that stop the fast copy loop in text: `&` and `\r`.
const fn text_stop() -> [bool; 256] {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'\r' as usize] = true;
    t
}

/// In attribute values whitespace characters are also normalized.
const fn attr_stop() -> [bool; 256] {
    let mut t = text_stop();
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t
}

static TEXT_STOP: [bool; 256] = text_stop();
static ATTR_STOP: [bool; 256] = attr_stop();

/// Appends decoded character data to `out`.
pub(crate) fn decode_text(raw: &str, out: &mut String) -> Result<(), XmlError> {
    decode(raw, out, &TEXT_STOP, false)
}

/// Appends a decoded, normalized attribute value to `out`.
pub(crate) fn decode_attr(raw: &str, out: &mut String) -> Result<(), XmlError> {
    decode(raw, out, &ATTR_STOP, true)
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

fn decode(raw: &str, out: &mut String, stop: &[bool; 256], attr: bool) -> Result<(), XmlError> {
    let bytes = raw.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !stop[b as usize] {
            i += 1;
            continue;
        }
        // Every stop byte is ASCII, so `run..i` and `i + 1` are char boundaries.
        out.push_str(&raw[run..i]);
        i += 1;
        match b {
            b'&' => {
                let rest = &raw[i..];
                let Some(semi) = rest.find(';') else {
                    return Err(XmlError::not_well_formed("'&' without a reference"));
                };
                out.push(reference(&rest[..semi])?);
                i += semi + 1;
            }
            b'\r' => {
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.push(if attr { ' ' } else { '\n' });
            }
            _ => out.push(' '),
        }
        run = i;
    }
    out.push_str(&raw[run..]);
    Ok(())
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
