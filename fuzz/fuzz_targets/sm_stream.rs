//! A client `Stream` with stream management on, on arbitrary server bytes; the oracles are in
//! `tests/fuzz/oracles/sm_stream.rs`, shared with `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../../tests/fuzz/oracles/sm_stream.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check(data));
