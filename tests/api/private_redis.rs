//! Redis for the tests that need one: the shared server of `TEST_REDIS_URL`, or
//! a private `redis-server` child process that a test can stop and start again.
//!
//! Without Redis these tests cannot run. Outside CI they are then skipped with a
//! warning (and `make test` says so loudly); with `CI=true` they fail instead, so
//! CI can never pass without having run them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Why a Redis test cannot run: a failure in CI, a printed warning and a skip
/// (`None`) anywhere else.
fn unavailable<T>(test: &str, missing: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: {missing}, and CI=true: the Redis tests must run in CI \
             (.ci/run starts Redis; scripts/test.sh sets TEST_REDIS_URL)"
        );
    }
    eprintln!(
        "\n  WARNING: {test} was SKIPPED: {missing}.\n  \
         Run it with `make test` (which finds Redis on 127.0.0.1:6379) or \
         TEST_REDIS_URL=redis://127.0.0.1:6379; install Redis with \
         `apt-get install redis-server` (or `brew install redis`).\n"
    );
    None
}

/// The shared Redis of `TEST_REDIS_URL` (tests keep apart with their own key prefix).
pub fn shared_redis_url(test: &str) -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => unavailable(test, "TEST_REDIS_URL is unset"),
    }
}

/// A key prefix no other test uses, so that tests never share a budget.
pub fn unique_prefix() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

/// The `redis-server` program: `TEST_REDIS_SERVER`, or found on `PATH`.
fn redis_server_program(test: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("TEST_REDIS_SERVER") {
        return Some(path.into());
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|path| path.is_file())
    });
    match found {
        Some(path) => Some(path),
        None => unavailable(
            test,
            "redis-server is not installed (not on PATH, no TEST_REDIS_SERVER)",
        ),
    }
}

/// A Redis server of the test's own, on a free port, keeping nothing on disk.
/// Killed when dropped.
pub struct PrivateRedis {
    program: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one (`None`: skipped, see [`unavailable`]).
    pub async fn start(test: &str) -> Option<PrivateRedis> {
        let program = redis_server_program(test)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = PrivateRedis {
            program,
            port,
            child: None,
        };
        redis.restart().await;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash or a network cut would look to the service).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.program)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.answers().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server on port {} did not answer within 10s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn answers(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        match client.get_multiplexed_async_connection().await {
            Ok(mut connection) => redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .is_ok(),
            Err(_) => false,
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The keys of `url`'s Redis that start with `prefix`.
pub async fn keys(url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    keys.sort();
    keys
}
