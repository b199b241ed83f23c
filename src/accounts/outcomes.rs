//! What the flows take and give back: plain data that every door maps to its
//! own encoding.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::limits::Backend;
use crate::store::UserRow;

/// Who made a request, as sessions and the audit trail record it.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// A user as clients see it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&UserRow> for User {
    fn from(row: &UserRow) -> Self {
        User {
            id: row.id,
            email: row.email.clone(),
            email_verified: row.email_verified_at.is_some(),
            name: row.name.clone(),
            created_at: row.created_at,
        }
    }
}

/// A fresh access token and refresh token for one session.
#[derive(Debug)]
pub struct TokenPair {
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: User,
}

/// How a password login ended.
#[derive(Debug)]
pub enum LoginOutcome {
    LoggedIn(TokenPair),
    /// The account has a second factor: answer it at the MFA step.
    MfaRequired(MfaChallenge),
}

/// The second step of a login: the token that names it and how to answer it.
#[derive(Debug)]
pub struct MfaChallenge {
    pub mfa_token: String,
    /// `totp`, `recovery_code`.
    pub methods: Vec<&'static str>,
    /// Seconds the token lives.
    pub expires_in: i64,
}

/// What answers the login's second step.
#[derive(Debug)]
pub enum SecondFactor {
    /// A code from the authenticator.
    Totp(String),
    RecoveryCode(String),
    /// One of the user's passkeys, answering a passkey login challenge
    /// (`credential`: WebAuthn's `AuthenticationResponseJSON`).
    Passkey {
        challenge_id: String,
        credential: serde_json::Value,
    },
}

/// The TOTP secret of a started enrolment, for the authenticator app.
#[derive(Debug)]
pub struct TotpEnrolment {
    /// base32, no padding.
    pub secret: String,
    pub otpauth_uri: String,
}

/// How a registration ended.
#[derive(Debug)]
pub enum Registered {
    /// Verification on: the same answer for a new and a taken email.
    VerificationSent,
    /// Verification off: the account and its first session.
    LoggedIn(TokenPair),
}

/// The holder of a valid access token whose session is active.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub session_id: Uuid,
    /// Whether the user has a confirmed authenticator (read with the session).
    pub mfa_enabled: bool,
}

/// One active session of a user.
#[derive(Debug)]
pub struct Session {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// When it ends unless refreshed (never later than its absolute end).
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Whether this is the caller's own session.
    pub current: bool,
}

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogoutScope {
    /// Only the session of the presented token.
    #[default]
    Local,
    /// Every other session of the user.
    Others,
    /// Every session of the user.
    Global,
}

/// One security event of an account.
#[derive(Debug)]
pub struct Event {
    pub id: Uuid,
    pub kind: String,
    /// How a login authenticated (`login_succeeded` only).
    pub method: Option<String>,
    pub created_at: DateTime<Utc>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A page of events, newest first.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// The cursor of the next (older) page; `None` on the last page.
    pub next_before: Option<Uuid>,
}

/// What /readyz reports.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    /// Whether the database answers.
    pub database: bool,
    /// Where rate-limit budgets are kept now.
    pub rate_limiter: Backend,
}
