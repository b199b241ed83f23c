//! PostgreSQL: connecting (creating the database when missing), migrations, and
//! what differs from SQLite: row locks with `for update` and `skip locked`.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::migrate::MigrateDatabase as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Pool, Postgres, Transaction};

use super::backend::Backend;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects, creating the database when the server has none of that name, and
/// applies pending migrations. Returns the pool and a description for the log.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<(PgPool, String)> {
    let options =
        PgConnectOptions::from_str(url).context("DATABASE_URL: not a valid postgres:// URL")?;
    let target = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let exists = Postgres::database_exists(url).await.with_context(|| {
        format!(
            "cannot reach PostgreSQL at {target} (DATABASE_URL). Start PostgreSQL there, \
             point DATABASE_URL at a reachable server, or unset it to use SQLite"
        )
    })?;
    if !exists {
        tracing::info!(database = %target, "creating database");
        Postgres::create_database(url)
            .await
            .context("DATABASE_URL: the database does not exist and could not be created")?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .before_acquire(super::backend::outside_transactions)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {target}"))?;
    MIGRATOR
        .run(&pool)
        .await
        .context("applying database migrations")?;
    Ok((pool, format!("postgres {target}")))
}

impl Backend for Postgres {
    /// Row locks serialise concurrent refreshes of one token.
    const LOCK_REFRESH_TOKEN: &'static str =
        "select s.id as session_id, s.user_id, t.rotated_at, s.revoked_at,
                s.idle_expires_at, s.expires_at, s.auth_method
         from refresh_tokens t join sessions s on s.id = t.session_id
         where t.token_hash = $1
         for update of t, s";

    /// `skip locked` lets several instances claim disjoint batches at once.
    const CLAIM_MAIL: &'static str = "update outbox set locked_until = $2, attempts = attempts + 1
         where id in (
             select id from outbox
             where sent_at is null and dead_at is null and next_attempt_at <= $1
               and (locked_until is null or locked_until <= $1)
             order by next_attempt_at
             limit $3 for update skip locked)
         returning id, recipient, subject, body_text, body_html, sealed_token, attempts,
                   created_at";

    /// `skip locked` lets several instances claim disjoint batches at once.
    const CLAIM_WEBHOOKS: &'static str =
        "update webhook_outbox set locked_until = $2, attempts = attempts + 1
         where id in (
             select id from webhook_outbox
             where sent_at is null and dead_at is null and next_attempt_at <= $1
               and (locked_until is null or locked_until <= $1)
             order by created_at, id
             limit $3 for update skip locked)
         returning id, event_type, payload, attempts, created_at";

    const NEXT_LINK_REQUEST: &'static str =
        "select id, purpose, email, ip, user_agent, created_at from link_requests
         order by created_at limit 1 for update skip locked";

    /// Row locks make instances starting at once seal one after the other.
    const LOCK_SIGNING_KEYS: &'static str =
        "select kid, private_key, created_at, retired_at, sealed from signing_keys
         order by created_at for update";

    /// Concurrent retention batches take disjoint rows and never wait.
    const SKIP_LOCKED_ROWS: &'static str = " for update of r skip locked";

    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        pool.begin().await
    }
}
