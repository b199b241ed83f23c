//! The built binary as a child process, for what only a process shows: signals
//! (SIGTERM, SIGHUP, SIGKILL), the exit code, and the log lines on stdout.

use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::TestDatabase;

/// How long the binary may take to start listening.
const START_WAIT: Duration = Duration::from_secs(30);

pub struct ServiceProcess {
    child: Child,
    /// Where it serves HTTP(S), read from its start-up log line.
    pub addr: SocketAddr,
    /// Every line it wrote to stdout so far (LOG_FORMAT=json: one object each).
    lines: Arc<Mutex<Vec<String>>>,
    database: Option<TestDatabase>,
}

impl ServiceProcess {
    /// Starts the binary on a fresh database of this run's backend (removed when
    /// this is dropped) with JSON logs, PORT=0, no gRPC, no rate limits, and
    /// `env` on top; returns once it listens.
    pub async fn start(env: &[(&str, &str)]) -> ServiceProcess {
        ServiceProcess::start_on(TestDatabase::create(), env).await
    }

    /// As [`ServiceProcess::start`], on `database` (a restart on the database
    /// of a killed process: see [`ServiceProcess::sigkill`]).
    pub async fn start_on(database: TestDatabase, env: &[(&str, &str)]) -> ServiceProcess {
        let data_dir = database.data_dir();
        std::fs::create_dir_all(&data_dir).expect("data folder");
        let mut command = Command::new(env!("CARGO_BIN_EXE_auth-service"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database.url())
            .env("DATA_DIR", &data_dir)
            .env("BIND_ADDR", "127.0.0.1")
            .env("PORT", "0")
            .env("GRPC_PORT", "off")
            .env("LOG_FORMAT", "json")
            .env("RATE_LIMIT", "off")
            .env("MAIL_POLL_INTERVAL", "250ms")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (listening, mut heard) = tokio::sync::watch::channel(None::<SocketAddr>);
        tokio::spawn({
            let lines = lines.clone();
            async move {
                let mut reader = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if let Some(addr) = listening_addr(&line) {
                        let _ = listening.send(Some(addr));
                    }
                    lines.lock().expect("log lines").push(line);
                }
            }
        });
        let waited = tokio::time::timeout(START_WAIT, heard.wait_for(Option::is_some)).await;
        let addr = match waited {
            Ok(Ok(addr)) => addr.expect("an address"),
            _ => panic!(
                "the binary did not start listening: {:#?}",
                lines.lock().expect("log lines")
            ),
        };
        ServiceProcess {
            child,
            addr,
            lines,
            database: Some(database),
        }
    }

    /// Sends `signal` (`TERM`, `HUP`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {signal} {pid}");
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Kills the process with SIGKILL (nothing of it runs afterwards: no
    /// shutdown, no last round of anything) and returns its database, kept for
    /// a look inside or a restart.
    pub async fn sigkill(mut self) -> TestDatabase {
        self.signal("KILL");
        let (status, _) = self.exited_within(Duration::from_secs(10)).await;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
        self.database.take().expect("the process's database")
    }

    /// Waits for the process to exit (at most `limit`): its status, and how long it took.
    pub async fn exited_within(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running after {limit:?}: {:#?}", self.log()))
            .expect("wait for the process");
        (status, started.elapsed())
    }

    /// The log lines so far, each parsed as JSON (a line that is not JSON fails the test).
    pub fn log(&self) -> Vec<Value> {
        let lines = self.lines.lock().expect("log lines").clone();
        lines
            .iter()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
            })
            .collect()
    }
}

/// The address of the start-up line `auth-service listening`, as JSON logs it.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let event: Value = serde_json::from_str(line).ok()?;
    let message = event["message"].as_str()?;
    if !message.starts_with("auth-service listening") {
        return None;
    }
    event["addr"].as_str()?.parse().ok()
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(database) = self.database.take() {
            database.remove();
        }
    }
}
