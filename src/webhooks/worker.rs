//! The webhook worker: delivers queued webhooks with retries and exponential
//! backoff, on the mail outbox's schedule (MAIL_RETRY_BASE, MAIL_MAX_ATTEMPTS,
//! MAIL_POLL_INTERVAL).
//!
//! It claims due rows with a lease, so that several instances sharing the
//! database never hold (and so never send) the same one; every attempt carries
//! the row's id as `webhook-id` and the time of the attempt as
//! `webhook-timestamp`. A webhook that fails `max_attempts` times is marked dead
//! and logged; its row is kept.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::sender::HTTP_TIMEOUT;
use super::{Sender, WebhookSignal};
use crate::clock::Clock;
use crate::delivery::{self, Deliverer};
use crate::store::{Store, WebhookRow};
use crate::telemetry::metrics::{Failure, Metrics, Queue};

/// Webhooks claimed per round.
const BATCH: u32 = 10;

pub struct WebhookWorker {
    pub store: Store,
    pub sender: Sender,
    pub signal: WebhookSignal,
    pub clock: Clock,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub poll_interval: Duration,
    /// Counts webhooks delivered and failed attempts.
    pub metrics: Metrics,
}

impl WebhookWorker {
    /// Runs until `stop` is cancelled: a round at start (webhooks left from
    /// before a restart), then one whenever this instance queues a webhook or
    /// the poll interval passes (webhooks of other instances, retries due); at
    /// the end, a last round for what is due.
    pub async fn run(self, stop: CancellationToken) {
        delivery::run(&self, &self.clock, self.poll_interval, stop).await;
    }
}

impl Deliverer for WebhookWorker {
    type Row = WebhookRow;
    const NAME: &'static str = "webhook";

    /// Leases a batch of the webhooks due by `due_by`.
    async fn claim(&self, due_by: DateTime<Utc>) -> anyhow::Result<Vec<WebhookRow>> {
        // The lease outlives a whole batch of the slowest attempts, so no
        // other worker takes a webhook of it before it is sent.
        let lease_until =
            self.clock.now() + chrono::Duration::from_std(HTTP_TIMEOUT * (BATCH + 2))?;
        let mut db = self.store.begin().await?;
        let batch = db.claim_webhooks(due_by, lease_until, BATCH).await?;
        db.commit().await?;
        Ok(batch)
    }

    async fn woken(&self) {
        self.signal.woken().await;
    }

    async fn deliver(&self, row: WebhookRow) -> anyhow::Result<()> {
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let (id, kind) = (row.id.as_str(), row.event_type.as_str());
        let timestamp = self.clock.now().timestamp();
        let outcome = self.sender.send(id, &row.payload, timestamp).await;
        let now = self.clock.now();
        let mut db = self.store.connection().await?;
        match outcome {
            Ok(()) => {
                db.webhook_sent(id, now).await?;
                self.metrics.sent(Queue::Webhooks);
                tracing::debug!(webhook = id, kind, "webhook delivered");
            }
            Err(reason) if attempts >= self.max_attempts => {
                db.webhook_failed(id, &reason, None, now).await?;
                self.metrics.send_failed(Queue::Webhooks, Failure::Dead);
                tracing::error!(webhook = id, kind, attempts, %reason, "webhook dead: giving up");
            }
            Err(reason) => {
                let retry_at = delivery::retry_at(self.retry_base, attempts, now);
                db.webhook_failed(id, &reason, Some(retry_at), now).await?;
                self.metrics.send_failed(Queue::Webhooks, Failure::Retry);
                tracing::warn!(webhook = id, kind, attempts, %retry_at, %reason, "webhook not delivered; will retry");
            }
        }
        Ok(())
    }
}
