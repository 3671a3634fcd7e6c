//! Command-line connection setup shared by the small IM examples.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::disallowed_methods)] // examples read the real clock

use std::process::ExitCode;
use std::time::Duration;

use xmpp_sansio::{ClientConfig, Event, TlsPolicy};

use super::blocking::{Awaited, Connection, DriverError, NotXmpp, Options, os_seed};

/// Options every example takes, plus the arguments left over for the
/// example itself.
pub struct Cli {
    pub config: ClientConfig,
    pub options: Options,
    pub rest: Vec<String>,
    /// No `--host` was given: the host is the JID's domain.
    pub host_from_jid: bool,
}

/// The options every example takes.
pub const USAGE: &str = "--jid USER@DOMAIN --password PW [--host H] [--port P] [--ca CA.pem | --trust-cert CERT] [--direct-tls] [--plaintext] [--resource R]";

/// What `--help` says about them.
pub const OPTIONS: &str = concat!(
    "  --jid USER@DOMAIN    the account\n",
    "  --password PW        its password\n",
    "  --host H             the server's address (default: the JID's domain)\n",
    "  --port P             its port (default 5222)\n",
    "  --ca FILE            trust the CA in this PEM file (alias --trust); default: the web PKI roots\n",
    "  --trust-cert FILE    trust exactly this server certificate (PEM or DER), e.g. a self-signed one\n",
    "  --direct-tls         TLS from the first byte (XEP-0368; give that port) instead of STARTTLS\n",
    "  --plaintext          no TLS at all (only for a loopback server that allows it)\n",
    "  --resource R         ask for this resource (the server may bind another)\n",
    "  -h, --help           print this help",
);

/// The command line read: run with it, or print the help.
pub enum Parsed {
    Run(Box<Cli>),
    Help,
}

/// Reads the common options (see [`OPTIONS`]) from `args` (without the
/// program name); everything else, in order, is left in `Cli::rest` for
/// the example (see [`take_value`], [`take_flag`], [`positional`]). The
/// configuration is checked (`ClientConfig::validate`): an invalid JID or
/// resource is an error ("invalid JID \"alice@\": ..."), printed with the
/// usage line before the example exits non-zero.
pub fn parse_from(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let (mut jid, mut password, mut host, mut port, mut ca, mut pinned, mut resource) =
        (None, None, None, None, None, None, None);
    let (mut plaintext, mut direct_tls, mut rest) = (false, false, Vec::new());
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--jid" => jid = Some(value()?),
            "--password" => password = Some(value()?),
            "--host" => host = Some(value()?),
            "--port" => {
                let v = value()?;
                port = Some(v.parse::<u16>().map_err(|e| format!("--port {v}: {e}"))?)
            }
            "--ca" | "--trust" => ca = Some(value()?.into()),
            "--trust-cert" => pinned = Some(value()?.into()),
            "--resource" => resource = Some(value()?),
            "--plaintext" => plaintext = true,
            "--direct-tls" => direct_tls = true,
            _ => rest.push(a),
        }
    }
    let jid: String = jid.ok_or("--jid is required")?;
    let password = password.ok_or("--password is required")?;
    if plaintext && direct_tls {
        return Err("--plaintext and --direct-tls exclude each other".into());
    }
    let seed = os_seed().map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(jid, password, seed);
    config.resource = resource;
    if plaintext {
        config.tls = TlsPolicy::Disabled;
        config.allow_plaintext_auth = true;
    }
    let host_from_jid = host.is_none();
    // Refuse a bad --jid or --resource here, before connecting: the stream
    // would refuse to start anyway.
    config.validate().map_err(|e| e.to_string())?;
    let options = Options {
        host: host.unwrap_or_else(|| config.domain().to_owned()),
        port: port.unwrap_or(5222),
        ca_pem: ca,
        pinned_cert: pinned,
        direct_tls,
        ..Options::default()
    };
    Ok(Parsed::Run(Box::new(Cli {
        config,
        options,
        rest,
        host_from_jid,
    })))
}

/// Removes `name VALUE` from `rest` and returns the value (the last one,
/// if given more than once).
pub fn take_value(rest: &mut Vec<String>, name: &str) -> Result<Option<String>, String> {
    let mut found = None;
    while let Some(i) = rest.iter().position(|a| a == name) {
        if i + 1 >= rest.len() {
            return Err(format!("{name} needs a value"));
        }
        found = Some(rest.remove(i + 1));
        rest.remove(i);
    }
    Ok(found)
}

/// Removes `name VALUE` from `rest` and parses the value.
pub fn take_parsed<T: std::str::FromStr>(
    rest: &mut Vec<String>,
    name: &str,
) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    take_value(rest, name)?
        .map(|v| v.parse().map_err(|e| format!("{name} {v}: {e}")))
        .transpose()
}

/// Removes the flag `name` from `rest`; whether it was there.
pub fn take_flag(rest: &mut Vec<String>, name: &str) -> bool {
    let before = rest.len();
    rest.retain(|a| a != name);
    rest.len() != before
}

/// What is left once the example took its options: exactly `N` positional
/// arguments (`what` names them), no unknown option.
pub fn positional<const N: usize>(rest: Vec<String>, what: &str) -> Result<[String; N], String> {
    if let Some(option) = rest.iter().find(|a| a.starts_with('-') && a.len() > 1) {
        return Err(format!("unknown option {option}"));
    }
    if rest.len() > N {
        let extra = rest[N..].join(" ");
        return Err(match N {
            0 => format!("unexpected argument: {extra}"),
            _ => format!("unexpected argument after {what}: {extra}"),
        });
    }
    rest.try_into()
        .map_err(|_| format!("missing arguments: expected {what}"))
}

/// For examples with no arguments of their own.
pub fn no_extra(rest: Vec<String>) -> Result<(), String> {
    positional::<0>(rest, "").map(|_| ())
}

/// `"a", "b"` (or `none`), for printing names and groups.
pub fn quoted_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let quoted: Vec<String> = items
        .into_iter()
        .map(|i| format!("\"{}\"", i.as_ref()))
        .collect();
    if quoted.is_empty() {
        "none".to_owned()
    } else {
        quoted.join(", ")
    }
}

/// The resource part of a full JID (after the first `/`).
fn resource_of(jid: &str) -> &str {
    jid.split_once('/').map_or("", |(_, r)| r)
}

/// A note when the server bound another resource than the one asked for
/// (RFC 6120 §7.7.2.1 lets it; Prosody replaces some silently).
pub fn resource_note(asked: Option<&str>, bound_jid: &str) -> Option<String> {
    let asked = asked?;
    let bound = resource_of(bound_jid);
    (asked != bound).then(|| {
        format!("note: asked for the resource \"{asked}\"; the server bound \"{bound}\" instead")
    })
}

/// Connects and waits until online; returns the bound JID. Prints it, and
/// a note when the server bound another resource than the one asked for.
pub fn login(config: ClientConfig, options: &Options) -> Result<(Connection, String), DriverError> {
    let asked = config.resource.clone();
    let mut conn = Connection::connect(config, options)?;
    let jid = conn.run_until(Duration::from_secs(20), |_, e| match e {
        Event::Online { jid, .. } => Some(jid.clone()),
        _ => None,
    })?;
    println!("online as {jid}");
    if let Some(note) = resource_note(asked.as_deref(), &jid) {
        println!("{note}");
    }
    Ok((conn, jid))
}

/// The usage line for `example` (`extra`: its own arguments).
pub fn usage_line(example: &str, extra: &str) -> String {
    format!("usage: cargo run --example {example} -- {USAGE} {extra}")
        .trim_end()
        .to_owned()
}

/// Prints the usage line and the problem; exit code 2.
pub fn usage(example: &str, extra: &str, problem: &str) -> ExitCode {
    eprintln!(
        "{example}: {problem}\n{}\n(--help for more)",
        usage_line(example, extra)
    );
    ExitCode::from(2)
}

/// What the user can try about `e`, given the command line that led to it.
pub fn hint(e: &DriverError, options: &Options, host_from_jid: bool) -> Option<String> {
    use rustls::{CertificateError as C, Error as E};
    let port = options.port;
    let try_direct_tls = (!options.direct_tls).then(|| {
        format!(
            "if port {port} expects TLS from the first byte (XEP-0368 direct TLS), add --direct-tls"
        )
    });
    match e {
        DriverError::Connect { host, .. } if host_from_jid => Some(format!(
            "without --host the example connects to the JID's domain, {host}, port {port}; give the server's address with --host (and --port)"
        )),
        DriverError::Handshake(E::InvalidCertificate(c))
            if options.pinned_cert.is_none()
                && (matches!(c, C::UnknownIssuer)
                    || matches!(c, C::Other(o) if o.to_string() == "CaUsedAsEndEntity")) =>
        {
            Some(
                "if the server's certificate is self-signed, trust exactly that certificate with --trust-cert FILE; or give the CA that signed it with --ca FILE"
                    .to_owned(),
            )
        }
        DriverError::Handshake(E::InvalidCertificate(C::ApplicationVerificationFailure))
            if options.pinned_cert.is_some() =>
        {
            Some("the server presented another certificate than the --trust-cert file".to_owned())
        }
        DriverError::Handshake(E::InvalidMessage(_)) if options.direct_tls => Some(format!(
            "port {port} did not answer in TLS: if it is a STARTTLS port (usually 5222), leave out --direct-tls"
        )),
        DriverError::NotXmpp { answer, .. } => match answer {
            NotXmpp::AnsweredInTls => Some(match options.direct_tls {
                true => "the server expects TLS from the first byte".to_owned(),
                false => format!("port {port} expects TLS from the first byte: add --direct-tls"),
            }),
            NotXmpp::Closed | NotXmpp::Reset => try_direct_tls,
        },
        DriverError::Deadline {
            awaited: Awaited::StreamHeader,
            ..
        } => try_direct_tls,
        _ => None,
    }
}

/// An example's whole `main`: parse the common options, let `parse_extra`
/// take the example's own arguments from what is left (`extra` describes
/// them for the usage line), run `body`, and turn the outcome into an exit
/// code: 0, 1 (a failure, with a hint when there is one) or 2 (a usage
/// error). `--help` prints the usage and exits 0.
pub fn run<A>(
    example: &str,
    extra: &str,
    parse_extra: impl FnOnce(Vec<String>) -> Result<A, String>,
    body: impl FnOnce(Cli, A) -> Result<(), Box<dyn std::error::Error>>,
) -> ExitCode {
    let mut cli = match parse_from(std::env::args().skip(1)) {
        Ok(Parsed::Run(cli)) => *cli,
        Ok(Parsed::Help) => {
            println!("{}\n\n{OPTIONS}", usage_line(example, extra));
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage(example, extra, &e),
    };
    let args = match parse_extra(std::mem::take(&mut cli.rest)) {
        Ok(args) => args,
        Err(e) => return usage(example, extra, &e),
    };
    let (options, host_from_jid) = (cli.options.clone(), cli.host_from_jid);
    match body(cli, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{example}: {e}");
            if let Some(hint) = e
                .downcast_ref::<DriverError>()
                .and_then(|d| hint(d, &options, host_from_jid))
            {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
