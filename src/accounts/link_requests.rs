//! Requests for a mailed link (a password reset, a new verification link) are
//! queued as they arrive and carried out here, off the request path. The request
//! does the same work (one insert) whether or not the address has an account, so
//! neither its answer nor its timing says which.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::audit::EventKind;
use super::error::InvalidField;
use super::outcomes::ClientContext;
use super::{AccountResult, Accounts};
use crate::mail::MailKind;
use crate::store::{EmailTokenPurpose, LinkRequestRow, NewLinkRequest};

impl Accounts {
    /// Queues a request for a link of `purpose` to `email`.
    pub(super) async fn queue_link_request(
        &self,
        purpose: EmailTokenPurpose,
        email: &str,
        client: &ClientContext,
    ) -> AccountResult<()> {
        InvalidField::reject_nul("email", email)?;
        let request = NewLinkRequest {
            id: Uuid::new_v4(),
            purpose,
            email: email.to_owned(),
            ip: client.ip.map(|ip| ip.to_string()),
            user_agent: client.user_agent.clone(),
            created_at: self.clock.now(),
        };
        let mut work = self.begin().await?;
        work.insert_link_request(&request).await?;
        work.commit().await?;
        self.link_requests_queued.notify_one();
        Ok(())
    }

    /// Carries out queued requests until `stop`: at start (requests left from
    /// before a restart), whenever this instance queues one, and every `poll`
    /// (requests queued by other instances).
    pub async fn run_link_requests(self: Arc<Self>, poll: Duration, stop: CancellationToken) {
        loop {
            loop {
                match self.carry_out_next().await {
                    Ok(true) if !stop.is_cancelled() => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "link request failed; retrying later");
                        break;
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.link_requests_queued.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Carries out the oldest request, in one transaction with everything it
    /// causes (a failure leaves it queued). `false` when none is queued.
    async fn carry_out_next(&self) -> AccountResult<bool> {
        let now = self.clock.now();
        let mut work = self.begin().await?;
        let Some(request) = work.next_link_request().await? else {
            return Ok(false);
        };
        work.delete_link_request(request.id).await?;
        let client = client_of(&request);
        let email = request.email.as_str();
        match EmailTokenPurpose::parse(&request.purpose) {
            Some(EmailTokenPurpose::PasswordReset) => {
                let mail = self.link_mail(MailKind::PasswordReset, email, now)?;
                let requested = Some((EventKind::PasswordResetRequested, &client));
                self.mail_link_to_account(&mut work, email, false, mail, requested)
                    .await?;
            }
            Some(EmailTokenPurpose::VerifyEmail) => {
                let mail = self.link_mail(MailKind::VerifyEmail, email, now)?;
                self.mail_link_to_account(&mut work, email, true, mail, None)
                    .await?;
            }
            None => tracing::warn!(purpose = %request.purpose, "unknown link request dropped"),
        }
        work.commit().await?;
        Ok(true)
    }
}

fn client_of(request: &LinkRequestRow) -> ClientContext {
    ClientContext {
        ip: request.ip.as_deref().and_then(|ip| ip.parse().ok()),
        user_agent: request.user_agent.clone(),
    }
}
