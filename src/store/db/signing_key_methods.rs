//! [`Db`] methods of signing-key rotation and sealing (`signing_key_sql.rs`).

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

    /// Every stored key, retired long ago or not, oldest first, locked until
    /// the transaction ends.
    pub async fn lock_signing_keys(&mut self) -> StoreResult<Vec<SigningKeyRow>> {
        run!(self.lock_signing_keys())
    }

    /// Replaces the plaintext key of `kid` by `sealed` unless it was sealed
    /// already; whether this call sealed it.
    pub async fn seal_signing_key(&mut self, kid: &str, sealed: &[u8]) -> StoreResult<bool> {
        run!(self.seal_signing_key(kid, sealed))
    }
}
