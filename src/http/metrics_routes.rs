//! GET /metrics, and the middleware that counts every HTTP request in it.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::telemetry::metrics::Metrics;

/// The Prometheus text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route label of a request that matched no route: a raw path would put ids
/// (and anything a scanner sends) into the labels.
const UNMATCHED: &str = "unmatched";

/// Every metric in the Prometheus text format: requests by route template,
/// method and status with latency histograms, logins and refreshes by outcome,
/// rate-limit refusals by policy, the password-hashing queue, and the outboxes.
/// No label holds an email, a token or an id.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Metrics in the Prometheus text format (version 0.0.4)",
        body = String, content_type = "text/plain",
        example = "# TYPE auth_logins_total counter\nauth_logins_total{method=\"password\",outcome=\"succeeded\"} 1\n")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.accounts.metrics_text().await;
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], text)
}

/// Counts a request under its matched route template (`/sessions/{id}`, never
/// the path itself), its method and its final status, and times it.
pub async fn count_request(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = method_label(req.method());
    let started = Instant::now();
    let res = next.run(req).await;
    metrics.http_request(&route, method, res.status().as_u16(), started.elapsed());
    res
}

/// The standard methods by name; any other (a client may send any token) is
/// `other`, so that labels stay few.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
