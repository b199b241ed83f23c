//! /password/forgot and /verify-email/resend only queue the request: the work an
//! existing account causes (a token, an event, a mail) happens off the request
//! path, so the answer comes after the same work for any address.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_answer_does_not_wait_for_the_accounts_work() {
    // PostgreSQL only: SQLite has one write lock for everything, so it cannot hold
    // back the token table alone.
    if backend() != Backend::Postgres {
        return;
    }
    let app = spawn_app().await;
    let email = app.registered_user().await;
    let first_link = app.mailed_token(&email, VERIFY).await;

    // Hold every write to email_tokens back: the account's work cannot finish.
    let mut blocker = app.db.begin().await.unwrap();
    sqlx::query("lock table email_tokens in exclusive mode")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let bound = Duration::from_secs(5);
    let body = json!({"email": email});
    let forgot = app.post_json("/password/forgot", &body);
    let forgot = tokio::time::timeout(bound, forgot)
        .await
        .expect("answered while the account's work is blocked");
    forgot.assert_status(StatusCode::ACCEPTED);
    let resend = app.post_json("/verify-email/resend", &body);
    let resend = tokio::time::timeout(bound, resend)
        .await
        .expect("answered while the account's work is blocked");
    resend.assert_status(StatusCode::ACCEPTED);
    blocker.rollback().await.unwrap();

    // Released, the queued work is done: both links arrive.
    app.mail(&email, RESET).await;
    app.another_mail(&email, VERIFY, &first_link).await;
}

#[tokio::test]
async fn a_request_for_an_unknown_address_leaves_nothing_behind() {
    let app = spawn_app().await;
    let unknown = unique_email();
    app.forgot_password(&unknown).await;
    app.post_json("/verify-email/resend", &json!({"email": unknown}))
        .await
        .assert_status(StatusCode::ACCEPTED);
    app.assert_no_mail_to(&unknown).await;
    // Carried out (the marker's request after them too) and gone: requests do not
    // pile up, and the addresses people typed are not kept.
    assert_eq!(app.count("link_requests").await, 0);
}
