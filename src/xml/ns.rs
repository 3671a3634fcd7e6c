//! Namespace names used across the crate.

/// The namespace bound to the fixed `xml:` prefix.
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace bound to the reserved `xmlns:` prefix (never declarable).
pub const XMLNS: &str = "http://www.w3.org/2000/xmlns/";
/// The stream namespace (RFC 6120 §4.8.1).
pub const STREAM: &str = "http://etherx.jabber.org/streams";
/// The content namespace of client-to-server streams.
pub const JABBER_CLIENT: &str = "jabber:client";
/// The content namespace of server-to-server streams.
pub const JABBER_SERVER: &str = "jabber:server";
/// The content namespace of XEP-0114 component streams.
pub const COMPONENT_ACCEPT: &str = "jabber:component:accept";
/// Stream errors (RFC 6120 §4.9.2).
pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// Stanza errors (RFC 6120 §8.3.2).
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// STARTTLS (RFC 6120 §5).
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL (RFC 6120 §6).
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding (RFC 6120 §7).
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// The legacy session establishment (RFC 3921 §3, RFC 6121 Appendix E).
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// Rosters (RFC 6121 §2).
pub const ROSTER: &str = "jabber:iq:roster";
/// Roster versioning stream feature (RFC 6121 §2.6.1).
pub const ROSTER_VER: &str = "urn:xmpp:features:rosterver";
/// Subscription pre-approval stream feature (RFC 6121 §3.4.1).
pub const PRE_APPROVAL: &str = "urn:xmpp:features:pre-approval";
/// XMPP Ping (XEP-0199).
pub const PING: &str = "urn:xmpp:ping";
/// Stream management (XEP-0198).
pub const SM: &str = "urn:xmpp:sm:3";
/// SASL channel-binding type capability (XEP-0440).
pub const SASL_CB: &str = "urn:xmpp:sasl-cb:0";
