//! The receiving entity's side of SASL (RFC 6120 §6 as the server): what to
//! offer, and one exchange as a pure state machine ([`ServerAuth`]).
//!
//! Credentials are never plaintext: the application keeps, per account,
//! SCRAM's salt, iteration count, `StoredKey` and `ServerKey` for each hash
//! ([`StoredCredentials`]), and answers the machine's
//! [`ServerStep::NeedCredentials`] whenever its store replies. PLAIN is
//! checked against the same keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::scram::{constant_time_eq, unescape_saslname};
use super::{ChannelBinding, Mechanism, SaslError, ScramHash, ScramKeys, saslprep};
use crate::negotiation::SaslCondition;
use crate::xml::{Element, ns};

/// The iteration count [`ServerSaslConfig::new`] starts with: RFC 7677's
/// minimum for SCRAM-SHA-256, and what ejabberd uses.
pub const DEFAULT_SERVER_ITERATIONS: u32 = 4096;

/// The salt length the fake answers for unknown users use (bytes). Provision
/// real accounts with salts of this length, so the two cannot be told apart.
pub const SALT_LEN: usize = 16;

/// What the server keeps for one hash of one account (RFC 5802 §3, §9):
/// enough to verify a client's proof and prove itself, not enough to log in.
///
/// ```
/// use xmpp_sansio::sasl::{ScramCredentials, ScramHash};
/// let c = ScramCredentials::derive(ScramHash::Sha256, "pencil", b"0123456789abcdef", 4096)?;
/// assert_eq!((c.iterations, c.stored_key.len()), (4096, 32));
/// assert!(!format!("{c:?}").contains(&format!("{:?}", c.stored_key)), "Debug hides the keys");
/// # Ok::<(), xmpp_sansio::sasl::SaslError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    /// The hash these keys belong to.
    pub hash: ScramHash,
    /// The salt (raw bytes; base64 only on the wire).
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// `StoredKey = H(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Vec<u8>,
    /// `ServerKey = HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredentials {
    /// Provisioning: derives the keys from a password (SASLprep'd here, as
    /// the client does), a salt from the caller's random source (see
    /// [`SALT_LEN`]) and an iteration count.
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, SaslError> {
        if iterations == 0 {
            return Err(SaslError::InvalidIterationCount);
        }
        if salt.is_empty() {
            return Err(SaslError::EmptySalt);
        }
        let password = saslprep(password, "password")?;
        let keys = ScramKeys::derive(hash, &password, salt, iterations);
        Ok(Self {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: keys.stored_key,
            server_key: keys.server_key,
        })
    }

    /// Whether these keys can be used: a salt, at least one iteration, keys
    /// of the hash's length. Unusable keys fail like a wrong password.
    fn usable(&self) -> bool {
        !self.salt.is_empty()
            && self.iterations > 0
            && self.stored_key.len() == self.hash.output_len()
            && self.server_key.len() == self.hash.output_len()
    }
}

/// Everything the server keeps for one account: [`ScramCredentials`] for
/// one or more hashes. A mechanism whose hash is missing fails as for an
/// unknown user.
///
/// ```
/// use xmpp_sansio::sasl::{ScramHash, StoredCredentials};
/// let stored = StoredCredentials::derive("pencil", b"0123456789abcdef", 4096)?;
/// assert!(stored.get(ScramHash::Sha512).is_some());
/// let only_sha1 = StoredCredentials { scram: vec![stored.get(ScramHash::Sha1).unwrap().clone()] };
/// assert!(only_sha1.get(ScramHash::Sha256).is_none());
/// # Ok::<(), xmpp_sansio::sasl::SaslError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredCredentials {
    /// The keys, one entry per hash (the first for a hash is used).
    pub scram: Vec<ScramCredentials>,
}

impl StoredCredentials {
    /// Provisioning for every hash (SHA-512, SHA-256, SHA-1) with one salt
    /// and iteration count.
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Result<Self, SaslError> {
        let scram = ScramHash::ALL
            .into_iter()
            .map(|h| ScramCredentials::derive(h, password, salt, iterations))
            .collect::<Result<_, _>>()?;
        Ok(Self { scram })
    }

    /// The keys for `hash`, if kept.
    pub fn get(&self, hash: ScramHash) -> Option<&ScramCredentials> {
        self.scram.iter().find(|c| c.hash == hash)
    }
}

/// The server's SASL policy: which mechanisms it runs, over what, and how
/// it answers for accounts it does not have.
///
/// ```
/// use xmpp_sansio::sasl::{ChannelBinding, Mechanism, ServerSaslConfig};
/// let mut config = ServerSaslConfig::new(*b"a random secret kept across restarts");
/// // No TLS yet: no PLAIN, no -PLUS.
/// assert_eq!(config.offered(), [Mechanism::ScramSha512, Mechanism::ScramSha256, Mechanism::ScramSha1]);
/// config.tls = true;
/// config.channel_bindings = vec![ChannelBinding::TlsExporter(vec![0; 32])];
/// assert_eq!(config.offered().len(), 7);
/// assert_eq!(config.channel_binding_types(), ["tls-exporter"]);
/// ```
#[derive(Clone)]
pub struct ServerSaslConfig {
    /// The mechanisms the server runs, in the order offered. The default is
    /// SCRAM-SHA-512/256/1-PLUS, SCRAM-SHA-512/256/1, PLAIN. ANONYMOUS may
    /// be added; EXTERNAL is not run by [`ServerAuth`] and never offered.
    pub mechanisms: Vec<Mechanism>,
    /// Whether the stream is encrypted.
    pub tls: bool,
    /// The channel-binding data the caller's TLS library gives for this
    /// connection, one entry per type; -PLUS forms are offered only with at
    /// least one (and TLS).
    pub channel_bindings: Vec<ChannelBinding>,
    /// Offer PLAIN on an unencrypted stream (RFC 6120 §13.9.4 advises
    /// against it; for tests and loopback only).
    pub allow_plain_without_tls: bool,
    /// The iteration count of the fake answers for unknown accounts: set it
    /// to what provisioning uses ([`DEFAULT_SERVER_ITERATIONS`]).
    pub iterations: u32,
    /// The server's domain: an authorization identity equal to
    /// `username@domain` (or to the username) is accepted without asking.
    pub domain: Option<String>,
    /// The key of the fake salts for unknown accounts. Random, secret, and
    /// stable across restarts: the same unknown name must get the same salt
    /// each time, and nobody must be able to compute it.
    fake_salt_secret: Vec<u8>,
}

impl std::fmt::Debug for ServerSaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSaslConfig")
            .field("mechanisms", &self.mechanisms)
            .field("tls", &self.tls)
            .field("channel_bindings", &self.channel_binding_types())
            .field("allow_plain_without_tls", &self.allow_plain_without_tls)
            .field("iterations", &self.iterations)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl ServerSaslConfig {
    /// The default policy, with the secret for the fake salts of unknown
    /// accounts (see [`ServerSaslConfig::iterations`]).
    pub fn new(fake_salt_secret: impl Into<Vec<u8>>) -> Self {
        Self {
            mechanisms: vec![
                Mechanism::ScramSha512Plus,
                Mechanism::ScramSha256Plus,
                Mechanism::ScramSha1Plus,
                Mechanism::ScramSha512,
                Mechanism::ScramSha256,
                Mechanism::ScramSha1,
                Mechanism::Plain,
            ],
            tls: false,
            channel_bindings: Vec::new(),
            allow_plain_without_tls: false,
            iterations: DEFAULT_SERVER_ITERATIONS,
            domain: None,
            fake_salt_secret: fake_salt_secret.into(),
        }
    }

    fn has_binding(&self) -> bool {
        self.tls
            && self
                .channel_bindings
                .iter()
                .any(|b| b.type_name().is_some())
    }

    fn binding(&self, type_name: &str) -> Option<&ChannelBinding> {
        if !self.tls {
            return None;
        }
        self.channel_bindings
            .iter()
            .find(|b| b.type_name() == Some(type_name))
    }

    /// Whether this mechanism is offered now.
    fn offers(&self, m: Mechanism) -> bool {
        self.mechanisms.contains(&m)
            && match m {
                m if m.uses_channel_binding() => self.has_binding(),
                Mechanism::Plain => self.tls || self.allow_plain_without_tls,
                Mechanism::External => false,
                _ => true,
            }
    }

    /// The mechanisms to advertise now, in [`ServerSaslConfig::mechanisms`]'
    /// order: PLAIN only over TLS (unless allowed without), -PLUS only with
    /// channel-binding data, never EXTERNAL; each once.
    pub fn offered(&self) -> Vec<Mechanism> {
        let mut out: Vec<Mechanism> = Vec::new();
        for &m in &self.mechanisms {
            if self.offers(m) && !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    /// The channel-binding types the server can check now (XEP-0440), each
    /// once, in the order given; none without TLS.
    pub fn channel_binding_types(&self) -> Vec<&'static str> {
        let mut types: Vec<&'static str> = Vec::new();
        if self.tls {
            for t in self
                .channel_bindings
                .iter()
                .filter_map(ChannelBinding::type_name)
            {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
        types
    }

    /// `<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` listing
    /// [`ServerSaslConfig::offered`], for `<stream:features/>`.
    ///
    /// ```
    /// use xmpp_sansio::sasl::ServerSaslConfig;
    /// let el = ServerSaslConfig::new(*b"secret").mechanisms_element();
    /// assert_eq!(el.children().count(), 3);
    /// assert_eq!(el.children().next().unwrap().text(), "SCRAM-SHA-512");
    /// ```
    pub fn mechanisms_element(&self) -> Element {
        Element::builder("mechanisms", ns::SASL)
            .children(self.offered().into_iter().map(|m| {
                Element::builder("mechanism", ns::SASL)
                    .text(m.name())
                    .build()
            }))
            .build()
    }

    /// XEP-0440's `<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>` with
    /// one `<channel-binding type='…'/>` per type, when any -PLUS form is
    /// offered; `None` otherwise.
    ///
    /// ```
    /// use xmpp_sansio::sasl::{ChannelBinding, ServerSaslConfig};
    /// use xmpp_sansio::negotiation::StreamFeatures;
    /// use xmpp_sansio::xml::{Element, ns};
    /// let mut config = ServerSaslConfig::new(*b"secret");
    /// assert!(config.channel_binding_element().is_none());
    /// config.tls = true;
    /// config.channel_bindings = vec![
    ///     ChannelBinding::TlsExporter(vec![1; 32]),
    ///     ChannelBinding::TlsServerEndPoint(vec![2; 32]),
    /// ];
    /// let features = Element::builder("features", ns::STREAM)
    ///     .child(config.mechanisms_element())
    ///     .child(config.channel_binding_element().unwrap())
    ///     .build();
    /// // What our client reads from it:
    /// let f = StreamFeatures::from_element(&features);
    /// assert_eq!(f.channel_binding_types.unwrap(), ["tls-exporter", "tls-server-end-point"]);
    /// assert_eq!(f.mechanisms[0], "SCRAM-SHA-512-PLUS");
    /// ```
    pub fn channel_binding_element(&self) -> Option<Element> {
        if !self.offered().iter().any(|m| m.uses_channel_binding()) {
            return None;
        }
        Some(
            Element::builder("sasl-channel-binding", ns::SASL_CB)
                .children(self.channel_binding_types().into_iter().map(|t| {
                    Element::builder("channel-binding", ns::SASL_CB)
                        .attr("type", t)
                        .build()
                }))
                .build(),
        )
    }

    /// A deterministic, secret-keyed stand-in for an unknown account's keys:
    /// the same name always gets the same salt, which nobody without the
    /// secret can predict, so a SCRAM server-first looks like a real one.
    fn fake_credentials(&self, hash: ScramHash, username: &str) -> ScramCredentials {
        let derive = |label: &str, len: usize| {
            let mut data = label.as_bytes().to_vec();
            data.push(0);
            data.extend_from_slice(format!("{hash:?}").as_bytes());
            data.push(0);
            data.extend_from_slice(username.as_bytes());
            let mut out = ScramHash::Sha512.hmac(&self.fake_salt_secret, &data);
            out.truncate(len);
            out
        };
        ScramCredentials {
            hash,
            salt: derive("salt", SALT_LEN),
            iterations: self.iterations.max(1),
            stored_key: derive("stored-key", hash.output_len()),
            server_key: derive("server-key", hash.output_len()),
        }
    }
}

/// Why an exchange failed: for the server's logs. Only
/// [`FailureReason::condition`] goes on the wire, so a wrong password and
/// an unknown account look the same to the client
/// ([`FailureReason::InvalidCredentials`] stands for both).
///
/// ```
/// use xmpp_sansio::negotiation::SaslCondition;
/// use xmpp_sansio::sasl::FailureReason;
/// assert_eq!(FailureReason::Downgrade.condition(), SaslCondition::NotAuthorized);
/// assert_eq!(FailureReason::Malformed("x").condition(), SaslCondition::MalformedRequest);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FailureReason {
    /// A mechanism name the crate does not know, or one not offered now.
    #[error("the mechanism is not offered")]
    InvalidMechanism,
    /// PLAIN on an unencrypted stream when only offered over TLS.
    #[error("the mechanism needs an encrypted stream")]
    EncryptionRequired,
    /// `<auth/>` or `<response/>` text that is not base64 (RFC 6120 §6.5.5).
    #[error("the payload is not base64")]
    IncorrectEncoding,
    /// A message that breaks the mechanism's syntax; what was wrong.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A SCRAM mandatory extension (`m=`, RFC 5802 §5.1).
    #[error("the client requires an unsupported SCRAM extension")]
    MandatoryExtension,
    /// GS2 flag `y` while a -PLUS form was offered: the client could bind
    /// and thinks we cannot, so something stripped the -PLUS forms on the
    /// way (RFC 5802 §6).
    #[error("channel-binding downgrade (flag 'y' while -PLUS was offered)")]
    Downgrade,
    /// `p=` names a type the server has no data for.
    #[error("unsupported channel-binding type")]
    UnsupportedChannelBinding,
    /// The client's `c=` is not our GS2 header and binding data.
    #[error("the channel binding does not match")]
    ChannelBindingMismatch,
    /// The client-final nonce is not the one of this exchange.
    #[error("the nonce does not match")]
    NonceMismatch,
    /// A wrong password or proof, an unknown account, or an account without
    /// keys for this hash: deliberately one reason.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The authorization identity was refused.
    #[error("the authorization identity is refused")]
    AuthzidRefused,
    /// The client sent `<abort/>`.
    #[error("aborted by the client")]
    Aborted,
    /// A message or call when the exchange is not waiting for it.
    #[error("unexpected at this point of the exchange")]
    OutOfOrder,
}

impl FailureReason {
    /// The RFC 6120 §6.5 condition to send.
    pub fn condition(self) -> SaslCondition {
        match self {
            FailureReason::InvalidMechanism => SaslCondition::InvalidMechanism,
            FailureReason::EncryptionRequired => SaslCondition::EncryptionRequired,
            FailureReason::IncorrectEncoding => SaslCondition::IncorrectEncoding,
            FailureReason::Malformed(_)
            | FailureReason::MandatoryExtension
            | FailureReason::OutOfOrder => SaslCondition::MalformedRequest,
            FailureReason::Downgrade
            | FailureReason::UnsupportedChannelBinding
            | FailureReason::ChannelBindingMismatch
            | FailureReason::NonceMismatch
            | FailureReason::InvalidCredentials => SaslCondition::NotAuthorized,
            FailureReason::AuthzidRefused => SaslCondition::InvalidAuthzid,
            FailureReason::Aborted => SaslCondition::Aborted,
        }
    }
}

/// Decodes the text of `<auth/>` or `<response/>` (RFC 6120 §6.4.2):
/// `None` for no text (for `<auth/>`: no initial response; for
/// `<response/>`: an empty one), `Some(vec![])` for `=`, else the base64.
/// Surrounding whitespace is ignored; anything else that is not base64 is
/// [`FailureReason::IncorrectEncoding`].
///
/// ```
/// use xmpp_sansio::sasl::{decode_payload, FailureReason};
/// assert_eq!(decode_payload(""), Ok(None));
/// assert_eq!(decode_payload("="), Ok(Some(vec![])));
/// assert_eq!(decode_payload(" biws "), Ok(Some(b"n,,".to_vec())));
/// assert_eq!(decode_payload("bi ws"), Err(FailureReason::IncorrectEncoding));
/// ```
pub fn decode_payload(text: &str) -> Result<Option<Vec<u8>>, FailureReason> {
    match text.trim() {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        t => BASE64
            .decode(t)
            .map(Some)
            .map_err(|_| FailureReason::IncorrectEncoding),
    }
}

/// The identity an exchange authenticated.
///
/// ```
/// use xmpp_sansio::sasl::Identity;
/// let id = Identity::Account { username: "juliet".into(), authzid: None };
/// assert_eq!(id.username(), Some("juliet"));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// An account: its username (SASLprep'd) and the authorization identity
    /// the client asked for and the server accepted, if any.
    Account {
        /// The authentication identity.
        username: String,
        /// The authorization identity, as sent.
        authzid: Option<String>,
    },
    /// ANONYMOUS (RFC 4505): the server assigns an identity.
    Anonymous {
        /// The client's trace information, if it sent any.
        trace: Option<String>,
    },
}

impl Identity {
    /// The username of an account.
    pub fn username(&self) -> Option<&str> {
        match self {
            Identity::Account { username, .. } => Some(username),
            Identity::Anonymous { .. } => None,
        }
    }
}

/// What [`ServerAuth`] wants done next.
///
/// ```
/// use xmpp_sansio::sasl::{FailureReason, ServerAuth, ServerSaslConfig, ServerStep};
/// let mut config = ServerSaslConfig::new(*b"secret");
/// config.tls = true;
/// let mut auth = ServerAuth::new(&config, "snonce")?;
/// // `<auth mechanism='PLAIN'/>` without text: ask for the initial response.
/// assert_eq!(auth.start("PLAIN", None), ServerStep::Challenge(vec![]));
/// assert_eq!(
///     auth.respond(b"\0juliet\0r0m30"),
///     ServerStep::NeedCredentials { username: "juliet".into(), authzid: None }
/// );
/// // No such account: the same failure as a wrong password.
/// let step = auth.provide(None);
/// assert_eq!(step, ServerStep::Failure(FailureReason::InvalidCredentials));
/// if let ServerStep::Failure(reason) = step {
///     assert_eq!(reason.condition().as_str(), "not-authorized");
/// }
/// # Ok::<(), xmpp_sansio::sasl::SaslError>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// Send `<challenge/>` with these bytes (base64; empty is an empty
    /// element).
    Challenge(Vec<u8>),
    /// Look the account up, then call [`ServerAuth::provide`] (or
    /// [`ServerAuth::provide_allowing_authzid`]), now or later.
    NeedCredentials {
        /// The authentication identity, unescaped and SASLprep'd.
        username: String,
        /// The authorization identity the client asks for, as sent. Unless
        /// it is the username or `username@domain`, the exchange fails with
        /// `invalid-authzid` unless the caller allows it.
        authzid: Option<String>,
    },
    /// Send `<success/>` with the additional data (SCRAM's server-final
    /// `v=`), if any.
    Success {
        /// Who authenticated.
        identity: Identity,
        /// The additional data with success.
        additional_data: Option<Vec<u8>>,
    },
    /// Send `<failure/>` with [`FailureReason::condition`]. The exchange is
    /// over; a retry is a new [`ServerAuth`].
    Failure(FailureReason),
}

/// A parsed SCRAM client-first-message, waiting for the account's keys.
#[derive(Debug, Clone)]
struct ScramStart {
    hash: ScramHash,
    gs2_header: String,
    cb_data: Vec<u8>,
    username: String,
    authzid: Option<String>,
    client_first_bare: String,
    client_nonce: String,
}

#[derive(Clone)]
struct ScramWaitFinal {
    start: ScramStart,
    server_first: String,
    nonce: String,
    keys: ScramCredentials,
    known: bool,
    authzid_allowed: bool,
}

#[derive(Clone)]
enum Phase {
    Start,
    /// `<auth/>` came without an initial response; we sent an empty
    /// challenge and the next response is the initial one.
    AwaitInitial(Mechanism),
    PlainLookup {
        username: String,
        authzid: Option<String>,
        password: String,
    },
    ScramLookup(Box<ScramStart>),
    ScramFinal(Box<ScramWaitFinal>),
    Done,
}

impl std::fmt::Debug for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Start => "Start",
            Phase::AwaitInitial(_) => "AwaitInitial",
            Phase::PlainLookup { .. } => "PlainLookup",
            Phase::ScramLookup(_) => "ScramLookup",
            Phase::ScramFinal(_) => "ScramFinal",
            Phase::Done => "Done",
        })
    }
}

/// One SASL exchange on the receiving entity's side: a pure state machine.
/// The stream decodes `<auth/>`/`<response/>` ([`decode_payload`]), feeds
/// the bytes in, and writes what each [`ServerStep`] says.
///
/// ```
/// use xmpp_sansio::sasl::*;
/// let config = ServerSaslConfig::new(*b"fake-salt secret");
/// let stored = StoredCredentials::derive("pencil", b"0123456789abcdef", 4096)?;
///
/// let creds = Credentials { username: "user".into(), password: "pencil".into(), authzid: None };
/// let mut client = ClientAuth::new(Mechanism::ScramSha256, &creds, &ChannelBinding::None, "cnonce", false)?;
/// let mut server = ServerAuth::new(&config, "snonce")?;
///
/// let step = server.start("SCRAM-SHA-256", client.initial_response()?.as_deref());
/// assert_eq!(step, ServerStep::NeedCredentials { username: "user".into(), authzid: None });
/// // ... the account store answers, perhaps later:
/// let ServerStep::Challenge(server_first) = server.provide(Some(&stored)) else { panic!() };
/// let client_final = client.respond(&server_first)?;
/// let ServerStep::Success { identity, additional_data } = server.respond(&client_final) else { panic!() };
/// assert_eq!(identity.username(), Some("user"));
/// client.finish(additional_data.as_deref())?; // the client checks the server's signature
/// # Ok::<(), SaslError>(())
/// ```
#[derive(Clone)]
pub struct ServerAuth {
    config: ServerSaslConfig,
    server_nonce: String,
    mechanism: Option<Mechanism>,
    phase: Phase,
}

impl std::fmt::Debug for ServerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerAuth")
            .field("mechanism", &self.mechanism)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

/// `printable` without `,` (RFC 5802 §7), non-empty.
fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// One `attr-val`: a single ASCII letter, `=`, the value.
fn attribute(part: &str) -> Option<(u8, &str)> {
    let (key, value) = part.split_once('=')?;
    match key.as_bytes() {
        [c] if c.is_ascii_alphabetic() => Some((*c, value)),
        _ => None,
    }
}

impl ServerAuth {
    /// A new exchange under `config`. `server_nonce` is this exchange's
    /// part of the SCRAM nonce, from the caller's random source (printable
    /// ASCII without `,`; 18 or more random characters): a fresh one per
    /// exchange is what makes a replayed client message fail.
    pub fn new(config: &ServerSaslConfig, server_nonce: &str) -> Result<Self, SaslError> {
        if !valid_nonce(server_nonce) {
            return Err(SaslError::InvalidNonce);
        }
        Ok(Self {
            config: config.clone(),
            server_nonce: server_nonce.to_owned(),
            mechanism: None,
            phase: Phase::Start,
        })
    }

    /// The mechanism, once [`ServerAuth::start`] accepted it.
    pub fn mechanism(&self) -> Option<Mechanism> {
        self.mechanism
    }

    fn fail(&mut self, reason: FailureReason) -> ServerStep {
        self.phase = Phase::Done;
        ServerStep::Failure(reason)
    }

    /// `<auth mechanism='…'/>` with its initial response, decoded (`None`
    /// when the element had no text).
    pub fn start(&mut self, mechanism: &str, initial_response: Option<&[u8]>) -> ServerStep {
        if !matches!(self.phase, Phase::Start) {
            return self.fail(FailureReason::OutOfOrder);
        }
        let Some(m) = Mechanism::from_name(mechanism) else {
            return self.fail(FailureReason::InvalidMechanism);
        };
        if !self.config.offers(m) {
            let plain_later = m == Mechanism::Plain
                && !self.config.tls
                && self.config.mechanisms.contains(&Mechanism::Plain);
            return self.fail(if plain_later {
                FailureReason::EncryptionRequired
            } else {
                FailureReason::InvalidMechanism
            });
        }
        self.mechanism = Some(m);
        match initial_response {
            Some(data) => self.initial(m, data),
            None => {
                self.phase = Phase::AwaitInitial(m);
                ServerStep::Challenge(Vec::new())
            }
        }
    }

    /// `<response/>`, decoded (an empty element is empty data).
    pub fn respond(&mut self, response: &[u8]) -> ServerStep {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::AwaitInitial(m) => self.initial(m, response),
            Phase::ScramFinal(wait) => self.scram_final(*wait, response),
            _ => self.fail(FailureReason::OutOfOrder),
        }
    }

    /// `<abort/>` from the client (RFC 6120 §6.4.4).
    pub fn abort(&mut self) -> ServerStep {
        self.fail(FailureReason::Aborted)
    }

    /// The account store's answer to [`ServerStep::NeedCredentials`]: the
    /// account's keys, or `None` for no such account (the exchange goes on
    /// as for a wrong password, with a fake salt, and fails at the same
    /// point with the same condition). An authorization identity other than
    /// the username or `username@domain` is refused (`invalid-authzid`,
    /// after the credentials verify).
    pub fn provide(&mut self, credentials: Option<&StoredCredentials>) -> ServerStep {
        self.provide_inner(credentials, false)
    }

    /// As [`ServerAuth::provide`], the caller having decided that this
    /// account may act as the authorization identity it asked for.
    pub fn provide_allowing_authzid(
        &mut self,
        credentials: Option<&StoredCredentials>,
    ) -> ServerStep {
        self.provide_inner(credentials, true)
    }

    fn authzid_ok(&self, username: &str, authzid: Option<&str>, allowed: bool) -> bool {
        match authzid {
            None => true,
            Some(_) if allowed => true,
            Some(a) => {
                a == username
                    || self
                        .config
                        .domain
                        .as_deref()
                        .is_some_and(|d| a.split_once('@') == Some((username, d)))
            }
        }
    }

    fn initial(&mut self, m: Mechanism, data: &[u8]) -> ServerStep {
        match m {
            Mechanism::Plain => self.plain(data),
            Mechanism::Anonymous => self.anonymous(data),
            _ => match m.scram_hash() {
                Some(hash) => self.scram_first(m, hash, data),
                None => self.fail(FailureReason::InvalidMechanism),
            },
        }
    }

    /// RFC 4505: `message = [ email / token ]`, UTF-8, up to 255 characters.
    fn anonymous(&mut self, data: &[u8]) -> ServerStep {
        let Ok(trace) = std::str::from_utf8(data) else {
            return self.fail(FailureReason::Malformed("the trace is not UTF-8"));
        };
        if trace.chars().count() > 255 {
            return self.fail(FailureReason::Malformed("the trace is over 255 characters"));
        }
        self.phase = Phase::Done;
        ServerStep::Success {
            identity: Identity::Anonymous {
                trace: (!trace.is_empty()).then(|| trace.to_owned()),
            },
            additional_data: None,
        }
    }

    /// RFC 4616: `[authzid] NUL authcid NUL passwd`, UTF-8, the two
    /// identities and the password non-empty (the authzid when present).
    fn plain(&mut self, data: &[u8]) -> ServerStep {
        let Ok(text) = std::str::from_utf8(data) else {
            return self.fail(FailureReason::Malformed("not UTF-8"));
        };
        let parts: Vec<&str> = text.split('\0').collect();
        let [authzid, authcid, password] = parts[..] else {
            return self.fail(FailureReason::Malformed("not three NUL-separated fields"));
        };
        if authcid.is_empty() || password.is_empty() {
            return self.fail(FailureReason::Malformed("empty username or password"));
        }
        let (Ok(username), Ok(password)) = (
            saslprep(authcid, "username"),
            saslprep(password, "password"),
        ) else {
            return self.fail(FailureReason::Malformed("SASLprep refuses the input"));
        };
        if username.is_empty() {
            return self.fail(FailureReason::Malformed("empty username"));
        }
        let authzid = (!authzid.is_empty()).then(|| authzid.to_owned());
        self.phase = Phase::PlainLookup {
            username: username.clone(),
            authzid: authzid.clone(),
            password,
        };
        ServerStep::NeedCredentials { username, authzid }
    }

    /// RFC 5802 §7: `gs2-header client-first-message-bare`, where
    /// `gs2-header = gs2-cbind-flag "," [authzid] ","` and
    /// `client-first-message-bare = [reserved-mext ","] username "," nonce
    /// ["," extensions]`.
    fn scram_first(&mut self, m: Mechanism, hash: ScramHash, data: &[u8]) -> ServerStep {
        match self.parse_client_first(m, hash, data) {
            Ok(start) => {
                let step = ServerStep::NeedCredentials {
                    username: start.username.clone(),
                    authzid: start.authzid.clone(),
                };
                self.phase = Phase::ScramLookup(Box::new(start));
                step
            }
            Err(reason) => self.fail(reason),
        }
    }

    fn parse_client_first(
        &self,
        m: Mechanism,
        hash: ScramHash,
        data: &[u8],
    ) -> Result<ScramStart, FailureReason> {
        use FailureReason::Malformed;
        let text = std::str::from_utf8(data).map_err(|_| Malformed("not UTF-8"))?;
        let (flag, rest) = text.split_once(',').ok_or(Malformed("no GS2 header"))?;
        let (authz, bare) = rest.split_once(',').ok_or(Malformed("no GS2 header"))?;
        let gs2_header = &text[..flag.len() + authz.len() + 2];
        // gs2-cbind-flag (RFC 5802 §6): the flag must fit the mechanism.
        let cb_data = match flag {
            "n" | "y" if m.uses_channel_binding() => {
                return Err(Malformed("a -PLUS mechanism without 'p='"));
            }
            "n" => Vec::new(),
            // The client could bind but believes we cannot; if we offered
            // -PLUS, someone removed it on the way.
            "y" if self
                .config
                .offered()
                .iter()
                .any(|m| m.uses_channel_binding()) =>
            {
                return Err(FailureReason::Downgrade);
            }
            "y" => Vec::new(),
            _ => {
                let name = flag
                    .strip_prefix("p=")
                    .ok_or(Malformed("unknown GS2 channel-binding flag"))?;
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    return Err(Malformed("invalid channel-binding name"));
                }
                if !m.uses_channel_binding() {
                    return Err(Malformed("'p=' with a mechanism without channel binding"));
                }
                self.config
                    .binding(name)
                    .ok_or(FailureReason::UnsupportedChannelBinding)?
                    .data()
                    .to_vec()
            }
        };
        let authzid = match authz {
            "" => None,
            a => {
                let name = a
                    .strip_prefix("a=")
                    .ok_or(Malformed("the GS2 authzid is not 'a='"))?;
                Some(unescape_saslname(name).ok_or(Malformed("invalid saslname in 'a='"))?)
            }
        };
        let mut attrs = bare.split(',');
        let username = match attrs.next().and_then(attribute) {
            Some((b'm', _)) => return Err(FailureReason::MandatoryExtension),
            Some((b'n', u)) => u,
            _ => return Err(Malformed("the username must come first")),
        };
        let client_nonce = match attrs.next().and_then(attribute) {
            Some((b'r', r)) => r,
            _ => return Err(Malformed("the nonce must follow the username")),
        };
        for extension in attrs {
            match attribute(extension) {
                Some((b'm', _)) => return Err(FailureReason::MandatoryExtension),
                Some((b'n' | b'r', _)) => return Err(Malformed("a repeated attribute")),
                Some(_) => {} // unknown extensions are ignored (§5.1)
                None => return Err(Malformed("an attribute is not 'x=value'")),
            }
        }
        if !valid_nonce(client_nonce) {
            return Err(Malformed("the nonce is not printable ASCII"));
        }
        let username = unescape_saslname(username).ok_or(Malformed("invalid saslname in 'n='"))?;
        let username = saslprep(&username, "username")
            .ok()
            .filter(|u| !u.is_empty())
            .ok_or(Malformed("SASLprep refuses the username"))?;
        Ok(ScramStart {
            hash,
            gs2_header: gs2_header.to_owned(),
            cb_data,
            username,
            authzid,
            client_first_bare: bare.to_owned(),
            client_nonce: client_nonce.to_owned(),
        })
    }

    fn provide_inner(
        &mut self,
        credentials: Option<&StoredCredentials>,
        authzid_allowed: bool,
    ) -> ServerStep {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::PlainLookup {
                username,
                authzid,
                password,
            } => {
                // The first usable keys, else a fake (the same PBKDF2 work).
                let real = credentials
                    .into_iter()
                    .flat_map(|c| c.scram.iter())
                    .find(|c| c.usable());
                let keys = real
                    .cloned()
                    .unwrap_or_else(|| self.config.fake_credentials(ScramHash::Sha256, &username));
                let derived = ScramKeys::derive(keys.hash, &password, &keys.salt, keys.iterations);
                let matches = constant_time_eq(&derived.stored_key, &keys.stored_key);
                if real.is_none() || !matches {
                    return self.fail(FailureReason::InvalidCredentials);
                }
                if !self.authzid_ok(&username, authzid.as_deref(), authzid_allowed) {
                    return self.fail(FailureReason::AuthzidRefused);
                }
                ServerStep::Success {
                    identity: Identity::Account { username, authzid },
                    additional_data: None,
                }
            }
            Phase::ScramLookup(start) => {
                let real = credentials
                    .and_then(|c| c.get(start.hash))
                    .filter(|c| c.usable());
                let known = real.is_some();
                let keys = real
                    .cloned()
                    .unwrap_or_else(|| self.config.fake_credentials(start.hash, &start.username));
                let nonce = format!("{}{}", start.client_nonce, self.server_nonce);
                let server_first = format!(
                    "r={nonce},s={},i={}",
                    BASE64.encode(&keys.salt),
                    keys.iterations
                );
                let challenge = server_first.clone().into_bytes();
                self.phase = Phase::ScramFinal(Box::new(ScramWaitFinal {
                    start: *start,
                    server_first,
                    nonce,
                    keys,
                    known,
                    authzid_allowed,
                }));
                ServerStep::Challenge(challenge)
            }
            _ => self.fail(FailureReason::OutOfOrder),
        }
    }

    /// RFC 5802 §7: `client-final-message = channel-binding "," nonce
    /// ["," extensions] "," proof`.
    fn scram_final(&mut self, wait: ScramWaitFinal, data: &[u8]) -> ServerStep {
        use FailureReason::Malformed;
        let Ok(text) = std::str::from_utf8(data) else {
            return self.fail(Malformed("not UTF-8"));
        };
        let attrs: Vec<Option<(u8, &str)>> = text.split(',').map(attribute).collect();
        if attrs.iter().any(Option::is_none) {
            return self.fail(Malformed("an attribute is not 'x=value'"));
        }
        let attrs: Vec<(u8, &str)> = attrs.into_iter().flatten().collect();
        let (cbind, nonce, proof) = match attrs[..] {
            [(b'c', c), (b'r', r), ref extensions @ .., (b'p', p)] => {
                if extensions
                    .iter()
                    .any(|(k, _)| matches!(k, b'c' | b'r' | b'p'))
                {
                    return self.fail(Malformed("a repeated attribute"));
                }
                if extensions.iter().any(|(k, _)| *k == b'm') {
                    return self.fail(FailureReason::MandatoryExtension);
                }
                (c, r, p)
            }
            _ => return self.fail(Malformed("expected c=, r=, extensions, p=")),
        };
        let Ok(cbind) = BASE64.decode(cbind) else {
            return self.fail(Malformed("c= is not base64"));
        };
        let Ok(proof) = BASE64.decode(proof) else {
            return self.fail(Malformed("p= is not base64"));
        };
        let start = &wait.start;
        let mut expected_cbind = start.gs2_header.clone().into_bytes();
        expected_cbind.extend_from_slice(&start.cb_data);
        if !constant_time_eq(&cbind, &expected_cbind) {
            return self.fail(FailureReason::ChannelBindingMismatch);
        }
        if nonce != wait.nonce {
            return self.fail(FailureReason::NonceMismatch);
        }
        if proof.len() != start.hash.output_len() {
            return self.fail(Malformed("the proof has the wrong length"));
        }
        // `text` minus ",p=…": the proof is last, after the last comma.
        let without_proof = text.rsplit_once(',').map_or("", |(w, _)| w);
        let auth_message = format!(
            "{},{},{without_proof}",
            start.client_first_bare, wait.server_first
        );
        let hash = start.hash;
        let signature = hash.hmac(&wait.keys.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let verified = constant_time_eq(&hash.hash(&client_key), &wait.keys.stored_key);
        if !(verified && wait.known) {
            return self.fail(FailureReason::InvalidCredentials);
        }
        if !self.authzid_ok(
            &start.username,
            start.authzid.as_deref(),
            wait.authzid_allowed,
        ) {
            return self.fail(FailureReason::AuthzidRefused);
        }
        let server_signature = hash.hmac(&wait.keys.server_key, auth_message.as_bytes());
        ServerStep::Success {
            identity: Identity::Account {
                username: wait.start.username,
                authzid: wait.start.authzid,
            },
            additional_data: Some(format!("v={}", BASE64.encode(server_signature)).into_bytes()),
        }
    }
}
