//! Admin keys: checking the one an operator presents, and making new ones.
//!
//! Keys come from ADMIN_KEYS (named `env:1`, `env:2`… by their place in the
//! list) or from `auth-service admin-keys create --name NAME`, which stores only
//! the key's SHA-256 with its name. Stored keys are looked up on every request,
//! so a new key works at once on every instance.

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::admin::AdminCaller;
use super::crypto::{OpaqueToken, TokenHash};
use super::error::AccountError;
use super::{AccountResult, Accounts};
use crate::store::{NewAdminKey, Store, StoreError};

/// The start of every key `admin-keys create` makes, so a leaked one is easy to
/// recognise (secret scanners, logs).
const KEY_PREFIX: &str = "adm_";
/// Longest name of a stored key.
const MAX_NAME: usize = 64;

impl Accounts {
    /// The operator presenting `presented`. Configured keys are compared by
    /// SHA-256 digest in constant time, every one of them (neither a key nor its
    /// length leaks through timing); stored keys are looked up by digest. Any
    /// other bearer, a user's access token included, is `InvalidAdminKey`.
    pub async fn admin_caller(&self, presented: Option<&str>) -> AccountResult<AdminCaller> {
        let presented = presented.ok_or(AccountError::InvalidAdminKey)?;
        let digest = TokenHash::of(presented).0;
        let mut configured = None;
        for (i, key) in self.config.admin_keys.iter().enumerate() {
            let known = TokenHash::of(key.0.trim()).0;
            if bool::from(known.ct_eq(&digest)) {
                configured = Some(i + 1);
            }
        }
        if let Some(n) = configured {
            let name = format!("env:{n}");
            return Ok(AdminCaller { name });
        }
        let mut db = self.store.connection().await?;
        match db.admin_key_name(&digest).await? {
            Some(name) => Ok(AdminCaller { name }),
            None => Err(AccountError::InvalidAdminKey),
        }
    }

    /// Makes an admin key named `name` and stores its SHA-256: the key itself
    /// exists only in the answer (`auth-service admin-keys create` prints it).
    /// Needs only the database, not a running service.
    pub async fn create_admin_key(
        store: &Store,
        name: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            anyhow::bail!("--name: must be 1 to {MAX_NAME} characters");
        }
        if name.chars().any(char::is_control) || name.starts_with("env:") {
            anyhow::bail!("--name: no control characters, and `env:` is kept for ADMIN_KEYS");
        }
        let key = format!("{KEY_PREFIX}{}", OpaqueToken::generate()?.plaintext);
        let row = NewAdminKey {
            id: Uuid::new_v4(),
            name,
            digest: TokenHash::of(&key).0,
            created_at: now,
        };
        let mut db = store.connection().await?;
        match db.insert_admin_key(&row).await {
            Ok(()) => Ok(key),
            Err(StoreError::AdminKeyNameTaken) => {
                anyhow::bail!("--name: an admin key named {name:?} exists already")
            }
            Err(e) => Err(e.into()),
        }
    }
}
