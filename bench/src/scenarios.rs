//! The requests of each row: register, login, refresh, /me and a plain GET.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode};
use serde::Deserialize;

use crate::load::{Script, request};

/// A password the service's strength rule accepts.
pub const PASSWORD: &str = "correct horse battery staple 42";

/// The part of a `TokenResponse` the load keeps.
#[derive(Deserialize, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

fn credentials(email: &str) -> String {
    serde_json::json!({"email": email, "password": PASSWORD}).to_string()
}

/// POST /register with a new address each time (201 with verification off);
/// keeps the first address for the logins.
pub struct Register {
    prefix: String,
    next: u64,
    pub first: Option<String>,
}

impl Register {
    /// `prefix` makes the addresses of this run and connection unique.
    pub fn new(prefix: String) -> Self {
        Self {
            prefix,
            next: 0,
            first: None,
        }
    }

    fn email(&self, n: u64) -> String {
        format!("{}-{n}@example.com", self.prefix)
    }
}

impl Script for Register {
    fn request(&mut self) -> Request<Full<Bytes>> {
        let email = self.email(self.next);
        self.next += 1;
        request("POST", "/register", None, Some(credentials(&email)))
    }

    fn expected(&self) -> StatusCode {
        StatusCode::CREATED
    }

    fn answered(&mut self, _body: Bytes) {
        if self.first.is_none() {
            self.first = Some(self.email(self.next - 1));
        }
    }
}

/// POST /login as one user, again and again; keeps the last token pair.
pub struct Login {
    body: String,
    last: Option<Bytes>,
}

impl Login {
    pub fn new(email: &str) -> Self {
        Self {
            body: credentials(email),
            last: None,
        }
    }

    /// The last token pair it got.
    pub fn tokens(&self) -> Option<Tokens> {
        serde_json::from_slice(self.last.as_ref()?).ok()
    }
}

impl Script for Login {
    fn request(&mut self) -> Request<Full<Bytes>> {
        request("POST", "/login", None, Some(self.body.clone()))
    }

    fn expected(&self) -> StatusCode {
        StatusCode::OK
    }

    fn answered(&mut self, body: Bytes) {
        self.last = Some(body);
    }
}

/// POST /refresh along one session's chain: each answer's token is the next one sent.
pub struct Refresh {
    pub token: String,
}

impl Script for Refresh {
    fn request(&mut self) -> Request<Full<Bytes>> {
        let body = serde_json::json!({"refresh_token": self.token}).to_string();
        request("POST", "/refresh", None, Some(body))
    }

    fn expected(&self) -> StatusCode {
        StatusCode::OK
    }

    fn answered(&mut self, body: Bytes) {
        if let Ok(tokens) = serde_json::from_slice::<Tokens>(&body) {
            self.token = tokens.refresh_token;
        }
    }
}

/// A GET expecting 200, with a bearer token or without.
pub struct Get {
    pub path: &'static str,
    pub bearer: Option<String>,
}

impl Script for Get {
    fn request(&mut self) -> Request<Full<Bytes>> {
        request("GET", self.path, self.bearer.as_deref(), None)
    }

    fn expected(&self) -> StatusCode {
        StatusCode::OK
    }
}
