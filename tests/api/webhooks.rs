//! Webhooks (Standard Webhooks) to a real receiver: which flows are announced,
//! in order, with exactly which data; signed; never holding a secret; retried
//! with the same id until accepted, dead after the last attempt; delivered once
//! when two instances share the database; off unless configured.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{SecondsFormat, SubsecRound};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// POST `body` to `path` as a client with this User-Agent.
async fn post(app: &TestApp, path: &str, user_agent: &str, body: Value) -> Reply {
    let request = app.request(Method::POST, path).user_agent(user_agent);
    request.json(&body).send().await
}

/// The expected body of a webhook: `data` is the user, the session when there
/// is one, and the client that caused the event (127.0.0.1 and `user_agent`).
fn body(kind: &str, timestamp: &str, user: &str, session: Option<&str>, agent: &str) -> Value {
    let mut data = json!({"user_id": user, "ip": "127.0.0.1", "user_agent": agent});
    if let Some(session) = session {
        data["session_id"] = json!(session);
    }
    json!({"type": kind, "timestamp": timestamp, "data": data})
}

/// The time of an audit event (from /me/events) as webhooks write it.
fn webhook_time(event: &Value) -> String {
    let at = rfc3339(&event["created_at"]).trunc_subsecs(6);
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What every webhook request carries, whatever it announces.
#[track_caller]
fn assert_well_formed(request: &WebhookRequest) {
    assert_eq!(request.content_type, "application/json", "{request:?}");
    assert!(request.id.starts_with("msg_"), "{request:?}");
    assert!(request.signature_is_valid(), "bad signature: {request:?}");
    let sent_at: i64 = request.timestamp.parse().expect("a Unix time");
    // The service's clock may run ahead (the test moves it), never far.
    assert!((sent_at - unix_now()).abs() < 120, "{request:?}");
}

#[tokio::test]
async fn each_flow_is_announced_in_order_with_its_data_signed_and_without_secrets() {
    let receiver = WebhookReceiver::start().await;
    let app = spawn_app_with(&receiver.flags()).await;
    let email = unique_email();

    let credentials = json!({"email": email, "password": PASSWORD});
    post(&app, "/register", "Register/1", credentials.clone())
        .await
        .assert_status(StatusCode::ACCEPTED);
    let verify_token = app.mailed_token(&email, VERIFY).await;
    post(
        &app,
        "/verify-email",
        "Verify/1",
        json!({"token": verify_token}),
    )
    .await
    .assert_status(StatusCode::OK);
    let first = Tokens::of(&app.login_with_agent(&email, PASSWORD, "Login/1").await);
    let refreshed = app.refreshed(&first.refresh).await;
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    app.request(Method::POST, "/password/change")
        .user_agent("Change/1")
        .bearer(&*refreshed.access)
        .json(&change)
        .send()
        .await
        .assert_no_content();
    // The rotated token comes back after the grace window: the session goes.
    app.advance(REFRESH_GRACE + Duration::from_secs(1));
    let reuse = json!({"refresh_token": first.refresh});
    post(&app, "/refresh", "Reuse/1", reuse)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    let second = Tokens::of(&app.login_with_agent(&email, NEW_PASSWORD, "Login/2").await);
    app.request(Method::POST, "/logout")
        .user_agent("Logout/1")
        .bearer(&*second.access)
        .send()
        .await
        .assert_no_content();
    // A third session reads the audit trail, the times to compare with.
    let third = Tokens::of(&app.login_with_agent(&email, NEW_PASSWORD, "Login/3").await);

    let requests = receiver.wait_for_delivered(8).await;
    let reply = app.get_bearer("/me/events?limit=100", &third.access).await;
    reply.assert_status(StatusCode::OK);
    let mut events = reply.body["events"].as_array().expect("events").clone();
    events.reverse();
    assert_eq!(events.len(), 8, "{events:#?}");
    let at = |i: usize| webhook_time(&events[i]);
    let user = first.user["id"].as_str().expect("user id");
    let (s1, s2, s3) = (Some(&*first.sid), Some(&*second.sid), Some(&*third.sid));
    let expected = [
        body("user.registered", &at(0), user, None, "Register/1"),
        body("user.email_verified", &at(1), user, None, "Verify/1"),
        body("session.created", &at(2), user, s1, "Login/1"),
        body("password.changed", &at(3), user, s1, "Change/1"),
        body("refresh_token.reused", &at(4), user, s1, "Reuse/1"),
        body("session.created", &at(5), user, s2, "Login/2"),
        body("session.revoked", &at(6), user, s2, "Logout/1"),
        body("session.created", &at(7), user, s3, "Login/3"),
    ];
    let bodies: Vec<Value> = requests.iter().map(WebhookRequest::json).collect();
    assert_eq!(bodies, expected);

    // Nothing more came, and every request was accepted at the first attempt.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.requests().len(), 8);
    let ids: BTreeSet<&str> = requests.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 8, "one id per webhook");
    let secrets: [&str; 11] = [
        PASSWORD,
        NEW_PASSWORD,
        &verify_token,
        &first.access,
        &first.refresh,
        &refreshed.access,
        &refreshed.refresh,
        &second.access,
        &second.refresh,
        &third.access,
        &third.refresh,
    ];
    for request in &requests {
        assert_well_formed(request);
        for secret in secrets {
            assert!(!request.body.contains(secret), "{request:?} holds a secret");
        }
    }
}

#[tokio::test]
async fn revoked_sessions_second_factors_and_resets_are_announced_too() {
    let receiver = WebhookReceiver::start().await;
    let app = spawn_app_with(&receiver.flags()).await;
    let me = app.signed_up().await;
    // A client that sends no User-Agent: its webhooks have none either.
    let other = Tokens::of(&app.login(me.email(), PASSWORD).await);
    let path = format!("/sessions/{}", other.sid);
    let revoke = app.request(Method::DELETE, &path).bearer(&*me.access);
    revoke.send().await.assert_no_content();
    let (_, recovery_codes) = app.enable_totp(&me.access).await;
    let off = json!({"password": PASSWORD});
    app.disable_totp(&me.access, &off).await.assert_no_content();
    app.forgot_password(me.email()).await;
    let reset_token = app.mailed_token(me.email(), RESET).await;
    let reset = json!({"token": reset_token, "password": NEW_PASSWORD});
    app.post_json("/password/reset", &reset)
        .await
        .assert_no_content();

    let requests = receiver.wait_for_delivered(8).await;
    let bodies: Vec<Value> = requests.iter().map(WebhookRequest::json).collect();
    let kinds: Vec<&str> = bodies
        .iter()
        .map(|b| b["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "user.registered",
            "user.email_verified",
            "session.created",
            "session.created",
            "session.revoked",
            "mfa.enabled",
            "mfa.disabled",
            "password.reset",
        ]
    );
    let user = me.user["id"].as_str().expect("user id");
    let data = |session: Option<&str>| match session {
        Some(sid) => json!({"user_id": user, "session_id": sid, "ip": "127.0.0.1"}),
        None => json!({"user_id": user, "ip": "127.0.0.1"}),
    };
    // The revoking session's event names the session it ended.
    assert_eq!(bodies[4]["data"], data(Some(&other.sid)));
    assert_eq!(bodies[5]["data"], data(Some(&me.sid)));
    assert_eq!(bodies[6]["data"], data(Some(&me.sid)));
    assert_eq!(bodies[7]["data"], data(None));
    for request in &requests {
        assert_well_formed(request);
        assert!(!request.body.contains(&reset_token), "{request:?}");
        for code in &recovery_codes {
            assert!(!request.body.contains(code), "{request:?}");
        }
    }
}

#[tokio::test]
async fn an_operator_disabling_and_deleting_a_user_is_announced() {
    let receiver = WebhookReceiver::start().await;
    let app = spawn_admin_app(&receiver.flags()).await;
    let me = app.signed_up().await;
    let user = me.user["id"].as_str().expect("user id");
    app.admin_patched(user, &json!({"disabled": true})).await;
    let path = format!("/admin/users/{user}");
    app.admin(Method::DELETE, &path, None)
        .await
        .assert_no_content();

    let requests = receiver.wait_for_delivered(5).await;
    let bodies: Vec<Value> = requests.iter().map(WebhookRequest::json).collect();
    let kinds: Vec<&str> = bodies
        .iter()
        .map(|b| b["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "user.registered",
            "user.email_verified",
            "session.created",
            "user.disabled",
            "user.deleted",
        ]
    );
    // The operator's requests carry no User-Agent of their own here.
    for body in &bodies[3..] {
        assert_eq!(body["data"], json!({"user_id": user, "ip": "127.0.0.1"}));
    }
    for request in &requests {
        assert_well_formed(request);
        assert!(!request.body.contains(ADMIN_KEY), "{request:?}");
    }
}

/// Waits (at most 15 seconds) until the receiver got `n` requests.
async fn wait_for_requests(receiver: &WebhookReceiver, n: usize) -> Vec<WebhookRequest> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while receiver.requests().len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {n} requests: {:#?}",
            receiver.requests()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    receiver.requests()
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_webhook_again_later_until_it_accepts_it() {
    let receiver = WebhookReceiver::start().await;
    receiver.fail_next(2);
    // Retries a second apart or more, so each attempt's time (in whole seconds)
    // is later than the one before.
    let flags = [&receiver.flags()[..], &["--mail-retry-base", "1s"][..]].concat();
    let app = spawn_app_with(&flags).await;
    app.registered_user().await;

    receiver.wait_for_delivered(1).await;
    let attempts = receiver.requests();
    let answers: Vec<StatusCode> = attempts.iter().map(|r| r.answered).collect();
    let failed = StatusCode::INTERNAL_SERVER_ERROR;
    assert_eq!(answers, [failed, failed, StatusCode::NO_CONTENT]);
    for attempt in &attempts {
        assert_well_formed(attempt);
        assert_eq!(attempt.id, attempts[0].id, "the same webhook-id");
        assert_eq!(attempt.body, attempts[0].body, "the same body");
        assert_eq!(attempt.json()["type"], "user.registered");
    }
    let times: Vec<i64> = attempts
        .iter()
        .map(|r| r.timestamp.parse().expect("a Unix time"))
        .collect();
    assert!(times[0] < times[1] && times[1] < times[2], "{times:?}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.requests().len(), 3, "nothing after the acceptance");
}

#[tokio::test]
async fn a_webhook_pending_at_a_restart_is_delivered_by_the_restarted_service() {
    let receiver = WebhookReceiver::start().await;
    receiver.fail_next(usize::MAX);
    let mut before = spawn_app_with(&receiver.flags()).await;
    before.registered_user().await;
    let failed = wait_for_requests(&receiver, 1).await;
    // Stopped, its worker finished: the failed attempts are all it did.
    before.stop().await;

    receiver.fail_next(0);
    let _after = spawn_sibling(&before, &receiver.flags()).await;
    let delivered = receiver.wait_for_delivered(1).await;
    assert_eq!(delivered[0].id, failed[0].id, "the same webhook-id");
    assert_eq!(delivered[0].body, failed[0].body);
    assert_well_formed(&delivered[0]);
}

#[tokio::test]
async fn a_webhook_refused_max_attempts_times_is_dead_and_kept() {
    let receiver = WebhookReceiver::start().await;
    receiver.fail_next(usize::MAX);
    let flags = [&receiver.flags()[..], &["--mail-max-attempts", "2"][..]].concat();
    let app = spawn_app_with(&flags).await;
    app.registered_user().await;

    let attempts = wait_for_requests(&receiver, 2).await;
    assert_eq!(attempts[0].id, attempts[1].id);
    // Poll rounds go on; the dead webhook is not tried again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.requests().len(), 2);
    let dead: (i64, String) =
        sqlx::query_as("select attempts, last_error from webhook_outbox where dead_at is not null")
            .fetch_one(&app.db)
            .await
            .expect("the dead webhook is kept");
    assert_eq!(
        dead,
        (
            2,
            "the receiver answered 500 Internal Server Error".to_owned()
        )
    );
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_webhook_exactly_once() {
    let receiver = WebhookReceiver::start().await;
    // Each webhook stays in flight a while, so the other instance's worker looks
    // for due webhooks while this one's are being sent.
    receiver.answer_after(Duration::from_millis(100));
    let one = spawn_app_with(&receiver.flags()).await;
    let two = spawn_sibling(&one, &receiver.flags()).await;

    let mut burst = tokio::task::JoinSet::new();
    let mut users = BTreeSet::new();
    for i in 0..16 {
        let email = unique_email();
        users.insert(email.clone());
        let app = if i % 2 == 0 { &one } else { &two };
        let request = app.request(Method::POST, "/register");
        let request = request.json(&json!({"email": email, "password": PASSWORD}));
        burst.spawn(async move { request.send().await.status });
    }
    for status in burst.join_all().await {
        assert_eq!(status, StatusCode::ACCEPTED);
    }

    receiver.wait_for_delivered(16).await;
    // Time for a second delivery of any of them to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 16, "{requests:#?}");
    let ids: BTreeSet<&str> = requests.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 16, "a webhook was sent twice: {requests:#?}");
    let announced: BTreeSet<String> = requests
        .iter()
        .map(|r| r.json()["data"]["user_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(announced.len(), 16, "one webhook per registration");
    assert_eq!(one.count("users").await, 16);
}

#[tokio::test]
async fn without_webhook_settings_nothing_is_queued() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    app.request(Method::POST, "/logout")
        .bearer(&*session.access)
        .send()
        .await
        .assert_no_content();
    assert_eq!(app.count("audit_events").await, 4);
    assert_eq!(app.count("webhook_outbox").await, 0);
}

#[tokio::test]
async fn bad_webhook_settings_stop_start_up_naming_the_variable() {
    let dir = std::env::temp_dir().join(format!("auth-hooks-{}", uuid::Uuid::new_v4().simple()));
    let data_dir = dir.to_str().expect("UTF-8");
    let url = "https://hooks.example.com/auth";
    let secret = webhook_secret();
    let secret = secret.as_str();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("WEBHOOK_URL", url)], "WEBHOOK_SECRET"),
        (&[("WEBHOOK_SECRET", secret)], "WEBHOOK_URL"),
        (
            &[
                ("WEBHOOK_URL", "ftp://hooks.example.com"),
                ("WEBHOOK_SECRET", secret),
            ],
            "WEBHOOK_URL",
        ),
    ];
    for (env, named) in cases {
        let env = [&[("DATA_DIR", data_dir)][..], env].concat();
        let (ok, stderr) = start_binary(&env);
        assert!(!ok, "started with {env:?}");
        assert!(stderr.contains(named), "{env:?}: {stderr}");
    }
    for bad in ["not-a-secret", "whsec_!!not base64!!", "whsec_c2hvcnQ="] {
        let env = [
            ("DATA_DIR", data_dir),
            ("WEBHOOK_URL", url),
            ("WEBHOOK_SECRET", bad),
        ];
        let (ok, stderr) = start_binary(&env);
        assert!(!ok, "started with WEBHOOK_SECRET={bad:?}");
        assert!(stderr.contains("WEBHOOK_SECRET"), "{stderr}");
        assert!(!stderr.contains(bad), "the secret is repeated: {stderr}");
    }
    // Refused before anything was opened or written.
    assert!(!dir.exists(), "start-up wrote to {data_dir}");
}
