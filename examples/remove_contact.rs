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
        let roster = conn.stream.request_roster(None, Instant::now())?;
        conn.run_until(Duration::from_secs(10), |_, e| {
            matches!(e, Event::Roster { id, .. } if *id == roster).then_some(())
        })?;
        let id = conn.stream.remove_roster_item(contact, Instant::now())?;
        conn.run_until(Duration::from_secs(10), |_, e| match e {
            Event::RosterPush { item, .. }
                if item.jid == *contact && item.subscription == Subscription::Remove =>
            {
                println!("removed {contact}");
                Some(())
            }
            Event::IqError { id: i, error, .. } if *i == id => {
                println!("not removed: {error}"); // item-not-found if it was not there
                Some(())
            }
            _ => None,
        })?;
        conn.close();
        Ok(())
    })
}
