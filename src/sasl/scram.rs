//! SCRAM (RFC 5802, RFC 7677): the keys and helpers both sides share, and
//! the client side, for SHA-1, SHA-256 and SHA-512, with or without channel
//! binding (the -PLUS forms). The server side is in `server.rs`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::SaslError;

/// The hash under a SCRAM mechanism.
///
/// ```
/// use xmpp_sansio::sasl::{ScramHash, ScramKeys};
/// assert_eq!(ScramKeys::derive(ScramHash::Sha512, "p", b"salt", 1).server_key.len(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-1.
    Sha1,
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

/// The default cap on the server's SCRAM iteration count
/// ([`super::ClientAuth::with_max_iterations`],
/// `ClientConfig::max_scram_iterations`).
///
/// PBKDF2 runs in the caller's thread, inside `handle_input`, so the count
/// is how long a hostile server can stall it. Measured with these RustCrypto
/// crates (release build, one desktop core), a million iterations take about
/// 0.12 s for SHA-1, 0.14 s for SHA-256 and 0.54 s for SHA-512; at 600,000
/// the worst case is about a third of a second (more in debug builds).
/// Servers use far less: 4096 (ejabberd, the RFC 7677 minimum), 10,000
/// (Prosody 0.12, as recorded in `tests/data`). 600,000 is also OWASP's
/// 2023 figure for PBKDF2-HMAC-SHA-256, so a server tuned to that guidance
/// still works.
pub const DEFAULT_MAX_ITERATIONS: u32 = 600_000;

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this never fails; an empty output
    // would only make verification fail, never succeed.
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

impl ScramHash {
    /// Every hash, strongest first.
    pub const ALL: [ScramHash; 3] = [ScramHash::Sha512, ScramHash::Sha256, ScramHash::Sha1];

    /// The length of this hash's output (and of every SCRAM key and proof).
    ///
    /// ```
    /// use xmpp_sansio::sasl::ScramHash;
    /// assert_eq!(ScramHash::Sha1.output_len(), 20);
    /// ```
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
            ScramHash::Sha512 => 64,
        }
    }

    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => mac::<Hmac<Sha1>>(key, data),
            ScramHash::Sha256 => mac::<Hmac<Sha256>>(key, data),
            ScramHash::Sha512 => mac::<Hmac<Sha512>>(key, data),
        }
    }

    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                pbkdf2::pbkdf2_hmac_array::<Sha1, 20>(password, salt, rounds).to_vec()
            }
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, rounds).to_vec()
            }
            ScramHash::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, rounds).to_vec()
            }
        }
    }
}

/// The keys derived from a password (RFC 5802 §3). A server stores
/// `stored_key` and `server_key`; a client derives them to prove itself.
///
/// ```
/// use xmpp_sansio::sasl::{ScramHash, ScramKeys};
/// let keys = ScramKeys::derive(ScramHash::Sha256, "pencil", b"salt", 4096);
/// assert_eq!(keys.stored_key.len(), 32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramKeys {
    /// `SaltedPassword`.
    pub salted_password: Vec<u8>,
    /// `ClientKey`.
    pub client_key: Vec<u8>,
    /// `StoredKey = H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `ServerKey`.
    pub server_key: Vec<u8>,
}

impl ScramKeys {
    /// Derives the keys from an already SASLprep'd password.
    pub fn derive(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> Self {
        let salted_password = hash.pbkdf2(password.as_bytes(), salt, iterations);
        let client_key = hash.hmac(&salted_password, b"Client Key");
        let stored_key = hash.hash(&client_key);
        let server_key = hash.hmac(&salted_password, b"Server Key");
        Self {
            salted_password,
            client_key,
            stored_key,
            server_key,
        }
    }

    /// `ClientProof` for `auth_message`.
    pub fn client_proof(&self, hash: ScramHash, auth_message: &[u8]) -> Vec<u8> {
        let signature = hash.hmac(&self.stored_key, auth_message);
        self.client_key
            .iter()
            .zip(signature)
            .map(|(k, s)| k ^ s)
            .collect()
    }

    /// `ServerSignature` for `auth_message`.
    pub fn server_signature(&self, hash: ScramHash, auth_message: &[u8]) -> Vec<u8> {
        hash.hmac(&self.server_key, auth_message)
    }
}

/// `saslname` escaping (RFC 5802 §5.1): `=` and `,` become `=3D` and `=2C`.
pub(crate) fn escape_saslname(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

/// The inverse of [`escape_saslname`] (RFC 5802 §7, `saslname`): `=` must
/// start `=2C` or `=3D`; a bare `,` cannot occur (the caller split on it).
/// `None` for an empty name or a stray `=`.
pub(crate) fn unescape_saslname(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix("2C") {
            out.push(',');
            rest = r;
        } else if let Some(r) = after.strip_prefix("3D") {
            out.push('=');
            rest = r;
        } else {
            return None;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// One `attr-val` (RFC 5802 §7): a single ASCII letter, `=`, the value.
fn attribute(part: &str) -> Result<(char, &str), SaslError> {
    let (key, value) = part
        .split_once('=')
        .ok_or(SaslError::MalformedChallenge("attribute without '='"))?;
    let mut chars = key.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Ok((c, value)),
        _ => Err(SaslError::MalformedChallenge(
            "an attribute name is not one letter",
        )),
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Clone)]
enum Step {
    Initial,
    SentFirst,
    SentFinal { server_signature: Vec<u8> },
    Verified,
}

/// The client side of one SCRAM exchange.
#[derive(Clone)]
pub(crate) struct ScramClient {
    hash: ScramHash,
    gs2_header: String,
    cb_data: Vec<u8>,
    client_first_bare: String,
    client_nonce: String,
    password: String,
    max_iterations: u32,
    step: Step,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// `username` and `password` must already be SASLprep'd.
    pub(crate) fn new(
        hash: ScramHash,
        username: &str,
        password: &str,
        gs2_header: String,
        cb_data: Vec<u8>,
        client_nonce: &str,
    ) -> Self {
        Self {
            hash,
            client_first_bare: format!("n={},r={client_nonce}", escape_saslname(username)),
            gs2_header,
            cb_data,
            client_nonce: client_nonce.to_owned(),
            password: password.to_owned(),
            max_iterations: DEFAULT_MAX_ITERATIONS,
            step: Step::Initial,
        }
    }

    pub(crate) fn set_max_iterations(&mut self, max: u32) {
        self.max_iterations = max;
    }

    pub(crate) fn client_first(&mut self) -> Vec<u8> {
        self.step = Step::SentFirst;
        format!("{}{}", self.gs2_header, self.client_first_bare).into_bytes()
    }

    /// Server-first in, client-final out; or, if the server sends its final
    /// message as a challenge, verify it and answer with nothing.
    pub(crate) fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        match &self.step {
            Step::SentFirst => self.client_final(challenge),
            Step::SentFinal { .. } => {
                self.verify(challenge)?;
                Ok(Vec::new())
            }
            _ => Err(SaslError::UnexpectedChallenge),
        }
    }

    /// Reads a server-first-message (RFC 5802 §7):
    /// `[reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]`.
    /// The order is the grammar's: `r`, `s`, `i`, then extensions, which
    /// are ignored unless mandatory (`m`, §5.1: "its presence ... MUST cause
    /// authentication failure"). An `e` (a server error, which belongs in
    /// the final message) is reported as such wherever it appears.
    fn client_final(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let server_first = std::str::from_utf8(challenge)
            .map_err(|_| SaslError::MalformedChallenge("not UTF-8"))?;
        let mut attrs = server_first.split(',').map(attribute);
        let mut expect = |want: char, missing: &'static str| match attrs.next() {
            Some(Ok((key, value))) if key == want => Ok(value),
            Some(Ok(('m', value))) => Err(SaslError::MandatoryExtension(value.to_owned())),
            Some(Ok(('e', value))) => Err(SaslError::ServerError(value.to_owned())),
            Some(Ok(_)) | None => Err(SaslError::MalformedChallenge(missing)),
            Some(Err(e)) => Err(e),
        };
        let nonce = expect('r', "the nonce must come first")?;
        let salt = expect('s', "the salt must follow the nonce")?;
        let iterations = expect('i', "the iteration count must follow the salt")?;
        for extension in attrs {
            match extension? {
                ('m', value) => return Err(SaslError::MandatoryExtension(value.to_owned())),
                ('e', value) => return Err(SaslError::ServerError(value.to_owned())),
                ('r' | 's' | 'i', _) => {
                    return Err(SaslError::MalformedChallenge("a repeated attribute"));
                }
                _ => {} // extensions we do not know are ignored (§5.1)
            }
        }
        // `c-nonce [s-nonce]`, printable ASCII without `,` (§7). A server
        // that adds nothing of its own is refused: its nonce is what makes
        // the exchange unique.
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(SaslError::NonceMismatch);
        }
        if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(SaslError::MalformedChallenge(
                "the nonce is not printable ASCII",
            ));
        }
        if salt.is_empty() {
            return Err(SaslError::MalformedChallenge("empty salt"));
        }
        let salt = BASE64
            .decode(salt)
            .map_err(|_| SaslError::MalformedChallenge("salt is not base64"))?;
        // `posit-number = %x31-39 *DIGIT`: no sign, no leading zero, not 0.
        if !iterations.bytes().all(|b| b.is_ascii_digit())
            || !iterations.starts_with(|c: char| ('1'..='9').contains(&c))
        {
            return Err(SaslError::InvalidIterationCount);
        }
        // A number beyond u32 is beyond any cap.
        let iterations = iterations.parse::<u32>().unwrap_or(u32::MAX);
        if iterations > self.max_iterations {
            return Err(SaslError::TooManyIterations {
                iterations,
                max: self.max_iterations,
            });
        }
        let mut cb = self.gs2_header.clone().into_bytes();
        cb.extend_from_slice(&self.cb_data);
        let without_proof = format!("c={},r={nonce}", BASE64.encode(&cb));
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let keys = ScramKeys::derive(self.hash, &self.password, &salt, iterations);
        let proof = keys.client_proof(self.hash, auth_message.as_bytes());
        self.step = Step::SentFinal {
            server_signature: keys.server_signature(self.hash, auth_message.as_bytes()),
        };
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
    }

    fn verify(&mut self, server_final: &[u8]) -> Result<(), SaslError> {
        let Step::SentFinal { server_signature } = &self.step else {
            return Err(SaslError::UnexpectedChallenge);
        };
        // `server-final-message = (server-error / verifier) ["," extensions]`
        let text = std::str::from_utf8(server_final)
            .map_err(|_| SaslError::MalformedChallenge("not UTF-8"))?;
        let mut attrs = text.split(',').map(attribute);
        let v = match attrs.next() {
            Some(Ok(('e', e))) => return Err(SaslError::ServerError(e.to_owned())),
            Some(Ok(('v', v))) => v,
            Some(Ok(('m', m))) => return Err(SaslError::MandatoryExtension(m.to_owned())),
            Some(Err(e)) => return Err(e),
            _ => return Err(SaslError::MissingServerSignature),
        };
        for extension in attrs {
            if let ('m', m) = extension? {
                return Err(SaslError::MandatoryExtension(m.to_owned()));
            }
        }
        let v = BASE64
            .decode(v)
            .map_err(|_| SaslError::MalformedChallenge("signature is not base64"))?;
        if !constant_time_eq(&v, server_signature) {
            return Err(SaslError::ServerSignatureMismatch);
        }
        self.step = Step::Verified;
        Ok(())
    }

    /// `<success/>` with its additional data (the server-final message), or
    /// without it if the server sent that as a challenge already.
    pub(crate) fn finish(&mut self, additional: Option<&[u8]>) -> Result<(), SaslError> {
        match (&self.step, additional) {
            (Step::Verified, None) => Ok(()),
            (Step::Verified, Some(_)) => Err(SaslError::UnexpectedChallenge),
            (Step::SentFinal { .. }, Some(data)) => self.verify(data),
            (Step::SentFinal { .. }, None) => Err(SaslError::MissingServerSignature),
            _ => Err(SaslError::UnexpectedSuccess),
        }
    }
}
