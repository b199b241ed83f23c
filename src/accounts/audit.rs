//! The security audit trail: what is recorded, and reading it back a page at a time.

use uuid::Uuid;

use super::outcomes::{Caller, Event, EventPage};
use super::{AccountResult, Accounts};

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
    MfaEnabled,
    MfaDisabled,
    MfaChallengeFailed,
    RecoveryCodeUsed,
    PasskeyAdded,
    PasskeyRemoved,
    // The actions of operators (Admin API), recorded with the admin key's name.
    UserCreatedByAdmin,
    UserUpdated,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    SessionsRevokedByAdmin,
    UserImported,
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
            EventKind::MfaEnabled => "mfa_enabled",
            EventKind::MfaDisabled => "mfa_disabled",
            EventKind::MfaChallengeFailed => "mfa_challenge_failed",
            EventKind::RecoveryCodeUsed => "recovery_code_used",
            EventKind::PasskeyAdded => "passkey_added",
            EventKind::PasskeyRemoved => "passkey_removed",
            EventKind::UserCreatedByAdmin => "user_created_by_admin",
            EventKind::UserUpdated => "user_updated",
            EventKind::UserDisabled => "user_disabled",
            EventKind::UserEnabled => "user_enabled",
            EventKind::UserDeleted => "user_deleted",
            EventKind::SessionsRevokedByAdmin => "sessions_revoked_by_admin",
            EventKind::UserImported => "user_imported",
        }
    }
}

impl Accounts {
    /// The caller's events, newest first: `limit` of them, older than the event
    /// `before` when given.
    pub async fn events(
        &self,
        caller: &Caller,
        before: Option<Uuid>,
        limit: u32,
    ) -> AccountResult<EventPage> {
        // One row more than asked tells whether an older page exists.
        let mut db = self.store.connection().await?;
        let mut rows = db.events(caller.user.id, before, limit + 1).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_before = if more {
            rows.last().map(|e| e.id)
        } else {
            None
        };
        let events = rows
            .into_iter()
            .map(|e| Event {
                id: e.id,
                kind: e.kind,
                method: e.method,
                created_at: e.created_at,
                session_id: e.session_id,
                ip: e.ip,
                user_agent: e.user_agent,
            })
            .collect();
        Ok(EventPage {
            events,
            next_before,
        })
    }
}
