//! The Admin API's bulk import of users, and the audit trail across users.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use validator::Validate;

use super::AppState;
use super::admin_routes::AdminKey;
use super::admin_schemas::{AdminEventPage, AdminEventsQuery};
use super::extract::{Client, ValidQuery, ValidatedJson};
use super::problem::{ApiResult, Problem};
use super::schemas::{trimmed, trimmed_opt};
use crate::accounts::{self, ImportRow};

/// Largest body of an import: 1,000 users with long hashes and names fit.
pub const IMPORT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The import, with a body limit of its own (every other path keeps the
/// default): its bodies are larger by nature.
pub fn import_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_users))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ImportRequest {
    /// At most 1,000 users (more: 422).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub users: Vec<ImportUser>,
}

/// One user to import. Rows that cannot be imported are skipped, not refused.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportUser {
    #[serde(deserialize_with = "trimmed")]
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// A PHC string of argon2id or argon2i (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`,
    /// m at most 262144 KiB, t at most 10, p at most 16), or a bcrypt hash
    /// (`$2a$`, `$2b$`, `$2y$`, cost at most 14). Upgraded to the service's
    /// argon2id at the user's next login.
    #[schema(example = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW")]
    pub password_hash: String,
    #[serde(default, deserialize_with = "trimmed_opt")]
    pub name: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    /// Users created (each recorded as user_imported).
    #[schema(example = 998)]
    pub created: u32,
    pub skipped: Vec<SkippedUser>,
}

/// A row that was not imported, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedUser {
    pub email: String,
    /// `email_taken` (in the database or earlier in the same import),
    /// `invalid_email`, `invalid_name`, `unsupported_hash`, `malformed_hash`,
    /// `hash_too_costly` (above the ceilings).
    #[schema(example = "email_taken")]
    pub reason: &'static str,
}

impl From<accounts::ImportReport> for ImportResponse {
    fn from(report: accounts::ImportReport) -> Self {
        let skipped = report.skipped.into_iter();
        Self {
            created: report.created,
            skipped: skipped
                .map(|s| SkippedUser {
                    email: s.email,
                    reason: s.reason,
                })
                .collect(),
        }
    }
}

/// Imports users with password hashes from another system, in one transaction
/// (nothing is half-imported).
#[utoipa::path(post, path = "/admin/users/import", tag = "admin", security(("admin_key" = [])),
    request_body = ImportRequest,
    responses(
        (status = 200, description = "What was imported and what was skipped", body = ImportResponse),
        (status = 401, description = "invalid_admin_key", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "malformed_json: the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "payload_too_large (over 2 MiB)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported_media_type: the body is not sent as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (more than 1,000 users, a row without email or password_hash)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_users(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Client(client): Client,
    ValidatedJson(body): ValidatedJson<ImportRequest>,
) -> ApiResult<Json<ImportResponse>> {
    let rows = body
        .users
        .into_iter()
        .map(|u| ImportRow {
            email: u.email,
            password_hash: u.password_hash,
            name: u.name,
            email_verified: u.email_verified,
        })
        .collect();
    let report = state.accounts.import_users(&admin, rows, &client).await?;
    Ok(Json(report.into()))
}

/// The audit trail across users, newest first (the shape of /me/events, with
/// the user and the actor).
#[utoipa::path(get, path = "/admin/events", tag = "admin", operation_id = "admin_events", security(("admin_key" = [])),
    params(AdminEventsQuery),
    responses(
        (status = 200, description = "A page of events", body = AdminEventPage),
        (status = 401, description = "invalid_admin_key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (limit outside 1-100, malformed user_id or before)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    ValidQuery(q): ValidQuery<AdminEventsQuery>,
) -> ApiResult<Json<AdminEventPage>> {
    let wanted = q.parse()?;
    let page = state
        .accounts
        .admin_events(
            &admin,
            wanted.user_id,
            wanted.kind,
            wanted.before,
            wanted.limit,
        )
        .await?;
    Ok(Json(page.into()))
}
