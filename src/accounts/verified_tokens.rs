//! Access tokens whose signature and claims were already checked, remembered
//! until they expire, so that a client presenting the same token again (every
//! request of a logged-in app) costs a SHA-256 instead of an Ed25519 verify.
//!
//! Safe without the revocation broadcast: what is remembered is only that the
//! token is genuine and its claims, which never change. Whether its session is
//! still alive is asked afterwards on every request, as before. Only tokens
//! that verified are kept (a flood of forged tokens cannot fill the cache), and
//! an answer is never given past the token's `exp`, nor once its key has left
//! the key ring.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use moka::Expiry;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use super::crypto::Claims;

/// What was checked: the claims and the key that signed them.
#[derive(Clone)]
struct Verified {
    claims: Arc<Claims>,
    kid: Arc<str>,
    /// When moka may let the entry go: the token's `exp`, as measured when kept.
    lives: Duration,
}

/// Lets each entry go at its token's `exp`.
struct UntilExpiry;

impl Expiry<[u8; 32], Verified> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Verified,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.lives)
    }
}

/// Verified access tokens by the SHA-256 of their text; `None`: off.
pub(super) struct VerifiedTokens {
    cache: Option<Cache<[u8; 32], Verified>>,
}

impl VerifiedTokens {
    /// At most `capacity` tokens (`0`: off).
    pub fn new(capacity: u64) -> Self {
        let cache = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExpiry)
                .build()
        });
        Self { cache }
    }

    /// The claims of `token` if it verified before, has not expired at `now`
    /// and its key `still_verifies`.
    pub fn get(
        &self,
        token: &str,
        now: DateTime<Utc>,
        still_verifies: impl FnOnce(&str) -> bool,
    ) -> Option<Claims> {
        let cache = self.cache.as_ref()?;
        let found = cache.get(&digest(token))?;
        // The clock the core runs on decides, not moka's: an entry is never used
        // at or past `exp`, whatever the cache still holds.
        let fresh = now.timestamp() < found.claims.exp;
        (fresh && still_verifies(&found.kid)).then(|| Claims::clone(&found.claims))
    }

    /// Remembers that `token`, signed with `kid`, verified to `claims`.
    pub fn keep(&self, token: &str, kid: &str, claims: &Claims, now: DateTime<Utc>) {
        let Some(cache) = self.cache.as_ref() else {
            return;
        };
        let Ok(lives) = u64::try_from(claims.exp.saturating_sub(now.timestamp())) else {
            return;
        };
        if lives == 0 {
            return;
        }
        let verified = Verified {
            claims: Arc::new(claims.clone()),
            kid: Arc::from(kid),
            lives: Duration::from_secs(lives),
        };
        cache.insert(digest(token), verified);
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "https://issuer".into(),
            aud: "aud".into(),
            sub: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            iat: exp - 900,
            exp,
            jti: Uuid::new_v4(),
            email: "ada@example.com".into(),
            email_verified: true,
            amr: vec!["pwd".into()],
            aal: "aal1".into(),
            nbf: None,
        }
    }

    fn at(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).expect("a valid time")
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_kept_token_is_answered_until_its_exp_and_never_at_or_after() {
        let tokens = VerifiedTokens::new(10);
        let kept = claims(NOW + 60);
        tokens.keep("a.b.c", "kid", &kept, at(NOW));
        let found = tokens.get("a.b.c", at(NOW + 59), |_| true);
        assert_eq!(found.map(|c| c.jti), Some(kept.jti));
        assert!(tokens.get("a.b.c", at(NOW + 60), |_| true).is_none());
        assert!(tokens.get("a.b.c", at(NOW + 3600), |_| true).is_none());
    }

    #[test]
    fn a_kept_token_is_not_answered_once_its_key_left_the_ring() {
        let tokens = VerifiedTokens::new(10);
        tokens.keep("a.b.c", "old", &claims(NOW + 60), at(NOW));
        assert!(tokens.get("a.b.c", at(NOW), |kid| kid != "old").is_none());
        assert!(tokens.get("a.b.c", at(NOW), |kid| kid == "old").is_some());
    }

    #[test]
    fn only_the_very_same_text_is_answered() {
        let tokens = VerifiedTokens::new(10);
        tokens.keep("a.b.c", "kid", &claims(NOW + 60), at(NOW));
        assert!(tokens.get("a.b.C", at(NOW), |_| true).is_none());
        assert!(tokens.get("a.b.c ", at(NOW), |_| true).is_none());
    }

    #[test]
    fn an_expired_token_is_not_kept_and_size_zero_keeps_nothing() {
        let tokens = VerifiedTokens::new(10);
        tokens.keep("a.b.c", "kid", &claims(NOW), at(NOW));
        assert!(tokens.get("a.b.c", at(NOW - 1), |_| true).is_none());
        let off = VerifiedTokens::new(0);
        off.keep("a.b.c", "kid", &claims(NOW + 60), at(NOW));
        assert!(off.get("a.b.c", at(NOW), |_| true).is_none());
    }
}
