//! What every response tells the browser (security headers, CORS), the limit on
//! request headers, and which request ids are believed.

use reqwest::{Method, StatusCode};

use crate::helpers::*;

/// The headers every answer carries, JSON or HTML.
#[track_caller]
fn assert_security_headers(reply: &Reply) {
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    let csp = reply.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn json_answers_and_html_pages_carry_the_security_headers() {
    let app = spawn_app().await;
    let json = app.get("/healthz").await;
    json.assert_status(StatusCode::OK);
    assert_security_headers(&json);
    let problem = app.login(&unique_email(), PASSWORD).await;
    problem.assert_problem(INVALID_CREDENTIALS);
    assert_security_headers(&problem);

    let page = app.get("/verify-email?token=not-a-token").await;
    page.assert_page(StatusCode::BAD_REQUEST);
    assert_security_headers(&page);
    let docs = app.get("/docs/").await;
    docs.assert_page(StatusCode::OK);
    assert_security_headers(&docs);
}

#[tokio::test]
async fn hsts_is_sent_only_when_the_public_url_is_https() {
    let https = spawn_app_with(&["--public-url", "https://auth.example"]).await;
    let reply = https.get("/healthz").await;
    assert_eq!(
        reply.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    let page = https.get("/verify-email?token=not-a-token").await;
    assert!(page.header("strict-transport-security").is_some());

    let http = spawn_app().await; // PUBLIC_URL http://auth.test
    let reply = http.get("/healthz").await;
    assert_eq!(reply.header("strict-transport-security"), None);
}

#[tokio::test]
async fn cors_lets_listed_origins_send_credentials_and_tells_others_nothing() {
    let app = spawn_app_with(&["--cors-allowed-origins", "https://app.example"]).await;
    let allowed = app.preflight("/login", "https://app.example").await;
    allowed.assert_status(StatusCode::OK);
    let origin = allowed.header("access-control-allow-origin");
    assert_eq!(origin, Some("https://app.example"));
    let credentials = allowed.header("access-control-allow-credentials");
    assert_eq!(credentials, Some("true"));

    let request = app.request(Method::GET, "/healthz");
    let simple = request.header("origin", "https://app.example").send().await;
    simple.assert_status(StatusCode::OK);
    let origin = simple.header("access-control-allow-origin");
    assert_eq!(origin, Some("https://app.example"));
    let credentials = simple.header("access-control-allow-credentials");
    assert_eq!(credentials, Some("true"));

    let foreign = app.preflight("/login", "https://evil.example").await;
    assert_eq!(foreign.header("access-control-allow-origin"), None);
    assert_eq!(foreign.header("access-control-allow-credentials"), None);
    let request = app.request(Method::GET, "/healthz");
    let simple = request
        .header("origin", "https://evil.example")
        .send()
        .await;
    simple.assert_status(StatusCode::OK);
    assert_eq!(simple.header("access-control-allow-origin"), None);
    assert_eq!(simple.header("access-control-allow-credentials"), None);

    // `*` lets any site call, so never with credentials.
    let any = spawn_app_with(&["--cors-allowed-origins", "*"]).await;
    let reply = any.preflight("/login", "https://anyone.example").await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn headers_over_16_kib_are_431() {
    let app = spawn_app().await;
    let big = "x".repeat(17 * 1024);
    let reply = app
        .request(Method::GET, "/healthz")
        .header("x-padding", &big)
        .send()
        .await;
    reply.assert_problem(HEADERS_TOO_LARGE);

    let fits = "x".repeat(8 * 1024);
    let request = app.request(Method::GET, "/healthz");
    let reply = request.header("x-padding", &fits).send().await;
    reply.assert_status(StatusCode::OK);
}

/// The request id the app answers when sent `sent`.
async fn request_id_for(app: &TestApp, sent: &str) -> String {
    let request = app.request(Method::GET, "/healthz");
    let reply = request.header("x-request-id", sent).send().await;
    reply.assert_status(StatusCode::OK);
    reply
        .header("x-request-id")
        .expect("x-request-id")
        .to_owned()
}

#[tokio::test]
async fn a_safe_request_id_is_echoed_and_any_other_is_replaced() {
    let app = spawn_app().await;
    let safe = "4f1c.trace_ID-123";
    assert_eq!(request_id_for(&app, safe).await, safe);

    let spoof = "abc method=POST path=/admin status=200";
    let long = "a".repeat(8_000);
    for sent in [spoof, long.as_str()] {
        let answered = request_id_for(&app, sent).await;
        assert!(uuid::Uuid::parse_str(&answered).is_ok(), "{answered}");
    }
}
