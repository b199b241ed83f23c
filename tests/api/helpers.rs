//! What tests do with the app: requests and replies, users and sessions, tokens,
//! mail, and the exact problems errors must be. `use crate::helpers::*` brings it all.

mod admin;
mod app;
mod authenticator;
mod command_line;
mod grpc;
mod grpc_raw;
mod load;
mod mail;
mod mfa;
mod problems;
mod process;
mod scrape;
mod tls;
mod webhooks;

pub use admin::*;
pub use app::*;
pub use authenticator::*;
pub use grpc::*;
pub use grpc_raw::*;
pub use load::*;
pub use mail::*;
pub use mfa::*;
pub use problems::*;
pub use process::*;
pub use scrape::*;
pub use tls::*;
pub use webhooks::*;

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

// --- Requests and replies ------------------------------------------------------------

/// A request to the app under test, built step by step and sent with [`Request::send`].
pub struct Request(reqwest::RequestBuilder);

impl Request {
    /// Sends this `User-Agent`, as a browser or app would.
    pub fn user_agent(self, agent: &str) -> Request {
        Request(self.0.header(USER_AGENT, agent))
    }

    /// Sends `Authorization: Bearer <token>` when there is a token.
    pub fn bearer<'a>(self, token: impl Into<Option<&'a str>>) -> Request {
        match token.into() {
            Some(token) => Request(self.0.bearer_auth(token)),
            None => self,
        }
    }

    pub fn header(self, name: &str, value: &str) -> Request {
        Request(self.0.header(name, value))
    }

    pub fn json(self, body: &Value) -> Request {
        Request(self.0.json(body))
    }

    /// This body with this content type, exactly as given.
    pub fn body(self, content_type: &str, body: impl Into<String>) -> Request {
        Request(self.0.header(CONTENT_TYPE, content_type).body(body.into()))
    }

    pub async fn send(self) -> Reply {
        Reply::from(self.0.send().await.expect("request sent")).await
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

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.text);
    }

    /// An HTML page (what a browser gets from the links in the mail) with this status.
    #[track_caller]
    pub fn assert_page(&self, status: StatusCode) {
        self.assert_status(status);
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with("text/html"), "{content_type}");
    }

    /// 204 with nothing in the body.
    #[track_caller]
    pub fn assert_no_content(&self) {
        self.assert_status(StatusCode::NO_CONTENT);
        assert!(self.text.is_empty(), "204 with a body: {}", self.text);
    }

    /// Asserts a problem+json answer whose whole body is exactly `expected`'s.
    #[track_caller]
    pub fn assert_problem(&self, expected: Problem) {
        self.assert_problem_body(expected.status, expected.body());
    }

    /// Asserts exactly the 422 `validation_failed` problem with these `(field,
    /// message)` errors, in this order.
    #[track_caller]
    pub fn assert_invalid(&self, errors: &[(&str, &str)]) {
        let errors: Vec<Value> = errors
            .iter()
            .map(|(field, message)| json!({"field": field, "message": message}))
            .collect();
        let mut body = VALIDATION_FAILED.body();
        body["errors"] = Value::Array(errors);
        self.assert_problem_body(VALIDATION_FAILED.status, body);
    }

    #[track_caller]
    fn assert_problem_body(&self, status: u16, body: Value) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type of {}",
            self.text
        );
        assert!(
            self.body == body,
            "problem body differs\n  got: {}\n want: {body}",
            self.text
        );
    }
}

// --- Talking to the app ----------------------------------------------------------------

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str) -> Request {
        Request(self.client.request(method, self.url(path)))
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path).send().await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path).bearer(token).send().await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path).json(body).send().await
    }

    pub async fn post_json_bearer(&self, path: &str, token: &str, body: &Value) -> Reply {
        let request = self.request(Method::POST, path).bearer(token);
        request.json(body).send().await
    }

    /// POST with this content type and body, exactly as given.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<String>) -> Reply {
        let request = self.request(Method::POST, path);
        request.body(content_type, body).send().await
    }

    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.post_json("/register", &json!({"email": email, "password": password}))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post_json("/login", &json!({"email": email, "password": password}))
            .await
    }

    /// POST /login from a client that sends this User-Agent.
    pub async fn login_with_agent(&self, email: &str, password: &str, agent: &str) -> Reply {
        let body = json!({"email": email, "password": password});
        let request = self.request(Method::POST, "/login").user_agent(agent);
        request.json(&body).send().await
    }

    /// Sends all these `(email, password)` logins at once; the replies in the same order.
    pub async fn logins_at_once(&self, logins: &[(&str, &str)]) -> Vec<Reply> {
        let mut sent = tokio::task::JoinSet::new();
        for (i, (email, password)) in logins.iter().enumerate() {
            let body = json!({"email": email, "password": password});
            let request = self.request(Method::POST, "/login").json(&body);
            sent.spawn(async move { (i, request.send().await) });
        }
        let mut replies: Vec<(usize, Reply)> = sent.join_all().await;
        replies.sort_by_key(|(i, _)| *i);
        replies.into_iter().map(|(_, reply)| reply).collect()
    }

    /// A CORS preflight from `origin` for a POST with a JSON body to `path`.
    pub async fn preflight(&self, path: &str, origin: &str) -> Reply {
        let request = self.request(Method::OPTIONS, path).header("origin", origin);
        let request = request.header("access-control-request-method", "POST");
        let request = request.header("access-control-request-headers", "content-type");
        request.send().await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post_json("/refresh", &json!({"refresh_token": refresh_token}))
            .await
    }

    /// Refreshes `refresh_token`, asserting a new token pair.
    pub async fn refreshed(&self, refresh_token: &str) -> Tokens {
        Tokens::of(&self.refresh(refresh_token).await)
    }

    pub async fn me(&self, access_token: &str) -> Reply {
        self.get_bearer("/me", access_token).await
    }

    pub async fn verify_email(&self, token: &str) -> Reply {
        self.post_json("/verify-email", &json!({"token": token}))
            .await
    }

    /// POST /password/forgot, asserting its 202.
    pub async fn forgot_password(&self, email: &str) -> Reply {
        let reply = self
            .post_json("/password/forgot", &json!({"email": email}))
            .await;
        reply.assert_status(StatusCode::ACCEPTED);
        reply
    }

    // --- Users -----------------------------------------------------------------------

    /// A fresh address, registered (202) and not verified.
    pub async fn registered_user(&self) -> String {
        let email = unique_email();
        self.register(&email, PASSWORD)
            .await
            .assert_status(StatusCode::ACCEPTED);
        email
    }

    /// Registers `email` and verifies it through the mailed link.
    pub async fn verified_user_with(&self, email: &str) {
        self.verified_user_with_password(email, PASSWORD).await;
    }

    /// Registers `email` with `password` and verifies it through the mailed link.
    pub async fn verified_user_with_password(&self, email: &str, password: &str) {
        self.register(email, password)
            .await
            .assert_status(StatusCode::ACCEPTED);
        let token = self.mailed_token(email, VERIFY).await;
        self.verify_email(&token)
            .await
            .assert_status(StatusCode::OK);
    }

    /// A fresh address, registered and verified (not logged in).
    pub async fn verified_user(&self) -> String {
        let email = unique_email();
        self.verified_user_with(&email).await;
        email
    }

    /// Registers, verifies via the mailed link, and logs in: returns the login reply.
    pub async fn signed_up_user(&self, email: &str) -> Reply {
        self.verified_user_with(email).await;
        let login = self.login(email, PASSWORD).await;
        login.assert_status(StatusCode::OK);
        login
    }

    /// The first session of a fresh, verified user.
    pub async fn signed_up(&self) -> Tokens {
        Tokens::of(&self.signed_up_user(&unique_email()).await)
    }

    /// Neither token of the session works any more.
    pub async fn assert_session_ended(&self, session: &Tokens) {
        self.me(&session.access)
            .await
            .assert_problem(INVALID_ACCESS_TOKEN);
        self.refresh(&session.refresh)
            .await
            .assert_problem(INVALID_REFRESH_TOKEN);
    }

    /// The access token still works. (Checks only /me: refreshing would rotate the token.)
    pub async fn assert_session_active(&self, session: &Tokens) {
        self.me(&session.access).await.assert_status(StatusCode::OK);
    }

    // --- Looking inside ----------------------------------------------------------------

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

// --- Tokens ------------------------------------------------------------------------------

/// The tokens of one session, read from a `TokenResponse`.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    /// The session id (`sid` claim of the access token).
    pub sid: String,
    /// The response's `user`.
    pub user: Value,
}

impl Tokens {
    /// The tokens of a 200 `TokenResponse` (login, refresh).
    #[track_caller]
    pub fn of(reply: &Reply) -> Tokens {
        Tokens::read(reply, StatusCode::OK)
    }

    /// The tokens of a 201 `TokenResponse` (registration without verification).
    #[track_caller]
    pub fn registered(reply: &Reply) -> Tokens {
        Tokens::read(reply, StatusCode::CREATED)
    }

    #[track_caller]
    fn read(reply: &Reply, status: StatusCode) -> Tokens {
        assert_eq!(reply.status, status, "expected tokens: {}", reply.text);
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
            user: reply.body["user"].clone(),
        }
    }

    /// The user's email.
    pub fn email(&self) -> &str {
        self.user["email"].as_str().expect("user email")
    }
}

fn decode_jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("JWT part");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("JWT part is base64url");
    serde_json::from_slice(&bytes).expect("JWT part is JSON")
}

/// Claims of a JWT, read without verifying it (the test inspects what was issued).
pub fn jwt_claims(token: &str) -> Value {
    decode_jwt_part(token, 1)
}

/// Header of a JWT, read without verifying it.
pub fn jwt_header(token: &str) -> Value {
    decode_jwt_part(token, 0)
}

/// `token` with its payload replaced by `claims`: header and signature unchanged.
pub fn jwt_with_claims(token: &str, claims: &Value) -> String {
    let [header, _, signature]: [&str; 3] = (token.split('.').collect::<Vec<_>>())
        .try_into()
        .expect("a JWT has three parts");
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{signature}")
}

// --- Odds and ends -----------------------------------------------------------------------

/// Unique email per call, so tests never collide.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A new valid SECRETS_KEY (`openssl rand -base64 32` writes the same shape).
pub fn secrets_key() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("random key");
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// A random string shaped like a refresh token (43 base64url characters).
pub fn random_token() -> String {
    let hex = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    hex[..43].to_owned()
}

/// The field names of a JSON object.
#[track_caller]
pub fn field_names(object: &Value) -> BTreeSet<&str> {
    let fields = object.as_object();
    let fields = fields.unwrap_or_else(|| panic!("not an object: {object}"));
    fields.keys().map(String::as_str).collect()
}

/// An RFC 3339 time of a response.
#[track_caller]
pub fn rfc3339(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {value}"))
}

/// Seconds since 1970 on the real clock (what JWT expiry is checked against).
pub fn unix_now() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit")
}
