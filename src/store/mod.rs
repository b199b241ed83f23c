//! Persistence. Every SQL statement of the service lives below this module, behind
//! the methods of [`Store`]; callers see row types and units of work, never SQL.
//! Each method is one transaction, so a failed request leaves nothing half-written.

mod postgres;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::session::{RefreshDecision, RefreshState};
use crate::auth::tokens::TokenHash;

pub use postgres::Store;

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
