//! Persistence. Every SQL statement of the service lives below this module, behind
//! the methods of [`Store`]; callers see row types and units of work, never SQL,
//! and never which backend runs. Each method is one transaction, so a failed
//! request leaves nothing half-written.

mod methods;
mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::session::{RefreshDecision, RefreshState};
use crate::auth::tokens::TokenHash;
use crate::config::DatabaseUrl;

/// PostgreSQL for production, an embedded SQLite file for zero set-up.
#[derive(Clone)]
pub enum Store {
    Postgres(postgres::PgStore),
    Sqlite(sqlite::SqliteStore),
}

/// Runs the same method on whichever backend this is.
macro_rules! dispatch {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match $self {
            Store::Postgres(s) => s.$method($($arg),*).await,
            Store::Sqlite(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the database (creating it when missing) and applies pending migrations.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Self> {
        Ok(match url {
            DatabaseUrl::Postgres(url) => {
                Store::Postgres(postgres::PgStore::connect(url, max_connections).await?)
            }
            DatabaseUrl::Sqlite(path) => {
                Store::Sqlite(sqlite::SqliteStore::connect(path, max_connections).await?)
            }
        })
    }

    /// What a log line should say about where the data is.
    pub fn describe(&self) -> String {
        match self {
            Store::Postgres(s) => s.describe(),
            Store::Sqlite(s) => s.describe(),
        }
    }

    pub async fn close(&self) {
        dispatch!(self.close())
    }

    pub async fn ping(&self) -> StoreResult<()> {
        dispatch!(self.ping())
    }

    /// Creates a user, optionally with a verification token or a first session,
    /// all in one transaction. A taken email is [`StoreError::EmailTaken`].
    pub async fn create_user(
        &self,
        user: NewUser,
        email_token: Option<NewEmailToken>,
        session: Option<NewSession>,
    ) -> StoreResult<UserRow> {
        dispatch!(self.create_user(user, email_token, session))
    }

    /// The user with this email, compared case-insensitively.
    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        dispatch!(self.user_by_email(email))
    }

    pub async fn set_password_hash(
        &self,
        user_id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self.set_password_hash(user_id, hash, now))
    }

    /// A session with its first refresh token.
    pub async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        dispatch!(self.create_session(session))
    }

    /// The user of a session that is neither revoked nor expired.
    pub async fn active_session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        dispatch!(self.active_session_user(session_id, user_id, now))
    }

    /// Exchanges a refresh token under a lock, so concurrent refreshes of one token
    /// are serialised: the first rotates it, the others see it rotated. `rule`
    /// decides; the store carries the decision out and stores `successor`.
    pub async fn refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        now: DateTime<Utc>,
        rule: RefreshRule<'_>,
    ) -> StoreResult<RefreshOutcome> {
        dispatch!(self.refresh(presented, successor, now, rule))
    }

    /// Resolves a refresh token that `rule` still accepts to its session, without
    /// issuing anything. A reused token revokes its session here too.
    pub async fn session_of_refresh_token(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
        rule: RefreshRule<'_>,
    ) -> StoreResult<Option<SessionRef>> {
        dispatch!(self.session_of_refresh_token(presented, now, rule))
    }

    /// Revokes sessions of one user; returns how many were still active.
    pub async fn revoke_sessions(
        &self,
        user_id: Uuid,
        scope: RevokeScope,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        dispatch!(self.revoke_sessions(user_id, scope, reason, now))
    }

    /// Spends a single-use email token of the given purpose (for `VerifyEmail`,
    /// marking the address verified). `None`: unknown, expired, used, or issued
    /// for another purpose.
    pub async fn use_email_token(
        &self,
        hash: &TokenHash,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        dispatch!(self.use_email_token(hash, purpose, now))
    }

    /// Stored signing keys that still verify, the current one first. `candidate`
    /// becomes the current key if there is none yet.
    pub async fn signing_keys(
        &self,
        candidate: Option<SigningKeyRow>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SigningKeyRow>> {
        dispatch!(self.signing_keys(candidate, now))
    }
}

/// The form of an email that uniqueness and lookups use. Computed here rather than
/// with SQL `lower()`, whose Unicode rules differ between the backends.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub name: Option<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub name: Option<String>,
    pub now: DateTime<Utc>,
}

/// A session with its first refresh token.
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub now: DateTime<Utc>,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub refresh_token: TokenHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenPurpose {
    VerifyEmail,
    PasswordReset,
}

impl EmailTokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            EmailTokenPurpose::VerifyEmail => "verify_email",
            EmailTokenPurpose::PasswordReset => "password_reset",
        }
    }
}

pub struct NewEmailToken {
    pub hash: TokenHash,
    pub purpose: EmailTokenPurpose,
    pub expires_at: DateTime<Utc>,
}

/// Result of presenting a refresh token.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// A successor token was stored for this session.
    Issued { session_id: Uuid, user: UserRow },
    /// Reuse after the grace period: the session is now revoked.
    Revoked { session_id: Uuid },
    /// Unknown token, or its session is revoked or expired.
    Refused,
}

/// A refresh token that is still acceptable, resolved to its session.
#[derive(Debug, Clone, Copy)]
pub struct SessionRef {
    pub session_id: Uuid,
    pub user_id: Uuid,
}

/// Which of a user's sessions to revoke.
#[derive(Debug, Clone, Copy)]
pub enum RevokeScope {
    One(Uuid),
    AllExcept(Uuid),
    All,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub private_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// Rules the store applies inside its refresh transaction, after locking the token.
pub type RefreshRule<'a> = &'a (dyn Fn(&RefreshState) -> RefreshDecision + Send + Sync);

/// A refresh token and its session, read under the backend's lock.
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
