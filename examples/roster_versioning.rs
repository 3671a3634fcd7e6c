//! Roster versioning across a reconnect (RFC 6121 §2.6): log in, fetch the
//! roster with `ver=''`, keep it in a `RosterCache`, disconnect, reconnect
//! after 15 seconds and ask with the cached version. An unchanged roster
//! comes back as an empty result, and the cache is reused as it is.
//!
//! ```sh
//! cargo run --example roster_versioning -- --jid alice@tls.localhost --password alice-secret --port PORT --ca DIR/ca.pem [--wait SECONDS]
//! ```
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use blocking::Connection;
use xmpp_sansio::Event;
use xmpp_sansio::im::{Roster, RosterCache};

/// Requests the roster with the cache's version and folds the answer in.
/// Returns whether the server sent a full roster (false: the cache was current).
fn sync(
    conn: &mut Connection,
    cache: &mut RosterCache,
) -> Result<bool, Box<dyn std::error::Error>> {
    let id = conn
        .stream
        .request_roster(Some(cache.request_ver()), Instant::now())?;
    let answer: Option<Roster> = conn.run_until(Duration::from_secs(10), |_, e| match e {
        Event::Roster { id: i, roster } if *i == id => Some(roster.clone()),
        _ => None,
    })?;
    let full = answer.is_some();
    if let Some(roster) = answer {
        cache.replace(roster);
    }
    // Pushes that follow an empty result carry the changes (§2.6.3).
    let _ = conn.run_until(Duration::from_millis(500), |_, e| {
        if let Event::RosterPush { item, ver } = e {
            cache.apply_push(item.clone(), ver.clone());
        }
        None::<()>
    });
    Ok(full)
}

fn main() -> ExitCode {
    cli::run("roster_versioning", "[--wait SECONDS]", |cli| {
        let wait = match cli.rest.as_slice() {
            [flag, n] if flag == "--wait" => n.parse().unwrap_or(15),
            _ => 15,
        };
        let mut cache = RosterCache::default();
        let (mut conn, jid) = cli::login(cli.config.clone(), &cli.options)?;
        let versioned = conn.stream.features().is_some_and(|f| f.roster_versioning);
        println!(
            "online as {jid}; the server {} roster versioning",
            if versioned {
                "offers"
            } else {
                "does not offer"
            }
        );
        let full = sync(&mut conn, &mut cache)?;
        println!(
            "first login: full roster = {full}, {} item(s), version {:?}",
            cache.items.len(),
            cache.ver
        );
        conn.close();
        // The cache is plain data: persist it however you like, e.g. as XML.
        let saved = cache.to_query().to_xml();
        println!("cached: {saved}");

        println!("reconnecting in {wait}s…");
        std::thread::sleep(Duration::from_secs(wait));
        let mut cache = RosterCache::from_query(&cache.to_query());
        let (mut conn, _) = cli::login(cli.config, &cli.options)?;
        let full = sync(&mut conn, &mut cache)?;
        if full {
            println!(
                "second login: the roster changed meanwhile; the server sent it whole ({} item(s))",
                cache.items.len()
            );
        } else {
            println!(
                "second login: the server answered with an empty result: the cached roster ({} item(s), version {:?}) is reused",
                cache.items.len(),
                cache.ver
            );
        }
        conn.close();
        Ok(())
    })
}
