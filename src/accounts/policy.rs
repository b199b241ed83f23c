//! Lifetimes of sessions and emailed links, and the refresh-token rotation rules.
//!
//! Every refresh token belongs to one session. Using a live token rotates it: it is
//! marked rotated and a successor is issued. A rotated token presented again inside
//! the grace window gets that same successor again (several tabs refreshing at once
//! must never log a user out, and a session has one live token at any time);
//! outside it, the reuse means the token leaked, so the whole session is revoked.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::LockedRefreshToken;

/// Lifetime of an email verification link.
pub const VERIFICATION_TTL: chrono::Duration = chrono::Duration::hours(24);

/// Lifetime of a password-reset link.
pub const RESET_TTL: chrono::Duration = chrono::Duration::hours(1);

/// Lifetime of the "set your password" link of an account an operator made
/// without a password: the user may not read mail within the hour of a reset.
pub const SET_PASSWORD_TTL: chrono::Duration = chrono::Duration::hours(24);

/// How long a client address the user logged in from keeps its own login budget
/// for the account (see `Accounts::limit_login_account`).
pub const KNOWN_CLIENT_FOR: chrono::Duration = chrono::Duration::days(30);

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Sliding idle timeout, extended by every refresh.
    pub idle: chrono::Duration,
    /// Absolute lifetime from login, never extended.
    pub absolute: chrono::Duration,
    /// How long a rotated refresh token is still honoured.
    pub grace: chrono::Duration,
}

/// What is known about a presented refresh token, read under a lock.
#[derive(Debug, Clone)]
pub struct RefreshState {
    pub session_revoked: bool,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When this token was exchanged for a successor; `None` while it is live.
    pub token_rotated_at: Option<DateTime<Utc>>,
}

impl From<&LockedRefreshToken> for RefreshState {
    fn from(row: &LockedRefreshToken) -> Self {
        RefreshState {
            session_revoked: row.revoked_at.is_some(),
            idle_expires_at: row.idle_expires_at,
            expires_at: row.expires_at,
            token_rotated_at: row.rotated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Live token: mark it rotated, issue a successor, slide the idle expiry.
    Rotate { idle_expires_at: DateTime<Utc> },
    /// Rotated moments ago (another tab won the race): hand out its successor again.
    GraceReissue { idle_expires_at: DateTime<Utc> },
    /// Rotated long ago: the token was stolen or replayed. Revoke the session.
    RevokeForReuse,
    /// Session revoked or expired: refuse, change nothing.
    Refuse,
}

impl SessionPolicy {
    pub fn new(idle: Duration, absolute: Duration, grace: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            idle: chrono::Duration::from_std(idle)?,
            absolute: chrono::Duration::from_std(absolute)?,
            grace: chrono::Duration::from_std(grace)?,
        })
    }

    /// `(idle_expires_at, expires_at)` of a session starting now.
    pub fn new_session(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let expires_at = now + self.absolute;
        ((now + self.idle).min(expires_at), expires_at)
    }

    pub fn decide(&self, state: &RefreshState, now: DateTime<Utc>) -> RefreshDecision {
        if state.session_revoked || now >= state.expires_at || now >= state.idle_expires_at {
            return RefreshDecision::Refuse;
        }
        let idle_expires_at = (now + self.idle).min(state.expires_at);
        match state.token_rotated_at {
            None => RefreshDecision::Rotate { idle_expires_at },
            Some(rotated) if now - rotated <= self.grace => {
                RefreshDecision::GraceReissue { idle_expires_at }
            }
            Some(_) => RefreshDecision::RevokeForReuse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SessionPolicy {
        SessionPolicy::new(
            Duration::from_secs(3600),
            Duration::from_secs(7200),
            Duration::from_secs(10),
        )
        .expect("policy")
    }

    fn state(now: DateTime<Utc>, rotated: Option<i64>) -> RefreshState {
        let (idle, abs) = policy().new_session(now);
        RefreshState {
            session_revoked: false,
            idle_expires_at: idle,
            expires_at: abs,
            token_rotated_at: rotated.map(|s| now - chrono::Duration::seconds(s)),
        }
    }

    #[test]
    fn live_rotates_recent_reissues_old_revokes() {
        let now = Utc::now();
        let p = policy();
        let idle = now + p.idle;
        assert_eq!(
            p.decide(&state(now, None), now),
            RefreshDecision::Rotate {
                idle_expires_at: idle
            }
        );
        assert_eq!(
            p.decide(&state(now, Some(9)), now),
            RefreshDecision::GraceReissue {
                idle_expires_at: idle
            }
        );
        assert_eq!(
            p.decide(&state(now, Some(11)), now),
            RefreshDecision::RevokeForReuse
        );
    }

    #[test]
    fn expired_or_revoked_sessions_refuse_and_idle_never_passes_absolute() {
        let now = Utc::now();
        let p = policy();
        let mut s = state(now, None);
        s.session_revoked = true;
        assert_eq!(p.decide(&s, now), RefreshDecision::Refuse);
        let s = state(now, None);
        assert_eq!(p.decide(&s, now + p.idle), RefreshDecision::Refuse);
        // Refreshing shortly before the absolute end: the idle expiry is capped at it.
        let mut s = state(now, None);
        s.idle_expires_at = s.expires_at;
        let late = s.expires_at - chrono::Duration::seconds(60);
        assert_eq!(
            p.decide(&s, late),
            RefreshDecision::Rotate {
                idle_expires_at: s.expires_at
            }
        );
    }
}
