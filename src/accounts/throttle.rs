//! The core's use of the rate limiter: every flow that can be abused spends a
//! budget of its client (per IP) and, when it names one, of its account, before
//! any work; link mail spends the mail throttle only when it is about to be queued.

use super::outcomes::ClientContext;
use super::{AccountResult, Accounts};
use crate::limits::{Policy, Subject};

impl Accounts {
    /// Spends one request of the client's budget under `policy`. A client
    /// without an address (no door gave one) has no per-IP budget.
    pub(super) async fn limit_client(
        &self,
        policy: Policy,
        client: &ClientContext,
    ) -> AccountResult<()> {
        match client.ip {
            Some(ip) => Ok(self.limits.check(policy, &Subject::ip(ip)).await?),
            None => Ok(()),
        }
    }

    /// Spends one request of the account's budget under `policy`, whether or not
    /// an account has this email (so a refusal reveals nothing).
    pub(super) async fn limit_account(&self, policy: Policy, email: &str) -> AccountResult<()> {
        Ok(self.limits.check(policy, &Subject::account(email)).await?)
    }

    /// Whether one more link mail may be queued for `recipient`: within its
    /// budget, then within the total. Asked right before the mail is queued, so
    /// only mail actually queued counts; the caller answers the same either way.
    pub(super) async fn mail_allowed(&self, recipient: &str) -> bool {
        let to_recipient = Subject::account(recipient);
        if self
            .limits
            .check(Policy::MailRecipient, &to_recipient)
            .await
            .is_err()
        {
            tracing::info!("mail throttle of one recipient reached: a link mail is not sent");
            return false;
        }
        // The total is asked only for mail its recipient may get, so that one
        // flooded address cannot spend everyone's mail.
        match self
            .limits
            .check(Policy::MailTotal, &Subject::everyone())
            .await
        {
            Ok(()) => true,
            Err(refusal) => {
                tracing::warn!(
                    retry_after_secs = refusal.retry_after_secs(),
                    "total mail throttle reached: a link mail is not sent"
                );
                false
            }
        }
    }
}
