//! The layers every request passes through: request id, tracing, panics,
//! timeouts, header and body limits, CORS, security and cache headers, and a last
//! check that every error leaves as problem+json.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use axum::middleware::{from_fn_with_state, map_request, map_response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::header_limit::limit_header_size;
use super::metrics_routes::count_request;
use super::problem::{RATELIMIT, RATELIMIT_POLICY, problem_response};
use super::request_id::{REQUEST_ID, drop_unsafe_request_id};
use crate::config::Config;
use crate::telemetry::metrics::Metrics;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Every layer as one stack (first listed is outermost), applied to the router
/// once: axum boxes each `Router::layer` separately, and a request would pay
/// for a dozen boxed calls.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    config: &Config,
    metrics: Metrics,
) -> Router<S> {
    let layers = ServiceBuilder::new()
        // Outermost, so that each request is timed whole and counted with the
        // status it finally leaves with.
        .layer(from_fn_with_state(metrics, count_request))
        .layer(map_request(drop_unsafe_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // The cause of a 5xx is logged once where it happens (ApiError,
                // panic hook); a second "response failed" line would only repeat it.
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            hsts(config),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        // Nothing here is meant to be framed or to leak its URL (the pages behind
        // mailed links carry a token in it); the pages set a stricter CSP of their own.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(cors(config))
        .layer(map_response(problem_for_bare_errors))
        .layer(map_request(limit_header_size))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    router.layer(layers)
}

/// HSTS only when users reach the service over https (PUBLIC_URL): sent over plain
/// http it would be ignored at best, and would break a local http set-up at worst.
fn hsts(config: &Config) -> Option<HeaderValue> {
    (config.public_url().scheme() == "https")
        .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"))
}

/// One span per request with the request id, method and path. Never the query
/// string: GET /verify-email carries a token there.
fn request_span(req: &Request<Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
    )
}

/// The panic itself is logged by the panic hook (inside the request span);
/// the client gets a generic 500 that leaks nothing.
fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response<Body> {
    problem_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side.".into(),
        None,
    )
}

/// Errors produced below our handlers (timeouts, axum's own rejections) come with
/// an empty or plain-text body; give them the problem+json every client expects,
/// keeping headers such as `Allow`.
async fn problem_for_bare_errors(res: Response<Body>) -> Response<Body> {
    let status = res.status();
    // Bare: no body type, or axum's plain-text rejections. Our problems and the
    // HTML pages of /verify-email are left alone.
    let bare = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !bare {
        return res;
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "No such resource."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This method is not allowed on this resource.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => ("timeout", "The request took too long. Try again."),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "The request body is larger than the limit.",
        ),
        s if s.is_server_error() => ("internal_error", "Something went wrong on our side."),
        _ => ("bad_request", "The request could not be processed."),
    };
    let mut problem = problem_response(status, code, detail.into(), None);
    for name in [
        header::ALLOW,
        header::RETRY_AFTER,
        header::WWW_AUTHENTICATE,
        RATELIMIT,
        RATELIMIT_POLICY,
    ] {
        if let Some(value) = res.headers().get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}

/// Browsers may call from CORS_ALLOWED_ORIGINS. Only origins named one by one may
/// send credentials: with `*`, any site could act with a user's cookies or
/// browser-held auth, so it never gets `Access-Control-Allow-Credentials`.
fn cors(config: &Config) -> CorsLayer {
    let origins = &config.cors_allowed_origins;
    let (allow_origin, credentials) = if origins.is_empty() {
        return CorsLayer::new();
    } else if origins.iter().any(|o| o == "*") {
        (AllowOrigin::any(), AllowCredentials::from(false))
    } else {
        let listed: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        let trusted = listed.clone();
        let credentials = AllowCredentials::predicate(move |origin, _| trusted.contains(origin));
        (AllowOrigin::list(listed), credentials)
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_credentials(credentials)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER, RATELIMIT, RATELIMIT_POLICY])
        .max_age(Duration::from_secs(600))
}
