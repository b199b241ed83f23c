use base64::Engine as _;
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

    let mail = app.mail(&email, VERIFY).await;
    assert_eq!(mail.subject, "Confirm your email address for Auth Service");
    assert_eq!(mail.mail_from, "auth@auth.test");
    assert_eq!(mail.to, [email.as_str()]);
    let token = VERIFY
        .token_in(&mail)
        .expect("verification link in the text part");
    assert!(
        mail.html.contains(&format!("token={token}\"")),
        "the HTML part has the link too: {}",
        mail.html
    );
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

    let token = app.mailed_token(&email, VERIFY).await;
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
    let token = app.mailed_token(&email, VERIFY).await;
    app.verify_email(&token).await.assert_status(StatusCode::OK);
    assert_eq!(app.login(&email, PASSWORD).await.status, StatusCode::OK);
    app.login(&email, "another password")
        .await
        .assert_problem(INVALID_CREDENTIALS);
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
    reply.assert_invalid(&[
        ("email", "must be a valid email address"),
        ("password", "must be between 8 and 128 characters"),
    ]);

    let missing = app
        .post_json("/register", &json!({"email": unique_email()}))
        .await;
    missing.assert_invalid(&[("password", "must be between 8 and 128 characters")]);

    let wrong_type = app
        .post_json("/register", &json!({"email": 42, "password": PASSWORD}))
        .await;
    wrong_type.assert_invalid(&[("email", "invalid type: integer `42`, expected a string")]);

    let too_long = app.register(&unique_email(), &"x".repeat(129)).await;
    too_long.assert_invalid(&[("password", "must be between 8 and 128 characters")]);

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
        .assert_invalid(&[("password", "must be between 8 and 128 characters")]);

    // Leading and trailing spaces are part of the password.
    let spaced = unique_email();
    app.register(&spaced, "  spaced out  ").await;
    let token = app.mailed_token(&spaced, VERIFY).await;
    app.verify_email(&token).await.assert_status(StatusCode::OK);
    app.login(&spaced, "spaced out")
        .await
        .assert_problem(INVALID_CREDENTIALS);
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
    let tokens = Tokens::registered(&reply);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(tokens.email(), email.as_str());
    assert_eq!(tokens.user["email_verified"], false);
    assert_eq!(app.me(&tokens.access).await.status, StatusCode::OK);
    app.refreshed(&tokens.refresh).await;

    app.register(&email.to_uppercase(), PASSWORD)
        .await
        .assert_problem(EMAIL_TAKEN);
    // No verification mail (verification is off), no "account exists" mail either.
    app.assert_no_mail().await;
}

#[tokio::test]
async fn a_failing_smtp_server_does_not_fail_the_registration() {
    let app = spawn_app().await;
    app.smtp.set_down(true);
    let reply = app.register(&unique_email(), PASSWORD).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn one_password_is_hashed_under_a_fresh_128_bit_salt_for_each_account() {
    let app = spawn_app().await;
    for _ in 0..2 {
        app.register(&unique_email(), PASSWORD)
            .await
            .assert_status(StatusCode::ACCEPTED);
    }
    let hashes: Vec<String> = sqlx::query_scalar("select password_hash from users")
        .fetch_all(&app.db)
        .await
        .expect("two users");
    // $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH, the salt in unpadded base64.
    let salts: Vec<Vec<u8>> = hashes
        .iter()
        .map(|h| {
            let salt = h.split('$').nth(4).expect("a salt field");
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(salt)
                .expect("base64 salt")
        })
        .collect();
    assert_eq!(salts[0].len(), 16, "{}", hashes[0]);
    assert_eq!(salts[1].len(), 16, "{}", hashes[1]);
    assert_ne!(salts[0], salts[1]);
    assert_ne!(hashes[0], hashes[1]);
}
