//! The framer's fuzz oracles, shared by `fuzz/fuzz_targets/framer.rs` and by
//! `tests/fuzz_corpus.rs`, which replays the committed corpus under
//! `cargo test`. Oracles:
//! - no panic, whatever the input;
//! - chunking does not matter: the input cut into reads (the selector's
//!   high bits choose the cuts, [`common::chunks`]; every byte, NUL
//!   included, is data) gives the same events and the same error as the
//!   input in one read (rxml's fuzz oracle);
//! - nothing more is held than the stanza limit allows: once the events
//!   are drained, the bytes the framer keeps (a partial element) never
//!   exceed `max_stanza_bytes` (the limit fails the stream on the byte
//!   that passes it);
//! - every element parsed serializes and parses back to itself;
//! - the tree budget (`Limits::max_tree_bytes`, tight for some inputs)
//!   refuses an element whatever the chunking (covered by the first).

#[path = "common.rs"]
mod common;

use xmpp_sansio::xml::{FrameEvent, Framer, Limits, XmlError, ns, writer};

const HEADER: &[u8] =
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

fn run<'a>(
    limits: Limits,
    chunks: impl Iterator<Item = &'a [u8]>,
) -> (Vec<FrameEvent>, Option<XmlError>) {
    let mut framer = Framer::new(limits.clone());
    let mut events = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        loop {
            match framer.next_event() {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => {
                    assert!(
                        framer.unconsumed() <= limits.max_stanza_bytes,
                        "{} bytes held, over the stanza limit",
                        framer.unconsumed()
                    );
                    break;
                }
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

/// Checks the oracles on one input; panics where one fails.
pub(crate) fn check(data: &[u8]) {
    // The first byte chooses whether a valid header precedes the input, so
    // the fuzzer reaches stanza parsing without having to invent one (bit
    // 0), how the input is cut into reads (bits 1 to 4), and whether the
    // tree budget is tight (bit 5: 3,000 bytes, which refuses an element
    // of a few hundred bytes as its tree is begun, and a dense one as its
    // tree grows).
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
        max_tree_bytes: if selector & 0x20 != 0 {
            3000
        } else {
            Limits::default().max_tree_bytes
        },
        ..Limits::default()
    };
    let chunked = run(
        limits.clone(),
        common::chunks(&input, (selector >> 1) & 0x0f).into_iter(),
    );
    let whole = run(limits, std::iter::once(&input[..]));
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
