//! Removes a contact from the roster (RFC 6121 §2.5), which also cancels
//! the subscriptions both ways.
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! # (bob must be in the roster: set_contact_name adds him)
//! cargo run --example set_contact_name -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA \
//!     bob@tls.localhost Bob
//! cargo run --example remove_contact -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA \
//!     bob@tls.localhost
//! ```
//! The argument: `CONTACT`; `--help` lists the options.
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
    let parse = |rest| cli::positional::<1>(rest, "CONTACT");
    cli::run("remove_contact", "CONTACT", parse, |cli, [contact]| {
        let (mut conn, _) = cli::login(cli.config, &cli.options)?;
        // Pushes go only to interested resources (RFC 6121 §2.1.6).
        conn.fetch_roster(Duration::from_secs(10))?;
        let id = conn.stream.remove_roster_item(&contact, Instant::now())?;
        let (mut acknowledged, mut pushed) = (false, false);
        let outcome = conn.run_until(Duration::from_secs(10), |_, e| {
            match e {
                Event::IqResult { id: i, .. } if *i == id => acknowledged = true,
                Event::RosterPush { item, .. }
                    if item.jid == contact && item.subscription == Subscription::Remove =>
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
