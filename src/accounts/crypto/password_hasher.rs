//! argon2id hashing off the async workers, with a bound on concurrent hashes.
//!
//! Each hash holds `m_cost` KiB of memory and a CPU for tens of milliseconds, so a
//! burst of logins must neither run on the tokio workers (starving every other
//! request) nor all at once (growing memory without limit). A semaphore admits at
//! most `max_concurrent` hashes; the rest wait their turn without holding memory.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;
use tracing::Instrument;

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the email is
    /// unknown so that such a login costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or an unreadable stored hash).
    No,
    /// Right password, and the stored hash uses the configured parameters.
    Yes,
    /// Right password, stored with weaker parameters than configured: rehash it.
    YesRehash,
}

impl PasswordHasherPool {
    pub async fn new(
        m_cost: u32,
        t_cost: u32,
        p_cost: u32,
        max_concurrent: usize,
    ) -> anyhow::Result<Self> {
        let params = Params::new(m_cost, t_cost, p_cost, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let mut pool = Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: Arc::from(""),
        };
        let random = super::OpaqueToken::generate()?.plaintext;
        pool.dummy_hash = Arc::from(pool.hash(random).await?);
        Ok(pool)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let argon2 = self.argon2();
        self.run(move || {
            argon2
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
        })
        .await?
    }

    /// Checks a password. `stored = None` (unknown account) verifies against the
    /// dummy hash and answers `No`, taking the same time as a wrong password.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> anyhow::Result<Verified> {
        let argon2 = self.argon2();
        let wanted = self.params.clone();
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                tracing::error!("stored password hash is not a PHC string");
                return Verified::No;
            };
            if argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_err()
                || !known
            {
                return Verified::No;
            }
            let weaker = match Params::try_from(&parsed) {
                Ok(p) => {
                    p.m_cost() < wanted.m_cost()
                        || p.t_cost() < wanted.t_cost()
                        || p.p_cost() < wanted.p_cost()
                }
                Err(_) => true,
            };
            let outdated = weaker || parsed.algorithm.as_str() != "argon2id";
            if outdated {
                Verified::YesRehash
            } else {
                Verified::Yes
            }
        })
        .await
    }

    /// Runs CPU-heavy work on the blocking pool once a permit is free, keeping the
    /// caller's tracing span so its log lines still carry the request id.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| anyhow::anyhow!("password hasher closed"))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .instrument(tracing::Span::current())
            .await
            .map_err(|e| anyhow::anyhow!("password hashing task failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_and_flags_weaker_hashes_for_rehash() {
        let weak = PasswordHasherPool::new(19_456, 2, 1, 2)
            .await
            .expect("pool");
        let strong = PasswordHasherPool::new(19_456, 3, 1, 2)
            .await
            .expect("pool");
        let hash = weak.hash("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

        let ok = weak
            .verify("correct horse".into(), Some(hash.clone()))
            .await;
        assert_eq!(ok.expect("verify"), Verified::Yes);
        let wrong = weak.verify("wrong horse".into(), Some(hash.clone())).await;
        assert_eq!(wrong.expect("verify"), Verified::No);
        let rehash = strong.verify("correct horse".into(), Some(hash)).await;
        assert_eq!(rehash.expect("verify"), Verified::YesRehash);
        let unknown = weak.verify("anything".into(), None).await;
        assert_eq!(unknown.expect("verify"), Verified::No);
    }
}
