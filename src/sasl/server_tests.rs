//! The receiving entity's side: [`ServerAuth`] against the published
//! vectors, against our own client, and against every rule it keeps.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;

use super::*;
use crate::negotiation::SaslCondition;

const SALT: &[u8] = b"0123456789abcdef";

fn exporter() -> ChannelBinding {
    ChannelBinding::TlsExporter(vec![0xe1; 32])
}
fn end_point() -> ChannelBinding {
    ChannelBinding::TlsServerEndPoint(vec![0x5e; 32])
}
fn unique() -> ChannelBinding {
    ChannelBinding::TlsUnique(vec![0x7b; 12])
}

/// TLS with all three binding types: every mechanism but ANONYMOUS offered.
fn tls_config() -> ServerSaslConfig {
    let mut c = ServerSaslConfig::new(*b"a secret for fake salts");
    c.tls = true;
    c.channel_bindings = vec![exporter(), end_point(), unique()];
    c
}

/// TLS without binding data: no -PLUS offered.
fn tls_config_unbound() -> ServerSaslConfig {
    let mut c = tls_config();
    c.channel_bindings.clear();
    c
}

/// "pencil" for every hash (derived once: PBKDF2 is the slow part).
fn pencil() -> &'static StoredCredentials {
    static STORED: OnceLock<StoredCredentials> = OnceLock::new();
    STORED.get_or_init(|| match StoredCredentials::derive("pencil", SALT, 4096) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    })
}

/// "pencil" for one hash, with the given salt and 4096 iterations.
fn scram(hash: ScramHash, salt: &[u8]) -> ScramCredentials {
    match ScramCredentials::derive(hash, "pencil", salt, 4096) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn pencil_for(hash: ScramHash) -> ScramCredentials {
    match pencil().get(hash) {
        Some(c) => c.clone(),
        None => panic!("{hash:?}"),
    }
}

fn server(config: &ServerSaslConfig, nonce: &str) -> ServerAuth {
    match ServerAuth::new(config, nonce) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn client(
    mech: Mechanism,
    user: &str,
    password: &str,
    authzid: Option<&str>,
    cb: &ChannelBinding,
    offered_plus: bool,
) -> ClientAuth {
    let creds = Credentials {
        username: user.into(),
        password: password.into(),
        authzid: authzid.map(Into::into),
    };
    match ClientAuth::new(mech, &creds, cb, "cl1ent-n0nce", offered_plus) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn initial(c: &mut ClientAuth) -> Vec<u8> {
    match c.initial_response() {
        Ok(Some(r)) => r,
        other => panic!("{other:?}"),
    }
}

fn challenge(step: ServerStep) -> Vec<u8> {
    match step {
        ServerStep::Challenge(c) => c,
        other => panic!("expected a challenge: {other:?}"),
    }
}

fn need(username: &str, authzid: Option<&str>) -> ServerStep {
    ServerStep::NeedCredentials {
        username: username.into(),
        authzid: authzid.map(Into::into),
    }
}

fn fails(reason: FailureReason) -> ServerStep {
    ServerStep::Failure(reason)
}

/// Our client against our server, all the way; the final step, and the
/// client's verdict on the server's signature.
fn exchange(
    config: &ServerSaslConfig,
    mut c: ClientAuth,
    stored: Option<&StoredCredentials>,
    allow_authzid: bool,
) -> ServerStep {
    let mut s = server(config, "s3rver-n0nce");
    let mut step = s.start(c.mechanism().name(), Some(&initial(&mut c)));
    loop {
        step = match step {
            ServerStep::NeedCredentials { .. } if allow_authzid => {
                s.provide_allowing_authzid(stored)
            }
            ServerStep::NeedCredentials { .. } => s.provide(stored),
            ServerStep::Challenge(ch) => match c.respond(&ch) {
                Ok(r) => s.respond(&r),
                Err(e) => panic!("the client refuses the challenge: {e}"),
            },
            ServerStep::Success {
                ref additional_data,
                ..
            } => {
                assert_eq!(
                    c.finish(additional_data.as_deref()),
                    Ok(()),
                    "the client verifies the server"
                );
                return step;
            }
            other => return other,
        }
    }
}

fn account(username: &str, authzid: Option<&str>) -> Identity {
    Identity::Account {
        username: username.into(),
        authzid: authzid.map(Into::into),
    }
}

fn succeeded(step: &ServerStep) -> Option<&Identity> {
    match step {
        ServerStep::Success { identity, .. } => Some(identity),
        _ => None,
    }
}

// ---- published vectors ----

/// RFC 5802 §5: with the RFC's salt, iteration count and server nonce the
/// server's messages are the RFC's, byte for byte.
#[test]
fn rfc5802_scram_sha1_vector_server_side() {
    let salt = BASE64.decode("QSXCR+Q6sek8bf92").unwrap_or_default();
    let stored = StoredCredentials {
        scram: vec![scram(ScramHash::Sha1, &salt)],
    };
    let mut s = server(&tls_config(), "3rfcNHYJY1ZVvWVs7j");
    assert_eq!(
        s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")),
        need("user", None)
    );
    assert_eq!(
        s.provide(Some(&stored)),
        ServerStep::Challenge(
            b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096".to_vec()
        )
    );
    assert_eq!(
        s.respond(
            b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        ),
        ServerStep::Success {
            identity: account("user", None),
            additional_data: Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=".to_vec()),
        }
    );
}

/// RFC 7677 §3, the same for SCRAM-SHA-256.
#[test]
fn rfc7677_scram_sha256_vector_server_side() {
    let salt = BASE64
        .decode("W22ZaJ0SNY7soEsUEjb6gQ==")
        .unwrap_or_default();
    let stored = StoredCredentials {
        scram: vec![scram(ScramHash::Sha256, &salt)],
    };
    let mut s = server(&tls_config(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    assert_eq!(
        s.start("SCRAM-SHA-256", Some(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")),
        need("user", None)
    );
    assert_eq!(
        s.provide(Some(&stored)),
        ServerStep::Challenge(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
                .to_vec()
        )
    );
    assert_eq!(
        s.respond(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
        ServerStep::Success {
            identity: account("user", None),
            additional_data: Some(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec()),
        }
    );
}

// ---- our client against our server ----

#[test]
fn every_scram_mechanism_and_binding_type_end_to_end() {
    let config = tls_config();
    for mech in Mechanism::ALL
        .into_iter()
        .filter(|m| m.scram_hash().is_some())
    {
        let bindings: Vec<ChannelBinding> = if mech.uses_channel_binding() {
            vec![exporter(), end_point(), unique()]
        } else {
            // Without -PLUS the client binds nothing ('n': it saw -PLUS
            // offered, or it has no data).
            vec![ChannelBinding::None, exporter()]
        };
        for cb in bindings {
            let c = client(mech, "user", "pencil", None, &cb, true);
            let step = exchange(&config, c, Some(pencil()), false);
            assert_eq!(
                succeeded(&step),
                Some(&account("user", None)),
                "{mech:?} {cb:?}: {step:?}"
            );
        }
    }
}

/// A client that can bind but saw no -PLUS uses 'y' (RFC 5802 §6): fine
/// when we did not offer -PLUS.
#[test]
fn flag_y_is_accepted_when_no_plus_was_offered() {
    let c = client(
        Mechanism::ScramSha256,
        "user",
        "pencil",
        None,
        &exporter(),
        false,
    );
    let step = exchange(&tls_config_unbound(), c, Some(pencil()), false);
    assert_eq!(succeeded(&step), Some(&account("user", None)), "{step:?}");
}

#[test]
fn plain_end_to_end_and_its_failures() {
    let config = tls_config();
    let run = |password: &str, stored: Option<&StoredCredentials>| {
        let c = client(
            Mechanism::Plain,
            "user",
            password,
            None,
            &ChannelBinding::None,
            false,
        );
        exchange(&config, c, stored, false)
    };
    assert_eq!(
        run("pencil", Some(pencil())),
        ServerStep::Success {
            identity: account("user", None),
            additional_data: None
        }
    );
    assert_eq!(
        run("pen", Some(pencil())),
        fails(FailureReason::InvalidCredentials)
    );
    assert_eq!(
        run("pencil", None),
        fails(FailureReason::InvalidCredentials)
    );
    // PLAIN checks against whichever hash is kept.
    for hash in ScramHash::ALL {
        let only = StoredCredentials {
            scram: vec![pencil_for(hash)],
        };
        assert!(succeeded(&run("pencil", Some(&only))).is_some(), "{hash:?}");
        assert_eq!(
            run("pencil!", Some(&only)),
            fails(FailureReason::InvalidCredentials)
        );
    }
}

#[test]
fn anonymous_end_to_end_when_enabled() {
    let mut config = tls_config();
    let mut s = server(&config, "n");
    assert_eq!(
        s.start("ANONYMOUS", Some(b"")),
        fails(FailureReason::InvalidMechanism),
        "not offered by default"
    );
    config.mechanisms.push(Mechanism::Anonymous);
    let c = client(
        Mechanism::Anonymous,
        "",
        "",
        None,
        &ChannelBinding::None,
        false,
    );
    assert_eq!(
        exchange(&config, c, None, false),
        ServerStep::Success {
            identity: Identity::Anonymous { trace: None },
            additional_data: None
        }
    );
    let mut s = server(&config, "n");
    assert_eq!(
        s.start("ANONYMOUS", Some("sirhc@example.com".as_bytes())),
        ServerStep::Success {
            identity: Identity::Anonymous {
                trace: Some("sirhc@example.com".into())
            },
            additional_data: None
        }
    );
    let mut s = server(&config, "n");
    assert_eq!(
        s.start("ANONYMOUS", Some(&[b'x'; 256])),
        fails(FailureReason::Malformed("the trace is over 255 characters"))
    );
    let mut s = server(&config, "n");
    assert_eq!(
        s.start("ANONYMOUS", Some(b"\xff")),
        fails(FailureReason::Malformed("the trace is not UTF-8"))
    );
}

/// RFC 6120 §6.4.2: `<auth/>` without an initial response gets an empty
/// challenge; the next response is the initial one.
#[test]
fn no_initial_response_gets_an_empty_challenge() {
    for mech in [Mechanism::ScramSha512, Mechanism::Plain] {
        let mut c = client(mech, "user", "pencil", None, &ChannelBinding::None, false);
        let mut s = server(&tls_config(), "s");
        assert_eq!(
            s.start(mech.name(), None),
            ServerStep::Challenge(Vec::new())
        );
        assert_eq!(s.respond(&initial(&mut c)), need("user", None));
        let step = s.provide(Some(pencil()));
        let step = match step {
            ServerStep::Challenge(ch) => s.respond(&c.respond(&ch).unwrap_or_default()),
            other => other,
        };
        assert_eq!(succeeded(&step), Some(&account("user", None)), "{mech:?}");
    }
}

// ---- credentials ----

#[test]
fn wrong_password_and_tampered_proof_are_not_authorized() {
    for mech in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha512,
    ] {
        let c = client(mech, "user", "pencil2", None, &exporter(), true);
        assert_eq!(
            exchange(&tls_config(), c, Some(pencil()), false),
            fails(FailureReason::InvalidCredentials),
            "{mech:?}"
        );
    }
    // The right client-final with one bit of the proof flipped.
    let mut c = client(
        Mechanism::ScramSha256,
        "user",
        "pencil",
        None,
        &ChannelBinding::None,
        true,
    );
    let mut s = server(&tls_config(), "s");
    s.start("SCRAM-SHA-256", Some(&initial(&mut c)));
    let fin = c
        .respond(&challenge(s.provide(Some(pencil()))))
        .unwrap_or_default();
    let text = String::from_utf8(fin).unwrap_or_default();
    let (head, proof) = text.rsplit_once(",p=").unwrap_or_default();
    let mut proof = BASE64.decode(proof).unwrap_or_default();
    proof[0] ^= 1;
    let mut s2 = s.clone();
    assert_eq!(
        s2.respond(format!("{head},p={}", BASE64.encode(&proof)).as_bytes()),
        fails(FailureReason::InvalidCredentials)
    );
    proof[0] ^= 1;
    assert!(
        succeeded(&s.respond(format!("{head},p={}", BASE64.encode(&proof)).as_bytes())).is_some()
    );
}

/// No user enumeration: for an unknown account the server-first has the
/// shape of a real one (a salt of [`SALT_LEN`] bytes, the configured
/// iteration count), the same salt every time for that name, a salt only
/// the secret's holder can compute, and the exchange fails where and as a
/// wrong password does.
#[test]
fn an_unknown_account_looks_like_a_wrong_password() {
    let server_first = |config: &ServerSaslConfig, user: &str| {
        let mut s = server(config, "s");
        let first = format!("n,,n={user},r=abc");
        assert_eq!(
            s.start("SCRAM-SHA-256", Some(first.as_bytes())),
            need(user, None)
        );
        String::from_utf8(challenge(s.provide(None))).unwrap_or_default()
    };
    let config = tls_config();
    let a = server_first(&config, "nobody");
    let parts: Vec<&str> = a.split(',').collect();
    assert_eq!(parts.len(), 3, "{a}");
    assert_eq!(parts[0], "r=abcs");
    assert_eq!(
        BASE64
            .decode(parts[1].trim_start_matches("s="))
            .map(|s| s.len()),
        Ok(SALT_LEN)
    );
    assert_eq!(parts[2], "i=4096");
    assert_eq!(a, server_first(&config, "nobody"), "deterministic");
    assert_ne!(a, server_first(&config, "nobody2"), "per name");
    let mut other_secret = ServerSaslConfig::new(*b"another secret");
    other_secret.tls = true;
    assert_ne!(
        a,
        server_first(&other_secret, "nobody"),
        "keyed by the secret"
    );
    let mut slow = tls_config();
    slow.iterations = 10_000;
    assert!(server_first(&slow, "nobody").ends_with(",i=10000"));
    // The same failure as a wrong password, at the same step.
    for stored in [None, Some(pencil())] {
        let c = client(
            Mechanism::ScramSha256,
            "user",
            "wrong",
            None,
            &ChannelBinding::None,
            true,
        );
        assert_eq!(
            exchange(&config, c, stored, false),
            fails(FailureReason::InvalidCredentials)
        );
    }
    // Even when the client "guesses" the fake keys' proof: it never passes.
    let c = client(
        Mechanism::ScramSha1,
        "user",
        "pencil",
        None,
        &ChannelBinding::None,
        true,
    );
    assert_eq!(
        exchange(&config, c, None, false),
        fails(FailureReason::InvalidCredentials)
    );
}

/// An account without keys for the mechanism's hash, or with unusable
/// ones, is treated as unknown (the fake answer), never as a crash.
#[test]
fn missing_or_unusable_keys_fail_like_an_unknown_account() {
    let only_sha1 = StoredCredentials {
        scram: vec![pencil_for(ScramHash::Sha1)],
    };
    let c = client(
        Mechanism::ScramSha512,
        "user",
        "pencil",
        None,
        &ChannelBinding::None,
        true,
    );
    assert_eq!(
        exchange(&tls_config(), c, Some(&only_sha1), false),
        fails(FailureReason::InvalidCredentials)
    );
    let mut broken = pencil_for(ScramHash::Sha256);
    broken.stored_key.pop();
    let mut zero = pencil_for(ScramHash::Sha256);
    zero.iterations = 0;
    for bad in [broken, zero] {
        let stored = StoredCredentials { scram: vec![bad] };
        for mech in [Mechanism::ScramSha256, Mechanism::Plain] {
            let c = client(mech, "user", "pencil", None, &ChannelBinding::None, true);
            assert_eq!(
                exchange(&tls_config(), c, Some(&stored), false),
                fails(FailureReason::InvalidCredentials),
                "{mech:?}"
            );
        }
    }
}

#[test]
fn provisioning_refuses_what_cannot_work() {
    assert_eq!(
        ScramCredentials::derive(ScramHash::Sha1, "p", SALT, 0),
        Err(SaslError::InvalidIterationCount)
    );
    assert_eq!(
        ScramCredentials::derive(ScramHash::Sha1, "p", b"", 1),
        Err(SaslError::EmptySalt)
    );
    assert_eq!(
        StoredCredentials::derive("bell\u{7}", SALT, 1),
        Err(SaslError::SaslPrep("password"))
    );
    // SASLprep maps before deriving, as the client does: a soft hyphen is
    // nothing, a no-break space a space.
    let a = ScramCredentials::derive(ScramHash::Sha256, "pen\u{AD}cil", SALT, 2);
    let b = ScramCredentials::derive(ScramHash::Sha256, "pencil", SALT, 2);
    assert_eq!(a, b);
}

// ---- the nonce ----

/// A client-final is good for one exchange: replayed into another (a
/// fresh server nonce), it fails on the nonce; a client-final whose nonce
/// is not the combined one fails too.
#[test]
fn replayed_or_wrong_nonces_fail() {
    let config = tls_config();
    let mut c = client(
        Mechanism::ScramSha256,
        "user",
        "pencil",
        None,
        &ChannelBinding::None,
        true,
    );
    let first = initial(&mut c);
    let mut a = server(&config, "first-exchange");
    a.start("SCRAM-SHA-256", Some(&first));
    let fin = c
        .respond(&challenge(a.provide(Some(pencil()))))
        .unwrap_or_default();
    assert!(succeeded(&a.clone().respond(&fin)).is_some());
    let mut b = server(&config, "second-exchange");
    b.start("SCRAM-SHA-256", Some(&first));
    let _ = b.provide(Some(pencil()));
    assert_eq!(b.respond(&fin), fails(FailureReason::NonceMismatch));
    // After success, the exchange takes nothing more.
    assert!(succeeded(&a.respond(&fin)).is_some());
    assert_eq!(a.respond(&fin), fails(FailureReason::OutOfOrder));
    // Only the client's part, or an extended one: refused.
    let text = String::from_utf8(fin).unwrap_or_default();
    for nonce in [
        "cl1ent-n0nce",
        "cl1ent-n0ncefirst-exchangeX",
        "first-exchange",
    ] {
        let mut s = server(&config, "first-exchange");
        s.start("SCRAM-SHA-256", Some(&first));
        let _ = s.provide(Some(pencil()));
        let forged = text.replace("r=cl1ent-n0ncefirst-exchange", &format!("r={nonce}"));
        assert_eq!(
            s.respond(forged.as_bytes()),
            fails(FailureReason::NonceMismatch),
            "{nonce}"
        );
    }
}

#[test]
fn the_server_nonce_must_be_printable_without_commas() {
    for bad in ["", "a,b", "a b", "é"] {
        assert_eq!(
            ServerAuth::new(&tls_config(), bad).err(),
            Some(SaslError::InvalidNonce),
            "{bad:?}"
        );
    }
}

// ---- GS2 header and channel binding (RFC 5802 §6, §7) ----

fn start_with(config: &ServerSaslConfig, mech: &str, first: &str) -> ServerStep {
    server(config, "s").start(mech, Some(first.as_bytes()))
}

#[test]
fn flag_y_while_plus_was_offered_is_a_downgrade() {
    assert_eq!(
        start_with(&tls_config(), "SCRAM-SHA-256", "y,,n=user,r=abc"),
        fails(FailureReason::Downgrade)
    );
    assert_eq!(
        FailureReason::Downgrade.condition(),
        SaslCondition::NotAuthorized
    );
    // Our client does exactly that when the -PLUS forms were stripped.
    let c = client(
        Mechanism::ScramSha256,
        "user",
        "pencil",
        None,
        &exporter(),
        false,
    );
    assert_eq!(
        exchange(&tls_config(), c, Some(pencil()), false),
        fails(FailureReason::Downgrade)
    );
    assert_eq!(
        start_with(&tls_config_unbound(), "SCRAM-SHA-256", "y,,n=user,r=abc"),
        need("user", None)
    );
}

#[test]
fn the_flag_must_fit_the_mechanism_and_our_bindings() {
    let config = tls_config();
    for (mech, first, reason) in [
        (
            "SCRAM-SHA-1-PLUS",
            "n,,n=user,r=abc",
            FailureReason::Malformed("a -PLUS mechanism without 'p='"),
        ),
        (
            "SCRAM-SHA-1-PLUS",
            "y,,n=user,r=abc",
            FailureReason::Malformed("a -PLUS mechanism without 'p='"),
        ),
        (
            "SCRAM-SHA-1",
            "p=tls-exporter,,n=user,r=abc",
            FailureReason::Malformed("'p=' with a mechanism without channel binding"),
        ),
        (
            "SCRAM-SHA-1-PLUS",
            "p=tls-something,,n=user,r=abc",
            FailureReason::UnsupportedChannelBinding,
        ),
        (
            "SCRAM-SHA-1-PLUS",
            "p=,,n=user,r=abc",
            FailureReason::Malformed("invalid channel-binding name"),
        ),
        (
            "SCRAM-SHA-1-PLUS",
            "p=tls_exporter,,n=user,r=abc",
            FailureReason::Malformed("invalid channel-binding name"),
        ),
        (
            "SCRAM-SHA-1",
            "x,,n=user,r=abc",
            FailureReason::Malformed("unknown GS2 channel-binding flag"),
        ),
    ] {
        assert_eq!(
            start_with(&config, mech, first),
            fails(reason),
            "{mech} {first}"
        );
    }
    // A type we have data for only when we have it.
    let mut only_exporter = tls_config();
    only_exporter.channel_bindings = vec![exporter()];
    assert_eq!(
        start_with(
            &only_exporter,
            "SCRAM-SHA-1-PLUS",
            "p=tls-unique,,n=user,r=abc"
        ),
        fails(FailureReason::UnsupportedChannelBinding)
    );
    for t in ["tls-exporter", "tls-server-end-point", "tls-unique"] {
        assert_eq!(
            start_with(&config, "SCRAM-SHA-1-PLUS", &format!("p={t},,n=user,r=abc")),
            need("user", None),
            "{t}"
        );
    }
}

/// `c=` must be our GS2 header and, for -PLUS, our binding data: a client
/// on another TLS connection (a man in the middle) fails.
#[test]
fn channel_binding_data_must_match() {
    for (theirs, mech) in [
        (
            ChannelBinding::TlsExporter(vec![0xff; 32]),
            Mechanism::ScramSha256Plus,
        ),
        (
            ChannelBinding::TlsServerEndPoint(vec![1; 32]),
            Mechanism::ScramSha512Plus,
        ),
        (
            ChannelBinding::TlsUnique(vec![2; 12]),
            Mechanism::ScramSha1Plus,
        ),
    ] {
        let c = client(mech, "user", "pencil", None, &theirs, true);
        assert_eq!(
            exchange(&tls_config(), c, Some(pencil()), false),
            fails(FailureReason::ChannelBindingMismatch),
            "{theirs:?}"
        );
    }
    // Without -PLUS, `c=` is the GS2 header alone: `biws` for `n,,`.
    let mut s = server(&tls_config(), "s");
    s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=abc"));
    let _ = s.provide(Some(pencil()));
    let c_of_y = BASE64.encode(b"y,,");
    assert_eq!(
        s.respond(format!("c={c_of_y},r=abcs,p={}", BASE64.encode([0; 20])).as_bytes()),
        fails(FailureReason::ChannelBindingMismatch)
    );
}

// ---- client-first grammar ----

#[test]
fn client_first_follows_rfc5802s_grammar() {
    let config = tls_config();
    let m = FailureReason::Malformed;
    for (first, want) in [
        ("", fails(m("no GS2 header"))),
        ("n", fails(m("no GS2 header"))),
        ("n,", fails(m("no GS2 header"))),
        ("n,,", fails(m("the username must come first"))),
        ("n,,r=abc,n=user", fails(m("the username must come first"))),
        ("n,,n=user", fails(m("the nonce must follow the username"))),
        (
            "n,,n=user,x=1,r=abc",
            fails(m("the nonce must follow the username")),
        ),
        ("n,,n=user,r=abc,r=def", fails(m("a repeated attribute"))),
        ("n,,n=user,r=abc,n=x", fails(m("a repeated attribute"))),
        (
            "n,,n=user,r=abc,xy=1",
            fails(m("an attribute is not 'x=value'")),
        ),
        (
            "n,,n=user,r=abc,junk",
            fails(m("an attribute is not 'x=value'")),
        ),
        ("n,,n=user,r=", fails(m("the nonce is not printable ASCII"))),
        (
            "n,,n=user,r=a b",
            fails(m("the nonce is not printable ASCII")),
        ),
        (
            "n,,n=user,r=abcé",
            fails(m("the nonce is not printable ASCII")),
        ),
        ("n,,n=,r=abc", fails(m("invalid saslname in 'n='"))),
        ("n,,n=a=2Xb,r=abc", fails(m("invalid saslname in 'n='"))),
        ("n,,n=a=,r=abc", fails(m("invalid saslname in 'n='"))),
        (
            "n,,n=bell\u{7},r=abc",
            fails(m("SASLprep refuses the username")),
        ),
        (
            "n,,n=\u{AD},r=abc",
            fails(m("SASLprep refuses the username")),
        ),
        (
            "n,x=1,n=user,r=abc",
            fails(m("the GS2 authzid is not 'a='")),
        ),
        ("n,a=,n=user,r=abc", fails(m("invalid saslname in 'a='"))),
        ("n,a=x=y,n=user,r=abc", fails(m("invalid saslname in 'a='"))),
        // §5.1 `m`: a mandatory extension fails, wherever it is.
        (
            "n,,m=ext,n=user,r=abc",
            fails(FailureReason::MandatoryExtension),
        ),
        (
            "n,,n=user,r=abc,m=ext",
            fails(FailureReason::MandatoryExtension),
        ),
        // Unknown optional extensions are ignored.
        ("n,,n=user,r=abc,x=future", need("user", None)),
        // saslname escapes and SASLprep (soft hyphen maps to nothing).
        ("n,,n=u=2Cs=3Der,r=abc", need("u,s=er", None)),
        ("n,,n=I\u{AD}X,r=abc", need("IX", None)),
        ("n,a=admin=3D1=2Cx,n=u,r=abc", need("u", Some("admin=1,x"))),
    ] {
        assert_eq!(
            start_with(&config, "SCRAM-SHA-256", first),
            want,
            "{first:?}"
        );
    }
    assert_eq!(
        server(&config, "s").start("SCRAM-SHA-256", Some(b"n,,n=us\xffer,r=abc")),
        fails(m("not UTF-8"))
    );
    assert_eq!(
        FailureReason::MandatoryExtension.condition(),
        SaslCondition::MalformedRequest
    );
}

/// Our client's escaping and the server's unescaping agree, and the
/// SASLprep'd name reaches the lookup.
#[test]
fn usernames_round_trip_through_escaping_and_saslprep() {
    for (sent, looked_up) in [("u,s=er", "u,s=er"), ("I\u{AD}X", "IX"), ("ü=1", "ü=1")] {
        let mut c = client(
            Mechanism::ScramSha1,
            sent,
            "pencil",
            None,
            &ChannelBinding::None,
            true,
        );
        let mut s = server(&tls_config(), "s");
        assert_eq!(
            s.start("SCRAM-SHA-1", Some(&initial(&mut c))),
            need(looked_up, None),
            "{sent:?}"
        );
        let mut c = client(
            Mechanism::Plain,
            sent,
            "pencil",
            None,
            &ChannelBinding::None,
            true,
        );
        let mut s = server(&tls_config(), "s");
        assert_eq!(
            s.start("PLAIN", Some(&initial(&mut c))),
            need(looked_up, None)
        );
    }
}

// ---- client-final grammar ----

#[test]
fn client_final_follows_rfc5802s_grammar() {
    let config = tls_config();
    let ready = || {
        let mut s = server(&config, "s");
        s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=abc"));
        let _ = s.provide(Some(pencil()));
        s
    };
    let p = BASE64.encode([0u8; 20]);
    let m = FailureReason::Malformed;
    for (fin, reason) in [
        (String::new(), m("an attribute is not 'x=value'")),
        ("c=biws,r=abcs".into(), m("expected c=, r=, extensions, p=")),
        (
            format!("r=abcs,c=biws,p={p}"),
            m("expected c=, r=, extensions, p="),
        ),
        (
            format!("c=biws,r=abcs,p={p},x=1"),
            m("expected c=, r=, extensions, p="),
        ),
        (
            format!("c=biws,p={p}"),
            m("expected c=, r=, extensions, p="),
        ),
        (
            format!("c=biws,r=abcs,r=abcs,p={p}"),
            m("a repeated attribute"),
        ),
        (
            format!("c=biws,r=abcs,m=1,p={p}"),
            FailureReason::MandatoryExtension,
        ),
        ("c=biws,r=abcs,p".into(), m("an attribute is not 'x=value'")),
        (format!("c=!!,r=abcs,p={p}"), m("c= is not base64")),
        ("c=biws,r=abcs,p=!!".into(), m("p= is not base64")),
        (
            format!("c=biws,r=abcs,p={}", BASE64.encode([0u8; 19])),
            m("the proof has the wrong length"),
        ),
        (
            format!("c=biws,r=abcs,p={p}"),
            FailureReason::InvalidCredentials,
        ),
        (
            format!("c=biws,r=abcs,x=ext,p={p}"),
            FailureReason::InvalidCredentials,
        ),
    ] {
        assert_eq!(ready().respond(fin.as_bytes()), fails(reason), "{fin:?}");
    }
    assert_eq!(
        ready().respond(b"c=biws,r=abcs,p=\xff"),
        fails(m("not UTF-8"))
    );
}

/// Extensions in the client-final are ignored but signed: the proof over
/// the message as sent verifies.
#[test]
fn client_final_extensions_are_part_of_the_auth_message() {
    let salt = BASE64.decode("QSXCR+Q6sek8bf92").unwrap_or_default();
    let keys = ScramKeys::derive(ScramHash::Sha1, "pencil", &salt, 4096);
    let stored = StoredCredentials {
        scram: vec![scram(ScramHash::Sha1, &salt)],
    };
    let mut s = server(&tls_config(), "3rfcNHYJY1ZVvWVs7j");
    s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
    let first = String::from_utf8(challenge(s.provide(Some(&stored)))).unwrap_or_default();
    let without = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,x=future";
    let auth = format!("n=user,r=fyko+d2lbbFgONRv9qkxdawL,{first},{without}");
    let proof = keys.client_proof(ScramHash::Sha1, auth.as_bytes());
    let mut other = s.clone();
    assert!(
        succeeded(&s.respond(format!("{without},p={}", BASE64.encode(&proof)).as_bytes()))
            .is_some()
    );
    // The same proof without the extension does not verify.
    let stripped = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
    assert_eq!(
        other.respond(format!("{stripped},p={}", BASE64.encode(&proof)).as_bytes()),
        fails(FailureReason::InvalidCredentials)
    );
}

// ---- authorization identity ----

#[test]
fn an_authzid_other_than_the_user_needs_the_callers_consent() {
    let mut config = tls_config();
    for mech in [Mechanism::ScramSha256Plus, Mechanism::Plain] {
        let run = |config: &ServerSaslConfig, authzid: &str, password: &str, allow: bool| {
            let c = client(mech, "user", password, Some(authzid), &exporter(), true);
            exchange(config, c, Some(pencil()), allow)
        };
        assert_eq!(
            run(&config, "admin@example.com", "pencil", false),
            fails(FailureReason::AuthzidRefused),
            "{mech:?}"
        );
        assert_eq!(
            FailureReason::AuthzidRefused.condition(),
            SaslCondition::InvalidAuthzid
        );
        // The credentials are checked first: a wrong password says nothing
        // about the authzid.
        assert_eq!(
            run(&config, "admin@example.com", "nope", false),
            fails(FailureReason::InvalidCredentials)
        );
        assert_eq!(
            succeeded(&run(&config, "admin@example.com", "pencil", true)),
            Some(&account("user", Some("admin@example.com")))
        );
        // The user itself, as a name or (with the domain known) a bare JID.
        assert!(succeeded(&run(&config, "user", "pencil", false)).is_some());
        assert_eq!(
            run(&config, "user@example.com", "pencil", false),
            fails(FailureReason::AuthzidRefused)
        );
        config.domain = Some("example.com".into());
        assert_eq!(
            succeeded(&run(&config, "user@example.com", "pencil", false)),
            Some(&account("user", Some("user@example.com")))
        );
        assert_eq!(
            run(&config, "user@example.org", "pencil", false),
            fails(FailureReason::AuthzidRefused)
        );
        assert_eq!(
            run(&config, "user@example.com/res", "pencil", false),
            fails(FailureReason::AuthzidRefused)
        );
        config.domain = None;
    }
}

// ---- PLAIN grammar ----

#[test]
fn plain_follows_rfc4616s_grammar() {
    let config = tls_config();
    let start = |data: &[u8]| server(&config, "s").start("PLAIN", Some(data));
    let m = FailureReason::Malformed;
    for (data, want) in [
        (&b""[..], fails(m("not three NUL-separated fields"))),
        (b"user\0pencil", fails(m("not three NUL-separated fields"))),
        (
            b"\0user\0pen\0cil",
            fails(m("not three NUL-separated fields")),
        ),
        (b"\0\0pencil", fails(m("empty username or password"))),
        (b"\0user\0", fails(m("empty username or password"))),
        (b"\0us\xffer\0pencil", fails(m("not UTF-8"))),
        (
            b"\0bell\x07\0pencil",
            fails(m("SASLprep refuses the input")),
        ),
        (b"\0user\0bell\x07", fails(m("SASLprep refuses the input"))),
        ("\0\u{AD}\0pencil".as_bytes(), fails(m("empty username"))),
        (b"\0user\0pencil", need("user", None)),
        (
            b"user@example.com\0user\0pencil",
            need("user", Some("user@example.com")),
        ),
    ] {
        assert_eq!(start(data), want, "{:?}", String::from_utf8_lossy(data));
    }
}

// ---- what is offered, and the mechanism chosen ----

#[test]
fn what_is_offered_depends_on_tls_and_binding_data() {
    use Mechanism::*;
    let mut c = ServerSaslConfig::new(*b"k");
    assert_eq!(c.offered(), [ScramSha512, ScramSha256, ScramSha1]);
    assert!(c.channel_binding_element().is_none());
    c.allow_plain_without_tls = true;
    assert_eq!(c.offered(), [ScramSha512, ScramSha256, ScramSha1, Plain]);
    c.allow_plain_without_tls = false;
    // Binding data without TLS is ignored.
    c.channel_bindings = vec![exporter()];
    assert_eq!(c.offered().len(), 3);
    assert!(c.channel_binding_types().is_empty());
    c.tls = true;
    assert_eq!(
        c.offered(),
        [
            ScramSha512Plus,
            ScramSha256Plus,
            ScramSha1Plus,
            ScramSha512,
            ScramSha256,
            ScramSha1,
            Plain
        ]
    );
    c.channel_bindings = vec![ChannelBinding::None];
    assert_eq!(c.offered().len(), 4, "ChannelBinding::None is no data");
    // The order is the configuration's; duplicates and EXTERNAL dropped.
    c.mechanisms = vec![Plain, ScramSha1, Plain, External, Anonymous];
    assert_eq!(c.offered(), [Plain, ScramSha1, Anonymous]);
    let names: Vec<String> = c
        .mechanisms_element()
        .children()
        .map(|m| m.text().into_owned())
        .collect();
    assert_eq!(names, ["PLAIN", "SCRAM-SHA-1", "ANONYMOUS"]);
    // XEP-0440: each type once, only with a -PLUS form offered.
    let mut c = tls_config();
    c.channel_bindings.push(exporter());
    let el = c.channel_binding_element();
    let types: Vec<String> = el
        .iter()
        .flat_map(|e| e.children())
        .filter(|e| e.is("channel-binding", crate::xml::ns::SASL_CB))
        .filter_map(|e| e.attr("type").map(str::to_owned))
        .collect();
    assert_eq!(
        types,
        ["tls-exporter", "tls-server-end-point", "tls-unique"]
    );
    c.mechanisms.retain(|m| !m.uses_channel_binding());
    assert!(c.channel_binding_element().is_none());
}

#[test]
fn the_chosen_mechanism_must_be_offered() {
    let mut plaintext = ServerSaslConfig::new(*b"k");
    let start = |config: &ServerSaslConfig, mech: &str| {
        server(config, "s").start(mech, Some(b"\0user\0pencil"))
    };
    assert_eq!(
        start(&plaintext, "PLAIN"),
        fails(FailureReason::EncryptionRequired)
    );
    assert_eq!(
        FailureReason::EncryptionRequired.condition(),
        SaslCondition::EncryptionRequired
    );
    plaintext.mechanisms.retain(|m| *m != Mechanism::Plain);
    assert_eq!(
        start(&plaintext, "PLAIN"),
        fails(FailureReason::InvalidMechanism),
        "not configured at all"
    );
    for name in [
        "SCRAM-SHA-1-PLUS",
        "EXTERNAL",
        "ANONYMOUS",
        "DIGEST-MD5",
        "scram-sha-1",
        "",
    ] {
        assert_eq!(
            start(&tls_config_unbound(), name),
            fails(FailureReason::InvalidMechanism),
            "{name}"
        );
    }
    assert_eq!(
        FailureReason::InvalidMechanism.condition(),
        SaslCondition::InvalidMechanism
    );
}

// ---- the exchange's own order ----

#[test]
fn calls_out_of_order_and_abort() {
    let config = tls_config();
    let mut s = server(&config, "s");
    assert_eq!(s.respond(b"x"), fails(FailureReason::OutOfOrder));
    let mut s = server(&config, "s");
    assert_eq!(s.provide(Some(pencil())), fails(FailureReason::OutOfOrder));
    let mut s = server(&config, "s");
    s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=abc"));
    assert_eq!(s.mechanism(), Some(Mechanism::ScramSha1));
    assert_eq!(
        s.respond(b"c=biws,r=abcs,p=AAAA"),
        fails(FailureReason::OutOfOrder),
        "a response while the lookup is pending"
    );
    let mut s = server(&config, "s");
    s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=abc"));
    assert!(matches!(s.provide(None), ServerStep::Challenge(_)));
    assert_eq!(s.provide(None), fails(FailureReason::OutOfOrder));
    let mut s = server(&config, "s");
    s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=abc"));
    assert_eq!(
        s.start("PLAIN", Some(b"\0u\0p")),
        fails(FailureReason::OutOfOrder)
    );
    let mut s = server(&config, "s");
    s.start("SCRAM-SHA-1", Some(b"n,,n=user,r=abc"));
    assert_eq!(s.abort(), fails(FailureReason::Aborted));
    assert_eq!(FailureReason::Aborted.condition(), SaslCondition::Aborted);
    assert_eq!(s.provide(Some(pencil())), fails(FailureReason::OutOfOrder));
}

#[test]
fn payloads_decode_as_rfc6120_says() {
    assert_eq!(decode_payload(""), Ok(None));
    assert_eq!(decode_payload("  \n"), Ok(None));
    assert_eq!(decode_payload("="), Ok(Some(Vec::new())));
    assert_eq!(decode_payload("biws"), Ok(Some(b"n,,".to_vec())));
    for bad in ["b", "biws=", "bi ws", "!!!!", "==", "biw\u{e9}"] {
        assert_eq!(
            decode_payload(bad),
            Err(FailureReason::IncorrectEncoding),
            "{bad}"
        );
    }
    assert_eq!(
        FailureReason::IncorrectEncoding.condition(),
        SaslCondition::IncorrectEncoding
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let config = ServerSaslConfig::new(*b"the-fake-salt-secret");
    assert!(!format!("{config:?}").contains("the-fake-salt-secret"));
    let mut s = server(&tls_config(), "s");
    s.start("PLAIN", Some(b"\0user\0hunter2"));
    assert!(!format!("{s:?}").contains("hunter2"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the client sends, in whatever phase, the machine answers
    /// with a step and never panics.
    #[test]
    fn random_client_messages_never_panic(
        first in proptest::collection::vec(any::<u8>(), 0..120),
        second in proptest::collection::vec(any::<u8>(), 0..160),
        known in any::<bool>(),
    ) {
        static QUICK: OnceLock<StoredCredentials> = OnceLock::new();
        let quick = QUICK.get_or_init(|| StoredCredentials::derive("pencil", SALT, 2).unwrap_or_default());
        let mut config = tls_config();
        config.iterations = 2;
        config.mechanisms.push(Mechanism::Anonymous);
        for mech in Mechanism::ALL {
            for with_initial in [true, false] {
                let mut s = server(&config, "s");
                let mut step = if with_initial {
                    s.start(mech.name(), Some(&first))
                } else {
                    s.start(mech.name(), None);
                    s.respond(&first)
                };
                if let ServerStep::NeedCredentials { .. } = step {
                    step = s.provide(known.then_some(quick));
                }
                if let ServerStep::Challenge(_) = step {
                    let _ = s.respond(&second);
                }
            }
        }
    }

    /// Well-formed-looking client-first messages built from random parts.
    #[test]
    fn random_scram_parts_never_panic(
        flag in "(n|y|p=[a-z-]{0,20}|[a-z=]{0,3})",
        authz in "(a=[^,]{0,10})?",
        user in "[^,]{0,12}",
        nonce in "[!-~]{0,12}",
        rest in "[ -~]{0,40}",
    ) {
        let config = tls_config();
        for mech in ["SCRAM-SHA-1", "SCRAM-SHA-256-PLUS"] {
            let mut s = server(&config, "s");
            let first = format!("{flag},{authz},n={user},r={nonce}");
            if let ServerStep::NeedCredentials { .. } = s.start(mech, Some(first.as_bytes())) {
                let _ = s.provide(None);
                let _ = s.respond(rest.as_bytes());
            }
        }
    }
}
