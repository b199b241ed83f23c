//! GET /sessions and DELETE /sessions/{id}: a user's devices.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{AuthUser, ClientInfo};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::store::{Effects, EventKind, RevokeScope};

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

/// The caller's active sessions, most recently used first.
#[utoipa::path(get, path = "/sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "Active sessions", body = Vec<SessionInfo>),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<Json<Vec<SessionInfo>>> {
    let rows = state
        .store
        .active_sessions(caller.user.id, state.clock.now())
        .await?;
    let sessions = rows
        .into_iter()
        .map(|s| SessionInfo {
            current: s.id == caller.session_id,
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.idle_expires_at.min(s.expires_at),
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(Json(sessions))
}

/// End one of the caller's sessions (another device, or this one).
///
/// A session of another user, an ended one, or an unknown id is 404.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id, from GET /sessions")),
    responses(
        (status = 204, description = "Session revoked"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let now = state.clock.now();
    let user = caller.user.id;
    let effects = Effects::event(
        EventKind::SessionRevoked,
        Some(user),
        Some(id),
        &client.actor(),
        now,
    );
    let revoked = state
        .store
        .revoke_sessions(user, RevokeScope::One(id), "revoked_by_user", now, effects)
        .await?;
    if revoked == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}
