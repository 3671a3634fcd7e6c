//! Replaying a recorded client session (see `examples/session.rs`); shared
//! by path with `tests/recorded_session.rs`.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::disallowed_methods)] // one real instant for the whole replay

use std::time::Instant;

use xmpp_sansio::negotiation::StreamFeatures;
use xmpp_sansio::sasl::ChannelBinding;
use xmpp_sansio::stanza::{IqType, StanzaView};
use xmpp_sansio::xml::{Element, ns};
use xmpp_sansio::{ClientConfig, ClosedBy, Event, Stream};

/// What the replayed client did.
pub struct Replay {
    pub sent: Vec<u8>,
    /// Client output and events in order, for printing.
    pub log: Vec<String>,
    pub online: bool,
}

/// The recorded client's configuration (`examples/client.rs --seed 7
/// --resource balcony`, as alice@tls.localhost).
/// Parses a `.reads` file: one read size per line.
pub fn parse_reads(text: &str) -> Vec<usize> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

pub fn recorded_config() -> ClientConfig {
    let mut config = ClientConfig::new("alice@tls.localhost", "alice-secret", [7; 32]);
    config.resource = Some("balcony".into());
    config
}

/// Feeds `received` to a fresh client, each recorded read (`reads`, their
/// sizes) split into pieces of at most `chunk` bytes, acting as the recorded
/// application did: roster request when online, then presence. Reads are
/// split, never merged: merging could deliver a reply before the
/// application sent its request, which no server can do.
pub fn replay(received: &[u8], reads: &[usize], chunk: usize) -> Replay {
    let now = Instant::now();
    let mut stream = Stream::client(recorded_config());
    let mut r = Replay {
        sent: Vec::new(),
        log: Vec::new(),
        online: false,
    };
    let mut roster_id = None;
    if stream.start(now).is_err() {
        return r;
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    for &len in reads.iter().chain(std::iter::once(&usize::MAX)) {
        let read = &received[at.min(received.len())..at.saturating_add(len).min(received.len())];
        at = at.saturating_add(len);
        pieces.extend(read.chunks(chunk.max(1)));
    }
    for piece in pieces {
        if let Err(e) = stream.handle_input(piece, now) {
            r.log.push(format!("-- stream failed: {e}"));
            break;
        }
        // Each read's first event is logged before the bytes that read made
        // the stream send (the auth after the features, say), and each
        // event's handling before what it sends: close to causal order for
        // reading. The bytes are the same either way, in the same order.
        loop {
            let Some(event) = stream.poll_event() else {
                drain_output(&mut stream, &mut r);
                break;
            };
            match &event {
                Event::StartTls => {
                    r.log
                        .push("-- STARTTLS: the real client upgraded its socket here".into());
                    // The real client had TLS 1.3 exporter bytes. Prosody
                    // offers no -PLUS, so they only set the GS2 flag to `y`
                    // ("I could bind, you cannot") and never enter the
                    // exchange: any bytes of the same type replay it.
                    let _ = stream.tls_established(ChannelBinding::TlsExporter(vec![0; 32]), now);
                }
                Event::Authenticated { mechanism, .. } => {
                    r.log.push(format!(
                        "-- authenticated ({}; server signature verified)",
                        mechanism.name()
                    ));
                }
                Event::Online { jid, .. } => {
                    r.online = true;
                    r.log.push(format!("-- online as {jid}"));
                    roster_id = stream
                        .send_iq(IqType::Get, None, Element::new("query", ns::ROSTER), now)
                        .ok();
                }
                Event::IqResult { id, payload, .. } if Some(id) == roster_id.as_ref() => {
                    let n = payload.iter().flat_map(|q| q.children()).count();
                    r.log.push(format!("-- roster: {n} contact(s)"));
                    let _ = stream.send(Element::new("presence", ns::JABBER_CLIENT), now);
                }
                Event::Closed { by, error } => {
                    r.log.push(format!(
                        "-- closed by {} ({})",
                        match by {
                            ClosedBy::Local => "us",
                            ClosedBy::Peer => "the server",
                        },
                        error
                            .as_ref()
                            .map_or("orderly".to_owned(), |e| e.to_string())
                    ));
                }
                Event::StreamHeader(h) => r.log.push(format!(
                    "-- stream header: id {}, from {}",
                    h.id.as_deref().unwrap_or("(none)"),
                    h.from.as_deref().unwrap_or("(none)")
                )),
                Event::Features(f) => r.log.push(format!("-- stream features: {}", describe(f))),
                Event::Presence(p) => r.log.push(format!(
                    "-- presence from {}: {}",
                    p.from().map_or("(the server)", |a| a.as_str()),
                    p.type_().as_attr().unwrap_or("available")
                )),
                other => r.log.push(format!("-- {other:?}")),
            }
            drain_output(&mut stream, &mut r);
        }
    }
    r
}

fn drain_output(stream: &mut Stream, r: &mut Replay) {
    while let Some(out) = stream.poll_transmit() {
        let text = String::from_utf8_lossy(&out);
        let shown: String = text.chars().take(150).collect();
        let more = if text.chars().count() > 150 {
            "…"
        } else {
            ""
        };
        r.log.push(format!("C: {shown}{more}"));
        r.sent.extend_from_slice(&out);
    }
}

/// The features a server offered, in a line.
fn describe(f: &StreamFeatures) -> String {
    let mut parts = Vec::new();
    match f.starttls {
        Some(true) => parts.push("STARTTLS (required)".to_owned()),
        Some(false) => parts.push("STARTTLS".to_owned()),
        None => {}
    }
    if !f.mechanisms.is_empty() {
        parts.push(format!("SASL {}", f.mechanisms.join(" ")));
    }
    if f.bind {
        parts.push("resource binding".to_owned());
    }
    if f.roster_versioning {
        parts.push("roster versioning".to_owned());
    }
    if f.pre_approval {
        parts.push("pre-approval".to_owned());
    }
    if f.stream_management {
        parts.push("stream management".to_owned());
    }
    if !f.other.is_empty() {
        parts.push(format!("{} more", f.other.len()));
    }
    parts.join(", ")
}
