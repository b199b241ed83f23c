//! Which keys sign and verify access tokens: the configured one, or else the
//! keys kept in the database (generated on the first start), so restarts and
//! several instances agree. Keys in the database keep verifying either way, so
//! switching to a configured key logs nobody out.
//!
//! Rotation (`auth-service keys rotate`, or SIGNING_KEY_ROTATION) retires the
//! current key and stores its successor in one transaction. The successor is
//! dated [`ACTIVATION_DELAY`] ahead: every instance reloads the keys every
//! [`POLL`] (see `key_ring.rs`), so each one verifies and publishes the new key
//! before any instance signs with it, and all switch at the same moment. The
//! retired key stays published while a token it signed may still be valid.

use chrono::{DateTime, Utc};

use super::Accounts;
use super::crypto::{JwtKeys, SigningKey};
use super::key_ring::KeyRing;
use super::sealed_signing_keys::{opened, seal_stored_keys, sealed_row};
use crate::config::Config;
use crate::secrets::SecretsKey;
use crate::store::{SigningKeyRow, Store};

/// How often every instance reads the keys table again.
pub(super) const POLL: std::time::Duration = std::time::Duration::from_secs(2);
/// How far ahead a rotation dates its new key: more than two polls.
const ACTIVATION_DELAY: chrono::Duration = chrono::Duration::seconds(5);
/// How long a retired key outlives the last token it could have signed
/// (clock skew between instances, the verifier's leeway, a poll).
const RETIRED_MARGIN: chrono::Duration = chrono::Duration::seconds(30);

/// What `keys rotate` did.
#[derive(Debug, serde::Serialize)]
pub struct KeyRotation {
    /// The new key's `kid`.
    pub kid: String,
    /// When it starts signing (every instance switches then).
    pub signs_from: DateTime<Utc>,
    /// The key it replaces (`None`: there was none yet).
    pub replaces: Option<String>,
    /// Until when the replaced key stays in the JWKS (its last tokens' expiry
    /// plus a margin), with this configuration's ACCESS_TOKEN_TTL.
    pub replaced_key_published_until: Option<DateTime<Utc>>,
}

/// The configured signing key (JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE), if any.
fn configured_key(config: &Config) -> anyhow::Result<Option<SigningKey>> {
    config
        .signing_key_pem()?
        .map(|pem| SigningKey::from_pem(&pem).map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY: {e}")))
        .transpose()
}

/// How long a retired key keeps verifying and stays published.
fn published_after_retirement(config: &Config) -> anyhow::Result<chrono::Duration> {
    Ok(chrono::Duration::from_std(config.access_token_ttl)? + RETIRED_MARGIN)
}

/// At start-up: seals the keys stored in plaintext by earlier versions, stores
/// a first key when none signs yet (concurrent first starts: one insert wins,
/// the others adopt its key), then loads.
pub(super) async fn load_at_start(
    config: &Config,
    store: &Store,
    secrets: &SecretsKey,
    now: DateTime<Utc>,
) -> anyhow::Result<KeyRing> {
    let configured = configured_key(config)?;
    if let Some(period) = config.signing_key_rotation {
        anyhow::ensure!(
            configured.is_none(),
            "SIGNING_KEY_ROTATION rotates the keys kept in the database: unset JWT_PRIVATE_KEY(_FILE), or rotate that key yourself"
        );
        anyhow::ensure!(
            period > config.access_token_ttl,
            "SIGNING_KEY_ROTATION must be longer than ACCESS_TOKEN_TTL"
        );
    }
    seal_stored_keys(store, secrets).await?;
    if configured.is_none() {
        let key = SigningKey::generate()?;
        let mut db = store.connection().await?;
        db.offer_signing_key(&sealed_row(&key, now, secrets)?)
            .await?;
    }
    let (keys, _) = load(config, configured.clone(), store, secrets, now).await?;
    let remembered = config.session_cache.session_cache_size;
    Ok(KeyRing::new(keys, configured, remembered))
}

/// The keys as the database holds them at `now` (the one signing, the
/// successor of a rotation not yet in force, those still verifying), and when
/// the newest stored key was (or will be) put in force.
pub(super) async fn load(
    config: &Config,
    configured: Option<SigningKey>,
    store: &Store,
    secrets: &SecretsKey,
    now: DateTime<Utc>,
) -> anyhow::Result<(JwtKeys, Option<DateTime<Utc>>)> {
    let mut db = store.connection().await?;
    let rows = db
        .signing_keys(now - published_after_retirement(config)?)
        .await?;
    let rows = rows
        .into_iter()
        .map(|row| opened(row, secrets))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let newest = rows.iter().map(|r| r.created_at).max();
    let (current, next, previous) = arrange(configured, rows, now)?;
    let to_key = |row: SigningKeyRow| SigningKey::from_pkcs8_der(row.private_key);
    let previous = previous
        .into_iter()
        .map(to_key)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let keys = JwtKeys::new(
        current,
        previous,
        config.jwt_issuer(),
        config.jwt_audience.clone(),
        config.access_token_ttl,
    )?;
    let keys = match next {
        Some(row) => {
            let from = row.created_at;
            keys.with_next(to_key(row)?, from)?
        }
        None => keys,
    };
    Ok((keys, newest))
}

type Arranged = (SigningKey, Option<SigningKeyRow>, Vec<SigningKeyRow>);

/// Sorts stored keys into (signing now, signing later, verifying only). A
/// key signs from its `created_at` until its `retired_at`.
fn arrange(
    configured: Option<SigningKey>,
    rows: Vec<SigningKeyRow>,
    now: DateTime<Utc>,
) -> anyhow::Result<Arranged> {
    if let Some(key) = configured {
        return Ok((key, None, rows));
    }
    let signs_now = |r: &SigningKeyRow| r.created_at <= now && r.retired_at.is_none_or(|t| t > now);
    let newest = |a: &SigningKeyRow, b: &SigningKeyRow| a.created_at.cmp(&b.created_at);
    let current = rows
        .iter()
        .filter(|r| signs_now(r))
        .max_by(|a, b| newest(a, b));
    let next = rows
        .iter()
        .filter(|r| r.created_at > now)
        .max_by(|a, b| newest(a, b));
    let (current_kid, next_kid) = match (current, next) {
        (Some(c), n) => (c.kid.clone(), n.map(|n| n.kid.clone())),
        // Nothing in force (only a successor, clocks apart): it signs at once.
        (None, Some(n)) => (n.kid.clone(), None),
        (None, None) => anyhow::bail!("no signing key could be stored"),
    };
    let (mut current, mut next, mut previous) = (None, None, Vec::new());
    for row in rows {
        if row.kid == current_kid {
            current = Some(SigningKey::from_pkcs8_der(row.private_key)?);
        } else if Some(&row.kid) == next_kid.as_ref() {
            next = Some(row);
        } else {
            previous.push(row);
        }
    }
    let current = current.ok_or_else(|| anyhow::anyhow!("signing key vanished"))?;
    Ok((current, next, previous))
}

/// Retires the current key if it was created at or before `created_by` and
/// stores a successor signing from `now + ACTIVATION_DELAY`, in one
/// transaction. `None`: no key that old (or a concurrent rotation won).
pub(super) async fn rotate(
    config: &Config,
    store: &Store,
    secrets: &SecretsKey,
    now: DateTime<Utc>,
    created_by: DateTime<Utc>,
) -> anyhow::Result<Option<KeyRotation>> {
    let key = SigningKey::generate()?;
    let signs_from = now + ACTIVATION_DELAY;
    let mut db = store.begin().await?;
    let Some(replaced) = db.retire_signing_key(signs_from, created_by).await? else {
        return Ok(None);
    };
    db.insert_signing_key(&sealed_row(&key, signs_from, secrets)?)
        .await?;
    db.commit().await?;
    Ok(Some(KeyRotation {
        kid: key.kid,
        signs_from,
        replaces: Some(replaced),
        replaced_key_published_until: Some(signs_from + published_after_retirement(config)?),
    }))
}

impl Accounts {
    /// `auth-service keys rotate`: a new signing key takes over on every
    /// instance within seconds; the old one stays in the JWKS while tokens it
    /// signed may be valid. Needs only the database, not a running service.
    /// With a configured key there is nothing to rotate here.
    pub async fn rotate_signing_key(
        config: &Config,
        store: &Store,
        secrets: &SecretsKey,
        now: DateTime<Utc>,
    ) -> anyhow::Result<KeyRotation> {
        if configured_key(config)?.is_some() {
            anyhow::bail!(
                "JWT_PRIVATE_KEY(_FILE) is set: that key signs, not the keys in the database; rotate it by configuring a new one"
            );
        }
        // Any current key is old enough, even a successor not yet in force.
        let anything = now + ACTIVATION_DELAY;
        if let Some(rotation) = rotate(config, store, secrets, now, anything).await? {
            return Ok(rotation);
        }
        // No key yet (no instance ever started on this database): the first.
        let key = SigningKey::generate()?;
        let mut db = store.begin().await?;
        db.insert_signing_key(&sealed_row(&key, now, secrets)?)
            .await?;
        db.commit().await?;
        Ok(KeyRotation {
            kid: key.kid,
            signs_from: now,
            replaces: None,
            replaced_key_published_until: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(created: i64, retired: Option<i64>) -> (String, SigningKeyRow) {
        let key = SigningKey::generate().expect("key");
        let at = |s: i64| DateTime::from_timestamp(s, 0).expect("time");
        let row = SigningKeyRow {
            kid: key.kid.clone(),
            private_key: key.pkcs8_der,
            created_at: at(created),
            retired_at: retired.map(at),
            sealed: false,
        };
        (key.kid, row)
    }

    #[test]
    fn a_rotation_signs_with_the_old_key_until_its_successor_is_due() {
        let now = DateTime::from_timestamp(1_000, 0).expect("time");
        let (new, new_row) = row(1_005, None);
        let (old, old_row) = row(10, Some(1_005));
        let (older, older_row) = row(1, Some(10));
        let rows = vec![new_row, old_row, older_row];
        let (current, next, previous) = arrange(None, rows, now).expect("arranged");
        assert_eq!(current.kid, old);
        assert_eq!(next.map(|r| r.kid), Some(new));
        let previous: Vec<String> = previous.into_iter().map(|r| r.kid).collect();
        assert_eq!(previous, [older]);
    }
}
