//! How a client `Stream` behaves: credentials, TLS policy, timers, limits.

use crate::sasl::{DEFAULT_MAX_ITERATIONS, Mechanism};
use crate::time::Duration;
use crate::xml::Limits;

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
    /// The default is [`DEFAULT_MAX_ITERATIONS`].
    pub max_scram_iterations: u32,
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
        }
    }

    /// The localpart of [`ClientConfig::jid`] (empty for a domain-only JID).
    pub fn username(&self) -> &str {
        let bare = self.jid.split('/').next().unwrap_or_default();
        bare.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// The domain of [`ClientConfig::jid`].
    pub fn domain(&self) -> &str {
        let bare = self.jid.split('/').next().unwrap_or_default();
        bare.rsplit_once('@').map_or(bare, |(_, domain)| domain)
    }

    /// `user@domain`.
    pub fn bare_jid(&self) -> &str {
        self.jid.split('/').next().unwrap_or_default()
    }

    /// The resource to request: [`ClientConfig::resource`], else the JID's.
    pub fn requested_resource(&self) -> Option<&str> {
        self.resource
            .as_deref()
            .or_else(|| self.jid.split_once('/').map(|(_, r)| r))
            .filter(|r| !r.is_empty())
    }
}
