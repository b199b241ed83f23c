//! What a new password must be (NIST SP 800-63B 5.1.1.2), on every endpoint that
//! sets one, and passwords compared in their NFKC form.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const TOO_COMMON: &str = "is too common or too easy to guess";
const HAS_EMAIL: &str = "must not contain your email address";

#[tokio::test]
async fn registration_refuses_common_guessable_and_personal_passwords() {
    let app = spawn_app().await;
    let email = format!("grace.hopper.{}@example.com", uuid::Uuid::new_v4().simple());
    let local = email.split('@').next().unwrap().to_owned();
    for weak in ["password", "12345678", "        ", "qwertyuiop"] {
        app.register(&email, weak)
            .await
            .assert_invalid(&[("password", TOO_COMMON)]);
    }
    for personal in [email.clone(), format!("my {local} pass")] {
        app.register(&email, &personal)
            .await
            .assert_invalid(&[("password", HAS_EMAIL)]);
    }
    assert_eq!(app.count("users").await, 0, "nothing was written");
    app.register(&email, PASSWORD)
        .await
        .assert_status(StatusCode::ACCEPTED);
}

#[tokio::test]
async fn reset_and_change_apply_the_same_rules() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let email = session.user["email"].as_str().unwrap().to_owned();

    let change = json!({"current_password": PASSWORD, "new_password": "password1"});
    app.post_json_bearer("/password/change", &session.access, &change)
        .await
        .assert_invalid(&[("new_password", TOO_COMMON)]);

    app.forgot_password(&email).await;
    let token = app.mailed_token(&email, RESET).await;
    let reset = json!({"token": token, "password": email});
    app.post_json("/password/reset", &reset)
        .await
        .assert_invalid(&[("password", HAS_EMAIL)]);
    // A refused password leaves the link usable and the old password working.
    let reset = json!({"token": token, "password": "a whole new passphrase"});
    app.post_json("/password/reset", &reset)
        .await
        .assert_no_content();
}

#[tokio::test]
async fn the_same_password_typed_in_another_unicode_form_logs_in() {
    let app = spawn_app().await;
    let email = unique_email();
    // "ﬁ" (U+FB01) and "fi" are one password once normalised to NFKC.
    let typed_at_sign_up = "\u{FB01}sh and chips on a friday";
    app.verified_user_with_password(&email, typed_at_sign_up)
        .await;
    let login = app.login(&email, "fish and chips on a friday").await;
    Tokens::of(&login);
    Tokens::of(&app.login(&email, typed_at_sign_up).await);
}

#[tokio::test]
async fn a_hash_stored_before_normalisation_still_logs_in_and_is_upgraded() {
    use argon2::password_hash::PasswordHasher as _;
    let app = spawn_app().await;
    let email = unique_email();
    let typed = "\u{FB01}ne old passphrase";
    app.verified_user_with(&email).await;
    // The hash of the password exactly as typed, as the service stored it before.
    let legacy = argon2::Argon2::default()
        .hash_password(typed.as_bytes())
        .unwrap()
        .to_string();
    sqlx::query("update users set password_hash = $1 where email = $2")
        .bind(&legacy)
        .bind(&email)
        .execute(&app.db)
        .await
        .unwrap();
    Tokens::of(&app.login(&email, typed).await);
    let stored: String = sqlx::query_scalar("select password_hash from users where email = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(stored, legacy, "rehashed in the normalised form");
    // Now stored in NFKC: the other form of the same password works too.
    Tokens::of(&app.login(&email, "fine old passphrase").await);
}

#[tokio::test]
async fn nul_characters_are_refused_not_stored() {
    let app = spawn_app().await;
    let email = unique_email();
    let body = json!({"email": email, "password": PASSWORD, "name": "A\u{0}B"});
    app.post_json("/register", &body)
        .await
        .assert_invalid(&[("name", "must not contain NUL characters")]);
    let body = json!({"email": "a\u{0}b@example.com", "password": PASSWORD});
    app.post_json("/login", &body)
        .await
        .assert_invalid(&[("email", "must not contain NUL characters")]);
    for path in ["/password/forgot", "/verify-email/resend"] {
        app.post_json(path, &json!({"email": "a\u{0}b@example.com"}))
            .await
            .assert_invalid(&[("email", "must be a valid email address")]);
    }
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn every_character_of_a_long_password_counts() {
    // bcrypt would have stopped at 72 bytes; nothing here may cut a password short.
    let app = spawn_app().await;
    let email = unique_email();
    let longest: String = (0..4)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    assert_eq!(longest.chars().count(), 128);
    app.verified_user_with_password(&email, &longest).await;
    let last_changed = format!(
        "{}{}",
        &longest[..127],
        if longest.ends_with('0') { '1' } else { '0' }
    );
    for wrong in [&longest[..72], &longest[..127], last_changed.as_str()] {
        app.login(&email, wrong)
            .await
            .assert_problem(INVALID_CREDENTIALS);
    }
    app.login(&email, &longest)
        .await
        .assert_status(StatusCode::OK);
}
