//! The framer on arbitrary bytes; the oracles are in
//! `tests/fuzz/oracles/framer.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../../tests/fuzz/oracles/framer.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check(data));
