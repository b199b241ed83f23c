//! [`Db`] methods of retention (`retention_sql.rs`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite};

use super::super::backend::Sql;
use super::super::retention_sql::Expired;
use super::super::rows::StoreResult;
use super::{Db, Links};

impl Db {
    /// Deletes at most `limit` rows of `kind` that are old by `cutoff`; how many.
    pub async fn delete_expired(
        &mut self,
        kind: Expired,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        run!(self.delete_expired(kind, cutoff, limit))
    }
}
