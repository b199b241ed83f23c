//! The `x-request-id` every response carries and every log line of a request names.
//!
//! A client may send its own, to follow a call across services; it is written into
//! the logs and echoed back, so only a short id of safe characters is kept. Anything
//! else (`abc method=POST path=/admin` would read as extra log fields; 8,000
//! characters would be echoed back whole) is dropped, and a fresh UUID takes its place.

use axum::body::Body;
use axum::http::{HeaderName, Request};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-chosen request id kept.
const MAX_LEN: usize = 64;

/// Removes a sent request id unless it is exactly one short id of safe characters;
/// `SetRequestIdLayer`, just inside, then makes a UUID for the request.
pub async fn drop_unsafe_request_id(mut req: Request<Body>) -> Request<Body> {
    let mut sent = req.headers().get_all(&REQUEST_ID).iter();
    let keep = match (sent.next(), sent.next()) {
        (Some(id), None) => is_safe(id.as_bytes()),
        _ => false,
    };
    if !keep {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}

/// 1 to 64 of `A-Z a-z 0-9 . _ -`: nothing a log reader could take for a separator,
/// a field or a control sequence.
fn is_safe(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::is_safe;

    #[test]
    fn only_short_ids_of_safe_characters_are_kept() {
        for safe in ["trace-me-123", "a", "4f1c.b2_A-9", &"x".repeat(64)] {
            assert!(is_safe(safe.as_bytes()), "{safe}");
        }
        let spoof = "abc method=POST path=/admin status=200";
        for unsafe_id in ["", spoof, "a\x1b[31m", "a\nb", "ü", &"x".repeat(65)] {
            assert!(!is_safe(unsafe_id.as_bytes()), "{unsafe_id:?}");
        }
    }
}
