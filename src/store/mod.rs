//! Persistence: rows and SQL, no rules. Every SQL statement of the service lives
//! below this module. The core opens a [`Db`] (a write transaction with
//! [`Store::begin`], or a plain connection with [`Store::connection`]), runs the
//! statements its flow needs, and commits; which backend runs is known only here.

mod account_sql;
mod admin_sql;
mod backend;
mod db;
mod email_key;
mod mfa_sql;
mod notifications;
mod passkey_sql;
mod postgres;
mod queue_depth_sql;
mod record_sql;
mod retention_sql;
mod rows;
mod signing_key_sql;
mod sqlite;
mod webhook_sql;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

use crate::config::DatabaseUrl;
use backend::{Backend, Link};

pub use db::Db;
pub use notifications::Notifications;
pub use queue_depth_sql::QueueDepths;
pub use retention_sql::Expired;
pub use rows::*;

/// The database pool: PostgreSQL for production, an embedded SQLite file for zero set-up.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    description: String,
}

#[derive(Clone)]
enum Pools {
    Postgres(PgPool),
    Sqlite(SqlitePool, sqlite::Writer),
}

impl Store {
    /// Opens the database (creating it when missing) and applies pending migrations.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Self> {
        let (pools, description) = match url {
            DatabaseUrl::Postgres(url) => {
                let (pool, description) = postgres::connect(url, max_connections).await?;
                (Pools::Postgres(pool), description)
            }
            DatabaseUrl::Sqlite(path) => {
                let (pool, description) = sqlite::connect(path, max_connections).await?;
                (Pools::Sqlite(pool, sqlite::Writer::new()), description)
            }
        };
        Ok(Store { pools, description })
    }

    /// What a log line should say about where the data is.
    pub fn describe(&self) -> &str {
        &self.description
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Postgres(pool) => pool.close().await,
            Pools::Sqlite(pool, _) => pool.close().await,
        }
    }

    /// A write transaction. Dropped without [`Db::commit`], it rolls back.
    pub async fn begin(&self) -> StoreResult<Db> {
        Ok(match &self.pools {
            Pools::Postgres(pool) => {
                Db::postgres(Link::Transaction(Postgres::begin_write(pool).await?))
            }
            Pools::Sqlite(pool, writer) => {
                // In turn, before asking SQLite for its one write lock.
                let turn = writer.turn().await?;
                Db::sqlite(Link::Transaction(Sqlite::begin_write(pool).await?)).holding(turn)
            }
        })
    }

    /// A connection in autocommit mode: for reads, and single statements that
    /// need no transaction.
    pub async fn connection(&self) -> StoreResult<Db> {
        Ok(match &self.pools {
            Pools::Postgres(pool) => Db::postgres(Link::Autocommit(pool.acquire().await?)),
            Pools::Sqlite(pool, _) => Db::sqlite(Link::Autocommit(pool.acquire().await?)),
        })
    }
}
