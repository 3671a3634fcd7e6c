//! How a component `Stream` behaves (XEP-0114, `jabber:component:accept`),
//! on either end: the component that connects, and the server that
//! accepts it.

use crate::stanza::is_valid_address;
use crate::time::Duration;
use crate::xml::Limits;

use super::super::IqRequestPolicy;
use super::super::config::{ConfigError, Settings};
use super::super::sm::SmConfig;

/// Configuration of a component [`crate::Stream`]: an external component
/// (XEP-0114) that connects to a server and authenticates with a shared
/// secret ([`crate::Stream::component`]).
///
/// ```
/// use xmpp_sansio::ComponentConfig;
/// let config = ComponentConfig::new("muc.example.com", "s3cr3t", [7; 32]);
/// assert_eq!(config.domain(), "muc.example.com");
/// // The secret stays out of logs:
/// assert!(!format!("{config:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct ComponentConfig {
    /// The component's name, a domain (`muc.example.com`): the `to` of our
    /// header (XEP-0114 §3), the JID reported by [`crate::Event::Online`],
    /// and the domain every `from` we send must have.
    pub domain: String,
    /// The secret shared with the server (the handshake is
    /// `hex(SHA-1(stream id ++ secret))`).
    pub secret: String,
    /// Seed of the stream's random generator (IQ ids). Fixed in tests for
    /// exact transcripts.
    pub rng_seed: [u8; 32],
    /// Inbound XML limits.
    pub limits: Limits,
    /// How long an IQ request sent with [`crate::Stream::send_iq`] waits
    /// for its reply.
    pub iq_timeout: Duration,
    /// Time allowed from [`crate::Stream::start`] until the server
    /// accepts the handshake (default 60 s).
    pub negotiation_timeout: Option<Duration>,
    /// Send a whitespace keepalive after this long without output.
    pub keepalive: Option<Duration>,
    /// Which IQ requests surface as [`crate::Event::IqRequest`] (default:
    /// all: a component serves its domain). The others get
    /// `service-unavailable`.
    pub iq_requests: IqRequestPolicy,
    /// At most this many delivered requests wait for the application's
    /// answer; beyond that, new ones get `resource-constraint`.
    pub max_unanswered_requests: usize,
    /// Answer XEP-0199 pings addressed to the component's domain itself
    /// with an empty result (default).
    pub answer_pings: bool,
    /// How long [`crate::Stream::close`] waits for the server's
    /// `</stream:stream>`.
    pub close_timeout: Duration,
}

impl std::fmt::Debug for ComponentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentConfig")
            .field("domain", &self.domain)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ComponentConfig {
    /// A configuration for the component `domain` with `secret` and the
    /// defaults: every IQ request delivered, pings to the domain
    /// answered, 60 s negotiation and IQ timeouts.
    pub fn new(domain: impl Into<String>, secret: impl Into<String>, rng_seed: [u8; 32]) -> Self {
        Self {
            domain: domain.into(),
            secret: secret.into(),
            rng_seed,
            limits: Limits::default(),
            iq_timeout: Duration::from_secs(60),
            negotiation_timeout: Some(Duration::from_secs(60)),
            keepalive: Some(Duration::from_secs(90)),
            iq_requests: IqRequestPolicy::All,
            max_unanswered_requests: 256,
            answer_pings: true,
            close_timeout: Duration::from_secs(10),
        }
    }

    /// The domain as compared and written: without a final dot (RFC 7622
    /// §3.2).
    pub fn domain(&self) -> &str {
        match self.domain.strip_suffix('.') {
            Some(d) if !d.is_empty() => d,
            _ => &self.domain,
        }
    }

    /// Checks that [`ComponentConfig::domain`] is a domainpart (no `@`,
    /// no `/`), as [`crate::Stream::start`] does.
    ///
    /// ```
    /// use xmpp_sansio::{ComponentConfig, ConfigError};
    /// assert!(ComponentConfig::new("muc.example.com", "s", [0; 32]).validate().is_ok());
    /// assert!(matches!(
    ///     ComponentConfig::new("room@muc.example.com", "s", [0; 32]).validate(),
    ///     Err(ConfigError::InvalidDomain { .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_domain(self.domain())
    }

    pub(in crate::stream) fn settings(&self) -> Settings {
        Settings {
            limits: self.limits.clone(),
            iq_timeout: self.iq_timeout,
            negotiation_timeout: self.negotiation_timeout,
            keepalive: self.keepalive,
            ping_interval: None,
            ping_timeout: Duration::from_secs(30),
            iq_requests: self.iq_requests.clone(),
            max_unanswered_requests: self.max_unanswered_requests,
            answer_pings: self.answer_pings,
            close_timeout: self.close_timeout,
            // XEP-0114 streams have no stream features: no XEP-0198.
            sm: SmConfig::default(),
        }
    }
}

/// Configuration of the server end of a component stream
/// ([`crate::Stream::component_server`]): one accepted connection from an
/// external component (XEP-0114). Which component names it serves, and
/// their secrets, the application decides per connection
/// ([`crate::Event::ComponentRequest`]).
///
/// ```
/// use xmpp_sansio::ComponentServerConfig;
/// let config = ComponentServerConfig::new("example.com", [7; 32]);
/// assert_eq!(config.domain(), "example.com");
/// assert_eq!(config.ping_interval, None);
/// ```
#[derive(Debug, Clone)]
pub struct ComponentServerConfig {
    /// The server's own domain: the `from` of the requests this stream
    /// sends itself ([`crate::Stream::send_iq`], pings), and the address
    /// whose pings it answers.
    pub domain: String,
    /// Seed of the stream's random generator (stream ids, IQ ids). Must be
    /// unpredictable in production and fresh per connection: the stream id
    /// is what makes each handshake different.
    pub rng_seed: [u8; 32],
    /// Inbound XML limits.
    pub limits: Limits,
    /// How long an IQ request the server sends waits for its reply.
    pub iq_timeout: Duration,
    /// Time allowed from [`crate::Stream::start`] until the handshake is
    /// verified (default 60 s).
    pub negotiation_timeout: Option<Duration>,
    /// Send a whitespace keepalive after this long without output.
    pub keepalive: Option<Duration>,
    /// Ping the component (XEP-0199) after this long without input…
    pub ping_interval: Option<Duration>,
    /// …and give up on the connection if the ping is unanswered this long.
    pub ping_timeout: Duration,
    /// Which IQ requests from the component surface as
    /// [`crate::Event::IqRequest`] (default: all; a server routes them).
    pub iq_requests: IqRequestPolicy,
    /// At most this many delivered requests wait for the application's
    /// answer; beyond that, new ones get `resource-constraint`.
    pub max_unanswered_requests: usize,
    /// Answer XEP-0199 pings addressed to [`ComponentServerConfig::domain`]
    /// with an empty result (default).
    pub answer_pings: bool,
    /// How long [`crate::Stream::close`] waits for the component's
    /// `</stream:stream>`.
    pub close_timeout: Duration,
}

impl ComponentServerConfig {
    /// A configuration for the server `domain` with the defaults: every IQ
    /// request delivered, pings to `domain` answered, no keepalive pings,
    /// 60 s negotiation and IQ timeouts.
    pub fn new(domain: impl Into<String>, rng_seed: [u8; 32]) -> Self {
        Self {
            domain: domain.into(),
            rng_seed,
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
        }
    }

    /// The domain as compared and written: without a final dot.
    pub fn domain(&self) -> &str {
        match self.domain.strip_suffix('.') {
            Some(d) if !d.is_empty() => d,
            _ => &self.domain,
        }
    }

    pub(in crate::stream) fn settings(&self) -> Settings {
        Settings {
            limits: self.limits.clone(),
            iq_timeout: self.iq_timeout,
            negotiation_timeout: self.negotiation_timeout,
            keepalive: self.keepalive,
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            iq_requests: self.iq_requests.clone(),
            max_unanswered_requests: self.max_unanswered_requests,
            answer_pings: self.answer_pings,
            close_timeout: self.close_timeout,
            // XEP-0114 streams have no stream features: no XEP-0198.
            sm: SmConfig::default(),
        }
    }
}

/// A domainpart: an address without `@` or `/`.
pub(super) fn check_domain(domain: &str) -> Result<(), ConfigError> {
    if is_valid_address(domain) && !domain.contains(['@', '/']) {
        Ok(())
    } else {
        Err(ConfigError::InvalidDomain {
            domain: domain.to_owned(),
        })
    }
}
