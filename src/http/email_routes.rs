//! Email verification: the JSON endpoint, the scanner-safe page behind the link
//! in the email, and resending the link.
//!
//! Mail scanners follow links, so GET never spends the token: it answers a page
//! whose button POSTs it as a form; that post is answered with a page, or a 303
//! to EMAIL_VERIFIED_REDIRECT_URL.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::AppState;
use super::extract::{Client, JsonOrForm, ValidatedJson};
use super::problem::{ApiResult, Problem};
use super::responses::{JsonBodyErrors, RateLimited, UnreadableBody};
use super::schemas::{EmailRequest, TokenQuery, User};
use crate::accounts::AccountError;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the link in the verification email.
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
    #[schema(required, pattern = "^[A-Za-z0-9_-]{43}$")]
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
        (status = 200, description = "Email verified: the user (JSON), or a page saying so (form post)",
            content((User = "application/json"), (String = "text/html"))),
        (status = 303, description = "Form post with EMAIL_VERIFIED_REDIRECT_URL set: redirect with ?status=ok or ?status=error"),
        (status = 400, description = "invalid_token: unknown, expired or used (a page saying so for a form post); or malformed_json",
            content((Problem = "application/problem+json"), (String = "text/html"))),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        UnreadableBody,
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    Client(client): Client,
    body: JsonOrForm<VerifyEmailRequest>,
) -> ApiResult<Response> {
    let verified = state
        .accounts
        .verify_email(&body.value.token, &client)
        .await;
    if !body.from_form {
        return Ok(Json(User::from(verified?)).into_response());
    }
    match verified {
        Ok(_) => form_answer(&state, true),
        Err(AccountError::InvalidEmailToken) => form_answer(&state, false),
        Err(e) => Err(e.into()),
    }
}

/// The page the emailed link opens. It does not use the token: its button does.
#[utoipa::path(get, path = "/verify-email", tag = "email",
    params(("token" = String, Query, description = "The token from the link in the verification email", pattern = "^[A-Za-z0-9_-]{43}$")),
    responses(
        (status = 200, description = "HTML page with a button that confirms the address", content_type = "text/html"),
        (status = 400, description = "HTML page saying the link is invalid: no token, or not one this service made", content_type = "text/html"),
    ))]
pub async fn verify_page(State(state): State<AppState>, q: TokenQuery) -> ApiResult<Response> {
    match q.well_formed() {
        Some(token) => state.pages.verify_email(token),
        None => state.pages.invalid_link(),
    }
}

/// Send the verification link again.
///
/// Always 202, whether or not the address has an account or is already verified,
/// so the answer reveals nothing; a new link goes out only to an unverified account.
#[utoipa::path(post, path = "/verify-email/resend", tag = "email", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the account exists and is unverified, a new link was sent"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        RateLimited,
    ))]
pub async fn resend(
    State(state): State<AppState>,
    Client(client): Client,
    ValidatedJson(req): ValidatedJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    state
        .accounts
        .resend_verification(&req.email, &client)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// The answer to the form on the verification page: a redirect to
/// EMAIL_VERIFIED_REDIRECT_URL when set, else a page.
fn form_answer(state: &AppState, ok: bool) -> ApiResult<Response> {
    if let Some(target) = &state.config.email_verified_redirect_url {
        let mut url = target.clone();
        url.query_pairs_mut()
            .append_pair("status", if ok { "ok" } else { "error" });
        return Ok(Redirect::to(url.as_str()).into_response());
    }
    if ok {
        state.pages.message(
            StatusCode::OK,
            "Email confirmed",
            "Your email address is confirmed. You can close this page and log in.",
        )
    } else {
        state.pages.message(
            StatusCode::BAD_REQUEST,
            "Link expired or used",
            "This link is invalid, expired or already used. Ask for a new one from the app.",
        )
    }
}
