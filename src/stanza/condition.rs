//! The defined conditions of RFC 6120 stream errors (§4.9.3).

macro_rules! conditions {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every condition, in the order the RFC lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The element name used on the wire, e.g. `"not-well-formed"`.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)* }
            }

            /// Parses an element name; `None` for anything the RFC does not define.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($wire => Some($name::$variant),)* _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
#[allow(unused_imports)] // used by the stanza error conditions
pub(crate) use conditions;

conditions! {
    /// A stream error condition (RFC 6120 §4.9.3).
    ///
    /// ```
    /// use xmpp_sansio::StreamErrorCondition;
    /// let c = StreamErrorCondition::from_name("restricted-xml").unwrap();
    /// assert_eq!(c, StreamErrorCondition::RestrictedXml);
    /// assert_eq!(c.as_str(), "restricted-xml");
    /// assert_eq!(StreamErrorCondition::ALL.len(), 25);
    /// ```
    StreamErrorCondition {
        /// §4.9.3.1: XML that cannot be processed.
        BadFormat => "bad-format",
        /// §4.9.3.2: an unsupported namespace prefix, or a missing one where needed.
        BadNamespacePrefix => "bad-namespace-prefix",
        /// §4.9.3.3: a new stream replaces this one for the same entity.
        Conflict => "conflict",
        /// §4.9.3.4: the peer has not generated traffic for too long.
        ConnectionTimeout => "connection-timeout",
        /// §4.9.3.5: the `to` domain is no longer serviced.
        HostGone => "host-gone",
        /// §4.9.3.6: the `to` domain is not serviced here.
        HostUnknown => "host-unknown",
        /// §4.9.3.7: a stanza between two servers lacks `to` or `from`, or they are wrong.
        ImproperAddressing => "improper-addressing",
        /// §4.9.3.8: a misconfiguration or an undefined internal error.
        InternalServerError => "internal-server-error",
        /// §4.9.3.9: a `from` that does not match an authorized JID.
        InvalidFrom => "invalid-from",
        /// §4.9.3.10: the stream or content namespace is wrong.
        InvalidNamespace => "invalid-namespace",
        /// §4.9.3.11: invalid XML.
        InvalidXml => "invalid-xml",
        /// §4.9.3.12: a stanza or request before authentication.
        NotAuthorized => "not-authorized",
        /// §4.9.3.13: XML that violates the well-formedness rules of XML or XML Namespaces.
        NotWellFormed => "not-well-formed",
        /// §4.9.3.14: a local service policy was violated (limits, rate).
        PolicyViolation => "policy-violation",
        /// §4.9.3.15: the server cannot reach a remote entity needed for authentication.
        RemoteConnectionFailed => "remote-connection-failed",
        /// §4.9.3.16: the server is closing the stream for a reason of its own (e.g. resumption).
        Reset => "reset",
        /// §4.9.3.17: the server lacks the resources to service the stream.
        ResourceConstraint => "resource-constraint",
        /// §4.9.3.18: comments, PIs, DTDs or undeclared entities (RFC 6120 §11.1).
        RestrictedXml => "restricted-xml",
        /// §4.9.3.19: the peer should connect to another host, given as the text.
        SeeOtherHost => "see-other-host",
        /// §4.9.3.20: the server is being shut down.
        SystemShutdown => "system-shutdown",
        /// §4.9.3.21: an error not covered by the other conditions.
        UndefinedCondition => "undefined-condition",
        /// §4.9.3.22: an encoding other than UTF-8, or bytes that are not valid UTF-8.
        UnsupportedEncoding => "unsupported-encoding",
        /// §4.9.3.23: a feature the peer requires is not supported.
        UnsupportedFeature => "unsupported-feature",
        /// §4.9.3.24: a top-level child of the stream that is not understood.
        UnsupportedStanzaType => "unsupported-stanza-type",
        /// §4.9.3.25: an unsupported stream version.
        UnsupportedVersion => "unsupported-version",
    }
}
