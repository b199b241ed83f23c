//! Embedded SQLite, configured for a server: WAL (readers never block the
//! writer), a busy timeout (writers queue instead of failing with "database is
//! locked"), foreign keys on, `secure_delete` (freed pages are zeroed), and
//! every write transaction started with
//! `begin immediate`, which takes the single write lock up front. That lock is
//! what serialises concurrent refreshes here, as row locks do on PostgreSQL; a
//! deferred transaction could instead fail when upgrading from read to write.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite, SqlitePool, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::backend::Backend;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for the write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating it and its folder when missing) the database file and applies
/// pending migrations. Returns the pool and a description for the log.
pub async fn connect(path: &Path, max_connections: u32) -> anyhow::Result<(SqlitePool, String)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "DATABASE_URL / DATA_DIR: cannot create the folder {}",
                dir.display()
            )
        })?;
    }
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        // Deleted and overwritten content is zeroed rather than left in free
        // pages of the file.
        .pragma("secure_delete", "on")
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(BUSY_TIMEOUT)
        .before_acquire(super::backend::outside_transactions)
        .connect_with(options)
        .await
        .with_context(|| {
            format!(
                "DATABASE_URL / DATA_DIR: cannot open the SQLite file {} \
                 (is the folder writable by this user?)",
                path.display()
            )
        })?;
    MIGRATOR
        .run(&pool)
        .await
        .with_context(|| format!("applying database migrations to {}", path.display()))?;
    Ok((pool, format!("sqlite {}", path.display())))
}

/// SQLite has one write lock per file. Writers of this process take turns for
/// it here, in order, and each begins as soon as the one before has ended;
/// left to SQLite, all but one would sleep in its busy handler (1, 2, 5, 10 …
/// 100 ms) and the lock would often sit free while they slept. Another process
/// on the same file is still waited for by the busy timeout.
#[derive(Clone)]
pub(super) struct Writer(Arc<Semaphore>);

impl Writer {
    pub(super) fn new() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }

    /// This process's turn to write, within the busy timeout.
    pub(super) async fn turn(&self) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        let turn = tokio::time::timeout(BUSY_TIMEOUT, self.0.clone().acquire_owned());
        match turn.await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(sqlx::Error::PoolClosed),
            Err(_elapsed) => Err(sqlx::Error::PoolTimedOut),
        }
    }
}

impl Backend for Sqlite {
    /// No row locks in SQLite: the transaction already holds the write lock.
    const LOCK_REFRESH_TOKEN: &'static str =
        "select s.id as session_id, s.user_id, t.rotated_at, s.revoked_at,
                s.idle_expires_at, s.expires_at, s.auth_method
         from refresh_tokens t join sessions s on s.id = t.session_id
         where t.token_hash = $1";

    /// The write lock of the transaction keeps two claims from overlapping.
    const CLAIM_MAIL: &'static str = "update outbox set locked_until = $2, attempts = attempts + 1
         where id in (
             select id from outbox
             where sent_at is null and dead_at is null and next_attempt_at <= $1
               and (locked_until is null or locked_until <= $1)
             order by next_attempt_at
             limit $3)
         returning id, recipient, subject, body_text, body_html, sealed_token, attempts,
                   created_at";

    /// The write lock of the transaction keeps two claims from overlapping.
    const CLAIM_WEBHOOKS: &'static str =
        "update webhook_outbox set locked_until = $2, attempts = attempts + 1
         where id in (
             select id from webhook_outbox
             where sent_at is null and dead_at is null and next_attempt_at <= $1
               and (locked_until is null or locked_until <= $1)
             order by created_at, id
             limit $3)
         returning id, event_type, payload, attempts, created_at";

    /// The write lock of the transaction keeps two workers from taking one request.
    const NEXT_LINK_REQUEST: &'static str =
        "select id, purpose, email, ip, user_agent, created_at from link_requests
         order by created_at limit 1";

    /// The write lock of the transaction keeps two sealing instances apart.
    const LOCK_SIGNING_KEYS: &'static str =
        "select kid, private_key, created_at, retired_at, sealed from signing_keys
         order by created_at";

    /// The write lock of the transaction keeps two retention batches apart.
    const SKIP_LOCKED_ROWS: &'static str = "";

    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        pool.begin_with("begin immediate").await
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Executor as _;

    use super::*;

    /// A commit that fails after the database already ended the transaction
    /// (here: ended behind the driver's back, as SQLite does itself on a full
    /// disk or an I/O error) must not leave its pooled connection unusable.
    #[tokio::test]
    async fn a_failed_commit_leaves_the_pool_able_to_write() {
        let dir = std::env::temp_dir().join(format!("auth-store-{}", uuid::Uuid::new_v4()));
        let (pool, _) = connect(&dir.join("auth.db"), 1).await.expect("opens");
        let mut tx = Sqlite::begin_write(&pool).await.expect("begins");
        (&mut *tx)
            .execute("rollback")
            .await
            .expect("ends it underneath");
        tx.commit()
            .await
            .expect_err("the commit finds no transaction");

        // The one connection of the pool takes writes again.
        let mut tx = Sqlite::begin_write(&pool).await.expect("begins again");
        (&mut *tx)
            .execute("create table probe (x integer)")
            .await
            .expect("writes");
        tx.commit().await.expect("commits");
        pool.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
