//! A blocking XMPP client: logs in (STARTTLS, SASL, bind), prints the
//! roster, then prints incoming messages.
//!
//! ```sh
//! cargo run --example client -- --jid alice@tls.localhost --password alice-secret \
//!     --host 127.0.0.1 --port 5222 --ca /tmp/xmpp-interop/ca.pem [--for 30]
//! ```
//! Trust: `--ca FILE` (alias `--trust`) trusts a CA; `--trust-cert FILE`
//! trusts exactly one server certificate (PEM or DER), e.g. a self-signed
//! one: the handshake must present that certificate, and its signatures are
//! still checked; names, dates and issuer are not.
//! Options: `--plaintext` (no TLS: for a loopback server that allows it),
//! `--direct-tls` (XEP-0368; give its `--port`), `--resource R`, `--for SECONDS` (how long
//! to listen for messages; default until the server closes the stream),
//! `--record PREFIX` (write the plaintext received and sent to
//! PREFIX.in.xml and PREFIX.out.xml, and the size of each read to
//! PREFIX.reads), `--seed N` (a fixed seed, so a
//! recording can be replayed exactly by `examples/session.rs`).
#![allow(clippy::disallowed_methods)] // a real client reads the real clock

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use blocking::Connection;
use xmpp_sansio::stanza::{IqType, StanzaView};
use xmpp_sansio::xml::{Element, ns};
use xmpp_sansio::{ClientConfig, Event};

const EXTRA: &str = "[--direct-tls] [--for SECONDS] [--record PREFIX --seed N]";

/// The client's own options, after the common ones.
struct Extra {
    direct_tls: bool,
    listen: Option<Duration>,
    record: Option<String>,
    seed: Option<u8>,
}

fn parse_extra(rest: &[String]) -> Result<Extra, String> {
    let mut extra = Extra {
        direct_tls: false,
        listen: None,
        record: None,
        seed: None,
    };
    let mut args = rest.iter();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--direct-tls" => extra.direct_tls = true,
            "--for" => {
                extra.listen = Some(Duration::from_secs(
                    value()?.parse().map_err(|e| format!("--for: {e}"))?,
                ))
            }
            "--record" => extra.record = Some(value()?.clone()),
            "--seed" => extra.seed = Some(value()?.parse().map_err(|e| format!("--seed: {e}"))?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(extra)
}

fn main() -> ExitCode {
    cli::run("client", EXTRA, |cli| {
        let args = parse_extra(&cli.rest)?;
        let mut config = cli.config;
        // A fixed seed (for recordings) makes nonces and ids repeatable.
        if let Some(b) = args.seed {
            config.rng_seed = [b; 32];
        }
        let mut options = cli.options;
        options.direct_tls = args.direct_tls;
        run(config, &options, &args)
    })
}

fn run(
    config: ClientConfig,
    options: &blocking::Options,
    args: &Extra,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = Connection::connect(config, options)?;
    if args.record.is_some() {
        conn.recording = Some((Vec::new(), Vec::new()));
    }
    let jid = conn.run_until(Duration::from_secs(20), |_, event| match event {
        Event::StartTls => {
            println!("STARTTLS: upgrading to TLS");
            None
        }
        Event::Authenticated { mechanism, .. } => {
            println!("authenticated with {}", mechanism.name());
            None
        }
        Event::Online { jid, .. } => Some(jid.clone()),
        _ => None,
    })?;
    println!("online as {jid} (TLS: {})", conn.stream.is_secure());

    let roster_id = conn.stream.send_iq(
        IqType::Get,
        None,
        Element::new("query", ns::ROSTER),
        Instant::now(),
    )?;
    conn.run_until(Duration::from_secs(10), |_, event| match event {
        Event::IqResult { id, payload, .. } if *id == roster_id => {
            let items: Vec<Element> = payload.iter().flat_map(|q| q.children()).collect();
            println!("roster: {} contact(s)", items.len());
            for item in items {
                let groups: Vec<String> = item.children().map(|g| g.text().into_owned()).collect();
                println!(
                    "  {} name={:?} subscription={} groups={groups:?}",
                    item.attr("jid").unwrap_or("?"),
                    item.attr("name").unwrap_or(""),
                    item.attr("subscription").unwrap_or("none"),
                );
            }
            Some(())
        }
        Event::IqError { id, error, .. } if *id == roster_id => {
            println!("roster request failed: {error}");
            Some(())
        }
        _ => None,
    })?;

    // Be available, so messages are delivered to this resource.
    conn.stream
        .send(Element::new("presence", ns::JABBER_CLIENT), Instant::now())?;
    let listen = args
        .listen
        .unwrap_or(Duration::from_secs(u64::from(u32::MAX)));
    println!("listening for messages for {}s", listen.as_secs());
    let result = conn.run_until(listen, |_, event| {
        if let Event::Message(m) = event {
            let from = m.element().attr("from").unwrap_or("?");
            let body = m
                .element()
                .get_child("body", ns::JABBER_CLIENT)
                .map(|b| b.text().into_owned());
            if let Some(body) = body {
                println!("message from {from}: {body}");
            }
        }
        None::<()>
    });
    let outcome = match result {
        Err(blocking::DriverError::Deadline) => {
            conn.close();
            Ok(())
        }
        Err(blocking::DriverError::Closed(None)) | Ok(()) => Ok(()),
        Err(e) => Err(e.into()),
    };
    if let (Some(prefix), Some((received, sent))) = (&args.record, &conn.recording) {
        std::fs::write(format!("{prefix}.in.xml"), received)?;
        std::fs::write(format!("{prefix}.out.xml"), sent)?;
        let reads: Vec<String> = conn.recorded_reads.iter().map(usize::to_string).collect();
        std::fs::write(format!("{prefix}.reads"), reads.join("\n") + "\n")?;
        println!(
            "recorded {} bytes received and {} sent to {prefix}.{{in,out}}.xml",
            received.len(),
            sent.len()
        );
    }
    outcome
}
