//! Everything a handler needs, built once at start-up and shared by reference.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

use crate::auth::jwt::{JwtKeys, SigningKey};
use crate::auth::password::PasswordHasherPool;
use crate::auth::session::SessionPolicy;
use crate::config::Config;
use crate::mail::{Mailer, Templates};
use crate::store::{SigningKeyRow, Store};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub hasher: PasswordHasherPool,
    pub keys: Arc<JwtKeys>,
    pub mailer: Mailer,
    pub templates: Arc<Templates>,
    pub sessions: SessionPolicy,
    pub clock: Clock,
}

impl AppState {
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        config.validate()?;
        let store = Store::connect(&config.database(), config.database_max_connections).await?;
        let keys = Arc::new(load_keys(&config, &store, clock.now()).await?);
        let hasher = PasswordHasherPool::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            config.max_concurrent_hashes(),
        )
        .await?;
        let mailer = Mailer::new(config.smtp_url.as_ref(), config.mail_from.clone())?;
        let templates = Arc::new(Templates::new(&config.product_name)?);
        let sessions = SessionPolicy::new(
            config.refresh_token_ttl,
            config.session_max_lifetime,
            config.refresh_grace_period,
        )?;
        Ok(Self {
            config: Arc::new(config),
            store,
            hasher,
            keys,
            mailer,
            templates,
            sessions,
            clock,
        })
    }
}

/// The configured key signs; otherwise the key kept in the database (generated on
/// the first start), so restarts and several instances agree. Keys in the database
/// keep verifying either way, so switching to a configured key logs nobody out.
async fn load_keys(config: &Config, store: &Store, now: DateTime<Utc>) -> anyhow::Result<JwtKeys> {
    let configured = config
        .signing_key_pem()?
        .map(|pem| SigningKey::from_pem(&pem).map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY: {e}")))
        .transpose()?;
    let candidate = match configured {
        Some(_) => None,
        None => {
            let key = SigningKey::generate()?;
            Some(SigningKeyRow {
                kid: key.kid,
                private_key: key.pkcs8_der,
                created_at: now,
                retired_at: None,
            })
        }
    };
    let mut stored = store
        .signing_keys(candidate, now)
        .await?
        .into_iter()
        .map(|row| SigningKey::from_pkcs8_der(row.private_key))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let current = match configured {
        Some(key) => key,
        None if stored.is_empty() => anyhow::bail!("no signing key could be stored"),
        None => stored.remove(0),
    };
    JwtKeys::new(
        current,
        stored,
        config.jwt_issuer(),
        config.jwt_audience.clone(),
        config.access_token_ttl,
    )
}

/// Wall-clock time with an adjustable offset. Production never moves it; tests
/// move it to cross expiry and grace windows without sleeping.
#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_secs
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}
