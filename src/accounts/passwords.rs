//! Password recovery (a reset link by mail) and change (knowing the current one).

use super::audit::EventKind;
use super::crypto::{TokenHash, Verified, looks_like_token};
use super::error::AccountError;
use super::outcomes::{Caller, ClientContext};
use super::password_rules;
use super::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::mail::Notice;
use crate::store::{EmailTokenPurpose, RevokeScope};

/// A new password set with the token of a reset link.
pub struct PasswordReset {
    pub token: String,
    pub password: String,
}

impl Accounts {
    /// Queues a request for a reset link (one hour, single use), mailed if the
    /// address has an account; answers the same in every case.
    pub async fn forgot_password(&self, email: &str, client: &ClientContext) -> AccountResult<()> {
        self.limit_client(Policy::PasswordForgot, client).await?;
        self.limit_account(Policy::PasswordForgotAccount, email)
            .await?;
        let purpose = EmailTokenPurpose::PasswordReset;
        self.queue_link_request(purpose, email, client).await
    }

    /// Sets the new password, revokes every session and every outstanding reset
    /// link, and marks the email verified (the link proved the mailbox). An
    /// unknown, expired, used or verification token is `InvalidEmailToken`; the
    /// token is checked before the (costly) hash, so guessing costs no hashes.
    pub async fn reset_password(
        &self,
        reset: PasswordReset,
        client: &ClientContext,
    ) -> AccountResult<()> {
        self.limit_client(Policy::PasswordReset, client).await?;
        if !looks_like_token(&reset.token) {
            return Err(AccountError::InvalidEmailToken);
        }
        let digest = TokenHash::of(&reset.token).0;
        let purpose = EmailTokenPurpose::PasswordReset;
        let mut db = self.store.connection().await?;
        let holder = db
            .email_token_user(&digest, purpose, self.clock.now())
            .await?;
        let user = match holder {
            Some(id) => db.user_by_id(id).await?,
            None => None,
        };
        drop(db);
        let user = user.ok_or(AccountError::InvalidEmailToken)?;
        password_rules::check_new(&reset.password, &user.email, "password")?;
        let new_hash = self
            .hasher
            .hash(password_rules::normalised(&reset.password))
            .await?;
        let now = self.clock.now();
        let mut work = self.begin().await?;
        // Spent only now, under the write lock: of two concurrent resets, one wins.
        if work.spend_email_token(&digest, purpose, now).await? != Some(user.id) {
            return Err(AccountError::InvalidEmailToken);
        }
        work.set_password_hash(user.id, &new_hash, now).await?;
        work.spend_all_email_tokens(user.id, purpose, now).await?;
        work.mark_email_verified(user.id, now).await?;
        work.revoke_sessions(user.id, RevokeScope::All, "password_reset", now)
            .await?;
        let completed = EventKind::PasswordResetCompleted;
        work.event(completed, Some(user.id), None, client, now)
            .await?;
        self.notify(&mut work, &user.email, Notice::PasswordReset, now)
            .await?;
        work.commit().await
    }

    /// Changes the caller's password after checking the current one; every other
    /// session and every outstanding reset link are revoked, the caller's session
    /// stays. Every attempt spends the client's budget and the account's (a stolen
    /// access token must not buy unlimited guesses at the current password).
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
        if self.check_password(&current, stored).await? == Verified::No {
            return Err(AccountError::WrongCurrentPassword);
        }
        password_rules::check_new(&new, &caller.user.email, "new_password")?;
        let new_hash = self.hasher.hash(password_rules::normalised(&new)).await?;
        let now = self.clock.now();
        let mut work = self.begin().await?;
        work.set_password_hash(user, &new_hash, now).await?;
        let reset_links = EmailTokenPurpose::PasswordReset;
        work.spend_all_email_tokens(user, reset_links, now).await?;
        let others = RevokeScope::AllExcept(caller.session_id);
        work.revoke_sessions(user, others, "password_changed", now)
            .await?;
        let changed = EventKind::PasswordChanged;
        work.event(changed, Some(user), Some(caller.session_id), client, now)
            .await?;
        let to = &caller.user.email;
        self.notify(&mut work, to, Notice::PasswordChanged, now)
            .await?;
        work.commit().await
    }
}
