//! Opaque secrets (refresh tokens, email links): 256 bits from the OS CSPRNG
//! (or, for a refresh token's successor, a keyed hash of its predecessor),
//! handed out base64url-encoded and stored only as their SHA-256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::secrets::{Purpose, SecretsKey};

/// Bytes of randomness in every opaque token.
const TOKEN_BYTES: usize = 32;

/// A freshly minted secret: the plaintext goes to the client, the hash to the store.
pub struct OpaqueToken {
    pub plaintext: String,
    pub hash: TokenHash,
}

/// SHA-256 of a token's plaintext. Lookups go by this hash, so the database never
/// sees a usable secret and an index lookup leaks nothing about the plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl OpaqueToken {
    pub fn generate() -> anyhow::Result<Self> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The successor of the refresh token `presented`: HMAC-SHA256 of it under a
    /// key derived from SECRETS_KEY. Every presenter of one token gets the same
    /// successor, recomputed rather than stored, and nobody without the key can
    /// compute it.
    pub fn successor_of(presented: &str, key: &SecretsKey) -> Self {
        Self::from_bytes(key.keyed_hash(Purpose::RefreshTokenSuccessor, presented.as_bytes()))
    }

    fn from_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        let plaintext = URL_SAFE_NO_PAD.encode(bytes);
        let hash = TokenHash::of(&plaintext);
        Self { plaintext, hash }
    }
}

impl TokenHash {
    pub fn of(plaintext: &str) -> Self {
        Self(Sha256::digest(plaintext.as_bytes()).into())
    }
}

/// Whether a string could be a token we minted (base64url, right length), so that
/// garbage is refused before it reaches the database or an HTML page.
pub fn looks_like_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_well_formed() {
        let a = OpaqueToken::generate().expect("random");
        let b = OpaqueToken::generate().expect("random");
        assert_ne!(a.plaintext, b.plaintext);
        assert!(looks_like_token(&a.plaintext));
        assert_eq!(TokenHash::of(&a.plaintext), a.hash);
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&format!("{}<", &a.plaintext[..42])));
    }
}
