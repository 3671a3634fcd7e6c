//! Removes a contact from the roster (RFC 6121 §2.5), which also cancels
//! the subscriptions both ways.
//!
//! ```sh
//! cargo run --example remove_contact -- --jid alice@tls.localhost --password alice-secret --port PORT --ca DIR/ca.pem bob@tls.localhost
//! ```
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use xmpp_sansio::Event;
use xmpp_sansio::im::Subscription;

fn main() -> ExitCode {
    cli::run("remove_contact", "CONTACT", |cli| {
        let [contact] = cli.rest.as_slice() else {
            return Err("which contact?".into());
        };
        let (mut conn, _) = cli::login(cli.config, &cli.options)?;
        // Pushes go only to interested resources (RFC 6121 §2.1.6).
        conn.fetch_roster(Duration::from_secs(10))?;
        let id = conn.stream.remove_roster_item(contact, Instant::now())?;
        let (mut acknowledged, mut pushed) = (false, false);
        let outcome = conn.run_until(Duration::from_secs(10), |_, e| {
            match e {
                Event::IqResult { id: i, .. } if *i == id => acknowledged = true,
                Event::RosterPush { item, .. }
                    if item.jid == *contact && item.subscription == Subscription::Remove =>
                {
                    println!("removed {contact}");
                    pushed = true;
                }
                // item-not-found when it was not in the roster.
                Event::IqError { id: i, error, .. } if *i == id => {
                    return Some(Err(format!("{contact} not removed: {error}")));
                }
                _ => {}
            }
            (acknowledged && pushed).then_some(Ok(()))
        });
        conn.close();
        Ok(outcome??)
    })
}
