use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;

use super::*;

fn creds(user: &str, password: &str) -> Credentials {
    Credentials {
        username: user.into(),
        password: password.into(),
        authzid: None,
    }
}

fn run(mech: Mechanism, creds: &Credentials, cb: &ChannelBinding, nonce: &str) -> ClientAuth {
    match ClientAuth::new(mech, creds, cb, nonce, false) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn rfc5802_scram_sha1_vector() {
    let mut a = run(
        Mechanism::ScramSha1,
        &creds("user", "pencil"),
        &ChannelBinding::None,
        "fyko+d2lbbFgONRv9qkxdawL",
    );
    assert_eq!(
        a.initial_response(),
        Ok(Some(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL".to_vec()))
    );
    let out = a.respond(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    assert_eq!(
        out.as_deref(),
        Ok(
            &b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
                [..]
        )
    );
    assert_eq!(a.finish(Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")), Ok(()));
}

#[test]
fn rfc7677_scram_sha256_vector() {
    let mut a = run(
        Mechanism::ScramSha256,
        &creds("user", "pencil"),
        &ChannelBinding::None,
        "rOprNGfwEbeRWgbNEkqO",
    );
    assert_eq!(
        a.initial_response(),
        Ok(Some(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO".to_vec()))
    );
    let out = a.respond(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    );
    assert_eq!(
        out.as_deref(),
        Ok(&b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="[..])
    );
    assert_eq!(
        a.finish(Some(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")),
        Ok(())
    );
}

/// A SCRAM server computed independently from the keys, for SHA-512 and
/// channel binding (no published vector exists for SHA-512).
fn server_side(
    hash: ScramHash,
    password: &str,
    client_first: &str,
    client_final: &str,
    server_first: &str,
) -> (bool, String) {
    let bare = client_first.splitn(3, ',').nth(2).unwrap_or_default();
    let without_proof = client_final.rsplit_once(",p=").map_or("", |(w, _)| w);
    let proof = BASE64
        .decode(client_final.rsplit_once(",p=").map_or("", |(_, p)| p))
        .unwrap_or_default();
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let keys = ScramKeys::derive(hash, password, b"saltsalt", 4096);
    let expected = keys.client_proof(hash, auth_message.as_bytes());
    let signature = keys.server_signature(hash, auth_message.as_bytes());
    (proof == expected, format!("v={}", BASE64.encode(signature)))
}

#[test]
fn scram_sha512_plus_against_an_independent_server() {
    let cb = ChannelBinding::TlsExporter(vec![7; 32]);
    let mut a = match ClientAuth::new(
        Mechanism::ScramSha512Plus,
        &creds("juliet", "r0m30"),
        &cb,
        "abc",
        true,
    ) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    let first = String::from_utf8(a.initial_response().ok().flatten().unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(first, "p=tls-exporter,,n=juliet,r=abc");
    let server_first = format!("r=abcdef,s={},i=4096", BASE64.encode(b"saltsalt"));
    let fin = String::from_utf8(a.respond(server_first.as_bytes()).unwrap_or_default())
        .unwrap_or_default();
    let mut cbind = b"p=tls-exporter,,".to_vec();
    cbind.extend_from_slice(&[7; 32]);
    assert!(
        fin.starts_with(&format!("c={},r=abcdef,p=", BASE64.encode(&cbind))),
        "{fin}"
    );
    let (ok, server_final) = server_side(ScramHash::Sha512, "r0m30", &first, &fin, &server_first);
    assert!(ok, "the server rejects the client proof");
    assert_eq!(a.finish(Some(server_final.as_bytes())), Ok(()));
}

#[test]
fn server_final_as_a_challenge_then_empty_success() {
    let mut a = run(
        Mechanism::ScramSha1,
        &creds("user", "pencil"),
        &ChannelBinding::None,
        "fyko+d2lbbFgONRv9qkxdawL",
    );
    let _ = a.initial_response();
    let _ = a.respond(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    assert_eq!(a.respond(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), Ok(Vec::new()));
    assert_eq!(a.finish(None), Ok(()));
}

#[test]
fn wrong_server_signature_and_other_server_lies_fail() {
    let start = || {
        let mut a = run(
            Mechanism::ScramSha1,
            &creds("user", "pencil"),
            &ChannelBinding::None,
            "fyko+d2lbbFgONRv9qkxdawL",
        );
        let _ = a.initial_response();
        a
    };
    let mut a = start();
    let _ = a.respond(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    assert_eq!(
        a.finish(Some(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
        Err(SaslError::ServerSignatureMismatch)
    );
    let mut a = start();
    let _ = a.respond(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    assert_eq!(a.finish(None), Err(SaslError::MissingServerSignature));
    assert_eq!(
        start().respond(b"r=someone-else,s=QSXCR+Q6sek8bf92,i=4096"),
        Err(SaslError::NonceMismatch)
    );
    assert_eq!(
        start().respond(b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"),
        Err(SaslError::NonceMismatch)
    );
    assert_eq!(
        start().respond(b"e=other-error"),
        Err(SaslError::ServerError("other-error".into()))
    );
    assert_eq!(
        start().respond(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=0"),
        Err(SaslError::InvalidIterationCount)
    );
    assert_eq!(
        start().respond(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=99999999"),
        Err(SaslError::TooManyIterations {
            iterations: 99_999_999,
            max: DEFAULT_MAX_ITERATIONS
        })
    );
    assert_eq!(
        start().respond(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=many"),
        Err(SaslError::InvalidIterationCount)
    );
    for bad in [
        &b"r=fyko+d2lbbFgONRv9qkxdawLx,i=4096"[..],
        b"s=QSXCR+Q6sek8bf92,i=1",
        b"r=fyko+d2lbbFgONRv9qkxdawLx,s=!!,i=1",
        b"\xff\xfe",
        b"m=ext,r=x,s=eA==,i=1",
        b"",
        b"garbage",
    ] {
        assert!(
            start().respond(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let mut a = start();
    assert_eq!(a.finish(Some(b"v=x")), Err(SaslError::UnexpectedSuccess));
}

/// A SCRAM-SHA-1 client past its first message, with RFC 5802 §5's nonce.
fn sha1_after_first() -> ClientAuth {
    let mut a = run(
        Mechanism::ScramSha1,
        &creds("user", "pencil"),
        &ChannelBinding::None,
        "fyko+d2lbbFgONRv9qkxdawL",
    );
    let _ = a.initial_response();
    a
}

const CNONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";

/// RFC 5802 §5.1 and §7: the server-first-message's grammar,
/// `[reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]`,
/// each rule checked on its own (every other part valid).
#[test]
fn server_first_follows_rfc5802s_grammar() {
    let respond = |server_first: String| sha1_after_first().respond(server_first.as_bytes());
    let malformed = |why| Err(SaslError::MalformedChallenge(why));
    let salt = "QSXCR+Q6sek8bf92";
    // §5.1 `s`: an empty salt is refused.
    assert_eq!(
        respond(format!("r={CNONCE}x,s=,i=4096")),
        malformed("empty salt")
    );
    assert_eq!(
        respond(format!("r={CNONCE}x,s=!!,i=4096")),
        malformed("salt is not base64")
    );
    // §5.1 `m`: a mandatory extension fails authentication, first (its
    // place in the grammar) or anywhere else.
    for m in [
        format!("m=ext,r={CNONCE}x,s={salt},i=4096"),
        format!("r={CNONCE}x,s={salt},i=4096,m=ext"),
    ] {
        assert_eq!(
            respond(m.clone()),
            Err(SaslError::MandatoryExtension("ext".into())),
            "{m}"
        );
    }
    // §5.1 `r`: the nonce starts with ours, adds to it, and is printable.
    for nonce in [
        "x",
        "fyko+d2lbbFgONRv9qkxdaw",
        CNONCE,
        "",
        "Xfyko+d2lbbFgONRv9qkxdawL",
    ] {
        assert_eq!(
            respond(format!("r={nonce},s={salt},i=4096")),
            Err(SaslError::NonceMismatch),
            "{nonce}"
        );
    }
    for nonce in [
        format!("{CNONCE}x y"),
        format!("{CNONCE}é"),
        format!("{CNONCE}\x7f"),
    ] {
        assert_eq!(
            respond(format!("r={nonce},s={salt},i=4096")),
            malformed("the nonce is not printable ASCII"),
            "{nonce:?}"
        );
    }
    // §7 `posit-number`: 0, a sign, a leading zero, no digits, not a number.
    for i in ["0", "+4096", "04096", "-1", "", "4096 ", "many", "0x10"] {
        assert_eq!(
            respond(format!("r={CNONCE}x,s={salt},i={i}")),
            Err(SaslError::InvalidIterationCount),
            "i={i}"
        );
    }
    assert_eq!(
        respond(format!("r={CNONCE}x,s={salt},i=99999999999")),
        Err(SaslError::TooManyIterations {
            iterations: u32::MAX,
            max: DEFAULT_MAX_ITERATIONS
        }),
        "beyond u32 is beyond any cap"
    );
    // §7: the order is r, s, i; anything else before them is refused.
    for (msg, why) in [
        (
            format!("s={salt},r={CNONCE}x,i=4096"),
            "the nonce must come first",
        ),
        (
            format!("x=1,r={CNONCE}x,s={salt},i=4096"),
            "the nonce must come first",
        ),
        (
            format!("r={CNONCE}x,i=4096,s={salt}"),
            "the salt must follow the nonce",
        ),
        (
            format!("r={CNONCE}x,s={salt}"),
            "the iteration count must follow the salt",
        ),
        (
            format!("r={CNONCE}x,s={salt},x=1,i=4096"),
            "the iteration count must follow the salt",
        ),
        (
            format!("r={CNONCE}x,s={salt},i=4096,r=other"),
            "a repeated attribute",
        ),
        (
            format!("r={CNONCE}x,s={salt},i=4096,xy=1"),
            "an attribute name is not one letter",
        ),
        (
            format!("r={CNONCE}x,s={salt},i=4096,novalue"),
            "attribute without '='",
        ),
        (String::new(), "attribute without '='"),
    ] {
        assert_eq!(respond(msg.clone()), malformed(why), "{msg}");
    }
    assert_eq!(
        respond("e=other-error".into()),
        Err(SaslError::ServerError("other-error".into()))
    );
}

/// RFC 5802 §5.1: extensions after the iteration count that the client
/// does not know are ignored, yet they are part of the AuthMessage both
/// sides sign; the same holds after the server's verifier.
#[test]
fn unknown_extensions_are_ignored_and_signed() {
    let mut a = run(
        Mechanism::ScramSha256,
        &creds("user", "pencil"),
        &ChannelBinding::None,
        "abc",
    );
    let first = String::from_utf8(a.initial_response().ok().flatten().unwrap_or_default())
        .unwrap_or_default();
    let server_first = format!(
        "r=abcdef,s={},i=4096,x=future,y=a=b",
        BASE64.encode(b"saltsalt")
    );
    let fin = String::from_utf8(a.respond(server_first.as_bytes()).unwrap_or_default())
        .unwrap_or_default();
    let (ok, server_final) = server_side(ScramHash::Sha256, "pencil", &first, &fin, &server_first);
    assert!(ok, "the proof covers the extensions: {fin}");
    let mut with_mext = a.clone();
    assert_eq!(
        with_mext.finish(Some(format!("{server_final},m=ext").as_bytes())),
        Err(SaslError::MandatoryExtension("ext".into()))
    );
    assert_eq!(
        a.finish(Some(format!("{server_final},z=later").as_bytes())),
        Ok(())
    );
}

/// RFC 5802 §7: `server-final-message = (server-error / verifier) ["," extensions]`.
#[test]
fn server_final_follows_rfc5802s_grammar() {
    let after_final = || {
        let mut a = sha1_after_first();
        let _ =
            a.respond(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
        a
    };
    let v = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";
    assert_eq!(
        after_final().finish(Some(b"e=invalid-proof")),
        Err(SaslError::ServerError("invalid-proof".into()))
    );
    for data in ["x=1", "", ",v=rmF9pqV8S7suAoZWja4dJRkFsKQ="] {
        assert!(
            after_final().finish(Some(data.as_bytes())).is_err(),
            "{data}"
        );
    }
    assert_eq!(
        after_final().finish(Some(b"x=1")),
        Err(SaslError::MissingServerSignature)
    );
    assert_eq!(
        after_final().finish(Some(b"m=1")),
        Err(SaslError::MandatoryExtension("1".into()))
    );
    assert_eq!(
        after_final().finish(Some(b"v=!!")),
        Err(SaslError::MalformedChallenge("signature is not base64"))
    );
    assert_eq!(
        after_final().finish(Some(format!("{v},n=ext").as_bytes())),
        Ok(())
    );
    assert_eq!(
        after_final().respond(format!("{v},m=ext").as_bytes()),
        Err(SaslError::MandatoryExtension("ext".into())),
        "the same when the final message comes as a challenge"
    );
}

#[test]
fn gs2_flags_and_authzid_escaping() {
    let cb = ChannelBinding::TlsServerEndPoint(vec![1, 2, 3]);
    let first = |mech, offered_plus, c: &Credentials| {
        let mut a = match ClientAuth::new(mech, c, &cb, "n0nce", offered_plus) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        String::from_utf8(a.initial_response().ok().flatten().unwrap_or_default())
            .unwrap_or_default()
    };
    let plain_creds = creds("u,s=er", "p");
    assert_eq!(
        first(Mechanism::ScramSha256, false, &plain_creds),
        "y,,n=u=2Cs=3Der,r=n0nce"
    );
    assert_eq!(
        first(Mechanism::ScramSha256, true, &plain_creds),
        "n,,n=u=2Cs=3Der,r=n0nce"
    );
    let with_authz = Credentials {
        authzid: Some("admin=1,x".into()),
        ..creds("u", "p")
    };
    assert_eq!(
        first(Mechanism::ScramSha1Plus, true, &with_authz),
        "p=tls-server-end-point,a=admin=3D1=2Cx,n=u,r=n0nce"
    );
    assert_eq!(
        ClientAuth::new(
            Mechanism::ScramSha1Plus,
            &creds("u", "p"),
            &ChannelBinding::None,
            "n",
            true
        )
        .err(),
        Some(SaslError::ChannelBindingRequired)
    );
    assert_eq!(
        ClientAuth::new(
            Mechanism::ScramSha1,
            &creds("u", "p"),
            &ChannelBinding::None,
            "a,b",
            false
        )
        .err(),
        Some(SaslError::InvalidNonce)
    );
}

#[test]
fn plain_refuses_nul_bytes_that_would_reframe_the_message() {
    for (c, what) in [
        (creds("juliet\0admin", "x"), "username"),
        (creds("juliet", "pw\0admin@example.com"), "password"),
        (
            Credentials {
                authzid: Some("a\0b".into()),
                ..creds("juliet", "x")
            },
            "authzid",
        ),
    ] {
        assert_eq!(
            ClientAuth::new(Mechanism::Plain, &c, &ChannelBinding::None, "", false).err(),
            Some(SaslError::InvalidCredentials(what))
        );
    }
}

#[test]
fn plain_anonymous_external() {
    let c = Credentials {
        authzid: Some("admin@example.com".into()),
        ..creds("juliet", "r0m30")
    };
    let mut a = run(Mechanism::Plain, &c, &ChannelBinding::None, "");
    assert_eq!(
        a.initial_response(),
        Ok(Some(b"admin@example.com\0juliet\0r0m30".to_vec()))
    );
    assert_eq!(a.finish(None), Ok(()));
    let mut a = run(
        Mechanism::Plain,
        &creds("juliet", "r0m30"),
        &ChannelBinding::None,
        "",
    );
    assert_eq!(a.initial_response(), Ok(Some(b"\0juliet\0r0m30".to_vec())));
    let mut a = run(
        Mechanism::Anonymous,
        &creds("", ""),
        &ChannelBinding::None,
        "",
    );
    assert_eq!(a.initial_response(), Ok(Some(Vec::new())));
    let mut a = run(
        Mechanism::External,
        &creds("", ""),
        &ChannelBinding::None,
        "",
    );
    assert_eq!(a.initial_response(), Ok(Some(Vec::new())));
    assert_eq!(a.respond(b"x"), Err(SaslError::UnexpectedChallenge));
}

#[test]
fn selection_prefers_strength_and_respects_policy() {
    let none = ChannelBinding::None;
    let all = ["SCRAM-SHA-1", "SCRAM-SHA-512", "PLAIN", "SCRAM-SHA-256"];
    assert_eq!(
        select_mechanism(&all, None, &none, None, true),
        Some(Mechanism::ScramSha512)
    );
    assert_eq!(
        select_mechanism(&["PLAIN"], None, &none, None, true),
        Some(Mechanism::Plain)
    );
    assert_eq!(
        select_mechanism(&["PLAIN", "ANONYMOUS"], None, &none, None, false),
        None
    );
    assert_eq!(
        select_mechanism(
            &["PLAIN", "ANONYMOUS"],
            Some(&[Mechanism::Anonymous]),
            &none,
            None,
            false
        ),
        Some(Mechanism::Anonymous)
    );
    let unique = ChannelBinding::TlsUnique(vec![1]);
    assert_eq!(
        select_mechanism(
            &["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
            None,
            &unique,
            None,
            true
        ),
        Some(Mechanism::ScramSha1Plus)
    );
    let exporter = ChannelBinding::TlsExporter(vec![1]);
    let listed = ["tls-server-end-point".to_owned()];
    assert_eq!(
        select_mechanism(
            &["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
            None,
            &exporter,
            Some(&listed),
            true
        ),
        Some(Mechanism::ScramSha1)
    );
    assert_eq!(
        select_mechanism(
            &["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
            Some(&[Mechanism::ScramSha1Plus]),
            &exporter,
            None,
            true
        ),
        Some(Mechanism::ScramSha1Plus)
    );
    // The server lists its types and ours is not among them: -PLUS is
    // skipped even when preferred explicitly, so the login can succeed.
    let explicit = [Mechanism::ScramSha1Plus, Mechanism::ScramSha1];
    assert_eq!(
        select_mechanism(
            &["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
            Some(&explicit),
            &exporter,
            Some(&listed),
            true
        ),
        Some(Mechanism::ScramSha1)
    );
    assert_eq!(
        select_mechanism(
            &["SCRAM-SHA-1-PLUS"],
            Some(&[Mechanism::ScramSha1Plus]),
            &exporter,
            Some(&listed),
            true
        ),
        None,
        "nothing usable left"
    );
    let both = ["tls-server-end-point".to_owned(), "tls-exporter".to_owned()];
    assert_eq!(
        select_mechanism(
            &["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
            Some(&explicit),
            &exporter,
            Some(&both),
            true
        ),
        Some(Mechanism::ScramSha1Plus)
    );
    assert_eq!(
        select_mechanism(
            &["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
            Some(&explicit),
            &none,
            None,
            true
        ),
        Some(Mechanism::ScramSha1),
        "no binding data, no -PLUS"
    );
    for m in Mechanism::ALL {
        assert_eq!(Mechanism::from_name(m.name()), Some(m));
    }
}

proptest! {
    #[test]
    fn arbitrary_server_messages_never_panic(challenge in proptest::collection::vec(any::<u8>(), 0..200), success in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100))) {
        for mech in Mechanism::ALL {
            let cb = ChannelBinding::TlsExporter(vec![0; 32]);
            let Ok(mut a) = ClientAuth::new(mech, &creds("user", "pencil"), &cb, "nonce", true) else { continue };
            let _ = a.initial_response();
            let _ = a.respond(&challenge);
            let _ = a.finish(success.as_deref());
        }
    }

    #[test]
    fn prefixed_nonces_run_to_completion(suffix in "[a-zA-Z0-9+/]{1,20}") {
        let mut a = run(Mechanism::ScramSha256, &creds("user", "pencil"), &ChannelBinding::None, "abc");
        let first = String::from_utf8(a.initial_response().ok().flatten().unwrap_or_default()).unwrap_or_default();
        let server_first = format!("r=abc{suffix},s={},i=16", BASE64.encode(b"saltsalt"));
        let fin = String::from_utf8(a.respond(server_first.as_bytes()).unwrap_or_default()).unwrap_or_default();
        let keys_first = first.clone();
        let bare = keys_first.splitn(3, ',').nth(2).unwrap_or_default();
        let without_proof = fin.rsplit_once(",p=").map_or("", |(w, _)| w);
        let auth_message = format!("{bare},{server_first},{without_proof}");
        let keys = ScramKeys::derive(ScramHash::Sha256, "pencil", b"saltsalt", 16);
        let sig = BASE64.encode(keys.server_signature(ScramHash::Sha256, auth_message.as_bytes()));
        prop_assert_eq!(a.finish(Some(format!("v={sig}").as_bytes())), Ok(()));
    }
}

/// The default iteration cap is 100,000 (see `DEFAULT_MAX_ITERATIONS`):
/// what servers send (4096, 10,000) and ten times more pass, one more is
/// refused before any PBKDF2 work, and the stream's configuration starts
/// from the same cap.
#[test]
fn the_default_iteration_cap_admits_what_servers_use_and_stops_there() {
    assert_eq!(DEFAULT_MAX_ITERATIONS, 100_000);
    assert_eq!(
        crate::ClientConfig::new("a@example.com", "pw", [0; 32]).max_scram_iterations,
        DEFAULT_MAX_ITERATIONS
    );
    let nonce = "fyko+d2lbbFgONRv9qkxdawL";
    let start = || {
        let mut a = run(
            Mechanism::ScramSha256,
            &creds("user", "pencil"),
            &ChannelBinding::None,
            nonce,
        );
        let _ = a.initial_response();
        a
    };
    for accepted in [4096, 10_000, 100_000] {
        let challenge = format!("r={nonce}srv,s=QSXCR+Q6sek8bf92,i={accepted}");
        assert!(start().respond(challenge.as_bytes()).is_ok(), "{accepted}");
    }
    let challenge = format!("r={nonce}srv,s=QSXCR+Q6sek8bf92,i=100001");
    assert_eq!(
        start().respond(challenge.as_bytes()),
        Err(SaslError::TooManyIterations {
            iterations: 100_001,
            max: 100_000
        })
    );
}
