//! `TokenService.WatchRevocations`: a stream of every session revoked from the
//! moment of the call, on this instance or any other (PostgreSQL NOTIFY, or
//! Redis when REDIS_URL is set); it ends with a status instead of skipping
//! anything: DATA_LOSS when some may have been missed, UNAVAILABLE at shutdown.

use std::time::Duration;

use reqwest::Method;
use tonic::Streaming;

use auth_service::grpc::proto;

use crate::helpers::*;
use crate::private_redis::{PrivateRedis, shared_redis_url};

/// How long a test waits for a revocation to arrive.
const ARRIVAL: Duration = Duration::from_secs(10);

/// Subscribes on `app` (the call returns once the subscription is in place).
async fn watch(app: &TestApp) -> Streaming<proto::Revocation> {
    let request = with_key(proto::WatchRevocationsRequest {}, SERVICE_KEY);
    let reply = app.token_service().await.watch_revocations(request).await;
    reply.expect("WatchRevocations answers").into_inner()
}

/// Logs the session out over HTTP.
async fn log_out(app: &TestApp, session: &Tokens) {
    let logout = app
        .request(Method::POST, "/logout")
        .bearer(session.access.as_str());
    logout.send().await.assert_no_content();
}

/// The revocation of `session`, skipping those of other tests on a shared
/// route (Redis); fails after [`ARRIVAL`].
async fn revocation_of(
    stream: &mut Streaming<proto::Revocation>,
    session: &Tokens,
) -> proto::Revocation {
    let wait = async {
        loop {
            let next = stream.message().await.expect("the stream goes on");
            let revocation = next.expect("the stream has not ended");
            if revocation.session_id == session.sid {
                return revocation;
            }
        }
    };
    tokio::time::timeout(ARRIVAL, wait)
        .await
        .expect("the revocation arrives in time")
}

#[track_caller]
fn assert_revocation_of(revocation: &proto::Revocation, session: &Tokens) {
    assert_eq!(revocation.session_id, session.sid);
    assert_eq!(
        revocation.user_id,
        session.user["id"].as_str().expect("user id")
    );
    let revoked_at = revocation.revoked_at.expect("revoked_at");
    let age = unix_now() - revoked_at.seconds;
    assert!((0..60).contains(&age), "revoked {age}s ago");
}

#[tokio::test]
async fn a_logout_over_http_is_streamed_at_once() {
    let app = spawn_app_with(&["--introspection-keys", SERVICE_KEY]).await;
    let session = app.signed_up().await;
    let kept = app.signed_up().await;
    let mut stream = watch(&app).await;
    log_out(&app, &session).await;
    let revocation = revocation_of(&mut stream, &session).await;
    assert_revocation_of(&revocation, &session);
    app.assert_session_active(&kept).await;
}

/// Two instances on one database; a revocation on the second reaches a
/// subscriber of the first.
async fn revoked_on_a_sibling_is_streamed(extra: &[&str]) {
    // Sign-ups log in at once: either instance's outbox worker could send a
    // verification link, each to its own SMTP server.
    let no_link = ["--require-email-verification", "false"];
    let args = [&["--introspection-keys", SERVICE_KEY], &no_link[..], extra].concat();
    let first = spawn_app_with(&args).await;
    let second = spawn_sibling(&first, &args).await;
    let session = Tokens::registered(&second.register(&unique_email(), PASSWORD).await);
    let mut stream = watch(&first).await;
    log_out(&second, &session).await;
    let revocation = revocation_of(&mut stream, &session).await;
    assert_revocation_of(&revocation, &session);
}

#[tokio::test]
async fn a_revocation_on_another_instance_arrives_through_postgres() {
    if backend() == Backend::Sqlite {
        eprintln!("skipped on SQLite: instances share revocations through PostgreSQL or Redis");
        return;
    }
    revoked_on_a_sibling_is_streamed(&[]).await;
}

#[tokio::test]
async fn a_revocation_on_another_instance_arrives_through_redis() {
    let test = "a_revocation_on_another_instance_arrives_through_redis";
    let Some(redis) = shared_redis_url(test) else {
        return;
    };
    revoked_on_a_sibling_is_streamed(&["--redis-url", &redis]).await;
}

#[tokio::test]
async fn the_stream_ends_with_data_loss_when_revocations_may_have_been_missed() {
    let test = "the_stream_ends_with_data_loss_when_revocations_may_have_been_missed";
    let Some(mut redis) = PrivateRedis::start(test).await else {
        return;
    };
    let url = redis.url();
    let app = spawn_app_with(&["--introspection-keys", SERVICE_KEY, "--redis-url", &url]).await;
    let mut stream = watch(&app).await;
    // The broadcast loses its connection: whatever was published meanwhile is gone.
    redis.kill();
    let ended = tokio::time::timeout(ARRIVAL, stream.message())
        .await
        .expect("the stream ends in time");
    let status = ended.expect_err("the stream ends with a status");
    assert_status(&status, GRPC_REVOCATIONS_MISSED);
}

#[tokio::test]
async fn shutting_down_ends_open_streams_and_is_not_held_up_by_them() {
    let mut app = spawn_app_with(&["--introspection-keys", SERVICE_KEY]).await;
    let mut stream = watch(&app).await;
    tokio::time::timeout(ARRIVAL, app.stop())
        .await
        .expect("the server stops in time");
    let ended = stream
        .message()
        .await
        .expect_err("the stream ends with a status");
    assert_status(&ended, GRPC_SHUTTING_DOWN);
}
