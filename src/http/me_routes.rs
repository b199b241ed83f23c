//! GET /me and GET /me/events.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::extract::{AuthUser, ValidQuery};
use super::problem::{ApiError, ApiResult, FieldError, Problem};
use super::schemas::Me;

/// The logged-in user.
#[utoipa::path(get, path = "/me", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller, with whether MFA is on", body = Me),
        (status = 401, description = "invalid_token: missing, invalid, expired, or its session ended", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer error=\"invalid_token\""))),
    ))]
pub async fn me(AuthUser(caller): AuthUser) -> Json<Me> {
    Json(Me {
        user: caller.user.into(),
        mfa_enabled: caller.mfa_enabled,
    })
}

/// Query of GET /me/events. Read as text so a malformed value is a 422 naming
/// the parameter, like every other invalid field.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_before` of the previous page.
    #[param(value_type = Option<Uuid>)]
    pub before: Option<String>,
}

impl EventsQuery {
    fn parse(&self) -> Result<(u32, Option<Uuid>), ApiError> {
        let invalid = |field: &str, message: &str| {
            ApiError::Validation(vec![FieldError {
                field: field.into(),
                message: message.into(),
            }])
        };
        let limit = match self.limit.as_deref() {
            None => 20,
            Some(text) => match text.parse::<u32>() {
                Ok(n @ 1..=100) => n,
                _ => return Err(invalid("limit", "must be a whole number between 1 and 100")),
            },
        };
        let before = match self.before.as_deref() {
            None => None,
            Some(text) => Some(
                text.parse()
                    .map_err(|_| invalid("before", "must be an event id"))?,
            ),
        };
        Ok((limit, before))
    }
}

/// One security event of the caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    pub id: Uuid,
    /// registered, login_succeeded, login_failed, refresh_token_reused, logged_out,
    /// session_revoked, password_reset_requested, password_reset_completed,
    /// password_changed, email_verified, mfa_enabled, mfa_disabled,
    /// mfa_challenge_failed, recovery_code_used
    #[serde(rename = "type")]
    #[schema(example = "login_succeeded")]
    pub kind: String,
    /// How a login authenticated (`login_succeeded` only; null otherwise):
    /// `password`, `password+totp`, `password+recovery_code`.
    #[schema(example = "password+totp")]
    pub method: Option<String>,
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
#[utoipa::path(get, path = "/me/events", tag = "account", operation_id = "my_events", security(("bearer" = [])), params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (limit out of range)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ValidQuery(q): ValidQuery<EventsQuery>,
) -> ApiResult<Json<EventPage>> {
    let (limit, before) = q.parse()?;
    let page = state.accounts.events(&caller, before, limit).await?;
    let events = page
        .events
        .into_iter()
        .map(|e| Event {
            id: e.id,
            kind: e.kind,
            method: e.method,
            created_at: e.created_at,
            session_id: e.session_id,
            ip: e.ip,
            user_agent: e.user_agent,
        })
        .collect();
    Ok(Json(EventPage {
        events,
        next_before: page.next_before,
    }))
}
