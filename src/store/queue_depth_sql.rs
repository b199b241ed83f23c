//! How many messages wait in the two outboxes (mail and webhooks), for the
//! metrics. Written once for both backends.

use sqlx::{Executor, FromRow, IntoArguments};

use super::backend::{Backend, Sql};
use super::rows::StoreResult;

/// Messages not yet sent nor given up on, due or waiting for a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct QueueDepths {
    pub mail: i64,
    pub webhooks: i64,
}

impl<DB> Sql<DB>
where
    DB: Backend,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> QueueDepths: FromRow<'r, DB::Row>,
{
    pub async fn queue_depths(c: &mut DB::Connection) -> StoreResult<QueueDepths> {
        let depths = sqlx::query_as(
            "select
                (select count(*) from outbox
                 where sent_at is null and dead_at is null) as mail,
                (select count(*) from webhook_outbox
                 where sent_at is null and dead_at is null) as webhooks",
        )
        .fetch_one(c)
        .await?;
        Ok(depths)
    }
}
