//! Statements of signing-key rotation (retiring the current key and storing
//! its successor, in one transaction) and of sealing the keys stored before
//! keys were sealed. Written once for both backends.

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
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> SigningKeyRow: FromRow<'r, DB::Row>,
{
    /// Retires the current key at `at` if it was created at or before
    /// `created_by`; returns its kid, or `None` when there was none so old. The
    /// row lock this takes (the write lock on SQLite) makes a concurrent
    /// rotation wait and then find nothing left to retire: one rotation wins.
    pub async fn retire_signing_key(
        c: &mut DB::Connection,
        at: DateTime<Utc>,
        created_by: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let retired: Option<(String,)> = sqlx::query_as(
            "update signing_keys set retired_at = $1
             where retired_at is null and created_at <= $2
             returning kid",
        )
        .bind(at)
        .bind(created_by)
        .fetch_optional(c)
        .await?;
        Ok(retired.map(|(kid,)| kid))
    }

    /// Stores `key` as the current key (fails if there is one: retire it first).
    pub async fn insert_signing_key(
        c: &mut DB::Connection,
        key: &SigningKeyRow,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into signing_keys (kid, private_key, created_at, sealed)
             values ($1, $2, $3, $4)",
        )
        .bind(key.kid.as_str())
        .bind(&key.private_key[..])
        .bind(key.created_at)
        .bind(key.sealed)
        .execute(c)
        .await?;
        Ok(())
    }

    /// Every stored key, retired long ago or not, oldest first, locked until
    /// the transaction ends.
    pub async fn lock_signing_keys(c: &mut DB::Connection) -> StoreResult<Vec<SigningKeyRow>> {
        Ok(sqlx::query_as(DB::LOCK_SIGNING_KEYS).fetch_all(c).await?)
    }

    /// Replaces the plaintext key of `kid` by `sealed`, unless it was sealed
    /// already; whether this call sealed it.
    pub async fn seal_signing_key(
        c: &mut DB::Connection,
        kid: &str,
        sealed: &[u8],
    ) -> StoreResult<bool> {
        let done: Option<(String,)> = sqlx::query_as(
            "update signing_keys set private_key = $2, sealed = $3
             where kid = $1 and sealed = $4
             returning kid",
        )
        .bind(kid)
        .bind(sealed)
        .bind(true)
        .bind(false)
        .fetch_optional(c)
        .await?;
        Ok(done.is_some())
    }
}
