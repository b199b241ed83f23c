use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::*;

#[tokio::test]
async fn register_answers_202_and_mails_a_verification_link() {
    let app = spawn_app().await;
    let email = unique_email();
    let reply = app.register(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(reply.body, json!({"status": "verification_sent"}));

    let mail = app.verification_mail(&email).await;
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your email address for Auth Service")
    );
    assert!(
        mail.mail_from.contains("auth@auth.test"),
        "{}",
        mail.mail_from
    );
    let link = mail
        .find_link("/verify-email?token=")
        .expect("link in mail");
    assert!(
        link.starts_with("http://auth.test/verify-email?token="),
        "{link}"
    );
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
}

#[tokio::test]
async fn the_account_is_stored_trimmed_with_an_argon2id_hash_and_a_hashed_token() {
    let app = spawn_app().await;
    let email = unique_email();
    let reply = app
        .post_json(
            "/register",
            &json!({"email": format!("  {email} "), "password": PASSWORD, "name": " Ada "}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);

    let (stored_email, hash, name): (String, String, Option<String>) =
        sqlx::query_as("select email, password_hash, name from users")
            .fetch_one(&app.db)
            .await
            .expect("one user");
    assert_eq!(stored_email, email);
    assert_eq!(name.as_deref(), Some("Ada"));
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));

    let token = app.verification_token(&email).await;
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from email_tokens")
        .fetch_one(&app.db)
        .await
        .expect("one email token");
    assert_eq!(stored, Sha256::digest(token.as_bytes()).to_vec());
}

#[tokio::test]
async fn an_existing_email_gets_the_same_answer_and_no_second_account() {
    let app = spawn_app().await;
    let email = unique_email();
    let first = app.register(&email, PASSWORD).await;
    let again = app
        .register(&email.to_uppercase(), "another password")
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body);

    assert_eq!(app.count("users").await, 1);
    // The original password still logs in once verified; the second one never set anything.
    let token = app.verification_token(&email).await;
    app.post_json("/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(app.login(&email, PASSWORD).await.status, StatusCode::OK);
    app.login(&email, "another password")
        .await
        .assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn invalid_fields_get_422_with_one_error_per_field() {
    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/register",
            &json!({"email": "not-an-email", "password": "short"}),
        )
        .await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["email", "password"]);
    assert!(reply.body["errors"][0]["message"].is_string());

    let missing = app
        .post_json("/register", &json!({"email": unique_email()}))
        .await;
    missing.assert_problem(422, "validation_failed");
    assert_eq!(missing.error_fields(), ["password"]);

    let wrong_type = app
        .post_json("/register", &json!({"email": 42, "password": PASSWORD}))
        .await;
    wrong_type.assert_problem(422, "validation_failed");
    assert_eq!(wrong_type.error_fields(), ["email"]);

    let too_long = app.register(&unique_email(), &"x".repeat(129)).await;
    too_long.assert_problem(422, "validation_failed");

    assert_eq!(
        app.count("users").await,
        0,
        "a refused registration stores nothing"
    );
}

#[tokio::test]
async fn password_length_counts_characters_and_spaces_are_kept() {
    let app = spawn_app().await;
    // Eight Cyrillic letters are 16 bytes but 8 characters: allowed.
    let email = unique_email();
    assert_eq!(
        app.register(&email, "пароль12").await.status,
        StatusCode::ACCEPTED
    );
    // Seven characters, 21 bytes: refused.
    app.register(&unique_email(), "密码密码密码密")
        .await
        .assert_problem(422, "validation_failed");

    // Leading and trailing spaces are part of the password.
    let spaced = unique_email();
    app.register(&spaced, "  spaced out  ").await;
    let token = app.verification_token(&spaced).await;
    app.post_json("/verify-email", &json!({"token": token}))
        .await;
    app.login(&spaced, "spaced out")
        .await
        .assert_problem(401, "invalid_credentials");
    assert_eq!(
        app.login(&spaced, "  spaced out  ").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_verification_register_logs_in_and_a_taken_email_is_409() {
    let app = spawn_app_with(&["--require-email-verification", "false"]).await;
    let email = unique_email();
    let reply = app.register(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["user"]["email"], email.as_str());
    assert_eq!(reply.body["user"]["email_verified"], false);
    let access = reply.body["access_token"].as_str().expect("access token");
    assert_eq!(app.me(access).await.status, StatusCode::OK);
    let refresh = reply.body["refresh_token"].as_str().expect("refresh token");
    assert_eq!(app.refresh(refresh).await.status, StatusCode::OK);

    app.register(&email.to_uppercase(), PASSWORD)
        .await
        .assert_problem(409, "email_taken");
    assert!(
        app.smtp.messages().is_empty(),
        "no verification mail when verification is off"
    );
}

#[tokio::test]
async fn a_failing_smtp_server_does_not_fail_the_registration() {
    let app = spawn_app().await;
    app.smtp.set_down(true);
    let reply = app.register(&unique_email(), PASSWORD).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(app.count("users").await, 1);
}
