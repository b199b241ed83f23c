//! What differs between the two databases, in one small trait: how a write
//! transaction begins and the statements whose locking differs. Everything
//! else is the same SQL on both (`$n` placeholders, `returning`, `on conflict`),
//! written once in the `*_sql.rs` files as functions generic over [`Backend`].

use std::future::Future;

use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{Database, Pool, Transaction};

pub trait Backend: Database {
    /// Reads a refresh token and its session, locked until the transaction ends,
    /// so concurrent refreshes of one token are serialised.
    const LOCK_REFRESH_TOKEN: &'static str;
    /// Claims due outbox rows that no other worker holds.
    const CLAIM_MAIL: &'static str;
    /// Claims due webhook-outbox rows that no other worker holds.
    const CLAIM_WEBHOOKS: &'static str;
    /// The oldest queued link request, locked until the transaction ends and
    /// skipped by other workers meanwhile.
    const NEXT_LINK_REQUEST: &'static str;
    /// Every stored signing key, locked until the transaction ends, so that
    /// instances starting at once seal the old plaintext keys one at a time.
    const LOCK_SIGNING_KEYS: &'static str;
    /// Ends the `select` of a retention batch (its table aliased `r`): the rows
    /// it picks are locked, and rows another instance holds are skipped.
    const SKIP_LOCKED_ROWS: &'static str;

    /// How many rows a statement changed (each driver has its own result type).
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// Begins a transaction that is going to write.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;
}

/// The shared SQL, as associated functions of one type per backend so that the
/// generic bounds are written once per file rather than once per function.
pub struct Sql<DB>(std::marker::PhantomData<DB>);

/// A connection the core runs statements on: a write transaction, or a pooled
/// connection in autocommit mode for reads.
pub enum Link<DB: Database> {
    Transaction(Transaction<'static, DB>),
    Autocommit(sqlx::pool::PoolConnection<DB>),
}

impl<DB: Database> Link<DB> {
    pub fn connection(&mut self) -> &mut DB::Connection {
        match self {
            Link::Transaction(tx) => tx,
            Link::Autocommit(conn) => conn,
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Link::Transaction(tx) => tx.commit().await,
            Link::Autocommit(_) => Ok(()),
        }
    }
}

/// The pools' `before_acquire` check: a connection still inside a transaction
/// is closed instead of handed out. A commit the database failed and rolled back
/// by itself (disk full, I/O error) leaves the driver counting one open
/// transaction that its rollback cannot end; every later `begin` on that
/// connection would fail ("begin_with at non-zero transaction depth") until a
/// restart.
pub fn outside_transactions<'c, C: sqlx::Connection>(
    connection: &'c mut C,
    _: PoolConnectionMetadata,
) -> BoxFuture<'c, Result<bool, sqlx::Error>> {
    let usable = !connection.is_in_transaction();
    if !usable {
        tracing::warn!("closing a pooled database connection left inside a transaction");
    }
    Box::pin(std::future::ready(Ok(usable)))
}
