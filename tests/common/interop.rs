//! Where the interop server is: the `XMPP_INTEROP_*` variables written by
//! `scripts/prosody.sh start DIR` or `scripts/ejabberd.sh start DIR` into
//! `DIR/env`.
//!
//! The live tests are `#[ignore = "needs a live server: ..."]`: a plain
//! `cargo test` lists them as ignored instead of counting them as passed.
//! Run them with `--include-ignored` (or `--ignored`) and a server's
//! variables exported; without those, [`interop_env`] fails the test
//! loudly.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// Which server the variables describe (`XMPP_INTEROP_SERVER`). Scenarios
/// that depend on one server's behaviour branch on it and say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Prosody 0.12 (`scripts/prosody.sh`).
    Prosody,
    /// ejabberd 23.01 (`scripts/ejabberd.sh`).
    Ejabberd,
}

#[derive(Debug, Clone)]
pub struct InteropEnv {
    pub server: Server,
    pub host: String,
    /// c2s with STARTTLS required.
    pub port: u16,
    /// c2s where the client may stay in the clear (the tests on
    /// `plain_domain`). Prosody requires TLS per host, so this is `port`;
    /// ejabberd requires it per listener, so this is another port.
    pub plain_port: u16,
    /// Direct TLS (XEP-0368).
    pub tls_port: u16,
    /// Requires STARTTLS; a CA-signed certificate.
    pub tls_domain: String,
    /// Allows plaintext and PLAIN in the clear.
    pub plain_domain: String,
    /// SASL ANONYMOUS only.
    pub anon_domain: String,
    /// Requires STARTTLS; a self-signed certificate (CA:TRUE, as
    /// `prosodyctl cert generate` makes them).
    pub self_signed_domain: String,
    /// The MUC service (XEP-0045).
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

    pub fn is_prosody(&self) -> bool {
        self.server == Server::Prosody
    }

    pub fn is_ejabberd(&self) -> bool {
        self.server == Server::Ejabberd
    }
}

/// The server to test against. Panics (the test fails) when the variables
/// are missing or invalid: a live test that ran without a server must not
/// pass.
pub fn interop_env() -> InteropEnv {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let env = (|| {
        let port = var("XMPP_INTEROP_PORT")?.parse().ok()?;
        Some(InteropEnv {
            server: match var("XMPP_INTEROP_SERVER")?.as_str() {
                "prosody" => Server::Prosody,
                "ejabberd" => Server::Ejabberd,
                _ => return None,
            },
            host: var("XMPP_INTEROP_HOST")?,
            port,
            plain_port: match var("XMPP_INTEROP_PLAIN_PORT") {
                Some(p) => p.parse().ok()?,
                None => port,
            },
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
    env.unwrap_or_else(|| {
        panic!(
            "this live test needs a server: the XMPP_INTEROP_* variables are missing or invalid \
             (run `scripts/prosody.sh start DIR` or `scripts/ejabberd.sh start DIR`, then \
             `set -a; . DIR/env; set +a`, as .ci/run does)"
        )
    })
}
