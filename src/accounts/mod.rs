//! The core: every account flow (register, verify, log in, refresh, log out,
//! recover, change, sessions, the audit trail, introspection, administration)
//! as methods of [`Accounts`] taking plain inputs and returning plain outcomes or one
//! [`AccountError`]. It decides every rule: token lifetimes, the enumeration
//! defences, the refresh decision, the session policy and the audit events. It
//! knows nothing of HTTP; each door (the HTTP API today) maps its inputs and
//! outcomes. It writes through the store, queues mail through the outbox, and
//! asks the rate limiter at the start of every flow that can be abused.

mod admin;
mod admin_events;
mod admin_import;
mod admin_keys;
mod audit;
mod auth_method;
mod command_line;
mod crypto;
mod error;
mod input;
mod introspection;
mod key_ring;
mod link_requests;
mod login;
mod mailings;
mod mfa;
mod mfa_login;
mod notices;
mod outcomes;
mod passkeys;
mod password_rules;
mod passwords;
mod policy;
/// The crypto primitives, unwrapped, for the micro-benchmarks and the load
/// benchmark's baselines (`bench/`). Not an API: nothing in the service uses it.
#[doc(hidden)]
pub mod primitives;
mod refresh;
mod registration;
mod retention;
mod scrape;
mod sealed_signing_keys;
mod session_cache;
mod sessions;
mod signing_keys;
mod throttle;
mod unit_of_work;
mod user_changes;
mod verification;
mod verified_tokens;
mod webhook_events;

use std::sync::Arc;
use std::time::Duration;

/// Where the rate limiter keeps its budgets now.
pub use crate::limits::Backend as RateLimiterBackend;
/// A refusal of the rate limiter: which policy, its quota, when to come back.
pub use crate::limits::Refusal as RateLimited;
/// What `watch_revocations` yields: a revoked session, or word that some were missed.
pub use crate::revocations::{Missed as RevocationsMissed, Revocation, RevocationFeed};
pub use admin::{AdminCaller, AdminUser, AdminUserPage, NewUserByAdmin, UserChanges};
pub use admin_events::{AdminEvent, AdminEventPage};
pub use admin_import::{ImportReport, ImportRow, MAX_IMPORT, Skipped};
pub use crypto::{PublicKey, looks_like_token};
pub use error::{AccountError, AccountResult, InvalidField};
pub use introspection::{ActiveToken, ServiceCaller};
pub use mfa::MfaProof;
pub use outcomes::*;
pub use passkeys::{PasskeyChallenge, PasskeyInfo, PasskeyLogin};
pub use passwords::PasswordReset;
pub use registration::Registration;
pub use retention::Deleted;
pub use signing_keys::KeyRotation;

use crate::clock::Clock;
use crate::config::Config;
use crate::limits::Limiter;
use crate::mail::{Composer, OutboxSignal};
use crate::revocations::Revocations;
use crate::secrets::SecretsKey;
use crate::store::Store;
use crate::telemetry::metrics::Metrics;
use crate::templates::Templates;
use crate::webhooks::WebhookSignal;
use crypto::PasswordHasherPool;
use key_ring::KeyRing;
use policy::SessionPolicy;

pub struct Accounts {
    config: Arc<Config>,
    store: Store,
    hasher: PasswordHasherPool,
    /// Signs and verifies access tokens; reloaded as keys rotate.
    keys: KeyRing,
    composer: Composer,
    outbox: OutboxSignal,
    /// Seals the tokens of queued links, TOTP secrets and the stored signing
    /// keys; keys refresh-token successors.
    secrets: Arc<SecretsKey>,
    policy: SessionPolicy,
    limits: Limiter,
    clock: Clock,
    /// The passkey relying party; `None`: passkeys are off (no domain to be one).
    passkeys: Option<passkeys::Ceremonies>,
    /// Wakes this instance's link-request worker.
    link_requests_queued: tokio::sync::Notify,
    /// Announces revoked sessions to every instance.
    revocations: Arc<Revocations>,
    /// Wakes the webhook worker; `None`: webhooks are off.
    webhooks: Option<WebhookSignal>,
    /// Counts outcomes (logins, refreshes, rate limits, hashing) for GET /metrics.
    metrics: Metrics,
    /// Active sessions remembered for the session check.
    sessions: Arc<session_cache::SessionCache>,
}

/// What the core is built from: the pieces the wiring in `lib.rs` makes.
pub struct Parts {
    pub config: Arc<Config>,
    pub store: Store,
    pub templates: Arc<Templates>,
    pub outbox: OutboxSignal,
    pub secrets: Arc<SecretsKey>,
    pub limits: Limiter,
    pub revocations: Arc<Revocations>,
    pub clock: Clock,
    pub metrics: Metrics,
}

impl Accounts {
    /// Loads (or makes) the signing keys and starts the password hasher.
    pub async fn build(parts: Parts) -> anyhow::Result<Self> {
        let Parts {
            config,
            store,
            templates,
            outbox,
            secrets,
            limits,
            revocations,
            clock,
            metrics,
        } = parts;
        let keys = signing_keys::load_at_start(&config, &store, &secrets, clock.now()).await?;
        let hasher = PasswordHasherPool::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            config.max_concurrent_hashes(),
            config.max_queued_hashes(),
            metrics.clone(),
        )
        .await?;
        let composer = Composer::new(templates, &config.product_name)?;
        let passkeys = passkeys::ceremonies(&config)?;
        let policy = SessionPolicy::new(
            config.refresh_token_ttl,
            config.session_max_lifetime,
            config.refresh_grace_period,
        )?;
        let webhooks = config.webhook_target()?.map(|_| WebhookSignal::default());
        let cache = &config.session_cache;
        let sessions = Arc::new(session_cache::SessionCache::new(
            cache.ttl(),
            cache.session_cache_size,
            revocations.link(),
        ));
        sessions.listen(&revocations);
        Ok(Self {
            config,
            store,
            hasher,
            keys,
            composer,
            outbox,
            secrets,
            policy,
            limits,
            clock,
            passkeys,
            link_requests_queued: tokio::sync::Notify::new(),
            revocations,
            webhooks,
            metrics,
            sessions,
        })
    }

    /// Whether the database answers (within two seconds), and where the rate
    /// limiter keeps its budgets (Redis is asked too; its outage is not the
    /// database's, so it is reported, not fatal).
    pub async fn readiness(&self) -> Readiness {
        let ping = async { self.store.connection().await?.ping().await };
        let database = async {
            matches!(
                tokio::time::timeout(Duration::from_secs(2), ping).await,
                Ok(Ok(()))
            )
        };
        let (database, rate_limiter) = tokio::join!(database, self.limits.backend());
        Readiness {
            database,
            rate_limiter,
        }
    }

    /// Every session revoked on any instance from now on (see `revocations`).
    pub fn watch_revocations(&self) -> RevocationFeed {
        self.revocations.subscribe()
    }

    /// Where rate limits count, for the start-up log.
    pub fn limits_described(&self) -> String {
        self.limits.describe()
    }

    /// The keys whose access tokens verify, the signing key first.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.keys.public_keys()
    }

    /// What wakes the webhook worker when a commit queued a webhook; `None` when
    /// webhooks are off (no WEBHOOK_URL).
    pub fn webhook_signal(&self) -> Option<WebhookSignal> {
        self.webhooks.clone()
    }

    /// The `kid` of the key that signs new access tokens.
    pub fn signing_kid(&self) -> String {
        self.keys.current_kid()
    }
}
