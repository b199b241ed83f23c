//! What operators do to a user's access: disabling (every session revoked at
//! once, every login refused), enabling again, deleting (every token refused,
//! the email free, the events kept), and force logout.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// A verified user with two sessions: (email, id, sessions).
async fn user_with_two_sessions(app: &TestApp) -> (String, String, [Tokens; 2]) {
    let email = unique_email();
    let first = Tokens::of(&app.signed_up_user(&email).await);
    let second = Tokens::of(&app.login(&email, PASSWORD).await);
    let id = first.user["id"].as_str().expect("id").to_owned();
    (email, id, [first, second])
}

#[tokio::test]
async fn disabling_ends_every_session_and_refuses_the_right_password() {
    let app = spawn_admin_app(&[]).await;
    let (email, id, sessions) = user_with_two_sessions(&app).await;
    assert_eq!(app.admin_user(&id).await["active_sessions"], 2);

    let disabled = app.admin_patched(&id, &json!({"disabled": true})).await;
    assert_eq!(disabled["disabled"], true);
    assert_eq!(disabled["active_sessions"], 0);
    for session in &sessions {
        app.assert_session_ended(session).await;
    }
    // The right password learns the account is disabled; a wrong one learns
    // nothing more than usual.
    app.login(&email, PASSWORD)
        .await
        .assert_problem(ACCOUNT_DISABLED);
    app.login(&email, "not the password at all")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    // Disabling again changes nothing and records nothing.
    let again = app.admin_patched(&id, &json!({"disabled": true})).await;
    assert_eq!(again, disabled);

    let enabled = app.admin_patched(&id, &json!({"disabled": false})).await;
    assert_eq!(enabled["disabled"], false);
    let session = Tokens::of(&app.login(&email, PASSWORD).await);
    app.assert_session_active(&session).await;

    let events = app.admin_events(&format!("&user_id={id}")).await;
    let admin: Vec<_> = events.iter().filter(|e| !e["actor"].is_null()).collect();
    let kinds: Vec<_> = admin.iter().map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, [Some("user_enabled"), Some("user_disabled")]);
    assert!(admin.iter().all(|e| e["actor"] == "env:1"));
}

#[tokio::test]
async fn a_disabled_user_cannot_finish_an_mfa_step_begun_before() {
    let app = spawn_admin_app(&[]).await;
    app.mid_step();
    let email = unique_email();
    let session = Tokens::of(&app.signed_up_user(&email).await);
    let id = session.user["id"].as_str().expect("id").to_owned();
    let (authenticator, recovery_codes) = app.enable_totp(&session.access).await;
    let mfa_token = app.mfa_token(&email).await;

    app.admin_patched(&id, &json!({"disabled": true})).await;
    let code = authenticator.next_code(&app);
    let body = json!({"mfa_token": mfa_token, "code": code});
    app.login_mfa(&body).await.assert_problem(ACCOUNT_DISABLED);
    let body = json!({"mfa_token": mfa_token, "recovery_code": recovery_codes[0]});
    app.login_mfa(&body).await.assert_problem(ACCOUNT_DISABLED);
    // The password step itself is refused now, before any MFA step.
    app.login(&email, PASSWORD)
        .await
        .assert_problem(ACCOUNT_DISABLED);

    // Nothing was spent: enabled again, the same recovery code still works.
    app.admin_patched(&id, &json!({"disabled": false})).await;
    let token = app.mfa_token(&email).await;
    let body = json!({"mfa_token": token, "recovery_code": recovery_codes[0]});
    Tokens::of(&app.login_mfa(&body).await);
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_with_a_passkey() {
    let app = spawn_admin_app(&[]).await;
    let session = app.signed_up().await;
    let id = session.user["id"].as_str().expect("id").to_owned();
    let mut authenticator = Authenticator::new("http://auth.test");
    app.add_passkey(&session, &mut authenticator).await;

    app.admin_patched(&id, &json!({"disabled": true})).await;
    app.passkey_login(&mut authenticator)
        .await
        .assert_problem(ACCOUNT_DISABLED);
    app.admin_patched(&id, &json!({"disabled": false})).await;
    Tokens::of(&app.passkey_login(&mut authenticator).await);
}

#[tokio::test]
async fn a_deleted_user_loses_every_token_and_its_email_but_keeps_its_events() {
    let app = spawn_admin_app(&[]).await;
    let (email, id, sessions) = user_with_two_sessions(&app).await;
    let path = format!("/admin/users/{id}");
    app.admin(Method::DELETE, &path, None)
        .await
        .assert_no_content();
    for session in &sessions {
        app.assert_session_ended(session).await;
    }
    app.admin(Method::GET, &path, None)
        .await
        .assert_problem(NOT_FOUND);
    app.admin(Method::DELETE, &path, None)
        .await
        .assert_problem(NOT_FOUND);
    app.login(&email, PASSWORD)
        .await
        .assert_problem(INVALID_CREDENTIALS);

    // The trail keeps the old user's events, the deletion last.
    let events = app.admin_events(&format!("&user_id={id}")).await;
    assert_eq!(
        types(&events),
        [
            "user_deleted",
            "login_succeeded",
            "login_succeeded",
            "email_verified",
            "registered"
        ]
    );
    assert_eq!(events[0]["actor"], "env:1");
    assert!(events.iter().all(|e| e["user_id"] == id.as_str()));

    // The address registers again: a new account, a new id.
    let first_link = app.mailed_token(&email, VERIFY).await;
    app.register(&email, PASSWORD)
        .await
        .assert_status(reqwest::StatusCode::ACCEPTED);
    let (_, token) = app.another_mail(&email, VERIFY, &first_link).await;
    app.verify_email(&token)
        .await
        .assert_status(reqwest::StatusCode::OK);
    let session = Tokens::of(&app.login(&email, PASSWORD).await);
    assert_ne!(session.user["id"], id.as_str());
    app.assert_session_active(&session).await;
}

#[tokio::test]
async fn force_logout_ends_every_session_and_the_user_logs_in_again() {
    let app = spawn_admin_app(&[]).await;
    let (email, id, sessions) = user_with_two_sessions(&app).await;
    let other = app.signed_up().await;
    let path = format!("/admin/users/{id}/logout");
    app.admin(Method::POST, &path, None)
        .await
        .assert_no_content();
    for session in &sessions {
        app.assert_session_ended(session).await;
    }
    app.assert_session_active(&other).await;
    assert_eq!(app.admin_user(&id).await["active_sessions"], 0);
    let again = Tokens::of(&app.login(&email, PASSWORD).await);
    app.assert_session_active(&again).await;

    let unknown = format!("/admin/users/{}/logout", uuid::Uuid::new_v4());
    app.admin(Method::POST, &unknown, None)
        .await
        .assert_problem(NOT_FOUND);
    let events = app.admin_events("&kind=sessions_revoked_by_admin").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (&events[0]["user_id"], &events[0]["actor"]),
        (&json!(id), &json!("env:1"))
    );
    assert_eq!(app.count("users").await, 2, "nobody was deleted");
}
