//! Password recovery and change: POST /password/forgot, /password/reset (JSON and
//! the form behind the emailed link), /password/change; resending the verification
//! link; and the "account exists" mail that registering a taken address sends.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const NEW_PASSWORD: &str = "a whole new passphrase";
const OTHER_PASSWORD: &str = "yet another passphrase";

async fn resend(app: &TestApp, email: &str) {
    app.post_json("/verify-email/resend", &json!({"email": email}))
        .await
        .assert_status(StatusCode::ACCEPTED);
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Reply {
    let body = json!({"token": token, "password": password});
    app.post_json("/password/reset", &body).await
}

async fn reset_succeeds(app: &TestApp, token: &str, password: &str) {
    reset(app, token, password).await.assert_no_content();
}

async fn change(app: &TestApp, access: &str, current: &str, new: &str) -> Reply {
    let body = json!({"current_password": current, "new_password": new});
    app.post_json_bearer("/password/change", access, &body)
        .await
}

/// Asks for a reset link for `email` and returns the token of the first one mailed.
async fn reset_token(app: &TestApp, email: &str) -> String {
    app.forgot_password(email).await;
    app.mailed_token(email, RESET).await
}

/// Exactly these subjects (sorted) of mail for `email`: queued in the outbox (in
/// the requests' transactions) and, as the user sees it, delivered.
async fn assert_mail_for(app: &TestApp, email: &str, expected: &[&str]) {
    assert_eq!(app.queued_for(email).await, expected, "queued for {email}");
    app.assert_mail_to(email, expected).await;
}

/// `good` logs in and `bad` gets 401 invalid_credentials.
async fn assert_password(app: &TestApp, email: &str, good: &str, bad: &str) {
    app.login(email, good).await.assert_status(StatusCode::OK);
    app.login(email, bad)
        .await
        .assert_problem(INVALID_CREDENTIALS);
}

/// Both tokens of the session still work.
async fn assert_alive(app: &TestApp, session: &Tokens) {
    app.assert_session_active(session).await;
    app.refreshed(&session.refresh).await;
}

// --- POST /password/forgot ---------------------------------------------------------

#[tokio::test]
async fn forgot_mails_a_reset_link_in_text_and_html() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    let token = reset_token(&app, &email).await;

    let mail = app.mail(&email, RESET).await;
    let link = format!("{}{token}", RESET.link);
    assert!(mail.text.contains(&link), "{}", mail.text);
    assert!(
        mail.html.contains(&format!("token={token}\"")),
        "{}",
        mail.html
    );
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
}

#[tokio::test]
async fn forgot_answers_an_unknown_email_the_same_and_mails_nothing() {
    let app = spawn_app().await;
    let (known, unknown) = (app.verified_user().await, unique_email());
    let for_known = app.forgot_password(&known).await;
    let for_unknown = app.forgot_password(&unknown).await;
    assert_eq!(for_unknown.text, for_known.text);
    assert_mail_for(&app, &unknown, &[]).await;
}

#[tokio::test]
async fn reset_links_point_at_the_configured_password_reset_url() {
    let app = spawn_app_with(&["--password-reset-url", "https://app.example/reset"]).await;
    let email = app.verified_user().await;
    app.forgot_password(&email).await;
    let configured = MailKind {
        link: "https://app.example/reset?token=",
        ..RESET
    };
    let token = app.mailed_token(&email, configured).await;
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
}

// --- POST /password/reset ----------------------------------------------------------

#[tokio::test]
async fn reset_replaces_the_password_once_and_revokes_every_session_of_the_user() {
    let app = spawn_app().await;
    let email = unique_email();
    let laptop = Tokens::of(&app.signed_up_user(&email).await);
    let phone = Tokens::of(&app.login(&email, PASSWORD).await);
    let someone_else = Tokens::of(&app.signed_up_user(&unique_email()).await);

    let token = reset_token(&app, &email).await;
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;
    app.assert_session_ended(&laptop).await;
    app.assert_session_ended(&phone).await;
    assert_alive(&app, &someone_else).await;

    let again = reset(&app, &token, OTHER_PASSWORD).await;
    again.assert_problem(INVALID_LINK_TOKEN);
    assert_password(&app, &email, NEW_PASSWORD, OTHER_PASSWORD).await;
}

#[tokio::test]
async fn a_reset_link_is_valid_for_one_hour() {
    let app = spawn_app().await;
    let (early, late) = (app.verified_user().await, app.verified_user().await);
    let early_token = reset_token(&app, &early).await;
    let late_token = reset_token(&app, &late).await;

    app.advance(Duration::from_secs(3600 - 5));
    reset_succeeds(&app, &early_token, NEW_PASSWORD).await;
    app.advance(Duration::from_secs(10));
    let expired = reset(&app, &late_token, NEW_PASSWORD).await;
    expired.assert_problem(INVALID_LINK_TOKEN);
    assert_password(&app, &late, PASSWORD, NEW_PASSWORD).await;
}

#[tokio::test]
async fn using_one_reset_link_voids_the_other_links_of_that_user_only() {
    let app = spawn_app().await;
    let (email, other) = (app.verified_user().await, app.verified_user().await);
    let first = reset_token(&app, &email).await;
    app.forgot_password(&email).await;
    let (_, second) = app.another_mail(&email, RESET, &first).await;
    let others = reset_token(&app, &other).await;

    reset_succeeds(&app, &second, NEW_PASSWORD).await;
    let voided = reset(&app, &first, OTHER_PASSWORD).await;
    voided.assert_problem(INVALID_LINK_TOKEN);
    assert_password(&app, &email, NEW_PASSWORD, OTHER_PASSWORD).await;
    reset_succeeds(&app, &others, NEW_PASSWORD).await;
}

#[tokio::test]
async fn unknown_and_malformed_reset_tokens_are_invalid_token() {
    let app = spawn_app().await;
    for token in ["A".repeat(43), "<script>".to_owned(), "x".to_owned()] {
        let reply = reset(&app, &token, NEW_PASSWORD).await;
        reply.assert_problem(INVALID_LINK_TOKEN);
    }
}

#[tokio::test]
async fn a_verification_token_does_not_reset_the_password() {
    let app = spawn_app().await;
    let email = app.registered_user().await;
    let token = app.mailed_token(&email, VERIFY).await;

    let reply = reset(&app, &token, NEW_PASSWORD).await;
    reply.assert_problem(INVALID_LINK_TOKEN);
    // Still the old password: only the right one gets as far as "not verified".
    let login = app.login(&email, PASSWORD).await;
    login.assert_problem(EMAIL_NOT_VERIFIED);
    let login = app.login(&email, NEW_PASSWORD).await;
    login.assert_problem(INVALID_CREDENTIALS);
    // The attempt did not spend the verification token.
    app.verify_email(&token).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_reset_token_is_not_a_verification_token() {
    let app = spawn_app().await;
    let email = app.registered_user().await;
    let token = reset_token(&app, &email).await;

    app.verify_email(&token)
        .await
        .assert_problem(INVALID_LINK_TOKEN);
    let login = app.login(&email, PASSWORD).await;
    login.assert_problem(EMAIL_NOT_VERIFIED);
    // The attempt did not spend the reset token either; completing the reset
    // proves the mailbox (see reset_links.rs), so the account is verified then.
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
    Tokens::of(&app.login(&email, NEW_PASSWORD).await);
}

#[tokio::test]
async fn a_new_password_outside_8_to_128_characters_is_422_and_keeps_the_link() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    let token = reset_token(&app, &email).await;
    for bad in ["x".repeat(7), "x".repeat(129)] {
        let reply = reset(&app, &token, &bad).await;
        reply.assert_invalid(&[("password", "must be between 8 and 128 characters")]);
    }
    app.login(&email, PASSWORD)
        .await
        .assert_status(StatusCode::OK);
    // 128 characters, and not guessable (a repeated letter would be refused as such).
    let longest: String = (0..4)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    assert_eq!(longest.len(), 128);
    reset_succeeds(&app, &token, &longest).await;
    assert_password(&app, &email, &longest, PASSWORD).await;
}

// --- GET /password/reset and its form ----------------------------------------------

#[tokio::test]
async fn opening_the_reset_link_shows_a_form_and_does_not_spend_the_token() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    let token = reset_token(&app, &email).await;
    for _ in 0..2 {
        // What a mail scanner does: follow the link.
        let page = app.get(&format!("/password/reset?token={token}")).await;
        page.assert_page(StatusCode::OK);
        let html = &page.text;
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
        page.assert_page(StatusCode::BAD_REQUEST);
        assert!(!page.text.contains("<form") && !page.text.contains("<script>"));
    }
}

#[tokio::test]
async fn the_reset_form_sets_the_password_and_answers_with_a_page() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    let token = reset_token(&app, &email).await;
    let body = format!("token={token}&password=a+whole+new+passphrase");
    let form = "application/x-www-form-urlencoded";

    let done = app.post_raw("/password/reset", form, body.clone()).await;
    done.assert_page(StatusCode::OK);
    assert!(done.text.contains("Password changed"), "{}", done.text);
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;

    let again = app.post_raw("/password/reset", form, body).await;
    again.assert_page(StatusCode::BAD_REQUEST);
    assert!(again.text.contains("invalid, expired or already used"));
}

// --- POST /password/change ---------------------------------------------------------

#[tokio::test]
async fn change_keeps_the_current_session_and_revokes_the_others() {
    let app = spawn_app().await;
    let email = unique_email();
    let here = Tokens::of(&app.signed_up_user(&email).await);
    let elsewhere = Tokens::of(&app.login(&email, PASSWORD).await);

    let reply = change(&app, &here.access, PASSWORD, NEW_PASSWORD).await;
    reply.assert_no_content();
    assert_alive(&app, &here).await;
    app.assert_session_ended(&elsewhere).await;
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;
}

#[tokio::test]
async fn change_refuses_a_wrong_current_password_or_a_bad_new_one_and_changes_nothing() {
    let app = spawn_app().await;
    let email = unique_email();
    let here = Tokens::of(&app.signed_up_user(&email).await);
    let elsewhere = Tokens::of(&app.login(&email, PASSWORD).await);

    let wrong = change(&app, &here.access, "not my password", NEW_PASSWORD).await;
    wrong.assert_problem(WRONG_CURRENT_PASSWORD);
    for bad in ["x".repeat(7), "x".repeat(129)] {
        let reply = change(&app, &here.access, PASSWORD, &bad).await;
        reply.assert_invalid(&[("new_password", "must be between 8 and 128 characters")]);
    }
    assert_password(&app, &email, PASSWORD, NEW_PASSWORD).await;
    assert_alive(&app, &elsewhere).await;
}

#[tokio::test]
async fn change_needs_the_access_token_of_a_live_session() {
    let app = spawn_app().await;
    let email = unique_email();
    let access = Tokens::of(&app.signed_up_user(&email).await).access;
    let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let anonymous = app.post_json("/password/change", &body).await;
    anonymous.assert_problem(INVALID_ACCESS_TOKEN);
    let garbage = change(&app, "not-a-jwt", PASSWORD, NEW_PASSWORD).await;
    garbage.assert_problem(INVALID_ACCESS_TOKEN);

    let logout = app.post_json_bearer("/logout", &access, &json!({})).await;
    logout.assert_no_content();
    let logged_out = change(&app, &access, PASSWORD, NEW_PASSWORD).await;
    logged_out.assert_problem(INVALID_ACCESS_TOKEN);
    assert_password(&app, &email, PASSWORD, NEW_PASSWORD).await;
}

// --- POST /verify-email/resend -----------------------------------------------------

#[tokio::test]
async fn resend_mails_a_new_link_and_the_old_one_keeps_working() {
    let app = spawn_app().await;
    for use_new_link in [true, false] {
        let email = app.registered_user().await;
        let first = app.mailed_token(&email, VERIFY).await;
        resend(&app, &email).await;
        let (_, second) = app.another_mail(&email, VERIFY, &first).await;

        let token = if use_new_link { second } else { first };
        app.verify_email(&token).await.assert_status(StatusCode::OK);
        app.login(&email, PASSWORD)
            .await
            .assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn resend_mails_nothing_to_a_verified_or_unknown_address() {
    let app = spawn_app().await;
    let (verified, unknown) = (app.verified_user().await, unique_email());
    resend(&app, &verified).await;
    resend(&app, &unknown).await;
    // Only the sign-up mail, and nothing at all.
    assert_mail_for(&app, &verified, &[VERIFY.subject]).await;
    assert_mail_for(&app, &unknown, &[]).await;
}

#[tokio::test]
async fn resend_with_a_malformed_email_is_422() {
    let app = spawn_app().await;
    let body = json!({"email": "not-an-email"});
    let reply = app.post_json("/verify-email/resend", &body).await;
    reply.assert_invalid(&[("email", "must be a valid email address")]);
}

// --- POST /register with a taken address -------------------------------------------

#[tokio::test]
async fn registering_a_taken_email_mails_a_reset_link_that_works() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    let fresh = app.register(&unique_email(), PASSWORD).await;

    let again = app.register(&email.to_uppercase(), OTHER_PASSWORD).await;
    again.assert_status(StatusCode::ACCEPTED);
    assert_eq!(again.body, fresh.body);
    assert_eq!(app.count("users").await, 2);

    let token = app.mailed_token(&email, ACCOUNT_EXISTS).await;
    reset_succeeds(&app, &token, NEW_PASSWORD).await;
    assert_password(&app, &email, NEW_PASSWORD, PASSWORD).await;
    let intruder = app.login(&email, OTHER_PASSWORD).await;
    intruder.assert_problem(INVALID_CREDENTIALS);
}

// --- Where account mail goes (to the account's own address) ------------------------

#[tokio::test]
async fn account_mail_goes_to_the_stored_address_whatever_case_was_typed() {
    let app = spawn_app().await;
    let (email, unverified) = (app.verified_user().await, app.registered_user().await);
    let first_link = app.mailed_token(&unverified, VERIFY).await;

    app.forgot_password(&email.to_uppercase()).await;
    app.register(&email.to_uppercase(), OTHER_PASSWORD).await;
    resend(&app, &unverified.to_uppercase()).await;

    let mails = [
        (&email, app.mail(&email, RESET).await),
        (&email, app.mail(&email, ACCOUNT_EXISTS).await),
        (
            &unverified,
            app.another_mail(&unverified, VERIFY, &first_link).await.0,
        ),
    ];
    for (address, mail) in mails {
        assert_eq!(mail.rcpt_to, [address.as_str()], "{}", mail.subject);
        assert_eq!(mail.to, [address.as_str()], "{}", mail.subject);
    }
}
