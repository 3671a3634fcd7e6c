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
#[path = "fuzz/oracles/framer.rs"]
mod framer;

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
fn the_generated_seeds_are_committed() {
    let write = std::env::var_os("XMPP_WRITE_FUZZ_SEEDS").is_some();
    for (name, data) in client_stream::seeds() {
        let path = corpus("client_stream").join(&name);
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
