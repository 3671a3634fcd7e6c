//! The component roles (XEP-0114) by stage, on arbitrary peer bytes; the
//! oracles are in `tests/fuzz/oracles/component_stream.rs`, shared with
//! `tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../../tests/fuzz/oracles/component_stream.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check(data));
