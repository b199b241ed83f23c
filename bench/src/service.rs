//! The service under load, as a child process: started with rate limits and
//! email verification off, stopped (killed) when dropped, its memory read from
//! `/proc/PID/status`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::load::{Connection, request};

/// Where the service keeps its data for one backend.
/// Which binary to start, and on which backends (`run` and `soak` alike).
#[derive(clap::Args)]
pub struct Target {
    /// The service's binary.
    #[arg(long, default_value = "target/release/auth-service")]
    pub service: PathBuf,
    /// On SQLite (a fresh file in a temporary folder).
    #[arg(long)]
    pub sqlite: bool,
    /// On this PostgreSQL database (fresh, made by the caller).
    #[arg(long)]
    pub postgres: Option<String>,
}

#[derive(Clone)]
pub enum Database {
    /// A fresh SQLite file in this folder.
    Sqlite(PathBuf),
    /// A fresh PostgreSQL database.
    Postgres(String),
}

impl Database {
    pub fn url(&self) -> auth_service::config::DatabaseUrl {
        use auth_service::config::DatabaseUrl;
        match self {
            Database::Sqlite(dir) => DatabaseUrl::Sqlite(dir.join("auth.db")),
            Database::Postgres(url) => DatabaseUrl::Postgres(url.clone()),
        }
    }
}

/// A running child process serving HTTP on `addr`.
pub struct Service {
    child: Child,
    pub addr: SocketAddr,
}

/// argon2id parameters: memory KiB, iterations, lanes.
#[derive(Clone, Copy)]
pub struct Argon2Params {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Service {
    /// Starts `binary` on `port` and waits (at most 60 s) until /healthz answers.
    pub async fn start(
        binary: &Path,
        port: u16,
        data_dir: &Path,
        database: &Database,
        argon2: Argon2Params,
    ) -> anyhow::Result<Self> {
        Self::start_with(binary, port, data_dir, database, argon2, &[]).await
    }

    /// [`Self::start`] with `env` set over the settings above (the soak turns
    /// email verification on and points the service at its SMTP server).
    pub async fn start_with(
        binary: &Path,
        port: u16,
        data_dir: &Path,
        database: &Database,
        argon2: Argon2Params,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        command
            .env("PORT", port.to_string())
            .env("BIND_ADDR", "127.0.0.1")
            .env("GRPC_PORT", "off")
            .env("DATA_DIR", data_dir)
            .env("RATE_LIMIT", "off")
            .env("REQUIRE_EMAIL_VERIFICATION", "false")
            .env(
                "RUST_LOG",
                std::env::var("BENCH_RUST_LOG").unwrap_or("warn".into()),
            )
            .env("ARGON2_MEMORY_KIB", argon2.m_kib.to_string())
            .env("ARGON2_ITERATIONS", argon2.t.to_string())
            .env("ARGON2_PARALLELISM", argon2.p.to_string())
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("SMTP_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data_dir.join("service.log"))?);
        if let Database::Postgres(url) = database {
            command.env("DATABASE_URL", url);
        }
        command.envs(env.iter().map(|(name, value)| (name, value)));
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut service = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        service.wait_ready(data_dir).await?;
        Ok(service)
    }

    async fn wait_ready(&mut self, data_dir: &Path) -> anyhow::Result<()> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(data_dir.join("service.log")).unwrap_or_default();
                bail!("the service exited at start ({status}):\n{log}");
            }
            if let Ok(mut connection) = Connection::open(self.addr).await
                && let Ok((status, _)) = connection
                    .send(request("GET", "/healthz", None, None))
                    .await
                && status.is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the service did not answer /healthz within 60 s")
    }

    /// Resident memory now and at its peak since start, in MiB.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        memory_of(self.child.id())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub rss_mib: f64,
    pub peak_mib: f64,
}

pub fn memory_of(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .context("no value")?
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok(Memory {
        rss_mib: field("VmRSS:")?,
        peak_mib: field("VmHWM:")?,
    })
}
