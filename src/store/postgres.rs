//! PostgreSQL implementation of the store.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::migrate::MigrateDatabase as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{
    EmailTokenPurpose, NewEmailToken, NewSession, NewUser, RefreshOutcome, RefreshRule,
    RevokeScope, SessionRef, SigningKeyRow, StoreError, StoreResult, UserRow,
};
use crate::auth::session::{RefreshDecision, RefreshState};
use crate::auth::tokens::TokenHash;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects, creating the database when the server has none of that name,
    /// and applies pending migrations.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options =
            PgConnectOptions::from_str(url).context("DATABASE_URL: not a valid postgres:// URL")?;
        let target = format!("{}:{}", options.get_host(), options.get_port());
        let exists = Postgres::database_exists(url).await.with_context(|| {
            format!(
                "cannot reach PostgreSQL at {target} (DATABASE_URL). Start PostgreSQL there \
                 or point DATABASE_URL at a reachable server"
            )
        })?;
        if !exists {
            tracing::info!(server = %target, "creating database");
            Postgres::create_database(url)
                .await
                .context("DATABASE_URL: the database does not exist and could not be created")?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {target}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("applying database migrations")?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Creates a user, optionally with a verification token or a first session,
    /// all in one transaction.
    pub async fn create_user(
        &self,
        user: NewUser,
        email_token: Option<NewEmailToken>,
        session: Option<NewSession>,
    ) -> StoreResult<UserRow> {
        let mut tx = self.pool.begin().await?;
        let row: UserRow = sqlx::query_as(
            "insert into users (id, email, password_hash, name, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5)
             returning id, email, password_hash, name, email_verified_at, created_at, updated_at",
        )
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(&user.name)
        .bind(user.now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.constraint() == Some("users_email_key") => {
                StoreError::EmailTaken
            }
            _ => StoreError::Database(e),
        })?;
        if let Some(token) = email_token {
            insert_email_token(&mut tx, row.id, &token, user.now).await?;
        }
        if let Some(session) = session {
            insert_session(&mut tx, &session).await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        let sql = "select id, email, password_hash, name, email_verified_at, created_at, updated_at
                   from users where lower(email) = lower($1)";
        Ok(sqlx::query_as(sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_password_hash(
        &self,
        user_id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("update users set password_hash = $2, updated_at = $3 where id = $1")
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_session(&mut tx, &session).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user of a session that is neither revoked nor expired.
    pub async fn active_session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        let sql = "select u.id, u.email, u.password_hash, u.name, u.email_verified_at,
                          u.created_at, u.updated_at
                   from sessions s join users u on u.id = s.user_id
                   where s.id = $1 and s.user_id = $2 and s.revoked_at is null
                     and s.expires_at > $3 and s.idle_expires_at > $3";
        Ok(sqlx::query_as(sql)
            .bind(session_id)
            .bind(user_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Exchanges a refresh token under row locks, so concurrent refreshes of one
    /// token are serialised: the first rotates it, the others see it rotated.
    /// `rule` decides; the store only carries the decision out.
    pub async fn refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        now: DateTime<Utc>,
        rule: RefreshRule<'_>,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.pool.begin().await?;
        let Some(locked) = lock_refresh_token(&mut tx, presented).await? else {
            return Ok(RefreshOutcome::Refused);
        };
        let outcome = match rule(&locked.state()) {
            RefreshDecision::Refuse => RefreshOutcome::Refused,
            RefreshDecision::RevokeForReuse => {
                revoke(
                    &mut tx,
                    locked.user_id,
                    RevokeScope::One(locked.session_id),
                    "refresh_token_reuse",
                    now,
                )
                .await?;
                RefreshOutcome::Revoked {
                    session_id: locked.session_id,
                }
            }
            decision @ (RefreshDecision::Rotate { idle_expires_at }
            | RefreshDecision::GraceReissue { idle_expires_at }) => {
                if matches!(decision, RefreshDecision::Rotate { .. }) {
                    sqlx::query("update refresh_tokens set rotated_at = $2 where token_hash = $1")
                        .bind(&presented.0[..])
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_refresh_token(&mut tx, locked.session_id, successor, now).await?;
                sqlx::query(
                    "update sessions set last_used_at = $2, idle_expires_at = $3 where id = $1",
                )
                .bind(locked.session_id)
                .bind(now)
                .bind(idle_expires_at)
                .execute(&mut *tx)
                .await?;
                let user = user_by_id(&mut tx, locked.user_id).await?;
                RefreshOutcome::Issued {
                    session_id: locked.session_id,
                    user,
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Resolves a refresh token that `rule` still accepts to its session, without
    /// issuing anything. A reused token revokes its session here too.
    pub async fn session_of_refresh_token(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
        rule: RefreshRule<'_>,
    ) -> StoreResult<Option<SessionRef>> {
        let mut tx = self.pool.begin().await?;
        let Some(locked) = lock_refresh_token(&mut tx, presented).await? else {
            return Ok(None);
        };
        let found = match rule(&locked.state()) {
            RefreshDecision::Rotate { .. } | RefreshDecision::GraceReissue { .. } => {
                Some(SessionRef {
                    session_id: locked.session_id,
                    user_id: locked.user_id,
                })
            }
            RefreshDecision::RevokeForReuse => {
                revoke(
                    &mut tx,
                    locked.user_id,
                    RevokeScope::One(locked.session_id),
                    "refresh_token_reuse",
                    now,
                )
                .await?;
                None
            }
            RefreshDecision::Refuse => None,
        };
        tx.commit().await?;
        Ok(found)
    }

    /// Revokes sessions of one user; returns how many were still active.
    pub async fn revoke_sessions(
        &self,
        user_id: Uuid,
        scope: RevokeScope,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let n = revoke(&mut tx, user_id, scope, reason, now).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Spends a single-use email token of the given purpose. For `VerifyEmail`
    /// marks the address verified. `None`: unknown, expired, used or other purpose.
    pub async fn use_email_token(
        &self,
        hash: &TokenHash,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        let mut tx = self.pool.begin().await?;
        // The conditional update is the lock: of two concurrent uses, one wins.
        let user_id: Option<Uuid> = sqlx::query_scalar(
            "update email_tokens set used_at = $3
             where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
             returning user_id",
        )
        .bind(&hash.0[..])
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        if purpose == EmailTokenPurpose::VerifyEmail {
            sqlx::query(
                "update users set email_verified_at = coalesce(email_verified_at, $2), updated_at = $2
                 where id = $1",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let user = user_by_id(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(Some(user))
    }

    /// Stored signing keys that still verify, the current one first. `candidate`
    /// becomes the current key if there is none yet.
    pub async fn signing_keys(
        &self,
        candidate: Option<SigningKeyRow>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SigningKeyRow>> {
        if let Some(key) = candidate {
            // Concurrent first starts: the partial unique index lets one insert win.
            sqlx::query(
                "insert into signing_keys (kid, private_key, created_at) values ($1, $2, $3)
                 on conflict do nothing",
            )
            .bind(&key.kid)
            .bind(&key.private_key)
            .bind(key.created_at)
            .execute(&self.pool)
            .await?;
        }
        Ok(sqlx::query_as(
            "select kid, private_key, created_at, retired_at from signing_keys
             where retired_at is null or retired_at > $1
             order by retired_at desc nulls first, created_at desc",
        )
        .bind(now - chrono::Duration::days(1))
        .fetch_all(&self.pool)
        .await?)
    }
}

/// A refresh token and its session, read under row locks.
#[derive(sqlx::FromRow)]
struct LockedRefreshToken {
    session_id: Uuid,
    user_id: Uuid,
    rotated_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    idle_expires_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl LockedRefreshToken {
    fn state(&self) -> RefreshState {
        RefreshState {
            session_revoked: self.revoked_at.is_some(),
            idle_expires_at: self.idle_expires_at,
            expires_at: self.expires_at,
            token_rotated_at: self.rotated_at,
        }
    }
}

async fn lock_refresh_token(
    tx: &mut Transaction<'_, Postgres>,
    hash: &TokenHash,
) -> StoreResult<Option<LockedRefreshToken>> {
    Ok(sqlx::query_as(
        "select s.id as session_id, s.user_id, t.rotated_at, s.revoked_at,
                s.idle_expires_at, s.expires_at
         from refresh_tokens t join sessions s on s.id = t.session_id
         where t.token_hash = $1
         for update of t, s",
    )
    .bind(&hash.0[..])
    .fetch_optional(&mut **tx)
    .await?)
}

async fn user_by_id(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> StoreResult<UserRow> {
    let sql = "select id, email, password_hash, name, email_verified_at, created_at, updated_at
               from users where id = $1";
    Ok(sqlx::query_as(sql).bind(id).fetch_one(&mut **tx).await?)
}

async fn insert_session(tx: &mut Transaction<'_, Postgres>, s: &NewSession) -> StoreResult<()> {
    sqlx::query(
        "insert into sessions (id, user_id, created_at, last_used_at, idle_expires_at, expires_at, ip, user_agent)
         values ($1, $2, $3, $3, $4, $5, $6, $7)",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.now)
    .bind(s.idle_expires_at)
    .bind(s.expires_at)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .execute(&mut **tx)
    .await?;
    insert_refresh_token(tx, s.id, &s.refresh_token, s.now).await
}

async fn insert_refresh_token(
    tx: &mut Transaction<'_, Postgres>,
    session_id: Uuid,
    hash: &TokenHash,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "insert into refresh_tokens (token_hash, session_id, created_at) values ($1, $2, $3)",
    )
    .bind(&hash.0[..])
    .bind(session_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_email_token(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    t: &NewEmailToken,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "insert into email_tokens (token_hash, user_id, purpose, created_at, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(&t.hash.0[..])
    .bind(user_id)
    .bind(t.purpose.as_str())
    .bind(now)
    .bind(t.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn revoke(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    scope: RevokeScope,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let (sql, session): (&'static str, Option<Uuid>) = match scope {
        RevokeScope::One(id) => (
            "update sessions set revoked_at = $2, revoked_reason = $3
             where user_id = $1 and revoked_at is null and id = $4",
            Some(id),
        ),
        RevokeScope::AllExcept(id) => (
            "update sessions set revoked_at = $2, revoked_reason = $3
             where user_id = $1 and revoked_at is null and id <> $4",
            Some(id),
        ),
        RevokeScope::All => (
            "update sessions set revoked_at = $2, revoked_reason = $3
             where user_id = $1 and revoked_at is null and $4::uuid is null",
            None,
        ),
    };
    let done = sqlx::query(sql)
        .bind(user_id)
        .bind(now)
        .bind(reason)
        .bind(session)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}
