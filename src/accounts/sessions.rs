//! Sessions: who holds a valid access token, ending sessions, and listing them.

use uuid::Uuid;

use super::audit::EventKind;
use super::error::AccountError;
use super::outcomes::{Caller, ClientContext, LogoutScope, Session};
use super::refresh::Accepted;
use super::{AccountResult, Accounts};
use crate::store::RevokeScope;

impl Accounts {
    /// The holder of `access_token`: signature, claims, and a session that is still
    /// active (a revoked session's tokens stop working at once). Why a token was
    /// refused is logged at debug, never told.
    pub async fn authenticate(&self, access_token: Option<&str>) -> AccountResult<Caller> {
        let token = access_token.ok_or(AccountError::MissingAccessToken)?;
        let claims = self
            .keys
            .verify(token, self.clock.now())
            .map_err(|reason| {
                tracing::debug!(%reason, "access token refused");
                AccountError::InvalidAccessToken
            })?;
        let found = self
            .active_session(claims.sid, claims.sub)
            .await?
            .ok_or_else(|| {
                tracing::debug!(session = %claims.sid, "access token of an ended session");
                AccountError::InvalidAccessToken
            })?;
        Ok(Caller {
            user: found.user,
            session_id: claims.sid,
            mfa_enabled: found.mfa_enabled,
        })
    }

    /// Ends sessions of the user of the presented access token or, without one,
    /// of the presented refresh token: that session, every other, or all.
    pub async fn logout(
        &self,
        access_token: Option<&str>,
        refresh_token: Option<&str>,
        scope: LogoutScope,
        client: &ClientContext,
    ) -> AccountResult<()> {
        let now = self.clock.now();
        let (mut work, user, session) = match (access_token, refresh_token) {
            (Some(token), _) => {
                let caller = self.authenticate(Some(token)).await?;
                let work = self.begin().await?;
                (work, caller.user.id, caller.session_id)
            }
            (None, Some(token)) => {
                let Accepted { work, locked, .. } =
                    self.accept_refresh_token(token, client, now).await?;
                (work, locked.user_id, locked.session_id)
            }
            (None, None) => return Err(AccountError::MissingCredentials),
        };
        let scope = match scope {
            LogoutScope::Local => RevokeScope::One(session),
            LogoutScope::Others => RevokeScope::AllExcept(session),
            LogoutScope::Global => RevokeScope::All,
        };
        let revoked = work.revoke_sessions(user, scope, "logout", now).await?;
        if !revoked.is_empty() {
            let logged_out = EventKind::LoggedOut;
            work.event(logged_out, Some(user), Some(session), client, now)
                .await?;
        }
        work.commit().await
    }

    /// The caller's active sessions, most recently used first.
    pub async fn sessions(&self, caller: &Caller) -> AccountResult<Vec<Session>> {
        let mut db = self.store.connection().await?;
        let rows = db.active_sessions(caller.user.id, self.clock.now()).await?;
        Ok(rows
            .into_iter()
            .map(|s| Session {
                current: s.id == caller.session_id,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.idle_expires_at.min(s.expires_at),
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect())
    }

    /// Ends one of the caller's sessions. Another user's session, an ended one or
    /// an unknown id is `SessionNotFound`.
    pub async fn revoke_session(
        &self,
        caller: &Caller,
        session: Uuid,
        client: &ClientContext,
    ) -> AccountResult<()> {
        let now = self.clock.now();
        let user = caller.user.id;
        let mut work = self.begin().await?;
        let scope = RevokeScope::One(session);
        let revoked = work
            .revoke_sessions(user, scope, "revoked_by_user", now)
            .await?;
        if revoked.is_empty() {
            return Err(AccountError::SessionNotFound);
        }
        let kind = EventKind::SessionRevoked;
        work.event(kind, Some(user), Some(session), client, now)
            .await?;
        work.commit().await
    }
}
