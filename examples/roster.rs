//! Requests the roster after login and prints it (RFC 6121 §2.1.3).
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! cargo run --example roster -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA
//! # a server with a self-signed certificate: trust exactly that certificate
//! cargo run --example roster -- --jid alice@self.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --trust-cert $XMPP_INTEROP_SELF_SIGNED_CERT
//! ```
//! `--help` lists the options.
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    cli::run("roster", "", cli::no_extra, |cli, ()| {
        let (mut conn, _) = cli::login(cli.config, &cli.options)?;
        let roster = conn.fetch_roster(Duration::from_secs(10))?;
        println!(
            "{} contact(s), {}",
            roster.items.len(),
            match &roster.ver {
                Some(ver) => format!("roster version \"{ver}\""),
                None => "no roster version (the server does not version rosters)".to_owned(),
            }
        );
        for item in &roster.items {
            let ask = if item.ask {
                " (subscription pending)"
            } else {
                ""
            };
            let approved = if item.approved { " (pre-approved)" } else { "" };
            println!(
                "  {} \"{}\" [{}]{ask}{approved} groups {}",
                item.jid,
                item.name.as_deref().unwrap_or(""),
                item.subscription.as_str(),
                cli::quoted_list(&item.groups)
            );
        }
        // Items the client could not read are kept, not dropped.
        for raw in &roster.skipped {
            println!("  unreadable item, kept as sent: {}", raw.to_xml());
        }
        conn.close();
        Ok(())
    })
}
