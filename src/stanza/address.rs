//! Stanza addresses, never lost over a JID the `jid` crate refuses.
//!
//! The `jid` crate implements RFC 6122 (stringprep). Servers implement
//! RFC 7622 (PRECIS) and deliver addresses it rejects, such as a MUC
//! nickname with an emoji (`room@muc.example/Niaj 🚀33`) or Arabic letters
//! followed by digits (`…/أحمد43`). Two well-known client libraries drop
//! such stanzas. Here an [`Address`] is the text as sent, always available;
//! [`Address::jid`] prepares it on demand and reports a refusal as the
//! stanza error `jid-malformed`, so the application chooses what to do.

use super::StanzaParseError;

/// The `to` or `from` of a stanza, as sent.
///
/// ```
/// use xmpp_sansio::stanza::Address;
/// let a = Address::new("coven@chat.shakespeare.lit/Niaj 🚀33");
/// assert_eq!(a.as_str(), "coven@chat.shakespeare.lit/Niaj 🚀33");
/// assert_eq!(a.bare(), "coven@chat.shakespeare.lit");
/// assert_eq!(a.resource(), Some("Niaj 🚀33"));
/// assert!(a.jid().is_err()); // RFC 6122 refuses it; the stanza is still here
/// assert!(Address::new("romeo@example.net/orchard").jid().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address<'a> {
    raw: &'a str,
    attr: &'static str,
}

impl<'a> Address<'a> {
    /// An address with this text.
    pub fn new(raw: &'a str) -> Self {
        Self {
            raw,
            attr: "address",
        }
    }

    pub(crate) fn of(raw: &'a str, attr: &'static str) -> Self {
        Self { raw, attr }
    }

    /// The text as sent.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Everything before the first `/`: `localpart@domain` or `domain`.
    pub fn bare(&self) -> &'a str {
        self.raw.split_once('/').map_or(self.raw, |(b, _)| b)
    }

    /// The resource, if any.
    pub fn resource(&self) -> Option<&'a str> {
        self.raw.split_once('/').map(|(_, r)| r)
    }

    /// The address as a typed, prepared JID (RFC 6122).
    pub fn jid(&self) -> Result<jid::Jid, StanzaParseError> {
        jid::Jid::new(self.raw).map_err(|_| StanzaParseError::JidMalformed {
            attr: self.attr,
            value: self.raw.to_owned(),
        })
    }
}

impl std::fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw)
    }
}
