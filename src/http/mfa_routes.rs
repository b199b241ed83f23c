//! The second factor: POST /mfa/totp, /mfa/totp/confirm, DELETE /mfa/totp,
//! POST /mfa/recovery-codes, and the login's second step POST /login/mfa.

use super::AppState;
use super::auth_routes::no_store;
use super::extract::{AuthUser, Client, ValidatedJson};
use super::mfa_schemas::{
    CodeRequest, DisableTotpRequest, LoginMfaRequest, RecoveryCodes, TotpEnrolment,
};
use super::problem::{ApiError, ApiResult, FieldError, Problem};
use super::responses::{JsonBodyErrors, RateLimited, UnreadableBody};
use super::schemas::TokenResponse;
use crate::accounts::{MfaProof, SecondFactor};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

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
        (status = 400, description = "invalid_code: wrong, already used, or no enrolment started; or malformed_json", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "mfa_already_enabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        UnreadableBody,
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
        JsonBodyErrors,
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
        (status = 400, description = "invalid_code: wrong or already used, or MFA is off; or malformed_json", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        UnreadableBody,
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
        JsonBodyErrors,
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
