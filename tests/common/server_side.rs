//! Server-side transcript helpers: what a client sends, and a runner that
//! feeds it to a server stream in phases, whole or cut anywhere
//! (the server equivalents of `run_phases` and `assert_split_invariant`).
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use xmpp_sansio::sasl::{ChannelBinding, StoredCredentials};
use xmpp_sansio::{ServerConfig, Stream, TlsPolicy};

use super::{Outcome, epoch};

/// A client's stream header to `example.com`.
pub const CLIENT_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

/// `<auth mechanism='PLAIN'>` for `user`/`password`.
pub fn plain_auth(user: &str, password: &str) -> String {
    format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
        BASE64.encode(format!("\0{user}\0{password}"))
    )
}

/// A bind request with id `b1`, asking for `resource` (or not).
pub fn bind_request(resource: Option<&str>) -> String {
    match resource {
        Some(r) => format!(
            "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{r}</resource></bind></iq>"
        ),
        None => "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"
            .to_owned(),
    }
}

/// A plaintext server for `example.com` that offers PLAIN (loopback tests).
pub fn plain_server_config() -> ServerConfig {
    let mut c = ServerConfig::new("example.com", *b"transcript fake-salt secret", [5; 32]);
    c.tls = TlsPolicy::Disabled;
    c.allow_plaintext_auth = true;
    c.scram_iterations = 64;
    c
}

/// Keys for `juliet`'s password `r0m30` (few iterations).
pub fn juliet() -> StoredCredentials {
    StoredCredentials::derive("r0m30", b"0123456789abcdef", 64).expect("derivable credentials")
}

/// A started server stream.
pub fn started_server(config: &ServerConfig, now: std::time::Instant) -> Stream {
    let mut s = Stream::server(config.clone());
    s.start(now).ok();
    s
}

/// Feeds `phases` of client bytes to a fresh server, each phase cut at
/// `cuts`; between phases (after `<starttls/>`) the test calls
/// `tls_established` with `binding`, as the caller would.
pub fn run_server_phases(
    config: &ServerConfig,
    phases: &[&str],
    cuts: &[usize],
    binding: &ChannelBinding,
) -> Outcome {
    let now = epoch();
    let mut stream = started_server(config, now);
    super::feed_phases(&mut stream, phases, cuts, binding, now)
}

/// Asserts that every single cut point, and one-byte feeding, give the
/// same outcome as feeding each phase of client bytes whole; returns it.
pub fn assert_server_split_invariant(
    config: &ServerConfig,
    phases: &[&str],
    binding: &ChannelBinding,
) -> Outcome {
    super::assert_cuts_agree(phases, |cuts| {
        run_server_phases(config, phases, cuts, binding)
    })
}

/// The `id` of each stream header in `sent`, in order.
pub fn stream_ids(sent: &str) -> Vec<String> {
    sent.split("<stream:stream ")
        .skip(1)
        .filter_map(|h| super::attr_of(&format!(" {}", &h[..h.find('>').unwrap_or(h.len())]), "id"))
        .collect()
}
