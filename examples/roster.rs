//! Requests the roster after login and prints it (RFC 6121 §2.1.3).
//!
//! ```sh
//! cargo run --example roster -- --jid alice@tls.localhost --password alice-secret --port PORT --ca DIR/ca.pem
//! ```
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    cli::run("roster", "", |cli| {
        let (mut conn, jid) = cli::login(cli.config, &cli.options)?;
        println!("online as {jid}");
        let roster = conn.fetch_roster(Duration::from_secs(10))?;
        println!(
            "{} contact(s), version {:?}",
            roster.items.len(),
            roster.ver
        );
        for item in &roster.items {
            let ask = if item.ask {
                " (subscription pending)"
            } else {
                ""
            };
            let approved = if item.approved { " (pre-approved)" } else { "" };
            println!(
                "  {} {:?} [{}]{ask}{approved} groups {:?}",
                item.jid,
                item.name.as_deref().unwrap_or(""),
                item.subscription.as_str(),
                item.groups
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
