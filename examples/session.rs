//! Replays a recorded client session with a real server through a fresh
//! client `Stream`, and checks that the client sends exactly what the
//! recorded client sent.
//!
//! ```sh
//! cargo run --example session                       # tests/data/prosody-session.*
//! cargo run --example session -- --chunk 64 tests/data/prosody-session  # PREFIX: PREFIX.in.xml, .out.xml, .reads
//! ```
//!
//! The recording (`examples/client.rs --record PREFIX --seed 7`) holds the
//! plaintext Prosody 0.12 sent over STARTTLS: headers, features, the SCRAM
//! challenge and success, the bind and roster results. With the same seed,
//! the client's nonce and ids are the same, so its SCRAM proof matches the
//! recorded one, the recorded server signature verifies, and every byte it
//! sends matches the recording. TLS itself is not replayed: on
//! `Event::StartTls` the replay calls `tls_established` at once, exactly
//! where the real client handed the socket to rustls. Each recorded read
//! (PREFIX.reads) is fed split into `--chunk`-byte pieces (default: one byte
//! at a time); reads are never merged, since merging could deliver a reply
//! before the request it answers was sent.

#[path = "support/replay.rs"]
mod replay;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut chunk = 1usize;
    let mut prefix = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--chunk" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => chunk = n,
                _ => return usage("--chunk needs a positive number"),
            },
            "-h" | "--help" => return usage(""),
            _ if a.starts_with('-') => return usage(&format!("unknown option {a}")),
            _ if prefix.is_none() => prefix = Some(a),
            _ => return usage("one recording at a time"),
        }
    }
    let prefix = prefix
        .unwrap_or_else(|| format!("{}/tests/data/prosody-session", env!("CARGO_MANIFEST_DIR")));
    let (Ok(received), Ok(recorded_sent)) = (
        std::fs::read(format!("{prefix}.in.xml")),
        std::fs::read(format!("{prefix}.out.xml")),
    ) else {
        return fail(&format!("cannot read {prefix}.in.xml and {prefix}.out.xml"));
    };
    let reads = replay::parse_reads(
        &std::fs::read_to_string(format!("{prefix}.reads")).unwrap_or_default(),
    );
    let r = replay::replay(&received, &reads, chunk);
    for line in &r.log {
        println!("{line}");
    }
    if r.sent == recorded_sent {
        println!(
            "the client sent the recorded {} bytes exactly, fed {chunk} byte(s) at a time",
            r.sent.len()
        );
        ExitCode::SUCCESS
    } else {
        let same = r
            .sent
            .iter()
            .zip(&recorded_sent)
            .take_while(|(a, b)| a == b)
            .count();
        println!(
            "MISMATCH: the client sent {} bytes, the recording {}; they differ from byte {same}",
            r.sent.len(),
            recorded_sent.len()
        );
        ExitCode::FAILURE
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("session: {msg}");
    ExitCode::FAILURE
}

/// `--help` (no problem): the usage on stdout, exit 0; a usage error: the
/// problem and the usage on stderr, exit 2.
fn usage(problem: &str) -> ExitCode {
    let usage = "usage: cargo run --example session -- [--chunk N] [PREFIX]  (default PREFIX: tests/data/prosody-session)";
    if problem.is_empty() {
        println!("{usage}");
        ExitCode::SUCCESS
    } else {
        eprintln!("session: {problem}\n{usage}");
        ExitCode::from(2)
    }
}
