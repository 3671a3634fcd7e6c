//! Roster versioning across a reconnect (RFC 6121 §2.6). Log in, fetch the
//! roster with `ver=''` into a `RosterCache`, persist the cache to a file,
//! disconnect; reconnect after `--wait` seconds (default 15), restore the
//! cache by parsing that file, and ask with its version. The example says
//! whether the server found the cache current (an empty result: the cached
//! roster is reused, and changes, if any, follow as pushes) or sent the
//! roster whole, and why.
//!
//! An empty cache always bootstraps with `ver=''` (see
//! `RosterCache::request_ver`: Prosody 0.12 numbers a never-modified roster
//! and its first change alike), so a reuse can only be shown with a
//! non-empty roster: if the account's roster is empty, the example adds a
//! placeholder contact (`--contact`, default
//! `versioning-demo@example.invalid`) and removes it again at the end.
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! cargo run --example roster_versioning -- --jid alice@tls.localhost --password alice-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA \
//!     --wait 1
//! ```
//! Its options: `--wait SECONDS` (default 15), `--cache FILE` (default: a
//! file in the temporary directory), `--contact JID`; `--help` lists the
//! common ones.
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/roster_store.rs"]
mod roster_store;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use blocking::Connection;
use xmpp_sansio::Event;
use xmpp_sansio::im::{RosterCache, RosterItem, Subscription};

const EXTRA: &str = "[--wait SECONDS] [--cache FILE] [--contact JID]";

/// What one roster request with the cache's version came to.
struct Sync {
    /// The `ver` sent.
    asked_with: String,
    /// The server sent the roster whole (false: the cache was current).
    full: bool,
    /// Pushes folded in while waiting for the answer and just after it.
    pushes: usize,
}

/// Requests the roster with the cache's version and folds the answer in,
/// together with every push that arrives meanwhile: pushes before the
/// result are applied in order (a full result then replaces them, as it
/// already includes them), and pushes that follow an empty result carry the
/// changes since the cached version (§2.6.3).
fn sync(
    conn: &mut Connection,
    cache: &mut RosterCache,
) -> Result<Sync, Box<dyn std::error::Error>> {
    let asked_with = cache.request_ver().to_owned();
    let id = conn
        .stream
        .request_roster(Some(&asked_with), Instant::now())?;
    let mut pushes = 0;
    let full = conn.run_until(Duration::from_secs(10), |_, e| match e {
        Event::RosterPush { item, ver, .. } => {
            cache.apply_push(item.clone(), ver.clone());
            pushes += 1;
            None
        }
        Event::Roster { id: i, roster, .. } if *i == id => match roster {
            Some(roster) => {
                cache.replace(roster.clone());
                Some(Ok(true))
            }
            None => Some(Ok(false)),
        },
        Event::IqError { id: i, error, .. } if *i == id => Some(Err(format!(
            "the server refused the roster request: {error}"
        ))),
        Event::IqTimeout { id: i, .. } if *i == id => {
            Some(Err("no answer to the roster request".to_owned()))
        }
        _ => None,
    })??;
    pushes += drain_pushes(conn, cache, Duration::from_millis(500));
    Ok(Sync {
        asked_with,
        full,
        pushes,
    })
}

/// Applies the pushes that arrive within `within`; returns how many.
fn drain_pushes(conn: &mut Connection, cache: &mut RosterCache, within: Duration) -> usize {
    let mut pushes = 0;
    let _ = conn.run_until(within, |_, e| {
        if let Event::RosterPush { item, ver, .. } = e {
            cache.apply_push(item.clone(), ver.clone());
            pushes += 1;
        }
        None::<()>
    });
    pushes
}

/// Sets or removes `item` and waits for the server's push, folding it (and
/// any other push) into the cache.
fn change(
    conn: &mut Connection,
    cache: &mut RosterCache,
    item: &RosterItem,
) -> Result<(), Box<dyn std::error::Error>> {
    let id = if item.subscription == Subscription::Remove {
        conn.stream.remove_roster_item(&item.jid, Instant::now())?
    } else {
        conn.stream.set_roster_item(item, Instant::now())?
    };
    let (mut acknowledged, mut pushed) = (false, false);
    conn.run_until(Duration::from_secs(10), |_, e| {
        match e {
            Event::IqResult { id: i, .. } if *i == id => acknowledged = true,
            Event::IqError { id: i, error, .. } if *i == id => {
                return Some(Err(format!("the server refused the change: {error}")));
            }
            Event::RosterPush {
                item: pushed_item,
                ver,
                ..
            } => {
                pushed |= pushed_item.jid == item.jid;
                cache.apply_push(pushed_item.clone(), ver.clone());
            }
            _ => {}
        }
        (acknowledged && pushed).then_some(Ok(()))
    })??;
    Ok(())
}

/// A roster version for printing: `"3"`, or `none`.
fn version(ver: &Option<String>) -> String {
    ver.as_ref()
        .map_or_else(|| "none".to_owned(), |v| format!("\"{v}\""))
}

struct Args {
    wait: u64,
    cache_file: Option<PathBuf>,
    contact: String,
}

fn parse_args(mut rest: Vec<String>) -> Result<Args, String> {
    let args = Args {
        wait: cli::take_parsed(&mut rest, "--wait")?.unwrap_or(15),
        cache_file: cli::take_value(&mut rest, "--cache")?.map(PathBuf::from),
        contact: cli::take_value(&mut rest, "--contact")?
            .unwrap_or_else(|| "versioning-demo@example.invalid".to_owned()),
    };
    cli::no_extra(rest)?;
    Ok(args)
}

fn main() -> ExitCode {
    cli::run("roster_versioning", EXTRA, parse_args, |cli, args| {
        let file = args.cache_file.clone().unwrap_or_else(|| {
            let name = cli.config.bare_jid().replace(['/', '\\'], "_");
            std::env::temp_dir().join(format!("xmpp-sansio-roster-{name}.xml"))
        });

        // First session: bootstrap the cache (it starts empty, so ver='').
        let mut cache = RosterCache::default();
        let (mut conn, _) = cli::login(cli.config.clone(), &cli.options)?;
        let versioned = conn.stream.features().is_some_and(|f| f.roster_versioning);
        println!(
            "the server {} roster versioning",
            if versioned {
                "offers"
            } else {
                "does not offer"
            }
        );
        let first = sync(&mut conn, &mut cache)?;
        println!(
            "first login: asked with ver='{}'; {} item(s), version {}",
            first.asked_with,
            cache.items.len(),
            version(&cache.ver)
        );
        let mut added = None;
        if cache.items.is_empty() {
            // An empty cache is never reused (it always bootstraps): give
            // the roster something to cache.
            let item = RosterItem::new(args.contact.clone()).with_name("Roster versioning demo");
            change(&mut conn, &mut cache, &item)?;
            println!(
                "the roster was empty: added {} so there is something to cache (version now {})",
                item.jid,
                version(&cache.ver)
            );
            added = Some(item);
        }
        conn.close();

        // Persist the cache as text, as an application would between runs.
        let saved = roster_store::save(&cache);
        std::fs::write(&file, &saved)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        println!("cache saved to {} ({} bytes)", file.display(), saved.len());

        println!("reconnecting in {} s…", args.wait);
        std::thread::sleep(Duration::from_secs(args.wait));

        // Second session: restore the cache from the file and ask with it.
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut cache = roster_store::load(&text)?;
        println!(
            "cache restored from {}: {} item(s), version {}",
            file.display(),
            cache.items.len(),
            version(&cache.ver)
        );
        let (mut conn, _) = cli::login(cli.config, &cli.options)?;
        let cached_ver = cache.ver.clone();
        let second = sync(&mut conn, &mut cache)?;
        if second.full {
            let why = if !versioned {
                "the server does not offer roster versioning, so it always sends the roster"
                    .to_owned()
            } else if second.asked_with.is_empty() {
                "the cache was empty or had no version, so the request bootstrapped with ver=''"
                    .to_owned()
            } else {
                format!(
                    "the roster is no longer at the cached version {} (now {}): it changed meanwhile, or the server chose to send it whole",
                    version(&cached_ver),
                    version(&cache.ver)
                )
            };
            println!(
                "second login: asked with ver='{}'; FULL FETCH: the server sent the roster whole ({} item(s)) because {why}",
                second.asked_with,
                cache.items.len()
            );
        } else {
            println!(
                "second login: asked with ver='{}'; REUSED: the server answered with an empty result, so the cached roster ({} item(s)) is current{}; version now {}",
                second.asked_with,
                cache.items.len(),
                match second.pushes {
                    0 => " and no pushes followed".to_owned(),
                    n => format!(", with {n} push(es) applied on top"),
                },
                version(&cache.ver)
            );
        }

        if let Some(item) = added {
            let mut removal = RosterItem::new(item.jid.clone());
            removal.subscription = Subscription::Remove;
            change(&mut conn, &mut cache, &removal)?;
            println!("removed {} again", item.jid);
            std::fs::write(&file, roster_store::save(&cache))
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        }
        conn.close();
        Ok(())
    })
}
