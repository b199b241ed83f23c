//! Refresh-token rotation. The token's row is locked, the policy decides on what
//! it says, and the decision is written in the same transaction, so concurrent
//! refreshes of one token are decided one after the other.
//!
//! A token's successor is a keyed hash of it (`OpaqueToken::successor_of`), so
//! the first refresh stores it and every refresh inside the grace window hands
//! out that same successor again: a session never forks into several live
//! tokens, and a thief replaying inside the window shares the owner's branch,
//! whose next reuse after the window is caught.

use chrono::{DateTime, Utc};

use super::audit::EventKind;
use super::auth_method::AuthMethod;
use super::crypto::{OpaqueToken, TokenHash, looks_like_token};
use super::error::AccountError;
use super::input;
use super::outcomes::{ClientContext, TokenPair};
use super::policy::{RefreshDecision, RefreshState};
use super::scrape::outcome_of;
use super::unit_of_work::Work;
use super::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::store::{LockedRefreshToken, RevokeScope};

/// A presented refresh token that the policy accepts, still locked by `work`.
pub(super) struct Accepted {
    pub work: Work,
    pub locked: LockedRefreshToken,
    pub idle_expires_at: DateTime<Utc>,
    /// A live token (rotate it), or one rotated within the grace period (hand
    /// out its successor again).
    pub live: bool,
}

/// What a presented refresh token turned out to be.
enum Presented {
    Accepted(Box<Accepted>),
    /// Unknown, malformed, expired or revoked.
    Refused,
    /// Rotated before the grace period: the session is revoked (committed).
    Reused,
}

impl Accounts {
    /// Exchanges a refresh token for a new pair of the same session: a live token
    /// is rotated; one rotated within the grace period gets the same successor
    /// again; one rotated before it revokes the session. Each outcome is counted.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientContext,
    ) -> AccountResult<TokenPair> {
        let (result, outcome) = match self.rotate(refresh_token, client).await {
            Ok(Ok((pair, outcome))) => (Ok(pair), outcome),
            Ok(Err(refused)) => (Err(AccountError::InvalidRefreshToken), refused),
            Err(e) => {
                let outcome = outcome_of(&e);
                (Err(e), outcome)
            }
        };
        self.metrics.refresh(outcome);
        result
    }

    /// The new pair and `rotated` or `grace`; or, for a token the policy
    /// refuses, `Err` with `invalid` or `reuse_detected`.
    async fn rotate(
        &self,
        refresh_token: &str,
        client: &ClientContext,
    ) -> AccountResult<Result<(TokenPair, &'static str), &'static str>> {
        input::required("refresh_token", refresh_token)?;
        self.limit_client(Policy::Refresh, client).await?;
        let now = self.clock.now();
        let Accepted {
            mut work,
            locked,
            idle_expires_at,
            live,
        } = match self
            .present_refresh_token(refresh_token, client, now)
            .await?
        {
            Presented::Accepted(accepted) => *accepted,
            Presented::Refused => return Ok(Err("invalid")),
            Presented::Reused => return Ok(Err("reuse_detected")),
        };
        let successor = OpaqueToken::successor_of(refresh_token, &self.secrets);
        let session = locked.session_id;
        if live {
            let presented = TokenHash::of(refresh_token);
            work.mark_refresh_token_rotated(&presented.0, now).await?;
            work.insert_refresh_token(session, &successor.hash.0, now)
                .await?;
        }
        work.touch_session(session, now, idle_expires_at).await?;
        let user = work
            .user_by_id(locked.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("session {session} has no user"))?;
        // The session keeps the strength of its login: adding a factor later
        // does not raise it, removing one does not lower it.
        let method = AuthMethod::parse(&locked.auth_method);
        work.commit().await?;
        let pair = self.token_pair(&user, session, method, successor.plaintext, now)?;
        Ok(Ok((pair, if live { "rotated" } else { "grace" })))
    }

    /// Begins a transaction, locks the presented token and asks the policy.
    /// Refused, unknown or malformed tokens are `InvalidRefreshToken`; a reuse
    /// after the grace period revokes the session (committed) and is refused too.
    pub(super) async fn accept_refresh_token(
        &self,
        refresh_token: &str,
        client: &ClientContext,
        now: DateTime<Utc>,
    ) -> AccountResult<Accepted> {
        match self
            .present_refresh_token(refresh_token, client, now)
            .await?
        {
            Presented::Accepted(accepted) => Ok(*accepted),
            Presented::Refused | Presented::Reused => Err(AccountError::InvalidRefreshToken),
        }
    }

    async fn present_refresh_token(
        &self,
        refresh_token: &str,
        client: &ClientContext,
        now: DateTime<Utc>,
    ) -> AccountResult<Presented> {
        if !looks_like_token(refresh_token) {
            return Ok(Presented::Refused);
        }
        let mut work = self.begin().await?;
        let presented = TokenHash::of(refresh_token);
        let Some(locked) = work.lock_refresh_token(&presented.0).await? else {
            return Ok(Presented::Refused);
        };
        let (idle_expires_at, live) = match self.policy.decide(&RefreshState::from(&locked), now) {
            RefreshDecision::Rotate { idle_expires_at } => (idle_expires_at, true),
            RefreshDecision::GraceReissue { idle_expires_at } => (idle_expires_at, false),
            RefreshDecision::Refuse => return Ok(Presented::Refused),
            RefreshDecision::RevokeForReuse => {
                self.revoke_for_reuse(work, &locked, client, now).await?;
                return Ok(Presented::Reused);
            }
        };
        Ok(Presented::Accepted(Box::new(Accepted {
            work,
            locked,
            idle_expires_at,
            live,
        })))
    }

    /// A rotated token came back after the grace period: it leaked, so the whole
    /// session goes, and the trail says why.
    async fn revoke_for_reuse(
        &self,
        mut work: Work,
        locked: &LockedRefreshToken,
        client: &ClientContext,
        now: DateTime<Utc>,
    ) -> AccountResult<()> {
        let (user, session) = (locked.user_id, locked.session_id);
        let scope = RevokeScope::One(session);
        work.revoke_sessions(user, scope, "refresh_token_reuse", now)
            .await?;
        let reused = EventKind::RefreshTokenReused;
        work.event(reused, Some(user), Some(session), client, now)
            .await?;
        work.commit().await?;
        tracing::warn!(%session, "rotated refresh token reused after the grace period; session revoked");
        Ok(())
    }
}
