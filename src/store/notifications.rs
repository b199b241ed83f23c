//! PostgreSQL `LISTEN`/`NOTIFY`: how instances sharing one PostgreSQL database
//! hear of each other's changes without a broker. SQLite has no such thing (and
//! serves one instance), so there the caller delivers in process.

use sqlx::postgres::PgListener;

use super::db::Db;
use super::rows::StoreResult;
use super::{Pools, Store};

/// A `LISTEN` on one channel, on its own connection.
pub struct Notifications {
    listener: PgListener,
}

impl Store {
    /// Listens on `channel`; `None` on SQLite. Returns once PostgreSQL listens,
    /// so a notification sent after this returns is heard.
    pub async fn listen(&self, channel: &str) -> StoreResult<Option<Notifications>> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok(Some(Notifications { listener }))
    }
}

impl Notifications {
    /// The next payload. `Ok(None)`: the connection was lost and notifications
    /// sent meanwhile are gone; the next call reconnects and listens again.
    pub async fn next(&mut self) -> StoreResult<Option<String>> {
        Ok(self
            .listener
            .try_recv()
            .await?
            .map(|notification| notification.payload().to_owned()))
    }
}

impl Db {
    /// Sends `payload` on `channel` when the transaction commits (PostgreSQL
    /// delivers notifications of a transaction only if it commits). Returns
    /// false on SQLite, where there is nobody else to tell.
    pub async fn notify(&mut self, channel: &str, payload: &str) -> StoreResult<bool> {
        let Some(connection) = self.postgres_connection() else {
            return Ok(false);
        };
        sqlx::query("select pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(connection)
            .await?;
        Ok(true)
    }
}
