//! Stanza errors (RFC 6120 §8.3).

use std::fmt;

use super::StanzaParseError;
use super::condition::conditions;
use super::error_parts::ErrorParts;
use crate::xml::{Element, ns};

/// The `type` of a stanza error (RFC 6120 §8.3.2): what the sender may do.
///
/// ```
/// use xmpp_sansio::stanza::ErrorType;
/// assert_eq!(ErrorType::from_name("wait"), Some(ErrorType::Wait));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// Retry after providing credentials.
    Auth,
    /// Do not retry: the error cannot be remedied.
    Cancel,
    /// Proceed: the condition was only a warning.
    Continue,
    /// Retry after changing the data sent.
    Modify,
    /// Retry after waiting: the error is temporary.
    Wait,
}

impl ErrorType {
    /// Every type.
    pub const ALL: [ErrorType; 5] = [
        ErrorType::Auth,
        ErrorType::Cancel,
        ErrorType::Continue,
        ErrorType::Modify,
        ErrorType::Wait,
    ];

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Auth => "auth",
            ErrorType::Cancel => "cancel",
            ErrorType::Continue => "continue",
            ErrorType::Modify => "modify",
            ErrorType::Wait => "wait",
        }
    }

    /// Parses the attribute value.
    pub fn from_name(s: &str) -> Option<Self> {
        ErrorType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

conditions! {
    /// A stanza error condition (RFC 6120 §8.3.3).
    ///
    /// ```
    /// use xmpp_sansio::stanza::{ErrorType, StanzaErrorCondition};
    /// assert_eq!(StanzaErrorCondition::ALL.len(), 22);
    /// assert_eq!(StanzaErrorCondition::from_name("item-not-found"), Some(StanzaErrorCondition::ItemNotFound));
    /// assert_eq!(StanzaErrorCondition::ResourceConstraint.default_type(), ErrorType::Wait);
    /// ```
    StanzaErrorCondition {
        /// §8.3.3.1: the request was malformed.
        BadRequest => "bad-request",
        /// §8.3.3.2: a resource or session with that name already exists.
        Conflict => "conflict",
        /// §8.3.3.3: the feature is not implemented by the recipient.
        FeatureNotImplemented => "feature-not-implemented",
        /// §8.3.3.4: the requester lacks the permissions.
        Forbidden => "forbidden",
        /// §8.3.3.5: the recipient is no longer at this address (a new one may follow).
        Gone => "gone",
        /// §8.3.3.6: the server had an internal error.
        InternalServerError => "internal-server-error",
        /// §8.3.3.7: the addressed JID or item does not exist.
        ItemNotFound => "item-not-found",
        /// §8.3.3.8: the JID is malformed.
        JidMalformed => "jid-malformed",
        /// §8.3.3.9: the request does not meet the recipient's criteria.
        NotAcceptable => "not-acceptable",
        /// §8.3.3.10: no entity may perform the action.
        NotAllowed => "not-allowed",
        /// §8.3.3.11: the sender must authenticate first.
        NotAuthorized => "not-authorized",
        /// §8.3.3.12: a local service policy was violated.
        PolicyViolation => "policy-violation",
        /// §8.3.3.13: the intended recipient is temporarily unavailable.
        RecipientUnavailable => "recipient-unavailable",
        /// §8.3.3.14: the recipient redirects to another entity.
        Redirect => "redirect",
        /// §8.3.3.15: registration is required first.
        RegistrationRequired => "registration-required",
        /// §8.3.3.16: a remote server does not exist.
        RemoteServerNotFound => "remote-server-not-found",
        /// §8.3.3.17: a remote server could not be reached in time.
        RemoteServerTimeout => "remote-server-timeout",
        /// §8.3.3.18: the server lacks the resources to service the request.
        ResourceConstraint => "resource-constraint",
        /// §8.3.3.19: the service is not provided here.
        ServiceUnavailable => "service-unavailable",
        /// §8.3.3.20: a subscription is required first.
        SubscriptionRequired => "subscription-required",
        /// §8.3.3.21: an error not covered by the others.
        UndefinedCondition => "undefined-condition",
        /// §8.3.3.22: the request was out of order.
        UnexpectedRequest => "unexpected-request",
    }
}

impl StanzaErrorCondition {
    /// The error type RFC 6120 §8.3.3 gives with each condition.
    pub fn default_type(self) -> ErrorType {
        use StanzaErrorCondition::*;
        match self {
            BadRequest | Gone | JidMalformed | NotAcceptable | PolicyViolation | Redirect => {
                ErrorType::Modify
            }
            Forbidden | NotAuthorized | RegistrationRequired | SubscriptionRequired => {
                ErrorType::Auth
            }
            RecipientUnavailable | RemoteServerTimeout | ResourceConstraint | UnexpectedRequest => {
                ErrorType::Wait
            }
            Conflict
            | FeatureNotImplemented
            | InternalServerError
            | ItemNotFound
            | NotAllowed
            | RemoteServerNotFound
            | ServiceUnavailable
            | UndefinedCondition => ErrorType::Cancel,
        }
    }
}

/// A stanza error (RFC 6120 §8.3): the `<error/>` child of a stanza of
/// type `error`.
///
/// ```
/// use xmpp_sansio::stanza::{ErrorType, StanzaError, StanzaErrorCondition};
///
/// let error = StanzaError::new(ErrorType::Cancel, StanzaErrorCondition::Gone)
///     .with_uri("xmpp:romeo@afterlife.example.net")
///     .with_text(Some("en"), "Romeo has moved");
/// let element = error.to_element();
/// assert_eq!(StanzaError::from_element(&element).unwrap(), error);
/// assert_eq!(error.to_string(), "gone (cancel): Romeo has moved");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    /// What the sender may do about it.
    pub type_: ErrorType,
    /// The defined condition. An unknown condition element is read as
    /// `UndefinedCondition`, as §8.3.2 requires.
    pub condition: StanzaErrorCondition,
    /// The URI carried by `gone` and `redirect` (their element's text).
    pub uri: Option<String>,
    /// The entity that generated the error (`by`).
    pub by: Option<String>,
    /// Descriptive texts, each with its `xml:lang`.
    pub texts: Vec<(Option<String>, String)>,
    /// An application-specific condition element (another namespace).
    pub app_condition: Option<Element>,
}

impl StanzaError {
    /// An error with a condition and type, and nothing else.
    pub fn new(type_: ErrorType, condition: StanzaErrorCondition) -> Self {
        Self {
            type_,
            condition,
            uri: None,
            by: None,
            texts: Vec::new(),
            app_condition: None,
        }
    }

    /// An error with the condition's usual type.
    pub fn from_condition(condition: StanzaErrorCondition) -> Self {
        Self::new(condition.default_type(), condition)
    }

    /// Adds a descriptive text in `lang`, replacing one already in that
    /// language (one per language; tags compare case-insensitively).
    ///
    /// ```
    /// use xmpp_sansio::stanza::{StanzaError, StanzaErrorCondition};
    /// let e = StanzaError::from_condition(StanzaErrorCondition::Conflict)
    ///     .with_text(Some("en"), "taken")
    ///     .with_text(Some("EN"), "already taken");
    /// assert_eq!(e.texts.len(), 1);
    /// assert_eq!(e.text(Some("en")), Some("already taken"));
    /// ```
    pub fn with_text(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        ErrorParts::set_text(&mut self.texts, lang, text.into());
        self
    }

    /// Sets the `gone`/`redirect` URI.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Sets `by`.
    pub fn with_by(mut self, by: impl Into<String>) -> Self {
        self.by = Some(by.into());
        self
    }

    /// Sets the application-specific condition.
    pub fn with_app_condition(mut self, el: Element) -> Self {
        self.app_condition = Some(el);
        self
    }

    /// The text in `lang`, else the first text.
    pub fn text(&self, lang: Option<&str>) -> Option<&str> {
        ErrorParts::text_in(&self.texts, lang)
    }

    /// Reads an `<error/>` element (in any stanza namespace).
    pub fn from_element(el: &Element) -> Result<Self, StanzaParseError> {
        if el.name() != "error" {
            return Err(StanzaParseError::Malformed("not an <error/> element"));
        }
        let parts = ErrorParts::read(el, ns::STANZAS);
        // An unknown condition is undefined-condition (§8.3.2).
        let condition = parts
            .condition
            .as_ref()
            .and_then(|c| StanzaErrorCondition::from_name(c.name()))
            .unwrap_or(StanzaErrorCondition::UndefinedCondition);
        let uri = matches!(
            condition,
            StanzaErrorCondition::Gone | StanzaErrorCondition::Redirect
        )
        .then(|| parts.condition_text())
        .flatten();
        // `type` is required, but old servers omit it: rather than lose the
        // condition, take the type RFC 6120 §8.3.3 gives with it.
        let type_ = match el.attr("type") {
            Some(t) => {
                ErrorType::from_name(t).ok_or(StanzaParseError::Malformed("unknown error type"))?
            }
            None => condition.default_type(),
        };
        let error = StanzaError {
            type_,
            condition,
            uri,
            by: el.attr("by").map(str::to_owned),
            texts: parts.texts,
            app_condition: parts.app_condition,
        };
        Ok(error)
    }

    /// Builds the `<error/>` element (in `jabber:client`).
    pub fn to_element(&self) -> Element {
        self.to_element_in(ns::JABBER_CLIENT)
    }

    /// Builds the `<error/>` element in the stanza namespace `stanza_ns`.
    pub fn to_element_in(&self, stanza_ns: &str) -> Element {
        let error = Element::builder("error", stanza_ns)
            .attr("type", self.type_.as_str())
            .attr_opt("by", self.by.clone());
        ErrorParts::write(
            error,
            ns::STANZAS,
            self.condition.as_str(),
            self.uri.as_deref(),
            &self.texts,
            self.app_condition.as_ref(),
        )
    }
}

impl fmt::Display for StanzaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.condition, self.type_.as_str())?;
        if let Some(text) = self.text(None) {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}
