//! How a client `Stream` behaves: credentials, TLS policy, timers, limits.

use crate::sasl::{DEFAULT_MAX_ITERATIONS, Mechanism};
use crate::stanza::{JidProblem, prepare_jid};
use crate::time::Duration;
use crate::xml::Limits;

use super::sm::{SmConfig, SmState};

/// When to use TLS.
///
/// ```
/// use xmpp_sansio::TlsPolicy;
/// assert_eq!(TlsPolicy::default(), TlsPolicy::Required);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Use STARTTLS; fail if the server does not offer it (the default).
    #[default]
    Required,
    /// Use STARTTLS when offered, continue without it otherwise.
    Preferred,
    /// Never start TLS: for loopback tests against a server that allows
    /// plaintext. Fails if the server requires TLS.
    Disabled,
}

/// What to do with inbound IQ `get`/`set` requests.
///
/// ```
/// use xmpp_sansio::{ClientConfig, IqRequestPolicy};
/// let mut config = ClientConfig::new("a@example.com", "pw", [0; 32]);
/// // By default the application takes no namespace: every request gets
/// // `service-unavailable` (XEP-0199 pings are answered on their own).
/// assert_eq!(config.iq_requests, IqRequestPolicy::Namespaces(Vec::new()));
/// config.iq_requests = IqRequestPolicy::Namespaces(vec!["jabber:iq:version".into()]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IqRequestPolicy {
    /// Requests whose payload namespace is in the list surface as
    /// [`crate::Event::IqRequest`] for the application to answer; all others
    /// are answered with `service-unavailable` (RFC 6120 §8.4).
    Namespaces(Vec<String>),
    /// Every request surfaces; the application must answer each one.
    All,
}

/// Configuration of a client [`crate::Stream`].
///
/// ```
/// use xmpp_sansio::{ClientConfig, TlsPolicy};
/// let mut config = ClientConfig::new("juliet@example.com", "secret", [7; 32]);
/// config.tls = TlsPolicy::Disabled;
/// config.resource = Some("balcony".into());
/// assert_eq!(config.domain(), "example.com");
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    /// The account: `user@domain` (a resource here is used as the requested
    /// resource unless [`ClientConfig::resource`] is set).
    pub jid: String,
    /// The password (SCRAM and PLAIN).
    pub password: String,
    /// An authorization identity to request, if different from the account.
    pub authzid: Option<String>,
    /// The resource to request at binding; `None` lets the server choose.
    pub resource: Option<String>,
    /// Bind as soon as the server offers it (the default). With `false`,
    /// the stream reports [`crate::Event::ReadyToBind`] after
    /// authentication and waits for [`crate::Stream::bind`], which chooses
    /// the resource then.
    pub auto_bind: bool,
    /// How many bind requests one stream may send (default 3; 0 counts as
    /// 1). Every refusal is reported as [`crate::Event::BindFailed`]; when
    /// no attempt is left, the stream fails with [`crate::Error::BindFailed`].
    /// While attempts remain, the application binds again (without
    /// `auto_bind`, after [`crate::Event::ReadyToBind`]); with `auto_bind`,
    /// a refused requested resource (`conflict`, RFC 6120 §7.7.2.2, or
    /// `bad-request`, §7.7.2.1) is retried once with a server-generated
    /// one, and any other refusal ends the stream.
    pub bind_attempts: u32,
    /// TLS policy for STARTTLS.
    pub tls: TlsPolicy,
    /// The transport is already secure (direct TLS, XEP-0368): no STARTTLS.
    pub direct_tls: bool,
    /// Mechanisms to use, in order of preference; `None` picks the
    /// strongest offered (SCRAM-PLUS, SCRAM-SHA-512/256/1, then PLAIN).
    pub mechanisms: Option<Vec<Mechanism>>,
    /// Allow PLAIN over a stream that is not encrypted (never by default).
    pub allow_plaintext_auth: bool,
    /// Seed of the stream's random generator (SCRAM nonces, IQ ids). Must be
    /// unpredictable in production; fixed in tests for exact replays.
    pub rng_seed: [u8; 32],
    /// `xml:lang` of our stream header.
    pub lang: Option<String>,
    /// Inbound XML limits.
    pub limits: Limits,
    /// How long an IQ request waits for its reply before `IqTimeout`.
    pub iq_timeout: Duration,
    /// Time allowed from `start` until `Online`.
    pub negotiation_timeout: Option<Duration>,
    /// Send a whitespace keepalive after this long without output.
    pub keepalive: Option<Duration>,
    /// Ping the server (XEP-0199) after this long without input…
    pub ping_interval: Option<Duration>,
    /// …and give up on the connection if the ping is unanswered this long.
    pub ping_timeout: Duration,
    /// Which inbound IQ requests the application answers.
    pub iq_requests: IqRequestPolicy,
    /// At most this many delivered requests wait for the application's
    /// answer; beyond that, new ones are refused with `resource-constraint`
    /// (RFC 6120 §8.3.3.18), so a peer cannot grow the bookkeeping without
    /// bound.
    pub max_unanswered_requests: usize,
    /// Answer XEP-0199 pings automatically with an empty result: from the
    /// server at any time, from anyone once a resource is bound.
    pub answer_pings: bool,
    /// How long `close` waits for the peer's `</stream:stream>`. When it
    /// passes, the stream ends with `Event::Closed { error: None, .. }`:
    /// the close was ours, and it happened. After a failure that sent our
    /// closing tag, or a stream error from the peer, the stream waits as
    /// long, and then ends with that failure.
    pub close_timeout: Duration,
    /// The highest SCRAM iteration count accepted from the server; above
    /// it, authentication fails with [`crate::sasl::SaslError::TooManyIterations`]
    /// (after an `<abort/>`). PBKDF2 runs inside `handle_input`, so this
    /// bounds how long a hostile server can stall the caller's thread.
    /// The default is [`DEFAULT_MAX_ITERATIONS`] (100,000: ten times what
    /// servers send by default, a stall of tens of milliseconds at most;
    /// its documentation says why). Raise it for a server configured
    /// beyond that.
    pub max_scram_iterations: u32,
    /// **For tests only**: the SCRAM client nonce to send instead of one
    /// drawn from the stream's random generator, so that a test can replay
    /// a published exchange (RFC 5802 §5, RFC 7677 §3, RFC 6120 §9.1.2)
    /// byte for byte. `None` (the default) draws a fresh one. A fixed nonce
    /// makes every login look the same to an eavesdropper and lets a
    /// recorded exchange be replayed: never set it in production. It must
    /// be printable ASCII without `,` ([`ClientConfig::validate`]).
    ///
    /// ```
    /// use std::time::Instant;
    /// use xmpp_sansio::{ClientConfig, Stream, TlsPolicy};
    /// let mut config = ClientConfig::new("user@example.com", "pencil", [0; 32]);
    /// config.tls = TlsPolicy::Disabled;
    /// config.scram_client_nonce = Some("fyko+d2lbbFgONRv9qkxdawL".into());
    /// let mut s = Stream::client(config);
    /// s.start(Instant::now())?;
    /// s.handle_input(b"<stream:stream xmlns='jabber:client' \
    ///     xmlns:stream='http://etherx.jabber.org/streams' version='1.0' id='i' from='example.com'>\
    ///     <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
    ///     <mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>", Instant::now())?;
    /// let sent = String::from_utf8(s.poll_transmit().unwrap().to_vec()).unwrap();
    /// // "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", RFC 5802 §5's first message:
    /// assert!(sent.ends_with(">biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM</auth>"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub scram_client_nonce: Option<String>,
    /// Stream management (XEP-0198): off by default; see [`SmConfig`].
    /// To resume a session, see [`ClientConfig::resume`].
    pub stream_management: SmConfig,
    /// A stream-managed session to resume (XEP-0198 §5) instead of
    /// binding a resource: what [`crate::Stream::sm_state`] returned on
    /// the old stream. See [`crate::Stream::client_resuming`], which sets it.
    pub resume: Option<SmState>,
}

/// Why a [`ClientConfig`] cannot start a stream ([`ClientConfig::validate`]).
///
/// ```
/// use xmpp_sansio::{ClientConfig, ConfigError};
/// use xmpp_sansio::stanza::JidProblem;
/// let config = ClientConfig::new("alice@", "pw", [0; 32]);
/// let err = config.validate().unwrap_err();
/// assert_eq!(err, ConfigError::InvalidJid { jid: "alice@".into(), reason: JidProblem::EmptyDomain });
/// assert_eq!(err.to_string(), "invalid JID \"alice@\": the domainpart is empty");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// [`ClientConfig::jid`] is not a valid JID (RFC 7622 §3).
    #[error("invalid JID {jid:?}: {reason}")]
    InvalidJid {
        /// The JID as configured.
        jid: String,
        /// What is wrong with it.
        reason: JidProblem,
    },
    /// The resource to request ([`ClientConfig::requested_resource`]) is
    /// longer than RFC 7622 §3.4 allows: 1023 bytes, as sent or prepared.
    #[error("the resource is {len} bytes long; at most 1023 are allowed")]
    ResourceTooLong {
        /// Its length in bytes (the longer of as sent and as prepared).
        len: usize,
    },
    /// The resource to request is not a valid resourcepart.
    #[error("invalid resource {resource:?}: {reason}")]
    InvalidResource {
        /// The resource as configured.
        resource: String,
        /// What is wrong with it.
        reason: JidProblem,
    },
    /// [`ClientConfig::scram_client_nonce`] is empty or holds characters
    /// SCRAM forbids (only printable ASCII without `,`).
    #[error("invalid SCRAM client nonce: it must be printable ASCII without ','")]
    InvalidScramNonce,
    /// [`crate::ComponentConfig::domain`] is not a domainpart (XEP-0114:
    /// a component's name is a domain, without `@` or `/`).
    #[error("invalid component domain {domain:?}")]
    InvalidDomain {
        /// The domain as configured.
        domain: String,
    },
}

/// The longest resourcepart, in bytes (RFC 7622 §3.4).
const MAX_RESOURCE_BYTES: usize = 1023;

/// Checks a resource to request at binding (RFC 7622 §3.4): 1 to 1023
/// bytes, and a resourcepart that some preparation accepts. Servers
/// prepare resources by RFC 7622 (PRECIS OpaqueString, which allows
/// symbols and emoji: `phone📱🚀`) or by RFC 6122 (resourceprep, which
/// refuses them); the crate refuses only what neither accepts, so a
/// resource a modern server binds is never refused here. The server has
/// the last word: a resource it refuses is a bind error
/// ([`crate::Event::BindFailed`]), retried as [`ClientConfig::auto_bind`]
/// says.
///
/// Without the `precis` feature, the RFC 7622 side is approximated by
/// its rule that matters here: no control characters (OpaqueString
/// disallows them); with it, the OpaqueString profile itself decides.
pub(crate) fn check_resource(resource: &str) -> Result<(), ConfigError> {
    if resource.len() > MAX_RESOURCE_BYTES {
        return Err(ConfigError::ResourceTooLong {
            len: resource.len(),
        });
    }
    let rfc6122 = match jid::ResourcePart::new(resource) {
        Ok(prepared) if prepared.len() > MAX_RESOURCE_BYTES => {
            // Prepared, it grew past the limit (NFKC can expand).
            return Err(ConfigError::ResourceTooLong {
                len: prepared.len(),
            });
        }
        Ok(_) => return Ok(()),
        Err(e) => JidProblem::from(e),
    };
    if rfc6122 == JidProblem::ResourceTooLong {
        return Err(ConfigError::ResourceTooLong {
            len: resource.len().max(MAX_RESOURCE_BYTES + 1),
        });
    }
    if resource.is_empty() {
        return Err(ConfigError::InvalidResource {
            resource: resource.to_owned(),
            reason: JidProblem::EmptyResource,
        });
    }
    #[cfg(feature = "precis")]
    let rfc7622_accepts = crate::stanza::Address::new(&format!("example.com/{resource}"))
        .enforce_rfc7622()
        .is_ok();
    #[cfg(not(feature = "precis"))]
    let rfc7622_accepts = !resource.contains(char::is_control);
    if rfc7622_accepts {
        Ok(())
    } else {
        Err(ConfigError::InvalidResource {
            resource: resource.to_owned(),
            reason: rfc6122,
        })
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("jid", &self.jid)
            .field("password", &"<redacted>")
            .field("resource", &self.resource)
            .field("tls", &self.tls)
            .field("direct_tls", &self.direct_tls)
            .field("mechanisms", &self.mechanisms)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration with the defaults: TLS required, the strongest
    /// mechanism, server-chosen resource, 60 s IQ timeout, 90 s keepalive.
    pub fn new(jid: impl Into<String>, password: impl Into<String>, rng_seed: [u8; 32]) -> Self {
        Self {
            jid: jid.into(),
            password: password.into(),
            authzid: None,
            resource: None,
            auto_bind: true,
            bind_attempts: 3,
            tls: TlsPolicy::Required,
            direct_tls: false,
            mechanisms: None,
            allow_plaintext_auth: false,
            rng_seed,
            lang: Some("en".into()),
            limits: Limits::default(),
            iq_timeout: Duration::from_secs(60),
            negotiation_timeout: Some(Duration::from_secs(60)),
            keepalive: Some(Duration::from_secs(90)),
            ping_interval: None,
            ping_timeout: Duration::from_secs(30),
            iq_requests: IqRequestPolicy::Namespaces(Vec::new()),
            max_unanswered_requests: 256,
            answer_pings: true,
            close_timeout: Duration::from_secs(10),
            max_scram_iterations: DEFAULT_MAX_ITERATIONS,
            scram_client_nonce: None,
            stream_management: SmConfig::default(),
            resume: None,
        }
    }

    /// Checks what a stream needs before it writes anything:
    /// [`ClientConfig::jid`] is a valid JID (RFC 7622 §3: its localpart
    /// and domainpart prepared by the `jid` crate, RFC 6122), each
    /// resource (in the JID, and [`ClientConfig::resource`]) at most 1023
    /// bytes and accepted by RFC 6122's or RFC 7622's preparation (§3.4:
    /// `phone📱🚀` is valid), and a fixed SCRAM nonce, if
    /// any, is one SCRAM allows. [`crate::Stream::start`] calls it and
    /// refuses to start on an error ([`crate::UsageError::InvalidConfig`]);
    /// call it earlier to report a bad setting to the user.
    ///
    /// ```
    /// use xmpp_sansio::{ClientConfig, ConfigError};
    /// use xmpp_sansio::stanza::JidProblem;
    /// assert!(ClientConfig::new("juliet@example.com/balcony", "pw", [0; 32]).validate().is_ok());
    /// let reason = |jid: &str| match ClientConfig::new(jid, "pw", [0; 32]).validate() {
    ///     Err(ConfigError::InvalidJid { reason, .. }) => Some(reason),
    ///     _ => None,
    /// };
    /// assert_eq!(reason(""), Some(JidProblem::Empty));
    /// assert_eq!(reason("a@b@c"), Some(JidProblem::TooManyAts));
    /// assert_eq!(reason("alice@exa mple.com"), Some(JidProblem::Domain));
    /// let mut config = ClientConfig::new("juliet@example.com", "pw", [0; 32]);
    /// config.resource = Some("x".repeat(1024));
    /// assert_eq!(config.validate(), Err(ConfigError::ResourceTooLong { len: 1024 }));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        // The bare part as the `jid` crate prepares it; a resource as
        // `check_resource` accepts it (either preparation), so that an
        // account JID with `phone📱🚀` starts like `resource` does.
        let (bare, resource) = match self.jid.split_once('/') {
            Some((bare, resource)) => (bare, Some(resource)),
            None => (self.jid.as_str(), None),
        };
        let invalid = |reason| ConfigError::InvalidJid {
            jid: self.jid.clone(),
            reason,
        };
        prepare_jid(bare).map_err(invalid)?;
        match resource {
            Some("") => return Err(invalid(JidProblem::EmptyResource)),
            Some(resource) => check_resource(resource).map_err(|e| match e {
                ConfigError::InvalidResource { reason, .. } => invalid(reason),
                other => other,
            })?,
            None => {}
        }
        // An empty `resource` lets the server choose.
        if let Some(resource) = self.resource.as_deref().filter(|r| !r.is_empty()) {
            check_resource(resource)?;
        }
        if let Some(nonce) = &self.scram_client_nonce
            && (nonce.is_empty()
                || !nonce
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b','))
        {
            return Err(ConfigError::InvalidScramNonce);
        }
        Ok(())
    }

    /// The localpart of [`ClientConfig::jid`] (empty for a domain-only
    /// JID): everything before the first `@` of the part before the first
    /// `/` (RFC 7622 §3.1). It is the SASL authentication identity.
    pub fn username(&self) -> &str {
        self.bare_jid()
            .split_once('@')
            .map_or("", |(local, _)| local)
    }

    /// The domain of [`ClientConfig::jid`], without a final dot
    /// (`example.com.` is `example.com`, RFC 7622 §3.2): the `to` of our
    /// stream header.
    ///
    /// ```
    /// use xmpp_sansio::ClientConfig;
    /// let config = ClientConfig::new("juliet@example.com./balcony", "pw", [0; 32]);
    /// assert_eq!(config.domain(), "example.com");
    /// assert_eq!(config.bare_jid(), "juliet@example.com");
    /// ```
    pub fn domain(&self) -> &str {
        let bare = self.bare_jid();
        bare.split_once('@').map_or(bare, |(_, domain)| domain)
    }

    /// `user@domain`, the domain without a final dot.
    pub fn bare_jid(&self) -> &str {
        let bare = self.jid.split('/').next().unwrap_or_default();
        let domain = bare.split_once('@').map_or(bare, |(_, domain)| domain);
        match domain.strip_suffix('.') {
            Some(stripped) if !stripped.is_empty() => &bare[..bare.len() - 1],
            _ => bare,
        }
    }

    /// The resource to request: [`ClientConfig::resource`], else the JID's.
    /// An empty one is read as none: the server chooses.
    pub fn requested_resource(&self) -> Option<&str> {
        self.resource
            .as_deref()
            .or_else(|| self.jid.split_once('/').map(|(_, r)| r))
            .filter(|r| !r.is_empty())
    }
}

/// What the shared part of a stream (timers, limits, inbound requests)
/// takes from its role's configuration, whatever the role.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) limits: Limits,
    pub(super) iq_timeout: Duration,
    pub(super) negotiation_timeout: Option<Duration>,
    pub(super) keepalive: Option<Duration>,
    pub(super) ping_interval: Option<Duration>,
    pub(super) ping_timeout: Duration,
    pub(super) iq_requests: IqRequestPolicy,
    pub(super) max_unanswered_requests: usize,
    pub(super) answer_pings: bool,
    pub(super) close_timeout: Duration,
    pub(super) sm: SmConfig,
}

impl Settings {
    pub(super) fn of_client(c: &ClientConfig) -> Self {
        Self {
            limits: c.limits.clone(),
            iq_timeout: c.iq_timeout,
            negotiation_timeout: c.negotiation_timeout,
            keepalive: c.keepalive,
            ping_interval: c.ping_interval,
            ping_timeout: c.ping_timeout,
            iq_requests: c.iq_requests.clone(),
            max_unanswered_requests: c.max_unanswered_requests,
            answer_pings: c.answer_pings,
            close_timeout: c.close_timeout,
            sm: c.stream_management.clone(),
        }
    }

    pub(super) fn of_server(c: &super::ServerConfig) -> Self {
        Self {
            limits: c.limits.clone(),
            iq_timeout: c.iq_timeout,
            negotiation_timeout: c.negotiation_timeout,
            keepalive: c.keepalive,
            ping_interval: c.ping_interval,
            ping_timeout: c.ping_timeout,
            iq_requests: c.iq_requests.clone(),
            max_unanswered_requests: c.max_unanswered_requests,
            answer_pings: c.answer_pings,
            close_timeout: c.close_timeout,
            sm: c.stream_management.clone(),
        }
    }
}
