//! POST /introspect: another service, holding a service key, asks whether an
//! access token is valid and its session still live (RFC 7662 shape).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

const KEY_ONE: &str = "service-key-one-0123456789";
const KEY_TWO: &str = "service-key-two-0123456789";

async fn app_with_keys() -> TestApp {
    let keys = format!("{KEY_ONE},{KEY_TWO}");
    spawn_app_with(&["--introspection-keys", &keys]).await
}

/// POST /introspect with a JSON body, sending `key` (if any) as the Bearer token.
async fn introspect(app: &TestApp, key: Option<&str>, token: &str) -> Reply {
    let request = app.request(Method::POST, "/introspect").bearer(key);
    request.json(&json!({"token": token})).send().await
}

/// POST /introspect with a form body, as RFC 7662 clients send it.
async fn introspect_form(app: &TestApp, key: &str, form: &str) -> Reply {
    let request = app.request(Method::POST, "/introspect").bearer(key);
    let form_type = "application/x-www-form-urlencoded";
    request.body(form_type, form).send().await
}

/// `{"active": true, …}` with the claims of `access`.
#[track_caller]
fn assert_active(reply: &Reply, login: &Tokens) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let claims = jwt_claims(&login.access);
    let body = &reply.body;
    assert_eq!(body["active"], true, "{}", reply.text);
    for claim in ["sub", "sid", "exp", "iat", "iss", "aud", "jti", "email"] {
        assert_eq!(body[claim], claims[claim], "{claim} in {}", reply.text);
    }
    assert_eq!(body["iss"], "http://auth.test");
    assert_eq!(body["aud"], "test-audience");
    assert_eq!(body["token_type"], "access_token", "{}", reply.text);
}

/// Exactly `{"active": false}`: an inactive token reveals nothing about itself.
#[track_caller]
fn assert_inactive(reply: &Reply, why: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{why}: {}", reply.text);
    assert_eq!(
        reply.body,
        json!({"active": false}),
        "{why}: {}",
        reply.text
    );
}

#[track_caller]
fn assert_invalid_client(reply: &Reply, why: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{why}: {}",
        reply.text
    );
    reply.assert_problem(INVALID_CLIENT);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="introspection""#),
        "{why}"
    );
}

#[tokio::test]
async fn a_live_access_token_is_active_with_its_claims() {
    let app = app_with_keys().await;
    let login = app.signed_up().await;
    assert_active(
        &introspect(&app, Some(KEY_ONE), &login.access).await,
        &login,
    );
}

#[tokio::test]
async fn every_configured_service_key_is_accepted() {
    let app = app_with_keys().await;
    let login = app.signed_up().await;
    for key in [KEY_ONE, KEY_TWO] {
        assert_active(&introspect(&app, Some(key), &login.access).await, &login);
    }
}

#[tokio::test]
async fn a_form_encoded_request_is_answered_like_a_json_one() {
    let app = app_with_keys().await;
    let login = app.signed_up().await;
    let reply = introspect_form(&app, KEY_TWO, &format!("token={}", login.access)).await;
    assert_active(&reply, &login);

    let inactive = introspect_form(&app, KEY_TWO, "token=not-a-jwt").await;
    assert_inactive(&inactive, "garbage in a form");
}

#[tokio::test]
async fn a_garbage_or_tampered_token_is_inactive() {
    let app = app_with_keys().await;
    let victim = app.signed_up().await;
    let attacker = app.signed_up().await;

    let mut claims = jwt_claims(&attacker.access);
    claims["sub"] = jwt_claims(&victim.access)["sub"].clone();
    claims["sid"] = jwt_claims(&victim.access)["sid"].clone();
    let as_victim = jwt_with_claims(&attacker.access, &claims);
    let mut bad_signature = attacker.access.clone();
    let last = bad_signature.pop().expect("non-empty");
    bad_signature.push(if last == 'A' { 'B' } else { 'A' });

    for (token, why) in [
        ("not-a-jwt", "garbage"),
        ("a.b.c", "three garbage parts"),
        (as_victim.as_str(), "payload swapped to the victim"),
        (bad_signature.as_str(), "signature altered"),
    ] {
        assert_inactive(&introspect(&app, Some(KEY_ONE), token).await, why);
    }
    assert_active(
        &introspect(&app, Some(KEY_ONE), &attacker.access).await,
        &attacker,
    );
}

#[tokio::test]
async fn a_token_of_a_logged_out_session_is_inactive() {
    let app = app_with_keys().await;
    let login = app.signed_up().await;
    app.post_json("/logout", &json!({"refresh_token": login.refresh}))
        .await
        .assert_no_content();

    let reply = introspect(&app, Some(KEY_ONE), &login.access).await;
    assert_inactive(&reply, "session logged out");
}

#[tokio::test]
async fn tokens_of_a_session_revoked_for_refresh_token_reuse_are_inactive() {
    let app = app_with_keys().await;
    let login = app.signed_up().await;
    let rotated = app.refreshed(&login.refresh).await;
    assert_active(
        &introspect(&app, Some(KEY_ONE), &rotated.access).await,
        &rotated,
    );

    app.advance(REFRESH_GRACE + Duration::from_secs(1));
    app.refresh(&login.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);

    for (token, why) in [(&login.access, "first"), (&rotated.access, "rotated")] {
        let reply = introspect(&app, Some(KEY_ONE), token).await;
        assert_inactive(&reply, &format!("{why} access token of a revoked session"));
    }
}

#[tokio::test]
async fn an_expired_token_of_a_live_session_is_inactive() {
    let app = app_with_keys().await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    // Log in an hour ago: the 15-minute token expired in real time (which the JWT
    // check uses), while the session itself is still live.
    app.clock.advance(chrono::Duration::seconds(-3600));
    let old = Tokens::of(&app.login(&email, PASSWORD).await);
    assert!(
        jwt_claims(&old.access)["exp"].as_i64().expect("exp") < unix_now(),
        "the token is expired"
    );
    let reply = introspect(&app, Some(KEY_ONE), &old.access).await;
    assert_inactive(&reply, "expired");

    // The session is live: back in the present, a refresh gives an active token.
    app.advance(Duration::from_secs(3600));
    let fresh = app.refreshed(&old.refresh).await;
    assert_active(
        &introspect(&app, Some(KEY_ONE), &fresh.access).await,
        &fresh,
    );
}

#[tokio::test]
async fn a_caller_without_a_valid_service_key_is_refused_as_invalid_client() {
    let app = app_with_keys().await;
    let login = app.signed_up().await;
    let prefix = &KEY_ONE[..KEY_ONE.len() - 1];
    let longer = format!("{KEY_ONE}0");

    assert_invalid_client(&introspect(&app, None, &login.access).await, "no key");
    for (key, why) in [
        ("service-key-three-0123456789", "unknown key"),
        (prefix, "a prefix of a real key"),
        (longer.as_str(), "a real key with more after it"),
        (login.access.as_str(), "the user's own access token"),
    ] {
        let reply = introspect(&app, Some(key), &login.access).await;
        assert_invalid_client(&reply, why);
    }
    let basic = format!("Basic {}", STANDARD.encode(format!("{KEY_ONE}:")));
    let request = app.request(Method::POST, "/introspect");
    let request = request.header("authorization", &basic);
    let reply = request.json(&json!({"token": login.access})).send().await;
    assert_invalid_client(&reply, "the key sent as Basic");
}

#[tokio::test]
async fn with_no_service_keys_configured_every_call_is_invalid_client() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    assert_invalid_client(&introspect(&app, None, &login.access).await, "no key");
    for key in [KEY_ONE, KEY_TWO, &login.access, ""] {
        let reply = introspect(&app, Some(key), &login.access).await;
        assert_invalid_client(&reply, &format!("key {key:?}"));
    }
}

#[tokio::test]
async fn an_empty_or_missing_token_is_a_validation_error() {
    let app = app_with_keys().await;
    let empty = introspect(&app, Some(KEY_ONE), "").await;
    empty.assert_invalid(&[("token", "is required")]);
    let request = app.request(Method::POST, "/introspect").bearer(KEY_ONE);
    let missing = request.json(&json!({})).send().await;
    missing.assert_invalid(&[("token", "is required")]);
    let form = introspect_form(&app, KEY_ONE, "token=").await;
    form.assert_invalid(&[("token", "is required")]);
}

#[tokio::test]
async fn a_caller_without_a_key_is_refused_before_its_body_is_read() {
    let app = app_with_keys().await;
    let empty = introspect(&app, None, "").await;
    assert_invalid_client(&empty, "no key, empty token");
    let wrong = introspect(&app, Some("wrong-key-0123456789"), "").await;
    assert_invalid_client(&wrong, "wrong key, empty token");
    let text = app.post_raw("/introspect", "text/plain", "token=x").await;
    assert_invalid_client(&text, "no key, body not JSON");
}

#[tokio::test]
async fn a_token_of_a_session_ended_with_delete_sessions_is_inactive() {
    let app = app_with_keys().await;
    let email = unique_email();
    let phone = Tokens::of(&app.signed_up_user(&email).await);
    let laptop = Tokens::of(&app.login(&email, PASSWORD).await);
    let path = format!("/sessions/{}", laptop.sid);
    app.request(Method::DELETE, &path)
        .bearer(&*phone.access)
        .send()
        .await
        .assert_no_content();

    assert_inactive(
        &introspect(&app, Some(KEY_ONE), &laptop.access).await,
        "session deleted",
    );
    assert_active(
        &introspect(&app, Some(KEY_ONE), &phone.access).await,
        &phone,
    );
}
