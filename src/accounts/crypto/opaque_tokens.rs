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

/// Properties of what clients present: refresh, email-link and mfa tokens all
/// pass `looks_like_token` before their digest is looked up.
#[cfg(test)]
mod properties {
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    use super::*;

    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// Two different SECRETS_KEYs.
    fn two_keys() -> impl Strategy<Value = (SecretsKey, SecretsKey)> {
        let key = |bytes: [u8; 32]| {
            SecretsKey::from_base64(&STANDARD.encode(bytes)).expect("32 bytes are a key")
        };
        any::<([u8; 32], [u8; 32])>()
            .prop_filter("two keys", |(a, b)| a != b)
            .prop_map(move |(a, b)| (key(a), key(b)))
    }

    /// A token as we mint them: 32 bytes, base64url.
    fn minted() -> impl Strategy<Value = String> {
        any::<[u8; TOKEN_BYTES]>().prop_map(|bytes| OpaqueToken::from_bytes(bytes).plaintext)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// What passes is 43 characters of the base64url alphabet and nothing
        /// else: safe in a URL, an HTML page and a log line.
        #[test]
        fn only_43_base64url_characters_look_like_a_token(
            s in prop_oneof![".*", "[A-Za-z0-9_-]{43}", "[A-Za-z0-9_+/=.<>-]{42,44}"],
        ) {
            let expected = s.len() == 43 && s.chars().all(|c| ALPHABET.contains(c));
            prop_assert_eq!(looks_like_token(&s), expected);
        }

        #[test]
        fn minted_tokens_look_like_tokens_and_decode_to_their_bytes(
            bytes in any::<[u8; TOKEN_BYTES]>(),
        ) {
            let token = OpaqueToken::from_bytes(bytes);
            prop_assert!(looks_like_token(&token.plaintext));
            prop_assert_eq!(URL_SAFE_NO_PAD.decode(&token.plaintext).ok(), Some(bytes.to_vec()));
            prop_assert_eq!(token.hash, TokenHash::of(&token.plaintext));
        }

        /// A minted token with one character changed to one outside the
        /// alphabet, or one character more or less, is refused.
        #[test]
        fn an_altered_token_is_refused(
            token in minted(),
            at in any::<prop::sample::Index>(),
            stranger in any::<char>().prop_filter("outside", |c| !ALPHABET.contains(*c)),
            change in 0..3,
        ) {
            let mut chars: Vec<char> = token.chars().collect();
            let at = at.index(chars.len());
            match change {
                0 => chars[at] = stranger,
                1 => chars.insert(at, ALPHABET.chars().nth(at).unwrap_or('A')),
                _ => {
                    chars.remove(at);
                }
            }
            prop_assert!(!looks_like_token(&chars.into_iter().collect::<String>()));
        }

        /// Whatever is presented (refresh is only asked for tokens that look
        /// like ours, but the function takes anything), the successor is a
        /// well-formed token, the same every time, and differs from what was
        /// presented and between keys.
        #[test]
        fn successors_are_stable_well_formed_and_keyed(
            presented in prop_oneof![minted(), ".*"],
            (key, other) in two_keys(),
        ) {
            let successor = OpaqueToken::successor_of(&presented, &key);
            prop_assert!(looks_like_token(&successor.plaintext));
            prop_assert_eq!(&successor.hash, &TokenHash::of(&successor.plaintext));
            let again = OpaqueToken::successor_of(&presented, &key);
            prop_assert_eq!(&again.plaintext, &successor.plaintext);
            prop_assert_ne!(&successor.plaintext, &presented);
            let next = OpaqueToken::successor_of(&successor.plaintext, &key);
            prop_assert_ne!(&next.plaintext, &presented, "a chain must not cycle back");
            let foreign = OpaqueToken::successor_of(&presented, &other);
            prop_assert_ne!(foreign.plaintext, successor.plaintext);
        }

        /// Lookups go by digest: distinct strings, distinct digests, and the
        /// digest never shows in logs.
        #[test]
        fn digests_tell_strings_apart_and_stay_out_of_logs(a in ".*", b in ".*") {
            prop_assert_eq!(TokenHash::of(&a) == TokenHash::of(&b), a == b);
            prop_assert_eq!(format!("{:?}", TokenHash::of(&a)), "TokenHash(..)");
        }
    }
}
