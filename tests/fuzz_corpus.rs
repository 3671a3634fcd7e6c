//! The committed fuzz corpora (`tests/fuzz/corpus/<target>/`), replayed
//! through the fuzz targets' own oracles (`tests/fuzz/oracles/`, which the
//! targets in `fuzz/` include) on every `cargo test`: each seed and each
//! input a campaign kept as a regression must keep passing, with no
//! fuzzer installed. Both live under `tests/` so that the published
//! package, which cannot ship the `fuzz/` crate, still replays them.

use std::path::Path;

#[path = "fuzz/oracles/client_stream.rs"]
mod client_stream;
#[path = "fuzz/oracles/framer.rs"]
mod framer;

/// Runs `check` on every file of `tests/fuzz/corpus/<target>`; returns how many.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
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
        replay("client_stream", client_stream::check) >= 13,
        "the seeds are there"
    );
}
