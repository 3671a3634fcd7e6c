//! The examples as a user runs them.
//!
//! Without a server: every example's usage lines (the `sh` block at the top
//! of its file) are concrete commands, and the shared command-line support
//! (`examples/support/cli.rs`, `blocking.rs`) parses, refuses, and words
//! its errors as it should, also against a loopback socket that is not an
//! XMPP server (silent, answering in TLS, closing, refusing).
//!
//! With a live server (`scripts/prosody.sh start DIR`, then `set -a; .
//! DIR/env; set +a`; the tests are ignored otherwise, and `.ci/run` runs
//! them): every usage line runs as written and exits 0, and the examples'
//! errors say what went wrong and where, with their exit codes.
#![allow(clippy::disallowed_methods)] // the driver reads the real clock

#[path = "../examples/support/blocking.rs"]
mod blocking;
#[path = "../examples/support/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use blocking::{Awaited, DriverError, NotXmpp, Options};
use rustls::{CertificateError, OtherError};

const LIVE: &str = "needs a live server: scripts/prosody.sh start DIR, then export DIR/env";

/// Every example, in the order their usage lines run against the server.
const EXAMPLES: &[&str] = &[
    "demo",
    "session",
    "replay",
    "client",
    "roster",
    "set_contact_name",
    "roster_push",
    "presence_message",
    "contact",
    "remove_contact",
    "roster_versioning",
];

/// Examples that serve until stopped, so no usage line of theirs can run
/// here: `.ci/run` runs `server` under the slixmpp scenario instead.
const SERVERS: &[&str] = &["server"];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The commands of the first `sh` block in the file's leading `//!`
/// comment: continuation lines joined, comments and blank lines left out.
fn usage_lines(source: &str) -> Vec<String> {
    let doc = source
        .lines()
        .take_while(|l| l.starts_with("//!") || l.starts_with("#!["))
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l));
    let block = doc
        .skip_while(|l| l.trim() != "```sh")
        .skip(1)
        .take_while(|l| l.trim() != "```");
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block {
        let line = line.trim();
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(current.is_empty(), "a usage line ends in a continuation");
    commands
}

fn example_source(name: &str) -> String {
    let path = manifest_dir().join("examples").join(format!("{name}.rs"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The variables `scripts/prosody.sh start DIR` writes to `DIR/env`.
fn env_variables() -> Vec<String> {
    let script = std::fs::read_to_string(manifest_dir().join("scripts/prosody.sh")).unwrap();
    script
        .lines()
        .filter_map(|l| l.strip_prefix("XMPP_INTEROP_"))
        .filter_map(|l| l.split_once('='))
        .map(|(name, _)| format!("XMPP_INTEROP_{name}"))
        .collect()
}

#[test]
fn every_example_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(manifest_dir().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = EXAMPLES.iter().chain(SERVERS).copied().collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// What a user can paste: `cargo run --example NAME`, no placeholders
/// (`PORT`, `DIR/ca.pem`, `[--for 30]`), only variables the test server's
/// `DIR/env` defines.
#[test]
fn usage_lines_are_concrete_commands() {
    let known = env_variables();
    assert!(known.len() >= 10, "{known:?}");
    for name in EXAMPLES {
        let lines = usage_lines(&example_source(name));
        assert!(!lines.is_empty(), "{name}: no usage line");
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words[..3], ["cargo", "run", "--example"], "{name}: {line}");
            for word in words {
                let word = word.trim_matches('"');
                if word.starts_with('#') {
                    break; // a trailing comment
                }
                if let Some(var) = word.strip_prefix('$') {
                    assert!(known.iter().any(|k| k == var), "{name}: unknown ${var}");
                    continue;
                }
                let placeholder = word.contains("DIR")
                    || word.contains(['[', ']', '…', '|', '<', '>'])
                    || (word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
                assert!(!placeholder, "{name}: placeholder {word:?} in: {line}");
            }
        }
    }
}

#[test]
fn usage_lines_are_read_across_continuations_without_comments() {
    let source = "//! Title.\n//!\n//! ```sh\n//! # a comment\n//! cargo run --example x -- \\\n//!     --a 1\n//! cargo run --example x  # note\n//! ```\n//! ```sh\n//! not this\n//! ```\nfn main() {}\n";
    assert_eq!(
        usage_lines(source),
        [
            "cargo run --example x -- --a 1",
            "cargo run --example x  # note"
        ]
    );
}

// ---- the command line, without a server ----

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

fn parse(line: &str) -> Result<cli::Cli, String> {
    match cli::parse_from(args(line))? {
        cli::Parsed::Run(cli) => Ok(*cli),
        cli::Parsed::Help => Err("help".into()),
    }
}

#[test]
fn help_is_recognised_anywhere_and_before_required_options() {
    for line in [
        "--help",
        "-h",
        "--jid a@b --help",
        "--jid a@b --password p extra -h",
    ] {
        assert!(
            matches!(cli::parse_from(args(line)), Ok(cli::Parsed::Help)),
            "{line}"
        );
    }
}

#[test]
fn common_options_are_read_and_the_rest_left_in_order() {
    let cli = parse(
        "--jid alice@tls.localhost bob --password pw --for 3 --port 5299 --direct-tls --ca ca.pem Hi",
    )
    .unwrap();
    assert_eq!(cli.rest, ["bob", "--for", "3", "Hi"]);
    assert_eq!(cli.options.port, 5299);
    assert!(cli.options.direct_tls);
    assert_eq!(cli.options.host, "tls.localhost");
    assert!(cli.host_from_jid);
    assert_eq!(cli.options.ca_pem, Some(PathBuf::from("ca.pem")));
    let cli = parse("--jid alice@tls.localhost --password pw --host 127.0.0.1").unwrap();
    assert_eq!(
        (cli.options.host.as_str(), cli.options.port),
        ("127.0.0.1", 5222)
    );
    assert!(!cli.host_from_jid);
}

#[test]
fn missing_or_malformed_common_options_are_refused() {
    for (line, problem) in [
        ("--password pw", "--jid is required"),
        ("--jid a@b", "--password is required"),
        ("--jid a@b --password", "--password needs a value"),
        (
            "--jid a@b --password pw --port x",
            "--port x: invalid digit",
        ),
        ("--jid a@b --password pw --port 70000", "--port 70000"),
        (
            "--jid a@b --password pw --plaintext --direct-tls",
            "exclude each other",
        ),
        // The account is checked before connecting (RFC 7622).
        ("--jid alice@ --password pw", "invalid JID \"alice@\""),
        ("--jid a@b@c --password pw", "invalid JID \"a@b@c\""),
        (
            "--jid a@example.com --password pw --resource a\u{7}b",
            "invalid resource",
        ),
    ] {
        let error = parse(line).err().unwrap_or_default();
        assert!(error.contains(problem), "{line}: {error}");
    }
}

#[test]
fn an_example_s_own_arguments_are_taken_and_anything_else_refused() {
    let mut rest = args("bob --for 3 Hello --for 4");
    assert_eq!(cli::take_parsed::<u64>(&mut rest, "--for"), Ok(Some(4)));
    assert_eq!(
        cli::positional::<2>(rest, "CONTACT TEXT").unwrap(),
        ["bob", "Hello"]
    );

    let mut rest = args("--for x");
    assert_eq!(
        cli::take_parsed::<u64>(&mut rest, "--for"),
        Err("--for x: invalid digit found in string".into())
    );
    let mut rest = args("bob --for");
    assert_eq!(
        cli::take_value(&mut rest, "--for"),
        Err("--for needs a value".into())
    );
    let mut rest = args("--cache f --verbose");
    assert!(!cli::take_flag(&mut rest, "--quiet"));
    assert!(cli::take_flag(&mut rest, "--verbose"));
    assert_eq!(rest, ["--cache", "f"]);

    assert_eq!(cli::no_extra(Vec::new()), Ok(()));
    assert_eq!(
        cli::no_extra(args("bogus")),
        Err("unexpected argument: bogus".into())
    );
    assert_eq!(
        cli::no_extra(args("--bogus 1")),
        Err("unknown option --bogus".into())
    );
    assert_eq!(
        cli::positional::<1>(args("bob carol"), "CONTACT"),
        Err("unexpected argument after CONTACT: carol".into())
    );
    assert_eq!(
        cli::positional::<2>(args("bob"), "CONTACT TEXT"),
        Err("missing arguments: expected CONTACT TEXT".into())
    );
}

#[test]
fn a_usage_line_names_the_example_and_its_arguments() {
    let line = cli::usage_line("remove_contact", "CONTACT");
    assert!(line.starts_with("usage: cargo run --example remove_contact -- --jid "));
    assert!(line.ends_with("[--resource R] CONTACT"), "{line}");
    assert!(!cli::usage_line("roster", "").ends_with(' '));
}

#[test]
fn another_bound_resource_than_the_one_asked_for_is_noted() {
    let note = cli::resource_note(Some("phone📱🚀"), "alice@tls.localhost/x7Yz").unwrap();
    assert!(note.contains("\"phone📱🚀\""), "{note}");
    assert!(note.contains("\"x7Yz\""), "{note}");
    assert_eq!(
        cli::resource_note(Some("balcony"), "alice@tls.localhost/balcony"),
        None
    );
    // Not asked for: whatever the server picks is what was asked.
    assert_eq!(cli::resource_note(None, "alice@tls.localhost/x7Yz"), None);
    // A resource with a slash: only the first one separates.
    assert_eq!(
        cli::resource_note(Some("a/b"), "alice@tls.localhost/a/b"),
        None
    );
    assert!(cli::resource_note(Some("a"), "alice@tls.localhost").is_some());
}

#[test]
fn lists_print_quoted_or_none() {
    assert_eq!(
        cli::quoted_list(["Friends", "Крэг"]),
        "\"Friends\", \"Крэг\""
    );
    assert_eq!(cli::quoted_list(Vec::<String>::new()), "none");
}

// ---- errors in words, with hints ----

/// `webpki`'s errors reach rustls as `Other`, displayed as their `Debug`
/// name; this stands in for one.
#[derive(Debug)]
struct WebPkiLike(&'static str);

impl std::fmt::Display for WebPkiLike {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for WebPkiLike {}

fn webpki(name: &'static str) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(WebPkiLike(
        name,
    )))))
}

/// No `Debug` names (`UnknownIssuer`, `Some(`, `InvalidContentType`) in
/// what a user reads.
fn assert_words(text: &str) {
    let camel = text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        w.len() > 1
            && w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && w.chars().skip(1).any(|c| c.is_ascii_uppercase())
            && w.chars().any(|c| c.is_ascii_lowercase())
    });
    assert!(
        !camel && !text.contains("Some(") && !text.contains('{'),
        "not in words: {text}"
    );
}

#[test]
fn rustls_errors_are_put_in_words() {
    use rustls::{AlertDescription, InvalidMessage, PeerMisbehaved};
    for (error, expected) in [
        (
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            "not signed by a trusted CA",
        ),
        (
            rustls::Error::InvalidCertificate(CertificateError::Expired),
            "expired",
        ),
        (
            rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure),
            "not the pinned certificate",
        ),
        (
            webpki("CaUsedAsEndEntity"),
            "a CA certificate used as the server's own",
        ),
        (webpki("UnsupportedCertVersion"), "unsupported cert version"),
        (
            rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType),
            "not TLS",
        ),
        (
            rustls::Error::InvalidMessage(InvalidMessage::MessageTooShort),
            "malformed TLS message (message too short)",
        ),
        (
            rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
            "alert \"handshake failure\"",
        ),
        (
            rustls::Error::PeerMisbehaved(PeerMisbehaved::TooManyEmptyFragments),
            "misbehaved: too many empty fragments",
        ),
    ] {
        let text = DriverError::Handshake(error).to_string();
        assert!(text.contains(expected), "{text}");
        assert_words(&text);
    }
}

#[test]
fn driver_errors_say_what_and_where() {
    let refused = DriverError::Connect {
        host: "127.0.0.1".into(),
        port: 5299,
        error: std::io::ErrorKind::ConnectionRefused.into(),
    };
    let text = refused.to_string();
    assert!(text.contains("127.0.0.1 port 5299"), "{text}");
    let header = DriverError::Deadline {
        within: Duration::from_secs(20),
        awaited: Awaited::StreamHeader,
    };
    assert_eq!(header.to_string(), "no stream header within 20 s");
    let negotiation = DriverError::Deadline {
        within: Duration::from_millis(2500),
        awaited: Awaited::Negotiation,
    };
    assert_eq!(
        negotiation.to_string(),
        "stream negotiation did not finish within 2.5 s"
    );
    let tls = DriverError::NotXmpp {
        peer: "127.0.0.1:5223".into(),
        answer: NotXmpp::AnsweredInTls,
    };
    assert!(
        tls.to_string()
            .starts_with("127.0.0.1:5223 answered in TLS")
    );
    for e in [refused, header, negotiation, tls] {
        assert_words(&e.to_string());
    }
}

fn options(direct_tls: bool, pinned: bool) -> Options {
    Options {
        host: "127.0.0.1".into(),
        port: 5299,
        direct_tls,
        pinned_cert: pinned.then(|| "self.crt".into()),
        ..Options::default()
    }
}

#[test]
fn hints_point_to_the_option_that_fixes_it() {
    let hint = |e: DriverError, o: Options, from_jid: bool| cli::hint(&e, &o, from_jid);
    let self_signed = || webpki("CaUsedAsEndEntity");
    let unknown = || rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    for e in [self_signed(), unknown()] {
        let h = hint(DriverError::Handshake(e), options(false, false), false).unwrap();
        assert!(h.contains("--trust-cert"), "{h}");
    }
    // Already pinned: the pin is what failed.
    assert_eq!(
        hint(
            DriverError::Handshake(unknown()),
            options(false, true),
            false
        ),
        None
    );
    let wrong_pin =
        rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure);
    let h = hint(
        DriverError::Handshake(wrong_pin),
        options(false, true),
        false,
    )
    .unwrap();
    assert!(
        h.contains("another certificate than the --trust-cert file"),
        "{h}"
    );

    // Direct TLS on a STARTTLS port: the server answers in XML.
    let xml = || {
        DriverError::Handshake(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ))
    };
    let h = hint(xml(), options(true, false), false).unwrap();
    assert!(h.contains("leave out --direct-tls"), "{h}");
    assert_eq!(hint(xml(), options(false, false), false), None);

    // STARTTLS on a direct-TLS port: TLS bytes, a reset, or silence.
    for answer in [NotXmpp::AnsweredInTls, NotXmpp::Reset, NotXmpp::Closed] {
        let e = || DriverError::NotXmpp {
            peer: "127.0.0.1:5299".into(),
            answer,
        };
        let h = hint(e(), options(false, false), false).unwrap();
        assert!(h.contains("add --direct-tls") && h.contains("5299"), "{h}");
        assert!(!hint(e(), options(true, false), false).is_some_and(|h| h.contains("add")));
    }
    let silence = || DriverError::Deadline {
        within: Duration::from_secs(20),
        awaited: Awaited::StreamHeader,
    };
    assert!(
        hint(silence(), options(false, false), false).is_some_and(|h| h.contains("--direct-tls"))
    );

    // No --host: the JID's domain was tried.
    let unresolved = || DriverError::Connect {
        host: "tls.localhost".into(),
        port: 5222,
        error: std::io::Error::other("failed to lookup address information"),
    };
    let h = hint(unresolved(), options(false, false), true).unwrap();
    assert!(
        h.contains("JID's domain, tls.localhost") && h.contains("--host"),
        "{h}"
    );
    assert_eq!(hint(unresolved(), options(false, false), false), None);
}

// ---- against a live server ----

fn require_server() {
    if std::env::var_os("XMPP_INTEROP_PORT").is_none() {
        panic!("{LIVE}");
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("${name} is not set: {LIVE}"))
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh start DIR, then export DIR/env"]
fn every_usage_line_runs_as_written() {
    require_server();
    for name in EXAMPLES {
        for line in usage_lines(&example_source(name)) {
            let out = Command::new("bash")
                .args(["-c", &format!("set -eu; {line}")])
                .current_dir(manifest_dir())
                .output()
                .unwrap();
            let report = show(&line, &out);
            assert!(out.status.success(), "{report}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(!stdout.contains("Some("), "{report}");
            eprintln!("ok: {line}");
        }
    }
}

/// The examples, built once.
fn example_binary(name: &str) -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "--examples"])
            .current_dir(manifest_dir())
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --examples: {status}");
    });
    // target/debug/deps/examples_cli-… -> target/debug/examples/NAME
    let deps = std::env::current_exe().unwrap();
    let profile = deps.parent().and_then(Path::parent).unwrap();
    profile.join("examples").join(name)
}

fn run_example(name: &str, args: &[&str]) -> Output {
    Command::new(example_binary(name))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `roster` as alice on `domain` with `extra` options; checks the
/// exit code and that stderr holds every `expected` piece.
fn expect_failure(domain: &str, extra: &[&str], code: i32, expected: &[&str]) {
    let (host, jid) = (var("XMPP_INTEROP_HOST"), format!("alice@{domain}"));
    let mut args = vec!["--jid", &jid, "--password", "alice-secret", "--host", &host];
    args.extend_from_slice(extra);
    let out = run_example("roster", &args);
    let report = show(&format!("roster {}", args.join(" ")), &out);
    assert_eq!(out.status.code(), Some(code), "{report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for piece in expected {
        assert!(stderr.contains(piece), "missing {piece:?}: {report}");
    }
    assert_words(stderr.lines().next().unwrap_or_default());
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh start DIR, then export DIR/env"]
fn errors_say_what_and_where_with_a_hint() {
    require_server();
    let (port, tls_port) = (var("XMPP_INTEROP_PORT"), var("XMPP_INTEROP_TLS_PORT"));
    let (ca, tls, self_signed) = (
        var("XMPP_INTEROP_CA"),
        var("XMPP_INTEROP_TLS_DOMAIN"),
        var("XMPP_INTEROP_SELF_SIGNED_DOMAIN"),
    );
    // A port nobody listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
        .to_string();
    expect_failure(
        &tls,
        &["--port", &closed, "--ca", &ca],
        1,
        &[
            &format!("cannot connect to 127.0.0.1 port {closed}"),
            "refused",
        ],
    );
    let missing = std::env::temp_dir().join("xmpp-sansio-no-such-ca.pem");
    let missing = missing.to_str().unwrap();
    expect_failure(
        &tls,
        &["--port", &port, "--ca", missing],
        1,
        &[&format!("cannot read the CA file {missing}")],
    );
    let empty = std::env::temp_dir().join(format!("xmpp-sansio-empty-{}.pem", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    let empty_path = empty.to_str().unwrap();
    expect_failure(
        &tls,
        &["--port", &port, "--ca", empty_path],
        1,
        &[&format!(
            "the CA file {empty_path} holds no PEM certificate"
        )],
    );
    expect_failure(
        &tls,
        &["--port", &port, "--trust-cert", empty_path],
        1,
        &[&format!("{empty_path} holds no certificate")],
    );
    std::fs::remove_file(&empty).ok();
    expect_failure(
        &self_signed,
        &["--port", &port, "--ca", &ca],
        1,
        &["certificate was refused", "hint:", "--trust-cert"],
    );
    expect_failure(
        &tls,
        &["--port", &port, "--ca", &ca, "--direct-tls"],
        1,
        &["not TLS", "leave out --direct-tls"],
    );
    expect_failure(
        &tls,
        &["--port", &tls_port, "--ca", &ca],
        1,
        &[
            &format!("127.0.0.1:{tls_port}"),
            "before sending a stream header",
            "add --direct-tls",
        ],
    );
    expect_failure(
        &tls,
        &["--port", &port, "--ca", &ca, "bogus"],
        2,
        &[
            "unexpected argument: bogus",
            "usage: cargo run --example roster --",
        ],
    );
    expect_failure(
        &tls,
        &["--port", &port, "--ca", &ca, "--bogus"],
        2,
        &["unknown option --bogus", "usage:"],
    );
}

#[test]
#[ignore = "needs a live server: scripts/prosody.sh start DIR, then export DIR/env"]
fn help_resources_and_listening_as_a_user_sees_them() {
    require_server();
    for name in EXAMPLES {
        let out = run_example(name, &["--help"]);
        let report = show(&format!("{name} --help"), &out);
        assert!(out.status.success(), "{report}");
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .starts_with(&format!("usage: cargo run --example {name} --")),
            "{report}"
        );
    }
    let (host, port, ca) = (
        var("XMPP_INTEROP_HOST"),
        var("XMPP_INTEROP_PORT"),
        var("XMPP_INTEROP_CA"),
    );
    let jid = format!("alice@{}", var("XMPP_INTEROP_TLS_DOMAIN"));
    let common = [
        "--jid",
        &jid,
        "--password",
        "alice-secret",
        "--host",
        &host,
        "--port",
        &port,
        "--ca",
        &ca,
    ];
    // Prosody replaces this resource with one of its own, silently.
    for name in ["roster", "client"] {
        let mut args = common.to_vec();
        args.extend(["--resource", "phone📱🚀"]);
        if name == "client" {
            args.extend(["--for", "0"]);
        }
        let out = run_example(name, &args);
        let report = show(name, &out);
        assert!(out.status.success(), "{report}");
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains("note: asked for the resource \"phone📱🚀\"; the server bound"),
            "{report}"
        );
    }
    // Without --for, the client says it listens until interrupted.
    let mut child = Command::new(example_binary("client"))
        .args(common)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("listening"));
    child.kill().ok();
    child.wait().ok();
    assert_eq!(
        listening.as_deref(),
        Some("listening for messages until interrupted (Ctrl-C) or the server closes the stream")
    );
}

// ---- the driver against a local socket that is not an XMPP server ----

/// Connects the driver to a one-connection server on loopback that does
/// `serve` with the accepted socket, and waits up to `within` for online.
fn against(
    within: Duration,
    serve: impl FnOnce(std::net::TcpStream) + Send + 'static,
) -> DriverError {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || serve(listener.accept().unwrap().0));
    let config = xmpp_sansio::ClientConfig::new("alice@tls.localhost", "pw", [1; 32]);
    let options = Options {
        host: "127.0.0.1".into(),
        port,
        ..Options::default()
    };
    let outcome = blocking::Connection::connect(config, &options).and_then(|mut conn| {
        conn.run_until(within, |_, e| {
            matches!(e, xmpp_sansio::Event::Online { .. }).then_some(())
        })
    });
    server.join().unwrap();
    outcome.expect_err("not online")
}

#[test]
fn a_silent_server_is_no_stream_header_within_the_deadline() {
    let e = against(Duration::from_millis(300), |sock| {
        std::thread::sleep(Duration::from_millis(600));
        drop(sock);
    });
    assert!(
        matches!(
            e,
            DriverError::Deadline {
                awaited: Awaited::StreamHeader,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "no stream header within 0.3 s");
}

#[test]
fn tls_bytes_or_a_close_instead_of_a_stream_header_are_named() {
    use std::io::{Read, Write};
    // A TLS alert record (content type 21), as a direct-TLS port may send
    // on reading our plaintext stream header.
    let e = against(Duration::from_secs(5), |mut sock| {
        let mut buf = [0u8; 512];
        let _ = sock.read(&mut buf);
        sock.write_all(&[21, 3, 3, 0, 2, 2, 70]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    assert!(
        matches!(
            &e,
            DriverError::NotXmpp {
                answer: NotXmpp::AnsweredInTls,
                peer,
            } if peer.starts_with("127.0.0.1:")
        ),
        "{e:?}"
    );
    let e = against(Duration::from_secs(5), |mut sock| {
        let mut buf = [0u8; 512];
        let _ = sock.read(&mut buf);
        sock.shutdown(std::net::Shutdown::Both).unwrap();
    });
    assert!(
        matches!(
            e,
            DriverError::NotXmpp {
                answer: NotXmpp::Closed | NotXmpp::Reset,
                ..
            }
        ),
        "{e:?}"
    );
    // Once a header arrived, a close is the stream's business.
    let e = against(Duration::from_secs(5), |mut sock| {
        let mut buf = [0u8; 512];
        let _ = sock.read(&mut buf);
        sock.write_all(
            b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' id='s1' from='tls.localhost'>",
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(100));
    });
    assert!(matches!(e, DriverError::Closed(Some(_))), "{e:?}");
}

#[test]
fn a_refused_connection_names_host_and_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let config = xmpp_sansio::ClientConfig::new("alice@tls.localhost", "pw", [1; 32]);
    let options = Options {
        host: "127.0.0.1".into(),
        port,
        ..Options::default()
    };
    let e = blocking::Connection::connect(config, &options)
        .err()
        .expect("nobody listens");
    assert!(
        e.to_string()
            .starts_with(&format!("cannot connect to 127.0.0.1 port {port}: ")),
        "{e}"
    );
}

#[test]
fn a_ca_file_without_a_certificate_is_refused_naming_the_file() {
    let dir = std::env::temp_dir();
    for (name, content, expected) in [
        ("empty", "", "holds no PEM certificate: it is empty"),
        ("text", "not a certificate\n", "holds no PEM certificate"),
    ] {
        let path = dir.join(format!("xmpp-sansio-ca-{name}-{}.pem", std::process::id()));
        std::fs::write(&path, content).unwrap();
        let config = xmpp_sansio::ClientConfig::new("alice@tls.localhost", "pw", [1; 32]);
        let options = Options {
            host: "127.0.0.1".into(),
            port: 1,
            ca_pem: Some(path.clone()),
            ..Options::default()
        };
        let e = blocking::Connection::connect(config, &options)
            .err()
            .expect("refused");
        std::fs::remove_file(&path).ok();
        let text = e.to_string();
        assert!(
            text.contains(&format!("the CA file {} {expected}", path.display())),
            "{text}"
        );
    }
}
