//! What can go wrong in the XML layer, each mapped to its RFC 6120 stream error.

use crate::stanza::StreamErrorCondition;

/// Which limit of [`super::Limits`] was exceeded.
///
/// ```
/// use xmpp_sansio::xml::{Framer, LimitKind, Limits, XmlError};
/// let mut f = Framer::new(Limits { max_depth: 2, ..Limits::default() });
/// f.push(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><a><b/></a>");
/// let _ = f.next_event();
/// assert!(matches!(f.next_event(), Err(XmlError::LimitExceeded { kind: LimitKind::Depth, .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// Bytes of one top-level element (or of the stream header).
    StanzaBytes,
    /// Element nesting depth, the stream element included.
    Depth,
    /// Attributes on one element (namespace declarations included).
    Attributes,
    /// Bytes of one element or attribute name.
    NameLength,
    /// Heap bytes of one top-level element's tree
    /// ([`super::Limits::max_tree_bytes`]).
    TreeBytes,
}

/// A fatal error of the inbound XML stream. Every variant names the stream
/// error RFC 6120 prescribes for it ([`XmlError::condition`]).
///
/// The framer returns it from [`Framer::next_event`](super::Framer::next_event),
/// and keeps returning it: the stream cannot go on.
///
/// ```
/// use xmpp_sansio::xml::{Framer, Limits, XmlError};
/// use xmpp_sansio::StreamErrorCondition;
///
/// let mut f = Framer::new(Limits::default());
/// f.push(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
/// assert!(f.next_event().is_ok());
/// f.push(b"<message><!-- a comment --></message>");
/// let err = f.next_event().unwrap_err();
/// assert_eq!(err, XmlError::RestrictedXml("comment"));
/// assert_eq!(err.condition(), StreamErrorCondition::RestrictedXml);
/// assert_eq!(f.next_event(), Err(err)); // sticky
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Bytes that are not UTF-8 (RFC 6120 §4.9.3.22, §11.6).
    #[error("input is not valid UTF-8")]
    InvalidUtf8,
    /// An XML declaration naming an encoding other than UTF-8.
    #[error("unsupported encoding {0:?}")]
    UnsupportedEncoding(String),
    /// A comment, processing instruction, DTD, entity declaration or reference
    /// to an undeclared entity (RFC 6120 §11.1).
    #[error("restricted XML: {0}")]
    RestrictedXml(&'static str),
    /// A violation of XML 1.0 or XML Namespaces well-formedness.
    #[error("not well-formed: {0}")]
    NotWellFormed(String),
    /// The stream element is not in the stream namespace.
    #[error("stream element in namespace {0:?}, not http://etherx.jabber.org/streams")]
    InvalidNamespace(String),
    /// XML that is well-formed but cannot be processed (e.g. the stream root
    /// is not `stream`, or text appears between stanzas).
    #[error("bad format: {0}")]
    BadFormat(&'static str),
    /// A top-level element qualified by the stream's content namespace
    /// (`jabber:client`, `jabber:server` or `jabber:component:accept`)
    /// through a prefix, as in `<foo:message xmlns:foo='jabber:client'>`:
    /// RFC 6120 §4.8.5 forbids it, so it is not read as a stanza but ends
    /// the stream with `bad-namespace-prefix` (§4.9.3.2). The prefix.
    #[error("namespace prefix {0:?} on a top-level element in the content namespace")]
    BadNamespacePrefix(String),
    /// A configured limit was exceeded.
    #[error("limit exceeded: {kind:?} (limit {limit})")]
    LimitExceeded {
        /// Which limit.
        kind: LimitKind,
        /// Its configured value.
        limit: usize,
    },
}

impl XmlError {
    /// The stream error condition to send for this error.
    ///
    /// ```
    /// use xmpp_sansio::xml::XmlError;
    /// use xmpp_sansio::StreamErrorCondition;
    /// assert_eq!(XmlError::InvalidUtf8.condition(), StreamErrorCondition::UnsupportedEncoding);
    /// assert_eq!(XmlError::RestrictedXml("comment").condition(), StreamErrorCondition::RestrictedXml);
    /// ```
    pub fn condition(&self) -> StreamErrorCondition {
        match self {
            XmlError::InvalidUtf8 | XmlError::UnsupportedEncoding(_) => {
                StreamErrorCondition::UnsupportedEncoding
            }
            XmlError::RestrictedXml(_) => StreamErrorCondition::RestrictedXml,
            XmlError::NotWellFormed(_) => StreamErrorCondition::NotWellFormed,
            XmlError::InvalidNamespace(_) => StreamErrorCondition::InvalidNamespace,
            XmlError::BadFormat(_) => StreamErrorCondition::BadFormat,
            XmlError::BadNamespacePrefix(_) => StreamErrorCondition::BadNamespacePrefix,
            XmlError::LimitExceeded { .. } => StreamErrorCondition::PolicyViolation,
        }
    }

    pub(crate) fn not_well_formed(what: impl Into<String>) -> Self {
        XmlError::NotWellFormed(what.into())
    }
}

/// Why an [`ElementBuilder`](super::ElementBuilder) cannot make its element
/// ([`ElementBuilder::try_build`](super::ElementBuilder::try_build)).
///
/// ```
/// use xmpp_sansio::xml::{BuildError, Element};
/// let e = Element::builder("x", "").attr("xml:lang", "en").try_build();
/// assert_eq!(e, Err(BuildError::QualifiedName("xml:lang".into())));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// An attribute named `xmlns` or `xmlns:…`, or in the `xmlns`
    /// namespace: serialized, it would declare a namespace.
    #[error("attribute {0:?} would be a namespace declaration")]
    NamespaceDeclaration(String),
    /// An element in the reserved `xmlns` namespace, which no element
    /// may have (Namespaces in XML §3).
    #[error("element {0:?} in the reserved xmlns namespace")]
    ReservedNamespace(String),
    /// A local name with a `:` (prefixes are chosen by the serializer).
    #[error("name {0:?} has a prefix; give the namespace instead")]
    QualifiedName(String),
    /// More than 4 GiB of names and text in one element.
    #[error("element larger than 4 GiB")]
    TooLarge,
}
