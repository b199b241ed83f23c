//! The few HTML pages the service serves itself, behind the links in emails,
//! rendered from `templates/pages/` by the engine the mail uses (auto-escaped).

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Value, context};

use super::problem::ApiResult;
use crate::templates::Templates;

#[derive(Clone)]
pub struct Pages {
    templates: Arc<Templates>,
}

impl Pages {
    pub fn new(templates: Arc<Templates>) -> Self {
        Self { templates }
    }

    /// The page behind a verification link: a button that posts the token.
    pub fn verify_email(&self, token: &str) -> ApiResult<Response> {
        let page = context! { title => "Confirm your email address", token };
        self.render(StatusCode::OK, "pages/verify_email.html", page)
    }

    /// The page behind a reset link: a form for the new password.
    pub fn reset_password(&self, token: &str) -> ApiResult<Response> {
        let page = context! { title => "Choose a new password", token };
        self.render(StatusCode::OK, "pages/reset_password.html", page)
    }

    /// A link without a well-formed token.
    pub fn invalid_link(&self) -> ApiResult<Response> {
        self.message(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "This link is not valid. Copy the whole link from the email, or ask for a new one.",
        )
    }

    /// A title and one paragraph.
    pub fn message(&self, status: StatusCode, title: &str, message: &str) -> ApiResult<Response> {
        self.render(status, "pages/message.html", context! { title, message })
    }

    fn render(&self, status: StatusCode, name: &str, page: Value) -> ApiResult<Response> {
        let html = self.templates.render(name, page)?;
        Ok((
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
            .into_response())
    }
}
