//! GET /healthz and GET /readyz.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::problem::{ApiError, ApiResult, Problem};
use super::schemas::Health;

/// 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Serving", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// 200 when the database answers, else 503.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    if state.accounts.ready().await {
        Ok(Json(Health { status: "ok" }))
    } else {
        Err(ApiError::Unavailable)
    }
}
