//! One backend's rows: the service started on a fresh database, loaded row by
//! row in a fixed order (register, login, refresh, /me, /healthz), then the
//! bare database work of a refresh, then login again at fastapi-users'
//! argon2 parameters on a second start.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::baselines;
use crate::load::{self, Stats};
use crate::scenarios::{Get, Login, Refresh, Register, Tokens};
use crate::service::{Argon2Params, Database, Memory, Service};

/// What the load measures on one backend.
pub struct BackendRows {
    pub register: Stats,
    pub login: Stats,
    pub refresh: Stats,
    pub me: Stats,
    /// /me on every connection while logins keep each hashing slot busy.
    pub me_mixed: Stats,
    /// Those logins.
    pub login_mixed: Stats,
    pub healthz: Stats,
    pub database_refresh: Stats,
    pub login_fastapi: Stats,
    /// argon2 verify on all cores, measured just before the login row (the
    /// service idle), so that a busy moment of the machine hits both alike.
    pub argon2: Stats,
    /// The same at fastapi-users' parameters, just before that login row.
    pub argon2_fastapi: Stats,
    /// Default parameters: idle, peak under register+login, after that load.
    pub memory: MemoryRow,
    /// fastapi-users' parameters, the same three.
    pub memory_fastapi: MemoryRow,
}

#[derive(Clone, Copy)]
pub struct MemoryRow {
    pub idle_mib: f64,
    pub peak_mib: f64,
    pub after_mib: f64,
}

pub struct Settings<'a> {
    pub binary: &'a Path,
    pub port: u16,
    pub connections: usize,
    pub duration: Duration,
    pub pool_size: u32,
    pub service_argon2: Argon2Params,
    pub fastapi_argon2: Argon2Params,
    /// How long after start "idle RSS", and after the load "RSS after", are read
    /// (longer than the hashing threads keep their memory without work).
    pub settle: Duration,
}

pub async fn backend(
    settings: &Settings<'_>,
    database: &Database,
    data_dir: &Path,
    label: &str,
) -> anyhow::Result<BackendRows> {
    let (d, n) = (settings.duration, settings.connections);
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let service = Service::start(
        settings.binary,
        settings.port,
        data_dir,
        database,
        settings.service_argon2,
    )
    .await?;
    let addr = service.addr;
    let idle = settle_memory(&service, settings.settle).await?;

    progress(label, "POST /register");
    let scripts = (0..n)
        .map(|c| Register::new(format!("bench-{}-{c}", &run_id[..8])))
        .collect();
    let (register, scripts) = load::run(addr, scripts, d).await?;
    let users: Vec<String> = scripts.into_iter().filter_map(|s| s.first).collect();
    if users.is_empty() {
        bail!(
            "no registration succeeded on {label}: see the service log in {}",
            data_dir.display()
        );
    }

    progress(label, "argon2 verify on all cores, then POST /login");
    let argon2 = baselines::argon2_verify(settings.service_argon2, d)?;
    let scripts = (0..n)
        .map(|c| Login::new(&users[c % users.len()]))
        .collect();
    let (login, scripts) = load::run(addr, scripts, d).await?;
    let tokens: Vec<Tokens> = scripts.iter().filter_map(Login::tokens).collect();
    let memory = after_load(&service, idle, settings.settle).await?;
    if tokens.len() < n {
        bail!(
            "only {} of {n} connections logged in on {label}",
            tokens.len()
        );
    }

    progress(label, "POST /refresh");
    let scripts = tokens
        .iter()
        .map(|t| Refresh {
            token: t.refresh_token.clone(),
        })
        .collect();
    let (refresh, scripts) = load::run(addr, scripts, d).await?;
    let live: Vec<String> = scripts.into_iter().map(|s| s.token).collect();

    progress(label, "GET /me");
    let (me, _) = load::run(addr, me_scripts(&tokens), d).await?;

    progress(label, "GET /me while logins keep every hashing slot busy");
    let (me_mixed, login_mixed) = me_while_logging_in(addr, &tokens, &users, d).await?;

    progress(label, "GET /healthz");
    let scripts = (0..n)
        .map(|_| Get {
            path: "/healthz",
            bearer: None,
        })
        .collect();
    let (healthz, _) = load::run(addr, scripts, d).await?;
    drop(service);

    progress(label, "refresh's database work");
    let database_refresh =
        baselines::refresh_database_work(&database.url(), settings.pool_size, live, d).await?;

    progress(label, "POST /login at fastapi-users' argon2 parameters");
    let (login_fastapi, argon2_fastapi, memory_fastapi) = login_at(
        settings,
        database,
        data_dir,
        settings.fastapi_argon2,
        &run_id,
    )
    .await?;

    Ok(BackendRows {
        register,
        login,
        refresh,
        me,
        me_mixed,
        login_mixed,
        healthz,
        database_refresh,
        login_fastapi,
        argon2,
        argon2_fastapi,
        memory,
        memory_fastapi,
    })
}

/// GET /me with each token, one connection per token.
fn me_scripts(tokens: &[Tokens]) -> Vec<Get> {
    tokens
        .iter()
        .map(|t| Get {
            path: "/me",
            bearer: Some(t.access_token.clone()),
        })
        .collect()
}

/// /me on every token's connection and, at the same time, two logins per
/// hashing slot (one hashing, one queued: no slot is ever idle).
async fn me_while_logging_in(
    addr: std::net::SocketAddr,
    tokens: &[Tokens],
    users: &[String],
    d: Duration,
) -> anyhow::Result<(Stats, Stats)> {
    let me = me_scripts(tokens);
    let slots = std::thread::available_parallelism().map_or(1, |n| n.get());
    let logins = (0..2 * slots)
        .map(|c| Login::new(&users[c % users.len()]))
        .collect();
    let (me, logins) = tokio::join!(load::run(addr, me, d), load::run(addr, logins, d));
    Ok((me?.0, logins?.0))
}

/// Login load on a new start of the service with `argon2`, for users
/// registered by that start (their hashes carry those parameters).
async fn login_at(
    settings: &Settings<'_>,
    database: &Database,
    data_dir: &Path,
    argon2: Argon2Params,
    run_id: &str,
) -> anyhow::Result<(Stats, Stats, MemoryRow)> {
    let service =
        Service::start(settings.binary, settings.port, data_dir, database, argon2).await?;
    let idle = settle_memory(&service, settings.settle).await?;
    // One user per hashing thread is enough: the hash is the work.
    let users: Vec<String> = (0..4)
        .map(|i| format!("bench-{}-params-{i}@example.com", &run_id[..8]))
        .collect();
    for email in &users {
        let mut connection = load::Connection::open(service.addr).await?;
        let body = serde_json::json!({"email": email, "password": crate::scenarios::PASSWORD});
        let (status, _) = connection
            .send(load::request(
                "POST",
                "/register",
                None,
                Some(body.to_string()),
            ))
            .await?;
        if !status.is_success() {
            bail!("registering {email} answered {status}");
        }
    }
    let baseline = baselines::argon2_verify(argon2, settings.duration)?;
    let scripts = (0..settings.connections)
        .map(|c| Login::new(&users[c % users.len()]))
        .collect();
    let (login, _) = load::run(service.addr, scripts, settings.duration).await?;
    let memory = after_load(&service, idle, settings.settle).await?;
    Ok((login, baseline, memory))
}

/// Memory after a short quiet moment.
async fn settle_memory(service: &Service, quiet: Duration) -> anyhow::Result<Memory> {
    tokio::time::sleep(quiet).await;
    service.memory().context("reading the service's memory")
}

async fn after_load(
    service: &Service,
    idle: Memory,
    settle: Duration,
) -> anyhow::Result<MemoryRow> {
    let after = settle_memory(service, settle).await?;
    Ok(MemoryRow {
        idle_mib: idle.rss_mib,
        peak_mib: after.peak_mib,
        after_mib: after.rss_mib,
    })
}

pub fn progress(label: &str, what: &str) {
    eprintln!("  {label}: {what} …");
}
