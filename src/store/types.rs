//! What goes into and comes out of the store: rows, inputs, outcomes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::session::{RefreshDecision, RefreshState};
use crate::auth::tokens::TokenHash;
use crate::mail::Email;

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
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct LockedRefreshToken {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl LockedRefreshToken {
    pub fn state(&self) -> RefreshState {
        RefreshState {
            session_revoked: self.revoked_at.is_some(),
            idle_expires_at: self.idle_expires_at,
            expires_at: self.expires_at,
            token_rotated_at: self.rotated_at,
        }
    }
}

/// What happened, in the audit trail's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Registered,
    LoginSucceeded,
    LoginFailed,
    RefreshTokenReused,
    LoggedOut,
    SessionRevoked,
    PasswordResetRequested,
    PasswordResetCompleted,
    PasswordChanged,
    EmailVerified,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Registered => "registered",
            EventKind::LoginSucceeded => "login_succeeded",
            EventKind::LoginFailed => "login_failed",
            EventKind::RefreshTokenReused => "refresh_token_reused",
            EventKind::LoggedOut => "logged_out",
            EventKind::SessionRevoked => "session_revoked",
            EventKind::PasswordResetRequested => "password_reset_requested",
            EventKind::PasswordResetCompleted => "password_reset_completed",
            EventKind::PasswordChanged => "password_changed",
            EventKind::EmailVerified => "email_verified",
        }
    }
}

/// Who made the request that caused a change, as recorded on audit events.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An audit event to record. `user_id: None` inside a unit of work that finds
/// the user itself (from a token or an email) is filled with that user.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub actor: Actor,
    pub at: DateTime<Utc>,
}

/// What a change causes besides itself, written in the same transaction: audit
/// events, and mail for the outbox.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub events: Vec<NewEvent>,
    pub mails: Vec<Email>,
}

impl Effects {
    pub fn event(
        kind: EventKind,
        user_id: Option<Uuid>,
        session_id: Option<Uuid>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Self {
        Effects::default().and_event(kind, user_id, session_id, actor, at)
    }

    pub fn and_event(
        mut self,
        kind: EventKind,
        user_id: Option<Uuid>,
        session_id: Option<Uuid>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Self {
        self.events.push(NewEvent {
            kind,
            user_id,
            session_id,
            actor: actor.clone(),
            at,
        });
        self
    }

    pub fn and_mail(mut self, mail: Email) -> Self {
        self.mails.push(mail);
        self
    }
}

/// A recorded audit event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub kind: String,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An active session as its owner sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A message claimed from the outbox for one delivery attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}
