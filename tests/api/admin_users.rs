//! The Admin API's users: search with keyset paging, creating users with or
//! without a password, reading and changing them.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// GET /admin/users with this query string.
async fn list(app: &TestApp, query: &str) -> Reply {
    app.admin(Method::GET, &format!("/admin/users{query}"), None)
        .await
}

fn ids(page: &Value) -> Vec<String> {
    let users = page["users"].as_array().expect("users");
    users
        .iter()
        .map(|u| u["id"].as_str().expect("id").to_owned())
        .collect()
}

/// What a fresh user made by an operator looks like, but for id and time.
#[track_caller]
fn assert_fresh_user(user: &Value, email: &str, name: Value, verified: bool) {
    let fields = field_names(user);
    let expected = [
        "id",
        "email",
        "email_verified",
        "name",
        "created_at",
        "disabled",
        "mfa_enabled",
        "last_login_at",
        "active_sessions",
    ];
    assert_eq!(fields, expected.into_iter().collect(), "{user}");
    assert!(
        user["id"].as_str().is_some_and(|id| id.len() == 36),
        "{user}"
    );
    rfc3339(&user["created_at"]);
    let mut rest = user.clone();
    for field in ["id", "created_at"] {
        rest.as_object_mut().expect("object").remove(field);
    }
    assert_eq!(
        rest,
        json!({"email": email, "email_verified": verified, "name": name, "disabled": false,
               "mfa_enabled": false, "last_login_at": null, "active_sessions": 0})
    );
}

#[tokio::test]
async fn users_are_found_by_email_prefix_a_page_at_a_time() {
    let app = spawn_admin_app(&[]).await;
    let tag = format!("pg{}", uuid::Uuid::new_v4().simple());
    let mut wanted = Vec::new();
    for i in 0..5 {
        let email = format!("{tag}-{i}@Example.com");
        let user = app
            .admin_created(&json!({"email": email, "password": PASSWORD}))
            .await;
        wanted.push(user["id"].as_str().expect("id").to_owned());
    }
    // Others that do not start with the prefix.
    app.admin_created(&new_user_body()).await;
    app.verified_user_with(&format!("x-{tag}@example.com"))
        .await;
    wanted.sort();

    // Upper case finds the same users; pages follow in id order.
    let prefix = tag.to_uppercase();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut after = String::new();
    loop {
        let reply = list(&app, &format!("?query={prefix}&limit=2{after}")).await;
        reply.assert_status(StatusCode::OK);
        let page = ids(&reply.body);
        sizes.push(page.len());
        seen.extend(page);
        match reply.body["next_after"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, wanted);

    // A page that holds the rest exactly says there is no next one.
    let whole = list(&app, &format!("?query={tag}-&limit=5")).await;
    assert_eq!(ids(&whole.body), wanted);
    assert!(whole.body["next_after"].is_null(), "{}", whole.text);

    // No query: every user (the default page size is 20).
    let everyone = list(&app, "").await;
    assert_eq!(ids(&everyone.body).len(), 7, "{}", everyone.text);
    // `%` and `_` are matched literally.
    for pattern in ["%25", "_", "pg%25"] {
        let none = list(&app, &format!("?query={pattern}")).await;
        assert_eq!(none.body, json!({"users": [], "next_after": null}));
    }
}

#[tokio::test]
async fn a_limit_outside_1_to_100_or_a_bad_cursor_is_422() {
    let app = spawn_admin_app(&[]).await;
    let limit = ("limit", "must be a whole number between 1 and 100");
    for query in ["?limit=0", "?limit=101", "?limit=ten", "?limit=-1"] {
        list(&app, query).await.assert_invalid(&[limit]);
    }
    list(&app, "?after=nope")
        .await
        .assert_invalid(&[("after", "must be a user id")]);
    list(&app, "?limit=100").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_user_created_with_a_password_logs_in_with_it() {
    let app = spawn_admin_app(&[]).await;
    let email = unique_email();
    let body = json!({"email": format!("  {email} "), "password": PASSWORD, "name": "Ada",
                      "email_verified": true});
    let user = app.admin_created(&body).await;
    assert_fresh_user(&user, &email, json!("Ada"), true);
    let id = user["id"].as_str().expect("id");
    assert_eq!(app.admin_user(id).await, user);

    let session = Tokens::of(&app.login(&email, PASSWORD).await);
    assert_eq!(session.user["id"], id);
    let now = app.admin_user(id).await;
    assert_eq!(now["active_sessions"], 1, "{now}");
    rfc3339(&now["last_login_at"]);

    // Without email_verified, the address must be confirmed first (as after
    // registration).
    let unverified = unique_email();
    let user = app
        .admin_created(&json!({"email": unverified, "password": PASSWORD}))
        .await;
    assert_fresh_user(&user, &unverified, Value::Null, false);
    app.login(&unverified, PASSWORD)
        .await
        .assert_problem(EMAIL_NOT_VERIFIED);
}

#[tokio::test]
async fn a_user_created_without_a_password_sets_it_through_the_mailed_link() {
    let app = spawn_admin_app(&[]).await;
    let email = unique_email();
    let user = app.admin_created(&json!({"email": email})).await;
    assert_fresh_user(&user, &email, Value::Null, false);
    // No password works before the user chose one.
    app.login(&email, PASSWORD)
        .await
        .assert_problem(INVALID_CREDENTIALS);

    let mail = app
        .smtp
        .wait_for_subject(&email, SET_PASSWORD_SUBJECT, MAIL_WAIT)
        .await;
    let token = RESET.token_in(&mail).expect("a reset link");
    assert!(mail.text.contains("valid for 24 hours"), "{}", mail.text);
    let chosen = "my very own passphrase";
    let body = json!({"token": token, "password": chosen});
    app.post_json("/password/reset", &body)
        .await
        .assert_no_content();
    // The link proved the mailbox: the email is verified, the login works.
    Tokens::of(&app.login(&email, chosen).await);
    let id = user["id"].as_str().expect("id");
    assert_eq!(app.admin_user(id).await["email_verified"], true);
}

#[tokio::test]
async fn a_taken_email_is_409_and_invalid_input_422_creating_nothing() {
    let app = spawn_admin_app(&[]).await;
    let registered = app.verified_user().await;
    let created = app.admin_created(&new_user_body()).await;
    let created = created["email"].as_str().expect("email").to_uppercase();
    for taken in [registered.to_uppercase(), created] {
        let body = json!({"email": taken, "password": PASSWORD});
        let reply = app.admin(Method::POST, "/admin/users", Some(&body)).await;
        reply.assert_problem(EMAIL_TAKEN);
    }
    let invalid = [
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            ("email", "must be a valid email address"),
        ),
        (
            json!({"email": unique_email(), "password": "short"}),
            ("password", "must be between 8 and 128 characters"),
        ),
        (
            json!({"email": unique_email(), "password": "password1234"}),
            ("password", "is too common or too easy to guess"),
        ),
        (
            json!({"email": unique_email(), "name": "x".repeat(101)}),
            ("name", "must be at most 100 characters"),
        ),
    ];
    for (body, error) in invalid {
        let reply = app.admin(Method::POST, "/admin/users", Some(&body)).await;
        reply.assert_invalid(&[error]);
    }
    assert_eq!(app.count("users").await, 2);
    app.assert_no_mail_to("not-an-email").await;
}

#[tokio::test]
async fn users_are_read_and_changed_field_by_field() {
    let app = spawn_admin_app(&[]).await;
    let user = app.admin_created(&new_user_body()).await;
    let id = user["id"].as_str().expect("id");
    let unknown = uuid::Uuid::new_v4().to_string();
    for path in [
        format!("/admin/users/{unknown}"),
        "/admin/users/nope".into(),
    ] {
        let reply = app.admin(Method::GET, &path, None).await;
        reply.assert_problem(NOT_FOUND);
        let reply = app
            .admin(Method::PATCH, &path, Some(&json!({"name": "X"})))
            .await;
        reply.assert_problem(NOT_FOUND);
    }

    let named = app.admin_patched(id, &json!({"name": " Grace "})).await;
    assert_eq!(named["name"], "Grace");
    let unchanged = app.admin_patched(id, &json!({})).await;
    assert_eq!(unchanged, named);
    let unnamed = app.admin_patched(id, &json!({"name": null})).await;
    assert_eq!(unnamed["name"], Value::Null);

    // A new address is unverified unless the same request says otherwise.
    let moved = unique_email();
    let changed = app.admin_patched(id, &json!({"email": moved})).await;
    assert_eq!(
        (&changed["email"], &changed["email_verified"]),
        (&json!(moved), &json!(false))
    );
    let verified = app
        .admin_patched(id, &json!({"email_verified": true}))
        .await;
    assert_eq!(verified["email_verified"], true);
    Tokens::of(&app.login(&moved, PASSWORD).await);

    let other = app.verified_user().await;
    let path = format!("/admin/users/{id}");
    let taken = json!({"email": other.to_uppercase()});
    app.admin(Method::PATCH, &path, Some(&taken))
        .await
        .assert_problem(EMAIL_TAKEN);
    let bad = json!({"email": "", "name": "y".repeat(101)});
    app.admin(Method::PATCH, &path, Some(&bad))
        .await
        .assert_invalid(&[
            ("email", "must be a valid email address"),
            ("name", "must be at most 100 characters"),
        ]);
    assert_eq!(app.admin_user(id).await["email"], json!(moved));

    // Each change that changed something is one user_updated event.
    let events = app.admin_events(&format!("&user_id={id}")).await;
    let updated: BTreeSet<_> = events
        .iter()
        .filter(|e| e["type"] == "user_updated")
        .map(|e| e["actor"].as_str().expect("actor"))
        .collect();
    assert_eq!(
        types(&events)
            .iter()
            .filter(|t| **t == "user_updated")
            .count(),
        4
    );
    assert_eq!(updated, BTreeSet::from(["env:1"]));
}
