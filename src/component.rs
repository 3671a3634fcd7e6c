//! XEP-0114 (Jabber Component Protocol): the `<handshake/>` that
//! authenticates an external component, for both sides.
//!
//! The component sends the lowercase hex SHA-1 of the stream id (from the
//! server's header) followed by the shared secret; the server computes the
//! same and answers with an empty `<handshake/>`, or closes the stream with
//! `not-authorized`.
//!
//! ```
//! use xmpp_sansio::component::{handshake_digest, verify_handshake};
//! // XEP-0114 §3's example: stream id '3BF96D32'. (The XEP does not print
//! // the secret; it is "test".)
//! let digest = handshake_digest("3BF96D32", "test");
//! assert_eq!(digest, "aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e");
//! assert!(verify_handshake("3BF96D32", "test", &digest));
//! assert!(!verify_handshake("3BF96D32", "wrong", &digest));
//! ```

use sha1::{Digest, Sha1};

use crate::xml::{Element, ns};

/// The handshake value: `hex(SHA1(stream_id ++ secret))`, lowercase, over
/// the UTF-8 of both strings as they are (unescaped).
pub fn handshake_digest(stream_id: &str, secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(stream_id.as_bytes());
    h.update(secret.as_bytes());
    h.finalize()
        .iter()
        .fold(String::with_capacity(40), |mut s, b| {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
            s
        })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The server's check of a received handshake value, in constant time. The
/// value must be exactly the lowercase hex digest (XEP-0114 §3 has the
/// component convert it to lowercase); anything else is refused, as
/// Prosody does.
pub fn verify_handshake(stream_id: &str, secret: &str, received: &str) -> bool {
    let expected = handshake_digest(stream_id, secret);
    let (a, b) = (expected.as_bytes(), received.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `<handshake xmlns='jabber:component:accept'>digest</handshake>`, the
/// component's message.
///
/// ```
/// use xmpp_sansio::component::handshake_element;
/// let el = handshake_element("3BF96D32", "test");
/// assert_eq!(el.name(), "handshake");
/// assert_eq!(el.text(), "aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e");
/// ```
pub fn handshake_element(stream_id: &str, secret: &str) -> Element {
    Element::builder("handshake", ns::COMPONENT_ACCEPT)
        .text(handshake_digest(stream_id, secret))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xep_0114_example_vector() {
        assert_eq!(
            handshake_digest("3BF96D32", "test"),
            "aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e"
        );
    }

    /// The digest covers the id, then the secret (not the other order), as
    /// UTF-8: values computed independently (`sha1sum`).
    #[test]
    fn digest_is_id_then_secret_in_utf8() {
        assert_eq!(
            handshake_digest("id", "sécret"),
            "1ec1572bb01454c71a2613a8d5fee9138d6a78fb"
        );
        assert_ne!(handshake_digest("ab", "c"), handshake_digest("c", "ab"));
        assert_eq!(handshake_digest("", "").len(), 40);
    }

    #[test]
    fn verification_is_exact() {
        let good = handshake_digest("3BF96D32", "test");
        assert!(verify_handshake("3BF96D32", "test", &good));
        for bad in [
            good.to_uppercase(),
            format!(" {good}"),
            good[..39].to_owned(),
            format!("{good}0"),
            String::new(),
            handshake_digest("3BF96D33", "test"),
            handshake_digest("3BF96D32", "tesT"),
        ] {
            assert!(!verify_handshake("3BF96D32", "test", &bad), "{bad:?}");
        }
    }
}
