//! The second factor: TOTP enrolment, the MFA login step, recovery codes,
//! turning it off, the claims that say how a session logged in, and the trail.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const SERVICE_KEY: &str = "service-key-for-mfa-tests-0123";

/// The caller's events, newest first.
async fn events(app: &TestApp, access: &str) -> Vec<Value> {
    let reply = app.get_bearer("/me/events?limit=100", access).await;
    reply.assert_status(StatusCode::OK);
    reply.body["events"].as_array().expect("events").clone()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn amr_aal(tokens: &Tokens) -> (Value, Value) {
    let claims = jwt_claims(&tokens.access);
    (claims["amr"].clone(), claims["aal"].clone())
}

#[tokio::test]
async fn the_totp_life_cycle() {
    let app = spawn_app_with(&["--introspection-keys", SERVICE_KEY]).await;
    let first = app.signed_up().await;
    let email = first.email().to_owned();
    assert_eq!(app.me(&first.access).await.body["mfa_enabled"], false);

    let (authenticator, started) = app.start_totp(&first.access).await;
    assert_eq!(field_names(&started), ["otpauth_uri", "secret"].into());
    assert!(authenticator.0.len() >= 32, "160 bits: {}", authenticator.0);
    let uri = started["otpauth_uri"].as_str().expect("uri");
    let expected = format!(
        "otpauth://totp/Auth%20Service:{}?secret={}&issuer=Auth%20Service&algorithm=SHA1&digits=6&period=30",
        email.replace('@', "%40"),
        authenticator.0
    );
    assert_eq!(uri, expected);
    // Unconfirmed, it is inert: the password alone still logs in.
    Tokens::of(&app.login(&email, PASSWORD).await);

    app.confirm_totp(&first.access, "000000")
        .await
        .assert_problem(INVALID_CODE_400);
    let confirmed = app
        .confirm_totp(&first.access, &authenticator.next_code(&app))
        .await;
    confirmed.assert_status(StatusCode::OK);
    let codes = confirmed.body["recovery_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    assert_eq!(app.me(&first.access).await.body["mfa_enabled"], true);

    // The password now opens the MFA step, without tokens.
    let step = app.login(&email, PASSWORD).await;
    step.assert_status(StatusCode::OK);
    let expected_fields = ["expires_in", "methods", "mfa_required", "mfa_token"].into();
    assert_eq!(field_names(&step.body), expected_fields);
    assert_eq!(step.body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(step.body["expires_in"], 300);
    let token = step.body["mfa_token"].as_str().expect("token");
    let code = authenticator.next_code(&app);
    let second = Tokens::of(
        &app.login_mfa(&json!({"mfa_token": token, "code": code}))
            .await,
    );
    assert_eq!(amr_aal(&second), (json!(["pwd", "otp"]), json!("aal2")));
    // The mfa_token is spent by its success.
    let again = json!({"mfa_token": token, "code": authenticator.next_code(&app)});
    app.login_mfa(&again)
        .await
        .assert_problem(INVALID_MFA_TOKEN);

    // Refresh keeps the session's strength; the older session stays aal1.
    let refreshed = app.refreshed(&second.refresh).await;
    assert_eq!(amr_aal(&refreshed), (json!(["pwd", "otp"]), json!("aal2")));
    let old = app.refreshed(&first.refresh).await;
    assert_eq!(amr_aal(&old), (json!(["pwd"]), json!("aal1")));

    let request = app.request(Method::POST, "/introspect").bearer(SERVICE_KEY);
    let seen = request
        .json(&json!({"token": refreshed.access}))
        .send()
        .await;
    assert_eq!(seen.body["mfa_enabled"], true, "{}", seen.text);
    assert_eq!(seen.body["amr"], json!(["pwd", "otp"]));
    assert_eq!(seen.body["aal"], "aal2");

    let trail = events(&app, &refreshed.access).await;
    assert_eq!(of_type(&trail, "mfa_enabled").len(), 1);
    let logins = of_type(&trail, "login_succeeded");
    assert_eq!(logins[0]["method"], "password+totp");
    assert_eq!(logins[0]["session_id"], second.sid.as_str());
    assert_eq!(logins.last().expect("first login")["method"], "password");
    assert!(of_type(&trail, "mfa_enabled")[0]["method"].is_null());
}

#[tokio::test]
async fn the_secret_is_sealed_at_rest() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let (authenticator, _) = app.start_totp(&me.access).await;
    let (sealed,): (Vec<u8>,) = sqlx::query_as("select sealed_secret from totp_credentials")
        .fetch_one(&app.db)
        .await
        .expect("row");
    let secret = totp_rs::Secret::try_from_base32(&authenticator.0)
        .expect("base32")
        .as_bytes()
        .to_vec();
    assert!(sealed.len() > secret.len());
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()));
}

#[tokio::test]
async fn starting_again_replaces_an_unconfirmed_secret_and_a_confirmed_one_stays() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let (first, _) = app.start_totp(&me.access).await;
    let (second, _) = app.start_totp(&me.access).await;
    assert_ne!(first.0, second.0);
    app.mid_step();
    app.confirm_totp(&me.access, &first.code_at(&app, 0))
        .await
        .assert_problem(INVALID_CODE_400);
    app.confirm_totp(&me.access, &second.code_at(&app, 0))
        .await
        .assert_status(StatusCode::OK);
    let again = app
        .post_json_bearer("/mfa/totp", &me.access, &json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body["code"], "mfa_already_enabled");
}

#[tokio::test]
async fn a_code_is_accepted_once() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let (authenticator, _) = app.enable_totp(&me.access).await;
    let code = authenticator.next_code(&app);
    let token = app.mfa_token(me.email()).await;
    Tokens::of(
        &app.login_mfa(&json!({"mfa_token": token, "code": code}))
            .await,
    );
    // The same code again, inside its window, on a new login: refused.
    let token = app.mfa_token(me.email()).await;
    app.login_mfa(&json!({"mfa_token": token, "code": code}))
        .await
        .assert_problem(INVALID_CODE_401);
}

#[tokio::test]
async fn one_step_of_skew_is_accepted_and_two_are_not() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let (authenticator, _) = app.enable_totp(&me.access).await;
    for offset in [-2, 2] {
        app.advance(Duration::from_secs(90));
        app.mid_step();
        let token = app.mfa_token(me.email()).await;
        let code = authenticator.code_at(&app, offset);
        let reply = app
            .login_mfa(&json!({"mfa_token": token, "code": code}))
            .await;
        reply.assert_problem(INVALID_CODE_401);
    }
    for offset in [-1, 1] {
        // Past the last accepted step, so only the skew is tested.
        app.advance(Duration::from_secs(90));
        app.mid_step();
        let token = app.mfa_token(me.email()).await;
        let code = authenticator.code_at(&app, offset);
        let reply = app
            .login_mfa(&json!({"mfa_token": token, "code": code}))
            .await;
        reply.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn an_mfa_token_dies_after_five_wrong_codes_and_after_five_minutes() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let (authenticator, _) = app.enable_totp(&me.access).await;
    let token = app.mfa_token(me.email()).await;
    app.mid_step();
    let right = authenticator.code_at(&app, 0);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    for _ in 0..5 {
        app.login_mfa(&json!({"mfa_token": token, "code": wrong}))
            .await
            .assert_problem(INVALID_CODE_401);
    }
    app.login_mfa(&json!({"mfa_token": token, "code": right}))
        .await
        .assert_problem(INVALID_MFA_TOKEN);
    assert_eq!(
        of_type(&events(&app, &me.access).await, "mfa_challenge_failed").len(),
        5
    );

    let token = app.mfa_token(me.email()).await;
    app.advance(Duration::from_secs(301));
    let late = json!({"mfa_token": token, "code": authenticator.code_at(&app, 0)});
    app.login_mfa(&late).await.assert_problem(INVALID_MFA_TOKEN);
    let unknown = json!({"mfa_token": random_token(), "code": "123456"});
    app.login_mfa(&unknown)
        .await
        .assert_problem(INVALID_MFA_TOKEN);
}

#[tokio::test]
async fn a_wrong_password_gets_the_same_answer_with_mfa_on() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    app.enable_totp(&me.access).await;
    app.login(me.email(), "not the password")
        .await
        .assert_problem(INVALID_CREDENTIALS);
}

#[tokio::test]
async fn recovery_codes_work_once_each_and_a_new_set_replaces_the_old() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let (authenticator, codes) = app.enable_totp(&me.access).await;
    for code in &codes {
        assert_eq!(code.len(), 11, "{code}");
        assert!(!code.contains(['0', 'O', '1', 'l', 'I']), "{code}");
    }
    let token = app.mfa_token(me.email()).await;
    let used = app
        .login_mfa(&json!({"mfa_token": token, "recovery_code": codes[0]}))
        .await;
    let session = Tokens::of(&used);
    assert_eq!(amr_aal(&session), (json!(["pwd", "otp"]), json!("aal2")));
    let token = app.mfa_token(me.email()).await;
    app.login_mfa(&json!({"mfa_token": token, "recovery_code": codes[0]}))
        .await
        .assert_problem(INVALID_CODE_401);

    app.post_json_bearer(
        "/mfa/recovery-codes",
        &me.access,
        &json!({"code": "000000"}),
    )
    .await
    .assert_problem(INVALID_CODE_400);
    let fresh = app
        .post_json_bearer(
            "/mfa/recovery-codes",
            &me.access,
            &json!({"code": authenticator.next_code(&app)}),
        )
        .await;
    fresh.assert_status(StatusCode::OK);
    let fresh = fresh.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .clone();
    assert_eq!(fresh.len(), 10);
    let token = app.mfa_token(me.email()).await;
    app.login_mfa(&json!({"mfa_token": token, "recovery_code": codes[1]}))
        .await
        .assert_problem(INVALID_CODE_401);
    let token = app.mfa_token(me.email()).await;
    let with_new = app
        .login_mfa(&json!({"mfa_token": token, "recovery_code": fresh[0]}))
        .await;
    with_new.assert_status(StatusCode::OK);

    let trail = events(&app, &me.access).await;
    assert_eq!(of_type(&trail, "recovery_code_used").len(), 2);
    assert_eq!(
        of_type(&trail, "login_succeeded")[0]["method"],
        "password+recovery_code"
    );
}

#[tokio::test]
async fn turning_mfa_off_revokes_other_sessions_and_logins_ask_no_code() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let (authenticator, _) = app.enable_totp(&me.access).await;
    let other = app.login_with_totp(me.email(), &authenticator).await;

    app.disable_totp(&me.access, &json!({"password": "not the password"}))
        .await
        .assert_problem(WRONG_PASSWORD_OR_CODE);
    app.disable_totp(&me.access, &json!({"code": "000000"}))
        .await
        .assert_problem(WRONG_PASSWORD_OR_CODE);
    app.disable_totp(&me.access, &json!({}))
        .await
        .assert_invalid(&[("password", "send exactly one of password and code")]);
    app.assert_session_active(&other).await;

    let code = authenticator.next_code(&app);
    app.disable_totp(&me.access, &json!({"code": code}))
        .await
        .assert_no_content();
    app.assert_session_ended(&other).await;
    app.assert_session_active(&me).await;
    assert_eq!(app.me(&me.access).await.body["mfa_enabled"], false);
    let plain = Tokens::of(&app.login(me.email(), PASSWORD).await);
    assert_eq!(amr_aal(&plain), (json!(["pwd"]), json!("aal1")));
    assert_eq!(app.count("recovery_codes").await, 0);
    assert_eq!(
        of_type(&events(&app, &me.access).await, "mfa_disabled").len(),
        1
    );

    // With the password, too.
    app.enable_totp(&me.access).await;
    app.disable_totp(&me.access, &json!({"password": PASSWORD}))
        .await
        .assert_no_content();
    assert_eq!(app.me(&me.access).await.body["mfa_enabled"], false);
}

#[tokio::test]
async fn the_mfa_step_is_rate_limited_per_account() {
    let app = spawn_app_with(&[
        "--rate-limit",
        "on",
        "--rate-limit-login-mfa-account",
        "2/hour",
    ])
    .await;
    let me = app.signed_up().await;
    let (authenticator, _) = app.enable_totp(&me.access).await;
    let token = app.mfa_token(me.email()).await;
    let wrong = json!({"mfa_token": token, "code": "000000"});
    // Enrolment spent one; one wrong code spends the other.
    app.login_mfa(&wrong).await.assert_problem(INVALID_CODE_401);
    let right = json!({"mfa_token": token, "code": authenticator.next_code(&app)});
    let refused = app.login_mfa(&right).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"login-mfa-account\";q=2;w=3600")
    );
}
