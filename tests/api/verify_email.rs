use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A fresh registered address and the token of its verification link.
async fn registered(app: &TestApp) -> (String, String) {
    let email = app.registered_user().await;
    let token = app.mailed_token(&email, VERIFY).await;
    (email, token)
}

#[tokio::test]
async fn the_token_verifies_the_email_once() {
    let app = spawn_app().await;
    let (email, token) = registered(&app).await;

    let reply = app.verify_email(&token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["email"], email.as_str());
    assert_eq!(reply.body["email_verified"], true);
    assert!(reply.body["id"].is_string() && reply.body["created_at"].is_string());

    app.verify_email(&token)
        .await
        .assert_problem(INVALID_LINK_TOKEN);
}

#[tokio::test]
async fn unknown_malformed_and_missing_tokens_are_refused() {
    let app = spawn_app().await;
    for token in [random_token().as_str(), "<script>"] {
        app.verify_email(token)
            .await
            .assert_problem(INVALID_LINK_TOKEN);
    }
    let missing = app.post_json("/verify-email", &json!({})).await;
    missing.assert_invalid(&[("token", "is required")]);
}

#[tokio::test]
async fn the_token_expires_after_24_hours() {
    let app = spawn_app().await;
    let (_, token) = registered(&app).await;
    app.advance(Duration::from_secs(24 * 3600 + 1));
    app.verify_email(&token)
        .await
        .assert_problem(INVALID_LINK_TOKEN);
}

#[tokio::test]
async fn login_before_verification_is_403_only_with_the_right_password() {
    let app = spawn_app().await;
    let (email, token) = registered(&app).await;
    app.login(&email, "wrong password")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    app.login(&email, PASSWORD)
        .await
        .assert_problem(EMAIL_NOT_VERIFIED);

    app.verify_email(&token).await.assert_status(StatusCode::OK);
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["user"]["email_verified"], true);
    assert_eq!(
        jwt_claims(login.body["access_token"].as_str().expect("token"))["email_verified"],
        true
    );
}

#[tokio::test]
async fn opening_the_link_shows_a_button_and_does_not_spend_the_token() {
    let app = spawn_app().await;
    let (_, token) = registered(&app).await;
    for _ in 0..2 {
        // What a mail scanner does: follow the link.
        let page = app.get(&format!("/verify-email?token={token}")).await;
        page.assert_page(StatusCode::OK);
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert!(
            page.text
                .contains("<form method=\"post\" action=\"verify-email\">"),
            "{}",
            page.text
        );
        assert!(
            page.text
                .contains(&format!("name=\"token\" value=\"{token}\""))
        );
    }
    // The token still works.
    app.verify_email(&token).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_link_without_a_valid_token_shows_an_error_page() {
    let app = spawn_app().await;
    let page = app.get("/verify-email?token=%3Cscript%3E").await;
    page.assert_page(StatusCode::BAD_REQUEST);
    assert!(
        page.text.contains("This link is not valid"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<script>") && !page.text.contains("<form"));
    app.get("/verify-email")
        .await
        .assert_page(StatusCode::BAD_REQUEST);
}

async fn press_button(app: &TestApp, token: &str) -> Reply {
    app.post_raw(
        "/verify-email",
        "application/x-www-form-urlencoded",
        format!("token={token}"),
    )
    .await
}

#[tokio::test]
async fn the_button_verifies_and_shows_the_result() {
    let app = spawn_app().await;
    let (email, token) = registered(&app).await;
    let done = press_button(&app, &token).await;
    done.assert_page(StatusCode::OK);
    assert!(done.text.contains("Email confirmed"), "{}", done.text);
    assert_eq!(app.login(&email, PASSWORD).await.status, StatusCode::OK);

    let again = press_button(&app, &token).await;
    again.assert_page(StatusCode::BAD_REQUEST);
    assert!(again.text.contains("invalid, expired or already used"));
}

#[tokio::test]
async fn with_a_redirect_url_the_button_redirects_with_the_status() {
    let app = spawn_app_with(&[
        "--email-verified-redirect-url",
        "https://app.example/verified",
    ])
    .await;
    let (_, token) = registered(&app).await;
    let ok = press_button(&app, &token).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        ok.header("location"),
        Some("https://app.example/verified?status=ok")
    );
    let error = press_button(&app, &token).await;
    assert_eq!(error.status, StatusCode::SEE_OTHER);
    assert_eq!(
        error.header("location"),
        Some("https://app.example/verified?status=error")
    );
}
