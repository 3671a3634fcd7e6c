//! The IQ replies the stream writes itself (ping results, roster-push
//! acknowledgements, `service-unavailable`, `bad-request`, ...), written
//! straight into the output buffer without building an element tree: the
//! same bytes the tree writer gives for the reply
//! [`Iq::result_reply`](crate::stanza::Iq::result_reply) or
//! [`Iq::error_reply_to_element`](crate::stanza::Iq::error_reply_to_element)
//! builds, at a fraction of the allocations (a tree reply cost 20 to 80
//! of them).

use crate::stanza::StanzaError;
use crate::xml::writer::{escape_attr, escape_text};
use crate::xml::{Element, ns};

/// An empty `result`, or an `error`, answering one IQ request.
#[derive(Debug, Clone, Copy)]
pub(super) struct IqReply<'a> {
    /// The request's namespace (the stream's content namespace).
    ns: &'a str,
    id: &'a str,
    /// Outside `jabber:client`, the request's `to`: whom the request was
    /// addressed to answers (placed before `to`, as `Iq`'s replies do).
    from_addressee: Option<&'a str>,
    /// The request's `from`, as sent.
    to: Option<&'a str>,
    /// A `from` added after `to` (a server stream's ping reply).
    from: Option<&'a str>,
    error: Option<&'a StanzaError>,
}

impl<'a> IqReply<'a> {
    /// The reply to `request`: `None` if it has no id to answer (an empty
    /// one included), as [`Iq::error_reply_to_element`] decides.
    ///
    /// [`Iq::error_reply_to_element`]: crate::stanza::Iq::error_reply_to_element
    pub(super) fn to(request: &'a Element, error: Option<&'a StanzaError>) -> Option<Self> {
        let id = request.attr("id").filter(|i| !i.is_empty())?;
        Some(Self {
            ns: request.ns(),
            id,
            from_addressee: request
                .attr("to")
                .filter(|_| request.ns() != ns::JABBER_CLIENT),
            to: request.attr("from"),
            from: None,
            error,
        })
    }

    /// The reply with `from` set, as setting it on the built reply does:
    /// in place if it has one, else after `to`.
    pub(super) fn from(self, from: Option<&'a str>) -> Self {
        match (from, self.from_addressee) {
            (None, _) => self,
            (Some(from), Some(_)) => Self {
                from_addressee: Some(from),
                ..self
            },
            (Some(from), None) => Self {
                from: Some(from),
                ..self
            },
        }
    }

    /// The reply as a tree, for what the direct writer does not cover
    /// (an application condition).
    pub(super) fn to_element(self) -> Element {
        let b = Element::builder("iq", self.ns)
            .attr(
                "type",
                if self.error.is_some() {
                    "error"
                } else {
                    "result"
                },
            )
            .attr("id", self.id)
            .attr_opt("from", self.from_addressee)
            .attr_opt("to", self.to)
            .attr_opt("from", self.from);
        match self.error {
            Some(error) => b.child(error.to_element_in(self.ns)).build(),
            None => b.build(),
        }
    }

    /// About how many bytes [`IqReply::write`] writes (escapes aside), so
    /// the buffer grows once rather than doubling its way up.
    pub(super) fn size_hint(&self) -> usize {
        let head = 56
            + self.ns.len()
            + self.id.len()
            + self.from_addressee.map_or(0, str::len)
            + self.to.map_or(0, str::len)
            + self.from.map_or(0, str::len);
        let error = self.error.map_or(0, |e| {
            let texts: usize = e.texts.iter().map(|(_, t)| 64 + t.len()).sum();
            128 + e.by.as_deref().map_or(0, str::len) + e.uri.as_deref().map_or(0, str::len) + texts
        });
        head + error
    }

    /// Writes the reply as a child of a stream whose default namespace is
    /// `content_ns`, byte for byte as `writer::write_stream_child` writes
    /// [`IqReply::to_element`].
    pub(super) fn write(&self, out: &mut Vec<u8>, content_ns: &str) {
        let error = match self.error {
            Some(e) if e.app_condition.is_some() => {
                return crate::xml::writer::write_stream_child(&self.to_element(), out, content_ns);
            }
            e => e,
        };
        out.extend_from_slice(b"<iq");
        if self.ns != content_ns {
            attr(out, "xmlns", self.ns);
        }
        attr(
            out,
            "type",
            if error.is_some() { "error" } else { "result" },
        );
        attr(out, "id", self.id);
        if let Some(from) = self.from_addressee {
            attr(out, "from", from);
        }
        if let Some(to) = self.to {
            attr(out, "to", to);
        }
        if let Some(from) = self.from {
            attr(out, "from", from);
        }
        let Some(error) = error else {
            out.extend_from_slice(b"/>");
            return;
        };
        out.extend_from_slice(b"><error");
        attr(out, "type", error.type_.as_str());
        if let Some(by) = &error.by {
            attr(out, "by", by);
        }
        out.push(b'>');
        let uri = error.uri.as_deref().unwrap_or_default();
        element(out, error.condition.as_str(), None, uri);
        for (lang, text) in &error.texts {
            element(out, "text", lang.as_deref(), text);
        }
        out.extend_from_slice(b"</error></iq>");
    }
}

/// ` name='value'`, the value escaped.
fn attr(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"='");
    escape_attr(value, out);
    out.push(b'\'');
}

/// An element in the stanza-error namespace with an optional `xml:lang`
/// and text (empty: a self-closing tag).
fn element(out: &mut Vec<u8>, name: &str, lang: Option<&str>, text: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    attr(out, "xmlns", ns::STANZAS);
    if let Some(lang) = lang {
        attr(out, "xml:lang", lang);
    }
    if text.is_empty() {
        out.extend_from_slice(b"/>");
        return;
    }
    out.push(b'>');
    escape_text(text, out);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::{ErrorType, StanzaErrorCondition};
    use crate::xml::writer::write_stream_child;

    fn request(ns: &str, id: Option<&str>, from: Option<&str>) -> Element {
        Element::builder("iq", ns)
            .attr("type", "get")
            .attr_opt("id", id)
            .attr_opt("from", from)
            .attr("to", "plays.shakespeare.lit")
            .child(Element::new("ping", ns::PING))
            .build()
    }

    /// The direct writer gives exactly the tree writer's bytes, for every
    /// shape of reply the stream writes and then some.
    #[test]
    fn writes_what_the_tree_writer_writes() {
        let errors = [
            StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::ServiceUnavailable),
            StanzaError::new(ErrorType::Wait, StanzaErrorCondition::ResourceConstraint),
            StanzaError::from_condition(StanzaErrorCondition::BadRequest)
                .with_text(Some("en"), "malformed <stanza> & 'more'\r\n"),
            StanzaError::new(ErrorType::Auth, StanzaErrorCondition::NotAuthorized)
                .with_text(None, "")
                .with_text(Some("fr"), "non")
                .with_by("example.com/'x'"),
            StanzaError::new(ErrorType::Modify, StanzaErrorCondition::Gone)
                .with_uri("xmpp:romeo@example.net?a&b"),
            StanzaError::new(ErrorType::Continue, StanzaErrorCondition::Redirect).with_uri(""),
            StanzaError::new(
                ErrorType::Cancel,
                StanzaErrorCondition::FeatureNotImplemented,
            )
            .with_app_condition(
                Element::builder("unsupported", "http://jabber.org/protocol/pubsub#errors")
                    .attr("feature", "x")
                    .build(),
            ),
        ];
        let mut cases = 0;
        for ns in [
            ns::JABBER_CLIENT,
            "jabber:server",
            "jabber:component:accept",
        ] {
            for from in [
                None,
                Some("romeo@example.net/orchard"),
                Some("a'b&c<d>\"e\u{1}"),
            ] {
                for id in ["1", "id-'&<>\"\t\n"] {
                    let request = request(ns, Some(id), from);
                    for (error, from) in std::iter::once(None)
                        .chain(errors.iter().map(Some))
                        .flat_map(|e| [(e, None), (e, Some("example.com&'"))])
                    {
                        let Some(reply) = IqReply::to(&request, error) else {
                            panic!("no reply to {request:?}");
                        };
                        let reply = reply.from(from);
                        let mut direct = Vec::new();
                        reply.write(&mut direct, ns::JABBER_CLIENT);
                        let tree = match error {
                            None => crate::stanza::Iq::from_element(request.clone())
                                .ok()
                                .and_then(|iq| iq.result_reply(None)),
                            Some(e) => {
                                crate::stanza::Iq::error_reply_to_element(&request, e.clone())
                            }
                        };
                        let Some(tree) = tree else {
                            panic!("no tree reply to {request:?}");
                        };
                        // As the server role adds it to a built reply.
                        let tree = match from {
                            Some(from) => tree.to_builder().attr("from", from).build(),
                            None => tree,
                        };
                        let mut expected = Vec::new();
                        write_stream_child(&tree, &mut expected, ns::JABBER_CLIENT);
                        assert_eq!(
                            String::from_utf8_lossy(&direct),
                            String::from_utf8_lossy(&expected)
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 3 * 3 * 2 * 8 * 2);
    }

    #[test]
    fn a_request_without_an_id_gets_no_reply() {
        for id in [None, Some("")] {
            assert!(IqReply::to(&request(ns::JABBER_CLIENT, id, None), None).is_none());
        }
    }
}
