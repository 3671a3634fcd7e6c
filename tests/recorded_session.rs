//! A session recorded against Prosody 0.12 (STARTTLS, SCRAM-SHA-1, bind,
//! roster, presence, close) replayed through a fresh client: with the
//! recorded seed it must send the recorded bytes exactly, for any chunking.

#[path = "../examples/support/replay.rs"]
mod replay;

const RECEIVED: &[u8] = include_bytes!("data/prosody-session.in.xml");
const SENT: &[u8] = include_bytes!("data/prosody-session.out.xml");
const READS: &str = include_str!("data/prosody-session.reads");

#[test]
fn the_client_reproduces_the_recorded_session_in_every_chunking() {
    for chunk in (1..=64).chain([97, 256, 4096]) {
        let r = replay::replay(RECEIVED, &replay::parse_reads(READS), chunk);
        assert!(
            r.online,
            "chunk {chunk}: never online\n{}",
            r.log.join("\n")
        );
        assert_eq!(
            String::from_utf8_lossy(&r.sent),
            String::from_utf8_lossy(SENT),
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_tampered_server_signature_is_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    // Change one byte of the signature in <success/> (and re-encode): the
    // server no longer proves it knows the password; the client must stop.
    let open = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
    let text = String::from_utf8_lossy(RECEIVED).into_owned();
    let (Some(start), Some(end)) = (
        text.find(open).map(|i| i + open.len()),
        text.find("</success>"),
    ) else {
        panic!("no <success/> in the recording");
    };
    let server_final =
        String::from_utf8(B64.decode(&text[start..end]).unwrap_or_default()).unwrap_or_default();
    let mut signature = B64
        .decode(server_final.trim_start_matches("v="))
        .unwrap_or_default();
    assert!(!signature.is_empty());
    signature[0] ^= 1;
    let forged = B64.encode(format!("v={}", B64.encode(&signature)));
    let tampered = format!("{}{forged}{}", &text[..start], &text[end..]);
    let mut reads = replay::parse_reads(READS);
    let grown = forged.len() as isize - (end - start) as isize;
    // The forged text may differ in length: adjust the read that holds it.
    let mut at = 0usize;
    for r in reads.iter_mut() {
        if at + *r > start {
            *r = (*r as isize + grown) as usize;
            break;
        }
        at += *r;
    }
    let r = replay::replay(tampered.as_bytes(), &reads, 1);
    assert!(!r.online);
    assert!(
        r.log
            .iter()
            .any(|l| l.contains("the server signature does not verify")),
        "{}",
        r.log.join("\n")
    );
}
