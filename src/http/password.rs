//! Password recovery and change: POST /password/forgot, /password/reset,
//! /password/change, and the page behind the emailed reset link.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::dto::EmailRequest;
use super::email::{TokenQuery, invalid_link_page};
use super::email_link;
use super::extract::{AuthUser, ClientInfo, JsonOrForm, ValidatedJson};
use super::pages::{page, token_form};
use crate::auth::password::Verified;
use crate::auth::tokens::{OpaqueToken, TokenHash, looks_like_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::mail::Message;
use crate::state::AppState;
use crate::store::{Effects, EmailTokenPurpose, EventKind, NewEmailToken};

/// Lifetime of a password-reset link.
pub const RESET_TTL: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the reset link.
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
    pub token: String,
    /// The new password: 8 to 128 characters, any Unicode, never trimmed.
    #[serde(default)]
    #[validate(length(min = 8, max = 128, message = "must be between 8 and 128 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ChangePasswordRequest {
    #[serde(default)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    pub current_password: String,
    /// 8 to 128 characters, any Unicode, never trimmed.
    #[serde(default)]
    #[validate(length(min = 8, max = 128, message = "must be between 8 and 128 characters"))]
    #[schema(min_length = 8, max_length = 128)]
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
    ))]
pub async fn forgot(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidatedJson(req): ValidatedJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    let now = state.clock.now();
    let (token, mail) = reset_link_mail(&state, Message::PasswordReset, &req.email)?;
    let effects = Effects::event(
        EventKind::PasswordResetRequested,
        None,
        None,
        &client.actor(),
        now,
    )
    .and_mail(mail);
    state
        .store
        .issue_email_token(&req.email, false, token, now, effects)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// A new reset token and the message (`PasswordReset` or `AccountExists`) that
/// carries its link.
pub fn reset_link_mail(
    state: &AppState,
    message: Message,
    to: &str,
) -> ApiResult<(NewEmailToken, crate::mail::Email)> {
    let token = OpaqueToken::generate()?;
    let link = email_link(&state.config.password_reset_url(), &token.plaintext);
    let mail = state.templates.render(message, to, &link)?;
    let new_token = NewEmailToken {
        hash: token.hash,
        purpose: EmailTokenPurpose::PasswordReset,
        expires_at: state.clock.now() + RESET_TTL,
    };
    Ok((new_token, mail))
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
        (status = 204, description = "Password changed; all sessions revoked"),
        (status = 400, description = "invalid_token: unknown, expired, used, or not a reset token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (password policy)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset(
    State(state): State<AppState>,
    client: ClientInfo,
    body: JsonOrForm<ResetPasswordRequest>,
) -> ApiResult<Response> {
    let JsonOrForm {
        value: req,
        from_form,
    } = body;
    let done = if looks_like_token(&req.token) {
        let new_hash = state.hasher.hash(req.password).await?;
        let now = state.clock.now();
        let effects = Effects::event(
            EventKind::PasswordResetCompleted,
            None,
            None,
            &client.actor(),
            now,
        );
        let token = TokenHash::of(&req.token);
        state
            .store
            .reset_password(&token, &new_hash, now, effects)
            .await?
            .is_some()
    } else {
        false
    };
    match (done, from_form) {
        (true, false) => Ok(StatusCode::NO_CONTENT.into_response()),
        (false, false) => Err(ApiError::InvalidEmailToken),
        (true, true) => Ok(page(
            StatusCode::OK,
            "Password changed",
            "<p>Your password is changed and you are logged out everywhere. Log in with the new password.</p>",
        )),
        (false, true) => Ok(page(
            StatusCode::BAD_REQUEST,
            "Link expired or used",
            "<p>This link is invalid, expired or already used. Ask for a new one.</p>",
        )),
    }
}

/// The page behind the emailed reset link (when PASSWORD_RESET_URL is unset): a
/// form for the new password. Opening it does not use the token.
#[utoipa::path(get, path = "/password/reset", tag = "password",
    params(("token" = String, Query, description = "The token from the reset link")),
    responses((status = 200, description = "HTML page with a new-password form", content_type = "text/html")))]
pub async fn reset_page(Query(q): Query<TokenQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    if !looks_like_token(&token) {
        return invalid_link_page();
    }
    token_form(
        "Choose a new password",
        "Setting a new password logs you out everywhere.",
        "reset",
        &token,
        "<label>New password (8 to 128 characters)<br>\
         <input type=\"password\" name=\"password\" minlength=\"8\" maxlength=\"128\" required autocomplete=\"new-password\"></label>",
        "Set new password",
    )
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
    ))]
pub async fn change(
    State(state): State<AppState>,
    caller: AuthUser,
    client: ClientInfo,
    ValidatedJson(req): ValidatedJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let stored = Some(caller.user.password_hash.clone());
    if state.hasher.verify(req.current_password, stored).await? == Verified::No {
        return Err(ApiError::WrongCurrentPassword);
    }
    let new_hash = state.hasher.hash(req.new_password).await?;
    let now = state.clock.now();
    let (user, session) = (caller.user.id, caller.session_id);
    let effects = Effects::event(
        EventKind::PasswordChanged,
        Some(user),
        Some(session),
        &client.actor(),
        now,
    );
    state
        .store
        .change_password(user, session, &new_hash, now, effects)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
