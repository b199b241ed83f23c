//! The text of each message, plain and HTML.

use super::Email;

/// Escapes text for inclusion in HTML element content or a quoted attribute.
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

pub fn verification_email(to: &str, link: &str) -> Email {
    let text = format!(
        "Confirm your email address\n\n\
         Open this link to confirm that {to} is yours:\n\n{link}\n\n\
         The link is valid for 24 hours and works once. \
         If you did not create an account, ignore this message.\n"
    );
    let (to_html, link_html) = (html_escape(to), html_escape(link));
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <h1>Confirm your email address</h1>\
         <p>Open this link to confirm that {to_html} is yours:</p>\
         <p><a href=\"{link_html}\">Confirm my email address</a></p>\
         <p>Or copy it into your browser: {link_html}</p>\
         <p>The link is valid for 24 hours and works once. \
         If you did not create an account, ignore this message.</p>\
         </body></html>"
    );
    Email {
        to: to.to_owned(),
        subject: "Confirm your email address".into(),
        text,
        html,
    }
}
