//! `auth-bench`: the load benchmark of `make bench` (see docs/performance.md).
//!
//! `auth-bench run --service target/release/auth-service --sqlite --postgres URL`
//! measures the baselines, then each backend, and prints one table.
//! `auth-bench bare-route --port P` is the bare axum route it loads as a baseline.
//! `auth-bench soak --sqlite --postgres URL` is `make soak` (see soak/mod.rs).

mod baselines;
mod load;
mod run;
mod scenarios;
mod service;
mod soak;
mod table;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use service::{Argon2Params, Database, Target};

#[derive(Parser)]
#[command(name = "auth-bench", about = "Load benchmark of auth-service")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure and print the table.
    Run(RunArgs),
    /// Serve the bare axum route (a baseline; started by `run`).
    BareRoute {
        #[arg(long)]
        port: u16,
    },
    /// The soak of `make soak`: a mixed workload for minutes, checked.
    Soak(soak::Args),
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    target: Target,
    /// How long each row runs.
    #[arg(long, env = "BENCH_DURATION", default_value = "8s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Open connections, each with one request in flight.
    #[arg(long, env = "BENCH_CONNECTIONS", default_value_t = 32)]
    connections: usize,
    /// The service's DATABASE_MAX_CONNECTIONS (its default), also the pool of
    /// the bare database work.
    #[arg(long, default_value_t = 10)]
    pool_size: u32,
    #[arg(long, env = "BENCH_PORT", default_value_t = 18480)]
    port: u16,
    /// libargon2's verify rate on all cores at the service's parameters, and at
    /// fastapi-users' (measured by scripts/libargon2-rate.py), for the table.
    #[arg(long)]
    libargon2: Option<f64>,
    #[arg(long)]
    libargon2_fastapi: Option<f64>,
}

/// The service's defaults (the OWASP floor) and fastapi-users' (pwdlib's argon2 defaults).
const SERVICE_ARGON2: Argon2Params = Argon2Params {
    m_kib: 19_456,
    t: 2,
    p: 1,
};
const FASTAPI_ARGON2: Argon2Params = Argon2Params {
    m_kib: 65_536,
    t: 3,
    p: 4,
};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The load generator gets as many workers as the machine has cores, like
    // `wrk -t2` on two cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Cmd::BareRoute { port } => runtime.block_on(baselines::serve_bare_route(port)),
        Cmd::Run(args) => runtime.block_on(measure(args)),
        Cmd::Soak(args) => {
            // A failed soak has printed its reasons: exit 1 without an error trace.
            if !runtime.block_on(soak::run(args))? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn measure(args: RunArgs) -> anyhow::Result<()> {
    let settings = run::Settings {
        binary: &args.target.service,
        port: args.port,
        connections: args.connections,
        duration: args.duration,
        pool_size: args.pool_size,
        service_argon2: SERVICE_ARGON2,
        fastapi_argon2: FASTAPI_ARGON2,
        settle: Duration::from_secs(3),
    };
    let d = args.duration;
    run::progress("baseline", "bare axum route");
    let bare = bare_route(args.port + 1, args.connections, d).await?;

    let mut backends = Vec::new();
    if args.target.sqlite {
        let dir = temp_dir("sqlite")?;
        let rows = run::backend(&settings, &Database::Sqlite(dir.clone()), &dir, "SQLite").await;
        let _ = std::fs::remove_dir_all(&dir);
        backends.push(("SQLite", rows?));
    }
    if let Some(url) = &args.target.postgres {
        let dir = temp_dir("postgres")?;
        let rows = run::backend(
            &settings,
            &Database::Postgres(url.clone()),
            &dir,
            "PostgreSQL",
        )
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        backends.push(("PostgreSQL", rows?));
    }
    let baselines = table::Baselines {
        bare,
        libargon2: args.libargon2,
        libargon2_fastapi: args.libargon2_fastapi,
    };
    print!("{}", table::render(&settings, &baselines, &backends));
    Ok(())
}

/// Loads GET /healthz of the bare axum route, served by this binary in a
/// process of its own (as the service is).
async fn bare_route(
    port: u16,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<load::Stats> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["bare-route", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .spawn()
        .context("starting the bare route")?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut ready = false;
    for _ in 0..100 {
        if load::Connection::open(addr).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let result = if ready {
        let scripts = (0..connections)
            .map(|_| scenarios::Get {
                path: "/healthz",
                bearer: None,
            })
            .collect();
        load::run(addr, scripts, duration)
            .await
            .map(|(stats, _)| stats)
    } else {
        Err(anyhow::anyhow!("the bare route did not start"))
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn temp_dir(what: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "auth-bench-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
