//! GET /.well-known/jwks.json.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

/// The public half of a key as published in the JWKS.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicJwk {
    #[schema(example = "OKP")]
    pub kty: &'static str,
    #[schema(example = "Ed25519")]
    pub crv: &'static str,
    /// base64url public key.
    pub x: String,
    pub kid: String,
    #[schema(example = "EdDSA")]
    pub alg: &'static str,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub use_: &'static str,
}

/// `GET /.well-known/jwks.json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

/// Public keys that verify access tokens (current and still-valid previous keys).
/// Other services verify tokens with these without calling this service.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JSON Web Key Set", body = Jwks)))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    let keys = state
        .accounts
        .public_keys()
        .iter()
        .map(|key| PublicJwk {
            kty: "OKP",
            crv: "Ed25519",
            x: key.x.clone(),
            kid: key.kid.clone(),
            alg: "EdDSA",
            use_: "sig",
        })
        .collect();
    (
        // Public data; short caching keeps key rotation visible quickly.
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(Jwks { keys }),
    )
}
