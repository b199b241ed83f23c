use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn login_returns_a_token_pair_that_is_never_cached() {
    let app = spawn_app().await;
    let email = unique_email();
    let login = app.signed_up_user(&email).await;
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let body = &login.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["email"], email.as_str());
    assert_eq!(body["user"]["email_verified"], true);
    assert!(body["user"]["name"].is_null());
    let refresh = body["refresh_token"].as_str().expect("refresh token");
    assert!(refresh.len() >= 43, "at least 256 bits: {refresh}");
    let claims = jwt_claims(body["access_token"].as_str().expect("access token"));
    assert_eq!(claims["sub"], body["user"]["id"]);
    assert_eq!(claims["email"], email.as_str());
}

#[tokio::test]
async fn email_is_matched_case_insensitively_and_trimmed() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    let reply = app
        .login(&format!(" {} ", email.to_uppercase()), PASSWORD)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["user"]["email"], email.as_str());
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    let wrong_password = app.login(&email, "not the password").await;
    let unknown_email = app.login(&unique_email(), PASSWORD).await;
    wrong_password.assert_problem(INVALID_CREDENTIALS);
    unknown_email.assert_problem(INVALID_CREDENTIALS);
}

#[tokio::test]
async fn each_login_is_a_new_session_recorded_with_ip_and_user_agent() {
    let app = spawn_app().await;
    let email = unique_email();
    let first = Tokens::of(&app.signed_up_user(&email).await);
    let second = app
        .login_with_agent(&email, PASSWORD, "test-agent/1.0")
        .await;
    assert_ne!(first.sid, Tokens::of(&second).sid);

    // The newest session is the second login's.
    let (ip, agent): (Option<String>, Option<String>) =
        sqlx::query_as("select ip, user_agent from sessions order by created_at desc limit 1")
            .fetch_one(&app.db)
            .await
            .expect("session row");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(agent.as_deref(), Some("test-agent/1.0"));
}

#[tokio::test]
async fn bad_login_requests_are_refused_before_any_lookup() {
    let app = spawn_app().await;
    let missing = app
        .post_json("/login", &json!({"email": unique_email()}))
        .await;
    missing.assert_invalid(&[("password", "is required")]);

    let json_as_text = r#"{"email":"a@b.c","password":"x"}"#;
    app.post_raw("/login", "text/plain", json_as_text)
        .await
        .assert_problem(UNSUPPORTED_MEDIA_TYPE);
    app.post_raw(
        "/login",
        "application/json",
        r#"{"email": "a@b.c", "password": "#,
    )
    .await
    .assert_problem(malformed_json(
        "The request body is not valid JSON: EOF while parsing a value at line 1 column 31",
    ));
}

#[tokio::test]
async fn a_login_with_weaker_stored_parameters_rehashes_the_password() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    // A second instance configured with a higher cost, as after an upgrade.
    let stronger = spawn_sibling(&app, &["--argon2-iterations", "3"]).await;
    assert_eq!(
        stronger.login(&email, PASSWORD).await.status,
        StatusCode::OK
    );
    let hash: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&app.db)
        .await
        .expect("user");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=3,p=1$"),
        "{hash}"
    );
    // And the new hash still verifies.
    assert_eq!(app.login(&email, PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_in_the_url_are_not_credentials() {
    // Session tokens travel in the Authorization header and JSON bodies only, so
    // they never land in URLs, logs of proxies, or browser history.
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let me = app
        .get(&format!("/me?access_token={}", session.access))
        .await;
    me.assert_problem(INVALID_ACCESS_TOKEN);
    let refresh = format!("/refresh?refresh_token={}", session.refresh);
    app.post_json(&refresh, &json!({}))
        .await
        .assert_invalid(&[("refresh_token", "is required")]);
    app.assert_session_active(&session).await;
}

#[tokio::test]
async fn no_answer_sets_a_cookie() {
    // Tokens are handed to the client in JSON bodies; the service keeps no cookie
    // session of its own (ASVS 3.4 is the client's, if it stores tokens in one).
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let token = app.mailed_token(&email, VERIFY).await;
    let page = app.get(&format!("/verify-email?token={token}")).await;
    let verified = app.verify_email(&token).await;
    let login = app.login(&email, PASSWORD).await;
    let refreshed = app.refresh(&Tokens::of(&login).refresh).await;
    page.assert_page(StatusCode::OK);
    for reply in [&verified, &login, &refreshed] {
        reply.assert_status(StatusCode::OK);
    }
    for reply in [&page, &verified, &login, &refreshed] {
        assert_eq!(reply.header("set-cookie"), None, "{}", reply.text);
    }
}
