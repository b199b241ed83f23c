//! Email verification: the JSON endpoint, and the scanner-safe page behind the
//! link in the email.
//!
//! Mail scanners follow links, so GET never spends the token: it answers a page
//! whose button POSTs it. That form POST is the one non-JSON body the service
//! takes; its answer is a page, or a 303 to EMAIL_VERIFIED_REDIRECT_URL.

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::dto::User;
use super::extract::{content_type, decode_json, read_body};
use crate::auth::tokens::{TokenHash, looks_like_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::mail::html_escape;
use crate::state::AppState;
use crate::store::{EmailTokenPurpose, UserRow};

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
pub async fn verify_email(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let headers: HeaderMap = req.headers().clone();
    let body = read_body(req, &state).await?;
    if content_type(&headers).as_deref() == Some("application/x-www-form-urlencoded") {
        let token = url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let verified = spend(&state, &token).await?;
        return Ok(form_answer(&state, verified.is_some()));
    }
    let req: VerifyEmailRequest = decode_json(&headers, &body)?;
    let user = spend(&state, &req.token)
        .await?
        .ok_or(ApiError::InvalidEmailToken)?;
    Ok(Json(User::from(&user)).into_response())
}

/// The page the emailed link opens. It does not use the token: its button does.
#[utoipa::path(get, path = "/verify-email", tag = "email", params(VerifyEmailRequest),
    responses((status = 200, description = "HTML page with a button that confirms the address", content_type = "text/html")))]
pub async fn verify_page(Query(q): Query<VerifyEmailQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    if !looks_like_token(&token) {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "<p>This link is not valid. Copy the whole link from the email, or ask for a new one.</p>",
        );
    }
    let form = format!(
        "<p>Press the button to confirm your email address.</p>\
         <form method=\"post\" action=\"verify-email\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <button type=\"submit\">Confirm my email address</button></form>",
        html_escape(&token)
    );
    page(StatusCode::OK, "Confirm your email address", &form)
}

/// Query of GET /verify-email; a missing token gets the "invalid link" page.
#[derive(Debug, Deserialize)]
pub struct VerifyEmailQuery {
    token: Option<String>,
}

async fn spend(state: &AppState, token: &str) -> ApiResult<Option<UserRow>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let hash = TokenHash::of(token);
    Ok(state
        .store
        .use_email_token(&hash, EmailTokenPurpose::VerifyEmail, state.clock.now())
        .await?)
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

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}\
         button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    (
        status,
        [
            // The URL holds a secret: keep it out of Referer headers and frames.
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
            ),
        ],
        Html(html),
    )
        .into_response()
}
