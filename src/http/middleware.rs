//! The layers every request passes through: request id, tracing, panics,
//! timeouts, body limit, CORS, cache headers, and a last check that every error
//! leaves as problem+json.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use axum::middleware::map_response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::problem::{RATELIMIT, RATELIMIT_POLICY, problem_response};
use crate::config::Config;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>, config: &Config) -> Router<S> {
    // Innermost first: each `.layer` wraps everything above it.
    router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(map_response(problem_for_bare_errors))
        .layer(cors(config))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // The cause of a 5xx is logged once where it happens (ApiError,
                // panic hook); a second "response failed" line would only repeat it.
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
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

fn cors(config: &Config) -> CorsLayer {
    let origins = &config.cors_allowed_origins;
    let allow_origin = if origins.is_empty() {
        return CorsLayer::new();
    } else if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER, RATELIMIT, RATELIMIT_POLICY])
        .max_age(Duration::from_secs(600))
}
