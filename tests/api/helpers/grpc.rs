//! The gRPC door under test: clients generated from the service's own schema,
//! connected to the app's gRPC port, and the exact statuses errors must be.

use std::fmt::Debug;

use auth_service::grpc::ERROR_CODE;
use auth_service::grpc::proto::auth_service_client::AuthServiceClient;
use auth_service::grpc::proto::token_service_client::TokenServiceClient;
use auth_service::grpc::proto::{self, login_response};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

use super::TestApp;

/// The service key the gRPC tests configure (`--introspection-keys`).
pub const SERVICE_KEY: &str = "grpc-service-key-0123456789";
/// The `user-agent` the test clients send (tonic appends its own name).
pub const GRPC_AGENT: &str = "grpc-test-client/1.0";

impl TestApp {
    /// A connection to the app's gRPC port.
    pub async fn grpc_channel(&self) -> Channel {
        let url = self.grpc.clone().expect("the app serves gRPC");
        Endpoint::from_shared(url)
            .expect("gRPC URL")
            .user_agent(GRPC_AGENT)
            .expect("user agent")
            .connect()
            .await
            .expect("connects to the gRPC port")
    }

    pub async fn auth_service(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.grpc_channel().await)
    }

    pub async fn token_service(&self) -> TokenServiceClient<Channel> {
        TokenServiceClient::new(self.grpc_channel().await)
    }

    /// Logs in over gRPC and returns the token pair (the login must succeed).
    pub async fn grpc_login(&self, email: &str, password: &str) -> proto::TokenResponse {
        let request = proto::LoginRequest {
            email: email.into(),
            password: password.into(),
        };
        let reply = self.auth_service().await.login(request).await;
        match reply.expect("gRPC login succeeds").into_inner().outcome {
            Some(login_response::Outcome::Tokens(tokens)) => tokens,
            other => panic!("expected tokens, got {other:?}"),
        }
    }
}

/// `message` with `authorization: Bearer <key>` metadata.
pub fn with_key<T>(message: T, key: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {key}").parse().expect("metadata value");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A refusal as the gRPC door must give it.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub code: Code,
    /// The v1 code: `error-code` metadata, and the ErrorInfo reason.
    pub error_code: &'static str,
    pub message: &'static str,
}

const fn refusal(code: Code, error_code: &'static str, message: &'static str) -> Refusal {
    Refusal {
        code,
        error_code,
        message,
    }
}

pub const GRPC_INVALID_CREDENTIALS: Refusal = refusal(
    Code::Unauthenticated,
    "invalid_credentials",
    "The email or password is incorrect.",
);
pub const GRPC_EMAIL_NOT_VERIFIED: Refusal = refusal(
    Code::FailedPrecondition,
    "email_not_verified",
    "Confirm your email address before logging in.",
);
pub const GRPC_ACCOUNT_DISABLED: Refusal = refusal(
    Code::FailedPrecondition,
    "account_disabled",
    "This account is disabled.",
);
pub const GRPC_EMAIL_TAKEN: Refusal = refusal(
    Code::AlreadyExists,
    "email_taken",
    "An account with this email already exists.",
);
pub const GRPC_INVALID_REFRESH_TOKEN: Refusal = refusal(
    Code::Unauthenticated,
    "invalid_refresh_token",
    "The refresh token is unknown, expired or revoked.",
);
pub const GRPC_INVALID_ACCESS_TOKEN: Refusal = refusal(
    Code::Unauthenticated,
    "invalid_token",
    "A valid access token is required.",
);
pub const GRPC_INVALID_EMAIL_TOKEN: Refusal = refusal(
    Code::InvalidArgument,
    "invalid_token",
    "The token is invalid, expired or already used.",
);
pub const GRPC_NO_CREDENTIALS: Refusal = refusal(
    Code::Unauthenticated,
    "unauthorized",
    "Send an access_token or a refresh_token.",
);
pub const GRPC_INVALID_CLIENT: Refusal = refusal(
    Code::Unauthenticated,
    "invalid_client",
    "Send `authorization: Bearer <a key from INTROSPECTION_KEYS>` metadata.",
);
pub const GRPC_RATE_LIMITED: Refusal = refusal(
    Code::ResourceExhausted,
    "rate_limited",
    "Too many requests. Try again after the delay in the RetryInfo details.",
);
pub const GRPC_USER_NOT_FOUND: Refusal =
    refusal(Code::NotFound, "not_found", "No user has this id.");
pub const GRPC_REVOCATIONS_MISSED: Refusal = refusal(
    Code::DataLoss,
    "revocations_missed",
    "Revocations may have been missed (this subscriber fell behind, or the broadcast \
     reconnected): subscribe again and revalidate every token you cached.",
);
/// The database cannot be reached (HTTP's 503 `service_unavailable`).
pub const GRPC_UNAVAILABLE: Refusal = refusal(
    Code::Unavailable,
    "service_unavailable",
    "The service cannot reach its database.",
);
pub const GRPC_SHUTTING_DOWN: Refusal = refusal(
    Code::Unavailable,
    "unavailable",
    "The server is shutting down: subscribe again (to another instance) and \
     revalidate every token you cached.",
);
const GRPC_VALIDATION_FAILED: Refusal = refusal(
    Code::InvalidArgument,
    "validation_failed",
    "One or more fields are invalid (see the BadRequest details).",
);

/// The call failed exactly as `expected`; returns the status for more checks.
#[track_caller]
pub fn assert_refused<T: Debug>(reply: Result<Response<T>, Status>, expected: Refusal) -> Status {
    let status = reply.expect_err("the call must fail");
    assert_status(&status, expected);
    status
}

#[track_caller]
pub fn assert_status(status: &Status, expected: Refusal) {
    assert_eq!(status.code(), expected.code, "{status:?}");
    let sent = status
        .metadata()
        .get(ERROR_CODE)
        .and_then(|v| v.to_str().ok());
    assert_eq!(sent, Some(expected.error_code), "{status:?}");
    let info = status.get_details_error_info().expect("ErrorInfo detail");
    assert_eq!(info.reason, expected.error_code, "{status:?}");
    assert_eq!(info.domain, "auth-service", "{status:?}");
    assert_eq!(status.message(), expected.message, "{status:?}");
}

/// The call failed INVALID_ARGUMENT `validation_failed` with exactly these
/// field violations (field, description), in order.
#[track_caller]
pub fn assert_invalid_fields<T: Debug>(
    reply: Result<Response<T>, Status>,
    fields: &[(&str, &str)],
) {
    let status = assert_refused(reply, GRPC_VALIDATION_FAILED);
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect();
    assert_eq!(violations(&status), fields, "{status:?}");
}

/// The BadRequest field violations of a status, as (field, description).
pub fn violations(status: &Status) -> Vec<(String, String)> {
    let bad_request = status.get_details_bad_request().expect("BadRequest detail");
    bad_request
        .field_violations
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}
