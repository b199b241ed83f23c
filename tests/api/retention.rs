//! Retention: the refresh tokens of ended sessions, sessions 30 days after
//! they ended, sent mail after OUTBOX_RETENTION, expired links and MFA and
//! passkey steps, and audit events after AUDIT_RETENTION are deleted, by
//! `auth-service retention run` and by each instance every RETENTION_INTERVAL;
//! what is within its period stays, and instances running at once delete each
//! row once. Old rows are made through the flows, with the service's clock
//! moved back.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// How long a test waits for the service's own retention task.
const TASK_WAIT: Duration = Duration::from_secs(20);

/// Moves the service's clock `days` days (back when negative).
fn travel(app: &TestApp, days: i64) {
    app.clock.advance(chrono::Duration::days(days));
}

/// Waits until the outbox has sent everything queued, so that each mail is
/// marked sent at the service's time of the moment.
async fn mail_settled(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    let sql = "select count(*) from outbox where sent_at is null and dead_at is null";
    loop {
        let waiting: i64 = sqlx::query_scalar(sql)
            .fetch_one(&app.db)
            .await
            .expect("outbox");
        if waiting == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{waiting} mail unsent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `auth-service retention run` on the app's database with `env`: its output.
async fn retention_run(app: &TestApp, env: &[(&str, &str)]) -> Value {
    let run = app.database.command(&["retention", "run"], env).await;
    run.json()
}

/// What a run reports when it deleted these rows (every other kind: none).
fn deleted(rows: &[(&str, u64)], audit: bool) -> Value {
    let mut kinds = BTreeMap::from([
        ("email_tokens", 0),
        ("mail", 0),
        ("mfa_challenges", 0),
        ("passkey_challenges", 0),
        ("refresh_tokens", 0),
        ("sessions", 0),
        ("webhooks", 0),
    ]);
    if audit {
        kinds.insert("audit_events", 0);
    }
    for (kind, n) in rows {
        kinds.insert(kind, *n);
    }
    json!(kinds)
}

/// POST /logout with the session's refresh token (no Bearer token: an access
/// token issued at a moved clock has expired by the real one).
async fn log_out(app: &TestApp, session: &Tokens) {
    let body = json!({"refresh_token": session.refresh});
    let reply = app
        .request(Method::POST, "/logout")
        .json(&body)
        .send()
        .await;
    reply.assert_no_content();
}

#[tokio::test]
async fn a_run_deletes_what_is_past_its_period_and_keeps_what_is_within_it() {
    let app = spawn_app_with(&["--retention-interval", "off"]).await;
    let with_mfa = unique_email();
    let login = app.signed_up_user(&with_mfa).await;
    let (authenticator, _) = app.enable_totp(&Tokens::of(&login).access).await;
    // Its security notice goes out now, not 400 days ago.
    mail_settled(&app).await;

    // 400 days ago: a sign-up, a refresh, an MFA step and a passkey ceremony
    // left unfinished.
    travel(&app, -400);
    let old = unique_email();
    let first = Tokens::of(&app.signed_up_user(&old).await);
    let refreshed = app.refreshed(&first.refresh).await;
    app.mfa_token(&with_mfa).await;
    app.passkey_login_start().await;
    mail_settled(&app).await;
    // 100 days ago a session that ended by idling; 10 days ago one logged out.
    travel(&app, 300);
    Tokens::of(&app.login(&old, PASSWORD).await);
    travel(&app, 90);
    log_out(&app, &Tokens::of(&app.login(&old, PASSWORD).await)).await;
    // Now: a live session of each user, a new sign-up, a link not yet used.
    travel(&app, 10);
    let current = Tokens::of(&app.login(&old, PASSWORD).await);
    let fresh = app.signed_up().await;
    let pending = app.registered_user().await;
    let link = app.mailed_token(&pending, VERIFY).await;
    mail_settled(&app).await;
    app.refresh(&refreshed.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);

    // Audit events kept forever: everything else that is old goes.
    let events = app.count("audit_events").await;
    let run = retention_run(&app, &[("AUDIT_RETENTION", "off")]).await;
    let expected = [
        // The sessions of 400 and 100 days ago (2 and 1 tokens), and the one
        // logged out 10 days ago: its row stays 30 days, its token goes now.
        ("refresh_tokens", 4),
        ("sessions", 2),
        // The verification mail and link of 400 days ago.
        ("mail", 1),
        ("email_tokens", 1),
        ("mfa_challenges", 1),
        ("passkey_challenges", 1),
    ];
    assert_eq!(run, deleted(&expected, false));
    assert_eq!(app.count("audit_events").await, events);
    // Nothing else is old now: a second run deletes only the audit events of
    // 400 days ago (the sign-up's three), past AUDIT_RETENTION's default year.
    let run = retention_run(&app, &[]).await;
    assert_eq!(run, deleted(&[("audit_events", 3)], true));
    assert_eq!(retention_run(&app, &[]).await, deleted(&[], true));

    // What users see: the old session's token is refused as it was before;
    // the events of the last year, the live sessions, the pending link and
    // the second factor all still work.
    app.refresh(&refreshed.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    let reply = app.get_bearer("/me/events", &current.access).await;
    reply.assert_status(StatusCode::OK);
    let events: Vec<&str> = (reply.body["events"].as_array().expect("events").iter())
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        events,
        [
            "login_succeeded",
            "logged_out",
            "login_succeeded",
            "login_succeeded"
        ]
    );
    let sessions = app.get_bearer("/sessions", &current.access).await;
    sessions.assert_status(StatusCode::OK);
    let listed: Vec<&Value> = (sessions.body.as_array().expect("an array").iter())
        .map(|s| &s["id"])
        .collect();
    assert_eq!(listed, [current.sid.as_str()]);
    app.refreshed(&current.refresh).await;
    app.refreshed(&fresh.refresh).await;
    app.verify_email(&link).await.assert_status(StatusCode::OK);
    app.login_with_totp(&with_mfa, &authenticator).await;
    assert_eq!(app.count("sessions").await, 5);
}

#[tokio::test]
async fn two_runs_at_once_delete_each_row_once_and_both_succeed() {
    let app = spawn_app_with(&["--retention-interval", "off"]).await;
    // 400 days ago: ten sessions of one user, the first refreshed 29 times:
    // 39 refresh tokens.
    travel(&app, -400);
    let email = unique_email();
    let mut session = Tokens::of(&app.signed_up_user(&email).await);
    for _ in 0..29 {
        session = app.refreshed(&session.refresh).await;
    }
    for _ in 0..9 {
        Tokens::of(&app.login(&email, PASSWORD).await);
    }
    mail_settled(&app).await;
    travel(&app, 400);
    assert_eq!(app.count("refresh_tokens").await, 39);

    // Batches of 4 rows: each run takes many turns, interleaved with the other's.
    let env = [("RETENTION_BATCH_SIZE", "4")];
    let (one, other) = tokio::join!(retention_run(&app, &env), retention_run(&app, &env));
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for run in [&one, &other] {
        for (kind, rows) in run.as_object().expect("an object") {
            *total.entry(kind.clone()).or_default() += rows.as_u64().expect("a count");
        }
    }
    let expected = [
        ("refresh_tokens", 39),
        ("sessions", 10),
        ("mail", 1),
        ("email_tokens", 1),
        // registered, email_verified and ten logins.
        ("audit_events", 12),
    ];
    assert_eq!(json!(total), deleted(&expected, true), "{one} and {other}");
    for table in ["refresh_tokens", "sessions", "outbox", "email_tokens"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    assert_eq!(app.count("audit_events").await, 0);
}

/// `auth_retention_deleted_total` of one kind, on every one of `apps` together.
async fn deleted_by(apps: &[&TestApp], kind: &str) -> f64 {
    let mut total = 0.0;
    for app in apps {
        let series = format!("auth_retention_deleted_total{{kind=\"{kind}\"}}");
        total += scraped(app)
            .await
            .samples
            .get(&series)
            .copied()
            .unwrap_or(0.0);
    }
    total
}

#[tokio::test]
async fn every_instance_deletes_on_its_own_and_together_they_count_each_row_once() {
    // Rows made 400 days ago by an instance without the task (one running
    // while the clock moves would find the rows old as they are made).
    let mut app = spawn_app_with(&["--retention-interval", "off"]).await;
    travel(&app, -400);
    let mut session = app.signed_up().await;
    for _ in 0..3 {
        session = app.refreshed(&session.refresh).await;
    }
    mail_settled(&app).await;
    app.stop().await;
    // Two instances that delete every second.
    let every = ["--retention-interval", "1s"];
    let (one, other) = tokio::join!(spawn_sibling(&app, &every), spawn_sibling(&app, &every));

    let expected = [
        ("refresh_tokens", 4.0),
        ("sessions", 1.0),
        ("mail", 1.0),
        ("email_tokens", 1.0),
        ("audit_events", 3.0),
    ];
    let deadline = tokio::time::Instant::now() + TASK_WAIT;
    for (kind, rows) in expected {
        loop {
            let counted = deleted_by(&[&one, &other], kind).await;
            if counted == rows {
                break;
            }
            assert!(
                counted < rows && tokio::time::Instant::now() < deadline,
                "{kind}: {counted} rows deleted, not {rows}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for table in ["refresh_tokens", "sessions", "outbox", "email_tokens"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    one.refresh(&session.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
}
