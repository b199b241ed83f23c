//! Passkeys: POST /passkeys/register/start and /finish, GET /passkeys,
//! DELETE /passkeys/{id} (Bearer), POST /login/passkey/start and /finish.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::AppState;
use super::extract::{AuthUser, Client, OptionalJson, ValidatedJson};
use super::problem::{ApiError, ApiResult, Problem};
use super::responses::{JsonBodyErrors, RateLimited, UnreadableBody};
use super::schemas::{PasskeyLoginFinish, TokenResponse, trimmed_opt};
use crate::accounts::{PasskeyChallenge, PasskeyInfo};

/// The first half of a ceremony.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyChallengeResponse {
    /// Send it back with the browser's answer; valid once, for 5 minutes.
    pub challenge_id: Uuid,
    /// Exactly what `navigator.credentials.create()` (registration) or `.get()`
    /// (login) takes: `{"publicKey": {…}}`, binary values in base64url (decode
    /// with `PublicKeyCredential.parseCreationOptionsFromJSON` /
    /// `parseRequestOptionsFromJSON`).
    #[schema(value_type = Object)]
    pub options: Value,
}

impl From<PasskeyChallenge> for PasskeyChallengeResponse {
    fn from(c: PasskeyChallenge) -> Self {
        PasskeyChallengeResponse {
            challenge_id: c.challenge_id,
            options: c.options,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PasskeyRegisterFinish {
    /// The `challenge_id` of POST /passkeys/register/start.
    #[serde(default)]
    #[schema(required, format = Uuid)]
    pub challenge_id: String,
    /// What the user calls it ("Laptop"); default "Passkey".
    #[serde(default, deserialize_with = "trimmed_opt")]
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    #[schema(example = "Laptop", max_length = 100, pattern = "^[^\\u0000]*$")]
    pub name: Option<String>,
    /// The created credential as `RegistrationResponseJSON` (WebAuthn Level 3,
    /// `credential.toJSON()`).
    #[serde(default)]
    #[schema(required, value_type = Object)]
    pub credential: Value,
}

/// `{}` (nothing to say: the authenticator names the user).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct PasskeyLoginStart {}

/// One of the user's passkeys.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyResponse {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<PasskeyInfo> for PasskeyResponse {
    fn from(p: PasskeyInfo) -> Self {
        PasskeyResponse {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// Begin registering a passkey for the logged-in user.
///
/// Asks for a discoverable credential (`residentKey: required`) with user
/// verification, ES256 or EdDSA; the user handle is a random id, never the email.
#[utoipa::path(post, path = "/passkeys/register/start", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 200, description = "Options for navigator.credentials.create()", body = PasskeyChallengeResponse),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "passkeys_unavailable: no relying party configured", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_start(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Json<PasskeyChallengeResponse>> {
    let challenge = state.accounts.start_passkey_registration(&caller).await?;
    Ok(Json(challenge.into()))
}

/// Finish registering a passkey (on any instance).
#[utoipa::path(post, path = "/passkeys/register/finish", tag = "passkeys", security(("bearer" = [])),
    request_body = PasskeyRegisterFinish,
    responses(
        (status = 201, description = "Passkey registered", body = PasskeyResponse),
        (status = 400, description = "invalid_passkey: unknown, expired or used challenge, or a credential that does not verify; or malformed_json", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        UnreadableBody,
        (status = 503, description = "passkeys_unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_finish(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<PasskeyRegisterFinish>,
) -> ApiResult<Response> {
    let passkey = state
        .accounts
        .finish_passkey_registration(
            &caller,
            &req.challenge_id,
            req.name,
            req.credential,
            &client,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(PasskeyResponse::from(passkey))).into_response())
}

/// The logged-in user's passkeys, oldest first.
#[utoipa::path(get, path = "/passkeys", tag = "passkeys", operation_id = "list_passkeys", security(("bearer" = [])),
    responses(
        (status = 200, description = "Passkeys", body = Vec<PasskeyResponse>),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Json<Vec<PasskeyResponse>>> {
    let passkeys = state.accounts.passkeys(&caller).await?;
    Ok(Json(
        passkeys.into_iter().map(PasskeyResponse::from).collect(),
    ))
}

/// Remove one of the logged-in user's passkeys; anyone else's is 404.
#[utoipa::path(delete, path = "/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passkey id, from GET /passkeys")),
    responses(
        (status = 204, description = "Passkey removed"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    state.accounts.remove_passkey(&caller, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Begin logging in with a passkey: no email needed (discoverable credentials).
#[utoipa::path(post, path = "/login/passkey/start", tag = "passkeys",
    request_body(content = Option<PasskeyLoginStart>, description = "`{}` or empty"),
    responses(
        (status = 200, description = "Options for navigator.credentials.get()", body = PasskeyChallengeResponse),
        (status = 422, description = "validation_failed: a body that is not an object", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
        (status = 503, description = "passkeys_unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login_start(
    State(state): State<AppState>,
    Client(client): Client,
    _body: OptionalJson<PasskeyLoginStart>,
) -> ApiResult<Json<PasskeyChallengeResponse>> {
    let challenge = state.accounts.start_passkey_login(&client).await?;
    Ok(Json(challenge.into()))
}

/// Finish logging in with a passkey (on any instance): a new session.
#[utoipa::path(post, path = "/login/passkey/finish", tag = "passkeys",
    request_body = PasskeyLoginFinish,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "invalid_credentials: the passkey was not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "email_not_verified, or account_disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
        (status = 503, description = "passkeys_unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login_finish(
    State(state): State<AppState>,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<PasskeyLoginFinish>,
) -> ApiResult<Response> {
    let pair = state
        .accounts
        .finish_passkey_login(&req.challenge_id, req.credential, &client)
        .await?;
    Ok(super::auth_routes::no_store(Json(TokenResponse::from(
        pair,
    ))))
}
