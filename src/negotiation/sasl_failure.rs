//! SASL `<failure/>` (RFC 6120 §6.5) as a typed value.

use crate::stanza::condition::conditions;
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
/// ```
/// use xmpp_sansio::negotiation::{SaslCondition, SaslFailure};
/// use xmpp_sansio::xml::{Element, ns};
/// let el = Element::builder("failure", ns::SASL)
///     .child(Element::new("not-authorized", ns::SASL))
///     .child(Element::builder("text", ns::SASL).text("Wrong password").build())
///     .build();
/// let f = SaslFailure::from_element(&el);
/// assert_eq!(f.condition, SaslCondition::NotAuthorized);
/// assert_eq!(f.to_string(), "not-authorized (Wrong password)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslFailure {
    /// The condition; an unknown or missing one is reported as
    /// `NotAuthorized`, the RFC's catch-all for refusal.
    pub condition: SaslCondition,
    /// The condition element as sent, when it was not one the RFC defines.
    pub unknown_condition: Option<String>,
    /// Human-readable text and its `xml:lang`, if the server sent any.
    pub text: Option<(Option<String>, String)>,
}

impl SaslFailure {
    /// Reads `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>`.
    pub fn from_element(el: &Element) -> Self {
        let mut condition = None;
        let mut unknown_condition = None;
        let mut text = None;
        for child in el.children().filter(|c| c.ns() == ns::SASL) {
            if child.name() == "text" {
                let lang = child.attr_ns(ns::XML, "lang").map(str::to_owned);
                text = Some((lang, child.text().into_owned()));
            } else if condition.is_none() {
                condition = SaslCondition::from_name(child.name());
                if condition.is_none() {
                    unknown_condition = Some(child.name().to_owned());
                }
            }
        }
        SaslFailure {
            condition: condition.unwrap_or(SaslCondition::NotAuthorized),
            unknown_condition,
            text,
        }
    }
}

impl std::fmt::Display for SaslFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.condition)?;
        if let Some((_, text)) = &self.text {
            write!(f, " ({text})")?;
        }
        Ok(())
    }
}
