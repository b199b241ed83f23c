//! Bodies shared by several endpoints, and how the core's outcomes become them.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::accounts;

/// A user as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub email_verified: bool,
    #[schema(example = "Ada Lovelace")]
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<accounts::User> for User {
    fn from(user: accounts::User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            email_verified: user.email_verified,
            name: user.name,
            created_at: user.created_at,
        }
    }
}

/// A fresh access token and refresh token for one session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// EdDSA-signed JWT; send as `Authorization: Bearer …`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Opaque; exchange it at POST /refresh. Rotated on every use.
    pub refresh_token: String,
    pub user: User,
}

impl From<accounts::TokenPair> for TokenResponse {
    fn from(pair: accounts::TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            user: pair.user.into(),
        }
    }
}

/// The caller, as GET /me shows it: the user and whether MFA guards the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// True exactly when a confirmed TOTP authenticator exists.
    pub mfa_enabled: bool,
}

/// 200 answer of POST /login when the account has a second factor: no tokens
/// yet; answer the step at POST /login/mfa.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always true.
    pub mfa_required: bool,
    /// Opaque; lives `expires_in` seconds, dies after 5 wrong codes.
    pub mfa_token: String,
    /// How the step can be answered: `totp`, `recovery_code`.
    #[schema(example = json!(["totp", "recovery_code"]))]
    pub methods: Vec<&'static str>,
    #[schema(example = 300)]
    pub expires_in: i64,
}

/// 200 answer of POST /login: tokens, or (with a second factor) the MFA step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenResponse),
    MfaRequired(MfaRequired),
}

impl From<accounts::LoginOutcome> for LoginResponse {
    fn from(outcome: accounts::LoginOutcome) -> Self {
        match outcome {
            accounts::LoginOutcome::LoggedIn(pair) => LoginResponse::Tokens(pair.into()),
            accounts::LoginOutcome::MfaRequired(step) => LoginResponse::MfaRequired(MfaRequired {
                mfa_required: true,
                mfa_token: step.mfa_token,
                methods: step.methods,
                expires_in: step.expires_in,
            }),
        }
    }
}

/// 202 answer of POST /register when email verification is required.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterAccepted {
    #[schema(example = "verification_sent")]
    pub status: &'static str,
}

/// GET /healthz and GET /readyz.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// /readyz only: where rate-limit budgets are kept now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limiter: Option<RateLimiterState>,
}

/// Where rate-limit budgets are kept: `disabled` (RATE_LIMIT=off), `memory` (each
/// instance its own), `redis` (shared by every instance), `redis-unreachable`
/// (REDIS_URL is set but Redis does not answer: each instance limits on its own
/// memory until it does; the service keeps serving, so /readyz stays 200).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RateLimiterState {
    Disabled,
    Memory,
    Redis,
    RedisUnreachable,
}

impl From<accounts::RateLimiterBackend> for RateLimiterState {
    fn from(backend: accounts::RateLimiterBackend) -> Self {
        use accounts::RateLimiterBackend as B;
        match backend {
            B::Off => RateLimiterState::Disabled,
            B::Memory => RateLimiterState::Memory,
            B::Redis => RateLimiterState::Redis,
            B::RedisUnreachable => RateLimiterState::RedisUnreachable,
        }
    }
}

/// A request that names an account by email only.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct EmailRequest {
    #[serde(default, deserialize_with = "trimmed")]
    #[validate(
        email(message = "must be a valid email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(required, format = Email, max_length = 254, example = "ada@example.com")]
    pub email: String,
}

/// Deserializes a string with surrounding whitespace removed (emails are stored
/// trimmed; passwords never go through this).
pub fn trimmed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(String::deserialize(d)?.trim().to_owned())
}

/// Like [`trimmed`] for optional fields; an empty value becomes `None`.
pub fn trimmed_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
}

/// `?token=` of the pages behind emailed links: the first `token` in the query.
/// Never refuses: a query that says nothing readable (no token, a repeated one,
/// bytes that are not UTF-8) gets the "invalid link" page like a wrong token.
#[derive(Debug)]
pub struct TokenQuery {
    pub token: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for TokenQuery {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let query = parts.uri.query().unwrap_or_default();
        let token = url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned());
        Ok(TokenQuery { token })
    }
}

impl TokenQuery {
    /// The token, if it could be one we minted: anything else gets the "invalid
    /// link" page and never reaches a form.
    pub fn well_formed(&self) -> Option<&str> {
        self.token
            .as_deref()
            .filter(|t| accounts::looks_like_token(t))
    }
}

/// The browser's answer to a passkey login challenge (from POST
/// /login/passkey/start): a passwordless login, or the second factor at
/// POST /login/mfa.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PasskeyLoginFinish {
    /// The `challenge_id` of POST /login/passkey/start.
    #[serde(default)]
    #[schema(required, format = Uuid)]
    pub challenge_id: String,
    /// The assertion as `AuthenticationResponseJSON` (WebAuthn Level 3,
    /// `credential.toJSON()`).
    #[serde(default)]
    #[schema(required, value_type = Object)]
    pub credential: Value,
}
