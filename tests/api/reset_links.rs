//! What a reset link is worth after the password changed, and what using one proves.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const NEW_PASSWORD: &str = "a whole new passphrase";

/// Asks for a reset link for `email` and sets NEW_PASSWORD with the mailed token.
async fn reset_through_the_mail(app: &TestApp, email: &str) {
    app.forgot_password(email).await;
    let token = app.mailed_token(email, RESET).await;
    let reset = json!({"token": token, "password": NEW_PASSWORD});
    app.post_json("/password/reset", &reset)
        .await
        .assert_no_content();
}

#[tokio::test]
async fn a_password_change_voids_every_outstanding_reset_link() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let email = session.user["email"].as_str().unwrap().to_owned();
    app.forgot_password(&email).await;
    let token = app.mailed_token(&email, RESET).await;

    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    app.post_json_bearer("/password/change", &session.access, &change)
        .await
        .assert_no_content();

    let reset = json!({"token": token, "password": "an attacker's passphrase"});
    app.post_json("/password/reset", &reset)
        .await
        .assert_problem(INVALID_LINK_TOKEN);
    Tokens::of(&app.login(&email, NEW_PASSWORD).await);
}

#[tokio::test]
async fn a_completed_reset_proves_the_mailbox() {
    let app = spawn_app().await;
    let email = app.registered_user().await;
    app.login(&email, PASSWORD)
        .await
        .assert_problem(EMAIL_NOT_VERIFIED);
    reset_through_the_mail(&app, &email).await;

    let session = Tokens::of(&app.login(&email, NEW_PASSWORD).await);
    assert_eq!(session.user["email_verified"], true);
}

#[tokio::test]
async fn the_token_is_checked_before_the_new_password() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    app.forgot_password(&email).await;
    let token = app.mailed_token(&email, RESET).await;
    // An unknown token is refused as such, whatever the password: nothing is
    // looked at (or hashed) for a link that does not exist.
    let unknown = random_token();
    for password in ["password", NEW_PASSWORD] {
        app.post_json(
            "/password/reset",
            &json!({"token": unknown, "password": password}),
        )
        .await
        .assert_problem(INVALID_LINK_TOKEN);
    }
    // With the real token the password rules apply, and the link survives a refusal.
    app.post_json(
        "/password/reset",
        &json!({"token": token, "password": "password"}),
    )
    .await
    .assert_invalid(&[("password", "is too common or too easy to guess")]);
    app.post_json(
        "/password/reset",
        &json!({"token": token, "password": NEW_PASSWORD}),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_reset_does_not_pass_over_the_second_factor() {
    // The mailbox proves the password, never the second factor: a reset link in
    // the wrong hands still stops at the MFA step.
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let email = me.email().to_owned();
    app.enable_totp(&me.access).await;
    reset_through_the_mail(&app, &email).await;
    let step = app.login(&email, NEW_PASSWORD).await;
    step.assert_status(StatusCode::OK);
    assert_eq!(step.body["mfa_required"], true, "{}", step.text);
    assert_eq!(step.body.get("access_token"), None, "{}", step.text);
}
