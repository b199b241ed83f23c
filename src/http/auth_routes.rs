//! POST /register, /login, /refresh, /logout.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::AppState;
use super::extract::{Client, OptionalJson, ValidatedJson, bearer_token};
use super::problem::{ApiResult, Problem};
use super::responses::{HashingBusy, JsonBodyErrors, RateLimited};
use super::schemas::{LoginResponse, RegisterAccepted, TokenResponse, trimmed, trimmed_opt};
use crate::accounts::{self, Registered, Registration};

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RegisterRequest {
    /// Stored trimmed; compared case-insensitively.
    #[serde(default, deserialize_with = "trimmed")]
    #[validate(
        email(message = "must be a valid email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(required, format = Email, max_length = 254, example = "ada@example.com")]
    pub email: String,
    /// 8 to 128 characters, any Unicode, never trimmed. Refused with 422 when
    /// easily guessed or built from the email.
    #[serde(default)]
    #[validate(length(min = 8, max = 128, message = "must be between 8 and 128 characters"))]
    #[schema(
        required,
        example = "correct horse battery staple",
        min_length = 8,
        max_length = 128
    )]
    pub password: String,
    #[serde(default, deserialize_with = "trimmed_opt")]
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    #[schema(example = "Ada Lovelace", max_length = 100, pattern = "^[^\\u0000]*$")]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[serde(default, deserialize_with = "trimmed")]
    #[validate(length(min = 1, max = 254, message = "is required"))]
    #[schema(
        required,
        min_length = 1,
        max_length = 254,
        pattern = "^[^\\u0000]*$",
        example = "ada@example.com"
    )]
    pub email: String,
    #[serde(default)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    #[schema(
        required,
        min_length = 1,
        max_length = 1024,
        example = "correct horse battery staple"
    )]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    /// The opaque `refresh_token` of the latest token pair.
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
    #[schema(required, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub refresh_token: String,
}

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogoutScope {
    /// Only the session of the presented token.
    #[default]
    Local,
    /// Every other session of the user; this one stays.
    Others,
    /// Every session of the user.
    Global,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct LogoutRequest {
    /// Identifies the session when no Bearer token is sent (ignored with one).
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: LogoutScope,
}

/// Create an account.
///
/// With email verification on (the default), answers 202 for every well-formed
/// request, whether or not the address already has an account, so the answer
/// never reveals which emails are registered; a verification link is mailed.
/// With verification off, answers 201 with a token pair, or 409 for a taken email.
#[utoipa::path(post, path = "/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 202, description = "Verification email sent (verification on)", body = RegisterAccepted),
        (status = 201, description = "Account created and logged in (verification off)", body = TokenResponse,
            links(
                ("login" = (operation_id = "login", description = "Log in with the new account",
                    request_body = json!({"email": "$request.body#/email", "password": "$request.body#/password"}))),
                ("refresh" = (operation_id = "refresh", description = "Rotate the refresh token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}))),
                ("logout" = (operation_id = "logout", description = "End the new session",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}))),
            )),
        (status = 409, description = "email_taken (verification off only)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: a malformed field, or a password that is easily guessed or contains the email", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
        HashingBusy,
    ))]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<RegisterRequest>,
) -> ApiResult<Response> {
    let form = Registration {
        email: req.email,
        password: req.password,
        name: req.name,
    };
    match state.accounts.register(form, &client).await? {
        Registered::LoggedIn(pair) => {
            let body = TokenResponse::from(pair);
            Ok((StatusCode::CREATED, no_store(Json(body))).into_response())
        }
        Registered::VerificationSent => {
            let accepted = RegisterAccepted {
                status: "verification_sent",
            };
            Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
        }
    }
}

/// Log in with email and password.
///
/// An unknown email and a wrong password get the same answer after the same work.
/// `email_not_verified` is only ever answered after a correct password. When the
/// account has a confirmed TOTP authenticator, the right password answers the
/// MFA step (`mfa_required`, `mfa_token`) instead of tokens: finish at POST /login/mfa.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in (TokenResponse), or the MFA step (MfaRequired)", body = LoginResponse,
            links(
                ("refresh" = (operation_id = "refresh", description = "Rotate the refresh token",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}))),
                ("logout" = (operation_id = "logout", description = "End this session",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}))),
                ("login_mfa" = (operation_id = "login_mfa", description = "Answer the MFA step",
                    request_body = json!({"mfa_token": "$response.body#/mfa_token"}))),
            )),
        (status = 401, description = "invalid_credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "email_not_verified, or account_disabled (after the right password only)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
        HashingBusy,
    ))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<LoginRequest>,
) -> ApiResult<Response> {
    let outcome = state
        .accounts
        .login(&req.email, req.password, &client)
        .await?;
    Ok(no_store(Json(LoginResponse::from(outcome))))
}

/// Exchange a refresh token for a new token pair.
///
/// Every use rotates the refresh token. Presenting an already-rotated token
/// within REFRESH_GRACE_PERIOD (several tabs at once) returns another valid pair
/// of the same session; after it, the whole session is revoked.
#[utoipa::path(post, path = "/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse,
            links(
                ("refresh" = (operation_id = "refresh", description = "Rotate the new refresh token again",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}))),
                ("logout" = (operation_id = "logout", description = "End the session",
                    request_body = json!({"refresh_token": "$response.body#/refresh_token"}))),
            )),
        (status = 401, description = "invalid_refresh_token: unknown, expired, revoked or reused", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<RefreshRequest>,
) -> ApiResult<Response> {
    let pair = state.accounts.refresh(&req.refresh_token, &client).await?;
    Ok(no_store(Json(TokenResponse::from(pair))))
}

/// End sessions.
///
/// Identify the session with a Bearer access token or with `refresh_token` in the
/// body. `scope`: `local` (default) ends that session, `others` every other
/// session of the user, `global` all of them.
#[utoipa::path(post, path = "/logout", tag = "auth", request_body(content = Option<LogoutRequest>, description = "Optional with a Bearer token"),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No valid access or refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (unknown scope)", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
    ))]
pub async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<LogoutRequest>,
) -> ApiResult<StatusCode> {
    let body = body.unwrap_or_default();
    let scope = match body.scope {
        LogoutScope::Local => accounts::LogoutScope::Local,
        LogoutScope::Others => accounts::LogoutScope::Others,
        LogoutScope::Global => accounts::LogoutScope::Global,
    };
    let access_token = bearer_token(&headers);
    let refresh_token = body.refresh_token.as_deref();
    state
        .accounts
        .logout(access_token, refresh_token, scope, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every response that carries a token must not be cached (also set globally;
/// explicit here so the rule holds even if the global layer changes).
pub fn no_store(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}
