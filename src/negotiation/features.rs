//! `<stream:features/>` as a typed value (RFC 6120 §4.3.2).

use crate::xml::{Element, ns};

/// What the receiving entity offered in `<stream:features/>`.
///
/// Unknown features are kept in [`StreamFeatures::other`] so an application
/// (or a later layer such as stream management) can look at them.
///
/// ```
/// use xmpp_sansio::negotiation::StreamFeatures;
/// use xmpp_sansio::xml::{Element, ns};
///
/// let features = Element::builder("features", ns::STREAM)
///     .child(Element::builder("starttls", ns::TLS).child(Element::new("required", ns::TLS)).build())
///     .child(
///         Element::builder("mechanisms", ns::SASL)
///             .child(Element::builder("mechanism", ns::SASL).text("SCRAM-SHA-1").build())
///             .child(Element::builder("mechanism", ns::SASL).text("PLAIN").build())
///             .build(),
///     )
///     .build();
/// let f = StreamFeatures::from_element(&features);
/// assert_eq!(f.starttls, Some(true));
/// assert_eq!(f.mechanisms, vec!["SCRAM-SHA-1", "PLAIN"]);
/// assert!(!f.bind);
///
/// let after_auth = Element::builder("features", ns::STREAM)
///     .child(Element::new("bind", ns::BIND))
///     .child(Element::new("ver", ns::ROSTER_VER))
///     .child(Element::new("sub", ns::PRE_APPROVAL))
///     .build();
/// let f = StreamFeatures::from_element(&after_auth);
/// assert!(f.bind && f.roster_versioning && f.pre_approval);
/// assert!(f.other.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamFeatures {
    /// STARTTLS offered; `Some(true)` when marked `<required/>`.
    pub starttls: Option<bool>,
    /// SASL mechanism names, in the order offered.
    pub mechanisms: Vec<String>,
    /// Channel-binding types the server supports (XEP-0440), when it says.
    pub channel_binding_types: Option<Vec<String>>,
    /// Resource binding offered (RFC 6120 §7).
    pub bind: bool,
    /// The legacy session feature: `Some(optional)` when offered (RFC 6121
    /// Appendix E; servers that still offer it should mark it optional).
    pub session: Option<bool>,
    /// Roster versioning offered (RFC 6121 §2.6.1).
    pub roster_versioning: bool,
    /// Subscription pre-approval offered (RFC 6121 §3.4.1:
    /// `<sub xmlns='urn:xmpp:features:pre-approval'/>`). Without it, a
    /// client must not send a pre-approval; see
    /// [`crate::im::subscription::preapprove`].
    pub pre_approval: bool,
    /// Stream management offered (XEP-0198).
    pub stream_management: bool,
    /// Every other child, untouched.
    pub other: Vec<Element>,
}

impl StreamFeatures {
    /// Reads a `<stream:features/>` element. Malformed children are ignored
    /// rather than fatal: a feature we cannot read is a feature not offered.
    pub fn from_element(features: &Element) -> Self {
        let mut f = StreamFeatures::default();
        for child in features.children() {
            match (child.ns(), child.name()) {
                (ns::TLS, "starttls") => f.starttls = Some(child.has_child("required", ns::TLS)),
                (ns::SASL, "mechanisms") => {
                    f.mechanisms = child
                        .children()
                        .filter(|m| m.is("mechanism", ns::SASL))
                        .map(|m| m.text().trim().to_owned())
                        .filter(|m| !m.is_empty())
                        .collect();
                }
                (ns::SASL_CB, "sasl-channel-binding") => {
                    f.channel_binding_types = Some(
                        child
                            .children()
                            .filter(|c| c.is("channel-binding", ns::SASL_CB))
                            .filter_map(|c| c.attr("type").map(str::to_owned))
                            .collect(),
                    );
                }
                (ns::BIND, "bind") => f.bind = true,
                (ns::SESSION, "session") => {
                    f.session = Some(child.has_child("optional", ns::SESSION))
                }
                (ns::ROSTER_VER, "ver") => f.roster_versioning = true,
                (ns::PRE_APPROVAL, "sub") => f.pre_approval = true,
                (ns::SM, "sm") => f.stream_management = true,
                _ => f.other.push(child),
            }
        }
        f
    }

    /// The unknown features ([`StreamFeatures::other`]) the server marks
    /// mandatory-to-negotiate with a `<required/>` child in the feature's
    /// own namespace (RFC 6120 §4.3.2). The client cannot negotiate them:
    /// when nothing else it can negotiate is offered beside them, it ends
    /// the stream with `unsupported-feature` (§4.9.3.23).
    ///
    /// ```
    /// use xmpp_sansio::negotiation::StreamFeatures;
    /// use xmpp_sansio::xml::{Element, ns};
    /// let features = Element::builder("features", ns::STREAM)
    ///     .child(Element::builder("x", "urn:example:x").child(Element::new("required", "urn:example:x")).build())
    ///     .child(Element::new("y", "urn:example:y"))
    ///     .child(Element::builder("starttls", ns::TLS).child(Element::new("required", ns::TLS)).build())
    ///     .build();
    /// let f = StreamFeatures::from_element(&features);
    /// let names: Vec<&str> = f.required_unknown().map(|e| e.name()).collect();
    /// assert_eq!(names, ["x"]); // `y` is optional; STARTTLS is known
    /// ```
    pub fn required_unknown(&self) -> impl Iterator<Item = &Element> {
        self.other
            .iter()
            .filter(|feature| feature.has_child("required", feature.ns()))
    }
}
