//! POST /introspect (RFC 7662 shape): lets another service ask whether an access
//! token is valid and its session still live — the REST successor of the original
//! service's token-validation calls. Callers authenticate with a service key from
//! INTROSPECTION_KEYS, sent as a Bearer token.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::extract::{JsonOrForm, bearer_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct IntrospectRequest {
    /// The access token to check.
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
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
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    _caller: ServiceCaller,
    body: JsonOrForm<IntrospectRequest>,
) -> ApiResult<Json<Introspection>> {
    let Ok(claims) = state.keys.verify(&body.value.token) else {
        return Ok(Json(Introspection::default()));
    };
    let live = state
        .store
        .active_session_user(claims.sid, claims.sub, state.clock.now())
        .await?;
    if live.is_none() {
        return Ok(Json(Introspection::default()));
    }
    Ok(Json(Introspection {
        active: true,
        sub: Some(claims.sub),
        sid: Some(claims.sid),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        aud: Some(claims.aud),
        jti: Some(claims.jti),
        email: Some(claims.email),
        token_type: Some("access_token"),
    }))
}

/// A caller that presented a configured service key. Extracted before the body,
/// so an unauthenticated caller learns nothing, not even about its body.
pub struct ServiceCaller;

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer_token(&parts.headers) {
            Some(key) if known_service_key(state, key) => Ok(ServiceCaller),
            _ => Err(ApiError::InvalidServiceKey),
        }
    }
}

/// Compares digests in constant time, so neither the keys nor their lengths
/// leak through timing.
fn known_service_key(state: &AppState, presented: &str) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    state
        .config
        .introspection_keys
        .iter()
        .fold(false, |found, key| {
            let key = Sha256::digest(key.0.trim().as_bytes());
            found | bool::from(key.ct_eq(&presented))
        })
}
