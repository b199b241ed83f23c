//! [`Db`] methods of the outboxes' depths (`queue_depth_sql.rs`).

use sqlx::{Postgres, Sqlite};

use super::super::backend::Sql;
use super::super::queue_depth_sql::QueueDepths;
use super::super::rows::StoreResult;
use super::{Db, Links};

impl Db {
    /// How many mails and webhooks wait to be sent (due or to be retried).
    pub async fn queue_depths(&mut self) -> StoreResult<QueueDepths> {
        run!(self.queue_depths())
    }
}
