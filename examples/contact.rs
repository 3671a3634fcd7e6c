//! The contact's side of a conversation, for a peer that needs one (the
//! slixmpp scenario in `.ci/run`, `--contact-mode external`): logs in,
//! sends initial presence, prints `ready as JID`, approves every
//! subscription request (RFC 6121 §3.1.4), answers every chat message with
//! a chat to the sender's full JID (§5.1: the `from` it came with, its
//! thread kept), and exits 0 after `--for` seconds or once it has sent
//! `--replies` answers.
//!
//! ```sh
//! # against the test server: scripts/prosody.sh start DIR; set -a; . DIR/env; set +a
//! cargo run --example contact -- --jid bob@tls.localhost --password bob-secret \
//!     --host $XMPP_INTEROP_HOST --port $XMPP_INTEROP_PORT --ca $XMPP_INTEROP_CA --for 1
//! ```
//! The arguments: `--for SECONDS` (how long to stay, default 60),
//! `--replies N` (exit once N messages are answered; default: stay the
//! whole time), `--reply TEXT` (the answer, default "Hello back"),
//! `--subscribe-back` (ask each requester for its presence in turn, so the
//! subscription becomes `both`); `--help` lists the options.
#![allow(clippy::disallowed_methods)]

#[path = "support/blocking.rs"]
mod blocking;
#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use xmpp_sansio::im::{MessageBuilder, subscription};
use xmpp_sansio::stanza::{MessageType, StanzaView};
use xmpp_sansio::xml::{Element, ns};
use xmpp_sansio::{Event, Stream};

const EXTRA: &str = "[--for SECONDS] [--replies N] [--reply TEXT] [--subscribe-back]";

/// The contact's own options, after the common ones.
struct Extra {
    seconds: u64,
    replies: Option<usize>,
    reply: String,
    subscribe_back: bool,
}

fn parse_extra(mut rest: Vec<String>) -> Result<Extra, String> {
    let extra = Extra {
        seconds: cli::take_parsed(&mut rest, "--for")?.unwrap_or(60),
        replies: cli::take_parsed(&mut rest, "--replies")?,
        reply: cli::take_value(&mut rest, "--reply")?.unwrap_or_else(|| "Hello back".into()),
        subscribe_back: cli::take_flag(&mut rest, "--subscribe-back"),
    };
    cli::no_extra(rest)?;
    if extra.replies == Some(0) {
        return Err("--replies 0: give at least 1, or leave it out".into());
    }
    Ok(extra)
}

/// What the contact has done so far.
#[derive(Default)]
struct Done {
    answered: usize,
    /// Bare JIDs asked for their presence (`--subscribe-back`), once each.
    asked: BTreeSet<String>,
}

/// Approves `from`'s request and, with `subscribe_back`, asks for its
/// presence in turn (once per contact).
fn approve(
    stream: &mut Stream,
    from: &str,
    subscribe_back: bool,
    done: &mut Done,
) -> Result<(), xmpp_sansio::UsageError> {
    let bare = from.split_once('/').map_or(from, |(bare, _)| bare);
    stream.send_presence(subscription::subscribed(bare), Instant::now())?;
    println!("subscription request from {from}: approved");
    if subscribe_back && done.asked.insert(bare.to_owned()) {
        stream.send_presence(subscription::subscribe(bare), Instant::now())?;
        println!("asked {bare} for its presence in turn");
    }
    Ok(())
}

/// Answers a chat message from `from` with `text`, keeping its thread.
fn answer(
    stream: &mut Stream,
    message: &xmpp_sansio::stanza::Message,
    from: &str,
    text: &str,
) -> Result<(), xmpp_sansio::UsageError> {
    let mut reply = MessageBuilder::new(MessageType::Chat, from).body(None, text);
    if let Some((thread, parent)) = message.thread() {
        reply = reply.thread(thread, parent.as_deref());
    }
    stream.send(reply.build(), Instant::now())
}

fn main() -> ExitCode {
    cli::run("contact", EXTRA, parse_extra, |cli, args| {
        let (mut conn, jid) = cli::login(cli.config, &cli.options)?;
        // Be available: chats to the bare JID are delivered to available
        // resources only, and subscribers see this presence (RFC 6121 §4.2).
        conn.stream
            .send(Element::new("presence", ns::JABBER_CLIENT), Instant::now())?;
        conn.flush()?;
        println!("ready as {jid}");
        let mut done = Done::default();
        let mut failure = None;
        let result = conn.run_until(Duration::from_secs(args.seconds), |stream, e| {
            let outcome = match e {
                Event::SubscriptionRequest(p) => {
                    let from = p.from().map(|a| a.to_string()).unwrap_or_default();
                    approve(stream, &from, args.subscribe_back, &mut done)
                }
                Event::Message(m) if m.type_() == MessageType::Chat && m.error().is_none() => {
                    let (Some(from), Some(body)) = (m.from(), m.body(None)) else {
                        return None;
                    };
                    let from = from.to_string();
                    println!("chat from {from}: {body:?}; answering {:?}", args.reply);
                    let sent = answer(stream, m, &from, &args.reply);
                    if sent.is_ok() {
                        done.answered += 1;
                    }
                    sent
                }
                Event::Presence(p) => {
                    println!(
                        "presence from {}: {}",
                        p.from().map(|a| a.to_string()).unwrap_or_default(),
                        p.type_().as_attr().unwrap_or("available")
                    );
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(e) = outcome {
                failure = Some(e);
                return Some(());
            }
            (Some(done.answered) == args.replies).then_some(())
        });
        if let Some(e) = failure {
            return Err(e.into());
        }
        match result {
            Ok(()) => println!("answered {} message(s); closing", done.answered),
            Err(blocking::DriverError::Deadline { .. }) => {
                println!(
                    "{} s passed; answered {} message(s); closing",
                    args.seconds, done.answered
                )
            }
            // The server closed the stream in an orderly way.
            Err(blocking::DriverError::Closed(None)) => {
                println!("the server closed the stream");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        conn.close();
        Ok(())
    })
}
