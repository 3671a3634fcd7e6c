//! A client `Stream` driven by a script of operations (server bytes,
//! commands, the clock, the end of file, TLS); the oracles are in
//! `tests/fuzz/oracles/client_script.rs`, shared with `tests/fuzz_corpus.rs`.
//! Inputs starting with `#script` are read in its text form (the committed
//! corpus); any other is decoded with `arbitrary`.
#![no_main]

#[path = "../../tests/fuzz/oracles/client_script.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let script = match oracle::parse(data) {
        Some(script) => script,
        None => {
            let u = arbitrary::Unstructured::new(data);
            match <oracle::Script as arbitrary::Arbitrary>::arbitrary_take_rest(u) {
                Ok(script) => script,
                Err(_) => return,
            }
        }
    };
    oracle::check_script(&script);
});
