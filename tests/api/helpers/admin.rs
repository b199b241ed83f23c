//! The Admin API from a test's side: an app with an admin key, requests that
//! carry it, and what operators see of users and events.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Reply, TestApp, spawn_app_with, unique_email};

/// The one key of ADMIN_KEYS in [`spawn_admin_app`] (named `env:1`).
pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdefghijkl";

pub const INVALID_ADMIN_KEY: super::Problem = super::Problem::new(
    401,
    "invalid_admin_key",
    "Send an admin key (from ADMIN_KEYS or `auth-service admin-keys create`) as a Bearer token.",
);
pub const ACCOUNT_DISABLED: super::Problem =
    super::Problem::new(403, "account_disabled", "This account is disabled.");

/// The subject of the mail a user made without a password gets; its link is a
/// reset link.
pub const SET_PASSWORD_SUBJECT: &str = "Set your password for Auth Service";

/// An app whose ADMIN_KEYS is [`ADMIN_KEY`], with `extra` flags.
pub async fn spawn_admin_app(extra: &[&str]) -> TestApp {
    spawn_app_with(&[&["--admin-keys", ADMIN_KEY], extra].concat()).await
}

impl TestApp {
    /// `method path` with [`ADMIN_KEY`] and, when given, a JSON body.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.admin_as(ADMIN_KEY, method, path, body).await
    }

    /// `method path` with this admin key and, when given, a JSON body.
    pub async fn admin_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let request = self.request(method, path).bearer(key);
        match body {
            Some(body) => request.json(body).send().await,
            None => request.send().await,
        }
    }

    /// POST /admin/users with this body, asserting 201: the user.
    pub async fn admin_created(&self, body: &Value) -> Value {
        let reply = self.admin(Method::POST, "/admin/users", Some(body)).await;
        reply.assert_status(StatusCode::CREATED);
        reply.body
    }

    /// GET /admin/users/{id}, asserting 200.
    pub async fn admin_user(&self, id: &str) -> Value {
        let reply = self
            .admin(Method::GET, &format!("/admin/users/{id}"), None)
            .await;
        reply.assert_status(StatusCode::OK);
        reply.body
    }

    /// PATCH /admin/users/{id} with this body, asserting 200: the user.
    pub async fn admin_patched(&self, id: &str, body: &Value) -> Value {
        let path = format!("/admin/users/{id}");
        let reply = self.admin(Method::PATCH, &path, Some(body)).await;
        reply.assert_status(StatusCode::OK);
        reply.body
    }

    /// The id of the user with this email, as the Admin API finds it.
    pub async fn user_id_of(&self, email: &str) -> String {
        let path = format!("/admin/users?query={}", urlencode(email));
        let reply = self.admin(Method::GET, &path, None).await;
        reply.assert_status(StatusCode::OK);
        let users = reply.body["users"].as_array().expect("users").clone();
        assert_eq!(users.len(), 1, "one user is {email}: {}", reply.text);
        users[0]["id"].as_str().expect("id").to_owned()
    }

    /// Every event /admin/events gives for this query string (at most 100),
    /// newest first.
    pub async fn admin_events(&self, query: &str) -> Vec<Value> {
        let path = format!("/admin/events?limit=100{query}");
        let reply = self.admin(Method::GET, &path, None).await;
        reply.assert_status(StatusCode::OK);
        assert!(reply.body["next_before"].is_null(), "{}", reply.text);
        reply.body["events"].as_array().expect("events").clone()
    }

    /// The stored password hash of the user with this email.
    pub async fn stored_hash(&self, email: &str) -> String {
        let sql = "select password_hash from users where email_key = $1";
        sqlx::query_scalar(sql)
            .bind(email.to_lowercase())
            .fetch_one(&self.db)
            .await
            .expect("stored hash")
    }
}

/// A body for POST /admin/users with a password, for a fresh verified address.
pub fn new_user_body() -> Value {
    json!({"email": unique_email(), "password": super::PASSWORD, "email_verified": true})
}

/// `s` safe in a query string.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The types of these events, in their order.
pub fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect()
}
