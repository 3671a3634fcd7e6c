//! Serializing [`Element`]s with correct escaping.
//!
//! Output is always well-formed XML 1.0 in UTF-8: text and attribute values
//! are escaped; characters XML cannot carry at all (C0 controls other than
//! tab, newline and carriage return; U+FFFE; U+FFFF) are written as U+FFFD,
//! since no escape can represent them. Carriage returns, and tabs and
//! newlines inside attribute values, are written as character references so
//! that the receiving parser's normalization gives back the same text.

use super::element::{Element, Node};
use super::ns;

/// Writes `el` as a standalone fragment: its namespace is declared on it.
pub fn write_element(el: &Element, out: &mut Vec<u8>) {
    write_with_context(el, out, "", None);
}

/// Writes `el` as a top-level child of a stream whose content namespace is
/// `default_ns` and whose stream namespace is bound to the `stream` prefix:
/// a `<message/>` in `jabber:client` needs no `xmlns`, and a stream-level
/// element such as `<stream:error/>` takes the prefix, as servers expect.
pub fn write_stream_child(el: &Element, out: &mut Vec<u8>, default_ns: &str) {
    write_with_context(el, out, default_ns, Some(("stream", ns::STREAM)));
}

fn write_with_context(
    el: &Element,
    out: &mut Vec<u8>,
    default_ns: &str,
    prefix: Option<(&str, &str)>,
) {
    // The XML namespace is bound to `xml:` by definition and may not be
    // declared (Namespaces in XML §3), so its elements always use it.
    let prefixed = if el.ns() == ns::XML {
        Some(("xml", ns::XML))
    } else {
        prefix.filter(|(_, uri)| *uri == el.ns() && el.ns() != default_ns)
    };
    let (qname_prefix, child_default) = match prefixed {
        Some((p, _)) => (Some(p), default_ns),
        None => (None, el.ns()),
    };
    out.push(b'<');
    if let Some(p) = qname_prefix {
        out.extend_from_slice(p.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(el.name().as_bytes());
    if qname_prefix.is_none() && el.ns() != default_ns {
        out.extend_from_slice(b" xmlns='");
        escape_attr(el.ns(), out);
        out.push(b'\'');
    }
    write_attrs(el, out, qname_prefix);
    if el.is_empty() {
        out.extend_from_slice(b"/>");
        return;
    }
    out.push(b'>');
    for node in el.nodes() {
        match node {
            Node::Text(t) => escape_text(t, out),
            Node::Element(child) => write_with_context(&child, out, child_default, None),
        }
    }
    out.extend_from_slice(b"</");
    if let Some(p) = qname_prefix {
        out.extend_from_slice(p.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(el.name().as_bytes());
    out.push(b'>');
}

/// Writes the attributes of `el`, declaring a prefix for each namespace
/// they use. `own_prefix` is the prefix of the element's own name, if any:
/// it must not be rebound here.
fn write_attrs(el: &Element, out: &mut Vec<u8>, own_prefix: Option<&str>) {
    // Prefixes declared on this element for namespaced attributes.
    let mut declared: Vec<(String, &str)> = Vec::new();
    for a in el.attrs() {
        out.push(b' ');
        match a.ns {
            None => {}
            Some(ns::XML) => out.extend_from_slice(b"xml:"),
            Some(uri) => {
                let prefix = match declared.iter().find(|(_, u)| *u == uri) {
                    Some((p, _)) => p.clone(),
                    None => {
                        let taken =
                            |p: &str| own_prefix == Some(p) || declared.iter().any(|(d, _)| d == p);
                        let wanted = a.prefix;
                        let usable = !wanted.is_empty()
                            && !wanted.eq_ignore_ascii_case("xml")
                            && !wanted.eq_ignore_ascii_case("xmlns")
                            && !taken(wanted);
                        let p = if usable {
                            wanted.to_owned()
                        } else {
                            // The first `ns{k}` free here: at most
                            // `declared.len() + 1` tries.
                            (0..)
                                .map(|k| format!("ns{k}"))
                                .find(|p| !taken(p))
                                .unwrap_or_default()
                        };
                        out.extend_from_slice(b"xmlns:");
                        out.extend_from_slice(p.as_bytes());
                        out.extend_from_slice(b"='");
                        escape_attr(uri, out);
                        out.extend_from_slice(b"' ");
                        declared.push((p.clone(), uri));
                        p
                    }
                };
                out.extend_from_slice(prefix.as_bytes());
                out.push(b':');
            }
        }
        out.extend_from_slice(a.name.as_bytes());
        out.extend_from_slice(b"='");
        escape_attr(a.value, out);
        out.push(b'\'');
    }
}

/// Bytes that need attention in text: `&`, `<`, `>`, `\r`, C0 controls, and
/// 0xEF (the lead byte of U+FFFE/U+FFFF).
const fn text_special() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = !(i == 0x09 || i == 0x0A);
        i += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[0xEF] = true;
    t
}

const fn attr_special() -> [bool; 256] {
    let mut t = text_special();
    t[0x09] = true;
    t[0x0A] = true;
    t[b'\'' as usize] = true;
    t[b'"' as usize] = true;
    t
}

static TEXT_SPECIAL: [bool; 256] = text_special();
static ATTR_SPECIAL: [bool; 256] = attr_special();

/// Escapes character data.
pub fn escape_text(s: &str, out: &mut Vec<u8>) {
    escape(s, out, &TEXT_SPECIAL);
}

/// Escapes an attribute value for a `'`-quoted attribute.
pub fn escape_attr(s: &str, out: &mut Vec<u8>) {
    escape(s, out, &ATTR_SPECIAL);
}

fn escape(s: &str, out: &mut Vec<u8>, special: &[bool; 256]) {
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !special[b as usize] {
            i += 1;
            continue;
        }
        let (replacement, width): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'\'' => (b"&apos;", 1),
            b'"' => (b"&quot;", 1),
            b'\t' => (b"&#9;", 1),
            b'\n' => (b"&#10;", 1),
            b'\r' => (b"&#13;", 1),
            0xEF => match bytes.get(i + 1..i + 3) {
                Some([0xBF, 0xBE | 0xBF]) => ("\u{FFFD}".as_bytes(), 3),
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => ("\u{FFFD}".as_bytes(), 1),
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(replacement);
        i += width;
        run = i;
    }
    out.extend_from_slice(&bytes[run..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        let mut v = Vec::new();
        escape_text(s, &mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    fn attr(s: &str) -> String {
        let mut v = Vec::new();
        escape_attr(s, &mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    #[test]
    fn escapes_markup_and_line_ends() {
        assert_eq!(text("a<b>&c\r\n"), "a&lt;b&gt;&amp;c&#13;\n");
        assert_eq!(attr("it's \"x\"\t\n"), "it&apos;s &quot;x&quot;&#9;&#10;");
        assert_eq!(text("ünï €"), "ünï €");
    }

    #[test]
    fn replaces_characters_xml_cannot_carry() {
        assert_eq!(
            text("a\u{0}b\u{1b}c\u{FFFE}\u{FFFF}\u{FFFD}\u{F8FF}"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}\u{FFFD}\u{FFFD}\u{F8FF}"
        );
    }

    #[test]
    fn stream_children_use_the_stream_prefix() {
        let e = Element::builder("error", ns::STREAM)
            .child(Element::new("conflict", ns::STREAM_ERRORS))
            .build();
        let mut out = Vec::new();
        write_stream_child(&e, &mut out, ns::JABBER_CLIENT);
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        );
        let m = Element::builder("message", ns::JABBER_CLIENT)
            .attr_ns("urn:x", "a", "1")
            .child(Element::new("body", ns::JABBER_CLIENT))
            .build();
        let mut out = Vec::new();
        write_stream_child(&m, &mut out, ns::JABBER_CLIENT);
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "<message xmlns:ns0='urn:x' ns0:a='1'><body/></message>"
        );
    }
}
