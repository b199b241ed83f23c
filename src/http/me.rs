//! GET /me and GET /me/events.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::dto::User;
use super::extract::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The logged-in user.
#[utoipa::path(get, path = "/me", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "invalid_token: missing, invalid, expired, or its session ended", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer error=\"invalid_token\""))),
    ))]
pub async fn me(caller: AuthUser) -> Json<User> {
    Json(User::from(&caller.user))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
pub struct EventsQuery {
    /// Events per page, 1 to 100 (default 20).
    #[validate(range(min = 1, max = 100, message = "must be between 1 and 100"))]
    pub limit: Option<u32>,
    /// `next_before` of the previous page.
    pub before: Option<Uuid>,
}

/// One security event of the caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    pub id: Uuid,
    /// registered, login_succeeded, login_failed, refresh_token_reused, logged_out,
    /// session_revoked, password_reset_requested, password_reset_completed,
    /// password_changed, email_verified
    #[serde(rename = "type")]
    #[schema(example = "login_succeeded")]
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Newest first.
    pub events: Vec<Event>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<Uuid>,
}

/// The caller's security events (logins, password changes, revoked sessions…),
/// newest first, a page at a time.
#[utoipa::path(get, path = "/me/events", tag = "account", security(("bearer" = [])), params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (limit out of range)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<AppState>,
    caller: AuthUser,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<EventPage>> {
    q.validate().map_err(ApiError::from)?;
    let limit = q.limit.unwrap_or(20);
    let rows = state.store.events(caller.user.id, q.before, limit).await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|e| e.id))
        .flatten();
    let events = rows
        .into_iter()
        .map(|e| Event {
            id: e.id,
            kind: e.kind,
            created_at: e.created_at,
            session_id: e.session_id,
            ip: e.ip,
            user_agent: e.user_agent,
        })
        .collect();
    Ok(Json(EventPage {
        events,
        next_before,
    }))
}
