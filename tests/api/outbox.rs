//! Mail is never lost: it is queued in the transaction of the change that causes
//! it and delivered by the outbox worker, through SMTP outages and restarts, and
//! never twice when several instances share the database.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

use crate::helpers::*;

/// Waits for a condition on the database that the worker brings about. Polls,
/// since there is no channel into another process's database; bounded in time.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db)
        .await
        .expect("query")
}

/// The registration's message has failed at least once and is not held by a worker.
async fn failed_once(app: &TestApp) -> bool {
    scalar(
        app,
        "select count(*) from outbox where attempts >= 1 and last_error is not null
         and locked_until is null and sent_at is null",
    )
    .await
        == 1
}

#[tokio::test]
async fn mail_queued_during_an_smtp_outage_is_delivered_when_smtp_answers_again() {
    let app = spawn_app().await;
    app.smtp.set_down(true);
    let email = app.registered_user().await;
    eventually("the first delivery attempt failed", || failed_once(&app)).await;
    // The worker has tried (and failed): nothing got through the outage.
    assert!(app.smtp.messages().is_empty());

    app.smtp.set_down(false);
    let token = app.mailed_token(&email, VERIFY).await;
    let verified = app.verify_email(&token).await;
    assert_eq!(verified.status, StatusCode::OK, "the late link works");
    eventually("the message is marked sent", || async {
        scalar(
            &app,
            "select count(*) from outbox where sent_at is not null and attempts >= 2",
        )
        .await
            == 1
    })
    .await;
    // Once sent, the stored copy no longer holds the single-use link.
    let with_link = "select count(*) from outbox where body_text like '%token=%'";
    assert_eq!(
        scalar(&app, with_link).await,
        0,
        "sent mail keeps no usable link"
    );
}

#[tokio::test]
async fn mail_pending_at_a_restart_is_sent_by_the_restarted_service() {
    let mut before = spawn_app().await;
    before.smtp.set_down(true);
    let email = before.registered_user().await;
    eventually("the first delivery attempt failed", || failed_once(&before)).await;
    // Stopped, its worker finished: the failed attempt is all the first process did.
    before.stop().await;
    assert!(before.smtp.messages().is_empty());

    // The same database, a new process, an SMTP server that answers. It reads
    // the SECRETS_KEY the first one generated in DATA_DIR, so the link works.
    let after = spawn_sibling(&before, &[]).await;
    let token = after.mailed_token(&email, VERIFY).await;
    after
        .verify_email(&token)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_configured_secrets_key_lets_a_restarted_instance_deliver_working_links() {
    let key = secrets_key();
    let mut before = spawn_app_with(&["--secrets-key", &key]).await;
    before.smtp.set_down(true);
    let email = before.registered_user().await;
    eventually("the first delivery attempt failed", || failed_once(&before)).await;
    before.stop().await;

    let after = spawn_sibling(&before, &["--secrets-key", &key]).await;
    let token = after.mailed_token(&email, VERIFY).await;
    after
        .verify_email(&token)
        .await
        .assert_status(StatusCode::OK);
}

/// A signing key both instances of the next test are configured with: keys
/// the service generates are kept sealed with SECRETS_KEY, and an instance
/// whose SECRETS_KEY does not open them does not start.
const SIGNING_KEY: &str = "--jwt-private-key=-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBRaNhmq3m8WdfTZHHXgRa9MQ1nj4Ao6iL1M3l2dTrY5\n-----END PRIVATE KEY-----\n";

#[tokio::test]
async fn mail_sealed_with_another_secrets_key_is_dead_at_once_and_says_why() {
    let mut before = spawn_app_with(&["--secrets-key", &secrets_key(), SIGNING_KEY]).await;
    before.smtp.set_down(true);
    let email = before.registered_user().await;
    eventually("the first delivery attempt failed", || failed_once(&before)).await;
    before.stop().await;

    let after = spawn_sibling(&before, &["--secrets-key", &secrets_key(), SIGNING_KEY]).await;
    eventually("the message is dead", || async {
        scalar(
            &after,
            "select count(*) from outbox where dead_at is not null",
        )
        .await
            == 1
    })
    .await;
    let error: String = sqlx::query_scalar("select last_error from outbox")
        .fetch_one(&after.db)
        .await
        .expect("dead message");
    assert_eq!(
        error,
        "the link's token does not unseal with this SECRETS_KEY"
    );
    // No link that cannot work was sent.
    after.assert_no_mail_to(&email).await;
}

/// The text columns and the sealed token of the only outbox row.
async fn outbox_row(app: &TestApp) -> (Vec<String>, Option<Vec<u8>>) {
    let (recipient, subject, text, html, error, sealed): (
        String,
        String,
        String,
        String,
        String,
        Option<Vec<u8>>,
    ) = sqlx::query_as(
        "select recipient, subject, body_text, body_html, coalesce(last_error, ''), sealed_token
         from outbox",
    )
    .fetch_one(&app.db)
    .await
    .expect("one outbox row");
    (vec![recipient, subject, text, html, error], sealed)
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_queued_link_holds_no_usable_token_and_the_delivered_link_works() {
    let app = spawn_app().await;
    app.smtp.set_down(true);
    let email = app.registered_user().await;
    eventually("the first delivery attempt failed", || failed_once(&app)).await;
    let (columns, sealed) = outbox_row(&app).await;

    app.smtp.set_down(false);
    let token = app.mailed_token(&email, VERIFY).await;
    let raw = URL_SAFE_NO_PAD.decode(&token).expect("token is base64url");
    for column in &columns {
        assert!(!column.contains(&token), "the token is stored in: {column}");
    }
    let sealed = sealed.expect("the link's token is stored sealed");
    assert!(!holds(&sealed, token.as_bytes()) && !holds(&sealed, &raw));
    app.verify_email(&token).await.assert_status(StatusCode::OK);

    eventually("the message is marked sent", || async {
        scalar(
            &app,
            "select count(*) from outbox where sent_at is not null",
        )
        .await
            == 1
    })
    .await;
    assert_eq!(
        scalar(
            &app,
            "select count(*) from outbox where sealed_token is not null"
        )
        .await,
        0,
        "sent mail forgets its sealed token"
    );
    // No old version of the row either: the SQLite files (database and WAL)
    // never held the token.
    if let TestDatabase::Sqlite { dir } = &app.database {
        for file in std::fs::read_dir(dir).expect("database folder") {
            let path = file.expect("entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            assert!(!holds(&bytes, token.as_bytes()), "{}", path.display());
        }
    }
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_marked_dead_after_the_configured_attempts() {
    let app = spawn_app_with(&["--mail-max-attempts", "2"]).await;
    app.smtp.set_down(true);
    let lost = app.registered_user().await;
    eventually("the message is dead", || async {
        scalar(
            &app,
            "select count(*) from outbox where dead_at is not null",
        )
        .await
            == 1
    })
    .await;
    let (attempts, error): (i64, String) =
        sqlx::query_as("select attempts, last_error from outbox where dead_at is not null")
            .fetch_one(&app.db)
            .await
            .expect("dead message");
    assert_eq!(attempts, 2);
    assert!(error.contains("421"), "the reason is kept: {error}");

    // Dead is final: once SMTP answers, newer mail (the marker) goes out and the
    // dead one does not.
    app.smtp.set_down(false);
    app.assert_no_mail_to(&lost).await;
}

#[tokio::test]
async fn two_instances_on_one_database_never_send_a_message_twice() {
    let mut first = spawn_app().await;
    // Both instances deliver to the first one's SMTP server.
    let smtp_url = first.smtp.url();
    let mut second = spawn_sibling(&first, &["--smtp-url", &smtp_url]).await;
    const MESSAGES: usize = 20;
    let mut expected = HashSet::new();
    for i in 0..MESSAGES {
        let app = if i % 2 == 0 { &first } else { &second };
        expected.insert(app.registered_user().await);
    }
    first.smtp.wait_for(MESSAGES, MAIL_WAIT).await;
    eventually("every message is marked sent", || async {
        scalar(&first, "select count(*) from outbox where sent_at is null").await == 0
    })
    .await;
    // Nothing is left to claim, and both workers have stopped (a duplicate still
    // being sent would have been waited for): what arrived is final.
    second.stop().await;
    first.stop().await;
    let received = first.smtp.messages();
    assert_eq!(received.len(), MESSAGES, "one message per registration");
    let recipients: HashSet<String> = received.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    assert_eq!(recipients, expected);
}

#[tokio::test]
async fn a_refused_change_queues_no_mail() {
    let app = spawn_app().await;
    app.register("not-an-email", PASSWORD)
        .await
        .assert_invalid(&[("email", "must be a valid email address")]);
    assert_eq!(app.count("outbox").await, 0);
    app.assert_no_mail().await;

    let quiet = spawn_app_with(&["--require-email-verification", "false"]).await;
    let registered = quiet.register(&unique_email(), PASSWORD).await;
    registered.assert_status(StatusCode::CREATED);
    assert_eq!(
        quiet.count("outbox").await,
        0,
        "no verification mail when verification is off"
    );
    quiet.assert_no_mail().await;
}

#[tokio::test]
async fn the_mail_barrier_sees_mail_queued_just_before_it() {
    // The proof behind every "no mail" assertion: a message queued right before
    // the marker has arrived by the time the marker has.
    for extra in [&[][..], &["--require-email-verification", "false"]] {
        let app = spawn_app_with(extra).await;
        let email = unique_email();
        app.register(&email, PASSWORD).await;
        app.forgot_password(&email).await;
        let mail = app.mail_before_marker().await;
        let subjects: Vec<&str> = mail.iter().map(|m| m.subject.as_str()).collect();
        let expected: &[&str] = if extra.is_empty() {
            &[VERIFY.subject, RESET.subject]
        } else {
            &[RESET.subject]
        };
        assert_eq!(subjects, expected);
    }
}
