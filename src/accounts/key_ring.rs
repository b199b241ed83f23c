//! The signing keys this instance uses, reloaded from the database every few
//! seconds (see `signing_keys.rs`), so a rotation made anywhere (another
//! instance, `auth-service keys rotate`) reaches every instance.
//!
//! Polling rather than the revocation broadcast: on SQLite the broadcast stays
//! inside one process, so it could never carry a rotation made by the command
//! line; a poll also cannot miss an announcement, and SIGNING_KEY_ROTATION
//! needs a periodic look at the key's age anyway. It costs one small read
//! every two seconds.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Accounts;
use super::auth_method::AuthMethod;
use super::crypto::{Claims, IssuedToken, TokenError};
use super::crypto::{JwtKeys, PublicKey, SigningKey};
use super::signing_keys::{self, POLL};
use super::verified_tokens::VerifiedTokens;

pub(super) struct KeyRing {
    keys: RwLock<Arc<JwtKeys>>,
    /// JWT_PRIVATE_KEY(_FILE), which always signs.
    configured: Option<SigningKey>,
    /// Tokens already verified, so a repeated one skips the signature check.
    verified: VerifiedTokens,
}

impl KeyRing {
    /// Remembers up to `remembered` verified tokens (`0`: none).
    pub(super) fn new(keys: JwtKeys, configured: Option<SigningKey>, remembered: u64) -> Self {
        Self {
            keys: RwLock::new(Arc::new(keys)),
            configured,
            verified: VerifiedTokens::new(remembered),
        }
    }

    fn get(&self) -> Arc<JwtKeys> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, keys: JwtKeys) -> Arc<JwtKeys> {
        let mut held = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *held, Arc::new(keys))
    }

    pub(super) fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        email: &str,
        email_verified: bool,
        method: AuthMethod,
        now: DateTime<Utc>,
    ) -> anyhow::Result<IssuedToken> {
        let keys = self.get();
        keys.issue(user_id, session_id, email, email_verified, method, now)
    }

    /// Signature and claims of `token`, from memory when it verified before
    /// (and its key still verifies).
    pub(super) fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let keys = self.get();
        if let Some(claims) = self.verified.get(token, now, |kid| keys.verifies(kid)) {
            return Ok(claims);
        }
        let (claims, kid) = keys.verify_signed(token, now)?;
        self.verified.keep(token, &kid, &claims, now);
        Ok(claims)
    }

    pub(super) fn public_keys(&self) -> Vec<PublicKey> {
        self.get().public_keys().to_vec()
    }

    pub(super) fn current_kid(&self) -> String {
        self.get().current_kid().to_owned()
    }
}

impl Accounts {
    /// Reloads the signing keys every two seconds until `stop`, rotating first
    /// when SIGNING_KEY_ROTATION says the newest key is due (one instance wins
    /// that race; see `signing_keys::rotate`).
    pub async fn keep_signing_keys_fresh(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
            if let Err(e) = self.refresh_signing_keys().await {
                tracing::warn!("cannot reload the signing keys: {e:#}");
            }
        }
    }

    async fn refresh_signing_keys(&self) -> anyhow::Result<()> {
        let configured = self.keys.configured.clone();
        let now = self.clock.now();
        let (mut keys, newest) = signing_keys::load(
            &self.config,
            configured.clone(),
            &self.store,
            &self.secrets,
            now,
        )
        .await?;
        if let (Some(period), Some(newest), None) =
            (self.config.signing_key_rotation, newest, &configured)
        {
            let due_by = now - chrono::Duration::from_std(period)?;
            if newest <= due_by
                && let Some(r) =
                    signing_keys::rotate(&self.config, &self.store, &self.secrets, now, due_by)
                        .await?
            {
                tracing::info!(kid = %r.kid, signs_from = %r.signs_from, "signing key rotated (SIGNING_KEY_ROTATION)");
                (keys, _) =
                    signing_keys::load(&self.config, configured, &self.store, &self.secrets, now)
                        .await?;
            }
        }
        let kid = keys.current_kid().to_owned();
        let before = self.keys.replace(keys);
        if before.current_kid() != kid {
            tracing::info!(%kid, "access tokens are now signed with a new key");
        }
        Ok(())
    }
}
