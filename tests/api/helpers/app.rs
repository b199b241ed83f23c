//! `spawn_app()`: the real application on 127.0.0.1:0, its own fresh database, and
//! a real SMTP server that receives its mail.
//!
//! The backend comes from `TEST_BACKEND` (`sqlite`, the default, or `postgres`):
//! `make test` runs this whole suite once per backend. PostgreSQL test databases
//! are created on `TEST_DATABASE_URL`'s server and dropped afterwards; SQLite ones
//! are files in a temporary folder.

use std::path::PathBuf;
use std::time::Duration;

use auth_service::config::Config;
use auth_service::{Application, Clock};
use clap::Parser;
use sqlx::{AnyPool, Connection, Executor, PgConnection};

use crate::smtp::SmtpServer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The backend this run of the suite tests.
pub fn backend() -> Backend {
    match std::env::var("TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TEST_BACKEND={other}: use postgres or sqlite"),
    }
}

/// Server that holds the per-test PostgreSQL databases.
pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// How long a test waits for an email before failing.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

pub const PASSWORD: &str = "correct horse battery staple";

/// REFRESH_GRACE_PERIOD by default: a rotated refresh token still works this long.
pub const REFRESH_GRACE: Duration = Duration::from_secs(10);

/// Later flags override earlier ones, so a test's `extra` beats the defaults.
#[derive(Parser)]
#[command(args_override_self = true)]
struct TestCli {
    #[command(flatten)]
    config: Config,
}

/// A test's own database, removed when the test ends.
#[derive(Clone)]
pub enum TestDatabase {
    /// `name` on the PostgreSQL server of `server` (a URL of its maintenance
    /// database, as TEST_DATABASE_URL is).
    Postgres {
        server: String,
        name: String,
    },
    Sqlite {
        dir: PathBuf,
    },
}

impl TestDatabase {
    /// A name for a new database (created by the first app that connects).
    pub fn create() -> TestDatabase {
        match backend() {
            Backend::Postgres => TestDatabase::on_postgres(&admin_database_url()),
            Backend::Sqlite => {
                let id = uuid::Uuid::new_v4().simple();
                TestDatabase::Sqlite {
                    dir: std::env::temp_dir().join(format!("auth-test-{id}")),
                }
            }
        }
    }

    /// A name for a new database on the PostgreSQL server of `server` (a test's
    /// own cluster, say), whatever this run's backend.
    pub fn on_postgres(server: &str) -> TestDatabase {
        let id = uuid::Uuid::new_v4().simple();
        TestDatabase::Postgres {
            server: server.to_owned(),
            name: format!("auth_test_{id}"),
        }
    }

    /// DATABASE_URL of this database (the app creates it on first connect).
    pub fn url(&self) -> String {
        match self {
            TestDatabase::Postgres { server, name } => {
                let mut url = url::Url::parse(server).expect("a PostgreSQL server URL");
                url.set_path(&format!("/{name}"));
                url.to_string()
            }
            TestDatabase::Sqlite { dir } => format!("sqlite://{}", dir.join("auth.db").display()),
        }
    }

    /// DATA_DIR of the apps on this database: where a generated SECRETS_KEY is
    /// kept, so that a restarted or second instance reads the same one (for
    /// SQLite, the folder of the database file too).
    pub fn data_dir(&self) -> PathBuf {
        match self {
            TestDatabase::Postgres { name, .. } => std::env::temp_dir().join(name),
            TestDatabase::Sqlite { dir } => dir.clone(),
        }
    }

    pub fn remove(self) {
        // The data folder with the generated SECRETS_KEY (for SQLite, that is `dir`).
        let _ = std::fs::remove_dir_all(self.data_dir());
        match self {
            TestDatabase::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            // Drop is synchronous: drop the database from a thread with its own runtime.
            TestDatabase::Postgres { server, name } => {
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut conn) = PgConnection::connect(&server).await {
                            let sql = format!("drop database if exists {name} with (force)");
                            let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// `http://127.0.0.1:PORT` of the gRPC API (`None` with `--grpc-port off`).
    pub grpc: Option<String>,
    pub client: reqwest::Client,
    pub smtp: SmtpServer,
    pub clock: Clock,
    /// The test's own connection to the app's database, for looking inside.
    pub db: AnyPool,
    pub database: TestDatabase,
    /// Whether this app removes the database when dropped (siblings do not).
    owns_database: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Builds the configuration a test app runs with: defaults plus `extra` flags
/// (e.g. `["--require-email-verification", "false"]`).
pub fn test_config(database_url: &str, smtp_url: &str, extra: &[&str]) -> Config {
    let mut args = vec![
        "auth-service",
        "--database-url",
        database_url,
        "--database-max-connections",
        "5",
        "--bind-addr",
        "127.0.0.1:0",
        "--grpc-port",
        "0",
        "--public-url",
        "http://auth.test",
        "--smtp-url",
        smtp_url,
        "--mail-from",
        "Auth Tests <auth@auth.test>",
        "--jwt-issuer",
        "http://auth.test",
        "--jwt-audience",
        "test-audience",
        // Retries and polls fast enough for a test to watch them happen.
        "--mail-retry-base",
        "200ms",
        "--mail-poll-interval",
        "250ms",
        // The suite sends many requests from 127.0.0.1: limits are off unless a
        // test turns them on (`--rate-limit on`) with quotas of its own.
        "--rate-limit",
        "off",
    ];
    args.extend_from_slice(extra);
    TestCli::try_parse_from(args)
        .expect("test configuration parses")
        .config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    spawn_on(TestDatabase::create(), true, extra).await
}

/// An app on a database the test prepared itself (removed when the app is dropped).
pub async fn spawn_app_on(database: TestDatabase, extra: &[&str]) -> TestApp {
    spawn_on(database, true, extra).await
}

/// Another app on the same database as `other` (a restart, or a second instance).
pub async fn spawn_sibling(other: &TestApp, extra: &[&str]) -> TestApp {
    spawn_on(other.database.clone(), false, extra).await
}

async fn spawn_on(database: TestDatabase, owns_database: bool, extra: &[&str]) -> TestApp {
    let smtp = SmtpServer::start().await;
    let data_dir = database.data_dir();
    let data_dir = data_dir.to_str().expect("UTF-8 temporary folder");
    let config = test_config(
        &database.url(),
        &smtp.url(),
        &[&["--data-dir", data_dir], extra].concat(),
    );
    let clock = Clock::default();
    let app = Application::build(config, clock.clone())
        .await
        .expect("application starts");
    let addr = app.local_addr().expect("bound address");
    let grpc = app.grpc_addr().map(|addr| format!("http://{addr}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async {
        let _ = rx.await;
    }));
    sqlx::any::install_default_drivers();
    let db = AnyPool::connect(&database.url())
        .await
        .expect("test connects to its database");
    TestApp {
        base: format!("http://{addr}"),
        grpc,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        smtp,
        clock,
        db,
        database,
        owns_database,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// Runs the real binary with these environment variables (and PORT=0) until it
/// exits: whether it succeeded, and what it wrote to stderr.
pub fn start_binary(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"));
    command
        .env("PORT", "0")
        .env("GRPC_PORT", "0")
        .envs(env.iter().copied());
    let out = command.output().expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl TestApp {
    /// Shuts the app down as a restart would (server and mail worker stop; the
    /// database stays until the TestApp is dropped).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if self.owns_database {
            self.database.clone().remove();
        }
    }
}
