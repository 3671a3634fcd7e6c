//! One element read from text on its own, outside any stream: what an
//! application needs to restore something it saved with
//! [`Element::to_xml`] (a roster cache, say).

use super::{Element, FrameEvent, Framer, Limits, XmlError};

/// Ends the stream [`Framer::inside_bare_stream`] is inside of.
const FOOTER: &[u8] = b"</stream:stream>";

impl Element {
    /// Reads exactly one element from `xml`, with the checks and `limits`
    /// of inbound stanzas (restricted XML, namespaces, sizes; `max_depth`
    /// counts a stream element around it, as for a stanza). Nothing is
    /// inherited: no default namespace, no prefix, no `xml:lang`. With no
    /// stream there is no content namespace either, so RFC 6120 §4.8.5 (no
    /// prefix for it, see [`Framer`]) does not apply:
    /// `<a:message xmlns:a='jabber:client'/>` reads back.
    /// Surrounding whitespace is allowed; an XML declaration, text or a
    /// second element is not.
    ///
    /// ```
    /// use xmpp_sansio::xml::{Element, Limits, XmlError};
    /// let el = Element::parse("<query xmlns='jabber:iq:roster' ver='7'/>", Limits::default())?;
    /// assert!(el.is("query", "jabber:iq:roster"));
    /// assert_eq!(Element::parse(&el.to_xml(), Limits::default())?, el);
    ///
    /// assert!(Element::parse("<a/><b/>", Limits::default()).is_err());
    /// assert!(Element::parse("<a>", Limits::default()).is_err());
    /// # Ok::<(), XmlError>(())
    /// ```
    pub fn parse(xml: &str, limits: Limits) -> Result<Self, XmlError> {
        let mut framer = Framer::inside_bare_stream(limits);
        framer.push(xml.as_bytes());
        framer.push(FOOTER);
        let mut found = None;
        loop {
            match framer.next_event()? {
                Some(FrameEvent::StreamStart(_)) => {
                    return Err(XmlError::BadFormat("a stream header"));
                }
                Some(FrameEvent::Element(el)) if found.is_none() => found = Some(el),
                Some(FrameEvent::Element(_)) => {
                    return Err(XmlError::BadFormat("more than one element"));
                }
                // The end must be our footer, not a closing tag in `xml`.
                Some(FrameEvent::StreamEnd) if framer.unconsumed() == 0 => break,
                Some(FrameEvent::StreamEnd) => {
                    return Err(XmlError::BadFormat("text after the element"));
                }
                None => return Err(XmlError::NotWellFormed("unclosed element".into())),
            }
        }
        found.ok_or(XmlError::BadFormat("no element"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<Element, XmlError> {
        Element::parse(xml, Limits::default())
    }

    #[test]
    fn one_element_in_its_own_namespaces() -> Result<(), XmlError> {
        let el = parse("  <a xmlns='urn:a' xml:lang='fr'><b>t</b></a>\n")?;
        assert!(el.is("a", "urn:a"));
        assert_eq!(
            el.get_child("b", "urn:a")
                .map(|b| b.text().to_string())
                .as_deref(),
            Some("t")
        );
        let plain = parse("<a/>")?;
        assert_eq!(plain.ns(), "", "no default namespace is inherited");
        Ok(())
    }

    #[test]
    fn anything_but_one_element_is_refused() {
        for bad in [
            "",
            "  ",
            "text",
            "<a/>text",
            "<a/><b/>",
            "<a>",
            "<a><b></a>",
            "<?xml version='1.0'?><a/>",
            "<!-- c --><a/>",
            "</stream:stream><a/>",
            "<a/></stream:stream><b/>",
            "<a/></stream:stream>",
            "<a/></",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn limits_apply_to_the_element_alone() {
        use crate::xml::LimitKind;
        let tight = Limits {
            max_stanza_bytes: 16,
            max_name_len: 4,
            max_attributes: 1,
            max_depth: 2,
            ..Limits::default()
        };
        assert!(Element::parse("<abcd k='v'/>", tight.clone()).is_ok());
        let refused = |xml: &str| match Element::parse(xml, tight.clone()) {
            Err(XmlError::LimitExceeded { kind, .. }) => Some(kind),
            _ => None,
        };
        assert_eq!(
            refused("<a>0123456789abcdef</a>"),
            Some(LimitKind::StanzaBytes)
        );
        assert_eq!(refused("<abcde/>"), Some(LimitKind::NameLength));
        assert_eq!(refused("<a k='1' l='2'/>"), Some(LimitKind::Attributes));
        assert_eq!(refused("<a><b/></a>"), Some(LimitKind::Depth));

        // The tree's heap: a few nodes fit in 1,000 bytes, forty do not
        // (the room for them would pass it), whatever the byte limit.
        let small_tree = Limits {
            max_tree_bytes: 1000,
            ..Limits::default()
        };
        let tree = |xml: &str| Element::parse(xml, small_tree.clone());
        let few = tree("<a><b/><b/>t</a>").map(|e| e.children().count());
        assert_eq!(few, Ok(2));
        let many = format!("<a>{}</a>", "<b/>".repeat(40));
        assert_eq!(
            tree(&many),
            Err(XmlError::LimitExceeded {
                kind: LimitKind::TreeBytes,
                limit: 1000
            })
        );
        // Refused as the copy is made when the copy alone would pass it.
        let long = format!("<a>{}</a>", "x".repeat(1000));
        assert!(matches!(
            tree(&long),
            Err(XmlError::LimitExceeded {
                kind: LimitKind::TreeBytes,
                ..
            })
        ));
    }

    #[test]
    fn nothing_is_bound_for_it() {
        // Not even the stream prefix the framer uses inside.
        assert!(parse("<stream:features/>").is_err());
        assert!(parse("<a><stream:b/></a>").is_err());
    }
}
