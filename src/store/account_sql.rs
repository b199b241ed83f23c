//! Statements on accounts: users, single-use email tokens, sessions and refresh
//! tokens. Written once for both backends; the core strings them together into
//! transactions.

use chrono::{DateTime, Utc};
use sqlx::{Decode, Encode, Executor, FromRow, IntoArguments, Type};
use uuid::Uuid;

use super::backend::{Backend, Sql};
use super::email_key::email_key;
use super::rows::*;

impl<DB> Sql<DB>
where
    DB: Backend,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> Uuid: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'r> Uuid: Decode<'r, DB>,
    for<'r> (Uuid,): FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> SessionUserRow: FromRow<'r, DB::Row>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
    for<'r> LockedRefreshToken: FromRow<'r, DB::Row>,
{
    /// A taken email (compared case-insensitively) is [`StoreError::EmailTaken`].
    pub async fn insert_user(c: &mut DB::Connection, user: &NewUser) -> StoreResult<UserRow> {
        sqlx::query_as(
            "insert into users (id, email, email_key, password_hash, name, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $6)
             returning id, email, password_hash, name, email_verified_at, created_at, updated_at,
                       disabled_at",
        )
        .bind(user.id)
        .bind(user.email.as_str())
        .bind(email_key(&user.email))
        .bind(user.password_hash.as_str())
        .bind(user.name.as_deref())
        .bind(user.created_at)
        .fetch_one(c)
        .await
        .map_err(|e| match &e {
            // SQLite does not name the constraint; the random id never collides.
            sqlx::Error::Database(db)
                if db.is_unique_violation()
                    && db.constraint().is_none_or(|c| c == "users_email_key") =>
            {
                StoreError::EmailTaken
            }
            _ => StoreError::Database(e),
        })
    }

    pub async fn user_by_email(
        c: &mut DB::Connection,
        email: &str,
    ) -> StoreResult<Option<UserRow>> {
        let sql =
            "select id, email, password_hash, name, email_verified_at, created_at, updated_at,
                          disabled_at
                   from users where email_key = $1";
        Ok(sqlx::query_as(sql)
            .bind(email_key(email))
            .fetch_optional(c)
            .await?)
    }

    pub async fn user_by_id(c: &mut DB::Connection, id: Uuid) -> StoreResult<Option<UserRow>> {
        let sql =
            "select id, email, password_hash, name, email_verified_at, created_at, updated_at,
                          disabled_at
                   from users where id = $1";
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(c).await?)
    }

    pub async fn set_password_hash(
        c: &mut DB::Connection,
        user_id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("update users set password_hash = $2, updated_at = $3 where id = $1")
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(c)
            .await?;
        Ok(())
    }

    /// Sets `email_verified_at` unless it is already set.
    pub async fn mark_email_verified(
        c: &mut DB::Connection,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "update users set email_verified_at = coalesce(email_verified_at, $2), updated_at = $2
             where id = $1",
        )
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await?;
        Ok(())
    }

    pub async fn insert_email_token(c: &mut DB::Connection, t: &NewEmailToken) -> StoreResult<()> {
        sqlx::query(
            "insert into email_tokens (token_hash, user_id, purpose, created_at, expires_at)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(&t.digest[..])
        .bind(t.user_id)
        .bind(t.purpose.as_str())
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(c)
        .await?;
        Ok(())
    }

    /// Marks an unused, unexpired token of this purpose used and returns its user.
    /// The conditional update is the lock: of two concurrent uses, one wins.
    pub async fn spend_email_token(
        c: &mut DB::Connection,
        digest: &TokenDigest,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        let row: Option<(Uuid,)> = sqlx::query_as(
            "update email_tokens set used_at = $3
             where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
             returning user_id",
        )
        .bind(&digest[..])
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(c)
        .await?;
        Ok(row.map(|(id,)| id))
    }

    /// The user of an unused, unexpired token of this purpose, without spending it.
    pub async fn email_token_user(
        c: &mut DB::Connection,
        digest: &TokenDigest,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        let row: Option<(Uuid,)> = sqlx::query_as(
            "select user_id from email_tokens
             where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
        )
        .bind(&digest[..])
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(c)
        .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Marks every unused token of this user and purpose used.
    pub async fn spend_all_email_tokens(
        c: &mut DB::Connection,
        user_id: Uuid,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "update email_tokens set used_at = $3
             where user_id = $1 and purpose = $2 and used_at is null",
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(now)
        .execute(c)
        .await?;
        Ok(())
    }

    pub async fn insert_session(c: &mut DB::Connection, s: &NewSession) -> StoreResult<()> {
        sqlx::query(
            "insert into sessions (id, user_id, created_at, last_used_at, idle_expires_at, expires_at,
                                   ip, user_agent, auth_method)
             values ($1, $2, $3, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id)
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.idle_expires_at)
        .bind(s.expires_at)
        .bind(s.ip.as_deref())
        .bind(s.user_agent.as_deref())
        .bind(s.auth_method)
        .execute(c)
        .await?;
        Ok(())
    }

    pub async fn insert_refresh_token(
        c: &mut DB::Connection,
        session_id: Uuid,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into refresh_tokens (token_hash, session_id, created_at) values ($1, $2, $3)",
        )
        .bind(&digest[..])
        .bind(session_id)
        .bind(now)
        .execute(c)
        .await?;
        Ok(())
    }

    /// The token and its session, locked until the transaction ends.
    pub async fn lock_refresh_token(
        c: &mut DB::Connection,
        digest: &TokenDigest,
    ) -> StoreResult<Option<LockedRefreshToken>> {
        Ok(sqlx::query_as(DB::LOCK_REFRESH_TOKEN)
            .bind(&digest[..])
            .fetch_optional(c)
            .await?)
    }

    pub async fn mark_refresh_token_rotated(
        c: &mut DB::Connection,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("update refresh_tokens set rotated_at = $2 where token_hash = $1")
            .bind(&digest[..])
            .bind(now)
            .execute(c)
            .await?;
        Ok(())
    }

    pub async fn touch_session(
        c: &mut DB::Connection,
        session_id: Uuid,
        now: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("update sessions set last_used_at = $2, idle_expires_at = $3 where id = $1")
            .bind(session_id)
            .bind(now)
            .bind(idle_expires_at)
            .execute(c)
            .await?;
        Ok(())
    }

    /// Revokes the user's sessions in `scope` that are not revoked yet; returns
    /// their ids.
    pub async fn revoke_sessions(
        c: &mut DB::Connection,
        user_id: Uuid,
        scope: RevokeScope,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let sql = match scope {
            RevokeScope::One(_) => {
                "update sessions set revoked_at = $2, revoked_reason = $3
                 where user_id = $1 and revoked_at is null and id = $4 returning id"
            }
            RevokeScope::AllExcept(_) => {
                "update sessions set revoked_at = $2, revoked_reason = $3
                 where user_id = $1 and revoked_at is null and id <> $4 returning id"
            }
            RevokeScope::All => {
                "update sessions set revoked_at = $2, revoked_reason = $3
                 where user_id = $1 and revoked_at is null returning id"
            }
        };
        let mut query = sqlx::query_as(sql).bind(user_id).bind(now).bind(reason);
        if let RevokeScope::One(id) | RevokeScope::AllExcept(id) = scope {
            query = query.bind(id);
        }
        let rows: Vec<(Uuid,)> = query.fetch_all(c).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The user of a session that is neither revoked nor expired.
    pub async fn active_session_user(
        c: &mut DB::Connection,
        session_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SessionUserRow>> {
        let sql = "select u.id, u.email, u.password_hash, u.name, u.email_verified_at,
                          u.created_at, u.updated_at, u.disabled_at,
                          exists(select 1 from totp_credentials t
                                 where t.user_id = u.id and t.confirmed_at is not null)
                              as mfa_enabled,
                          s.idle_expires_at as session_idle_expires_at,
                          s.expires_at as session_expires_at
                   from sessions s join users u on u.id = s.user_id
                   where s.id = $1 and s.user_id = $2 and s.revoked_at is null
                     and s.expires_at > $3 and s.idle_expires_at > $3";
        Ok(sqlx::query_as(sql)
            .bind(session_id)
            .bind(user_id)
            .bind(now)
            .fetch_optional(c)
            .await?)
    }

    /// A user's sessions that are neither revoked nor expired, most recently used first.
    pub async fn active_sessions(
        c: &mut DB::Connection,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRow>> {
        let sql = "select id, created_at, last_used_at, idle_expires_at, expires_at, ip, user_agent
                   from sessions
                   where user_id = $1 and revoked_at is null
                     and expires_at > $2 and idle_expires_at > $2
                   order by last_used_at desc, id";
        Ok(sqlx::query_as(sql)
            .bind(user_id)
            .bind(now)
            .fetch_all(c)
            .await?)
    }

    /// Whether the user started a session from this client address since `since`.
    pub async fn has_logged_in_from(
        c: &mut DB::Connection,
        user_id: Uuid,
        ip: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let sql =
            "select id from sessions where user_id = $1 and ip = $2 and created_at > $3 limit 1";
        let found: Option<(Uuid,)> = sqlx::query_as(sql)
            .bind(user_id)
            .bind(ip)
            .bind(since)
            .fetch_optional(c)
            .await?;
        Ok(found.is_some())
    }
}
