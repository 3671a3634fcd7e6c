//! A client `Stream` on arbitrary server bytes; the oracles are in
//! `oracles/client_stream.rs`.
#![no_main]

#[path = "../oracles/client_stream.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check(data));
