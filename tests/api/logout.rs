//! POST /logout: by Bearer token or by refresh token, and its scopes.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// One logged-in session: its tokens.
struct Session {
    access: String,
    refresh: String,
}

impl Session {
    fn of(login: &Reply) -> Session {
        assert_eq!(login.status, StatusCode::OK, "login: {}", login.text);
        let field = |name: &str| {
            login.body[name]
                .as_str()
                .expect("token in login")
                .to_owned()
        };
        Session {
            access: field("access_token"),
            refresh: field("refresh_token"),
        }
    }
}

/// Two sessions (two devices) of one user, and one session of another user.
struct Sessions {
    a: Session,
    b: Session,
    other_user: Session,
}

async fn sessions(app: &TestApp) -> Sessions {
    let email = unique_email();
    let a = Session::of(&app.signed_up_user(&email).await);
    let b = Session::of(&app.login(&email, PASSWORD).await);
    let other_user = Session::of(&app.signed_up_user(&unique_email()).await);
    Sessions { a, b, other_user }
}

/// POST /logout with only the Bearer header: no body, no content type.
async fn logout_bearer(app: &TestApp, access: &str) -> Reply {
    let res = app
        .client
        .post(app.url("/logout"))
        .bearer_auth(access)
        .send()
        .await
        .expect("request sent");
    Reply::from(res).await
}

#[track_caller]
fn assert_no_content(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty(), "204 with a body: {}", reply.text);
}

async fn assert_ended(app: &TestApp, session: &Session) {
    app.me(&session.access)
        .await
        .assert_problem(401, "invalid_token");
    app.refresh(&session.refresh)
        .await
        .assert_problem(401, "invalid_refresh_token");
}

/// The access token still works. (Checks only /me: refreshing would rotate the token.)
async fn assert_active(app: &TestApp, session: &Session) {
    let me = app.me(&session.access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
}

#[tokio::test]
async fn bearer_logout_without_a_body_ends_only_that_session() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    assert_no_content(&logout_bearer(&app, &s.a.access).await);
    assert_ended(&app, &s.a).await;
    assert_active(&app, &s.b).await;
    assert_active(&app, &s.other_user).await;
}

#[tokio::test]
async fn logout_with_a_refresh_token_in_the_body_ends_that_session() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json("/logout", &json!({"refresh_token": s.a.refresh}))
        .await;
    assert_no_content(&reply);
    assert_ended(&app, &s.a).await;
    assert_active(&app, &s.b).await;
}

#[tokio::test]
async fn logout_without_any_credentials_is_unauthorized() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/logout"))
        .send()
        .await
        .expect("request sent");
    Reply::from(res).await.assert_problem(401, "unauthorized");
    app.post_json("/logout", &json!({}))
        .await
        .assert_problem(401, "unauthorized");
    app.post_json("/logout", &json!({"scope": "global"}))
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn logout_with_an_invalid_bearer_token_is_unauthorized_with_a_challenge() {
    let app = spawn_app().await;
    let reply = logout_bearer(&app, "not-a-jwt").await;
    reply.assert_problem(401, "invalid_token");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn logout_with_an_unknown_refresh_token_is_unauthorized() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let unknown = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    for token in [&unknown[..43], "abc"] {
        let reply = app
            .post_json("/logout", &json!({"refresh_token": token}))
            .await;
        reply.assert_problem(401, "invalid_refresh_token");
    }
    assert_active(&app, &s.a).await;
}

#[tokio::test]
async fn logout_scope_local_ends_only_the_presented_session() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json_bearer("/logout", &s.a.access, &json!({"scope": "local"}))
        .await;
    assert_no_content(&reply);
    assert_ended(&app, &s.a).await;
    assert_active(&app, &s.b).await;
    assert_active(&app, &s.other_user).await;
}

#[tokio::test]
async fn logout_scope_others_ends_every_other_session_of_the_user() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json_bearer("/logout", &s.a.access, &json!({"scope": "others"}))
        .await;
    assert_no_content(&reply);
    assert_active(&app, &s.a).await;
    assert_ended(&app, &s.b).await;
    assert_active(&app, &s.other_user).await;
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
    assert_no_content(&reply);
    assert_ended(&app, &s.a).await;
    assert_ended(&app, &s.b).await;
    assert_active(&app, &s.other_user).await;
}

#[tokio::test]
async fn logout_scope_applies_to_a_session_named_by_its_refresh_token() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let body = json!({"refresh_token": s.b.refresh, "scope": "global"});
    assert_no_content(&app.post_json("/logout", &body).await);
    assert_ended(&app, &s.a).await;
    assert_ended(&app, &s.b).await;
    assert_active(&app, &s.other_user).await;
}

#[tokio::test]
async fn an_unknown_logout_scope_is_a_validation_error_naming_the_field() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    let reply = app
        .post_json_bearer("/logout", &s.a.access, &json!({"scope": "everywhere"}))
        .await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["scope"]);
    // Nothing was logged out.
    assert_active(&app, &s.a).await;
    assert_active(&app, &s.b).await;
}

#[tokio::test]
async fn logging_out_twice_with_the_same_access_token_is_refused_the_second_time() {
    let app = spawn_app().await;
    let s = sessions(&app).await;
    assert_no_content(&logout_bearer(&app, &s.a.access).await);
    let again = logout_bearer(&app, &s.a.access).await;
    again.assert_problem(401, "invalid_token");
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
    assert_no_content(&app.post_json("/logout", &body).await);
    app.post_json("/logout", &body)
        .await
        .assert_problem(401, "invalid_refresh_token");
}
