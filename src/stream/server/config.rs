//! How a server `Stream` behaves: its domain, what it offers at each
//! stage, limits and timers.

use crate::sasl::{DEFAULT_SERVER_ITERATIONS, Mechanism};
use crate::time::Duration;
use crate::xml::{Element, Limits};

use super::super::{IqRequestPolicy, SmConfig, TlsPolicy};

/// The fewest SASL attempts a server stream allows (RFC 6120 §6.4.5: at
/// least two retries after a failure).
pub const MIN_SASL_ATTEMPTS: u32 = 3;
/// The most SASL attempts a server stream allows (RFC 6120 §6.4.5: no
/// more than five retries).
pub const MAX_SASL_ATTEMPTS: u32 = 6;

/// Configuration of a server [`crate::Stream`]: the receiving entity of a
/// client-to-server stream (RFC 6120), one per accepted connection.
///
/// ```
/// use xmpp_sansio::{ServerConfig, TlsPolicy};
/// use xmpp_sansio::sasl::Mechanism;
/// let mut config = ServerConfig::new("example.com", *b"secret kept across restarts", [7; 32]);
/// assert_eq!(config.tls, TlsPolicy::Required);    // STARTTLS offered and required
/// assert!(!config.allow_plaintext_auth);          // PLAIN only over TLS
/// config.mechanisms.retain(|m| *m != Mechanism::Plain);
/// assert_eq!(config.mechanisms[0], Mechanism::ScramSha512Plus);
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    /// The domain this server serves: the `to` of every client header must
    /// name it (RFC 6120 §4.7.2; `host-unknown` otherwise), and it is the
    /// `from` of ours and the domainpart of every JID bound.
    pub domain: String,
    /// STARTTLS: [`TlsPolicy::Required`] (the default) offers it marked
    /// `<required/>` and offers nothing else before it (RFC 6120 §5.3.1);
    /// [`TlsPolicy::Preferred`] offers it beside SASL; [`TlsPolicy::Disabled`]
    /// never offers it.
    pub tls: TlsPolicy,
    /// The transport is already TLS (direct TLS, XEP-0368): no STARTTLS.
    /// [`crate::Stream::server_over_tls`] sets it.
    pub direct_tls: bool,
    /// The SASL mechanisms offered, in that order (RFC 6120 §6.3.3), when
    /// they can run: PLAIN only over TLS (unless
    /// [`ServerConfig::allow_plaintext_auth`]), the -PLUS forms only with
    /// channel-binding data from the TLS layer. EXTERNAL is never offered.
    /// The default: SCRAM-SHA-512/256/1-PLUS, SCRAM-SHA-512/256/1, PLAIN.
    pub mechanisms: Vec<Mechanism>,
    /// Offer PLAIN on a stream that is not encrypted (never by default:
    /// RFC 6120 §13.9.4; for loopback tests).
    pub allow_plaintext_auth: bool,
    /// SASL attempts allowed on one stream: after a `<failure/>` the
    /// client may try again (RFC 6120 §6.4.5); when none is left, the
    /// stream ends with `not-authorized`. Kept between
    /// [`MIN_SASL_ATTEMPTS`] and [`MAX_SASL_ATTEMPTS`] (default 3).
    pub sasl_attempts: u32,
    /// The SCRAM iteration count answered for accounts that do not exist,
    /// so they look like real ones: set it to what provisioning uses
    /// (default [`DEFAULT_SERVER_ITERATIONS`]).
    pub scram_iterations: u32,
    /// The secret of the fake SCRAM salts answered for unknown accounts:
    /// random, secret, and the same across restarts (see
    /// [`crate::sasl::ServerSaslConfig::new`]).
    pub unknown_account_secret: Vec<u8>,
    /// Offer the legacy session feature as optional (RFC 6121 Appendix E)
    /// after authentication, and answer a session request with a result
    /// (the default: some old clients send one).
    pub offer_session: bool,
    /// More features to offer after authentication, beside resource
    /// binding (for example roster versioning, `<ver
    /// xmlns='urn:xmpp:features:rosterver'/>`).
    pub features: Vec<Element>,
    /// Seed of the stream's random generator (stream ids, SCRAM nonces,
    /// generated resources, IQ ids). Must be unpredictable in production
    /// and fresh per connection; fixed in tests for exact transcripts.
    pub rng_seed: [u8; 32],
    /// `xml:lang` of our stream header.
    pub lang: Option<String>,
    /// Inbound XML limits.
    pub limits: Limits,
    /// How long an IQ request the server sends waits for its reply.
    pub iq_timeout: Duration,
    /// Time allowed from [`crate::Stream::start`] until a resource is
    /// bound (default 60 s).
    pub negotiation_timeout: Option<Duration>,
    /// Send a whitespace keepalive after this long without output.
    pub keepalive: Option<Duration>,
    /// Ping the client (XEP-0199) after this long without input…
    pub ping_interval: Option<Duration>,
    /// …and give up on the connection if the ping is unanswered this long.
    pub ping_timeout: Duration,
    /// Which IQ requests from the client surface as
    /// [`crate::Event::IqRequest`] (default: all; a server routes or
    /// answers every one). The others get `service-unavailable`.
    pub iq_requests: IqRequestPolicy,
    /// At most this many delivered requests wait for the application's
    /// answer; beyond that, new ones get `resource-constraint`.
    pub max_unanswered_requests: usize,
    /// Answer XEP-0199 pings addressed to the server (no `to`, or the
    /// domain) with an empty result (default).
    pub answer_pings: bool,
    /// How long [`crate::Stream::close`] waits for the client's
    /// `</stream:stream>`.
    pub close_timeout: Duration,
    /// Stream management (XEP-0198): offered after authentication when
    /// [`SmConfig::enable`] (off by default); resumption granted when
    /// [`SmConfig::resume`], the sessions kept by the application
    /// ([`crate::Stream::accept_resume`]).
    pub stream_management: SmConfig,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("domain", &self.domain)
            .field("tls", &self.tls)
            .field("direct_tls", &self.direct_tls)
            .field("mechanisms", &self.mechanisms)
            .field("allow_plaintext_auth", &self.allow_plaintext_auth)
            .field("unknown_account_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A configuration for `domain` with the defaults: STARTTLS required,
    /// SCRAM (with -PLUS when the TLS layer gives binding data) and PLAIN
    /// over TLS, three SASL attempts, the optional legacy session, 60 s
    /// negotiation timeout. `unknown_account_secret` keys the fake SCRAM
    /// salts of unknown accounts ([`ServerConfig::unknown_account_secret`]).
    pub fn new(
        domain: impl Into<String>,
        unknown_account_secret: impl Into<Vec<u8>>,
        rng_seed: [u8; 32],
    ) -> Self {
        Self {
            domain: domain.into(),
            tls: TlsPolicy::Required,
            direct_tls: false,
            mechanisms: vec![
                Mechanism::ScramSha512Plus,
                Mechanism::ScramSha256Plus,
                Mechanism::ScramSha1Plus,
                Mechanism::ScramSha512,
                Mechanism::ScramSha256,
                Mechanism::ScramSha1,
                Mechanism::Plain,
            ],
            allow_plaintext_auth: false,
            sasl_attempts: MIN_SASL_ATTEMPTS,
            scram_iterations: DEFAULT_SERVER_ITERATIONS,
            unknown_account_secret: unknown_account_secret.into(),
            offer_session: true,
            features: Vec::new(),
            rng_seed,
            lang: Some("en".into()),
            limits: Limits::default(),
            iq_timeout: Duration::from_secs(60),
            negotiation_timeout: Some(Duration::from_secs(60)),
            keepalive: Some(Duration::from_secs(90)),
            ping_interval: None,
            ping_timeout: Duration::from_secs(30),
            iq_requests: IqRequestPolicy::All,
            max_unanswered_requests: 256,
            answer_pings: true,
            close_timeout: Duration::from_secs(10),
            stream_management: SmConfig::default(),
        }
    }

    /// The domain as compared and written: without a final dot (RFC 7622
    /// §3.2).
    ///
    /// ```
    /// use xmpp_sansio::ServerConfig;
    /// assert_eq!(ServerConfig::new("example.com.", *b"s", [0; 32]).domain(), "example.com");
    /// ```
    pub fn domain(&self) -> &str {
        match self.domain.strip_suffix('.') {
            Some(d) if !d.is_empty() => d,
            _ => &self.domain,
        }
    }

    /// [`ServerConfig::sasl_attempts`] within what RFC 6120 §6.4.5 allows.
    pub(crate) fn effective_sasl_attempts(&self) -> u32 {
        self.sasl_attempts
            .clamp(MIN_SASL_ATTEMPTS, MAX_SASL_ATTEMPTS)
    }
}
