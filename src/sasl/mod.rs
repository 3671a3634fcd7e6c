//! SASL mechanisms as pure state machines (RFC 4422 profiles used by
//! RFC 6120 §6): PLAIN, SCRAM-SHA-1/-256/-512 and their -PLUS forms,
//! ANONYMOUS and EXTERNAL. Bytes in, bytes out: base64 and XML are the
//! stream's business, nonces come from the caller.
//!
//! Both sides: the initiating entity's [`ClientAuth`] (example below) and
//! the receiving entity's [`ServerAuth`], which checks credentials against
//! the stored keys the application keeps ([`StoredCredentials`]) and
//! lists what to offer ([`ServerSaslConfig`]).
//!
//! ```
//! use xmpp_sansio::sasl::{ChannelBinding, ClientAuth, Credentials, Mechanism};
//!
//! // RFC 5802 §5, byte for byte.
//! let creds = Credentials { username: "user".into(), password: "pencil".into(), authzid: None };
//! let mut auth = ClientAuth::new(Mechanism::ScramSha1, &creds, &ChannelBinding::None, "fyko+d2lbbFgONRv9qkxdawL", false)?;
//! assert_eq!(auth.initial_response()?.unwrap(), b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
//! let final_message = auth.respond(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")?;
//! assert_eq!(
//!     final_message,
//!     b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
//! );
//! auth.finish(Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))?;   // the server proved itself
//! # Ok::<(), xmpp_sansio::sasl::SaslError>(())
//! ```

mod client;
mod scram;
mod server;

pub use client::ClientAuth;
pub use scram::{DEFAULT_MAX_ITERATIONS, ScramHash, ScramKeys};
pub use server::{
    DEFAULT_SERVER_ITERATIONS, FailureReason, Identity, SALT_LEN, ScramCredentials, ServerAuth,
    ServerSaslConfig, ServerStep, StoredCredentials, decode_payload,
};

/// A SASL mechanism the client can run.
///
/// ```
/// use xmpp_sansio::sasl::Mechanism;
/// assert_eq!(Mechanism::from_name("SCRAM-SHA-256"), Some(Mechanism::ScramSha256));
/// assert!(Mechanism::ScramSha1Plus.uses_channel_binding());
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// SCRAM-SHA-512-PLUS.
    ScramSha512Plus,
    /// SCRAM-SHA-256-PLUS (RFC 7677).
    ScramSha256Plus,
    /// SCRAM-SHA-1-PLUS (RFC 5802).
    ScramSha1Plus,
    /// SCRAM-SHA-512.
    ScramSha512,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-1 (RFC 5802).
    ScramSha1,
    /// PLAIN (RFC 4616): only over TLS unless explicitly allowed.
    Plain,
    /// EXTERNAL (RFC 4422 Appendix A): credentials from the transport.
    External,
    /// ANONYMOUS (RFC 4505).
    Anonymous,
}

impl Mechanism {
    /// Every mechanism, strongest first.
    pub const ALL: [Mechanism; 9] = [
        Mechanism::ScramSha512Plus,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha512,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
        Mechanism::External,
        Mechanism::Anonymous,
    ];

    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha512Plus => "SCRAM-SHA-512-PLUS",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::Plain => "PLAIN",
            Mechanism::External => "EXTERNAL",
            Mechanism::Anonymous => "ANONYMOUS",
        }
    }

    /// Parses a name (exact, as RFC 4422 names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether this is a -PLUS form.
    pub fn uses_channel_binding(self) -> bool {
        matches!(
            self,
            Mechanism::ScramSha512Plus | Mechanism::ScramSha256Plus | Mechanism::ScramSha1Plus
        )
    }

    /// Whether the mechanism authenticates with a username and password
    /// (SCRAM and PLAIN; not EXTERNAL or ANONYMOUS).
    pub(crate) fn uses_password(self) -> bool {
        !matches!(self, Mechanism::External | Mechanism::Anonymous)
    }

    fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha512Plus | Mechanism::ScramSha512 => Some(ScramHash::Sha512),
            Mechanism::ScramSha256Plus | Mechanism::ScramSha256 => Some(ScramHash::Sha256),
            Mechanism::ScramSha1Plus | Mechanism::ScramSha1 => Some(ScramHash::Sha1),
            _ => None,
        }
    }
}

/// Channel-binding data from the caller's TLS library.
///
/// ```
/// use xmpp_sansio::sasl::ChannelBinding;
/// assert_eq!(ChannelBinding::TlsExporter(vec![0; 32]).type_name(), Some("tls-exporter"));
/// assert_eq!(ChannelBinding::None.type_name(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChannelBinding {
    /// None available (no TLS, or the library cannot export it).
    #[default]
    None,
    /// `tls-exporter` (RFC 9266): 32 bytes exported with the label
    /// `EXPORTER-Channel-Binding` and no context (TLS 1.3).
    TlsExporter(Vec<u8>),
    /// `tls-server-end-point` (RFC 5929): the hash of the server certificate.
    TlsServerEndPoint(Vec<u8>),
    /// `tls-unique` (RFC 5929; TLS 1.2 only).
    TlsUnique(Vec<u8>),
}

impl ChannelBinding {
    /// The binding type's name, `None` for no binding.
    pub fn type_name(&self) -> Option<&'static str> {
        match self {
            ChannelBinding::None => None,
            ChannelBinding::TlsExporter(_) => Some("tls-exporter"),
            ChannelBinding::TlsServerEndPoint(_) => Some("tls-server-end-point"),
            ChannelBinding::TlsUnique(_) => Some("tls-unique"),
        }
    }

    fn data(&self) -> &[u8] {
        match self {
            ChannelBinding::None => &[],
            ChannelBinding::TlsExporter(d)
            | ChannelBinding::TlsServerEndPoint(d)
            | ChannelBinding::TlsUnique(d) => d,
        }
    }
}

/// Who is authenticating.
///
/// ```
/// use xmpp_sansio::sasl::Credentials;
/// let c = Credentials { username: "juliet".into(), password: "r0m30".into(), authzid: None };
/// assert!(!format!("{c:?}").contains("r0m30"), "Debug never shows the password");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The authentication identity: the account's localpart.
    pub username: String,
    /// The password.
    pub password: String,
    /// An authorization identity to act as, if different.
    pub authzid: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("authzid", &self.authzid)
            .finish()
    }
}

/// A SASL failure on the client's side.
///
/// ```
/// use xmpp_sansio::sasl::{ChannelBinding, ClientAuth, Credentials, Mechanism, SaslError};
/// let c = Credentials { username: "u".into(), password: "p".into(), authzid: None };
/// let err = ClientAuth::new(Mechanism::ScramSha1, &c, &ChannelBinding::None, "bad,nonce", false).err();
/// assert_eq!(err, Some(SaslError::InvalidNonce));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The client nonce is empty or holds characters SCRAM forbids.
    #[error("invalid client nonce")]
    InvalidNonce,
    /// A username, authzid or password that SASLprep (RFC 4013) refuses.
    #[error("SASLprep refused the {0}")]
    SaslPrep(&'static str),
    /// A credential PLAIN cannot carry: a NUL byte would end its field
    /// early and could smuggle in another authorization identity (RFC 4616).
    #[error("the {0} contains a NUL byte")]
    InvalidCredentials(&'static str),
    /// The mechanism needs channel-binding data and none was given.
    #[error("the mechanism needs channel-binding data")]
    ChannelBindingRequired,
    /// A challenge the mechanism cannot read.
    #[error("malformed challenge: {0}")]
    MalformedChallenge(&'static str),
    /// The server requires a SCRAM extension (`m=`, RFC 5802 §5.1: its
    /// presence "MUST cause authentication failure"); the value as sent.
    #[error("the server requires an unsupported SCRAM extension: m={0}")]
    MandatoryExtension(String),
    /// The server nonce does not extend ours (RFC 5802 §5.1).
    #[error("the server nonce does not extend the client nonce")]
    NonceMismatch,
    /// An iteration count of 0, or one that is not a positive decimal
    /// number without sign or leading zero (RFC 5802 §7, `posit-number`).
    #[error("invalid iteration count")]
    InvalidIterationCount,
    /// The server asks for more PBKDF2 iterations than the configured cap
    /// ([`ClientAuth::with_max_iterations`], [`DEFAULT_MAX_ITERATIONS`]).
    #[error("the server asks for {iterations} SCRAM iterations; at most {max} are allowed")]
    TooManyIterations {
        /// What the server asked for.
        iterations: u32,
        /// The cap.
        max: u32,
    },
    /// Provisioning with an empty salt ([`ScramCredentials::derive`]): a
    /// client refuses a server-first without one.
    #[error("empty salt")]
    EmptySalt,
    /// The server's signature is wrong: it does not know the password.
    #[error("the server signature does not verify")]
    ServerSignatureMismatch,
    /// Success without the server's signature.
    #[error("success without a server signature")]
    MissingServerSignature,
    /// The server sent a SCRAM `e=` error.
    #[error("the server reported: {0}")]
    ServerError(String),
    /// A challenge when none was expected.
    #[error("unexpected challenge")]
    UnexpectedChallenge,
    /// Success before the exchange was complete.
    #[error("success before the exchange completed")]
    UnexpectedSuccess,
}

/// Picks the mechanism to use among those `offered`.
///
/// Without `preferences`, the order is SCRAM-SHA-512/256/1-PLUS, then
/// SCRAM-SHA-512/256/1, then PLAIN (only when `allow_plain`). A -PLUS form
/// needs channel-binding data, of a type the server is known to accept:
///
/// - when the server lists its types (XEP-0440 `server_cb_types`), ours must
///   be among them, even if `preferences` names the -PLUS form: a binding
///   the server says it cannot check is a certain login failure, and a
///   login must never fail for want of channel binding: plain SCRAM is
///   always the fallback;
/// - when it lists none, only `tls-unique` (RFC 5802's default) qualifies,
///   unless `preferences` names the -PLUS form (the caller knows its
///   server). Real servers (ejabberd 23.01) offer -PLUS without a list and
///   refuse every type but `tls-unique`.
///
/// `preferences` replaces the order and may name EXTERNAL or ANONYMOUS.
/// A skipped -PLUS form falls through to the next preference.
///
/// [`ChannelBinding`] carries one type. A TLS library that can produce
/// several should give `tls-exporter` on TLS 1.3 (RFC 9266 makes it the
/// type for TLS 1.3) and `tls-server-end-point` otherwise; when the server
/// lists neither, plain SCRAM is used, with the GS2 flag `n`.
///
/// ```
/// use xmpp_sansio::sasl::{select_mechanism, ChannelBinding, Mechanism};
/// let offered = ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS"];
/// let exporter = ChannelBinding::TlsExporter(vec![0; 32]);
/// assert_eq!(select_mechanism(&offered, None, &exporter, None, true), Some(Mechanism::ScramSha256));
/// let cb_types = ["tls-exporter".to_owned()];
/// assert_eq!(select_mechanism(&offered, None, &exporter, Some(&cb_types), true), Some(Mechanism::ScramSha1Plus));
/// // An explicit -PLUS preference, but the server lists only another type:
/// let other = ["tls-server-end-point".to_owned()];
/// let prefs = [Mechanism::ScramSha1Plus, Mechanism::ScramSha1];
/// assert_eq!(select_mechanism(&offered, Some(&prefs), &exporter, Some(&other), true), Some(Mechanism::ScramSha1));
/// assert_eq!(select_mechanism(&["PLAIN"], None, &ChannelBinding::None, None, false), None);
/// ```
pub fn select_mechanism(
    offered: &[&str],
    preferences: Option<&[Mechanism]>,
    binding: &ChannelBinding,
    server_cb_types: Option<&[String]>,
    allow_plain: bool,
) -> Option<Mechanism> {
    let explicit = preferences.is_some();
    let binding_usable = match (binding.type_name(), server_cb_types) {
        (None, _) => false,
        (Some(t), Some(types)) => types.iter().any(|s| s == t),
        (Some(t), None) => explicit || t == "tls-unique",
    };
    let usable = |m: &Mechanism| {
        offered.contains(&m.name())
            && match m {
                m if m.uses_channel_binding() => binding_usable,
                Mechanism::Plain => allow_plain,
                _ => true,
            }
    };
    match preferences {
        Some(order) => order.iter().copied().find(usable),
        // Unless asked for, the mechanisms that need no password (EXTERNAL,
        // ANONYMOUS) are never chosen; the rest in `ALL`'s order.
        None => Mechanism::ALL
            .into_iter()
            .filter(|m| m.uses_password())
            .find(usable),
    }
}

/// SASLprep (RFC 4013), as the `stringprep` crate implements it.
pub(crate) fn saslprep(s: &str, what: &'static str) -> Result<String, SaslError> {
    stringprep::saslprep(s)
        .map(|c| c.into_owned())
        .map_err(|_| SaslError::SaslPrep(what))
}

#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod tests;
