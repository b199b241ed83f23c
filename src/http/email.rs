//! Email verification: the JSON endpoint, the scanner-safe page behind the link
//! in the email, and resending the link.
//!
//! Mail scanners follow links, so GET never spends the token: it answers a page
//! whose button POSTs it as a form; that post is answered with a page, or a 303
//! to EMAIL_VERIFIED_REDIRECT_URL.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::dto::{EmailRequest, User};
use super::email_link;
use super::extract::{ClientInfo, JsonOrForm, ValidatedJson};
use super::pages::{page, token_form};
use crate::auth::tokens::{OpaqueToken, TokenHash, looks_like_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::mail::Message;
use crate::state::AppState;
use crate::store::{Effects, EmailTokenPurpose, EventKind, NewEmailToken};

/// Lifetime of an email verification link.
pub const VERIFICATION_TTL: chrono::Duration = chrono::Duration::hours(24);

#[derive(Debug, Deserialize, Validate, ToSchema, IntoParams)]
pub struct VerifyEmailRequest {
    /// The token from the link in the verification email.
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
    pub token: String,
}

/// Confirm an email address with the token from the verification email.
///
/// JSON clients get the updated user. The form on the GET page posts
/// `application/x-www-form-urlencoded` and gets a page (or a 303 redirect).
#[utoipa::path(post, path = "/verify-email", tag = "email",
    request_body(content(
        (VerifyEmailRequest = "application/json"),
        (VerifyEmailRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Email verified", body = User),
        (status = 303, description = "Form post with EMAIL_VERIFIED_REDIRECT_URL set: redirect with ?status=ok or ?status=error"),
        (status = 400, description = "invalid_token: unknown, expired or used", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is neither JSON nor a form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    client: ClientInfo,
    body: JsonOrForm<VerifyEmailRequest>,
) -> ApiResult<Response> {
    let token = &body.value.token;
    let user = if looks_like_token(token) {
        let now = state.clock.now();
        let effects = Effects::event(EventKind::EmailVerified, None, None, &client.actor(), now);
        state
            .store
            .verify_email(&TokenHash::of(token), now, effects)
            .await?
    } else {
        None
    };
    if body.from_form {
        return Ok(form_answer(&state, user.is_some()));
    }
    let user = user.ok_or(ApiError::InvalidEmailToken)?;
    Ok(Json(User::from(&user)).into_response())
}

/// The page the emailed link opens. It does not use the token: its button does.
#[utoipa::path(get, path = "/verify-email", tag = "email", params(VerifyEmailRequest),
    responses((status = 200, description = "HTML page with a button that confirms the address", content_type = "text/html")))]
pub async fn verify_page(Query(q): Query<TokenQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    if !looks_like_token(&token) {
        return invalid_link_page();
    }
    token_form(
        "Confirm your email address",
        "Press the button to confirm your email address.",
        "verify-email",
        &token,
        "",
        "Confirm my email address",
    )
}

/// Send the verification link again.
///
/// Always 202, whether or not the address has an account or is already verified,
/// so the answer reveals nothing; a new link goes out only to an unverified account.
#[utoipa::path(post, path = "/verify-email/resend", tag = "email", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the account exists and is unverified, a new link was sent"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resend(
    State(state): State<AppState>,
    ValidatedJson(req): ValidatedJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    let now = state.clock.now();
    let token = OpaqueToken::generate()?;
    let link = email_link(&state.config.verification_url(), &token.plaintext);
    let mail = state
        .templates
        .render(Message::VerifyEmail, &req.email, &link)?;
    let new_token = NewEmailToken {
        hash: token.hash,
        purpose: EmailTokenPurpose::VerifyEmail,
        expires_at: now + VERIFICATION_TTL,
    };
    let effects = Effects::default().and_mail(mail);
    state
        .store
        .issue_email_token(&req.email, true, new_token, now, effects)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// `?token=` of the pages behind emailed links; a missing token gets the
/// "invalid link" page.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

pub fn invalid_link_page() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Invalid link",
        "<p>This link is not valid. Copy the whole link from the email, or ask for a new one.</p>",
    )
}

fn form_answer(state: &AppState, ok: bool) -> Response {
    if let Some(target) = &state.config.email_verified_redirect_url {
        let mut url = target.clone();
        url.query_pairs_mut()
            .append_pair("status", if ok { "ok" } else { "error" });
        return Redirect::to(url.as_str()).into_response();
    }
    if ok {
        page(
            StatusCode::OK,
            "Email confirmed",
            "<p>Your email address is confirmed. You can close this page and log in.</p>",
        )
    } else {
        page(
            StatusCode::BAD_REQUEST,
            "Link expired or used",
            "<p>This link is invalid, expired or already used. Ask for a new one from the app.</p>",
        )
    }
}
