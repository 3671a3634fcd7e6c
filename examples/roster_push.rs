//! Prints roster pushes as they arrive (RFC 6121 §2.1.6). The stream has
//! already acknowledged each one and refused any not from the server.
//! Change the roster from another client to see them.
//!
//! ```sh
//! cargo run --example roster_push -- --jid alice@tls.localhost --password alice-secret --port PORT --ca DIR/ca.pem [--for SECONDS]
//! ```
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::Duration;

use xmpp_sansio::Event;

fn main() -> ExitCode {
    cli::run("roster_push", "[--for SECONDS]", |cli| {
        let seconds = match cli.rest.as_slice() {
            [flag, n] if flag == "--for" => n.parse().unwrap_or(60),
            _ => 60,
        };
        let (mut conn, jid) = cli::login(cli.config, &cli.options)?;
        // Pushes go to resources that have requested the roster (§2.1.6).
        conn.fetch_roster(Duration::from_secs(10))?;
        println!("online as {jid}; printing roster pushes for {seconds}s");
        let result = conn.run_until(Duration::from_secs(seconds), |_, e| {
            if let Event::RosterPush { item, ver, .. } = e {
                println!(
                    "push: {} {:?} [{}] groups {:?} (roster version {ver:?})",
                    item.jid,
                    item.name.as_deref().unwrap_or(""),
                    item.subscription.as_str(),
                    item.groups
                );
            }
            None::<()>
        });
        if let Err(blocking::DriverError::Deadline) = result {
            conn.close();
        }
        Ok(())
    })
}
