//! GET /metrics after real traffic: each series, with its exact value, as
//! Prometheus scrapes it. Requests by route template (never a raw path), method
//! and status with latency buckets; logins and refreshes by outcome; rate-limit
//! refusals by policy; the hashing queue; the mail and webhook outboxes; no
//! email or token anywhere; each application counting only its own.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn each_login_outcome_is_its_own_series_and_no_label_holds_an_email_or_a_token() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    let good = app.login(&email, PASSWORD).await;
    good.assert_status(StatusCode::OK);
    app.login(&email, "wrong password")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    let unverified = app.registered_user().await;
    app.login(&unverified, PASSWORD)
        .await
        .assert_problem(EMAIL_NOT_VERIFIED);

    let scrape = scraped(&app).await;
    assert_eq!(
        scrape.of("auth_logins_total"),
        samples(&[
            (
                r#"auth_logins_total{method="password",outcome="succeeded"}"#,
                1.0
            ),
            (
                r#"auth_logins_total{method="password",outcome="invalid_credentials"}"#,
                1.0
            ),
            (
                r#"auth_logins_total{method="password",outcome="email_not_verified"}"#,
                1.0
            ),
        ])
    );
    let tokens = Tokens::of(&good);
    for secret in [&email, &unverified, &tokens.access, &tokens.refresh] {
        assert!(!scrape.text.contains(secret.as_str()), "{secret} leaked");
    }
    assert!(
        !scrape.text.contains('@'),
        "no address at all:\n{}",
        scrape.text
    );
}

#[tokio::test]
async fn requests_are_counted_by_route_template_method_and_status_with_latency_buckets() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let id = uuid::Uuid::new_v4().to_string();
    app.request(Method::DELETE, &format!("/sessions/{id}"))
        .bearer(&*session.access)
        .send()
        .await
        .assert_problem(NOT_FOUND);
    app.get("/no/such/page/12345")
        .await
        .assert_problem(NOT_FOUND);

    let scrape = scraped(&app).await;
    assert_eq!(
        scrape.of("auth_http_requests_total"),
        samples(&[
            (
                r#"auth_http_requests_total{route="/register",method="POST",status="202"}"#,
                1.0
            ),
            (
                r#"auth_http_requests_total{route="/verify-email",method="POST",status="200"}"#,
                1.0
            ),
            (
                r#"auth_http_requests_total{route="/login",method="POST",status="200"}"#,
                1.0
            ),
            (
                r#"auth_http_requests_total{route="/sessions/{id}",method="DELETE",status="404"}"#,
                1.0
            ),
            (
                r#"auth_http_requests_total{route="unmatched",method="GET",status="404"}"#,
                1.0
            ),
        ])
    );
    // The latency histogram of that request: every bucket, cumulative, all 1
    // from the first bound above its time.
    let series = r#"auth_http_request_duration_seconds{route="/sessions/{id}",method="DELETE",status="404"}"#;
    let labels = series
        .trim_start_matches("auth_http_request_duration_seconds{")
        .trim_end_matches('}');
    let buckets = scrape.of("auth_http_request_duration_seconds_bucket");
    let ours: Vec<(&str, f64)> = BUCKETS
        .iter()
        .map(|le| {
            let bucket =
                format!("auth_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}}");
            let count = *buckets
                .get(&bucket)
                .unwrap_or_else(|| panic!("no {bucket}:\n{}", scrape.text));
            (*le, count)
        })
        .collect();
    assert_eq!(ours.last(), Some(&("+Inf", 1.0)));
    assert!(ours.windows(2).all(|w| w[0].1 <= w[1].1), "{ours:?}");
    assert!(ours.iter().all(|(_, c)| *c == 0.0 || *c == 1.0), "{ours:?}");
    let count = format!("auth_http_request_duration_seconds_count{{{labels}}}");
    assert_eq!(scrape.value(&count), 1.0);
    let sum = format!("auth_http_request_duration_seconds_sum{{{labels}}}");
    assert!(scrape.value(&sum) > 0.0);
    // Neither the session's id nor the unmatched path made it into a label.
    assert!(!scrape.text.contains(&id));
    assert!(!scrape.text.contains("/no/such"));

    // The scrape itself is counted, once it is answered.
    let again = scraped(&app).await;
    let metrics = r#"auth_http_requests_total{route="/metrics",method="GET",status="200"}"#;
    assert_eq!(again.value(metrics), 1.0);
}

#[tokio::test]
async fn each_refresh_outcome_is_its_own_series() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    app.refreshed(&session.refresh).await;
    // Within the grace period the same token gets the same successor again.
    app.refreshed(&session.refresh).await;
    // After it, the rotated token is a reuse: refused, and the session revoked.
    app.advance(REFRESH_GRACE + Duration::from_secs(1));
    app.refresh(&session.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    app.refresh(&random_token())
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);

    let scrape = scraped(&app).await;
    assert_eq!(
        scrape.of("auth_refreshes_total"),
        samples(&[
            (r#"auth_refreshes_total{outcome="rotated"}"#, 1.0),
            (r#"auth_refreshes_total{outcome="grace"}"#, 1.0),
            (r#"auth_refreshes_total{outcome="reuse_detected"}"#, 1.0),
            (r#"auth_refreshes_total{outcome="invalid"}"#, 1.0),
        ])
    );
    assert!(!scrape.text.contains(&session.refresh));
}

#[tokio::test]
async fn refusals_of_the_rate_limiter_are_counted_by_policy() {
    let app = spawn_app_with(&["--rate-limit", "on", "--rate-limit-login", "1/min"]).await;
    app.login(&unique_email(), PASSWORD)
        .await
        .assert_problem(INVALID_CREDENTIALS);
    let refused = app.login(&unique_email(), PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text
    );

    let scrape = scraped(&app).await;
    assert_eq!(
        scrape.of("auth_rate_limited_total"),
        samples(&[(r#"auth_rate_limited_total{policy="login"}"#, 1.0)])
    );
    assert_eq!(
        scrape.of("auth_logins_total"),
        samples(&[
            (
                r#"auth_logins_total{method="password",outcome="invalid_credentials"}"#,
                1.0
            ),
            (
                r#"auth_logins_total{method="password",outcome="rate_limited"}"#,
                1.0
            ),
        ])
    );
}

#[tokio::test]
async fn the_hashing_queue_reports_its_waits_depth_and_the_callers_it_turned_away() {
    let app = spawn_app_with(&[
        "--max-concurrent-hashes",
        "1",
        "--max-queued-hashes",
        "1",
        "--argon2-iterations",
        "16",
    ])
    .await;
    let idle = scraped(&app).await;
    // The one hash so far: the dummy hash made at start.
    assert_eq!(idle.value("auth_password_hash_wait_seconds_count"), 1.0);
    assert_eq!(idle.value("auth_password_hash_queue_depth"), 0.0);
    assert_eq!(idle.value("auth_password_hash_running"), 0.0);
    assert_eq!(idle.value("auth_password_hash_rejected_total"), 0.0);
    // Every bucket is there, cumulative, the last holding the one wait.
    let buckets: Vec<f64> = BUCKETS
        .iter()
        .map(|le| {
            idle.value(&format!(
                "auth_password_hash_wait_seconds_bucket{{le=\"{le}\"}}"
            ))
        })
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&1.0));

    let strangers: Vec<String> = (0..12).map(|_| unique_email()).collect();
    let logins: Vec<(&str, &str)> = strangers.iter().map(|e| (e.as_str(), PASSWORD)).collect();
    let replies = app.logins_at_once(&logins).await;
    let busy = replies
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let checked = replies.len() - busy;
    assert!(busy > 0 && checked > 0, "busy: {busy}, checked: {checked}");

    // A thread counts itself idle just after it hands its result over.
    let scrape = scrape_until(&app, "the threads are idle", |s| {
        s.value("auth_password_hash_running") == 0.0
    })
    .await;
    assert_eq!(
        scrape.value("auth_password_hash_rejected_total"),
        busy as f64
    );
    assert_eq!(
        scrape.value("auth_password_hash_wait_seconds_count"),
        1.0 + checked as f64
    );
    assert_eq!(scrape.value("auth_password_hash_queue_depth"), 0.0);
    assert_eq!(
        scrape.of("auth_logins_total"),
        samples(&[
            (
                r#"auth_logins_total{method="password",outcome="invalid_credentials"}"#,
                checked as f64
            ),
            (
                r#"auth_logins_total{method="password",outcome="busy"}"#,
                busy as f64
            ),
        ])
    );
}

#[tokio::test]
async fn mail_that_cannot_be_sent_shows_as_outbox_depth_and_a_failure() {
    let app = spawn_app_with(&["--mail-retry-base", "1h"]).await;
    app.smtp.set_down(true);
    app.registered_user().await;
    let failed = r#"auth_outbox_send_failures_total{queue="mail",result="retry"}"#;
    let scrape = scrape_until(&app, "the send failed", |s| s.value(failed) == 1.0).await;
    assert_eq!(
        scrape.of("auth_outbox_depth"),
        samples(&[
            (r#"auth_outbox_depth{queue="mail"}"#, 1.0),
            (r#"auth_outbox_depth{queue="webhooks"}"#, 0.0),
        ])
    );
    assert_eq!(
        scrape.of("auth_outbox_send_failures_total"),
        samples(&[
            (failed, 1.0),
            (
                r#"auth_outbox_send_failures_total{queue="mail",result="dead"}"#,
                0.0
            ),
            (
                r#"auth_outbox_send_failures_total{queue="webhooks",result="retry"}"#,
                0.0
            ),
            (
                r#"auth_outbox_send_failures_total{queue="webhooks",result="dead"}"#,
                0.0
            ),
        ])
    );
    assert_eq!(scrape.value(r#"auth_outbox_sent_total{queue="mail"}"#), 0.0);
}

#[tokio::test]
async fn sent_mail_leaves_the_outbox_empty_and_is_counted() {
    let app = spawn_app().await;
    let email = app.registered_user().await;
    app.mailed_token(&email, VERIFY).await;
    let sent = r#"auth_outbox_sent_total{queue="mail"}"#;
    let scrape = scrape_until(&app, "the mail is counted", |s| s.value(sent) == 1.0).await;
    assert_eq!(scrape.value(r#"auth_outbox_depth{queue="mail"}"#), 0.0);
    let failed = r#"auth_outbox_send_failures_total{queue="mail",result="retry"}"#;
    assert_eq!(scrape.value(failed), 0.0);
}

#[tokio::test]
async fn a_webhook_that_failed_once_is_counted_as_a_retry_then_as_sent() {
    let receiver = WebhookReceiver::start().await;
    receiver.fail_next(1);
    let app = spawn_app_with(&receiver.flags()).await;
    // One webhook: user.registered.
    app.registered_user().await;
    let delivered = receiver.wait_for_delivered(1).await.len() as f64;
    assert_eq!(delivered, 1.0);
    let sent = r#"auth_outbox_sent_total{queue="webhooks"}"#;
    let scrape = scrape_until(&app, "the webhook is counted", |s| {
        s.value(sent) == delivered
    })
    .await;
    let retried = r#"auth_outbox_send_failures_total{queue="webhooks",result="retry"}"#;
    assert_eq!(scrape.value(retried), 1.0);
    assert_eq!(scrape.value(r#"auth_outbox_depth{queue="webhooks"}"#), 0.0);
}

#[tokio::test]
async fn each_application_counts_only_its_own_requests() {
    let one = spawn_app().await;
    let other = spawn_app().await;
    one.login(&unique_email(), PASSWORD)
        .await
        .assert_problem(INVALID_CREDENTIALS);
    assert_eq!(
        scraped(&one).await.of("auth_logins_total"),
        samples(&[(
            r#"auth_logins_total{method="password",outcome="invalid_credentials"}"#,
            1.0
        )])
    );
    let theirs = scraped(&other).await;
    assert_eq!(theirs.of("auth_logins_total"), BTreeMap::new());
    assert_eq!(theirs.of("auth_http_requests_total"), BTreeMap::new());
}

#[tokio::test]
async fn the_openapi_document_describes_get_metrics_as_text() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json").await.body;
    let ok = &spec["paths"]["/metrics"]["get"]["responses"]["200"];
    assert!(ok["content"]["text/plain"].is_object(), "{ok}");
    assert_eq!(spec["paths"]["/metrics"]["get"]["tags"], json!(["ops"]));
}
