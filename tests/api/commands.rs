//! The command line's `migrate` and `users create`, run as the built binary
//! against the test's database.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn migrate_prepares_a_new_database_and_again_has_nothing_to_do() {
    let database = TestDatabase::create();
    for run in 1..=2 {
        let migrated = database.command(&["migrate"], &[]).await;
        assert_eq!(migrated.code, Some(0), "run {run}: {migrated:?}");
        assert!(
            migrated.stdout.starts_with("database up to date: "),
            "run {run}: {migrated:?}"
        );
        assert_eq!(migrated.stderr, "", "run {run}");
    }
    // The service starts on it and works.
    let app = spawn_app_on(database, &[]).await;
    app.signed_up().await;
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn users_create_prints_the_user_and_mails_a_link_that_sets_the_password() {
    let app = spawn_admin_app(&[]).await;
    let email = unique_email();
    let args = [
        "users",
        "create",
        "--email",
        &email,
        "--name",
        "Ada Lovelace",
    ];
    let user = app.database.command(&args, &[]).await.json();

    let id = user["id"].as_str().expect("id").to_owned();
    uuid::Uuid::parse_str(&id).expect("a UUID");
    rfc3339(&user["created_at"]);
    let expected = json!({
        "id": id, "email": email, "email_verified": false, "name": "Ada Lovelace",
        "created_at": user["created_at"], "disabled": false, "mfa_enabled": false,
        "last_login_at": null, "active_sessions": 0,
    });
    assert_eq!(user, expected);
    // Exactly as the Admin API shows it; the command line is the actor.
    assert_eq!(app.admin_user(&id).await, expected);
    let events = app.admin_events("").await;
    assert_eq!(events[0]["type"], "user_created_by_admin");
    assert_eq!(events[0]["actor"], "cli");

    // No password works until the user chose one through the mailed link,
    // which the running instance sends.
    app.login(&email, PASSWORD)
        .await
        .assert_problem(INVALID_CREDENTIALS);
    let mail = app
        .smtp
        .wait_for_subject(&email, SET_PASSWORD_SUBJECT, MAIL_WAIT)
        .await;
    let token = RESET.token_in(&mail).expect("a reset link");
    let chosen = "my very own passphrase";
    let body = json!({"token": token, "password": chosen});
    app.post_json("/password/reset", &body)
        .await
        .assert_no_content();
    let session = Tokens::of(&app.login(&email, chosen).await);
    assert_eq!(session.user["id"], id);
    assert_eq!(app.admin_user(&id).await["email_verified"], true);
}

#[tokio::test]
async fn users_create_verified_marks_the_email_verified() {
    let app = spawn_admin_app(&[]).await;
    let email = unique_email();
    let args = ["users", "create", "--email", &email, "--verified"];
    let user = app.database.command(&args, &[]).await.json();
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["name"], Value::Null);
    let id = user["id"].as_str().expect("id");
    assert_eq!(app.admin_user(id).await["email_verified"], true);
}

#[tokio::test]
async fn users_create_with_a_taken_or_invalid_email_exits_1_and_says_why() {
    let app = spawn_app().await;
    let registered = app.verified_user().await;
    let taken = registered.to_uppercase();
    let refusals = [
        (
            taken.as_str(),
            "error: --email: an account with this email exists already\n",
        ),
        (
            "not-an-email",
            "error: --email: must be a valid email address\n",
        ),
    ];
    for (email, message) in refusals {
        let run = app
            .database
            .command(&["users", "create", "--email", email], &[])
            .await;
        assert_eq!(run.code, Some(1), "{run:?}");
        assert_eq!(run.stdout, "", "{email}");
        assert_eq!(run.stderr, message, "{email}");
    }
    assert_eq!(app.count("users").await, 1, "nothing was created");
    // The registered user is untouched.
    Tokens::of(&app.login(&registered, PASSWORD).await);
}
