//! The baselines that turn the service's figures into ratios, measured in the
//! same run on the same machine:
//! - argon2id verify with the service's own code and parameters on every core;
//! - a bare axum route (no database, no auth) in a process of its own;
//! - the database work of one refresh: the store's own statements of
//!   `Accounts::refresh` in one transaction, straight through sqlx, with nothing
//!   of the service around them (no HTTP, no JSON, no tokens to sign).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use auth_service::accounts::primitives::{
    HashMemory, OpaqueToken, TokenHash, argon2_params, hash_password, verify_password,
};
use auth_service::config::DatabaseUrl;
use auth_service::store::Store;

use crate::load::Stats;
use crate::scenarios::PASSWORD;
use crate::service::Argon2Params;

/// Password checks per second with `params`, one thread per core, each on its
/// own reused buffer (as the service's hashing threads run them).
pub fn argon2_verify(params: Argon2Params, duration: Duration) -> anyhow::Result<Stats> {
    let params = argon2_params(params.m_kib, params.t, params.p)?;
    let stored = hash_password(&params, PASSWORD.as_bytes(), &mut HashMemory::default())?;
    let stored = Arc::<str>::from(stored);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let stored = stored.clone();
            std::thread::spawn(move || {
                let mut memory = HashMemory::default();
                let mut stats = Stats::new();
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let ok = verify_password(&stored, PASSWORD.as_bytes(), &mut memory);
                    stats.record(began.elapsed(), ok);
                }
                stats
            })
        })
        .collect();
    let mut total = Stats::new();
    for worker in workers {
        let stats = worker
            .join()
            .map_err(|_| anyhow::anyhow!("an argon2 thread panicked"))?;
        total.merge(&stats);
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

/// `auth-bench bare-route`: GET /healthz answering the same JSON as the
/// service's, on tokio's default runtime, and nothing else.
pub async fn serve_bare_route(port: u16) -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/healthz",
        get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Refreshes per second done as bare database work: `connections` chains, each
/// starting from a live refresh token, through a pool of `pool_size`
/// connections (the service's DATABASE_MAX_CONNECTIONS).
pub async fn refresh_database_work(
    url: &DatabaseUrl,
    pool_size: u32,
    tokens: Vec<String>,
    duration: Duration,
) -> anyhow::Result<Stats> {
    let store = Store::connect(url, pool_size).await?;
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut presented = TokenHash::of(&token).0;
                let mut stats = Stats::new();
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let next = one_refresh(&store, &presented).await;
                    stats.record(began.elapsed(), next.is_ok());
                    match next {
                        Ok(next) => presented = next,
                        Err(_) => break,
                    }
                }
                stats
            })
        })
        .collect();
    let mut total = Stats::new();
    for task in tasks {
        total.merge(&task.await.context("a database task panicked")?);
    }
    total.elapsed = start.elapsed();
    store.close().await;
    Ok(total)
}

/// The statements `Accounts::refresh` runs for a live token, in its order, in
/// one write transaction; the digest of the token that replaces it.
async fn one_refresh(store: &Store, presented: &[u8; 32]) -> anyhow::Result<[u8; 32]> {
    let now = chrono::Utc::now();
    let mut db = store.begin().await?;
    let locked = db
        .lock_refresh_token(presented)
        .await?
        .context("the refresh token is gone")?;
    db.mark_refresh_token_rotated(presented, now).await?;
    let successor = OpaqueToken::generate()?.hash;
    db.insert_refresh_token(locked.session_id, &successor.0, now)
        .await?;
    db.touch_session(locked.session_id, now, now + chrono::Duration::days(30))
        .await?;
    db.user_by_id(locked.user_id).await?.context("no user")?;
    db.commit().await?;
    Ok(successor.0)
}
