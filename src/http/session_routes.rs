//! GET /sessions and DELETE /sessions/{id}: a user's devices.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{AuthUser, Client};
use super::problem::{ApiError, ApiResult, Problem};
use crate::accounts;

/// One active session (a login on one device).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// When the session ends unless refreshed (never later than its absolute end).
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Whether this is the session of the access token making the request.
    pub current: bool,
}

impl From<accounts::Session> for SessionInfo {
    fn from(s: accounts::Session) -> Self {
        SessionInfo {
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
            current: s.current,
        }
    }
}

/// The caller's active sessions, most recently used first.
#[utoipa::path(get, path = "/sessions", tag = "sessions", operation_id = "list_sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "Active sessions", body = Vec<SessionInfo>),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Json<Vec<SessionInfo>>> {
    let sessions = state.accounts.sessions(&caller).await?;
    Ok(Json(sessions.into_iter().map(SessionInfo::from).collect()))
}

/// End one of the caller's sessions (another device, or this one).
///
/// A session of another user, an ended one, or an unknown id is 404.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "sessions", operation_id = "revoke_session", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id, from GET /sessions")),
    responses(
        (status = 204, description = "Session revoked"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    state.accounts.revoke_session(&caller, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
