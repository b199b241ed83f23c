//! [`Db`] methods of signing-key rotation (`signing_key_sql.rs`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite};

use super::super::backend::Sql;
use super::super::rows::*;
use super::{Db, Links};

impl Db {
    /// Retires the current signing key at `at` if it was created at or before
    /// `created_by`: its kid, or `None` (none that old, or a concurrent
    /// rotation retired it first).
    pub async fn retire_signing_key(
        &mut self,
        at: DateTime<Utc>,
        created_by: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        run!(self.retire_signing_key(at, created_by))
    }

    /// Stores the successor of a key just retired.
    pub async fn insert_signing_key(&mut self, key: &SigningKeyRow) -> StoreResult<()> {
        run!(self.insert_signing_key(key))
    }
}
