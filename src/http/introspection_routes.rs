//! POST /introspect (RFC 7662 shape): lets another service ask whether an access
//! token is valid and its session still live — the REST successor of the original
//! service's token-validation calls. Callers authenticate with a service key from
//! INTROSPECTION_KEYS, sent as a Bearer token.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::AppState;
use super::extract::{JsonOrForm, bearer_token};
use super::problem::{ApiError, ApiResult, Problem};
use super::responses::JsonBodyErrors;
use crate::accounts::ServiceCaller;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct IntrospectRequest {
    /// The access token to check.
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
    #[schema(required, min_length = 1)]
    pub token: String,
}

/// `active: false` alone for any token that is not valid now; the claims otherwise.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// RFC 8176 methods of the session's login: `["pwd"]`, or `["pwd", "otp"]`
    /// after a TOTP or recovery code.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["pwd", "otp"]))]
    pub amr: Option<Vec<String>>,
    /// `aal1` (password) or `aal2` (a second factor too).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "aal2")]
    pub aal: Option<String>,
    /// Whether a confirmed TOTP authenticator guards the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "access_token")]
    pub token_type: Option<&'static str>,
}

/// Is this access token valid, and is its session still live?
#[utoipa::path(post, path = "/introspect", tag = "introspection",
    request_body(content(
        (IntrospectRequest = "application/json"),
        (IntrospectRequest = "application/x-www-form-urlencoded"),
    )),
    security(("service_key" = [])),
    responses(
        (status = 200, description = "The verdict", body = Introspection),
        (status = 401, description = "invalid_client: no or unknown service key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    ServiceKey(caller): ServiceKey,
    body: JsonOrForm<IntrospectRequest>,
) -> ApiResult<Json<Introspection>> {
    let Some(token) = state
        .accounts
        .introspect(&caller, &body.value.token)
        .await?
    else {
        return Ok(Json(Introspection::default()));
    };
    Ok(Json(Introspection {
        active: true,
        sub: Some(token.sub),
        sid: Some(token.sid),
        exp: Some(token.exp),
        iat: Some(token.iat),
        iss: Some(token.iss),
        aud: Some(token.aud),
        jti: Some(token.jti),
        email: Some(token.email),
        amr: Some(token.amr),
        aal: Some(token.aal),
        mfa_enabled: Some(token.mfa_enabled),
        token_type: Some("access_token"),
    }))
}

/// A caller that presented a configured service key. Extracted before the body,
/// so an unauthenticated caller learns nothing, not even about its body.
pub struct ServiceKey(ServiceCaller);

impl FromRequestParts<AppState> for ServiceKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer_token(&parts.headers);
        Ok(ServiceKey(state.accounts.service_caller(key)?))
    }
}
