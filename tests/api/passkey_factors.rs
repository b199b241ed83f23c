//! What a passkey login says about itself (`amr`, `aal`, the audit `method`), and
//! a passkey as the second factor of a password login.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const ORIGIN: &str = "http://auth.test";

/// The `method` of the newest `login_succeeded` event of the session's user.
async fn last_login_method(app: &TestApp, session: &Tokens) -> Value {
    let page = app.get_bearer("/me/events", &session.access).await;
    page.assert_status(StatusCode::OK);
    let events = page.body["events"].as_array().expect("events").clone();
    let login = events
        .into_iter()
        .find(|e| e["type"] == "login_succeeded")
        .expect("a login_succeeded event");
    login["method"].clone()
}

/// A fresh user with a passkey on `authenticator` (and their first session).
async fn user_with_passkey(app: &TestApp, authenticator: &mut Authenticator) -> Tokens {
    let session = app.signed_up().await;
    app.add_passkey(&session, authenticator).await;
    session
}

#[tokio::test]
async fn a_passkey_login_says_hwk_and_user_at_aal2_through_refresh() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    user_with_passkey(&app, &mut authenticator).await;

    let session = Tokens::of(&app.passkey_login(&mut authenticator).await);
    let claims = jwt_claims(&session.access);
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(claims["aal"], "aal2");
    assert_eq!(last_login_method(&app, &session).await, "passkey");

    let refreshed = app.refreshed(&session.refresh).await;
    let claims = jwt_claims(&refreshed.access);
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(claims["aal"], "aal2");
}

#[tokio::test]
async fn a_passkey_answers_the_mfa_step_of_a_password_login() {
    let app = spawn_app().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    let first = user_with_passkey(&app, &mut authenticator).await;
    app.enable_totp(&first.access).await;

    let login = app.login(first.email(), PASSWORD).await;
    login.assert_status(StatusCode::OK);
    assert_eq!(
        login.body["methods"],
        json!(["totp", "recovery_code", "passkey"])
    );
    let mfa_token = login.body["mfa_token"].as_str().unwrap();
    let (challenge, options) = app.passkey_login_start().await;
    let assertion = authenticator.get(&options);
    let body = json!({
        "mfa_token": mfa_token,
        "passkey": {"challenge_id": challenge, "credential": assertion},
    });
    let session = Tokens::of(&app.login_mfa(&body).await);
    let claims = jwt_claims(&session.access);
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "user"]));
    assert_eq!(claims["aal"], "aal2");
    assert_eq!(last_login_method(&app, &session).await, "password+passkey");
    // The step is spent by its success.
    app.login_mfa(&body).await.assert_problem(INVALID_MFA_TOKEN);
}

#[tokio::test]
async fn someone_elses_passkey_is_a_wrong_second_factor() {
    let app = spawn_app().await;
    let mut mine = Authenticator::new(ORIGIN);
    let me = user_with_passkey(&app, &mut mine).await;
    let (totp, _) = app.enable_totp(&me.access).await;
    let mut theirs = Authenticator::new(ORIGIN);
    user_with_passkey(&app, &mut theirs).await;

    let mfa_token = app.mfa_token(me.email()).await;
    let (challenge, options) = app.passkey_login_start().await;
    let assertion = theirs.get(&options);
    let body = json!({
        "mfa_token": mfa_token,
        "passkey": {"challenge_id": challenge, "credential": assertion},
    });
    app.login_mfa(&body).await.assert_problem(INVALID_CODE_401);
    // A wrong factor, not a dead step: the right code still finishes it.
    app.mid_step();
    let body = json!({"mfa_token": mfa_token, "code": totp.next_code(&app)});
    Tokens::of(&app.login_mfa(&body).await);
}

#[tokio::test]
async fn the_mfa_step_offers_passkey_only_to_users_who_have_one() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    app.enable_totp(&session.access).await;
    let login = app.login(session.email(), PASSWORD).await;
    assert_eq!(login.body["methods"], json!(["totp", "recovery_code"]));
    let body = json!({"mfa_token": login.body["mfa_token"], "code": "1", "recovery_code": "x"});
    app.login_mfa(&body).await.assert_invalid(&[(
        "code",
        "send exactly one of code, recovery_code and passkey",
    )]);
}

#[tokio::test]
async fn a_passkey_name_with_a_nul_character_is_refused() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    let (challenge, options) = app.passkey_start(&session).await;
    let credential = authenticator.create(&options);
    let body = json!({"challenge_id": challenge, "name": "A\u{0}B", "credential": credential});
    app.post_json_bearer("/passkeys/register/finish", &session.access, &body)
        .await
        .assert_invalid(&[("name", "must not contain NUL characters")]);
    assert_eq!(app.count("passkeys").await, 0);
}
