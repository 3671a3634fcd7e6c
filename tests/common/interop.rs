//! Where the interop server is: the `XMPP_INTEROP_*` variables written by
//! `scripts/prosody.sh start DIR` into `DIR/env`.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct InteropEnv {
    pub host: String,
    pub port: u16,
    pub tls_port: u16,
    /// Requires STARTTLS; a CA-signed certificate.
    pub tls_domain: String,
    /// Allows plaintext and PLAIN in the clear.
    pub plain_domain: String,
    /// `authentication = "anonymous"`: SASL ANONYMOUS only.
    pub anon_domain: String,
    /// Requires STARTTLS; a self-signed certificate (CA:TRUE, as
    /// `prosodyctl cert generate` makes them).
    pub self_signed_domain: String,
    /// The MUC component (XEP-0045).
    pub muc_domain: String,
    pub ca_pem_path: PathBuf,
    /// The CA-signed server certificate (PEM) of the other hosts.
    pub server_cert_path: PathBuf,
    /// The self-signed certificate (PEM) of `self_signed_domain`.
    pub self_signed_cert_path: PathBuf,
    pub users: Vec<(String, String)>,
}

impl InteropEnv {
    pub fn password(&self, user: &str) -> String {
        self.users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    }
}

/// The server to test against; `None` (with the reason printed) when none
/// is configured, unless `XMPP_INTEROP_REQUIRED=1`, where that is a failure:
/// CI sets it, so interop tests can never be skipped there.
pub fn interop_env() -> Option<InteropEnv> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let required = var("XMPP_INTEROP_REQUIRED").as_deref() == Some("1");
    let env = (|| {
        Some(InteropEnv {
            host: var("XMPP_INTEROP_HOST")?,
            port: var("XMPP_INTEROP_PORT")?.parse().ok()?,
            tls_port: var("XMPP_INTEROP_TLS_PORT")?.parse().ok()?,
            tls_domain: var("XMPP_INTEROP_TLS_DOMAIN")?,
            plain_domain: var("XMPP_INTEROP_PLAIN_DOMAIN")?,
            anon_domain: var("XMPP_INTEROP_ANON_DOMAIN")?,
            self_signed_domain: var("XMPP_INTEROP_SELF_SIGNED_DOMAIN")?,
            muc_domain: var("XMPP_INTEROP_MUC_DOMAIN")?,
            ca_pem_path: var("XMPP_INTEROP_CA")?.into(),
            server_cert_path: var("XMPP_INTEROP_SERVER_CERT")?.into(),
            self_signed_cert_path: var("XMPP_INTEROP_SELF_SIGNED_CERT")?.into(),
            users: var("XMPP_INTEROP_USERS")?
                .split(',')
                .filter_map(|p| p.split_once(':'))
                .map(|(u, p)| (u.to_owned(), p.to_owned()))
                .collect(),
        })
    })();
    match env {
        Some(e) => Some(e),
        None if required => panic!(
            "XMPP_INTEROP_REQUIRED=1 but the XMPP_INTEROP_* variables are missing or invalid"
        ),
        None => {
            eprintln!(
                "skipping interop test: no server configured (run `scripts/prosody.sh start DIR` and export DIR/env, as .ci/run does)"
            );
            None
        }
    }
}
