//! Error answers that many endpoints share, described once for the OpenAPI
//! document (`responses(..., RateLimited)` in a path) instead of on every path.

use utoipa::IntoResponses;

use super::problem::Problem;

/// rate_limited: too many requests from this client IP, or for this account
#[derive(IntoResponses)]
#[response(status = 429, content_type = "application/problem+json",
    headers(
        ("Retry-After" = u64, description = "Seconds until a request is allowed again"),
        ("RateLimit-Policy" = String, description = "The refusing policy, draft-ietf-httpapi-ratelimit-headers-10 syntax: `\"login\";q=10;w=60`"),
        ("RateLimit" = String, description = "`\"login\";r=0;t=6`: none left, seconds until one is"),
    ))]
pub struct RateLimited(pub Problem);

/// service_unavailable: too many password checks waiting; retry after `Retry-After` seconds
#[derive(IntoResponses)]
#[response(status = 503, content_type = "application/problem+json",
    headers(("Retry-After" = u32, description = "Seconds to wait before retrying")))]
pub struct HashingBusy(pub Problem);

/// A body that cannot be read as the request's JSON at all (every endpoint that
/// takes one). An endpoint whose 400 already means something else (an invalid
/// token or code) lists [`UnreadableBody`] and names `malformed_json` in its 400.
#[derive(IntoResponses)]
pub enum JsonBodyErrors {
    /// malformed_json: the body is not JSON
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(Problem),
    /// payload_too_large: the body is over the size limit (64 KiB)
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// unsupported_media_type: the body is not sent as application/json
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(Problem),
}

/// [`JsonBodyErrors`] without its 400, for endpoints whose 400 has its own meaning.
#[derive(IntoResponses)]
pub enum UnreadableBody {
    /// payload_too_large: the body is over the size limit (64 KiB)
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// unsupported_media_type: the body is not sent as application/json
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(Problem),
}
