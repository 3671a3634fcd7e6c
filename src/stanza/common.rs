//! What every stanza view shares: its element, addresses, id, language.

use super::{Address, StanzaError, StanzaParseError};
use crate::xml::{Element, ns};

/// Accessors every stanza view ([`super::Message`], [`super::Presence`],
/// [`super::Iq`]) provides over its element.
///
/// ```
/// use xmpp_sansio::stanza::{Message, StanzaView};
/// let m = Message::chat("romeo@example.net", "hi");
/// assert_eq!(m.to().map(|a| a.as_str()), Some("romeo@example.net"));
/// assert!(m.payloads().is_empty());
/// ```
pub trait StanzaView {
    /// The stanza as received (every extension payload intact).
    fn element(&self) -> &Element;

    /// `from`, as sent.
    fn from(&self) -> Option<Address<'_>> {
        self.element().attr("from").map(|a| Address::of(a, "from"))
    }

    /// `to`, as sent.
    fn to(&self) -> Option<Address<'_>> {
        self.element().attr("to").map(|a| Address::of(a, "to"))
    }

    /// `from` as a typed JID: `Err` (`jid-malformed`) if the `jid` crate
    /// refuses it. See [`Address`] for why the stanza is kept anyway.
    fn sender_jid(&self) -> Result<Option<jid::Jid>, StanzaParseError> {
        self.from().map(|a| a.jid()).transpose()
    }

    /// `to` as a typed JID.
    fn recipient_jid(&self) -> Result<Option<jid::Jid>, StanzaParseError> {
        self.to().map(|a| a.jid()).transpose()
    }

    /// `id`.
    fn id(&self) -> Option<&str> {
        self.element().attr("id")
    }

    /// The effective `xml:lang` (own, else the stream's).
    fn lang(&self) -> Option<&str> {
        self.element().lang()
    }

    /// The stanza error, for stanzas of type `error`.
    fn error(&self) -> Option<StanzaError> {
        let el = self.element();
        el.get_child("error", el.ns())
            .and_then(|e| StanzaError::from_element(&e).ok())
    }

    /// Children outside the stanza's own namespace: extensions (RFC 6120 §8.4).
    fn payloads(&self) -> Vec<Element> {
        let el = self.element();
        el.children().filter(|c| c.ns() != el.ns()).collect()
    }
}

/// Checks that `el` is `<name/>` in a stanza namespace.
pub(crate) fn check_stanza(el: &Element, name: &'static str) -> Result<(), StanzaParseError> {
    if el.name() != name || !is_stanza_ns(el.ns()) {
        return Err(StanzaParseError::UnknownStanza {
            name: el.name().to_owned(),
            ns: el.ns().to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn is_stanza_ns(namespace: &str) -> bool {
    matches!(
        namespace,
        ns::JABBER_CLIENT | ns::JABBER_SERVER | ns::COMPONENT_ACCEPT
    )
}

/// Text children named `name` in the stanza namespace, each with its
/// effective language (RFC 6121 §5.2.3: several `<body/>` by `xml:lang`).
pub(crate) fn texts_by_lang(el: &Element, name: &str) -> Vec<(Option<String>, String)> {
    el.children()
        .filter(|c| c.is(name, el.ns()))
        .map(|c| (c.lang().map(str::to_owned), c.text().into_owned()))
        .collect()
}

/// The text in `lang`, else the one in the stanza's language, else the first.
pub(crate) fn pick_text(
    texts: &[(Option<String>, String)],
    lang: Option<&str>,
    default: Option<&str>,
) -> Option<String> {
    texts
        .iter()
        .find(|(l, _)| lang.is_some() && l.as_deref() == lang)
        .or_else(|| texts.iter().find(|(l, _)| l.as_deref() == default))
        .or_else(|| texts.first())
        .map(|(_, t)| t.clone())
}
