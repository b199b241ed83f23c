//! GET /.well-known/jwks.json.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::auth::jwt::Jwks;
use crate::state::AppState;

/// Public keys that verify access tokens (current and still-valid previous keys).
/// Other services verify tokens with these without calling this service.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JSON Web Key Set", body = Jwks)))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        // Public data; short caching keeps key rotation visible quickly.
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys.jwks().clone()),
    )
}
