//! Bodies and queries of the Admin API, and how the core's outcomes become them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::me_routes::Event;
use super::problem::{ApiError, FieldError};
use super::schemas::{User, trimmed, trimmed_opt};
use crate::accounts;

/// A user as operators see it: `User` and its sign-in state.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUser {
    #[serde(flatten)]
    pub user: User,
    /// Disabled accounts cannot log in (their right password gets 403
    /// `account_disabled`) and have no session.
    pub disabled: bool,
    /// Whether a confirmed TOTP authenticator guards the account.
    pub mfa_enabled: bool,
    /// When the latest session started (any way of logging in); null if never.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Sessions neither revoked nor expired.
    #[schema(example = 1)]
    pub active_sessions: i64,
}

impl From<accounts::AdminUser> for AdminUser {
    fn from(u: accounts::AdminUser) -> Self {
        Self {
            user: u.user.into(),
            disabled: u.disabled,
            mfa_enabled: u.mfa_enabled,
            last_login_at: u.last_login_at,
            active_sessions: u.active_sessions,
        }
    }
}

/// A page of users, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserList {
    pub users: Vec<AdminUser>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<Uuid>,
}

impl From<accounts::AdminUserPage> for AdminUserList {
    fn from(page: accounts::AdminUserPage) -> Self {
        Self {
            users: page.users.into_iter().map(AdminUser::from).collect(),
            next_after: page.next_after,
        }
    }
}

/// Query of GET /admin/users. Read as text so a malformed value is a 422 naming
/// the parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// The start of the email (case-insensitive); empty or absent: every user.
    #[param(max_length = 254, pattern = "^[^\\u0000]*$")]
    pub query: Option<String>,
    /// Users per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_after` of the previous page.
    #[param(value_type = Option<Uuid>)]
    pub after: Option<String>,
}

impl UsersQuery {
    /// The email prefix, the cursor and the page size.
    pub fn parse(&self) -> Result<(String, Option<Uuid>, u32), ApiError> {
        // Checked as sent (the documented limits), then trimmed for matching.
        let query = self.query.as_deref().unwrap_or_default();
        if query.chars().count() > 254 || query.contains('\0') {
            return Err(invalid(
                "query",
                "must be at most 254 characters, without NUL",
            ));
        }
        let query = query.trim();
        let after = parse_id("after", self.after.as_deref(), "must be a user id")?;
        Ok((query.to_owned(), after, parse_limit(self.limit.as_deref())?))
    }
}

/// Query of GET /admin/events.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminEventsQuery {
    /// Only this user's events (also after the user was deleted).
    #[param(value_type = Option<Uuid>)]
    pub user_id: Option<String>,
    /// Only events of this type (`login_failed`, `user_disabled`, …); empty or
    /// absent: every type.
    #[param(pattern = "^[a-z0-9_]{0,64}$")]
    pub kind: Option<String>,
    /// Events per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_before` of the previous page.
    #[param(value_type = Option<Uuid>)]
    pub before: Option<String>,
}

/// What GET /admin/events asks for.
pub struct EventsWanted {
    pub user_id: Option<Uuid>,
    pub kind: Option<String>,
    pub before: Option<Uuid>,
    pub limit: u32,
}

impl AdminEventsQuery {
    pub fn parse(&self) -> Result<EventsWanted, ApiError> {
        let kind = self.kind.as_deref().filter(|k| !k.is_empty());
        if kind.is_some_and(|k| !is_event_type(k)) {
            return Err(invalid("kind", "must be an event type"));
        }
        Ok(EventsWanted {
            user_id: parse_id("user_id", self.user_id.as_deref(), "must be a user id")?,
            kind: kind.map(str::to_owned),
            before: parse_id("before", self.before.as_deref(), "must be an event id")?,
            limit: parse_limit(self.limit.as_deref())?,
        })
    }
}

/// Event types are snake_case words (`login_failed`): 1 to 64 of `[a-z0-9_]`.
fn is_event_type(kind: &str) -> bool {
    kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

/// `limit`: 1 to 100, 20 when absent.
fn parse_limit(text: Option<&str>) -> Result<u32, ApiError> {
    match text.map(str::parse::<u32>) {
        None => Ok(20),
        Some(Ok(n @ 1..=100)) => Ok(n),
        Some(_) => Err(invalid("limit", "must be a whole number between 1 and 100")),
    }
}

fn parse_id(field: &str, text: Option<&str>, message: &str) -> Result<Option<Uuid>, ApiError> {
    text.map(|t| t.parse().map_err(|_| invalid(field, message)))
        .transpose()
}

/// POST /admin/users.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateUserRequest {
    /// Stored trimmed; compared case-insensitively.
    #[serde(default, deserialize_with = "trimmed")]
    #[validate(
        email(message = "must be a valid email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(required, format = Email, max_length = 254, example = "ada@example.com")]
    pub email: String,
    /// 8 to 128 characters, as on /register. Absent: the user gets a "set your
    /// password" mail with a link (valid 24 hours) to choose one.
    #[validate(length(min = 8, max = 128, message = "must be between 8 and 128 characters"))]
    #[schema(
        example = "correct horse battery staple",
        min_length = 8,
        max_length = 128
    )]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "trimmed_opt")]
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    #[schema(example = "Ada Lovelace", max_length = 100, pattern = "^[^\\u0000]*$")]
    pub name: Option<String>,
    /// Whether the email counts as verified already (default false).
    #[serde(default)]
    pub email_verified: bool,
}

/// PATCH /admin/users/{id}: each field present is changed, absent ones stay.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateUserRequest {
    /// A new address; unverified unless `email_verified: true` comes with it.
    #[serde(default, deserialize_with = "trimmed_some")]
    #[validate(
        email(message = "must be a valid email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(value_type = String, format = Email, max_length = 254, example = "ada@example.com")]
    pub email: Option<String>,
    /// A new name; null or empty removes it.
    #[serde(default, deserialize_with = "name_change")]
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    #[schema(
        value_type = Option<String>,
        example = "Ada Lovelace",
        max_length = 100,
        pattern = "^[^\\u0000]*$"
    )]
    pub name: Option<Option<String>>,
    pub email_verified: Option<bool>,
    /// true revokes every session at once and refuses every login; false
    /// enables the account again.
    pub disabled: Option<bool>,
}

/// A present string field, trimmed (an empty one stays empty, to be refused).
fn trimmed_some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(trimmed(d)?))
}

/// A present `name`: `Some(None)` when null or empty (remove it).
fn name_change<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(trimmed_opt(d)?))
}

impl From<UpdateUserRequest> for accounts::UserChanges {
    fn from(r: UpdateUserRequest) -> Self {
        Self {
            name: r.name,
            email: r.email,
            email_verified: r.email_verified,
            disabled: r.disabled,
        }
    }
}

/// One event of any user: the fields of `/me/events`, the user and who did it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminEvent {
    #[serde(flatten)]
    pub event: Event,
    /// The user it concerns (kept after the user is deleted); null for a failed
    /// login with an unknown email.
    pub user_id: Option<Uuid>,
    /// The admin key's name (`env:1`… for ADMIN_KEYS) on an operator's action
    /// (`user_created_by_admin`, `user_updated`, `user_disabled`, `user_enabled`,
    /// `user_deleted`, `sessions_revoked_by_admin`, `user_imported`); null otherwise.
    #[schema(example = "ops-laptop")]
    pub actor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminEventPage {
    /// Newest first.
    pub events: Vec<AdminEvent>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<Uuid>,
}

impl From<accounts::AdminEventPage> for AdminEventPage {
    fn from(page: accounts::AdminEventPage) -> Self {
        let events = page
            .events
            .into_iter()
            .map(|e| AdminEvent {
                event: e.event.into(),
                user_id: e.user_id,
                actor: e.actor,
            })
            .collect();
        Self {
            events,
            next_before: page.next_before,
        }
    }
}

impl From<accounts::Event> for Event {
    fn from(e: accounts::Event) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            method: e.method,
            created_at: e.created_at,
            session_id: e.session_id,
            ip: e.ip,
            user_agent: e.user_agent,
        }
    }
}
