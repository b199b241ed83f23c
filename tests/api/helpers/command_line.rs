//! Running the built `auth-service` binary's subcommands against a test database.

use super::TestDatabase;

/// How a subcommand ended: its exit code, stdout and stderr.
#[derive(Debug)]
pub struct CommandRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CommandRun {
    /// Exit 0; stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, Some(0), "{self:?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

impl TestDatabase {
    /// `auth-service ARGS` on this database, with this DATA_DIR (the SECRETS_KEY
    /// of the apps on it), the tests' PUBLIC_URL, and only `env` besides: no
    /// variable of the test run leaks in. Awaited, not blocking: an app of the
    /// test runs on the same runtime and must go on serving meanwhile.
    pub async fn command(&self, args: &[&str], env: &[(&str, &str)]) -> CommandRun {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
            .args(args)
            .env_clear()
            .env("DATABASE_URL", self.url())
            .env("DATA_DIR", self.data_dir())
            .env("PUBLIC_URL", "http://auth.test")
            .envs(env.iter().copied())
            .output()
            .await
            .expect("binary runs");
        CommandRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
