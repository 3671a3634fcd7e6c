//! Sends presence with show, status and priority, then a message, and
//! prints the presence and messages that arrive (RFC 6121 §4, §5). A
//! `PresenceTracker` follows who is online: each change is printed as it
//! happens, and a summary at the end.
//!
//! ```sh
//! cargo run --example presence_message -- --jid alice@tls.localhost --password alice-secret --port PORT --ca DIR/ca.pem \
//!     bob@tls.localhost "Hello, Bob" [--for SECONDS]
//! ```
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
                    .map(|(_, text)| format!(", {text:?}"))
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
    cli::run("presence_message", "CONTACT TEXT [--for SECONDS]", |cli| {
        let (contact, text, seconds) = match cli.rest.as_slice() {
            [c, t] => (c.clone(), t.clone(), 10),
            [c, t, flag, n] if flag == "--for" => (
                c.clone(),
                t.clone(),
                n.parse().map_err(|e| format!("--for {n}: {e}"))?,
            ),
            _ => {
                return Err("whom, and what?".into());
            }
        };
        let (mut conn, jid) = cli::login(cli.config, &cli.options)?;
        println!("online as {jid}");
        let presence = PresenceBuilder::available()
            .show(Show::Chat)?
            .status(None, "Free to talk")
            .priority(10)?;
        // send_presence gives the stanza an id (RFC 6120 §8.1.3).
        conn.stream
            .send_presence(presence.build(), Instant::now())?;
        let message = MessageBuilder::new(MessageType::Chat, contact.clone())
            .id("hello-1")
            .body(None, text)
            .build();
        conn.stream.send(message, Instant::now())?;
        println!("sent presence and a message to {contact}; listening {seconds}s");
        let mut tracker = PresenceTracker::default();
        let mut seen = BTreeSet::new();
        let result = conn.run_until(Duration::from_secs(seconds), |_, e| {
            match e {
                Event::Presence(p) => {
                    let changed = tracker.apply(p);
                    println!(
                        "presence from {}: {:?} show={:?} status={:?} priority={}",
                        p.from().map(|a| a.to_string()).unwrap_or_default(),
                        p.type_(),
                        p.show(),
                        p.status(None),
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
            Err(blocking::DriverError::Deadline) => {
                conn.close();
                Ok(())
            }
            // The server closed the stream in an orderly way.
            Err(blocking::DriverError::Closed(None)) | Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    })
}
