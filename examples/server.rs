//! The router (`support/router.rs`) as a standalone loopback server, for a
//! real client (slixmpp in `.ci/run`, `scripts/slixmpp.sh`).
//!
//! ```sh
//! cargo run --example server -- --listen 127.0.0.1:5222 --domain localhost \
//!     --cert server.crt --key server.key --user alice:alice-secret --user bob:bob-secret
//! cargo run --example server -- --listen 127.0.0.1:5222 --domain localhost --allow-cleartext \
//!     --user alice:alice-secret            # no certificate: no STARTTLS offered
//! ```
//!
//! STARTTLS is offered when `--cert` and `--key` are given, and required
//! unless `--allow-cleartext` (then a client may stay in the clear).
//! Without a certificate `--allow-cleartext` is needed. SCRAM-SHA-1/256/512 (and their -PLUS forms over TLS 1.3);
//! PLAIN only over TLS unless `--allow-plain-in-clear`. Logs to stderr;
//! runs until killed.

#[path = "support/router.rs"]
mod router;
#[path = "support/serve.rs"]
mod serve;

use std::process::ExitCode;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use xmpp_sansio::{ServerConfig, TlsPolicy};

const USAGE: &str = "usage: server --listen ADDR:PORT --domain DOMAIN [--cert FILE --key FILE] \
[--allow-cleartext] [--allow-plain-in-clear] --user NAME:PASSWORD...";

struct Args {
    listen: String,
    domain: String,
    cert: Option<String>,
    key: Option<String>,
    allow_cleartext: bool,
    allow_plain_in_clear: bool,
    users: Vec<(String, String)>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        listen: String::new(),
        domain: String::new(),
        cert: None,
        key: None,
        allow_cleartext: false,
        allow_plain_in_clear: false,
        users: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => a.listen = value("--listen")?,
            "--domain" => a.domain = value("--domain")?,
            "--cert" => a.cert = Some(value("--cert")?),
            "--key" => a.key = Some(value("--key")?),
            "--allow-cleartext" => a.allow_cleartext = true,
            "--allow-plain-in-clear" => a.allow_plain_in_clear = true,
            "--user" => {
                let v = value("--user")?;
                let (u, p) = v
                    .split_once(':')
                    .ok_or(format!("--user {v:?}: NAME:PASSWORD"))?;
                a.users.push((u.to_owned(), p.to_owned()));
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if a.listen.is_empty() || a.domain.is_empty() || a.users.is_empty() {
        return Err(USAGE.to_owned());
    }
    if a.cert.is_some() != a.key.is_some() {
        return Err("--cert and --key go together".to_owned());
    }
    if a.cert.is_none() && !a.allow_cleartext {
        return Err("no --cert/--key: pass --allow-cleartext to serve without TLS".to_owned());
    }
    Ok(a)
}

fn tls_config(cert: &str, key: &str) -> Result<rustls::ServerConfig, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| format!("TLS: {e}"))
}

fn run(a: Args) -> Result<(), String> {
    let tls = match (&a.cert, &a.key) {
        (Some(c), Some(k)) => Some(Arc::new(tls_config(c, k)?)),
        _ => None,
    };
    let mut config = ServerConfig::new(a.domain.as_str(), serve::os_seed(), [0; 32]);
    config.tls = match (&tls, a.allow_cleartext) {
        (None, _) => TlsPolicy::Disabled,
        (Some(_), false) => TlsPolicy::Required,
        (Some(_), true) => TlsPolicy::Preferred,
    };
    config.allow_plaintext_auth = a.allow_plain_in_clear;
    config.scram_iterations = 4096;
    let mut router = router::Router::new(config);
    for (user, password) in &a.users {
        router
            .add_account(user, password, &serve::os_seed()[..16], 4096)
            .map_err(|e| format!("account {user}: {e}"))?;
    }
    let mut server = serve::Server::bind(&a.listen, router, tls.clone())
        .map_err(|e| format!("listen on {}: {e}", a.listen))?;
    server.log = Some(Box::new(|id, text: &str| eprintln!("#{id} {text}")));
    eprintln!(
        "serving {} on {} (STARTTLS {}; accounts: {})",
        a.domain,
        server.local_addr().map_err(|e| e.to_string())?,
        match (&tls, a.allow_cleartext) {
            (None, _) => "not offered",
            (Some(_), false) => "required",
            (Some(_), true) => "offered, cleartext allowed",
        },
        a.users
            .iter()
            .map(|(u, _)| u.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    server.run(|| false);
    Ok(())
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match parse().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
