//! A blocking XMPP client: logs in (STARTTLS, SASL, bind), prints the
//! roster, then prints incoming messages.
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! cargo run --example client -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA --for 1
//! cargo run --example client -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_TLS_PORT --ca $XMPP_INTEROP_CA --direct-tls --for 1
//! ```
//! Trust: `--ca FILE` (alias `--trust`) trusts a CA; `--trust-cert FILE`
//! trusts exactly one server certificate (PEM or DER), e.g. a self-signed
//! one: the handshake must present that certificate, and its signatures are
//! still checked; names, dates and issuer are not.
//! Options: `--plaintext` (no TLS: for a loopback server that allows it),
//! `--direct-tls` (XEP-0368; give its `--port`), `--resource R`, `--for SECONDS` (how long
//! to listen for messages; without it, until interrupted or the server
//! closes the stream), `--record PREFIX` (write the plaintext received and
//! sent to PREFIX.in.xml and PREFIX.out.xml, and the size of each read to
//! PREFIX.reads), `--seed N` (a fixed seed, so a recording can be replayed
//! exactly by `examples/session.rs`). `--help` lists them all.
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

const EXTRA: &str = "[--for SECONDS] [--record PREFIX --seed N]";

/// The client's own options, after the common ones.
struct Extra {
    listen: Option<Duration>,
    record: Option<String>,
    seed: Option<u8>,
}

fn parse_extra(mut rest: Vec<String>) -> Result<Extra, String> {
    let extra = Extra {
        listen: cli::take_parsed(&mut rest, "--for")?.map(Duration::from_secs),
        record: cli::take_value(&mut rest, "--record")?,
        seed: cli::take_parsed(&mut rest, "--seed")?,
    };
    cli::no_extra(rest)?;
    Ok(extra)
}

fn main() -> ExitCode {
    cli::run("client", EXTRA, parse_extra, |cli, args| {
        let mut config = cli.config;
        // A fixed seed (for recordings) makes nonces and ids repeatable.
        if let Some(b) = args.seed {
            config.rng_seed = [b; 32];
        }
        run(config, &cli.options, &args)
    })
}

fn run(
    config: ClientConfig,
    options: &blocking::Options,
    args: &Extra,
) -> Result<(), Box<dyn std::error::Error>> {
    let asked = config.resource.clone();
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
    if let Some(note) = cli::resource_note(asked.as_deref(), &jid) {
        println!("{note}");
    }

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
                    "  {} name \"{}\" subscription {} groups {}",
                    item.attr("jid").unwrap_or("?"),
                    item.attr("name").unwrap_or(""),
                    item.attr("subscription").unwrap_or("none"),
                    cli::quoted_list(&groups),
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
    let listen = match args.listen {
        Some(listen) => {
            println!("listening for messages for {} s", listen.as_secs());
            listen
        }
        None => {
            println!(
                "listening for messages until interrupted (Ctrl-C) or the server closes the stream"
            );
            Duration::from_secs(u64::from(u32::MAX))
        }
    };
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
        Err(blocking::DriverError::Deadline { .. }) => {
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
