//! The few HTML pages the service serves itself (behind links in emails).

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content or a quoted attribute.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A small self-contained page. `body` is trusted HTML; escape what goes into it.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}\
         button,input{{font-size:1rem;padding:.6rem}}label{{display:block;margin:1rem 0}}</style></head>\
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

/// A page with a form that posts `token` (and the given extra fields) to `action`.
pub fn token_form(
    title: &str,
    intro: &str,
    action: &str,
    token: &str,
    fields: &str,
    button: &str,
) -> Response {
    let body = format!(
        "<p>{intro}</p><form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">{fields}\
         <button type=\"submit\">{button}</button></form>",
        html_escape(token)
    );
    page(StatusCode::OK, title, &body)
}
