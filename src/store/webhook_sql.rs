//! Statements on the webhook outbox: queueing a webhook, claiming due ones,
//! recording each attempt. Written once for both backends.

use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::backend::{Backend, Sql};
use super::rows::*;

impl<DB> Sql<DB>
where
    DB: Backend,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> WebhookRow: FromRow<'r, DB::Row>,
{
    /// Queues a webhook, due at once.
    pub async fn queue_webhook(c: &mut DB::Connection, w: &NewWebhook) -> StoreResult<()> {
        sqlx::query(
            "insert into webhook_outbox (id, event_type, payload, created_at, next_attempt_at)
             values ($1, $2, $3, $4, $4)",
        )
        .bind(w.id.as_str())
        .bind(w.event_type)
        .bind(w.payload.as_str())
        .bind(w.created_at)
        .execute(c)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` due webhooks until `lease_until` and counts the
    /// attempt, in the order they were queued.
    pub async fn claim_webhooks(
        c: &mut DB::Connection,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookRow>> {
        let mut rows: Vec<WebhookRow> = sqlx::query_as(DB::CLAIM_WEBHOOKS)
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(c)
            .await?;
        // `returning` has no order; ids are UUIDv7, in the order they were made.
        rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(rows)
    }

    /// Marks a webhook delivered.
    pub async fn webhook_sent(
        c: &mut DB::Connection,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("update webhook_outbox set sent_at = $2, locked_until = null where id = $1")
            .bind(id)
            .bind(now)
            .execute(c)
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or dead when `None` (the
    /// row is kept, for the operator to see).
    pub async fn webhook_failed(
        c: &mut DB::Connection,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let query = match retry_at {
            Some(at) => sqlx::query(
                "update webhook_outbox set last_error = $2, next_attempt_at = $3,
                        locked_until = null
                 where id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(at),
            None => sqlx::query(
                "update webhook_outbox set last_error = $2, dead_at = $3, locked_until = null
                 where id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(now),
        };
        query.execute(c).await?;
        Ok(())
    }
}
