//! Adds a contact or changes its name and groups (RFC 6121 §2.3).
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! cargo run --example set_contact_name -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA \
//!     bob@tls.localhost "Bob" Friends
//! ```
//! The arguments: `CONTACT NAME [GROUP…]` (no group: none); `--help` lists
//! the options.
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use xmpp_sansio::Event;
use xmpp_sansio::im::RosterItem;

fn main() -> ExitCode {
    let parse = |rest: Vec<String>| {
        if let Some(option) = rest.iter().find(|a| a.starts_with("--")) {
            return Err(format!("unknown option {option}"));
        }
        let mut rest = rest.into_iter();
        match (rest.next(), rest.next()) {
            (Some(contact), Some(name)) => Ok((contact, name, rest.collect::<Vec<_>>())),
            _ => Err("which contact, and what name?".to_owned()),
        }
    };
    cli::run(
        "set_contact_name",
        "CONTACT NAME [GROUP…]",
        parse,
        |cli, args| {
            let (contact, name, groups) = args;
            let item = RosterItem::new(contact.clone())
                .with_name(name.clone())
                .with_groups(groups.iter().cloned());
            let (mut conn, _) = cli::login(cli.config, &cli.options)?;
            // Request the roster first: pushes go only to interested resources
            // (RFC 6121 §2.1.6), and the push is how we see the result.
            conn.fetch_roster(Duration::from_secs(10))?;
            let id = conn.stream.set_roster_item(&item, Instant::now())?;
            let (mut acknowledged, mut pushed) = (false, false);
            let outcome = conn.run_until(Duration::from_secs(10), |_, e| {
                match e {
                    Event::IqResult { id: i, .. } if *i == id => acknowledged = true,
                    Event::IqError { id: i, error, .. } if *i == id => {
                        return Some(Err(format!("the server refused to set {contact}: {error}")));
                    }
                    Event::RosterPush { item, .. } if item.jid == contact => {
                        println!(
                            "now: {} \"{}\" groups {} [{}]",
                            item.jid,
                            item.name.as_deref().unwrap_or(""),
                            cli::quoted_list(&item.groups),
                            item.subscription.as_str()
                        );
                        pushed = true;
                    }
                    _ => {}
                }
                (acknowledged && pushed).then_some(Ok(()))
            });
            conn.close();
            Ok(outcome??)
        },
    )
}
