//! The committed fuzz corpora (`tests/fuzz/corpus/<target>/`), replayed
//! through the fuzz targets' own oracles (`tests/fuzz/oracles/`, which the
//! targets in `fuzz/` include) on every `cargo test`: each seed and each
//! input a campaign kept as a regression must keep passing, with no
//! fuzzer installed. Both live under `tests/` so that the published
//! package, which cannot ship the `fuzz/` crate, still replays them.
//!
//! The seeds the oracles generate (SCRAM messages computed for the fixed
//! nonce, ...) are committed too; `the_generated_seeds_are_committed`
//! checks they are current, and rewrites them with
//! `XMPP_WRITE_FUZZ_SEEDS=1`.

// Each fuzz target is a crate of its own that includes its oracle file
// (and the files that one includes); here they share one crate.
#![allow(clippy::duplicate_mod)]
// `feature = "arbitrary"` (in `client_script.rs`) is the fuzz crate's.
#![allow(unexpected_cfgs)]

use std::path::{Path, PathBuf};

#[path = "fuzz/oracles/client_script.rs"]
mod client_script;
#[path = "fuzz/oracles/client_stream.rs"]
mod client_stream;
#[path = "fuzz/oracles/component_stream.rs"]
mod component_stream;
#[path = "fuzz/oracles/framer.rs"]
mod framer;
#[path = "fuzz/oracles/pair_script.rs"]
mod pair_script;
#[path = "fuzz/oracles/server_stream.rs"]
mod server_stream;
#[path = "fuzz/oracles/sm_stream.rs"]
mod sm_stream;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target)
}

/// Runs `check` on every file of `tests/fuzz/corpus/<target>`; returns how many.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = corpus(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    files.sort();
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("fuzz oracle failed on {}", path.display());
        }
    }
    files.len()
}

#[test]
fn the_framer_corpus_passes_its_oracles() {
    assert!(replay("framer", framer::check) >= 30, "the seeds are there");
}

#[test]
fn the_client_stream_corpus_passes_its_oracles() {
    assert!(
        replay("client_stream", client_stream::check) >= 25,
        "the seeds are there"
    );
}

#[test]
fn the_client_script_corpus_passes_its_oracles() {
    assert!(
        replay("client_script", client_script::check) >= 8,
        "the seeds are there"
    );
}

#[test]
fn the_server_stream_corpus_passes_its_oracles() {
    assert!(
        replay("server_stream", server_stream::check) >= 20,
        "the seeds are there"
    );
}

#[test]
fn the_sm_stream_corpus_passes_its_oracles() {
    assert!(
        replay("sm_stream", sm_stream::check) >= 10,
        "the seeds are there"
    );
}

#[test]
fn the_component_stream_corpus_passes_its_oracles() {
    assert!(
        replay("component_stream", component_stream::check) >= 8,
        "the seeds are there"
    );
}

/// The component seeds reach both handshakes: the component online, the
/// server end online after the valid digest, and its refusals.
#[test]
fn the_component_seeds_reach_both_handshakes() {
    let seed = |name: &str| std::fs::read(corpus("component_stream").join(name)).unwrap();
    let online = |events: &[xmpp_sansio::Event]| {
        events
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::Online { .. }))
    };
    for name in [
        "gen-component-exchange",
        "gen-server-exchange",
        "gen-server-handshake",
    ] {
        let (out, events) = component_stream::transcript_of(&seed(name));
        assert!(online(&events), "{name}: {out} {events:?}");
    }
    let (out, _) = component_stream::transcript_of(&seed("gen-server-bad-handshake"));
    assert!(out.contains("<not-authorized "), "{out}");
    let (out, _) = component_stream::transcript_of(&seed("gen-server-unknown-name"));
    assert!(out.contains("<host-unknown "), "{out}");
}

/// Found by `component_stream` at once (its seed `gen-server-exchange`):
/// the server end read on while the application decided on the
/// component's name, so a handshake and a stanza in the same read as the
/// header ended the stream with `not-authorized` ("<message/> before the
/// handshake"), where a cut after the header let the application accept
/// in between and the component came online. The input is now held
/// until the decision, as the server role holds it for credentials, bind
/// and resumption.
#[test]
fn pipelined_input_behind_the_component_decision_does_not_depend_on_the_cut() {
    let data = format!(
        "{}<handshake>{}</handshake><message from='muc.example.com' to='j@example.com'/>",
        component_stream::COMPONENT_HEADER,
        component_stream::digest()
    );
    let server_fresh = component_stream::STAGES
        .iter()
        .position(|s| *s == "server-fresh")
        .unwrap() as u8;
    let mut input = vec![server_fresh];
    input.extend_from_slice(data.as_bytes());
    let (whole, events) = component_stream::transcript_of(&input);
    assert!(!whole.contains("<not-authorized "), "{whole}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::Message(_))),
        "{events:?}"
    );
    // Every cut gives the same (the oracle compares reads of 1 to 8 bytes
    // with the whole).
    for pattern in [0, 1, 2] {
        input[0] = server_fresh | (pattern << 4);
        component_stream::check(&input);
    }
}

#[test]
fn the_pair_script_corpus_passes_its_oracles() {
    assert!(
        pair_script::alloc::installed(),
        "the counting allocator is installed"
    );
    assert!(
        replay("pair_script", pair_script::check) >= 10,
        "the seeds are there"
    );
}

/// The `pair_script` seeds reach what they are for: stream management
/// with acks both ways (by count and by the clock), a cut then a
/// resumption that resends, SCRAM-PLUS over STARTTLS with channel
/// binding, IQ requests both ways, and the memory measures.
#[test]
fn the_pair_seeds_reach_resumption_acks_and_scram_plus() {
    let seed = |name: &str| std::fs::read(corpus("pair_script").join(name)).unwrap();
    let acked = |events: &[xmpp_sansio::Event]| {
        events
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::Acknowledged { .. }))
    };
    let (_, client, server_out, server) = pair_script::transcript_of(&seed("gen-sm-acks"));
    assert!(acked(&client) && acked(&server), "{client:?} {server:?}");
    assert!(server_out.contains("<r "), "{server_out}");
    let (client_out, client, _, _) = pair_script::transcript_of(&seed("gen-sm-clock-acks"));
    assert!(acked(&client) && client_out.contains("<r "), "{client:?}");
    let resume = seed("gen-sm-cut-resume");
    assert_eq!(pair_script::connections_of(&resume), 2);
    let (_, client, _, server) = pair_script::transcript_of(&resume);
    assert!(
        client
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::Resumed { resent, .. } if *resent > 0)),
        "{client:?}"
    );
    assert!(
        server
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::Resumed { .. })),
        "{server:?}"
    );
    let (_, client, _, _) = pair_script::transcript_of(&seed("gen-sm-resume-refused"));
    assert!(
        client.iter().any(
            |e| matches!(e, xmpp_sansio::Event::ResumeFailed { unacked } if !unacked.is_empty())
        ),
        "{client:?}"
    );
    let (client_out, client, _, _) = pair_script::transcript_of(&seed("gen-starttls-scram-plus"));
    assert!(client_out.contains("-PLUS'>"), "{client_out}");
    assert!(
        client
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::Online { .. })),
        "{client:?}"
    );
    let (_, client, _, server) = pair_script::transcript_of(&seed("gen-requests"));
    assert!(
        server
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::IqRequest(_))),
        "{server:?}"
    );
    assert!(
        client
            .iter()
            .any(|e| matches!(e, xmpp_sansio::Event::Pong { .. })),
        "{client:?}"
    );
    for name in ["gen-measure-held", "gen-measure-held-plain"] {
        pair_script::check(&seed(name));
    }
    let (rise, held) = pair_script::measured();
    eprintln!("pair_script seeds: read peak {rise} B, held beyond the queue {held} B");
    assert!(rise > 0 && held > 0, "the memory oracles measured");
}

/// Found by `pair_script` (after about 500 executions): a server closed
/// (`close`) before the client's header had written `</stream:stream>`
/// alone, which is not XML (no stream was opened on the wire). It now
/// writes nothing and ends at once, as before `start`; the same holds for
/// a component server.
#[test]
#[allow(clippy::disallowed_methods)] // a caller reads the clock
fn a_server_closed_before_its_header_writes_nothing() {
    use xmpp_sansio::{ComponentServerConfig, Event, ServerConfig, State, Stream};
    let now = std::time::Instant::now();
    for mut s in [
        Stream::server(ServerConfig::new("example.com", [1; 21], [2; 32])),
        Stream::component_server(ComponentServerConfig::new("example.com", [2; 32])),
    ] {
        s.start(now).unwrap();
        assert_eq!(
            s.poll_transmit(),
            None,
            "a server writes after the peer's header"
        );
        s.close(now);
        assert_eq!(s.poll_transmit(), None, "a closing tag without a header");
        assert!(matches!(s.poll_event(), Some(Event::Closed { .. })));
        assert_eq!(s.state(), State::Closed);
    }
}

/// The read-peak bound has teeth: one `handle_input` of 256 KiB of small
/// stanzas raises the heap far beyond it (the read is copied whole; its
/// events are made a window at a time as they are taken), while the same bytes through
/// `handle_input_some`, drained between calls, stay under it.
#[test]
#[allow(clippy::disallowed_methods)] // a caller reads the clock
fn the_read_peak_bound_catches_a_read_whose_cost_grows_with_its_size() {
    use pair_script::alloc;
    let now = std::time::Instant::now();
    let stanza =
        "<message from='a@example.com/x' to='muc.example.com'><body>hello</body></message>";
    let data = stanza.repeat(256 * 1024 / stanza.len());
    let online = component_stream::STAGES
        .iter()
        .position(|s| *s == "component-online")
        .unwrap();
    let (mut s, _) = component_stream::staged(online, now);
    let before = alloc::live();
    alloc::reset_peak();
    s.handle_input(data.as_bytes(), now).unwrap();
    let rise = alloc::peak() - before;
    assert!(rise > 3 * pair_script::READ_PEAK_BOUND, "{rise}");
    let (mut s, _) = component_stream::staged(online, now);
    let mut rest = data.as_bytes();
    let mut highest = 0;
    while !rest.is_empty() {
        let before = alloc::live();
        alloc::reset_peak();
        let taken = s.handle_input_some(rest, now).unwrap();
        highest = highest.max(alloc::peak() - before);
        rest = &rest[taken..];
        while s.poll_event().is_some() {}
        while s.poll_transmit().is_some() {}
    }
    assert!(highest <= pair_script::READ_PEAK_BOUND, "{highest}");
    eprintln!("one 256 KiB read: {rise} B; in windows: at most {highest} B");
}

/// The memory oracles run here too: this binary counts its allocations
/// (per thread, so parallel tests do not mix).
#[global_allocator]
static ALLOC: pair_script::alloc::Counting = pair_script::alloc::Counting;

/// A target's seed generator: (file name, contents).
type Seeds = fn() -> Vec<(String, Vec<u8>)>;

#[test]
fn the_generated_seeds_are_committed() {
    let write = std::env::var_os("XMPP_WRITE_FUZZ_SEEDS").is_some();
    let targets: [(&str, Seeds); 5] = [
        ("client_stream", client_stream::seeds),
        ("component_stream", component_stream::seeds),
        ("pair_script", pair_script::seeds),
        ("server_stream", server_stream::seeds),
        ("sm_stream", sm_stream::seeds),
    ];
    for (target, seeds) in targets {
        if write {
            std::fs::create_dir_all(corpus(target)).unwrap();
        }
        for (name, data) in seeds() {
            let path = corpus(target).join(&name);
            if write {
                std::fs::write(&path, &data).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == data,
                "{} is not the generated seed (XMPP_WRITE_FUZZ_SEEDS=1 rewrites it)",
                path.display()
            );
        }
    }
}

/// The committed seed `name` of the `client_stream` corpus.
fn seed(name: &str) -> Vec<u8> {
    std::fs::read(corpus("client_stream").join(name)).unwrap()
}

#[test]
fn the_scram_seeds_reach_both_server_messages() {
    use xmpp_sansio::Event;
    // server-first extends the fixed nonce: the client sends its proof.
    let (out, _) = client_stream::transcript_of(&seed("gen-scram-first"));
    assert!(out.contains("<response "), "{out}");
    // server-final verifies: authenticated, then restarted.
    for name in ["gen-scram-final-success", "gen-scram-final-challenge"] {
        let (out, events) = client_stream::transcript_of(&seed(name));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Authenticated { .. })),
            "{name}: {events:?}"
        );
        assert_eq!(out.matches("<stream:stream").count(), 2, "{out}");
    }
}

#[test]
fn the_starttls_and_bind_seeds_reach_their_step() {
    use xmpp_sansio::Event;
    let (_, events) = client_stream::transcript_of(&seed("gen-starttls-proceed"));
    assert!(
        events.iter().any(|e| matches!(e, Event::StartTls)),
        "{events:?}"
    );
    let (_, events) = client_stream::transcript_of(&seed("gen-bind-result"));
    assert!(
        events.iter().any(|e| matches!(e, Event::Online { .. })),
        "{events:?}"
    );
    let (out, events) = client_stream::transcript_of(&seed("gen-tls-restart"));
    assert!(
        events.iter().any(|e| matches!(e, Event::Features(_))),
        "{events:?}"
    );
    assert!(out.contains("<response "), "SCRAM after TLS: {out}");
}

#[test]
fn the_client_seeds_reach_direct_tls_scram_plus_sha1_and_sha512() {
    use xmpp_sansio::Event;
    use xmpp_sansio::sasl::Mechanism;
    let authenticated = |name: &str| {
        let (out, events) = client_stream::transcript_of(&seed(name));
        let mechanism = events.iter().find_map(|e| match e {
            Event::Authenticated { mechanism } => Some(*mechanism),
            _ => None,
        });
        (out, mechanism)
    };
    // The GS2 header the client wrote in its first message.
    let gs2 = |out: &str| {
        let auth = out.split("<auth ").nth(1).unwrap_or("");
        let text = auth
            .split('>')
            .nth(1)
            .unwrap_or("")
            .split('<')
            .next()
            .unwrap();
        let first = String::from_utf8(client_stream::common::unbase64(text.as_bytes())).unwrap();
        first.splitn(3, ',').take(2).collect::<Vec<_>>().join(",")
    };
    for (name, mechanism, header) in [
        (
            "gen-plus-final-success",
            Mechanism::ScramSha512Plus,
            "p=tls-exporter,",
        ),
        ("gen-sha1-final-success", Mechanism::ScramSha1, "n,"),
        ("gen-sha512-exchange", Mechanism::ScramSha512, "n,"),
        (
            "gen-direct-tls-sha256-plus-exchange",
            Mechanism::ScramSha256Plus,
            "p=tls-exporter,",
        ),
        (
            "gen-direct-tls-sha1-plus-exchange",
            Mechanism::ScramSha1Plus,
            "p=tls-exporter,",
        ),
        // Binding data, but no -PLUS offered: the client says it could.
        (
            "gen-direct-tls-no-plus-exchange",
            Mechanism::ScramSha256,
            "y,",
        ),
    ] {
        let (out, got) = authenticated(name);
        assert_eq!(got, Some(mechanism), "{name}: {out}");
        assert_eq!(gs2(&out), header, "{name}: {out}");
        // Over direct TLS, no STARTTLS, and the restart after SASL.
        assert!(!out.contains("<starttls"), "{name}: {out}");
        assert_eq!(out.matches("<stream:stream").count(), 2, "{name}: {out}");
    }
    // The server-first messages of the new stages: the proof goes out.
    for name in ["gen-plus-first", "gen-sha1-first"] {
        let (out, _) = client_stream::transcript_of(&seed(name));
        assert!(out.contains("<response "), "{name}: {out}");
    }
    // A fresh direct-TLS stream reads the features and picks -PLUS at once.
    let (out, _) = client_stream::transcript_of(&seed("gen-direct-tls-features"));
    assert!(
        out.contains("mechanism='SCRAM-SHA-512-PLUS'") && !out.contains("<starttls"),
        "{out}"
    );
}

/// Whether `f` panics (an oracle refused).
fn refuses(f: impl FnOnce() + std::panic::UnwindSafe) -> bool {
    std::panic::catch_unwind(f).is_err()
}

#[test]
fn the_oracles_refuse_what_they_are_for() {
    use client_stream::common::{check_events, check_output, check_replies, chunks};
    use xmpp_sansio::{ClosedBy, Event};
    let header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    let ok = format!("{header}<message/> </stream:stream>");
    assert!(!refuses(|| {
        check_output(ok.as_bytes());
    }));
    for bad in [
        format!("{ok}<message/>"),                   // after our closing tag
        format!("{ok} "),                            // even whitespace
        format!("{header}<message>"),                // a partial element
        format!("{header}<message></iq>"),           // not well-formed
        format!("<message/>{header}"),               // before our header
        format!("{header}</stream:stream>{header}"), // a restart after the close
    ] {
        assert!(
            refuses(move || {
                check_output(bad.as_bytes());
            }),
            "accepted"
        );
    }
    let closed = Event::Closed {
        by: ClosedBy::Peer,
        error: None,
    };
    assert!(refuses(|| check_events(&[closed.clone(), closed.clone()])));
    assert!(refuses(|| check_events(&[closed.clone(), Event::StartTls])));
    assert!(!refuses(|| check_events(&[
        Event::StartTls,
        closed.clone()
    ])));
    let reply = (Some("example.com".to_owned()), "p1".to_owned());
    let input = b"<iq type='get' id='p1' from='example.com'/>";
    assert!(!refuses(|| check_replies(
        std::slice::from_ref(&reply),
        input
    )));
    assert!(refuses(|| check_replies(
        &[reply.clone(), reply.clone()],
        input
    )));
    // Every byte is data, NUL included, in every cut.
    let data = b"a\0b\0\0c<x/>\0";
    for pattern in 0..16 {
        assert_eq!(chunks(data, pattern).concat(), data);
    }
    assert_eq!(chunks(data, 0).len(), data.len());
}

#[test]
fn the_limit_seeds_straddle_the_stanza_limit() {
    use xmpp_sansio::{Event, StreamErrorCondition};
    let (_, events) = client_stream::transcript_of(&seed("gen-online-at-limit"));
    assert!(
        events.iter().any(|e| matches!(e, Event::Message(_))),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::Presence(_))),
        "{events:?}"
    );
    let (_, events) = client_stream::transcript_of(&seed("gen-online-over-limit"));
    assert!(
        !events.iter().any(|e| matches!(e, Event::Message(_))),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Closed { error: Some(err), .. }
            if err.condition() == Some(StreamErrorCondition::PolicyViolation))),
        "{events:?}"
    );
}

/// The committed seed `name` of the `target` corpus.
fn seed_of(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(corpus(target).join(name)).unwrap()
}

#[test]
fn the_server_seeds_reach_scram_final_bind_and_resumption() {
    use xmpp_sansio::Event;
    let t = |name: &str| server_stream::transcript_of(&seed_of("server_stream", name));
    // The valid client-final message (`@@`): success with the server's
    // signature, then the restart and the bind.
    for name in ["gen-scram-final", "gen-scram-final-bytewise"] {
        let (out, events) = t(name);
        assert!(out.contains("<success "), "{name}: {out}");
        if name == "gen-scram-final" {
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, Event::Online { jid } if jid == server_stream::FULL_JID)),
                "{events:?}"
            );
        }
    }
    let (out, _) = t("gen-scram-bad-proof");
    assert!(!out.contains("<success "), "{out}");
    let (_, events) = t("gen-resume-known");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Resumed { resent: 1, .. })),
        "{events:?}"
    );
    let (out, _) = t("gen-bind-taken-then-pipelined");
    assert!(out.contains("<conflict "), "{out}");
    let (_, events) = t("gen-online-stanzas");
    assert!(
        events.iter().any(|e| matches!(e, Event::IqRequest(_))),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::IqReply(_))),
        "{events:?}"
    );
}

#[test]
fn the_server_seeds_reach_direct_tls_scram_plus_failures_refusals_and_the_default_limit() {
    use xmpp_sansio::Event;
    use xmpp_sansio::sasl::Mechanism;
    let t = |name: &str| server_stream::transcript_of(&seed_of("server_stream", name));
    let mechanism = |events: &[Event]| {
        events.iter().find_map(|e| match e {
            Event::Authenticated { mechanism } => Some(*mechanism),
            _ => None,
        })
    };
    let online = |events: &[Event]| {
        events
            .iter()
            .any(|e| matches!(e, Event::Online { jid } if jid == server_stream::FULL_JID))
    };
    // Direct TLS: no STARTTLS offered, -PLUS and its binding type are.
    let (out, _) = t("gen-direct-tls-header");
    assert!(
        !out.contains("<starttls")
            && out.contains("SCRAM-SHA-512-PLUS")
            && out.contains("type='tls-exporter'"),
        "{out}"
    );
    // The whole exchanges, and each stage's final step.
    for (name, expected) in [
        ("gen-direct-tls-plus-exchange", Mechanism::ScramSha512Plus),
        ("gen-plus-final", Mechanism::ScramSha512Plus),
        ("gen-sha1-final", Mechanism::ScramSha1),
        ("gen-sha512-final", Mechanism::ScramSha512),
    ] {
        let (out, events) = t(name);
        assert_eq!(mechanism(&events), Some(expected), "{name}: {out}");
        assert!(
            out.contains("<success ") && online(&events),
            "{name}: {events:?}"
        );
    }
    // Other binding data on the client's side: refused.
    let (out, events) = t("gen-plus-other-binding");
    assert!(!out.contains("<success "), "{out}");
    assert!(
        events.iter().any(|e| matches!(e, Event::AuthFailed { .. })),
        "{events:?}"
    );
    // An unknown account gets a server-first message (made-up keys), then
    // the failure; PLAIN then succeeds.
    let (out, events) = t("gen-scram-unknown-user");
    assert!(out.contains("<challenge "), "{out}");
    assert!(out.contains("<failure "), "{out}");
    assert!(
        events.iter().any(|e| matches!(e, Event::AuthFailed { .. }))
            && mechanism(&events) == Some(Mechanism::Plain),
        "{events:?}"
    );
    // Failures until none are left: the stream ends with `not-authorized`.
    let (out, events) = t("gen-plain-attempts-exhausted");
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::AuthFailed {
                attempts_left: 0,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(out.contains("<stream:error><not-authorized "), "{out}");
    // Before binding: a message and a request get `not-authorized` error
    // replies (`stanza_error_reply`); an error and a result get none.
    let (out, _) = t("gen-unbound-stanzas");
    assert!(out.contains("<message type='error'"), "{out}");
    assert!(out.contains("<iq type='error' id='e1'"), "{out}");
    assert_eq!(out.matches("<not-authorized ").count(), 2, "{out}");
    // `<enable/>` before binding, and a second one: `<failed/>`.
    for name in ["gen-enable-before-bind", "gen-enable-twice"] {
        let (out, _) = t(name);
        assert!(
            out.contains("<failed xmlns='urn:xmpp:sm:3'><unexpected-request "),
            "{name}: {out}"
        );
    }
    // The default stanza limit: a stanza of exactly it is read, one byte
    // more is `policy-violation`.
    let (_, events) = t("gen-near-limit-at");
    assert!(
        events.iter().any(|e| matches!(e, Event::Message(_))),
        "{events:?}"
    );
    let (out, events) = t("gen-near-limit-over");
    assert!(out.contains("<policy-violation "), "{out}");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Message(_))),
        "{events:?}"
    );
}

#[test]
fn the_sm_seeds_reach_acks_resumption_and_the_count_error() {
    use xmpp_sansio::{Error, Event};
    let t = |name: &str| sm_stream::transcript_of(&seed_of("sm_stream", name));
    let released = |events: &[Event]| {
        events
            .iter()
            .map(|e| match e {
                Event::Acknowledged { stanzas } => stanzas.len(),
                _ => 0,
            })
            .sum::<usize>()
    };
    let (_, events) = t("gen-ack-all");
    assert_eq!(released(&events), 15, "{events:?}");
    let (_, events) = t("gen-enabled-then-acks");
    assert_eq!(released(&events), 5, "{events:?}");
    let (_, events) = t("gen-h-too-high");
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Closed {
                error: Some(Error::HandledCountTooHigh {
                    h: 4,
                    send_count: 3
                }),
                ..
            }
        )),
        "{events:?}"
    );
    let (out, events) = t("gen-resumed");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Resumed { resent: 2, .. })),
        "{events:?}"
    );
    assert_eq!(released(&events), 4, "{events:?}");
    assert!(out.contains("<a xmlns='urn:xmpp:sm:3' h='3'/>"), "{out}");
    let (_, events) = t("gen-resume-failed");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ResumeFailed { unacked } if unacked.len() == 2)),
        "{events:?}"
    );
    let (out, _) = t("gen-requests-and-stanzas");
    assert_eq!(out.matches("<a xmlns='urn:xmpp:sm:3'").count(), 3, "{out}");
}

#[test]
fn the_server_oracle_refuses_a_forged_sender() {
    use server_stream::check_senders;
    use xmpp_sansio::Event;
    use xmpp_sansio::stanza::Message;
    use xmpp_sansio::xml::Element;
    let message = |from: &str| {
        let el = Element::builder("message", "jabber:client")
            .attr("from", from)
            .build();
        Event::Message(Message::from_element(el).unwrap())
    };
    let online = Event::Online {
        jid: server_stream::FULL_JID.into(),
    };
    assert!(!refuses(|| check_senders(&[
        online.clone(),
        message(server_stream::FULL_JID)
    ])));
    assert!(refuses(|| check_senders(&[
        online.clone(),
        message("romeo@example.net/orchard")
    ])));
    assert!(refuses(|| check_senders(&[
        online.clone(),
        message("juliet@example.com")
    ])));
    assert!(refuses(|| check_senders(&[message(
        server_stream::FULL_JID
    )])));
}

/// Found by the `server_stream` oracle: a bind request pipelined behind
/// one the application has not answered yet is refused (`not-authorized`)
/// when both arrive in one read, and bound when they arrive in two (the
/// application answering after each read). The stream reads on while a
/// decision (credentials, bind, resumption) is pending, so the outcome of
/// pipelined input depends on where the reads are cut. The same holds
/// for `<r/>` behind `<resume/>`. `server_stream` exempts runs that asked
/// the application from its chunking comparison meanwhile.
#[test]

fn pipelined_input_behind_a_pending_decision_does_not_depend_on_the_cut() {
    let bind = server_stream::STAGES
        .iter()
        .position(|s| *s == "bind")
        .unwrap() as u8;
    let data = format!(
        "{}{}",
        server_stream::bind_asking("t1", server_stream::TAKEN_RESOURCE),
        server_stream::bind_asking("t2", "")
    );
    // Selector 0x10: reads of 1 to 8 bytes; the comparison is not exempt.
    let mut input = vec![bind | 0x10];
    input.extend_from_slice(data.as_bytes());
    let (whole, _) = server_stream::transcript_of(&input);
    let cut = data.find("<iq type='set' id='t2'").unwrap();
    let (first, _) = server_stream::transcript_of(&[&[bind][..], &data.as_bytes()[..cut]].concat());
    assert!(first.contains("<conflict "), "{first}");
    // One read refuses t2 (not-authorized) and then times out the
    // negotiation; a client cutting after t1 would be bound.
    assert!(
        !whole.contains("<not-authorized "),
        "t2 refused because t1 was not answered within the read: {whole}"
    );
}

/// Found by the `server_stream` oracle (its first crash, after 995
/// executions) and again by `client_script` in CI: a name run went on past
/// the limit to the end of the read, so a byte that is not UTF-8 after the
/// crossing byte was reported (`unsupported-encoding`) when the read was
/// whole, and the limit (`policy-violation`) when a cut fell before it.
/// The scan now stops at the byte that crosses the limit, so the first
/// error in byte order wins however the bytes are cut.
#[test]
fn the_first_error_in_the_bytes_wins_however_they_are_cut() {
    use xmpp_sansio::xml::{Limits, XmlError};
    let limits = Limits {
        max_name_len: 64,
        ..Limits::default()
    };
    let first_error = |reads: &[&[u8]]| first_framer_error(&limits, reads);
    let header =
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    let long = [b'x'; 65];
    // (tag up to the long name, what follows the name, the error).
    let cases: [(&[u8], &[u8], bool); 4] = [
        // The 65th byte crosses the limit; the byte after it is not UTF-8.
        (b"<message ", &[0xff], false),
        (b"<message to='a' ", &[0xff, b'='], false),
        (b"<", &[0xff, b'>'], false),
        // The byte that crosses the limit is itself not UTF-8.
        (b"<message ", &[], true),
    ];
    for (tag, tail, utf8_first) in cases {
        let mut data = header.to_vec();
        data.extend_from_slice(tag);
        if utf8_first {
            data.extend_from_slice(&long[..64]);
            data.push(0xff);
        } else {
            data.extend_from_slice(&long);
            data.extend_from_slice(tail);
        }
        let whole = first_error(&[&data]);
        if utf8_first {
            assert_eq!(whole, Some(XmlError::InvalidUtf8), "{data:?}");
        } else {
            assert!(
                matches!(whole, Some(XmlError::LimitExceeded { .. })),
                "{whole:?}"
            );
        }
        for cut in 1..data.len() {
            let split = first_error(&[&data[..cut], &data[cut..]]);
            assert_eq!(split, whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(first_error(&bytes), whole, "a byte at a time");
    }
}

/// The same rule for every error the scan raises on a byte it has just
/// read: a byte that is not UTF-8 right after it is never seen, whether it
/// came in the same read or not (found by the `server_stream` and `framer`
/// oracles for `attribute without a value`; the depth limit and a CDATA
/// section between stanzas had the same one-byte-late position).
#[test]
fn an_error_on_a_byte_is_not_overtaken_by_the_next_byte() {
    use xmpp_sansio::xml::Limits;
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let first_error = |reads: &[&[u8]]| first_framer_error(&limits, reads);
    let header =
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    let cases: [&[u8]; 4] = [
        b"<message to/",
        b"<a><b><c>",
        b"<![CDATA[",
        b"<m><b></b><![CDATA[x]]></m><![CDATA[",
    ];
    for case in cases {
        let mut data = header.to_vec();
        data.extend_from_slice(case);
        data.push(0xff);
        let whole = first_error(&[&data]);
        assert!(
            !matches!(whole, Some(xmpp_sansio::xml::XmlError::InvalidUtf8) | None),
            "{:?}: {whole:?}",
            String::from_utf8_lossy(case)
        );
        for cut in 1..data.len() {
            let split = first_error(&[&data[..cut], &data[cut..]]);
            assert_eq!(
                split,
                whole,
                "{:?} cut at {cut}",
                String::from_utf8_lossy(case)
            );
        }
    }
}

/// The first error a framer with `limits` reports when fed `reads` in
/// turn, every event taken after each read; `None` if none.
fn first_framer_error(
    limits: &xmpp_sansio::xml::Limits,
    reads: &[&[u8]],
) -> Option<xmpp_sansio::xml::XmlError> {
    let mut framer = xmpp_sansio::xml::Framer::new(limits.clone());
    for read in reads {
        framer.push(read);
        loop {
            match framer.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Some(e),
            }
        }
    }
    None
}
