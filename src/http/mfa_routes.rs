//! The second factor: POST /mfa/totp, /mfa/totp/confirm, DELETE /mfa/totp,
//! POST /mfa/recovery-codes, and the login's second step POST /login/mfa.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::AppState;
use super::auth_routes::no_store;
use super::extract::{AuthUser, Client, ValidatedJson};
use super::problem::{ApiError, ApiResult, FieldError, Problem};
use super::responses::RateLimited;
use super::schemas::{PasskeyLoginFinish, TokenResponse};
use crate::accounts::{MfaProof, SecondFactor};

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CodeRequest {
    /// The 6-digit code the authenticator shows now.
    #[serde(default)]
    #[validate(length(min = 1, max = 64, message = "is required"))]
    #[schema(example = "492039")]
    pub code: String,
}

/// Exactly one of `password` and `code`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct DisableTotpRequest {
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    pub password: Option<String>,
    #[validate(length(min = 1, max = 64, message = "is required"))]
    #[schema(example = "492039")]
    pub code: Option<String>,
}

/// `mfa_token` and exactly one of `code`, `recovery_code` and `passkey`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginMfaRequest {
    #[serde(default)]
    #[validate(length(min = 1, max = 256, message = "is required"))]
    pub mfa_token: String,
    /// The 6-digit code the authenticator shows now.
    #[validate(length(min = 1, max = 64, message = "is required"))]
    #[schema(example = "492039")]
    pub code: Option<String>,
    /// One of the recovery codes (`xxxxx-xxxxx`), each usable once.
    #[validate(length(min = 1, max = 64, message = "is required"))]
    #[schema(example = "k7fq2-mx9vr")]
    pub recovery_code: Option<String>,
    /// One of the user's passkeys, answering a challenge of POST
    /// /login/passkey/start (offered when `methods` lists `passkey`).
    pub passkey: Option<PasskeyLoginFinish>,
}

/// A started enrolment: put the secret into an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// base32 (RFC 4648, no padding), 160 bits.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// For a QR code: `otpauth://totp/Issuer:email?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
    pub otpauth_uri: String,
}

/// Recovery codes, shown once: each works once instead of the authenticator.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    #[schema(example = json!(["k7fq2-mx9vr", "…"]))]
    pub recovery_codes: Vec<String>,
}

/// Exactly one of these fields is required; the 422 names the first.
fn one_of(fields: &[&str]) -> ApiError {
    let (last, others) = fields.split_last().unwrap_or((&"", &[]));
    ApiError::Validation(vec![FieldError {
        field: fields.first().copied().unwrap_or_default().into(),
        message: format!("send exactly one of {} and {last}", others.join(", ")),
    }])
}

/// Start enrolling a TOTP authenticator.
///
/// The secret is inert until confirmed at POST /mfa/totp/confirm; starting again
/// replaces an unconfirmed one.
#[utoipa::path(post, path = "/mfa/totp", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "The secret for the authenticator", body = TotpEnrolment),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "mfa_already_enabled: turn the authenticator off first", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_totp(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Response> {
    let started = state.accounts.start_totp(&caller).await?;
    Ok(no_store(Json(TotpEnrolment {
        secret: started.secret,
        otpauth_uri: started.otpauth_uri,
    })))
}

/// Confirm the authenticator with a code from it: MFA is on from now.
///
/// Answers the first set of 10 recovery codes, shown only here. Sessions that
/// exist already stay at `aal1` until they log in again.
#[utoipa::path(post, path = "/mfa/totp/confirm", tag = "mfa", request_body = CodeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "MFA on; the recovery codes", body = RecoveryCodes),
        (status = 400, description = "invalid_code: wrong, already used, or no enrolment started", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "mfa_already_enabled", body = Problem, content_type = "application/problem+json"),
        RateLimited,
    ))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<CodeRequest>,
) -> ApiResult<Response> {
    let codes = state
        .accounts
        .confirm_totp(&caller, &req.code, &client)
        .await?;
    Ok(no_store(Json(RecoveryCodes {
        recovery_codes: codes,
    })))
}

/// Turn the authenticator off, with the password or a code from it.
///
/// Every other session is revoked; logins no longer ask for a code.
#[utoipa::path(delete, path = "/mfa/totp", tag = "mfa", request_body = DisableTotpRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "MFA off; other sessions revoked"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "invalid_credentials: wrong password or code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: not exactly one of password and code", body = Problem, content_type = "application/problem+json"),
        RateLimited,
    ))]
pub async fn disable_totp(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<DisableTotpRequest>,
) -> ApiResult<StatusCode> {
    let proof = match (req.password, req.code) {
        (Some(password), None) => MfaProof::Password(password),
        (None, Some(code)) => MfaProof::Code(code),
        _ => return Err(one_of(&["password", "code"])),
    };
    state.accounts.disable_totp(&caller, proof, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A fresh set of 10 recovery codes, for a code from the authenticator.
///
/// The old set stops working.
#[utoipa::path(post, path = "/mfa/recovery-codes", tag = "mfa", request_body = CodeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new recovery codes", body = RecoveryCodes),
        (status = 400, description = "invalid_code: wrong or already used, or MFA is off", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        RateLimited,
    ))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<CodeRequest>,
) -> ApiResult<Response> {
    let codes = state
        .accounts
        .regenerate_recovery_codes(&caller, &req.code, &client)
        .await?;
    Ok(no_store(Json(RecoveryCodes {
        recovery_codes: codes,
    })))
}

/// Finish a login with its second factor.
///
/// Send the `mfa_token` of POST /login with a `code` from the authenticator, a
/// `recovery_code`, or a `passkey` answering a challenge of POST
/// /login/passkey/start. The token lives 5 minutes, is spent by the success, and
/// dies after 5 wrong answers.
#[utoipa::path(post, path = "/login/mfa", tag = "auth", request_body = LoginMfaRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "invalid_code (wrong code, used or unknown recovery code) or invalid_mfa_token (used, expired, exhausted or unknown)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: not exactly one of code, recovery_code and passkey", body = Problem, content_type = "application/problem+json"),
        RateLimited,
    ))]
pub async fn login_mfa(
    State(state): State<AppState>,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<LoginMfaRequest>,
) -> ApiResult<Response> {
    let factor = match (req.code, req.recovery_code, req.passkey) {
        (Some(code), None, None) => SecondFactor::Totp(code),
        (None, Some(code), None) => SecondFactor::RecoveryCode(code),
        (None, None, Some(answer)) => SecondFactor::Passkey {
            challenge_id: answer.challenge_id,
            credential: answer.credential,
        },
        _ => return Err(one_of(&["code", "recovery_code", "passkey"])),
    };
    let pair = state
        .accounts
        .login_mfa(&req.mfa_token, factor, &client)
        .await?;
    Ok(no_store(Json(TokenResponse::from(pair))))
}
