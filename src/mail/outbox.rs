//! The outbox worker: delivers queued mail with retries and exponential backoff.
//!
//! Messages are written to the `outbox` table in the transaction of the change
//! that causes them, so an SMTP outage or a restart loses nothing. The worker
//! claims due messages with a lease (several instances never hold the same one),
//! sends each, and records the outcome. A message that fails `max_attempts` times,
//! or permanently (5xx, impossible address), is marked dead and logged.
//!
//! A link's token is stored sealed with SECRETS_KEY, the bodies holding a
//! placeholder where it goes; it is unsealed and put in only here, in memory,
//! just before sending. A token that does not unseal (SECRETS_KEY changed) makes
//! the message dead at once: no retry could send it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::compose::LINK_TOKEN_PLACEHOLDER;
use super::transport::SMTP_TIMEOUT;
use super::{Email, Mailer};
use crate::clock::Clock;
use crate::delivery::{self, Deliverer};
use crate::secrets::{Purpose, SecretsKey};
use crate::store::{OutboxRow, Store};
use crate::telemetry::metrics::{Failure, Metrics, Queue};

/// Messages claimed per round.
const BATCH: u32 = 20;

/// Wakes this instance's worker when a commit queued mail, so it is sent at
/// once rather than at the next poll.
#[derive(Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    /// Call after committing a transaction that queued mail.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Resolves at the next wake (or at once if one came since the last call).
    async fn woken(&self) {
        self.0.notified().await;
    }
}

#[derive(Clone)]
pub struct OutboxWorker {
    pub store: Store,
    pub mailer: Mailer,
    pub signal: OutboxSignal,
    /// Opens the sealed tokens of queued links.
    pub secrets: Arc<SecretsKey>,
    pub clock: Clock,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub poll_interval: Duration,
    /// Counts messages sent and failed sends.
    pub metrics: Metrics,
}

impl OutboxWorker {
    /// Runs until `stop` is cancelled: a round at start (mail left from before a
    /// restart), then one whenever this instance queues mail or the poll interval
    /// passes (mail queued by other instances, retries falling due); at the
    /// end, a last round for what is due.
    pub async fn run(self, stop: CancellationToken) {
        delivery::run(&self, &self.clock, self.poll_interval, stop).await;
    }

    /// The message of `row`, its link's token unsealed into the bodies; `None`
    /// when the token does not unseal.
    fn unsealed(&self, row: OutboxRow) -> Option<Email> {
        let mut email = Email {
            to: row.recipient,
            subject: row.subject,
            text: row.body_text,
            html: row.body_html,
        };
        if let Some(sealed) = row.sealed_token {
            let token = self.secrets.open(Purpose::OutboxLinkToken, &sealed).ok()?;
            let token = String::from_utf8(token).ok()?;
            email.text = email.text.replace(LINK_TOKEN_PLACEHOLDER, &token);
            email.html = email.html.replace(LINK_TOKEN_PLACEHOLDER, &token);
        }
        Some(email)
    }
}

impl Deliverer for OutboxWorker {
    type Row = OutboxRow;
    const NAME: &'static str = "outbox";

    /// Leases a batch of the messages due by `due_by`.
    async fn claim(&self, due_by: DateTime<Utc>) -> anyhow::Result<Vec<OutboxRow>> {
        // The lease outlives the slowest possible SMTP conversation, so no other
        // worker takes a message while it is being sent.
        let lease_until = self.clock.now() + chrono::Duration::from_std(SMTP_TIMEOUT * 4)?;
        let mut db = self.store.begin().await?;
        let batch = db.claim_mail(due_by, lease_until, BATCH).await?;
        db.commit().await?;
        Ok(batch)
    }

    async fn woken(&self) {
        self.signal.woken().await;
    }

    async fn deliver(&self, row: OutboxRow) -> anyhow::Result<()> {
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let (id, subject) = (row.id, row.subject.clone());
        let Some(email) = self.unsealed(row) else {
            let reason = "the link's token does not unseal with this SECRETS_KEY";
            let mut db = self.store.connection().await?;
            db.mail_failed(id, reason, None, self.clock.now()).await?;
            self.metrics.send_failed(Queue::Mail, Failure::Dead);
            tracing::error!(mail = %id, %subject, reason, "email dead: giving up (was SECRETS_KEY changed?)");
            return Ok(());
        };
        match self.mailer.send(&email).await {
            Ok(()) => {
                let mut db = self.store.connection().await?;
                db.mail_sent(id, self.clock.now()).await?;
                self.metrics.sent(Queue::Mail);
                tracing::debug!(mail = %id, subject = %email.subject, "email sent");
            }
            Err(e) if e.permanent || attempts >= self.max_attempts => {
                let now = self.clock.now();
                let mut db = self.store.connection().await?;
                db.mail_failed(id, &e.message, None, now).await?;
                self.metrics.send_failed(Queue::Mail, Failure::Dead);
                tracing::error!(mail = %id, subject = %email.subject, attempts, reason = %e.message, "email dead: giving up");
            }
            Err(e) => {
                let retry_at = delivery::retry_at(self.retry_base, attempts, self.clock.now());
                let mut db = self.store.connection().await?;
                db.mail_failed(id, &e.message, Some(retry_at), self.clock.now())
                    .await?;
                self.metrics.send_failed(Queue::Mail, Failure::Retry);
                tracing::warn!(mail = %id, subject = %email.subject, attempts, %retry_at, reason = %e.message, "email not sent; will retry");
            }
        }
        Ok(())
    }
}
