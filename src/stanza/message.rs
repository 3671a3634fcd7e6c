//! `<message/>` (RFC 6120 §8.2.1, RFC 6121 §5).

use super::StanzaParseError;
use super::common::{StanzaView, check_stanza, pick_text, texts_by_lang};
use crate::xml::{Element, ns};

/// The `type` of a message (RFC 6121 §5.2.2).
///
/// ```
/// use xmpp_sansio::stanza::MessageType;
/// assert_eq!(MessageType::from_attr(None), MessageType::Normal);
/// assert_eq!(MessageType::from_attr(Some("invented")), MessageType::Normal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageType {
    /// One-to-one chat.
    Chat,
    /// An error reply.
    Error,
    /// Multi-user chat.
    Groupchat,
    /// An alert or notification that expects no reply.
    Headline,
    /// A standalone message; the default when `type` is absent.
    #[default]
    Normal,
}

impl MessageType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Chat => "chat",
            MessageType::Error => "error",
            MessageType::Groupchat => "groupchat",
            MessageType::Headline => "headline",
            MessageType::Normal => "normal",
        }
    }

    /// Reads the attribute; absent is `Normal`. RFC 6121 §5.2.2: an unknown
    /// value is treated as `normal` too.
    pub fn from_attr(value: Option<&str>) -> Self {
        match value {
            Some("chat") => MessageType::Chat,
            Some("error") => MessageType::Error,
            Some("groupchat") => MessageType::Groupchat,
            Some("headline") => MessageType::Headline,
            _ => MessageType::Normal,
        }
    }
}

/// A message stanza: a view over its element.
///
/// ```
/// use xmpp_sansio::stanza::{Message, MessageType, StanzaView};
///
/// let msg = Message::chat("romeo@example.net", "Wherefore art thou?").with_id("m1");
/// let msg = Message::from_element(msg.into_element()).unwrap();
/// assert_eq!(msg.type_(), MessageType::Chat);
/// assert_eq!(msg.to().unwrap().as_str(), "romeo@example.net");
/// assert_eq!(msg.body(None).as_deref(), Some("Wherefore art thou?"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    element: Element,
}

impl StanzaView for Message {
    fn element(&self) -> &Element {
        &self.element
    }
}

impl Message {
    /// Views `element` as a message.
    pub fn from_element(element: Element) -> Result<Self, StanzaParseError> {
        check_stanza(&element, "message")?;
        Ok(Self { element })
    }

    /// A `chat` message to `to` with a body.
    pub fn chat(to: &str, body: &str) -> Self {
        Self::new(MessageType::Chat, Some(to), Some(body))
    }

    /// A message of any type.
    pub fn new(type_: MessageType, to: Option<&str>, body: Option<&str>) -> Self {
        let mut b = Element::builder("message", ns::JABBER_CLIENT).attr_opt("to", to);
        if type_ != MessageType::Normal {
            b = b.attr("type", type_.as_str());
        }
        if let Some(body) = body {
            b = b.child(
                Element::builder("body", ns::JABBER_CLIENT)
                    .text(body)
                    .build(),
            );
        }
        Self { element: b.build() }
    }

    /// The same message with `id` set.
    pub fn with_id(self, id: &str) -> Self {
        Self {
            element: self.element.to_builder().attr("id", id).build(),
        }
    }

    /// The element, to send or keep.
    pub fn into_element(self) -> Element {
        self.element
    }

    /// The type (absent means `normal`).
    pub fn type_(&self) -> MessageType {
        MessageType::from_attr(self.element.attr("type"))
    }

    /// Every `<body/>` with its language.
    pub fn bodies(&self) -> Vec<(Option<String>, String)> {
        texts_by_lang(&self.element, "body")
    }

    /// The body in `lang`, else in the message's language, else the first.
    pub fn body(&self, lang: Option<&str>) -> Option<String> {
        pick_text(&self.bodies(), lang, self.element.lang())
    }

    /// Every `<subject/>` with its language.
    pub fn subjects(&self) -> Vec<(Option<String>, String)> {
        texts_by_lang(&self.element, "subject")
    }

    /// `<thread/>` and its `parent` attribute.
    pub fn thread(&self) -> Option<(String, Option<String>)> {
        self.element
            .get_child("thread", self.element.ns())
            .map(|t| (t.text().into_owned(), t.attr("parent").map(str::to_owned)))
    }
}

impl From<Message> for Element {
    fn from(m: Message) -> Element {
        m.element
    }
}
