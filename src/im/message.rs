//! Building messages (RFC 6121 §5): bodies and subjects in several
//! languages, threads with parents, and extension payloads; and error
//! replies to received messages (RFC 6120 §8.3).

use crate::stanza::{Message, MessageType, StanzaError, StanzaView};
use crate::xml::{Element, ns};

/// Builds an outbound `<message/>`.
///
/// ```
/// use xmpp_sansio::im::MessageBuilder;
/// use xmpp_sansio::stanza::{Message, MessageType};
/// use xmpp_sansio::xml::Element;
///
/// let el = MessageBuilder::new(MessageType::Chat, "romeo@example.net")
///     .id("m1")
///     .body(None, "Wherefore art thou, Romeo?")
///     .body(Some("cs"), "Proč jsi ty, Romeo?")
///     .thread("e0ffe42b28561960c6b12b944a092794b9683a38", Some("7edac73ab41e45c4aafa7b2d7b749080"))
///     .payload(Element::new("active", "http://jabber.org/protocol/chatstates"))
///     .build();
/// let m = Message::from_element(el).unwrap();
/// assert_eq!(m.body(Some("cs")).as_deref(), Some("Proč jsi ty, Romeo?"));
/// assert_eq!(m.thread().unwrap().1.as_deref(), Some("7edac73ab41e45c4aafa7b2d7b749080"));
/// ```
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    type_: MessageType,
    to: String,
    id: Option<String>,
    subjects: Vec<(Option<String>, String)>,
    bodies: Vec<(Option<String>, String)>,
    thread: Option<(String, Option<String>)>,
    payloads: Vec<Element>,
}

impl MessageBuilder {
    /// A message of `type_` to `to`.
    pub fn new(type_: MessageType, to: impl Into<String>) -> Self {
        Self {
            type_,
            to: to.into(),
            id: None,
            subjects: Vec::new(),
            bodies: Vec::new(),
            thread: None,
            payloads: Vec::new(),
        }
    }

    /// Sets `id` (RFC 6120 §8.1.3 recommends one; receipts need it).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds a `<body/>` (one per language).
    pub fn body(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        self.bodies.push((lang.map(str::to_owned), text.into()));
        self
    }

    /// Adds a `<subject/>` (one per language).
    pub fn subject(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        self.subjects.push((lang.map(str::to_owned), text.into()));
        self
    }

    /// Sets `<thread/>` and its `parent` (RFC 6121 §5.2.5).
    pub fn thread(mut self, thread: impl Into<String>, parent: Option<&str>) -> Self {
        self.thread = Some((thread.into(), parent.map(str::to_owned)));
        self
    }

    /// Adds an extension payload, kept as given.
    pub fn payload(mut self, el: Element) -> Self {
        self.payloads.push(el);
        self
    }

    /// An error reply to `original` (RFC 6120 §8.3.1): `type='error'`, the
    /// same `id`, `to` and `from` swapped, and the `<error/>` child. `None`
    /// when `original` is itself an error: an error is never answered with
    /// another (§8.3.1).
    ///
    /// ```
    /// use xmpp_sansio::im::MessageBuilder;
    /// use xmpp_sansio::stanza::{Message, MessageType, StanzaError, StanzaErrorCondition, StanzaView};
    /// use xmpp_sansio::xml::{Element, ns};
    ///
    /// let received = Message::from_element(
    ///     Element::builder("message", ns::JABBER_CLIENT)
    ///         .attr("from", "romeo@example.net/orchard")
    ///         .attr("to", "juliet@example.com/balcony")
    ///         .attr("id", "m1")
    ///         .child(Element::builder("body", ns::JABBER_CLIENT).text("Art thou there?").build())
    ///         .build(),
    /// ).unwrap();
    /// let error = StanzaError::from_condition(StanzaErrorCondition::ServiceUnavailable);
    /// let reply = MessageBuilder::error_reply(&received, error.clone()).unwrap();
    /// assert_eq!(
    ///     reply.to_xml(),
    ///     "<message xmlns='jabber:client' type='error' id='m1' to='romeo@example.net/orchard' \
    ///      from='juliet@example.com/balcony'><error type='cancel'><service-unavailable \
    ///      xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    /// );
    /// let reply = Message::from_element(reply).unwrap();
    /// assert_eq!((reply.type_(), reply.error()), (MessageType::Error, Some(error.clone())));
    ///
    /// // With the original content, so the sender can see what failed:
    /// let with = MessageBuilder::error_reply_with_original(&received, error.clone()).unwrap();
    /// assert_eq!(Message::from_element(with).unwrap().body(None).as_deref(), Some("Art thou there?"));
    ///
    /// // Never an error in answer to an error.
    /// assert!(MessageBuilder::error_reply(&reply, error).is_none());
    /// ```
    pub fn error_reply(original: &Message, error: StanzaError) -> Option<Element> {
        Self::error_reply_inner(original, error, false)
    }

    /// [`MessageBuilder::error_reply`], also carrying the original's child
    /// elements (body, subject, thread, payloads) before the `<error/>`,
    /// which RFC 6120 §8.3.1 allows so the sender can inspect what failed.
    pub fn error_reply_with_original(original: &Message, error: StanzaError) -> Option<Element> {
        Self::error_reply_inner(original, error, true)
    }

    fn error_reply_inner(
        original: &Message,
        error: StanzaError,
        with_original: bool,
    ) -> Option<Element> {
        if original.type_() == MessageType::Error {
            return None;
        }
        let el = original.element();
        let mut b = Element::builder("message", el.ns())
            .attr("type", MessageType::Error.as_str())
            .attr_opt("id", el.attr("id"))
            .attr_opt("to", el.attr("from"))
            .attr_opt("from", el.attr("to"));
        if with_original {
            b = b.children(el.children().filter(|c| !c.is("error", el.ns())));
        }
        Some(b.child(error.to_element_in(el.ns())).build())
    }

    /// The `<message/>` element.
    pub fn build(self) -> Element {
        let mut b = Element::builder("message", ns::JABBER_CLIENT)
            .attr("to", self.to)
            .attr_opt("id", self.id);
        if self.type_ != MessageType::Normal {
            b = b.attr("type", self.type_.as_str());
        }
        let text = |name: &str, lang: Option<String>, text: String| {
            Element::builder(name, ns::JABBER_CLIENT)
                .lang(lang)
                .text(text)
                .build()
        };
        for (lang, s) in self.subjects {
            b = b.child(text("subject", lang, s));
        }
        for (lang, s) in self.bodies {
            b = b.child(text("body", lang, s));
        }
        if let Some((thread, parent)) = self.thread {
            b = b.child(
                Element::builder("thread", ns::JABBER_CLIENT)
                    .attr_opt("parent", parent)
                    .text(thread)
                    .build(),
            );
        }
        b.children(self.payloads).build()
    }
}
