//! argon2id password hashing on a fixed set of threads, behind a bounded queue.
//!
//! Each hash holds `m_cost` KiB of memory and a CPU for tens of milliseconds, so a
//! burst of logins must neither run on the tokio workers (starving every other
//! request) nor all at once (growing memory without limit). [`HashingThreads`]
//! runs at most `max_concurrent` hashes, each on its thread's one buffer, and turns
//! callers away with [`HashError::Busy`] once `max_queued` already wait.

use std::sync::Arc;

use argon2::Params;
use argon2::password_hash::phc::PasswordHash;

pub use super::hashing_threads::HashError;
use super::hashing_threads::HashingThreads;
use super::{argon2_buffer, imported_hashes};
use crate::telemetry::metrics::Metrics;

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    threads: HashingThreads,
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
        max_queued: usize,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let params = Params::new(m_cost, t_cost, p_cost, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let mut pool = Self {
            params,
            threads: HashingThreads::start(max_concurrent, max_queued, metrics)?,
            dummy_hash: Arc::from(""),
        };
        let random = super::OpaqueToken::generate()?.plaintext;
        pool.dummy_hash = Arc::from(pool.hash(random).await?);
        Ok(pool)
    }

    /// Hashes waiting for a thread, and hashes running, now.
    pub fn load(&self) -> (usize, usize) {
        (self.threads.queued(), self.threads.running())
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let params = self.params.clone();
        self.threads
            .run(move |memory| argon2_buffer::hash(&params, password.as_bytes(), memory))
            .await?
            .map_err(HashError::Failed)
    }

    /// Checks a password. `stored = None` (unknown account) verifies against the
    /// dummy hash and answers `No`, taking the same time as a wrong password.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let wanted = self.params.clone();
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        self.threads
            .run(move |memory| {
                if imported_hashes::is_bcrypt(&stored) {
                    return verify_bcrypt(&password, &stored, known);
                }
                let Ok(parsed) = PasswordHash::new(&stored) else {
                    tracing::error!("stored password hash is not a PHC string");
                    return Verified::No;
                };
                let matched = argon2_buffer::matches(&parsed, password.as_bytes(), memory);
                memory.keep_at_most(&wanted);
                if !matched || !known {
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
}

/// Checks a bcrypt hash (imported from another system): a match always asks
/// for a rehash into the service's argon2id. One above the import's cost ceiling
/// is not checked at all (it cannot have come in through the import).
fn verify_bcrypt(password: &str, stored: &str, known: bool) -> Verified {
    if imported_hashes::check(stored).is_err() {
        tracing::error!("stored bcrypt hash is malformed or above the cost ceiling");
        return Verified::No;
    }
    match bcrypt::verify(password.as_bytes(), stored) {
        Ok(true) if known => Verified::YesRehash,
        _ => Verified::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn verifies_and_flags_weaker_hashes_for_rehash() {
        let weak = PasswordHasherPool::new(19_456, 2, 1, 2, 32, Metrics::new())
            .await
            .expect("pool");
        let strong = PasswordHasherPool::new(19_456, 3, 1, 2, 32, Metrics::new())
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

    #[tokio::test]
    async fn imported_argon2i_and_bcrypt_hashes_verify_and_ask_for_a_rehash() {
        let pool = PasswordHasherPool::new(19_456, 2, 1, 1, 8, Metrics::new())
            .await
            .expect("pool");
        let bcrypt = bcrypt::hash("correct horse", 4).expect("bcrypt");
        let params = Params::new(8_192, 3, 2, None).expect("params");
        let argon2i =
            argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params);
        let argon2i = argon2::PasswordHasher::hash_password(&argon2i, b"correct horse")
            .expect("argon2i")
            .to_string();
        for hash in [bcrypt, argon2i] {
            let right = pool
                .verify("correct horse".into(), Some(hash.clone()))
                .await;
            assert_eq!(right.expect("verify"), Verified::YesRehash, "{hash}");
            let wrong = pool.verify("wrong horse".into(), Some(hash.clone())).await;
            assert_eq!(wrong.expect("verify"), Verified::No, "{hash}");
        }
    }

    /// The pen-test: callers that time out (or whose client went away) must not
    /// free their slot while their hash still runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_that_give_up_do_not_free_their_slot() {
        const SLOTS: usize = 2;
        let pool = PasswordHasherPool::new(19_456, 4, 1, SLOTS, 64, Metrics::new())
            .await
            .expect("pool");
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..24 {
            let pool = pool.clone();
            callers.spawn(async move {
                let check = pool.verify("a password".into(), None);
                // Gives up long before any hash is done.
                let _ = tokio::time::timeout(Duration::from_millis(1), check).await;
            });
        }
        while callers.join_next().await.is_some() {}
        let settled = async {
            while !pool.threads.idle() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), settled)
            .await
            .expect("the hashes finish");
        let peak = pool.threads.peak();
        assert!((1..=SLOTS).contains(&peak), "{peak} hashes ran at once");
    }
}
