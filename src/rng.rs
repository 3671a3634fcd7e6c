//! Deterministic randomness from a caller-supplied seed.
//!
//! The crate never asks the operating system for entropy: the caller passes
//! a seed (which must be secret and random in production, since SCRAM nonces
//! come from it) and tests pass a fixed one to replay sessions exactly. The
//! generator is SHA-256 in counter mode over the seed.

use sha2::{Digest, Sha256};

/// A seeded generator of nonces and identifiers.
#[derive(Clone)]
pub(crate) struct Rng {
    seed: [u8; 32],
    counter: u64,
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng { .. }")
    }
}

impl Rng {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Self { seed, counter: 0 }
    }

    /// 32 fresh bytes.
    pub(crate) fn next_block(&mut self) -> [u8; 32] {
        self.counter += 1;
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(self.counter.to_be_bytes());
        h.finalize().into()
    }

    /// `len` characters of `[A-Za-z0-9]`, for nonces and ids.
    pub(crate) fn alphanumeric(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 62] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        while out.len() < len {
            for b in self.next_block() {
                // Rejection sampling keeps the distribution uniform.
                if b < 248 && out.len() < len {
                    out.push(char::from(ALPHABET[usize::from(b % 62)]));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_output_different_seed_different_output() {
        let (mut a, mut b, mut c) = (Rng::new([1; 32]), Rng::new([1; 32]), Rng::new([2; 32]));
        let x = a.alphanumeric(40);
        assert_eq!(x, b.alphanumeric(40));
        assert_ne!(x, c.alphanumeric(40));
        assert_ne!(x, a.alphanumeric(40));
        assert!(x.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
