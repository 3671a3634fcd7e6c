//! Prints roster pushes as they arrive (RFC 6121 §2.1.6). The stream has
//! already acknowledged each one and refused any not from the server.
//! Change the roster from another client to see them.
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! cargo run --example roster_push -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA --for 1
//! ```
//! `--for SECONDS`: how long to listen (default 60); `--help` lists the
//! options.
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::Duration;

use xmpp_sansio::Event;

fn main() -> ExitCode {
    let parse = |mut rest: Vec<String>| {
        let seconds = cli::take_parsed(&mut rest, "--for")?.unwrap_or(60);
        cli::no_extra(rest)?;
        Ok(seconds)
    };
    cli::run("roster_push", "[--for SECONDS]", parse, |cli, seconds| {
        let (mut conn, _) = cli::login(cli.config, &cli.options)?;
        // Pushes go to resources that have requested the roster (§2.1.6).
        conn.fetch_roster(Duration::from_secs(10))?;
        println!("printing roster pushes for {seconds} s");
        let result = conn.run_until(Duration::from_secs(seconds), |_, e| {
            if let Event::RosterPush { item, ver, .. } = e {
                println!(
                    "push: {} \"{}\" [{}] groups {}{}",
                    item.jid,
                    item.name.as_deref().unwrap_or(""),
                    item.subscription.as_str(),
                    cli::quoted_list(&item.groups),
                    match ver {
                        Some(ver) => format!(" (roster version \"{ver}\")"),
                        None => String::new(),
                    }
                );
            }
            None::<()>
        });
        match result {
            Err(blocking::DriverError::Deadline { .. }) => {
                conn.close();
                Ok(())
            }
            Err(blocking::DriverError::Closed(None)) | Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    })
}
