//! Security notices (OWASP ASVS 2.2.3, 2.5.5): after each change to how an account
//! logs in, its owner is mailed what changed and when, with no link and no secret;
//! a refused change mails nothing.

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

const PASSWORD_CHANGED: &str = "Your Auth Service account: password changed";
const PASSWORD_RESET: &str = "Your Auth Service account: password reset";
const MFA_ON: &str = "Your Auth Service account: two-step verification turned on";
const MFA_OFF: &str = "Your Auth Service account: two-step verification turned off";
const NEW_CODES: &str = "Your Auth Service account: new recovery codes";
const PASSKEY_ADDED: &str = "Your Auth Service account: passkey added";
const PASSKEY_REMOVED: &str = "Your Auth Service account: passkey removed";
const EMAIL_CHANGED: &str = "Your Auth Service account: email address changed";

/// The text part of a notice, as its owner reads it.
fn notice_text(sentence: &str, email: &str, when: &str) -> String {
    format!(
        "Security notice\n\n{sentence}\n\nAccount: {email}\nWhen: {when}\n\n\
         If this was you, there is nothing to do.\n\n\
         If it was not you, someone else may have access to your account: change your\n\
         password now (or ask for a reset link with \"Forgot password\"), end any session\n\
         you do not recognise, and tell the people who run Auth Service."
    )
}

/// The notice `subject` to `email`, asserted whole: its text says `sentence` and a
/// minute of the service's clock between `before` and now, and neither part
/// carries a link.
async fn assert_notice(
    app: &TestApp,
    email: &str,
    subject: &str,
    sentence: &str,
    before: DateTime<Utc>,
) {
    let mail = app.smtp.wait_for_subject(email, subject, MAIL_WAIT).await;
    assert_eq!(mail.subject, subject);
    let text = mail.text.replace("\r\n", "\n");
    let minutes = [before, app.clock.now()].map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    assert!(
        minutes
            .iter()
            .any(|when| text == notice_text(sentence, email, when)),
        "{text}"
    );
    assert!(!text.contains("http"), "{text}");
    assert!(mail.html.contains(sentence), "{}", mail.html);
    assert!(!mail.html.contains("href"), "{}", mail.html);
}

#[tokio::test]
async fn a_password_change_is_told_without_a_link_and_a_refused_one_is_not() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let email = me.email().to_owned();
    let change = |current: &str| json!({"current_password": current, "new_password": "a whole new passphrase"});
    app.post_json_bearer("/password/change", &me.access, &change("not the password"))
        .await
        .assert_problem(WRONG_CURRENT_PASSWORD);

    let before = app.clock.now();
    app.post_json_bearer("/password/change", &me.access, &change(PASSWORD))
        .await
        .assert_no_content();
    let sentence = "Your password was changed, and every other session was logged out.";
    assert_notice(&app, &email, PASSWORD_CHANGED, sentence, before).await;
    app.assert_mail_to(&email, &[VERIFY.subject, PASSWORD_CHANGED])
        .await;
}

#[tokio::test]
async fn a_password_reset_is_told_to_the_owner() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    app.forgot_password(&email).await;
    let token = app.mailed_token(&email, RESET).await;
    let before = app.clock.now();
    app.post_json(
        "/password/reset",
        &json!({"token": token, "password": "a whole new passphrase"}),
    )
    .await
    .assert_no_content();
    let sentence = "Your password was reset with a link mailed to this address, and every \
                    session was logged out.";
    assert_notice(&app, &email, PASSWORD_RESET, sentence, before).await;
    app.assert_mail_to(&email, &[VERIFY.subject, RESET.subject, PASSWORD_RESET])
        .await;
}

#[tokio::test]
async fn turning_two_step_verification_on_and_off_and_new_recovery_codes_are_each_told() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let email = me.email().to_owned();
    let before = app.clock.now();
    let (authenticator, _) = app.enable_totp(&me.access).await;
    let sentence = "Two-step verification was turned on: logging in now also asks for a code \
                    from an authenticator app.";
    assert_notice(&app, &email, MFA_ON, sentence, before).await;

    let codes = |code: String| json!({"code": code});
    app.post_json_bearer("/mfa/recovery-codes", &me.access, &codes("000000".into()))
        .await
        .assert_problem(INVALID_CODE_400);
    let fresh = codes(authenticator.next_code(&app));
    app.post_json_bearer("/mfa/recovery-codes", &me.access, &fresh)
        .await
        .assert_status(StatusCode::OK);
    app.disable_totp(&me.access, &json!({"password": "not the password"}))
        .await
        .assert_problem(WRONG_PASSWORD_OR_CODE);
    let before = app.clock.now();
    app.disable_totp(&me.access, &json!({"password": PASSWORD}))
        .await
        .assert_no_content();
    let sentence = "Two-step verification was turned off: logging in now asks for the password \
                    alone, and every other session was logged out.";
    assert_notice(&app, &email, MFA_OFF, sentence, before).await;
    app.assert_mail_to(&email, &[VERIFY.subject, NEW_CODES, MFA_OFF, MFA_ON])
        .await;
}

#[tokio::test]
async fn adding_and_removing_a_passkey_are_each_told() {
    let app = spawn_app().await;
    let me = app.signed_up().await;
    let email = me.email().to_owned();
    let before = app.clock.now();
    let added = app
        .add_passkey(&me, &mut Authenticator::new("http://auth.test"))
        .await;
    let sentence = "A passkey was added. It can now log in to your account.";
    assert_notice(&app, &email, PASSKEY_ADDED, sentence, before).await;

    let path = format!("/passkeys/{}", added["id"].as_str().expect("id"));
    let before = app.clock.now();
    app.request(Method::DELETE, &path)
        .bearer(&*me.access)
        .send()
        .await
        .assert_no_content();
    let sentence = "A passkey was removed. It can no longer log in to your account.";
    assert_notice(&app, &email, PASSKEY_REMOVED, sentence, before).await;
    app.assert_mail_to(&email, &[VERIFY.subject, PASSKEY_ADDED, PASSKEY_REMOVED])
        .await;
}

#[tokio::test]
async fn an_operator_changing_the_email_tells_the_old_address_only() {
    let app = spawn_admin_app(&[]).await;
    let old = app.verified_user().await;
    let id = app.user_id_of(&old).await;
    app.admin_patched(&id, &json!({"name": "Ada"})).await;
    let new = unique_email();
    let before = app.clock.now();
    app.admin_patched(&id, &json!({"email": new})).await;
    let sentence = "The email address of your account was changed by an administrator. This \
                    address no longer receives mail for the account.";
    assert_notice(&app, &old, EMAIL_CHANGED, sentence, before).await;
    app.assert_mail_to(&old, &[VERIFY.subject, EMAIL_CHANGED])
        .await;
    app.assert_no_mail_to(&new).await;
}
