//! The gRPC door's one error mapping: every refusal of the core becomes a
//! `tonic::Status` here, once. The status code follows the HTTP status of the
//! same refusal; the v1 `code` (the core's `AccountError::code`, exactly the
//! HTTP problem's `code`) travels in the `error-code` metadata entry (sent as
//! trailers) and as the `reason` of a google.rpc.ErrorInfo detail. Refused
//! fields come as a google.rpc.BadRequest, rate limits with a RetryInfo.

use std::time::Duration;

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::accounts::AccountError;

/// The metadata entry that carries the v1 error code.
pub const ERROR_CODE: &str = "error-code";
/// ErrorInfo's `domain`: who defines the codes.
const DOMAIN: &str = "auth-service";
/// What a client turned away by a full hashing queue waits (as HTTP's Retry-After).
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

impl From<AccountError> for Status {
    fn from(e: AccountError) -> Self {
        let (code, message) = grpc_code(&e);
        let mut details = ErrorDetails::new();
        match &e {
            AccountError::InvalidInput(fields) => {
                for field in fields {
                    details.add_bad_request_violation(field.field, field.message);
                }
            }
            AccountError::RateLimited(refusal) => {
                let wait = Duration::from_secs(refusal.retry_after_secs());
                details.set_retry_info(Some(wait));
            }
            AccountError::Busy => {
                tracing::warn!("password hashing queue full: request turned away");
                details.set_retry_info(Some(BUSY_RETRY_AFTER));
            }
            AccountError::Unavailable => tracing::warn!("database unavailable"),
            // Logged here, inside the call's span; never shown.
            AccountError::Internal(cause) => tracing::error!(error = ?cause, "call failed"),
            _ => {}
        }
        with_code(code, e.code(), message, details)
    }
}

/// A status that no refusal of the core describes (the door's own), with its
/// v1 code.
pub fn door_status(code: Code, error_code: &'static str, message: &str) -> Status {
    with_code(code, error_code, message, ErrorDetails::new())
}

fn with_code(
    code: Code,
    error_code: &'static str,
    message: &str,
    mut details: ErrorDetails,
) -> Status {
    details.set_error_info(error_code, DOMAIN, std::collections::HashMap::new());
    let mut metadata = MetadataMap::new();
    metadata.insert(ERROR_CODE, MetadataValue::from_static(error_code));
    Status::with_error_details_and_metadata(code, message, details, metadata)
}

/// The gRPC code of each refusal (after its HTTP status: 400 and 422
/// INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 FAILED_PRECONDITION, 404
/// NOT_FOUND, 409 ALREADY_EXISTS, 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE), and
/// what to tell the caller.
fn grpc_code(e: &AccountError) -> (Code, &'static str) {
    use AccountError::*;
    match e {
        InvalidCredentials => (Code::Unauthenticated, "The email or password is incorrect."),
        EmailNotVerified => (
            Code::FailedPrecondition,
            "Confirm your email address before logging in.",
        ),
        EmailTaken => (
            Code::AlreadyExists,
            "An account with this email already exists.",
        ),
        InvalidRefreshToken => (
            Code::Unauthenticated,
            "The refresh token is unknown, expired or revoked.",
        ),
        InvalidAccessToken | MissingAccessToken => {
            (Code::Unauthenticated, "A valid access token is required.")
        }
        InvalidEmailToken => (
            Code::InvalidArgument,
            "The token is invalid, expired or already used.",
        ),
        MissingCredentials => (
            Code::Unauthenticated,
            "Send an access_token or a refresh_token.",
        ),
        WrongCurrentPassword => (
            Code::FailedPrecondition,
            "The current password is incorrect.",
        ),
        WrongPasswordOrCode => (
            Code::FailedPrecondition,
            "The password or code is incorrect.",
        ),
        InvalidCode => (
            Code::InvalidArgument,
            "The code is wrong or was already used.",
        ),
        SecondFactorRejected => (
            Code::Unauthenticated,
            "The code is wrong or was already used.",
        ),
        InvalidMfaToken => (
            Code::Unauthenticated,
            "The MFA step is unknown, expired, used or failed too often. Log in again.",
        ),
        MfaAlreadyEnabled => (
            Code::AlreadyExists,
            "An authenticator is already confirmed. Turn it off first.",
        ),
        InvalidServiceKey => (
            Code::Unauthenticated,
            "Send `authorization: Bearer <a key from INTROSPECTION_KEYS>` metadata.",
        ),
        InvalidInput(_) => (
            Code::InvalidArgument,
            "One or more fields are invalid (see the BadRequest details).",
        ),
        SessionNotFound | PasskeyNotFound | UserNotFound => (Code::NotFound, "No such resource."),
        InvalidAdminKey => (
            Code::Unauthenticated,
            "Send an admin key as `authorization: Bearer …` metadata.",
        ),
        AccountDisabled => (Code::FailedPrecondition, "This account is disabled."),
        InvalidPasskey => (
            Code::InvalidArgument,
            "The passkey could not be registered.",
        ),
        PasskeyLoginFailed => (Code::Unauthenticated, "The passkey was not accepted."),
        PasskeysUnavailable => (
            Code::FailedPrecondition,
            "Passkeys are not available on this server.",
        ),
        Busy => (
            Code::Unavailable,
            "Too many password checks are waiting. Try again in a moment.",
        ),
        RateLimited(_) => (
            Code::ResourceExhausted,
            "Too many requests. Try again after the delay in the RetryInfo details.",
        ),
        Unavailable => (Code::Unavailable, "The service cannot reach its database."),
        Internal(_) => (Code::Internal, "Something went wrong on our side."),
    }
}
