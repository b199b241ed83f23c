//! A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port in a
//! temporary folder), so that a test can really stop the server under the
//! service and start it again, never touching the shared one on 5432. As root,
//! the programs run as the `postgres` system user, as `scripts/test.sh` does.
//!
//! Without initdb/pg_ctl these tests cannot run: outside CI they are skipped
//! with a warning, with `CI=true` they fail instead (as the Redis tests do).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a test cannot have its own cluster: a failure in CI, a printed warning
/// and a skip (`None`) anywhere else.
fn unavailable<T>(test: &str, missing: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: {missing}, and CI=true: the PostgreSQL outage tests must run in CI \
             (install PostgreSQL's server programs: apt-get install postgresql)"
        );
    }
    eprintln!(
        "\n  WARNING: {test} was SKIPPED: {missing}.\n  \
         It starts a PostgreSQL cluster of its own with initdb and pg_ctl; install \
         them with `apt-get install postgresql` (or `brew install postgresql`), or \
         name their folder with TEST_PG_BIN.\n"
    );
    None
}

/// The folder of initdb and pg_ctl: `TEST_PG_BIN`, `PATH`, or the newest
/// `/usr/lib/postgresql/*/bin` (Debian keeps them off `PATH`).
fn bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("TEST_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|dir| has_both(dir));
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|dir| has_both(dir)));
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_both(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn is_root() -> bool {
    let id = Command::new("id").arg("-u").output();
    id.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// How PostgreSQL's own `pg_ctl stop` stops the server.
#[derive(Debug, Clone, Copy)]
pub enum StopMode {
    /// Backends quit at once without cleaning up, as a crash would look.
    Immediate,
    /// Backends end their sessions ("terminating connection due to
    /// administrator command"), then the server checkpoints and exits.
    Fast,
}

impl StopMode {
    fn flag(self) -> &'static str {
        match self {
            StopMode::Immediate => "immediate",
            StopMode::Fast => "fast",
        }
    }
}

/// A running cluster of the test's own; stopped and deleted when dropped.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// `runuser -u postgres --` when running as root (PostgreSQL refuses root).
    run_as: Vec<&'static str>,
}

impl PrivatePostgres {
    /// Creates and starts one (`None`: skipped, see [`unavailable`]).
    pub async fn start(test: &str) -> Option<PrivatePostgres> {
        let Some(bin) = bin_dir() else {
            return unavailable(test, "initdb/pg_ctl are not installed");
        };
        let mut run_as = Vec::new();
        if is_root() {
            let has_user = Command::new("id").arg("postgres").output();
            if !has_user.is_ok_and(|out| out.status.success()) {
                return unavailable(test, "running as root and there is no `postgres` user");
            }
            run_as = vec!["runuser", "-u", "postgres", "--"];
        }
        let id = uuid::Uuid::new_v4().simple();
        let dir = std::env::temp_dir().join(format!("auth-test-pg-{id}"));
        std::fs::create_dir_all(&dir).expect("cluster folder");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = PrivatePostgres {
            bin,
            dir,
            port,
            run_as,
        };
        if !cluster.run_as.is_empty() {
            let mut chown = Command::new("chown");
            chown.arg("postgres").arg(&cluster.dir);
            cluster.expect_ok("chown", chown).await;
        }
        let mut initdb = cluster.command("initdb");
        initdb.arg("-D").arg(cluster.data());
        initdb.args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        cluster.expect_ok("initdb", initdb).await;
        cluster.start_again().await;
        Some(cluster)
    }

    /// The server's maintenance database, as TEST_DATABASE_URL names one.
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server and waits until it is down.
    pub async fn stop(&self, mode: StopMode) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D").arg(self.data());
        stop.args(["-m", mode.flag(), "-w", "-t", "60", "stop"]);
        self.expect_ok("pg_ctl stop", stop).await;
    }

    /// Starts the (stopped) server on the same port and waits until it accepts
    /// connections.
    pub async fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.display()
        );
        let mut start = self.command("pg_ctl");
        start.arg("-D").arg(self.data());
        start.arg("-l").arg(self.dir.join("server.log"));
        start.args(["-w", "-t", "60", "-o", &options, "start"]);
        self.expect_ok("pg_ctl start", start).await;
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// One of PostgreSQL's programs, as the user that may run it.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as.split_first() {
            Some((runner, args)) => {
                let mut command = Command::new(runner);
                command.args(args).arg(path);
                command
            }
            None => Command::new(path),
        }
    }

    /// Runs `command` without blocking the test's runtime (the service under
    /// test serves on it meanwhile); fails the test, with the server's log, if
    /// it does not succeed.
    async fn expect_ok(&self, what: &str, command: Command) {
        let out = tokio::process::Command::from(command).output().await;
        let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{what} failed: {}{}\nserver log:\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D").arg(self.data());
        let _ = stop.args(["-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
