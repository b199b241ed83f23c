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
    Json(Health {
        status: "ok",
        rate_limiter: None,
    })
}

/// 200 when the database answers, else 503. `rate_limiter` says where rate-limit
/// budgets are kept; an unreachable Redis is reported there and is no reason for
/// 503 (each instance then limits on its own memory).
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Health,
            example = json!({"status": "ok", "rate_limiter": "redis"})),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let readiness = state.accounts.readiness().await;
    if !readiness.database {
        return Err(ApiError::Unavailable);
    }
    Ok(Json(Health {
        status: "ok",
        rate_limiter: Some(readiness.rate_limiter.into()),
    }))
}
