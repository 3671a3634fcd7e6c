//! Command-line connection setup shared by the small IM examples.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::disallowed_methods)] // examples read the real clock

use std::time::Duration;

use xmpp_sansio::{ClientConfig, Event, TlsPolicy};

use super::blocking::{Connection, DriverError, Options, os_seed};

/// Options every example takes, plus the positional arguments left over.
pub struct Cli {
    pub config: ClientConfig,
    pub options: Options,
    pub rest: Vec<String>,
}

pub const USAGE: &str = "--jid USER@DOMAIN --password PW [--host H] [--port P] [--ca CA.pem | --trust-cert CERT] [--plaintext] [--resource R]";

/// Parses `--jid`, `--password`, `--host`, `--port`, `--ca` (alias
/// `--trust`: trust this CA), `--trust-cert` (trust exactly this server
/// certificate, e.g. a self-signed one; PEM or DER), `--plaintext` and
/// `--resource`; everything else is returned in `rest`.
pub fn parse() -> Result<Cli, String> {
    let mut args = std::env::args().skip(1);
    let (mut jid, mut password, mut host, mut port, mut ca, mut pinned, mut resource) =
        (None, None, None, None, None, None, None);
    let (mut plaintext, mut rest) = (false, Vec::new());
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--jid" => jid = Some(value()?),
            "--password" => password = Some(value()?),
            "--host" => host = Some(value()?),
            "--port" => {
                port = Some(
                    value()?
                        .parse::<u16>()
                        .map_err(|e| format!("--port: {e}"))?,
                )
            }
            "--ca" | "--trust" => ca = Some(value()?.into()),
            "--trust-cert" => pinned = Some(value()?.into()),
            "--resource" => resource = Some(value()?),
            "--plaintext" => plaintext = true,
            _ => rest.push(a),
        }
    }
    let jid: String = jid.ok_or("--jid is required")?;
    let seed = os_seed().map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(jid, password.ok_or("--password is required")?, seed);
    config.resource = resource;
    if plaintext {
        config.tls = TlsPolicy::Disabled;
        config.allow_plaintext_auth = true;
    }
    let options = Options {
        host: host.unwrap_or_else(|| config.domain().to_owned()),
        port: port.unwrap_or(5222),
        ca_pem: ca,
        pinned_cert: pinned,
        ..Options::default()
    };
    Ok(Cli {
        config,
        options,
        rest,
    })
}

/// Connects and waits until online; returns the bound JID.
pub fn login(config: ClientConfig, options: &Options) -> Result<(Connection, String), DriverError> {
    let mut conn = Connection::connect(config, options)?;
    let jid = conn.run_until(Duration::from_secs(20), |_, e| match e {
        Event::Online { jid, .. } => Some(jid.clone()),
        _ => None,
    })?;
    Ok((conn, jid))
}

/// Prints the usage line for `example` and the problem.
pub fn usage(example: &str, extra: &str, problem: &str) -> std::process::ExitCode {
    eprintln!("{example}: {problem}\nusage: cargo run --example {example} -- {USAGE} {extra}");
    std::process::ExitCode::FAILURE
}

/// An example's whole `main`: parse the common options, run `body`, and
/// turn its outcome into an exit code. `extra` describes the example's own
/// arguments (found in `Cli::rest`) for the usage line.
pub fn run(
    example: &str,
    extra: &str,
    body: impl FnOnce(Cli) -> Result<(), Box<dyn std::error::Error>>,
) -> std::process::ExitCode {
    let cli = match parse() {
        Ok(c) => c,
        Err(e) => return usage(example, extra, &e),
    };
    match body(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{example}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
