//! The HTTP door: routes, extractors, middleware and the OpenAPI document.
//! Routes and spec come from one source (utoipa-axum's `routes!`). Each handler
//! extracts, calls one method of the core ([`Accounts`]) and maps the outcome.

pub mod admin_import_routes;
pub mod admin_routes;
pub mod admin_schemas;
pub mod auth_routes;
pub mod email_routes;
pub mod extract;
pub mod header_limit;
pub mod health_routes;
pub mod introspection_routes;
pub mod jwks_routes;
pub mod me_routes;
pub mod metrics_routes;
pub mod mfa_routes;
pub mod mfa_schemas;
pub mod middleware;
pub mod pages;
pub mod passkey_routes;
pub mod password_routes;
pub mod problem;
pub mod request_id;
pub mod responses;
pub mod schemas;
pub mod session_routes;

use std::sync::Arc;

use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::accounts::Accounts;
use crate::config::Config;
use pages::Pages;
use problem::{ApiError, FieldError, Problem};

/// What every handler can reach: the core, the configuration, the pages.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Arc<Accounts>,
    pub config: Arc<Config>,
    pub pages: Pages,
}

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
        (name = "mfa", description = "A second factor: TOTP and recovery codes"),
        (name = "sessions", description = "The user's devices"),
        (name = "passkeys", description = "Passkeys (WebAuthn): registering, listing, removing, logging in"),
        (name = "account", description = "The logged-in user and their security events"),
        (name = "introspection", description = "For other services: is this token live?"),
        (name = "keys", description = "Public keys for verifying access tokens"),
        (name = "ops", description = "Health checks and metrics"),
        (name = "admin", description = "For operators (Bearer = an admin key): users, import, the audit trail"),
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
        let mut admin = Http::new(HttpAuthScheme::Bearer);
        admin.description =
            Some("A key from ADMIN_KEYS, or made with `auth-service admin-keys create`".into());
        components.add_security_scheme("admin_key", SecurityScheme::Http(admin));
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth_routes::register))
        .routes(routes!(auth_routes::login))
        .routes(routes!(auth_routes::refresh))
        .routes(routes!(auth_routes::logout))
        .routes(routes!(mfa_routes::login_mfa))
        .routes(routes!(mfa_routes::start_totp, mfa_routes::disable_totp))
        .routes(routes!(mfa_routes::confirm_totp))
        .routes(routes!(mfa_routes::regenerate_recovery_codes))
        .routes(routes!(
            email_routes::verify_email,
            email_routes::verify_page
        ))
        .routes(routes!(email_routes::resend))
        .routes(routes!(password_routes::forgot))
        .routes(routes!(password_routes::reset, password_routes::reset_page))
        .routes(routes!(password_routes::change))
        .routes(routes!(passkey_routes::register_start))
        .routes(routes!(passkey_routes::register_finish))
        .routes(routes!(passkey_routes::list))
        .routes(routes!(passkey_routes::remove))
        .routes(routes!(passkey_routes::login_start))
        .routes(routes!(passkey_routes::login_finish))
        .routes(routes!(session_routes::list))
        .routes(routes!(session_routes::revoke))
        .routes(routes!(me_routes::me))
        .routes(routes!(me_routes::events))
        .routes(routes!(introspection_routes::introspect))
        .routes(routes!(jwks_routes::jwks))
        .routes(routes!(health_routes::healthz))
        .routes(routes!(health_routes::readyz))
        .routes(routes!(metrics_routes::metrics))
        .routes(routes!(admin_routes::list_users, admin_routes::create_user))
        .routes(routes!(
            admin_routes::get_user,
            admin_routes::update_user,
            admin_routes::delete_user
        ))
        .routes(routes!(admin_routes::logout_user))
        .merge(admin_import_routes::import_router())
        .routes(routes!(admin_import_routes::events))
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
    let metrics = state.accounts.metrics().clone();
    middleware::apply(router, &state.config, metrics).with_state(state)
}
