//! Statements of signing-key rotation: retiring the current key and storing
//! its successor, in one transaction. Written once for both backends.

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
    for<'r> (String,): FromRow<'r, DB::Row>,
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
        sqlx::query("insert into signing_keys (kid, private_key, created_at) values ($1, $2, $3)")
            .bind(key.kid.as_str())
            .bind(&key.private_key[..])
            .bind(key.created_at)
            .execute(c)
            .await?;
        Ok(())
    }
}
