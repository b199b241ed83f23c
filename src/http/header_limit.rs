//! A limit on the size of a request's headers.
//!
//! hyper only refuses a request whose head outgrows its read buffer (about 400 KiB)
//! or that has more than 100 headers, and then closes the connection without a body.
//! Far smaller heads are all a client of this API needs; larger ones only cost memory
//! and fill the logs, so they get a 431 problem.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;

use super::problem::problem_response;

/// Largest accepted total of header names and values, in bytes.
pub const HEADER_LIMIT: usize = 16 * 1024;

pub async fn limit_header_size(req: Request<Body>) -> Result<Request<Body>, Response> {
    let size: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > HEADER_LIMIT {
        return Err(problem_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            "The request headers are larger than the limit.".into(),
            None,
        ));
    }
    Ok(req)
}
