//! The HTTP layer's one error type, rendered as `application/problem+json` (RFC
//! 9457). The core's [`AccountError`] is mapped to a status and code here, once.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::{AccountError, RateLimited};

/// One invalid field of a request body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// Name of the field as it appears in the JSON body.
    #[schema(example = "password")]
    pub field: String,
    #[schema(example = "must be between 8 and 128 characters")]
    pub message: String,
}

/// RFC 9457 problem details. `code` is a stable machine-readable snake_case code.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[schema(example = 401)]
    pub status: u16,
    #[schema(example = "Unauthorized")]
    pub title: String,
    #[schema(example = "invalid_credentials")]
    pub code: &'static str,
    #[schema(example = "The email or password is incorrect.")]
    pub detail: String,
    /// Present on 422 `validation_failed` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// Seconds a client turned away by a full hashing queue waits before retrying: a
/// queue drains in well under that.
const BUSY_RETRY_AFTER: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A flow of the core refused.
    #[error(transparent)]
    Account(AccountError),
    #[error("request body is not valid")]
    Validation(Vec<FieldError>),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("service unavailable")]
    Unavailable,
    /// Something unexpected in the HTTP layer itself (a page that fails to render).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            // The core's refused inputs are validation errors like any other.
            AccountError::InvalidInput(fields) => ApiError::Validation(
                fields
                    .into_iter()
                    .map(|f| FieldError {
                        field: f.field.to_owned(),
                        message: f.message.to_owned(),
                    })
                    .collect(),
            ),
            e => ApiError::Account(e),
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .flat_map(|(field, errs)| {
                errs.iter().map(move |e| FieldError {
                    field: field.to_string(),
                    message: e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("is invalid ({})", e.code)),
                })
            })
            .collect();
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Validation(fields)
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            Account(e) => account_parts(e),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "One or more fields are invalid.".into(),
            ),
            MalformedJson(why) => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("The request body is not valid JSON: {why}"),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json.".into(),
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is larger than the limit.".into(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "No such resource.".into(),
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed on this resource.".into(),
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The service cannot reach its database.".into(),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side.".into(),
            ),
        }
    }
}

/// Status, code and detail of each refusal of the core (the code is the
/// core's own, shared with the gRPC door).
fn account_parts(e: &AccountError) -> (StatusCode, &'static str, String) {
    let (status, detail) = account_status(e);
    (status, e.code(), detail)
}

fn account_status(e: &AccountError) -> (StatusCode, String) {
    use AccountError::*;
    match e {
        InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "The email or password is incorrect.".into(),
        ),
        EmailNotVerified => (
            StatusCode::FORBIDDEN,
            "Confirm your email address before logging in.".into(),
        ),
        EmailTaken => (
            StatusCode::CONFLICT,
            "An account with this email already exists.".into(),
        ),
        InvalidRefreshToken => (
            StatusCode::UNAUTHORIZED,
            "The refresh token is unknown, expired or revoked.".into(),
        ),
        InvalidAccessToken | MissingAccessToken => (
            StatusCode::UNAUTHORIZED,
            "A valid Bearer access token is required.".into(),
        ),
        InvalidEmailToken => (
            StatusCode::BAD_REQUEST,
            "The link is invalid, expired or already used.".into(),
        ),
        MissingCredentials => (
            StatusCode::UNAUTHORIZED,
            "Send a Bearer access token or a refresh_token in the body.".into(),
        ),
        WrongCurrentPassword => (
            StatusCode::FORBIDDEN,
            "The current password is incorrect.".into(),
        ),
        WrongPasswordOrCode => (
            StatusCode::FORBIDDEN,
            "The password or code is incorrect.".into(),
        ),
        InvalidCode => (
            StatusCode::BAD_REQUEST,
            "The code is wrong or was already used.".into(),
        ),
        SecondFactorRejected => (
            StatusCode::UNAUTHORIZED,
            "The code is wrong or was already used.".into(),
        ),
        InvalidMfaToken => (
            StatusCode::UNAUTHORIZED,
            "The MFA step is unknown, expired, used or failed too often. Log in again.".into(),
        ),
        MfaAlreadyEnabled => (
            StatusCode::CONFLICT,
            "An authenticator is already confirmed. Turn it off first.".into(),
        ),
        InvalidServiceKey => (
            StatusCode::UNAUTHORIZED,
            "Send a service key from INTROSPECTION_KEYS as a Bearer token.".into(),
        ),
        // Turned into `ApiError::Validation` on the way in; kept for completeness.
        InvalidInput(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "One or more fields are invalid.".into(),
        ),
        SessionNotFound => (
            StatusCode::NOT_FOUND,
            "No such resource.".into(),
        ),
        InvalidPasskey => (
            StatusCode::BAD_REQUEST,
            "The passkey could not be registered: the challenge is unknown, expired or used, or the credential does not verify.".into(),
        ),
        PasskeyLoginFailed => (
            StatusCode::UNAUTHORIZED,
            "The passkey was not accepted.".into(),
        ),
        PasskeyNotFound => (
            StatusCode::NOT_FOUND,
            "No such resource.".into(),
        ),
        PasskeysUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Passkeys are not available on this server.".into(),
        ),
        InvalidAdminKey => (
            StatusCode::UNAUTHORIZED,
            "Send an admin key (from ADMIN_KEYS or `auth-service admin-keys create`) as a Bearer token.".into(),
        ),
        AccountDisabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled.".into(),
        ),
        UserNotFound => (
            StatusCode::NOT_FOUND,
            "No such resource.".into(),
        ),
        Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many password checks are waiting. Try again in a moment.".into(),
        ),
        RateLimited(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests. Try again after the number of seconds in Retry-After.".into(),
        ),
        Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service cannot reach its database.".into(),
        ),
        Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.".into(),
        ),
    }
}

/// A problem+json response with the given status, code and detail.
pub fn problem_response(
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Option<Vec<FieldError>>,
) -> Response {
    let body = Problem {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        code,
        detail,
        errors,
    };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        match &self {
            // Logged here, inside the request span, so the line carries the request id.
            ApiError::Internal(e) | ApiError::Account(AccountError::Internal(e)) => {
                tracing::error!(error = ?e, "request failed")
            }
            ApiError::Unavailable | ApiError::Account(AccountError::Unavailable) => {
                tracing::warn!("database unavailable")
            }
            ApiError::Account(AccountError::Busy) => {
                tracing::warn!("password hashing queue full: request turned away")
            }
            _ => {}
        }
        let challenge = match self {
            ApiError::Account(AccountError::InvalidAccessToken) => {
                Some(r#"Bearer error="invalid_token""#)
            }
            ApiError::Account(AccountError::MissingAccessToken) => Some("Bearer"),
            ApiError::Account(AccountError::InvalidServiceKey) => {
                Some(r#"Bearer realm="introspection""#)
            }
            ApiError::Account(AccountError::InvalidAdminKey) => Some(r#"Bearer realm="admin""#),
            _ => None,
        };
        let busy = matches!(self, ApiError::Account(AccountError::Busy));
        let limited = match &self {
            ApiError::Account(AccountError::RateLimited(refusal)) => rate_limit_headers(refusal),
            _ => Vec::new(),
        };
        let errors = match self {
            ApiError::Validation(errors) => Some(errors),
            _ => None,
        };
        let mut res = problem_response(status, code, detail, errors);
        if busy {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(BUSY_RETRY_AFTER),
            );
        }
        res.headers_mut().extend(limited);
        if let Some(challenge) = challenge {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// `Retry-After`, and the policy that refused in the structured-field syntax of
/// draft-ietf-httpapi-ratelimit-headers-10 (the same since -08):
/// `RateLimit-Policy: "login";q=10;w=60` (quota `q` per window `w` seconds) and
/// `RateLimit: "login";r=0;t=6` (`r` left, `t` seconds until there is one again).
fn rate_limit_headers(refusal: &RateLimited) -> Vec<(Option<HeaderName>, HeaderValue)> {
    let name = refusal.policy;
    let wait = refusal.retry_after_secs();
    let quota = refusal.quota.count;
    let window = refusal.window_secs();
    [
        (header::RETRY_AFTER, wait.to_string()),
        (RATELIMIT_POLICY, format!("\"{name}\";q={quota};w={window}")),
        (RATELIMIT, format!("\"{name}\";r=0;t={wait}")),
    ]
    .into_iter()
    .filter_map(|(header, value)| Some((Some(header), HeaderValue::from_str(&value).ok()?)))
    .collect()
}
