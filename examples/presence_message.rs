//! Sends presence with show, status and priority, then a message, and
//! prints the presence and messages that arrive (RFC 6121 §4, §5). A
//! `PresenceTracker` follows who is online: each change is printed as it
//! happens, and a summary at the end.
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! cargo run --example presence_message -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA \
//!     bob@tls.localhost "Hello, Bob" --for 1
//! ```
//! The arguments: `CONTACT TEXT`, and `--for SECONDS` (how long to listen,
//! default 10); `--help` lists the options.
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use xmpp_sansio::Event;
use xmpp_sansio::im::{MessageBuilder, PresenceBuilder, PresenceTracker, Show};
use xmpp_sansio::stanza::{MessageType, StanzaView};

/// One line on what the tracker knows of `bare`.
fn tracked(tracker: &PresenceTracker, bare: &str) -> String {
    let resources: Vec<String> = tracker
        .resources(bare)
        .map(|(resource, p)| {
            format!(
                "{resource} ({}, priority {}{})",
                p.show.map_or("available", |s| s.as_str()),
                p.priority,
                p.statuses
                    .first()
                    .map(|(_, text)| format!(", \"{text}\""))
                    .unwrap_or_default()
            )
        })
        .collect();
    match tracker.best(bare) {
        Some((best, _)) => format!(
            "{bare}: online on {}; messages to the bare JID prefer {best}",
            resources.join(", ")
        ),
        None => format!("{bare}: offline"),
    }
}

fn main() -> ExitCode {
    let parse = |mut rest: Vec<String>| {
        let seconds = cli::take_parsed(&mut rest, "--for")?.unwrap_or(10);
        let [contact, text] = cli::positional(rest, "CONTACT TEXT")?;
        Ok((contact, text, seconds))
    };
    cli::run(
        "presence_message",
        "CONTACT TEXT [--for SECONDS]",
        parse,
        |cli, (contact, text, seconds)| {
            let (mut conn, _) = cli::login(cli.config, &cli.options)?;
            let presence = PresenceBuilder::available()
                .show(Show::Chat)?
                .status(None, "Free to talk")
                .priority(10)?;
            // send_presence gives the stanza an id (RFC 6121 §3, §4).
            conn.stream
                .send_presence(presence.build(), Instant::now())?;
            let message = MessageBuilder::new(MessageType::Chat, contact.clone())
                .id("hello-1")
                .body(None, text)
                .build();
            conn.stream.send(message, Instant::now())?;
            println!("sent presence and a message to {contact}; listening {seconds} s");
            let mut tracker = PresenceTracker::default();
            let mut seen = BTreeSet::new();
            let result = conn.run_until(Duration::from_secs(seconds), |_, e| {
                match e {
                    Event::Presence(p) => {
                        let changed = tracker.apply(p);
                        println!(
                            "presence from {}: {}{}{}, priority {}",
                            p.from().map(|a| a.to_string()).unwrap_or_default(),
                            p.type_().as_attr().unwrap_or("available"),
                            p.show().map(|s| format!(", show {s}")).unwrap_or_default(),
                            p.status(None)
                                .map(|s| format!(", status \"{s}\""))
                                .unwrap_or_default(),
                            p.priority()
                        );
                        if let (true, Some(from)) = (changed, p.from()) {
                            let bare = from.bare().to_owned();
                            println!("  tracker: {}", tracked(&tracker, &bare));
                            seen.insert(bare);
                        }
                    }
                    Event::Message(m) => match m.error() {
                        Some(error) => println!(
                            "error message from {}: {error}",
                            m.from().map(|a| a.to_string()).unwrap_or_default()
                        ),
                        None => println!(
                            "{} message from {}: {}",
                            m.type_().as_str(),
                            m.from().map(|a| a.to_string()).unwrap_or_default(),
                            m.body(None).unwrap_or_default()
                        ),
                    },
                    Event::SubscriptionRequest(p) => println!(
                        "{} asks to see our presence",
                        p.from().map(|a| a.to_string()).unwrap_or_default()
                    ),
                    _ => {}
                }
                None::<()>
            });
            println!(
                "presence tracked at the end ({} contact(s) seen):",
                seen.len()
            );
            for bare in &seen {
                println!("  {}", tracked(&tracker, bare));
            }
            match result {
                Err(blocking::DriverError::Deadline { .. }) => {
                    conn.close();
                    Ok(())
                }
                // The server closed the stream in an orderly way.
                Err(blocking::DriverError::Closed(None)) | Ok(()) => Ok(()),
                Err(e) => Err(e.into()),
            }
        },
    )
}
