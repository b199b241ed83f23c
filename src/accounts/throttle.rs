//! The core's use of the rate limiter: every flow that can be abused spends a
//! budget of its client (per IP) and, when it names one, of its account, before
//! any work; link mail spends the mail throttle only when it is about to be queued.

use uuid::Uuid;

use super::outcomes::ClientContext;
use super::policy::KNOWN_CLIENT_FOR;
use super::{AccountResult, Accounts};
use crate::limits::{Policy, Refusal, Subject};
use crate::store::UserRow;

impl Accounts {
    /// Spends one request of `subject`'s budget under `policy`.
    async fn spend(&self, policy: Policy, subject: &Subject) -> AccountResult<()> {
        Ok(self.spend_counted(policy, subject).await?)
    }

    /// The limiter's answer; a refusal is counted by its policy.
    async fn spend_counted(&self, policy: Policy, subject: &Subject) -> Result<(), Refusal> {
        let answer = self.limits.check(policy, subject).await;
        if let Err(refusal) = &answer {
            self.metrics.rate_limited(refusal.policy);
        }
        answer
    }

    /// Spends one request of the client's budget under `policy`. A client
    /// without an address (no door gave one) has no per-IP budget.
    pub(super) async fn limit_client(
        &self,
        policy: Policy,
        client: &ClientContext,
    ) -> AccountResult<()> {
        match client.ip {
            Some(ip) => self.spend(policy, &Subject::ip(ip)).await,
            None => Ok(()),
        }
    }

    /// Spends one request of the account's budget under `policy`, whether or not
    /// an account has this email (so a refusal reveals nothing).
    pub(super) async fn limit_account(&self, policy: Policy, email: &str) -> AccountResult<()> {
        self.spend(policy, &Subject::account(email)).await
    }

    /// Spends one login attempt of the account's budget. Strangers share one
    /// budget per account, so guesses from any number of addresses run out
    /// together; a client address the user started a session from within
    /// [`KNOWN_CLIENT_FOR`] has a budget of its own for this account, so an
    /// attacker elsewhere cannot lock the user out of the devices they use. For a
    /// stranger the answer is the same whether or not the account exists.
    pub(super) async fn limit_login_account(
        &self,
        email: &str,
        user: Option<&UserRow>,
        client: &ClientContext,
    ) -> AccountResult<()> {
        let known_client = match client.ip {
            Some(ip) => {
                // Asked for unknown emails too (of a user that cannot exist), so
                // that the work is the same whether or not the account does.
                let user = user.map_or(Uuid::nil(), |u| u.id);
                let since = self.clock.now() - KNOWN_CLIENT_FOR;
                let mut db = self.store.connection().await?;
                db.has_logged_in_from(user, &ip.to_string(), since)
                    .await?
                    .then_some(ip)
            }
            None => None,
        };
        let subject = match known_client {
            Some(ip) => Subject::account_from(email, ip),
            None => Subject::account(email),
        };
        self.spend(Policy::LoginAccount, &subject).await
    }

    /// Whether one more link mail may be queued for `recipient`: within its
    /// budget, then within the total. Asked right before the mail is queued, so
    /// only mail actually queued counts; the caller answers the same either way.
    pub(super) async fn mail_allowed(&self, recipient: &str) -> bool {
        let to_recipient = Subject::account(recipient);
        if self
            .spend_counted(Policy::MailRecipient, &to_recipient)
            .await
            .is_err()
        {
            tracing::info!("mail throttle of one recipient reached: a link mail is not sent");
            return false;
        }
        // The total is asked only for mail its recipient may get, so that one
        // flooded address cannot spend everyone's mail.
        match self
            .spend_counted(Policy::MailTotal, &Subject::everyone())
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
