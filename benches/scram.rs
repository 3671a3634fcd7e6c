//! How long one SCRAM key derivation takes at the iteration cap: the
//! longest a server can stall one `handle_input` (PBKDF2 runs inside it).
//!
//! ```sh
//! cargo bench --bench scram      # the default cap and a few counts servers use
//! ```
//!
//! Without `--bench` (as under `cargo test --all-targets`) it derives once
//! at 4096 iterations per hash, as a smoke pass.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock; the library never does

use std::time::{Duration, Instant};

use xmpp_sansio::sasl::{DEFAULT_MAX_ITERATIONS, ScramHash, ScramKeys};

/// The median of `runs` derivations at `iterations`.
fn time(hash: ScramHash, iterations: u32, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let keys = ScramKeys::derive(hash, "pencil", b"salt", iterations);
            let elapsed = t.elapsed();
            assert!(!keys.stored_key.is_empty());
            elapsed
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (counts, runs): (Vec<u32>, usize) = if full {
        (vec![4096, 10_000, DEFAULT_MAX_ITERATIONS, 600_000], 5)
    } else {
        println!("smoke pass (no --bench): one derivation at 4096 iterations");
        (vec![4096], 1)
    };
    println!(
        "SCRAM key derivation, median of {runs} (default cap: {DEFAULT_MAX_ITERATIONS} iterations)"
    );
    for iterations in counts {
        let row: Vec<String> = [
            ("SHA-1", ScramHash::Sha1),
            ("SHA-256", ScramHash::Sha256),
            ("SHA-512", ScramHash::Sha512),
        ]
        .into_iter()
        .map(|(name, hash)| {
            let t = time(hash, iterations, runs);
            format!("{name} {:7.1} ms", t.as_secs_f64() * 1000.0)
        })
        .collect();
        println!("{iterations:>9} iterations: {}", row.join("   "));
    }
}
