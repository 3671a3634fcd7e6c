//! Stream errors (RFC 6120 §4.9).

use std::fmt;

use super::StanzaParseError;
use super::condition::StreamErrorCondition;
use super::error_parts::ErrorParts;
use crate::xml::{Element, ns};

/// A stream error: `<stream:error/>` (RFC 6120 §4.9).
///
/// ```
/// use xmpp_sansio::stanza::{SeeOtherHost, StreamError};
/// use xmpp_sansio::StreamErrorCondition;
///
/// let e = StreamError::new(StreamErrorCondition::SeeOtherHost).with_host("[2001:db8::ea:9]:9552");
/// let back = StreamError::from_element(&e.to_element()).unwrap();
/// assert_eq!(back.see_other_host(), Some(SeeOtherHost { host: "2001:db8::ea:9".into(), port: Some(9552) }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// The defined condition (an unknown one is read as `undefined-condition`).
    pub condition: StreamErrorCondition,
    /// The condition element's text: the host of `see-other-host`.
    pub condition_text: Option<String>,
    /// The descriptive `<text/>`s, each with its `xml:lang` (its own, else
    /// the one it inherits, as from the stream header). RFC 6120 §4.9.2
    /// allows one per language.
    pub texts: Vec<(Option<String>, String)>,
    /// An application-specific condition element.
    pub app_condition: Option<Element>,
}

/// Where `see-other-host` sends the client (RFC 6120 §4.9.3.19).
///
/// ```
/// use xmpp_sansio::stanza::SeeOtherHost;
/// let t = SeeOtherHost::parse("[2001:db8::1]:5222").unwrap();
/// assert_eq!((t.host.as_str(), t.port), ("2001:db8::1", Some(5222)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeeOtherHost {
    /// A domain name or an IP address (IPv6 without its brackets).
    pub host: String,
    /// The port, when given.
    pub port: Option<u16>,
}

impl SeeOtherHost {
    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6
    /// literal without brackets is taken whole as the host.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse().ok()?),
                None if after.is_empty() => None,
                None => return None,
            };
            return Some(Self {
                host: host.to_owned(),
                port,
            });
        }
        match s.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => Some(Self {
                host: host.to_owned(),
                port: Some(port.parse().ok()?),
            }),
            _ => Some(Self {
                host: s.to_owned(),
                port: None,
            }),
        }
    }
}

impl StreamError {
    /// An error with this condition and nothing else.
    pub fn new(condition: StreamErrorCondition) -> Self {
        Self {
            condition,
            condition_text: None,
            texts: Vec::new(),
            app_condition: None,
        }
    }

    /// Sets the `see-other-host` target (`host`, `host:port`, `[v6]:port`).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.condition_text = Some(host.into());
        self
    }

    /// Adds a descriptive text in `lang`, replacing one already in that
    /// language (one per language; tags compare case-insensitively).
    ///
    /// ```
    /// use xmpp_sansio::StreamErrorCondition;
    /// use xmpp_sansio::stanza::StreamError;
    /// let e = StreamError::new(StreamErrorCondition::SystemShutdown)
    ///     .with_text(Some("en"), "going down")
    ///     .with_text(Some("EN"), "going down now");
    /// assert_eq!(e.texts.len(), 1);
    /// assert_eq!(e.text(Some("en")), Some("going down now"));
    /// ```
    pub fn with_text(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        ErrorParts::set_text(&mut self.texts, lang, text.into());
        self
    }

    /// The text in `lang`, else the first text.
    ///
    /// ```
    /// use xmpp_sansio::stanza::StreamError;
    /// use xmpp_sansio::StreamErrorCondition;
    /// let e = StreamError::new(StreamErrorCondition::SystemShutdown)
    ///     .with_text(Some("en"), "going down")
    ///     .with_text(Some("de"), "wird beendet");
    /// assert_eq!(e.text(Some("de")), Some("wird beendet"));
    /// assert_eq!(e.text(Some("fr")), Some("going down"));
    /// ```
    pub fn text(&self, lang: Option<&str>) -> Option<&str> {
        ErrorParts::text_in(&self.texts, lang)
    }

    /// The `see-other-host` target, parsed.
    pub fn see_other_host(&self) -> Option<SeeOtherHost> {
        if self.condition != StreamErrorCondition::SeeOtherHost {
            return None;
        }
        self.condition_text.as_deref().and_then(SeeOtherHost::parse)
    }

    /// Reads `<stream:error/>`.
    pub fn from_element(el: &Element) -> Result<Self, StanzaParseError> {
        if !el.is("error", ns::STREAM) {
            return Err(StanzaParseError::Malformed("not a <stream:error/>"));
        }
        let parts = ErrorParts::read(el, ns::STREAM_ERRORS);
        let error = StreamError {
            condition: parts
                .condition
                .as_ref()
                .and_then(|c| StreamErrorCondition::from_name(c.name()))
                .unwrap_or(StreamErrorCondition::UndefinedCondition),
            condition_text: parts.condition_text(),
            texts: parts.texts,
            app_condition: parts.app_condition,
        };
        Ok(error)
    }

    /// Builds `<stream:error/>`.
    pub fn to_element(&self) -> Element {
        ErrorParts::write(
            Element::builder("error", ns::STREAM),
            ns::STREAM_ERRORS,
            self.condition.as_str(),
            self.condition_text.as_deref(),
            &self.texts,
            self.app_condition.as_ref(),
        )
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.condition)?;
        if let Some(t) = &self.condition_text {
            write!(f, " ({t})")?;
        }
        if let Some(text) = self.text(None) {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}
