//! The store's own plain data: rows read, rows to write, and its error. Nothing
//! here knows a rule; the core decides what to write and reads what comes back.

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this email already exists")]
    EmailTaken,
    /// An admin key of this name exists already.
    #[error("an admin key with this name already exists")]
    AdminKeyNameTaken,
    /// The credential id of a new passkey is registered already (to anyone).
    #[error("this passkey is registered already")]
    PasskeyTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether the database could not be reached at all (down, refusing, out of
    /// connections, or the pool waited in vain), as opposed to a failed statement.
    pub fn is_unreachable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL: connection exceptions (08…), too many connections, and
            // a server shutting down or starting up (57P01-57P03).
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08") || matches!(&*code, "53300" | "57P01" | "57P02" | "57P03")
            }),
            _ => false,
        }
    }
}

/// SHA-256 of a token, the only form in which tokens are stored.
pub type TokenDigest = [u8; 32];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub name: Option<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set while an operator has the account disabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// The user of an active session, and whether they have a confirmed second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUserRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub mfa_enabled: bool,
    /// When the session ends unless refreshed (idle), and at the latest.
    pub session_idle_expires_at: DateTime<Utc>,
    pub session_expires_at: DateTime<Utc>,
}

pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How the session was authenticated (`password`, `password+totp`, …).
    pub auth_method: &'static str,
}

/// What single-use email tokens are for (the `email_tokens.purpose` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenPurpose {
    VerifyEmail,
    PasswordReset,
}

impl EmailTokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailTokenPurpose::VerifyEmail => "verify_email",
            EmailTokenPurpose::PasswordReset => "password_reset",
        }
    }

    /// The purpose of a stored name; `None` for one this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "verify_email" => Some(EmailTokenPurpose::VerifyEmail),
            "password_reset" => Some(EmailTokenPurpose::PasswordReset),
            _ => None,
        }
    }
}

pub struct NewEmailToken {
    pub digest: TokenDigest,
    pub user_id: Uuid,
    pub purpose: EmailTokenPurpose,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A request for a mailed link, waiting to be carried out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRequestRow {
    pub id: Uuid,
    pub purpose: String,
    pub email: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub struct NewLinkRequest {
    pub id: Uuid,
    pub purpose: EmailTokenPurpose,
    pub email: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A refresh token and its session, read under the backend's lock.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedRefreshToken {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How the session logged in (`password`, `password+totp` …), read with the
    /// lock: a refresh needs it for the new access token's `amr`.
    pub auth_method: String,
}

/// Which of a user's sessions a revocation ends.
#[derive(Debug, Clone, Copy)]
pub enum RevokeScope {
    One(Uuid),
    AllExcept(Uuid),
    All,
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

/// An audit event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: &'static str,
    /// The method of a login (`password`, `password+totp`, …); `None` otherwise.
    pub method: Option<&'static str>,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The admin key's name for an operator's action; `None` otherwise.
    pub actor: Option<String>,
}

/// A recorded audit event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub kind: String,
    pub method: Option<String>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A message for the outbox: both parts are always present.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The token of the message's link, sealed by the core: the bodies hold a
    /// placeholder where it goes, so the row never holds a usable link.
    pub sealed_token: Option<Vec<u8>>,
}

/// A message claimed from the outbox for one delivery attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub sealed_token: Option<Vec<u8>>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// A webhook for the webhook outbox, its body already made by the core.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// The `webhook-id` of every attempt.
    pub id: String,
    pub event_type: &'static str,
    /// The JSON body.
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// A webhook claimed from the webhook outbox for one delivery attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub event_type: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    /// PKCS#8 DER of the private key: sealed with SECRETS_KEY when `sealed`,
    /// plaintext in a row written before keys were sealed.
    pub private_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub sealed: bool,
}

/// A user's TOTP authenticator, confirmed or still being enrolled.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub sealed_secret: Vec<u8>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_used_step: Option<i64>,
}

/// A login waiting for its second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MfaChallengeRow {
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub failed_attempts: i32,
    pub used_at: Option<DateTime<Utc>>,
}

/// A passkey of a user: webauthn-rs's credential (as JSON) and what is shown of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: Vec<u8>,
    pub name: String,
    pub credential: String,
    pub sign_count: i64,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub struct NewPasskey<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: &'a [u8],
    pub name: &'a str,
    pub credential: &'a str,
    pub sign_count: i64,
    pub created_at: DateTime<Utc>,
}

/// A WebAuthn ceremony in progress (`user_id`: the user registering; none for a
/// login), its state as JSON.
pub struct NewChallenge<'a> {
    pub id: Uuid,
    pub purpose: &'a str,
    pub user_id: Option<Uuid>,
    pub state: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A user as operators see it: the row, with its sign-in state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminUserRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub last_login_at: Option<DateTime<Utc>>,
    pub mfa_enabled: bool,
    /// Sessions neither revoked nor expired.
    pub active_sessions: i64,
}

/// A recorded audit event of any user, with who did it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminEventRow {
    #[sqlx(flatten)]
    pub event: EventRow,
    pub user_id: Option<Uuid>,
    pub actor: Option<String>,
}

/// Which events GET /admin/events reads (each `None`: any).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub user_id: Option<Uuid>,
    pub kind: Option<String>,
    /// Strictly older than this event.
    pub before: Option<Uuid>,
}

/// A key for the Admin API, stored by its SHA-256 only.
pub struct NewAdminKey<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
}

/// The changes an operator makes to a user, as the values to store.
pub struct UserUpdate<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}
