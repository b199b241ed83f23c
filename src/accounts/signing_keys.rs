//! Which key signs access tokens: the configured one, or else the key kept in the
//! database (generated on the first start), so restarts and several instances
//! agree. Keys in the database keep verifying either way, so switching to a
//! configured key logs nobody out.

use chrono::{DateTime, Utc};

use super::crypto::{JwtKeys, SigningKey};
use crate::config::Config;
use crate::store::{SigningKeyRow, Store};

/// How long a retired key still verifies (longer than any access token lives).
const RETIRED_KEYS_VERIFY_FOR: chrono::Duration = chrono::Duration::days(1);

pub(super) async fn load(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<JwtKeys> {
    let configured = config
        .signing_key_pem()?
        .map(|pem| SigningKey::from_pem(&pem).map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY: {e}")))
        .transpose()?;
    let mut db = store.connection().await?;
    if configured.is_none() {
        let key = SigningKey::generate()?;
        let candidate = SigningKeyRow {
            kid: key.kid,
            private_key: key.pkcs8_der,
            created_at: now,
            retired_at: None,
        };
        db.offer_signing_key(&candidate).await?;
    }
    let mut stored = db
        .signing_keys(now - RETIRED_KEYS_VERIFY_FOR)
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
