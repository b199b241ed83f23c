//! GET /me.

use axum::Json;

use super::dto::User;
use super::extract::AuthUser;
use crate::error::Problem;

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
