//! The problem+json errors the service answers, each pinned whole: status, title,
//! code and detail (the strings of `ApiError` and of the middleware).

use serde_json::{Value, json};

/// An expected problem+json error. Its body is exactly `status`, `code`, `detail`
/// and the title of the status (422 adds `errors`: see [`Reply::assert_invalid`]).
#[derive(Debug, Clone, Copy)]
pub struct Problem {
    pub status: u16,
    pub code: &'static str,
    pub detail: &'static str,
}

impl Problem {
    pub const fn new(status: u16, code: &'static str, detail: &'static str) -> Problem {
        Problem {
            status,
            code,
            detail,
        }
    }

    /// The whole problem+json body.
    pub fn body(&self) -> Value {
        let title = match self.status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            413 => "Payload Too Large",
            415 => "Unsupported Media Type",
            422 => "Unprocessable Entity",
            431 => "Request Header Fields Too Large",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            other => panic!("no title known for status {other}: add it here"),
        };
        json!({"status": self.status, "title": title, "code": self.code, "detail": self.detail})
    }
}

pub const VALIDATION_FAILED: Problem =
    Problem::new(422, "validation_failed", "One or more fields are invalid.");
pub const UNSUPPORTED_MEDIA_TYPE: Problem = Problem::new(
    415,
    "unsupported_media_type",
    "Send the body as application/json.",
);
pub const PAYLOAD_TOO_LARGE: Problem = Problem::new(
    413,
    "payload_too_large",
    "The request body is larger than the limit.",
);
pub const INVALID_CREDENTIALS: Problem = Problem::new(
    401,
    "invalid_credentials",
    "The email or password is incorrect.",
);
/// A wrong current password on `/password/change`.
pub const WRONG_CURRENT_PASSWORD: Problem = Problem::new(
    403,
    "invalid_credentials",
    "The current password is incorrect.",
);
pub const EMAIL_NOT_VERIFIED: Problem = Problem::new(
    403,
    "email_not_verified",
    "Confirm your email address before logging in.",
);
pub const EMAIL_TAKEN: Problem = Problem::new(
    409,
    "email_taken",
    "An account with this email already exists.",
);
pub const INVALID_REFRESH_TOKEN: Problem = Problem::new(
    401,
    "invalid_refresh_token",
    "The refresh token is unknown, expired or revoked.",
);
/// A missing, malformed, expired or revoked access token.
pub const INVALID_ACCESS_TOKEN: Problem = Problem::new(
    401,
    "invalid_token",
    "A valid Bearer access token is required.",
);
/// An unknown, expired or used token from a mailed link.
pub const INVALID_LINK_TOKEN: Problem = Problem::new(
    400,
    "invalid_token",
    "The link is invalid, expired or already used.",
);
/// `/logout` with neither a Bearer token nor a refresh token.
pub const NO_CREDENTIALS: Problem = Problem::new(
    401,
    "unauthorized",
    "Send a Bearer access token or a refresh_token in the body.",
);
pub const INVALID_CLIENT: Problem = Problem::new(
    401,
    "invalid_client",
    "Send a service key from INTROSPECTION_KEYS as a Bearer token.",
);
pub const NOT_FOUND: Problem = Problem::new(404, "not_found", "No such resource.");
pub const METHOD_NOT_ALLOWED: Problem = Problem::new(
    405,
    "method_not_allowed",
    "This method is not allowed on this resource.",
);
pub const UNAVAILABLE: Problem = Problem::new(
    503,
    "service_unavailable",
    "The service cannot reach its database.",
);
/// Too many password checks already wait for a hashing slot (sent with `Retry-After`).
pub const HASHING_BUSY: Problem = Problem::new(
    503,
    "service_unavailable",
    "Too many password checks are waiting. Try again in a moment.",
);
/// The request's headers together exceed 16 KiB.
pub const HEADERS_TOO_LARGE: Problem = Problem::new(
    431,
    "request_header_fields_too_large",
    "The request headers are larger than the limit.",
);
pub const RATE_LIMITED: Problem = Problem::new(
    429,
    "rate_limited",
    "Too many requests. Try again after the number of seconds in Retry-After.",
);
pub const INTERNAL_ERROR: Problem =
    Problem::new(500, "internal_error", "Something went wrong on our side.");

/// 400 `malformed_json` with this detail (it quotes the JSON parser).
pub const fn malformed_json(detail: &'static str) -> Problem {
    Problem::new(400, "malformed_json", detail)
}
pub const INVALID_PASSKEY: Problem = Problem::new(
    400,
    "invalid_passkey",
    "The passkey could not be registered: the challenge is unknown, expired or used, or the credential does not verify.",
);
pub const PASSKEY_NOT_ACCEPTED: Problem =
    Problem::new(401, "invalid_credentials", "The passkey was not accepted.");
pub const PASSKEYS_UNAVAILABLE: Problem = Problem::new(
    503,
    "passkeys_unavailable",
    "Passkeys are not available on this server.",
);
