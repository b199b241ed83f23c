//! Password recovery and change: POST /password/forgot, /password/reset (JSON and
//! the form behind the emailed link), /password/change; resending the verification
//! link; and the "account exists" mail that registering a taken address sends.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::smtp::ReceivedMail;

const RESET_SUBJECT: &str = "Reset your Auth Service password";
const RESET_LINK: &str = "http://auth.test/password/reset?token=";
const VERIFY_SUBJECT: &str = "Confirm your email address for Auth Service";
const VERIFY_LINK: &str = "http://auth.test/verify-email?token=";
const EXISTS_SUBJECT: &str = "You already have a Auth Service account";
const NEW_PASSWORD: &str = "a whole new passphrase";
const OTHER_PASSWORD: &str = "yet another passphrase";

#[track_caller]
fn assert_status(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.text);
}

#[track_caller]
fn assert_html(page: &Reply) {
    let content_type = page.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}

/// Access and refresh token of one login (one device).
fn tokens(login: &Reply) -> (String, String) {
    assert_status(login, StatusCode::OK);
    let field = |name: &str| login.body[name].as_str().expect("token").to_owned();
    (field("access_token"), field("refresh_token"))
}

async fn forgot(app: &TestApp, email: &str) -> Reply {
    let reply = app
        .post_json("/password/forgot", &json!({"email": email}))
        .await;
    assert_status(&reply, StatusCode::ACCEPTED);
    reply
}

async fn resend(app: &TestApp, email: &str) {
    let reply = app
        .post_json("/verify-email/resend", &json!({"email": email}))
        .await;
    assert_status(&reply, StatusCode::ACCEPTED);
}

async fn verify(app: &TestApp, token: &str) -> Reply {
    app.post_json("/verify-email", &json!({"token": token}))
        .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Reply {
    let body = json!({"token": token, "password": password});
    app.post_json("/password/reset", &body).await
}

async fn reset_succeeds(app: &TestApp, token: &str, password: &str) {
    assert_status(&reset(app, token, password).await, StatusCode::NO_CONTENT);
}

async fn change(app: &TestApp, access: &str, current: &str, new: &str) -> Reply {
    let body = json!({"current_password": current, "new_password": new});
    app.post_json_bearer("/password/change", access, &body)
        .await
}

/// A verified user's email.
async fn user(app: &TestApp) -> String {
    let email = unique_email();
    app.signed_up_user(&email).await;
    email
}

/// A registered, not yet verified user's email.
async fn unverified_user(app: &TestApp) -> String {
    let email = unique_email();
    assert_status(&app.register(&email, PASSWORD).await, StatusCode::ACCEPTED);
    email
}

/// Asks for a reset link for `email` and returns the token of the first one mailed.
async fn reset_token(app: &TestApp, email: &str) -> String {
    forgot(app, email).await;
    app.mailed_token(email, RESET_SUBJECT, RESET_LINK).await
}

fn token_in(mail: &ReceivedMail, link: &str) -> Option<String> {
    let url = mail.find_link(link)?;
    url.split("token=").nth(1).map(str::to_owned)
}

/// Waits for a mail to `email` with a `link` whose token is not `seen`.
async fn another_mail(app: &TestApp, email: &str, link: &str, seen: &str) -> ReceivedMail {
    let is_new = |m: &ReceivedMail| m.is_to(email) && token_in(m, link).is_some_and(|t| t != seen);
    let what = format!("to {email} with a second {link} link");
    app.smtp.wait_for_message(&what, is_new, MAIL_WAIT).await
}

async fn another_token(app: &TestApp, email: &str, link: &str, seen: &str) -> String {
    let mail = another_mail(app, email, link, seen).await;
    token_in(&mail, link).expect("token")
}

/// Asserts the subjects of all mail for `email` (any case), sorted. Exactly: what
/// the service queued in its outbox (written in the request's transaction). As the
/// user sees it: what reached the SMTP server by the time a mail queued after it
/// all, to a fresh address, arrived.
async fn assert_mail_for(app: &TestApp, email: &str, expected: &[&str]) {
    let sql = "select subject from outbox where lower(recipient) = lower($1)";
    let mut queued: Vec<String> = sqlx::query_scalar(sql)
        .bind(email)
        .fetch_all(&app.db)
        .await
        .expect("outbox");
    queued.sort();
    assert_eq!(queued, expected, "queued for {email}");

    let marker = unique_email();
    assert_status(&app.register(&marker, PASSWORD).await, StatusCode::ACCEPTED);
    app.smtp.wait_for_to(&marker, MAIL_WAIT).await;
    let messages = app.smtp.messages();
    let to_email = messages.iter().filter(|m| m.is_to(email));
    let mut delivered: Vec<String> = to_email.filter_map(|m| m.header("Subject")).collect();
    delivered.sort();
    assert_eq!(delivered, expected, "delivered to {email}");
}

/// `good` logs in and `bad` gets 401 invalid_credentials.
async fn assert_password(app: &TestApp, email: &str, good: &str, bad: &str) {
    assert_status(&app.login(email, good).await, StatusCode::OK);
    app.login(email, bad)
        .await
        .assert_problem(401, "invalid_credentials");
}

/// Both tokens of the session are refused.
async fn assert_revoked(app: &TestApp, (access, refresh): &(String, String)) {
    app.me(access).await.assert_problem(401, "invalid_token");
    app.refresh(refresh)
        .await
        .assert_problem(401, "invalid_refresh_token");
}

/// Both tokens of the session still work.
async fn assert_alive(app: &TestApp, (access, refresh): &(String, String)) {
    assert_status(&app.me(access).await, StatusCode::OK);
    assert_status(&app.refresh(refresh).await, StatusCode::OK);
}

// --- POST /password/forgot ---------------------------------------------------------

#[tokio::test]
async fn forgot_mails_a_reset_link_in_text_and_html() {
    let app = spawn_app().await;
    let email = user(&app).await;
    let token = reset_token(&app, &email).await;

    let mail = app
        .smtp
        .wait_for_subject(&email, RESET_SUBJECT, MAIL_WAIT)
        .await;
    let text = mail.decoded_text();
    let (plain, html) = text
        .split_once("Content-Type: text/html")
        .expect("an HTML part");
    assert!(plain.contains("Content-Type: text/plain"), "{text}");
    assert!(plain.contains(&format!("{RESET_LINK}{token}")), "{text}");
    assert!(html.contains(&format!("token={token}\"")), "{text}");
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
}

#[tokio::test]
async fn forgot_answers_an_unknown_email_the_same_and_mails_nothing() {
    let app = spawn_app().await;
    let (known, unknown) = (user(&app).await, unique_email());
    let for_known = forgot(&app, &known).await;
    let for_unknown = forgot(&app, &unknown).await;
    assert_eq!(for_unknown.text, for_known.text);
    assert_mail_for(&app, &unknown, &[]).await;
}

#[tokio::test]
async fn reset_links_point_at_the_configured_password_reset_url() {
    let app = spawn_app_with(&["--password-reset-url", "https://app.example/reset"]).await;
    let email = user(&app).await;
    forgot(&app, &email).await;
    let link = "https://app.example/reset?token=";
    let token = app.mailed_token(&email, RESET_SUBJECT, link).await;
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
}

// --- POST /password/reset ----------------------------------------------------------

#[tokio::test]
async fn reset_replaces_the_password_once_and_revokes_every_session_of_the_user() {
    let app = spawn_app().await;
    let email = unique_email();
    let laptop = tokens(&app.signed_up_user(&email).await);
    let phone = tokens(&app.login(&email, PASSWORD).await);
    let someone_else = tokens(&app.signed_up_user(&unique_email()).await);

    let token = reset_token(&app, &email).await;
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;
    assert_revoked(&app, &laptop).await;
    assert_revoked(&app, &phone).await;
    assert_alive(&app, &someone_else).await;

    let again = reset(&app, &token, OTHER_PASSWORD).await;
    again.assert_problem(400, "invalid_token");
    assert_password(&app, &email, NEW_PASSWORD, OTHER_PASSWORD).await;
}

#[tokio::test]
async fn a_reset_link_is_valid_for_one_hour() {
    let app = spawn_app().await;
    let (early, late) = (user(&app).await, user(&app).await);
    let early_token = reset_token(&app, &early).await;
    let late_token = reset_token(&app, &late).await;

    app.advance(Duration::from_secs(3600 - 5));
    reset_succeeds(&app, &early_token, NEW_PASSWORD).await;
    app.advance(Duration::from_secs(10));
    let expired = reset(&app, &late_token, NEW_PASSWORD).await;
    expired.assert_problem(400, "invalid_token");
    assert_password(&app, &late, PASSWORD, NEW_PASSWORD).await;
}

#[tokio::test]
async fn using_one_reset_link_voids_the_other_links_of_that_user_only() {
    let app = spawn_app().await;
    let (email, other) = (user(&app).await, user(&app).await);
    let first = reset_token(&app, &email).await;
    forgot(&app, &email).await;
    let second = another_token(&app, &email, RESET_LINK, &first).await;
    let others = reset_token(&app, &other).await;

    reset_succeeds(&app, &second, NEW_PASSWORD).await;
    let voided = reset(&app, &first, OTHER_PASSWORD).await;
    voided.assert_problem(400, "invalid_token");
    assert_password(&app, &email, NEW_PASSWORD, OTHER_PASSWORD).await;
    reset_succeeds(&app, &others, NEW_PASSWORD).await;
}

#[tokio::test]
async fn unknown_and_malformed_reset_tokens_are_invalid_token() {
    let app = spawn_app().await;
    for token in ["A".repeat(43), "<script>".to_owned(), "x".to_owned()] {
        let reply = reset(&app, &token, NEW_PASSWORD).await;
        reply.assert_problem(400, "invalid_token");
    }
}

#[tokio::test]
async fn a_verification_token_does_not_reset_the_password() {
    let app = spawn_app().await;
    let email = unverified_user(&app).await;
    let token = app.verification_token(&email).await;

    let reply = reset(&app, &token, NEW_PASSWORD).await;
    reply.assert_problem(400, "invalid_token");
    // Still the old password: only the right one gets as far as "not verified".
    let login = app.login(&email, PASSWORD).await;
    login.assert_problem(403, "email_not_verified");
    let login = app.login(&email, NEW_PASSWORD).await;
    login.assert_problem(401, "invalid_credentials");
    // The attempt did not spend the verification token.
    assert_status(&verify(&app, &token).await, StatusCode::OK);
}

#[tokio::test]
async fn a_reset_token_does_not_verify_the_email() {
    let app = spawn_app().await;
    let email = unverified_user(&app).await;
    let token = reset_token(&app, &email).await;

    verify(&app, &token)
        .await
        .assert_problem(400, "invalid_token");
    let login = app.login(&email, PASSWORD).await;
    login.assert_problem(403, "email_not_verified");
    // The attempt did not spend the reset token either.
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
    let login = app.login(&email, NEW_PASSWORD).await;
    login.assert_problem(403, "email_not_verified");
}

#[tokio::test]
async fn a_new_password_outside_8_to_128_characters_is_422_and_keeps_the_link() {
    let app = spawn_app().await;
    let email = user(&app).await;
    let token = reset_token(&app, &email).await;
    for bad in ["x".repeat(7), "x".repeat(129)] {
        let reply = reset(&app, &token, &bad).await;
        reply.assert_problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), ["password"]);
    }
    assert_status(&app.login(&email, PASSWORD).await, StatusCode::OK);
    let longest = "x".repeat(128);
    reset_succeeds(&app, &token, &longest).await;
    assert_password(&app, &email, &longest, PASSWORD).await;
}

// --- GET /password/reset and its form ----------------------------------------------

#[tokio::test]
async fn opening_the_reset_link_shows_a_form_and_does_not_spend_the_token() {
    let app = spawn_app().await;
    let email = user(&app).await;
    let token = reset_token(&app, &email).await;
    for _ in 0..2 {
        // What a mail scanner does: follow the link.
        let page = app.get(&format!("/password/reset?token={token}")).await;
        assert_status(&page, StatusCode::OK);
        let html = &page.text;
        assert_html(&page);
        assert!(
            html.contains("<form method=\"post\" action=\"reset\">"),
            "{html}"
        );
        assert!(html.contains(&format!("type=\"hidden\" name=\"token\" value=\"{token}\"")));
        assert!(
            html.contains("type=\"password\" name=\"password\""),
            "{html}"
        );
    }
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_reset_link_without_a_valid_token_shows_an_error_page() {
    let app = spawn_app().await;
    for path in ["/password/reset", "/password/reset?token=%3Cscript%3E"] {
        let page = app.get(path).await;
        assert_status(&page, StatusCode::BAD_REQUEST);
        assert_html(&page);
        assert!(!page.text.contains("<form") && !page.text.contains("<script>"));
    }
}

#[tokio::test]
async fn the_reset_form_sets_the_password_and_answers_with_a_page() {
    let app = spawn_app().await;
    let email = user(&app).await;
    let token = reset_token(&app, &email).await;
    let body = format!("token={token}&password=a+whole+new+passphrase");
    let form = "application/x-www-form-urlencoded";

    let done = app.post_raw("/password/reset", form, body.clone()).await;
    assert_status(&done, StatusCode::OK);
    assert!(done.text.contains("Password changed"), "{}", done.text);
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;

    let again = app.post_raw("/password/reset", form, body).await;
    assert_status(&again, StatusCode::BAD_REQUEST);
    assert!(again.text.contains("invalid, expired or already used"));
}

// --- POST /password/change ---------------------------------------------------------

#[tokio::test]
async fn change_keeps_the_current_session_and_revokes_the_others() {
    let app = spawn_app().await;
    let email = unique_email();
    let here = tokens(&app.signed_up_user(&email).await);
    let elsewhere = tokens(&app.login(&email, PASSWORD).await);

    let reply = change(&app, &here.0, PASSWORD, NEW_PASSWORD).await;
    assert_status(&reply, StatusCode::NO_CONTENT);
    assert_alive(&app, &here).await;
    assert_revoked(&app, &elsewhere).await;
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;
}

#[tokio::test]
async fn change_refuses_a_wrong_current_password_or_a_bad_new_one_and_changes_nothing() {
    let app = spawn_app().await;
    let email = unique_email();
    let here = tokens(&app.signed_up_user(&email).await);
    let elsewhere = tokens(&app.login(&email, PASSWORD).await);

    let wrong = change(&app, &here.0, "not my password", NEW_PASSWORD).await;
    wrong.assert_problem(403, "invalid_credentials");
    for bad in ["x".repeat(7), "x".repeat(129)] {
        let reply = change(&app, &here.0, PASSWORD, &bad).await;
        reply.assert_problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), ["new_password"]);
    }
    assert_password(&app, &email, PASSWORD, NEW_PASSWORD).await;
    assert_alive(&app, &elsewhere).await;
}

#[tokio::test]
async fn change_needs_the_access_token_of_a_live_session() {
    let app = spawn_app().await;
    let email = unique_email();
    let (access, _) = tokens(&app.signed_up_user(&email).await);
    let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let anonymous = app.post_json("/password/change", &body).await;
    assert_status(&anonymous, StatusCode::UNAUTHORIZED);
    let garbage = change(&app, "not-a-jwt", PASSWORD, NEW_PASSWORD).await;
    assert_status(&garbage, StatusCode::UNAUTHORIZED);

    let logout = app.post_json_bearer("/logout", &access, &json!({})).await;
    assert_status(&logout, StatusCode::NO_CONTENT);
    let logged_out = change(&app, &access, PASSWORD, NEW_PASSWORD).await;
    assert_status(&logged_out, StatusCode::UNAUTHORIZED);
    assert_password(&app, &email, PASSWORD, NEW_PASSWORD).await;
}

// --- POST /verify-email/resend -----------------------------------------------------

#[tokio::test]
async fn resend_mails_a_new_link_and_the_old_one_keeps_working() {
    let app = spawn_app().await;
    for use_new_link in [true, false] {
        let email = unverified_user(&app).await;
        let first = app.verification_token(&email).await;
        resend(&app, &email).await;
        let second = another_token(&app, &email, VERIFY_LINK, &first).await;

        let token = if use_new_link { second } else { first };
        assert_status(&verify(&app, &token).await, StatusCode::OK);
        assert_status(&app.login(&email, PASSWORD).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn resend_mails_nothing_to_a_verified_or_unknown_address() {
    let app = spawn_app().await;
    let (verified, unknown) = (user(&app).await, unique_email());
    resend(&app, &verified).await;
    resend(&app, &unknown).await;
    // Only the sign-up mail, and nothing at all.
    assert_mail_for(&app, &verified, &[VERIFY_SUBJECT]).await;
    assert_mail_for(&app, &unknown, &[]).await;
}

#[tokio::test]
async fn resend_with_a_malformed_email_is_422() {
    let app = spawn_app().await;
    let body = json!({"email": "not-an-email"});
    let reply = app.post_json("/verify-email/resend", &body).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["email"]);
}

// --- POST /register with a taken address -------------------------------------------

#[tokio::test]
async fn registering_a_taken_email_mails_a_reset_link_that_works() {
    let app = spawn_app().await;
    let email = user(&app).await;
    let fresh = app.register(&unique_email(), PASSWORD).await;

    let again = app.register(&email.to_uppercase(), OTHER_PASSWORD).await;
    assert_status(&again, StatusCode::ACCEPTED);
    assert_eq!(again.body, fresh.body);
    assert_eq!(app.count("users").await, 2);

    let token = app.mailed_token(&email, EXISTS_SUBJECT, RESET_LINK).await;
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;
    let intruder = app.login(&email, OTHER_PASSWORD).await;
    intruder.assert_problem(401, "invalid_credentials");
}

// --- Where account mail goes (to the account's own address) ------------------------

#[tokio::test]
async fn account_mail_goes_to_the_stored_address_whatever_case_was_typed() {
    let app = spawn_app().await;
    let (email, unverified) = (user(&app).await, unverified_user(&app).await);
    let first_link = app.verification_token(&unverified).await;

    forgot(&app, &email.to_uppercase()).await;
    app.register(&email.to_uppercase(), OTHER_PASSWORD).await;
    resend(&app, &unverified.to_uppercase()).await;

    let smtp = &app.smtp;
    let reset = smtp.wait_for_subject(&email, RESET_SUBJECT, MAIL_WAIT);
    let exists = smtp.wait_for_subject(&email, EXISTS_SUBJECT, MAIL_WAIT);
    let resent = another_mail(&app, &unverified, VERIFY_LINK, &first_link);
    let mails = [
        (&email, reset.await),
        (&email, exists.await),
        (&unverified, resent.await),
    ];
    for (address, mail) in mails {
        assert_eq!(mail.rcpt_to, [address.as_str()], "{}", mail.decoded_text());
    }
}
