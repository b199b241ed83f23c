//! [`Db`] methods of the second factor (`mfa_sql.rs`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::super::backend::Sql;
use super::super::rows::*;
use super::{Db, Links};

impl Db {
    /// A new unconfirmed TOTP secret, replacing an unconfirmed one; false when
    /// the user has a confirmed authenticator (nothing changes then).
    pub async fn start_totp(
        &mut self,
        user: Uuid,
        sealed_secret: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        run!(self.start_totp(user, sealed_secret, now))
    }

    pub async fn totp(&mut self, user: Uuid) -> StoreResult<Option<TotpRow>> {
        run!(self.totp(user))
    }

    /// Accepts the time step `step` once: false when it is not later than the
    /// last accepted one.
    pub async fn spend_totp_step(&mut self, user: Uuid, step: i64) -> StoreResult<bool> {
        run!(self.spend_totp_step(user, step))
    }

    pub async fn confirm_totp(&mut self, user: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        run!(self.confirm_totp(user, now))
    }

    /// Forgets the authenticator, recovery codes and pending MFA steps.
    pub async fn delete_mfa(&mut self, user: Uuid) -> StoreResult<()> {
        run!(self.delete_mfa(user))
    }

    pub async fn replace_recovery_codes(
        &mut self,
        user: Uuid,
        digests: &[TokenDigest],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.replace_recovery_codes(user, digests, now))
    }

    /// Spends an unused recovery code; false when there was none.
    pub async fn spend_recovery_code(
        &mut self,
        user: Uuid,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        run!(self.spend_recovery_code(user, digest, now))
    }

    pub async fn insert_mfa_challenge(
        &mut self,
        digest: &TokenDigest,
        user: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.insert_mfa_challenge(digest, user, now, expires_at))
    }

    pub async fn mfa_challenge(
        &mut self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<MfaChallengeRow>> {
        run!(self.mfa_challenge(digest))
    }

    /// Spends a live challenge (unused, unexpired, under `max_failures`).
    pub async fn spend_mfa_challenge(
        &mut self,
        digest: &TokenDigest,
        max_failures: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        run!(self.spend_mfa_challenge(digest, max_failures, now))
    }

    pub async fn fail_mfa_challenge(&mut self, digest: &TokenDigest) -> StoreResult<()> {
        run!(self.fail_mfa_challenge(digest))
    }
}
