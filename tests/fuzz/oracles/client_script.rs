//! The scripted client's fuzz oracles, shared by
//! `fuzz/fuzz_targets/client_script.rs` and by `tests/fuzz_corpus.rs`.
//!
//! The input is a script of operations on a client `Stream` ([`Script`]):
//! server bytes in reads of chosen sizes, canned server stanzas, the
//! application's commands (send a message, presence or IQ, `send_iq`,
//! reply to the last `IqRequest`, ping, bind, close, request the roster),
//! the clock moving on (with `handle_timeout` when `poll_timeout` says),
//! the end of file, `tls_established`. The fuzz target decodes it with
//! `arbitrary`, unless it starts with `#script`: then it is the text form
//! ([`parse`]) that the committed corpus uses, so that `cargo test`
//! replays it without `arbitrary`, and the fuzzer mutates readable seeds.
//!
//! Oracles: no panic; the protocol properties of `common` on the run
//! and after the end of file; a `handle_timeout` before the
//! moment `poll_timeout` gives writes and reports nothing; and the same
//! bytes written and the same events when every read is fed whole
//! (unless STARTTLS happened).

// The oracle is a caller: it reads the clock, as callers do.
#![allow(clippy::disallowed_methods)]
// Each includer (fuzz target, corpus test) uses a part.
#![allow(dead_code)]

#[path = "client_stream.rs"]
mod stages;

use std::time::{Duration, Instant};

use xmpp_sansio::im::{MessageBuilder, PresenceBuilder};
use xmpp_sansio::stanza::{IqType, MessageType, StanzaError, StanzaErrorCondition};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{Event, IqRequestPolicy};

use stages::common::{self, Transcript};

/// A script: the stage to start from (as in the `client_stream` target),
/// whether binding waits for the `Bind` operation, and the operations.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Script {
    pub(crate) stage: u8,
    pub(crate) manual_bind: bool,
    pub(crate) ops: Vec<Op>,
}

/// One operation.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Server bytes (`@@` stands for the last id a command returned), cut
    /// into reads by `chunking` (`common::chunks`).
    Input { data: Vec<u8>, chunking: u8 },
    /// A server stanza from [`CANNED`] (`@@` substituted likewise).
    Canned(u8),
    /// `send` a message to [`ADDRESSES`]`[to]`.
    Message { to: u8 },
    /// `send_presence`: available, unavailable, or a subscription request.
    Presence { kind: u8 },
    /// `send_iq` (get or set) to [`ADDRESSES`]`[to]`.
    SendIq { set: bool, to: u8 },
    /// `send` of an IQ result to [`ADDRESSES`]`[to]` with id `@@`: a reply
    /// the stream must refuse unless it answers a delivered request.
    SendResult { to: u8 },
    /// Answer the last `Event::IqRequest` with a result or an error.
    Reply { error: bool },
    /// `ping` [`ADDRESSES`]`[to]`.
    Ping { to: u8 },
    /// `bind`, with a resource or not.
    Bind { resource: bool },
    /// `request_roster`, with an empty version or none.
    RequestRoster { ver: bool },
    /// `close`.
    Close,
    /// The clock moves on by `secs`; `handle_timeout` if it is due.
    Advance { secs: u16 },
    /// `handle_eof`.
    Eof,
    /// `tls_established`.
    Tls,
}

/// Addresses the commands use (the last is not one).
pub(crate) const ADDRESSES: &[&str] = &[
    "example.com",
    "a@example.net/x",
    "j@example.com",
    "a@example.net",
    "a@@b",
];

/// Server stanzas the fuzzer can pick with one byte.
pub(crate) const CANNED: &[&str] = &[
    "<iq type='get' id='s1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>",
    "<iq type='get' id='v1' from='a@example.net/x'><query xmlns='jabber:iq:version'/></iq>",
    "<iq type='set' id='x1' from='a@example.net/x'><query xmlns='urn:example'/></iq>",
    "<iq type='set' id='r1'><query xmlns='jabber:iq:roster' ver='2'><item jid='b@example.net' subscription='both'/></query></iq>",
    "<iq type='set' id='r2' from='a@example.net/x'><query xmlns='jabber:iq:roster'><item jid='b@example.net'/></query></iq>",
    "<iq type='result' id='@@' from='example.com'/>",
    "<iq type='result' id='@@' from='a@example.net/x'/>",
    "<iq type='error' id='@@' from='example.com'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
    "<iq type='result' id='@@'><query xmlns='jabber:iq:roster' ver='3'><item jid='b@example.net' subscription='to'/></query></iq>",
    "<message from='a@example.net/x' type='chat'><body>hi</body></message>",
    "<presence from='a@example.net/x'/>",
    "<presence from='a@example.net' type='subscribe'/>",
    "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    "</stream:stream>",
    "<iq type='get' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>",
    "<iq type='get' id='@@' from='j@'><ping xmlns='urn:xmpp:ping'/></iq>",
];

fn config(manual_bind: bool) -> xmpp_sansio::ClientConfig {
    let mut c = stages::config();
    c.auto_bind = !manual_bind;
    c.iq_requests = IqRequestPolicy::Namespaces(vec!["jabber:iq:version".into()]);
    c.ping_interval = Some(Duration::from_secs(90));
    c.ping_timeout = Duration::from_secs(20);
    c.keepalive = Some(Duration::from_secs(60));
    c.iq_timeout = Duration::from_secs(30);
    c.close_timeout = Duration::from_secs(10);
    c.max_unanswered_requests = 4;
    c
}

fn address(i: u8) -> &'static str {
    ADDRESSES[usize::from(i) % ADDRESSES.len()]
}

/// Runs `script`; with `whole`, each `Input` is one read.
fn run(script: &Script, whole: bool) -> Transcript {
    let start = Instant::now();
    let mut now = start;
    let stage = usize::from(script.stage) % stages::STAGES.len();
    let (mut s, mut t, mut id) = stages::staged_with(stage, config(script.manual_bind), now);
    let mut request = None;
    let mut seen = t.events.len();
    for op in &script.ops {
        match op {
            Op::Input { data, chunking } => {
                let data = common::substitute(data, id.as_bytes());
                if whole {
                    t.feed(&mut s, &data, now);
                } else {
                    for read in common::chunks(&data, *chunking) {
                        t.feed(&mut s, read, now);
                    }
                }
            }
            Op::Canned(i) => {
                let xml = CANNED[usize::from(*i) % CANNED.len()];
                t.feed(
                    &mut s,
                    &common::substitute(xml.as_bytes(), id.as_bytes()),
                    now,
                );
            }
            Op::Message { to } => {
                let m = MessageBuilder::new(MessageType::Chat, address(*to)).body(None, "m");
                let _ = s.send(m.build(), now);
            }
            Op::Presence { kind } => {
                let p = match kind % 3 {
                    0 => PresenceBuilder::available().build(),
                    1 => PresenceBuilder::unavailable().build(),
                    _ => xmpp_sansio::im::subscription::subscribe("a@example.net"),
                };
                let _ = s.send_presence(p, now);
            }
            Op::SendIq { set, to } => {
                let kind = if *set { IqType::Set } else { IqType::Get };
                let payload = Element::new("query", "jabber:iq:version");
                if let Ok(i) = s.send_iq(kind, Some(address(*to)), payload, now) {
                    id = i;
                }
            }
            Op::SendResult { to } => {
                let iq = Element::builder("iq", "jabber:client")
                    .attr("type", "result")
                    .attr("id", id.as_str())
                    .attr("to", address(*to))
                    .build();
                let _ = s.send(iq, now);
            }
            Op::Reply { error } => {
                if let Some(req) = &request {
                    let _ = if *error {
                        let e = StanzaError::from_condition(
                            StanzaErrorCondition::FeatureNotImplemented,
                        );
                        s.reply_iq_error(req, e, now)
                    } else {
                        s.reply_iq_result(req, None, now)
                    };
                }
            }
            Op::Ping { to } => {
                let to = (*to > 0).then(|| address(*to));
                if let Ok(i) = s.ping(to, now) {
                    id = i;
                }
            }
            Op::Bind { resource } => {
                let _ = s.bind(resource.then_some("desk"), now);
            }
            Op::RequestRoster { ver } => {
                if let Ok(i) = s.request_roster(ver.then_some(""), now) {
                    id = i;
                }
            }
            Op::Close => s.close(now),
            Op::Advance { secs } => {
                now += Duration::from_secs(u64::from(*secs));
                match s.poll_timeout() {
                    Some(due) if due <= now => s.handle_timeout(now),
                    _ => {
                        // Early: nothing may happen.
                        s.handle_timeout(now);
                        assert_eq!(s.poll_transmit(), None, "an early handle_timeout wrote");
                        assert_eq!(s.poll_event(), None, "an early handle_timeout reported");
                    }
                }
            }
            Op::Eof => s.handle_eof(now),
            Op::Tls => {
                let _ = s.tls_established(Default::default(), now);
            }
        }
        t.drain(&mut s, now);
        for e in &t.events[seen..] {
            if let Event::IqRequest(iq) = e {
                request = Some(iq.clone());
            }
        }
        seen = t.events.len();
    }
    // Output and events are cumulative: checking them once at the end
    // checks every moment.
    t.check();
    let end = t.clone();
    common::finish(&mut s, &mut t, now);
    end
}

/// Checks the oracles on one script; panics where one fails.
pub(crate) fn check_script(script: &Script) {
    let chunked = run(script, false);
    let whole = run(script, true);
    if !whole.saw_starttls() && !chunked.saw_starttls() {
        assert_eq!(
            (chunked.output, chunked.events),
            (whole.output, whole.events),
            "the outcome depends on chunking"
        );
    }
}

/// Checks the oracles on one input in the text form (the corpus); inputs
/// in another form are not scripts here and pass.
pub(crate) fn check(data: &[u8]) {
    if let Some(script) = parse(data) {
        check_script(&script);
    }
}

/// Reads the text form: a first line `#script STAGE [manual-bind]`, then
/// one operation a line: `in[/CHUNKING] DATA` (DATA with `\n`, `\\`,
/// `\xHH` escapes), `canned N`, `message TO`, `presence KIND`,
/// `iq get|set TO`, `result TO`, `reply result|error`, `ping TO`,
/// `bind [resource]`, `roster [ver]`, `close`, `advance SECS`, `eof`,
/// `tls`. `None` if `data` does not start with `#script`; lines it cannot
/// read are skipped.
pub(crate) fn parse(data: &[u8]) -> Option<Script> {
    let rest = data.strip_prefix(b"#script")?;
    let mut lines = rest.split(|&b| b == b'\n');
    let head = common::show(lines.next().unwrap_or_default());
    let mut head = head.split_whitespace();
    let stage = head.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let manual_bind = head.next() == Some("manual-bind");
    let num = |w: Option<&str>| w.and_then(|w| w.parse::<u16>().ok()).unwrap_or(0);
    let ops = lines
        .filter_map(|line| {
            let text = common::show(line);
            let (word, arg) = text.split_once(' ').unwrap_or((&text, ""));
            let mut args = arg.split_whitespace();
            let first = args.clone().next();
            Some(match word {
                "in" => Op::Input {
                    data: unescape(arg.as_bytes()),
                    chunking: 0,
                },
                w if w.starts_with("in/") => Op::Input {
                    data: unescape(arg.as_bytes()),
                    chunking: w[3..].parse().unwrap_or(0),
                },
                "canned" => Op::Canned(num(first) as u8),
                "message" => Op::Message {
                    to: num(first) as u8,
                },
                "presence" => Op::Presence {
                    kind: num(first) as u8,
                },
                "iq" => Op::SendIq {
                    set: args.next() == Some("set"),
                    to: num(args.next()) as u8,
                },
                "result" => Op::SendResult {
                    to: num(first) as u8,
                },
                "reply" => Op::Reply {
                    error: first == Some("error"),
                },
                "ping" => Op::Ping {
                    to: num(first) as u8,
                },
                "bind" => Op::Bind {
                    resource: first == Some("resource"),
                },
                "roster" => Op::RequestRoster {
                    ver: first == Some("ver"),
                },
                "close" => Op::Close,
                "advance" => Op::Advance { secs: num(first) },
                "eof" => Op::Eof,
                "tls" => Op::Tls,
                _ => return None,
            })
        })
        .collect();
    Some(Script {
        stage,
        manual_bind,
        ops,
    })
}

/// `\n`, `\\` and `\xHH` escapes.
fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match (text[i], text.get(i + 1)) {
            (b'\\', Some(b'n')) => {
                out.push(b'\n');
                i += 2;
            }
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (b'\\', Some(b'x')) => {
                let hex = text
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 4;
                    }
                    None => {
                        out.push(b'\\');
                        i += 1;
                    }
                }
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}
