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
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{AnyPool, Connection, Executor, PgConnection};

use crate::smtp::{ReceivedMail, SmtpServer};

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
    Postgres { name: String },
    Sqlite { dir: PathBuf },
}

impl TestDatabase {
    fn create() -> TestDatabase {
        let id = uuid::Uuid::new_v4().simple();
        match backend() {
            Backend::Postgres => TestDatabase::Postgres {
                name: format!("auth_test_{id}"),
            },
            Backend::Sqlite => TestDatabase::Sqlite {
                dir: std::env::temp_dir().join(format!("auth-test-{id}")),
            },
        }
    }

    /// DATABASE_URL of this database (the app creates it on first connect).
    pub fn url(&self) -> String {
        match self {
            TestDatabase::Postgres { name } => {
                let mut url =
                    url::Url::parse(&admin_database_url()).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                url.to_string()
            }
            TestDatabase::Sqlite { dir } => format!("sqlite://{}", dir.join("auth.db").display()),
        }
    }

    fn remove(self) {
        match self {
            TestDatabase::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            // Drop is synchronous: drop the database from a thread with its own runtime.
            TestDatabase::Postgres { name } => {
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut conn) = PgConnection::connect(&admin_database_url()).await {
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

/// Another app on the same database as `other` (a restart, or a second instance).
pub async fn spawn_sibling(other: &TestApp, extra: &[&str]) -> TestApp {
    spawn_on(other.database.clone(), false, extra).await
}

async fn spawn_on(database: TestDatabase, owns_database: bool, extra: &[&str]) -> TestApp {
    let smtp = SmtpServer::start().await;
    let config = test_config(&database.url(), &smtp.url(), extra);
    let clock = Clock::default();
    let app = Application::build(config, clock.clone())
        .await
        .expect("application starts");
    let addr = app.local_addr().expect("bound address");
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

/// A response read whole: status, headers and JSON body (Null when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub async fn from(res: Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    /// The `field` of each entry of a 422 problem's `errors`, in order.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors array in {}", self.text))
            .iter()
            .map(|e| e["field"].as_str().expect("field is a string").to_owned())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type of {}",
            self.text
        );
        assert_eq!(
            self.body["status"], status,
            "problem status in {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "problem code in {}", self.text);
        assert!(
            self.body["title"].is_string(),
            "problem title in {}",
            self.text
        );
        assert!(
            self.body["detail"].is_string(),
            "problem detail in {}",
            self.text
        );
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        let res = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent");
        Reply::from(res).await
    }

    pub async fn post_json_bearer(&self, path: &str, token: &str, body: &Value) -> Reply {
        let res = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent");
        Reply::from(res).await
    }

    /// POST with this content type and body, exactly as given.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<String>) -> Reply {
        let res = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body.into())
            .send()
            .await
            .expect("request sent");
        Reply::from(res).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from(
            self.client
                .get(self.url(path))
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Reply {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent");
        Reply::from(res).await
    }

    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.post_json("/register", &json!({"email": email, "password": password}))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post_json("/login", &json!({"email": email, "password": password}))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post_json("/refresh", &json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn me(&self, access_token: &str) -> Reply {
        self.get_bearer("/me", access_token).await
    }

    /// The verification mail sent to `email`.
    pub async fn verification_mail(&self, email: &str) -> ReceivedMail {
        self.smtp
            .wait_for_subject(email, "Confirm your email", MAIL_WAIT)
            .await
    }

    /// The token of the link in the first mail to `email` whose subject contains
    /// `subject`; the link must contain `link_part`.
    pub async fn mailed_token(&self, email: &str, subject: &str, link_part: &str) -> String {
        let mail = self.smtp.wait_for_subject(email, subject, MAIL_WAIT).await;
        let link = mail
            .find_link(link_part)
            .unwrap_or_else(|| panic!("no {link_part} link in mail:\n{}", mail.decoded_text()));
        link.split("token=")
            .nth(1)
            .expect("token in link")
            .to_owned()
    }

    /// The token of the verification link mailed to `email`.
    pub async fn verification_token(&self, email: &str) -> String {
        let mail = self.verification_mail(email).await;
        let link = mail
            .find_link("/verify-email?token=")
            .unwrap_or_else(|| panic!("no verification link in mail:\n{}", mail.decoded_text()));
        link.split("token=")
            .nth(1)
            .expect("token in link")
            .to_owned()
    }

    /// Registers, verifies via the mailed link, and logs in: returns the login reply.
    pub async fn signed_up_user(&self, email: &str) -> Reply {
        let reply = self.register(email, PASSWORD).await;
        assert_eq!(
            reply.status,
            StatusCode::ACCEPTED,
            "register: {}",
            reply.text
        );
        let token = self.verification_token(email).await;
        let verified = self
            .post_json("/verify-email", &json!({"token": token}))
            .await;
        assert_eq!(verified.status, StatusCode::OK, "verify: {}", verified.text);
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "login: {}", login.text);
        login
    }

    /// Rows in a table of the app's database.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("select count(*) from {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.db)
            .await
            .expect("count rows")
    }

    /// Moves the service's clock (and only the service's) forward.
    pub fn advance(&self, by: Duration) {
        self.clock
            .advance(chrono::Duration::from_std(by).expect("duration fits"));
    }
}

/// The tokens of one session, read from a 200 `TokenResponse`.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    /// The session id (`sid` claim of the access token).
    pub sid: String,
}

impl Tokens {
    #[track_caller]
    pub fn of(reply: &Reply) -> Tokens {
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "expected a token pair: {}",
            reply.text
        );
        assert_eq!(reply.body["token_type"], "Bearer", "{}", reply.text);
        let field = |name: &str| {
            reply.body[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} in {}", reply.text))
                .to_owned()
        };
        let access = field("access_token");
        let sid = jwt_claims(&access)["sid"]
            .as_str()
            .expect("sid claim")
            .to_owned();
        Tokens {
            access,
            refresh: field("refresh_token"),
            sid,
        }
    }
}

/// Claims of a JWT, read without verifying it (the test inspects what was issued).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("payload is base64url");
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

/// Header of a JWT, read without verifying it.
pub fn jwt_header(token: &str) -> Value {
    use base64::Engine as _;
    let header = token.split('.').next().expect("JWT has a header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("header is base64url");
    serde_json::from_slice(&bytes).expect("header is JSON")
}

/// Unique email per call, so tests never collide.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}
