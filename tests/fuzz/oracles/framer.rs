//! The framer's fuzz oracles, shared by `fuzz/fuzz_targets/framer.rs` and by
//! `tests/fuzz_corpus.rs`, which replays the committed corpus under
//! `cargo test`. Oracles:
//! - no panic, whatever the input;
//! - chunking does not matter: the input cut at every NUL byte (the cut
//!   bytes dropped) gives the same events and the same error as the joined
//!   input (rxml's fuzz oracle);
//! - every element parsed serializes and parses back to itself.

use xmpp_sansio::xml::{FrameEvent, Framer, Limits, XmlError, ns, writer};

const HEADER: &[u8] =
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

fn run<'a>(
    limits: Limits,
    chunks: impl Iterator<Item = &'a [u8]>,
) -> (Vec<FrameEvent>, Option<XmlError>) {
    let mut framer = Framer::new(limits);
    let mut events = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        loop {
            match framer.next_event() {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    // The first byte chooses whether a valid header precedes the input, so
    // the fuzzer reaches stanza parsing without having to invent one.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut input = if selector & 1 == 1 {
        HEADER.to_vec()
    } else {
        Vec::new()
    };
    input.extend_from_slice(rest);

    let limits = Limits {
        max_stanza_bytes: 4096,
        max_depth: 16,
        ..Limits::default()
    };
    let chunked = run(limits.clone(), input.split(|&b| b == 0));
    let joined: Vec<u8> = input.iter().copied().filter(|&b| b != 0).collect();
    let whole = run(limits, std::iter::once(&joined[..]));
    assert_eq!(chunked, whole, "the outcome depends on chunking");

    for event in &whole.0 {
        let FrameEvent::Element(el) = event else {
            continue;
        };
        let mut again = HEADER.to_vec();
        writer::write_stream_child(el, &mut again, ns::JABBER_CLIENT);
        // Escaping may lengthen an element (CDATA `<` becomes `&lt;`).
        let (events, error) = run(Limits::default(), std::iter::once(&again[..]));
        assert_eq!(error, None, "reserialized element does not parse: {el:?}");
        assert_eq!(events.get(1), Some(event), "round trip changed the element");
    }
}
