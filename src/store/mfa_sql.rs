//! Statements of the second factor: TOTP authenticators, recovery codes, the
//! pending MFA step of a login, and a session's auth method. Written once for
//! both backends; every "spend" is one conditional statement, so of two
//! concurrent uses (on any instance) exactly one wins.

use chrono::{DateTime, Utc};
use sqlx::{Decode, Encode, Executor, FromRow, IntoArguments, Type};
use uuid::Uuid;

use super::backend::{Backend, Sql};
use super::rows::*;

impl<DB> Sql<DB>
where
    DB: Backend,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> Uuid: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> Uuid: Decode<'r, DB>,
    for<'r> (Uuid,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> TotpRow: FromRow<'r, DB::Row>,
    for<'r> MfaChallengeRow: FromRow<'r, DB::Row>,
{
    /// Stores a new unconfirmed secret, replacing an unconfirmed one; returns
    /// false (and changes nothing) when the user has a confirmed authenticator.
    pub async fn start_totp(
        c: &mut DB::Connection,
        user_id: Uuid,
        sealed_secret: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let stored: Option<(Uuid,)> = sqlx::query_as(
            "insert into totp_credentials (user_id, sealed_secret, created_at)
             values ($1, $2, $3)
             on conflict (user_id) do update
                 set sealed_secret = excluded.sealed_secret, created_at = excluded.created_at,
                     last_used_step = null
                 where totp_credentials.confirmed_at is null
             returning user_id",
        )
        .bind(user_id)
        .bind(sealed_secret)
        .bind(now)
        .fetch_optional(c)
        .await?;
        Ok(stored.is_some())
    }

    pub async fn totp(c: &mut DB::Connection, user_id: Uuid) -> StoreResult<Option<TotpRow>> {
        Ok(sqlx::query_as(
            "select sealed_secret, confirmed_at, last_used_step from totp_credentials
             where user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(c)
        .await?)
    }

    /// Records `step` as the last accepted one unless it is not later than the
    /// last; returns whether it was (false: a replay, or no authenticator).
    pub async fn spend_totp_step(
        c: &mut DB::Connection,
        user_id: Uuid,
        step: i64,
    ) -> StoreResult<bool> {
        let spent: Option<(Uuid,)> = sqlx::query_as(
            "update totp_credentials set last_used_step = $2
             where user_id = $1 and (last_used_step is null or last_used_step < $2)
             returning user_id",
        )
        .bind(user_id)
        .bind(step)
        .fetch_optional(c)
        .await?;
        Ok(spent.is_some())
    }

    pub async fn confirm_totp(
        c: &mut DB::Connection,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("update totp_credentials set confirmed_at = $2 where user_id = $1")
            .bind(user_id)
            .bind(now)
            .execute(c)
            .await?;
        Ok(())
    }

    /// Forgets the authenticator, the recovery codes and pending MFA steps.
    pub async fn delete_mfa(c: &mut DB::Connection, user_id: Uuid) -> StoreResult<()> {
        for sql in [
            "delete from totp_credentials where user_id = $1",
            "delete from recovery_codes where user_id = $1",
            "delete from mfa_challenges where user_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *c).await?;
        }
        Ok(())
    }

    /// Replaces the user's recovery codes with these digests.
    pub async fn replace_recovery_codes(
        c: &mut DB::Connection,
        user_id: Uuid,
        digests: &[TokenDigest],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *c)
            .await?;
        for digest in digests {
            sqlx::query(
                "insert into recovery_codes (user_id, code_hash, created_at) values ($1, $2, $3)",
            )
            .bind(user_id)
            .bind(&digest[..])
            .bind(now)
            .execute(&mut *c)
            .await?;
        }
        Ok(())
    }

    /// Marks an unused recovery code of the user used; returns whether there was one.
    pub async fn spend_recovery_code(
        c: &mut DB::Connection,
        user_id: Uuid,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let spent: Option<(Uuid,)> = sqlx::query_as(
            "update recovery_codes set used_at = $3
             where user_id = $1 and code_hash = $2 and used_at is null
             returning user_id",
        )
        .bind(user_id)
        .bind(&digest[..])
        .bind(now)
        .fetch_optional(c)
        .await?;
        Ok(spent.is_some())
    }

    pub async fn insert_mfa_challenge(
        c: &mut DB::Connection,
        digest: &TokenDigest,
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into mfa_challenges (token_hash, user_id, created_at, expires_at)
             values ($1, $2, $3, $4)",
        )
        .bind(&digest[..])
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await?;
        Ok(())
    }

    pub async fn mfa_challenge(
        c: &mut DB::Connection,
        digest: &TokenDigest,
    ) -> StoreResult<Option<MfaChallengeRow>> {
        Ok(sqlx::query_as(
            "select user_id, expires_at, failed_attempts, used_at from mfa_challenges
             where token_hash = $1",
        )
        .bind(&digest[..])
        .fetch_optional(c)
        .await?)
    }

    /// Marks a challenge used if it is still unused, unexpired and has fewer
    /// than `max_failures` failures; returns whether it was.
    pub async fn spend_mfa_challenge(
        c: &mut DB::Connection,
        digest: &TokenDigest,
        max_failures: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let spent: Option<(Uuid,)> = sqlx::query_as(
            "update mfa_challenges set used_at = $2
             where token_hash = $1 and used_at is null and expires_at > $2
               and failed_attempts < $3
             returning user_id",
        )
        .bind(&digest[..])
        .bind(now)
        .bind(max_failures)
        .fetch_optional(c)
        .await?;
        Ok(spent.is_some())
    }

    pub async fn fail_mfa_challenge(
        c: &mut DB::Connection,
        digest: &TokenDigest,
    ) -> StoreResult<()> {
        sqlx::query(
            "update mfa_challenges set failed_attempts = failed_attempts + 1 where token_hash = $1",
        )
        .bind(&digest[..])
        .execute(c)
        .await?;
        Ok(())
    }
}
