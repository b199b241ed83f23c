//! Password recovery (a reset link by mail) and change (knowing the current one).

use super::audit::EventKind;
use super::crypto::{TokenHash, Verified, looks_like_token};
use super::error::AccountError;
use super::outcomes::{Caller, ClientContext};
use super::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::mail::MailKind;
use crate::store::{EmailTokenPurpose, RevokeScope};

/// A new password set with the token of a reset link.
pub struct PasswordReset {
    pub token: String,
    pub password: String,
}

impl Accounts {
    /// Mails a reset link (one hour, single use) if the address has an account;
    /// answers the same in every case.
    pub async fn forgot_password(&self, email: &str, client: &ClientContext) -> AccountResult<()> {
        self.limit_client(Policy::PasswordForgot, client).await?;
        self.limit_account(Policy::PasswordForgotAccount, email)
            .await?;
        let mail = self.link_mail(MailKind::PasswordReset, email, self.clock.now())?;
        let requested = EventKind::PasswordResetRequested;
        self.mail_link_to_account(email, false, mail, Some((requested, client)))
            .await
    }

    /// Sets the new password, revokes every session and every other outstanding
    /// reset link. An unknown, expired, used or verification token is
    /// `InvalidEmailToken`.
    pub async fn reset_password(
        &self,
        reset: PasswordReset,
        client: &ClientContext,
    ) -> AccountResult<()> {
        self.limit_client(Policy::PasswordReset, client).await?;
        if !looks_like_token(&reset.token) {
            return Err(AccountError::InvalidEmailToken);
        }
        let new_hash = self.hasher.hash(reset.password).await?;
        let now = self.clock.now();
        let digest = TokenHash::of(&reset.token).0;
        let purpose = EmailTokenPurpose::PasswordReset;
        let mut work = self.begin().await?;
        let Some(user) = work.spend_email_token(&digest, purpose, now).await? else {
            return Err(AccountError::InvalidEmailToken);
        };
        work.set_password_hash(user, &new_hash, now).await?;
        work.spend_all_email_tokens(user, purpose, now).await?;
        work.revoke_sessions(user, RevokeScope::All, "password_reset", now)
            .await?;
        let completed = EventKind::PasswordResetCompleted;
        work.event(completed, Some(user), None, client, now).await?;
        work.commit().await
    }

    /// Changes the caller's password after checking the current one; every other
    /// session is revoked, the caller's stays. Every attempt spends the client's
    /// budget and the account's (a stolen access token must not buy unlimited
    /// guesses at the current password).
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: String,
        new: String,
        client: &ClientContext,
    ) -> AccountResult<()> {
        self.limit_client(Policy::PasswordChange, client).await?;
        self.limit_account(Policy::PasswordChangeAccount, &caller.user.email)
            .await?;
        let user = caller.user.id;
        let mut db = self.store.connection().await?;
        let stored = db.user_by_id(user).await?.map(|u| u.password_hash);
        drop(db);
        if self.hasher.verify(current, stored).await? == Verified::No {
            return Err(AccountError::WrongCurrentPassword);
        }
        let new_hash = self.hasher.hash(new).await?;
        let now = self.clock.now();
        let mut work = self.begin().await?;
        work.set_password_hash(user, &new_hash, now).await?;
        let others = RevokeScope::AllExcept(caller.session_id);
        work.revoke_sessions(user, others, "password_changed", now)
            .await?;
        let changed = EventKind::PasswordChanged;
        work.event(changed, Some(user), Some(caller.session_id), client, now)
            .await?;
        work.commit().await
    }
}
