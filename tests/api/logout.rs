//! POST /logout: by Bearer token or by refresh token, and its scopes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

/// Two sessions (two devices) of one user, and one session of another user.
struct Sessions {
    a: Tokens,
    b: Tokens,
    other_user: Tokens,
}

async fn sessions(app: &TestApp) -> Sessions {
    let a = app.signed_up().await;
    let b = Tokens::of(&app.login(a.email(), PASSWORD).await);
    let other_user = app.signed_up().await;
    Sessions { a, b, other_user }
}

/// POST /logout with only the Bearer header: no body, no content type.
async fn logout_bearer(app: &TestApp, access: &str) -> Reply {
    app.request(Method::POST, "/logout")
        .bearer(access)
        .send()
        .await
}

#[tokio::test]
async fn bearer_logout_without_a_body_ends_only_that_session() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    logout_bearer(&app, &s.a.access).await.assert_no_content();
    app.assert_session_ended(&s.a).await;
    app.assert_session_active(&s.b).await;
    app.assert_session_active(&s.other_user).await;
}

#[tokio::test]
async fn logout_with_a_refresh_token_in_the_body_ends_that_session() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json("/logout", &json!({"refresh_token": s.a.refresh}))
        .await;
    reply.assert_no_content();
    app.assert_session_ended(&s.a).await;
    app.assert_session_active(&s.b).await;
}

#[tokio::test]
async fn logout_without_any_credentials_is_unauthorized() {
    let app = spawn_app().await;
    app.request(Method::POST, "/logout")
        .send()
        .await
        .assert_problem(NO_CREDENTIALS);
    for body in [json!({}), json!({"scope": "global"})] {
        app.post_json("/logout", &body)
            .await
            .assert_problem(NO_CREDENTIALS);
    }
}

#[tokio::test]
async fn logout_with_an_invalid_bearer_token_is_unauthorized_with_a_challenge() {
    let app = spawn_app().await;
    let reply = logout_bearer(&app, "not-a-jwt").await;
    reply.assert_problem(INVALID_ACCESS_TOKEN);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn logout_with_an_unknown_refresh_token_is_unauthorized() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    for token in [random_token().as_str(), "abc"] {
        let reply = app
            .post_json("/logout", &json!({"refresh_token": token}))
            .await;
        reply.assert_problem(INVALID_REFRESH_TOKEN);
    }
    app.assert_session_active(&s.a).await;
}

#[tokio::test]
async fn logout_scope_local_ends_only_the_presented_session() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json_bearer("/logout", &s.a.access, &json!({"scope": "local"}))
        .await;
    reply.assert_no_content();
    app.assert_session_ended(&s.a).await;
    app.assert_session_active(&s.b).await;
    app.assert_session_active(&s.other_user).await;
}

#[tokio::test]
async fn logout_scope_others_ends_every_other_session_of_the_user() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json_bearer("/logout", &s.a.access, &json!({"scope": "others"}))
        .await;
    reply.assert_no_content();
    app.assert_session_active(&s.a).await;
    app.assert_session_ended(&s.b).await;
    app.assert_session_active(&s.other_user).await;
    // The session that stayed can still refresh.
    assert_eq!(app.refresh(&s.a.refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_scope_global_ends_every_session_of_the_user() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json_bearer("/logout", &s.a.access, &json!({"scope": "global"}))
        .await;
    reply.assert_no_content();
    app.assert_session_ended(&s.a).await;
    app.assert_session_ended(&s.b).await;
    app.assert_session_active(&s.other_user).await;
}

#[tokio::test]
async fn logout_scope_applies_to_a_session_named_by_its_refresh_token() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let body = json!({"refresh_token": s.b.refresh, "scope": "global"});
    app.post_json("/logout", &body).await.assert_no_content();
    app.assert_session_ended(&s.a).await;
    app.assert_session_ended(&s.b).await;
    app.assert_session_active(&s.other_user).await;
}

#[tokio::test]
async fn an_unknown_logout_scope_is_a_validation_error_naming_the_field() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json_bearer("/logout", &s.a.access, &json!({"scope": "everywhere"}))
        .await;
    reply.assert_invalid(&[(
        "scope",
        "unknown variant `everywhere`, expected one of `local`, `others`, `global`",
    )]);
    // Nothing was logged out.
    app.assert_session_active(&s.a).await;
    app.assert_session_active(&s.b).await;
}

#[tokio::test]
async fn logging_out_twice_with_the_same_access_token_is_refused_the_second_time() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    logout_bearer(&app, &s.a.access).await.assert_no_content();
    let again = logout_bearer(&app, &s.a.access).await;
    again.assert_problem(INVALID_ACCESS_TOKEN);
    assert_eq!(
        again.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn logging_out_twice_with_the_same_refresh_token_is_refused_the_second_time() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let body = json!({"refresh_token": s.a.refresh});
    app.post_json("/logout", &body).await.assert_no_content();
    app.post_json("/logout", &body)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
}
