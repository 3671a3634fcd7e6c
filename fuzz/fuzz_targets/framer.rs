//! The framer on arbitrary bytes; the oracles are in `oracles/framer.rs`.
#![no_main]

#[path = "../oracles/framer.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check(data));
