//! A client `Stream` and a server `Stream` back to back, driven by a script
//! of operations (deliveries either way, commands on either side, the
//! clock, cuts and resumption, the end of file); the oracles are in
//! `tests/fuzz/oracles/pair_script.rs`, shared with `tests/fuzz_corpus.rs`.
//! The counting allocator is installed here, so the memory oracles run.
#![no_main]

#[path = "../../tests/fuzz/oracles/pair_script.rs"]
mod oracle;

#[global_allocator]
static ALLOC: oracle::alloc::Counting = oracle::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check(data));
