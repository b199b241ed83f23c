//! SMTP down and Redis gone at the same time, under a small load: every request
//! still gets its success (no 5xx, no refusal), rate limits count in memory
//! meanwhile; when both come back, every queued mail is delivered exactly once
//! and the Redis-backed parts (rate-limit budgets, the revocation broadcast)
//! work through Redis again. Each outage alone has its own tests (`outbox.rs`,
//! `limits.rs`); this one shows they do not get in each other's way.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use auth_service::grpc::proto;

use crate::helpers::*;
use crate::private_redis::{PrivateRedis, keys, unique_prefix};

/// Clients sending requests at once.
const CLIENTS: usize = 3;
/// Rounds each client sends while SMTP and Redis are away.
const ROUNDS: usize = 3;
/// Bound on noticing, recovering and delivering (polled; not a timing target).
const BOUND: Duration = Duration::from_secs(30);

#[tokio::test]
async fn smtp_down_and_redis_gone_together_stay_green_and_recover() {
    let test = "smtp_down_and_redis_gone_together_stay_green_and_recover";
    let Some(mut redis) = PrivateRedis::start(test).await else {
        return;
    };
    let (url, prefix) = (redis.url(), unique_prefix());
    let app = spawn_app_with(&[
        "--rate-limit",
        "on",
        "--redis-url",
        &url,
        "--rate-limit-prefix",
        &prefix,
        // Budgets the load stays within: no request here is refused. (A
        // budget's key lives in Redis until it is full again: 36 s after a
        // sign-up at 100/hour.)
        "--rate-limit-register",
        "100/hour",
        "--rate-limit-login",
        "1000/min",
        "--rate-limit-login-account",
        "1000/10m",
        "--rate-limit-password-forgot",
        "100/hour",
        "--introspection-keys",
        SERVICE_KEY,
    ])
    .await;
    let user = app.verified_user().await;
    assert_eq!(rate_limiter(&app).await, "redis");
    let mut sessions = Vec::new();
    for _ in 0..CLIENTS {
        sessions.push(Tokens::of(&app.login(&user, PASSWORD).await));
    }

    app.smtp.set_down(true);
    redis.kill();
    let load = join_all(sessions.iter().map(|session| async {
        let mut answers = Vec::new();
        for _ in 0..ROUNDS {
            answers.extend(round(&app, &user, session).await);
        }
        answers
    }));
    let answers = load.await.concat();
    assert_answers("SMTP and Redis away", &answers, &[Answer::Success]);
    assert_eq!(rate_limiter(&app).await, "redis-unreachable");
    // The outbox did try (and fail) while SMTP was down.
    eventually("a delivery attempt failed", BOUND, || async {
        let sql = "select count(*) from outbox where last_error is not null and sent_at is null";
        scalar(&app, sql).await > 0
    })
    .await;

    app.smtp.set_down(false);
    redis.restart().await;
    eventually("rate limits count in Redis again", BOUND, || async {
        rate_limiter(&app).await == "redis"
    })
    .await;
    app.registered_user().await;
    let budget = format!("{prefix}:rl:register:ip:127.0.0.1");
    let kept = keys(&url, &prefix).await;
    assert!(
        kept.contains(&budget),
        "the sign-up counted in Redis: {kept:?}"
    );
    broadcast_heard_again(&app, &user).await;
    every_queued_mail_delivered_once(&app).await;
}

/// One client's round: sign up, then ask for a reset link for the new address
/// (two mails queued); log in, and check the client's session.
async fn round(app: &TestApp, user: &str, session: &Tokens) -> Vec<Answered> {
    let email = unique_email();
    let sign_up = json!({"email": email, "password": PASSWORD});
    let register = app.client.post(app.url("/register")).json(&sign_up);
    let forgot = app.client.post(app.url("/password/forgot"));
    let forgot = forgot.json(&json!({"email": email}));
    let credentials = json!({"email": user, "password": PASSWORD});
    let login = app.client.post(app.url("/login")).json(&credentials);
    let me = app.client.get(app.url("/me")).bearer_auth(&session.access);
    vec![
        http_call("POST /register", register, StatusCode::ACCEPTED).await,
        http_call("POST /password/forgot", forgot, StatusCode::ACCEPTED).await,
        http_call("POST /login", login, StatusCode::OK).await,
        http_call("GET /me", me, StatusCode::OK).await,
    ]
}

/// Where /readyz says rate limits count (its `rate_limiter`).
async fn rate_limiter(app: &TestApp) -> String {
    let ready = app.get("/readyz").await;
    ready.assert_status(StatusCode::OK);
    ready.body["rate_limiter"]
        .as_str()
        .expect("rate_limiter")
        .to_owned()
}

/// The revocation broadcast goes through Redis again: a logout is heard on a
/// new `WatchRevocations` (retried until the subscription is back, bounded).
async fn broadcast_heard_again(app: &TestApp, user: &str) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let probe = Tokens::of(&app.login(user, PASSWORD).await);
        let request = with_key(proto::WatchRevocationsRequest {}, SERVICE_KEY);
        let stream = app.token_service().await.watch_revocations(request).await;
        let mut stream = stream.expect("WatchRevocations answers").into_inner();
        let logout = app.request(Method::POST, "/logout");
        let logout = logout.bearer(probe.access.as_str()).send().await;
        logout.assert_no_content();
        let heard = tokio::time::timeout(Duration::from_secs(1), stream.message()).await;
        if let Ok(Ok(Some(revocation))) = heard {
            assert_eq!(revocation.session_id, probe.sid);
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the revocation broadcast is heard through Redis again in time"
        );
    }
}

/// Once every link request is carried out and nothing is left to send, what
/// arrived is exactly what was queued: each message once.
async fn every_queued_mail_delivered_once(app: &TestApp) {
    eventually("every mail is sent", BOUND, || async {
        let waiting = "select (select count(*) from link_requests)
                            + (select count(*) from outbox where sent_at is null)";
        scalar(app, waiting).await == 0
    })
    .await;
    let queued: Vec<(String, String)> = sqlx::query_as("select recipient, subject from outbox")
        .fetch_all(&app.db)
        .await
        .expect("outbox");
    let mut queued: Vec<String> = queued
        .into_iter()
        .map(|(r, s)| format!("{r}: {s}"))
        .collect();
    let mut delivered: Vec<String> = (app.smtp.messages().iter())
        .map(|m| format!("{}: {}", m.rcpt_to.join(","), m.subject))
        .collect();
    queued.sort();
    delivered.sort();
    // The load's sign-ups and reset links, and the sign-ups before and after.
    assert_eq!(queued.len(), 2 * CLIENTS * ROUNDS + 2, "{queued:#?}");
    assert_eq!(delivered, queued, "each queued message delivered once");
}

async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db)
        .await
        .expect("query")
}
