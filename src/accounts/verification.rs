//! Email verification: spending the emailed token, and sending a new link.

use super::audit::EventKind;
use super::crypto::{TokenHash, looks_like_token};
use super::error::AccountError;
use super::input;
use super::outcomes::{ClientContext, User};
use super::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::store::EmailTokenPurpose;

impl Accounts {
    /// Spends a verification token and marks the address verified. An unknown,
    /// expired, used or reset token is `InvalidEmailToken`.
    pub async fn verify_email(&self, token: &str, client: &ClientContext) -> AccountResult<User> {
        input::required("token", token)?;
        if !looks_like_token(token) {
            return Err(AccountError::InvalidEmailToken);
        }
        let now = self.clock.now();
        let digest = TokenHash::of(token).0;
        let purpose = EmailTokenPurpose::VerifyEmail;
        let mut work = self.begin().await?;
        let Some(user) = work.spend_email_token(&digest, purpose, now).await? else {
            return Err(AccountError::InvalidEmailToken);
        };
        work.mark_email_verified(user, now).await?;
        work.event(EventKind::EmailVerified, Some(user), None, client, now)
            .await?;
        let row = work
            .user_by_id(user)
            .await?
            .ok_or_else(|| anyhow::anyhow!("email token of a missing user"))?;
        work.commit().await?;
        Ok(User::from(&row))
    }

    /// Queues a request for a new verification link, mailed if the address has an
    /// unverified account; answers the same in every case.
    pub async fn resend_verification(
        &self,
        email: &str,
        client: &ClientContext,
    ) -> AccountResult<()> {
        self.limit_client(Policy::VerifyResend, client).await?;
        self.limit_account(Policy::VerifyResendAccount, email)
            .await?;
        let purpose = EmailTokenPurpose::VerifyEmail;
        self.queue_link_request(purpose, email, client).await
    }
}
