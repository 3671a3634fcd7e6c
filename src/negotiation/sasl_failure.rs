//! SASL `<failure/>` (RFC 6120 §6.5) as a typed value.

use crate::stanza::condition::conditions;
use crate::stanza::error_parts::ErrorParts;
use crate::xml::{Element, ns};

conditions! {
    /// Why the server refused authentication (RFC 6120 §6.5).
    ///
    /// ```
    /// use xmpp_sansio::negotiation::SaslCondition;
    /// assert_eq!(SaslCondition::from_name("not-authorized"), Some(SaslCondition::NotAuthorized));
    /// assert_eq!(SaslCondition::AccountDisabled.as_str(), "account-disabled");
    /// ```
    SaslCondition {
        /// §6.5.1: the client aborted.
        Aborted => "aborted",
        /// §6.5.2: the account is disabled (the text may say why or until when).
        AccountDisabled => "account-disabled",
        /// §6.5.3: the credentials have expired.
        CredentialsExpired => "credentials-expired",
        /// §6.5.4: the mechanism requires an encrypted stream.
        EncryptionRequired => "encryption-required",
        /// §6.5.5: the data was not valid base64.
        IncorrectEncoding => "incorrect-encoding",
        /// §6.5.6: the authorization identity is invalid.
        InvalidAuthzid => "invalid-authzid",
        /// §6.5.7: the mechanism is not supported.
        InvalidMechanism => "invalid-mechanism",
        /// §6.5.8: the request was malformed.
        MalformedRequest => "malformed-request",
        /// §6.5.9: the mechanism is weaker than the server's policy.
        MechanismTooWeak => "mechanism-too-weak",
        /// §6.5.10: wrong credentials (or an unexplained refusal).
        NotAuthorized => "not-authorized",
        /// §6.5.11: a temporary error; try again later.
        TemporaryAuthFailure => "temporary-auth-failure",
    }
}

/// A `<failure/>` received during SASL negotiation.
///
/// Every `<text/>` is kept with its language, its own `xml:lang` or the one
/// it inherits from the stream (RFC 6120 §6.5: the failure "MAY contain a
/// `<text/>` element"; like stream and stanza errors, one per language).
///
/// ```
/// use xmpp_sansio::negotiation::{SaslCondition, SaslFailure};
/// use xmpp_sansio::xml::{Element, ns};
/// let el = Element::builder("failure", ns::SASL)
///     .child(Element::new("not-authorized", ns::SASL))
///     .child(Element::builder("text", ns::SASL).lang(Some("en")).text("Wrong password").build())
///     .child(Element::builder("text", ns::SASL).lang(Some("de")).text("Falsches Passwort").build())
///     .build();
/// let f = SaslFailure::from_element(&el);
/// assert_eq!(f.condition, SaslCondition::NotAuthorized);
/// assert_eq!(f.texts.len(), 2);
/// assert_eq!(f.text(Some("de")), Some("Falsches Passwort"));
/// assert_eq!(f.text(Some("fr")), Some("Wrong password")); // else the first
/// assert_eq!(f.to_string(), "not-authorized (Wrong password)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslFailure {
    /// The condition; an unknown or missing one is reported as
    /// `NotAuthorized`, the RFC's catch-all for refusal.
    pub condition: SaslCondition,
    /// The condition element as sent, when it was not one the RFC defines.
    pub unknown_condition: Option<String>,
    /// Every human-readable text, in document order, each with its
    /// effective `xml:lang` (own, else inherited).
    pub texts: Vec<(Option<String>, String)>,
}

impl SaslFailure {
    /// Reads `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>`: the
    /// first child in that namespace other than `<text/>` is the condition;
    /// children in other namespaces are ignored.
    pub fn from_element(el: &Element) -> Self {
        let parts = ErrorParts::read(el, ns::SASL);
        let name = parts.condition.as_ref().map(|c| c.name().to_owned());
        let condition = name.as_deref().and_then(SaslCondition::from_name);
        SaslFailure {
            condition: condition.unwrap_or(SaslCondition::NotAuthorized),
            unknown_condition: if condition.is_none() { name } else { None },
            texts: parts.texts,
        }
    }

    /// The text in `lang`, else the first one (as [`crate::stanza::StreamError::text`]).
    pub fn text(&self, lang: Option<&str>) -> Option<&str> {
        ErrorParts::text_in(&self.texts, lang)
    }
}

impl std::fmt::Display for SaslFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.condition)?;
        if let Some(text) = self.text(None) {
            write!(f, " ({text})")?;
        }
        Ok(())
    }
}
