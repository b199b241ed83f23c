//! [`Db`] methods of the webhook outbox (`webhook_sql.rs`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite};

use super::super::backend::Sql;
use super::super::rows::*;
use super::{Db, Links};

impl Db {
    /// Queues a webhook; it is due at once, once the transaction commits.
    pub async fn queue_webhook(&mut self, webhook: &NewWebhook) -> StoreResult<()> {
        run!(self.queue_webhook(webhook))
    }

    /// Claims up to `limit` due webhooks until `lease_until` (another worker
    /// skips them meanwhile; a crashed worker's claim expires), in queue order.
    pub async fn claim_webhooks(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookRow>> {
        run!(self.claim_webhooks(now, lease_until, limit))
    }

    pub async fn webhook_sent(&mut self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        run!(self.webhook_sent(id, now))
    }

    /// Records a failed attempt: retried at `retry_at`, or dead when `None`.
    pub async fn webhook_failed(
        &mut self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        run!(self.webhook_failed(id, error, retry_at, now))
    }
}
