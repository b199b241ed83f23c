//! Password recovery and change: POST /password/forgot, /password/reset,
//! /password/change, and the page behind the emailed reset link.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::AppState;
use super::extract::{AuthUser, Client, JsonOrForm, ValidatedJson};
use super::problem::{ApiResult, Problem};
use super::responses::{HashingBusy, JsonBodyErrors, RateLimited, UnreadableBody};
use super::schemas::{EmailRequest, TokenQuery};
use crate::accounts::{AccountError, PasswordReset};

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the reset link.
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
    #[schema(required, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// The new password: 8 to 128 characters, any Unicode, never trimmed.
    /// Refused with 422 when easily guessed or built from the email.
    #[serde(default)]
    #[validate(length(min = 8, max = 128, message = "must be between 8 and 128 characters"))]
    #[schema(required, min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ChangePasswordRequest {
    #[serde(default)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    #[schema(required, min_length = 1, max_length = 1024)]
    pub current_password: String,
    /// 8 to 128 characters, any Unicode, never trimmed. Refused with 422 when
    /// easily guessed or built from the email.
    #[serde(default)]
    #[validate(length(min = 8, max = 128, message = "must be between 8 and 128 characters"))]
    #[schema(required, min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Ask for a password-reset link.
///
/// Always 202, so the answer reveals nothing; if the address has an account, a
/// link valid for one hour and usable once is mailed to it.
#[utoipa::path(post, path = "/password/forgot", tag = "password", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the account exists, a reset link was sent"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
    ))]
pub async fn forgot(
    State(state): State<AppState>,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    state.accounts.forgot_password(&req.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with the token from a reset link.
///
/// Every session of the user is revoked (log in again), and every other
/// outstanding reset link stops working. The reset page posts this as a form.
#[utoipa::path(post, path = "/password/reset", tag = "password",
    request_body(content(
        (ResetPasswordRequest = "application/json"),
        (ResetPasswordRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Form post: a page saying the password is changed", content_type = "text/html"),
        (status = 204, description = "Password changed; all sessions revoked"),
        (status = 400, description = "invalid_token: unknown, expired, used, or not a reset token (a page saying so for a form post); or malformed_json",
            content((Problem = "application/problem+json"), (String = "text/html"))),
        (status = 422, description = "validation_failed (password policy)", body = Problem, content_type = "application/problem+json"),
        UnreadableBody,
        RateLimited,
        HashingBusy,
    ))]
pub async fn reset(
    State(state): State<AppState>,
    Client(client): Client,
    body: JsonOrForm<ResetPasswordRequest>,
) -> ApiResult<Response> {
    let reset = PasswordReset {
        token: body.value.token,
        password: body.value.password,
    };
    let done = state.accounts.reset_password(reset, &client).await;
    if !body.from_form {
        done?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    match done {
        Ok(()) => state.pages.message(
            StatusCode::OK,
            "Password changed",
            "Your password is changed and you are logged out everywhere. Log in with the new password.",
        ),
        Err(AccountError::InvalidEmailToken) => state.pages.message(
            StatusCode::BAD_REQUEST,
            "Link expired or used",
            "This link is invalid, expired or already used. Ask for a new one.",
        ),
        Err(e) => Err(e.into()),
    }
}

/// The page behind the emailed reset link (when PASSWORD_RESET_URL is unset): a
/// form for the new password. Opening it does not use the token.
#[utoipa::path(get, path = "/password/reset", tag = "password",
    params(("token" = String, Query, description = "The token from the reset link", pattern = "^[A-Za-z0-9_-]{43}$")),
    responses(
        (status = 200, description = "HTML page with a new-password form", content_type = "text/html"),
        (status = 400, description = "HTML page saying the link is invalid: no token, or not one this service made", content_type = "text/html"),
    ))]
pub async fn reset_page(State(state): State<AppState>, q: TokenQuery) -> ApiResult<Response> {
    match q.well_formed() {
        Some(token) => state.pages.reset_password(token),
        None => state.pages.invalid_link(),
    }
}

/// Change the password of the logged-in user.
///
/// Needs the current password; every other session is revoked, this one stays.
#[utoipa::path(post, path = "/password/change", tag = "password", request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Password changed; other sessions revoked"),
        (status = 401, description = "invalid_token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "invalid_credentials: wrong current password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (password policy)", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
        HashingBusy,
    ))]
pub async fn change(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    state
        .accounts
        .change_password(&caller, req.current_password, req.new_password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
