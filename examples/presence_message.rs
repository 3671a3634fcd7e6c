//! Sends presence with show, status and priority, then a message, and
//! prints the presence and messages that arrive (RFC 6121 §4, §5).
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

use std::process::ExitCode;
use std::time::{Duration, Instant};

use xmpp_sansio::Event;
use xmpp_sansio::im::{MessageBuilder, PresenceBuilder, PresenceTracker, Show};
use xmpp_sansio::stanza::{MessageType, StanzaView};

fn main() -> ExitCode {
    cli::run("presence_message", "CONTACT TEXT [--for SECONDS]", |cli| {
        let (contact, text, seconds) = match cli.rest.as_slice() {
            [c, t] => (c.clone(), t.clone(), 10),
            [c, t, flag, n] if flag == "--for" => (c.clone(), t.clone(), n.parse().unwrap_or(10)),
            _ => {
                return Err("whom, and what?".into());
            }
        };
        let (mut conn, jid) = cli::login(cli.config, &cli.options)?;
        println!("online as {jid}");
        let presence = PresenceBuilder::available()
            .show(Show::Chat)
            .status(None, "Free to talk")
            .priority(10)?;
        conn.stream.send(presence.build(), Instant::now())?;
        let message = MessageBuilder::new(MessageType::Chat, contact.clone())
            .id("hello-1")
            .body(None, text)
            .build();
        conn.stream.send(message, Instant::now())?;
        println!("sent presence and a message to {contact}; listening {seconds}s");
        let mut tracker = PresenceTracker::default();
        let result = conn.run_until(Duration::from_secs(seconds), |_, e| {
            match e {
                Event::Presence(p) => {
                    tracker.apply(p);
                    println!(
                        "presence from {}: {:?} show={:?} status={:?} priority={}",
                        p.from().map(|a| a.to_string()).unwrap_or_default(),
                        p.type_(),
                        p.show(),
                        p.status(None),
                        p.priority()
                    );
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
        if let Err(blocking::DriverError::Deadline) = result {
            conn.close();
        }
        Ok(())
    })
}
