//! The HTTP layer: routes, extractors, middleware and the OpenAPI document.
//! Routes and spec come from one source (utoipa-axum's `routes!`).

pub mod auth;
pub mod dto;
pub mod email;
pub mod extract;
pub mod introspect;
pub mod me;
pub mod middleware;
pub mod ops;
pub mod pages;
pub mod password;
pub mod sessions;
pub mod well_known;

use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, FieldError, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "auth-service",
        description = "Register users, verify their email, log them in, keep them logged in \
                       and log them out. Errors are application/problem+json (RFC 9457) with a \
                       stable `code`. Access tokens are EdDSA JWTs verifiable with the JWKS.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Accounts, login and sessions"),
        (name = "email", description = "Email verification"),
        (name = "password", description = "Password recovery and change"),
        (name = "sessions", description = "The user's devices"),
        (name = "account", description = "The logged-in user and their security events"),
        (name = "introspection", description = "For other services: is this token live?"),
        (name = "keys", description = "Public keys for verifying access tokens"),
        (name = "ops", description = "Health checks"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        let mut service = Http::new(HttpAuthScheme::Bearer);
        service.description = Some("A key from INTROSPECTION_KEYS".into());
        components.add_security_scheme("service_key", SecurityScheme::Http(service));
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(email::verify_email, email::verify_page))
        .routes(routes!(email::resend))
        .routes(routes!(password::forgot))
        .routes(routes!(password::reset, password::reset_page))
        .routes(routes!(password::change))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(me::me))
        .routes(routes!(me::events))
        .routes(routes!(introspect::introspect))
        .routes(routes!(well_known::jwks))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
}

/// `base` with `?token=…` appended (keeping any query it already has): the link
/// of an email.
pub fn email_link(base: &url::Url, token: &str) -> String {
    let mut url = base.clone();
    url.query_pairs_mut().append_pair("token", token);
    url.into()
}

/// The OpenAPI document, as served at /openapi.json and written to openapi.yaml.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

/// The whole application: routes, Swagger UI at /docs, and every middleware.
pub fn app(state: AppState) -> Router {
    let (routes, spec) = api_routes().split_for_parts();
    let router = routes
        .merge(SwaggerUi::new("/docs").url("/openapi.json", spec))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    middleware::apply(router, &state.config).with_state(state)
}
