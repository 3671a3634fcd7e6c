//! Receive-path throughput of the framer (scan + tokenize + `Element` tree)
//! beside raw xmlparser tokenization of the same bytes, on the shared corpus
//! (`../shared/bench/corpus`, generated deterministically).
//!
//! ```sh
//! cargo bench --bench framer                 # small + large corpus, probes
//! XMPP_BENCH_CORPUS=dir cargo bench --bench framer
//! ```
//! Without `--bench` (as under `cargo test --all-targets`) it runs a quick
//! smoke pass on the small corpus, or on the committed transcript if the
//! corpus generator is not beside the project.
//!
//! Every row touches each element's local name and each non-xmlns
//! attribute's local name and value, like the peers' rows in
//! `../shared/bench/peers`, and its counts are checked against the corpus
//! manifest, so a row that skipped work would fail.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock; the library never does

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use xmlparser::{ElementEnd, Token, Tokenizer};
use xmpp_sansio::xml::{Element, FrameEvent, Framer, Limits};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    top_level: u64,
    elements: u64,
    attributes: u64,
    name_bytes: u64,
    digest: u64,
}

impl Tally {
    fn element(&mut self, local: &str) {
        self.elements += 1;
        self.name_bytes += local.len() as u64;
        self.mix(local);
    }
    fn attribute(&mut self, local: &str, value: &str) {
        self.attributes += 1;
        self.name_bytes += local.len() as u64;
        self.mix(local);
        self.digest = self.digest.wrapping_add(value.len() as u64);
    }
    fn mix(&mut self, name: &str) {
        let b = name.as_bytes();
        let edge = match (b.first(), b.last()) {
            (Some(&f), Some(&l)) => (u64::from(f) << 8) | u64::from(l),
            _ => 0,
        };
        self.digest = self.digest.rotate_left(5) ^ edge ^ ((b.len() as u64) << 16);
    }
}

/// The peers' reference row: xmlparser over the whole input as one `&str`.
fn xmlparser_row(input: &[u8]) -> Tally {
    let mut t = Tally::default();
    let Ok(text) = std::str::from_utf8(input) else {
        return t;
    };
    let (mut depth, mut level) = (0usize, 0usize);
    for token in Tokenizer::from(text) {
        let Ok(token) = token else { return t };
        match token {
            Token::ElementStart { local, .. } => {
                level = depth + 1;
                if level >= 2 {
                    t.element(local.as_str());
                }
            }
            Token::Attribute {
                prefix,
                local,
                value,
                ..
            } => {
                let decl =
                    prefix.as_str() == "xmlns" || (prefix.is_empty() && local.as_str() == "xmlns");
                if level >= 2 && !decl {
                    t.attribute(local.as_str(), value.as_str());
                }
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => depth += 1,
                ElementEnd::Empty if level == 2 => t.top_level += 1,
                ElementEnd::Empty => {}
                ElementEnd::Close(..) => {
                    if depth == 2 {
                        t.top_level += 1;
                    }
                    depth = depth.saturating_sub(1);
                }
            },
            _ => {}
        }
    }
    t
}

fn walk(el: &Element, t: &mut Tally) {
    t.element(el.name());
    for a in el.attrs() {
        t.attribute(a.name, a.value);
    }
    for child in el.children() {
        walk(&child, t);
    }
}

/// The framer fed `chunk`-byte slices (0 = the whole input at once), every
/// element built; `walk_trees` also visits every name and attribute of
/// every tree afterwards, as the peers' rows do.
fn framer_row(input: &[u8], chunk: usize) -> Tally {
    framer_pass(input, chunk, true)
}

fn framer_pass(input: &[u8], chunk: usize, walk_trees: bool) -> Tally {
    let mut t = Tally::default();
    let mut framer = Framer::new(Limits {
        max_stanza_bytes: 1 << 24,
        ..Limits::default()
    });
    let chunk = if chunk == 0 {
        input.len().max(1)
    } else {
        chunk
    };
    for piece in input.chunks(chunk) {
        framer.push(piece);
        loop {
            match framer.next_event() {
                Ok(Some(FrameEvent::Element(el))) => {
                    t.top_level += 1;
                    if walk_trees {
                        walk(&el, &mut t);
                    } else {
                        t.mix(el.name());
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => panic!("framer failed on the corpus: {e}"),
            }
        }
    }
    t
}

fn median_time(runs: usize, mut f: impl FnMut() -> Tally) -> (Duration, Tally) {
    let expected = f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let t = f();
            let elapsed = start.elapsed();
            assert_eq!(t, expected, "passes disagree");
            elapsed
        })
        .collect();
    times.sort();
    (times[times.len() / 2], expected)
}

fn manifest_count(manifest: &str, key: &str) -> Option<u64> {
    let at = manifest.find(&format!("\"{key}\":"))?;
    let rest = &manifest[at + key.len() + 3..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn check_manifest(dir: &Path, name: &str, t: &Tally) {
    let Ok(manifest) = std::fs::read_to_string(dir.join(format!("{name}.json"))) else {
        return;
    };
    for (key, got) in [
        ("top_level_elements", t.top_level),
        ("elements", t.elements),
        ("attributes", t.attributes),
        ("name_bytes", t.name_bytes),
    ] {
        if let Some(want) = manifest_count(&manifest, key) {
            assert_eq!(got, want, "{name}: {key} disagrees with the manifest");
        }
    }
}

fn corpus_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("XMPP_BENCH_CORPUS") {
        return Some(PathBuf::from(dir));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-corpus");
    if dir.join("large.xml").exists() && dir.join("probe-2000.xml").exists() {
        return Some(dir);
    }
    let generator = root.join("../shared/bench/corpus/gen_corpus.py");
    if !generator.exists() {
        return None;
    }
    let ok = Command::new("python3")
        .arg(&generator)
        .args([
            "--out".as_ref(),
            dir.as_os_str(),
            "--probe".as_ref(),
            "500".as_ref(),
            "2000".as_ref(),
        ])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(dir)
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let Some(dir) = corpus_dir() else {
        // Smoke mode outside the workspace: the committed transcript.
        let input = include_bytes!("../tests/data/server-session.xml");
        let t = framer_row(input, 1);
        assert_eq!(t, framer_row(input, 0));
        println!(
            "corpus generator not found; smoke pass over the transcript: {} top-level elements",
            t.top_level
        );
        return;
    };
    let only = std::env::var("XMPP_BENCH_ONLY").ok();
    let corpora: &[&str] = if full && only.is_none() {
        &["small", "large"]
    } else {
        &["small"]
    };
    let runs = if full { 7 } else { 1 };
    println!(
        "framer benchmark: {runs} interleaved rounds after a warm-up (medians; x xmlparser is the median of per-round ratios); corpus {}",
        dir.display()
    );
    println!(
        "{:<26} {:>6} {:>10} {:>12} {:>12}",
        "row", "corpus", "MB/s", "stanzas/s", "x xmlparser"
    );
    for name in corpora {
        let Ok(input) = std::fs::read(dir.join(format!("{name}.xml"))) else {
            continue;
        };
        // The rows, each timed once per round, rounds interleaved: a
        // machine whose speed drifts (a shared VM) then slows every row of
        // a round alike, and the per-round ratio to xmlparser stays fair.
        let one_byte_runs = match (full, *name) {
            (true, "small") => runs,
            (true, _) => 0,
            (false, _) => 1,
        };
        type Pass<'a> = Box<dyn Fn() -> Tally + 'a>;
        let mut rows: Vec<(&str, usize, Pass)> = vec![
            (
                "xmlparser (whole &str)",
                runs,
                Box::new(|| xmlparser_row(&input)),
            ),
            (
                "framer 4096, build only",
                if only.is_none() { runs } else { 0 },
                Box::new(|| framer_pass(&input, 4096, false)),
            ),
            (
                "xmpp-sansio framer whole",
                runs,
                Box::new(|| framer_row(&input, 0)),
            ),
            (
                "xmpp-sansio framer 4096",
                runs,
                Box::new(|| framer_row(&input, 4096)),
            ),
            (
                "xmpp-sansio framer 1-byte",
                one_byte_runs,
                Box::new(|| framer_row(&input, 1)),
            ),
        ];
        rows.retain(|(label, n, _)| {
            *n > 0
                && (label.starts_with("xmlparser")
                    || only.as_ref().is_none_or(|o| label.ends_with(o.as_str())))
        });
        let tallies: Vec<Tally> = rows.iter().map(|(_, _, f)| f()).collect(); // warm-up
        // Every row that walks what it parsed counts what the manifest says.
        for ((label, _, _), t) in rows.iter().zip(&tallies) {
            if !label.contains("build only") {
                check_manifest(&dir, name, t);
                assert_eq!(t.elements, tallies[0].elements);
            }
        }
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); rows.len()];
        for round in 0..runs {
            for (i, (_, n, f)) in rows.iter().enumerate() {
                if round < *n {
                    let start = Instant::now();
                    let t = f();
                    times[i].push(start.elapsed());
                    assert_eq!(t, tallies[i], "passes disagree");
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let base = &times[0];
        for (i, (label, _, _)) in rows.iter().enumerate() {
            let mut secs: Vec<f64> = times[i].iter().map(Duration::as_secs_f64).collect();
            let mut ratios: Vec<f64> = times[i]
                .iter()
                .zip(base)
                .map(|(t, b)| b.as_secs_f64() / t.as_secs_f64())
                .collect();
            let d = median(&mut secs);
            println!(
                "{label:<26} {name:>6} {:>10.1} {:>12.0} {:>12.3}",
                mb_s(input.len(), Duration::from_secs_f64(d)),
                tallies[i].top_level as f64 / d,
                median(&mut ratios)
            );
        }
        let row_time = |label: &str| {
            rows.iter().position(|(l, _, _)| *l == label).map(|i| {
                let mut v: Vec<f64> = times[i].iter().map(Duration::as_secs_f64).collect();
                median(&mut v)
            })
        };
        if let (Some(big), Some(one)) = (
            row_time("xmpp-sansio framer 4096"),
            row_time("xmpp-sansio framer 1-byte"),
        ) {
            println!(
                "1-byte slowdown on {name}: {:.2}x the 4096-byte time",
                one / big
            );
        }
    }
    // Linearity probe: one big roster stanza, one byte at a time.
    let mut per_byte = Vec::new();
    for probe in ["probe-500", "probe-2000"] {
        if only.is_some() {
            break;
        }
        let Ok(input) = std::fs::read(dir.join(format!("{probe}.xml"))) else {
            continue;
        };
        let (d, _) = median_time(if full { 5 } else { 1 }, || framer_row(&input, 1));
        let ns = d.as_nanos() as f64 / input.len() as f64;
        println!(
            "linearity probe {probe}: {} bytes one at a time, {ns:.1} ns/byte",
            input.len()
        );
        per_byte.push(ns);
    }
    if let [a, b] = per_byte[..] {
        println!(
            "linearity ratio (215 KB vs 53 KB stanza, ns/byte): {:.2} (1.0 = linear, 4.0 = quadratic)",
            b / a
        );
    }
}
