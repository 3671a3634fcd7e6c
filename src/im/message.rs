//! Building messages (RFC 6121 §5): bodies and subjects in several
//! languages, threads with parents, and extension payloads.

use crate::stanza::MessageType;
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
