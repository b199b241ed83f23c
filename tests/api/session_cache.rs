//! The session check answers from memory (SESSION_CACHE_TTL), yet a logout, a
//! revocation or a change to the user shows on the very next request, on this
//! instance and on every other (the revocation broadcast: in process on one
//! SQLite instance, PostgreSQL NOTIFY, or Redis); and while the broadcast is
//! disconnected the database is asked instead, never a stale memory.
//!
//! Through PostgreSQL, the other instance's LISTEN connection is served by its
//! own server process, which a loaded machine may run a few milliseconds after
//! the revoking instance has answered; those tests first wait until the other
//! instance has heard (a revocation committed after the change reaches its
//! `WatchRevocations`: notifications arrive in commit order), then expect the
//! very next request to be right. Redis (one server writing to every
//! subscriber at once) and one instance need no such wait.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use auth_service::grpc::proto;
use tonic::Streaming;

use crate::helpers::*;
use crate::private_redis::{PrivateRedis, shared_redis_url};

/// Rounds of "cache it there, log out here, refused there": a race would show.
const ROUNDS: usize = 10;

/// /me answers this user (as a token response shows it), without a second
/// factor; remembered on `app` from now on.
async fn assert_me(app: &TestApp, session: &Tokens, user: &serde_json::Value) {
    let me = app.me(&session.access).await;
    me.assert_status(StatusCode::OK);
    let mut expected = user.clone();
    expected["mfa_enabled"] = json!(false);
    assert_eq!(me.body, expected, "{}", me.text);
}

/// Logs the session out on `here`.
async fn log_out(here: &TestApp, session: &Tokens) {
    let logout = here
        .request(Method::POST, "/logout")
        .bearer(session.access.as_str());
    logout.send().await.assert_no_content();
}

/// Apps whose sign-ups need no mailed link (with two instances on one
/// PostgreSQL database, either one's outbox worker may send a mail, each
/// through its own test SMTP server).
const NO_LINK: [&str; 2] = ["--require-email-verification", "false"];

/// The first session of a fresh user.
async fn signed_up(app: &TestApp) -> Tokens {
    let email = unique_email();
    Tokens::registered(&app.register(&email, PASSWORD).await)
}

/// How long a test waits for an instance to hear or notice something.
const NOTICE: Duration = Duration::from_secs(10);

/// Revocations heard on `app` from now on (its gRPC `WatchRevocations`).
async fn watch(app: &TestApp) -> Streaming<proto::Revocation> {
    let request = with_key(proto::WatchRevocationsRequest {}, SERVICE_KEY);
    let reply = app.token_service().await.watch_revocations(request).await;
    reply.expect("WatchRevocations answers").into_inner()
}

/// Whether `there` has to be waited for (see the module's comment).
fn through_postgres(here: &TestApp, there: &TestApp) -> bool {
    backend() == Backend::Postgres && here.base != there.base
}

/// Through PostgreSQL: returns once `there` heard everything `here` committed
/// before this call, by logging out another session of `user` on `here` and
/// waiting until `there` hears it. Anywhere else, at once.
async fn heard_there(
    here: &TestApp,
    there: &TestApp,
    user: &Tokens,
    stream: Streaming<proto::Revocation>,
) {
    if !through_postgres(here, there) {
        return;
    }
    let marker = Tokens::of(&here.login(user.email(), PASSWORD).await);
    log_out(here, &marker).await;
    revocation_heard(stream, &marker).await;
}

/// Waits until `session`'s revocation comes through `stream`.
async fn revocation_heard(mut stream: Streaming<proto::Revocation>, session: &Tokens) {
    let heard = async {
        loop {
            let next = stream.message().await.expect("the stream goes on");
            if next.expect("the stream has not ended").session_id == session.sid {
                return;
            }
        }
    };
    tokio::time::timeout(NOTICE, heard)
        .await
        .expect("the other instance hears the revocation in time");
}

/// Each round: /me on `there` (now remembered there), log out on `here`, and the
/// access token is refused on `there` at once; another session of the same
/// user stays valid there.
async fn logout_here_is_refused_there(here: &TestApp, there: &TestApp) {
    for _ in 0..ROUNDS {
        let session = signed_up(here).await;
        let kept = Tokens::of(&here.login(session.email(), PASSWORD).await);
        assert_me(there, &session, &session.user).await;
        assert_me(there, &kept, &session.user).await;
        let stream = watch(there).await;
        log_out(here, &session).await;
        heard_there(here, there, &kept, stream).await;
        there
            .me(&session.access)
            .await
            .assert_problem(INVALID_ACCESS_TOKEN);
        assert_me(there, &kept, &session.user).await;
    }
}

#[tokio::test]
async fn a_logout_is_refused_at_once_on_the_same_instance() {
    let app = spawn_app_with(&["--introspection-keys", SERVICE_KEY, NO_LINK[0], NO_LINK[1]]).await;
    logout_here_is_refused_there(&app, &app).await;
}

#[tokio::test]
async fn a_session_revoked_by_id_is_refused_at_once() {
    let app = spawn_app_with(&NO_LINK).await;
    let session = signed_up(&app).await;
    let other = Tokens::of(&app.login(session.email(), PASSWORD).await);
    assert_me(&app, &other, &session.user).await;
    let path = format!("/sessions/{}", other.sid);
    let revoke = app
        .request(Method::DELETE, &path)
        .bearer(session.access.as_str());
    revoke.send().await.assert_no_content();
    app.me(&other.access)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_the_other_through_postgres() {
    if backend() == Backend::Sqlite {
        eprintln!("skipped on SQLite: instances share revocations through PostgreSQL or Redis");
        return;
    }
    let args = ["--introspection-keys", SERVICE_KEY, NO_LINK[0], NO_LINK[1]];
    let first = spawn_app_with(&args).await;
    let second = spawn_sibling(&first, &args).await;
    logout_here_is_refused_there(&first, &second).await;
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_the_other_through_redis() {
    let test = "a_logout_on_one_instance_is_refused_on_the_other_through_redis";
    let Some(redis) = shared_redis_url(test) else {
        return;
    };
    let args = [
        "--introspection-keys",
        SERVICE_KEY,
        NO_LINK[0],
        NO_LINK[1],
        "--redis-url",
        &redis,
    ];
    let first = spawn_app_with(&args).await;
    let second = spawn_sibling(&first, &args).await;
    logout_here_is_refused_there(&first, &second).await;
}

/// Two instances that hear each other: through Redis on SQLite (one SQLite
/// instance has nobody to tell otherwise), through PostgreSQL on PostgreSQL.
async fn two_instances(test: &str, extra: &[&str]) -> Option<(TestApp, TestApp)> {
    let redis = match backend() {
        Backend::Postgres => None,
        Backend::Sqlite => Some(shared_redis_url(test)?),
    };
    let redis_args = redis.as_deref().map(|url| ["--redis-url", url]);
    let redis_args = redis_args.as_ref().map_or(&[][..], |a| &a[..]);
    let args = [
        &["--introspection-keys", SERVICE_KEY, NO_LINK[0], NO_LINK[1]],
        extra,
        redis_args,
    ]
    .concat();
    let first = spawn_app_with(&args).await;
    let second = spawn_sibling(&first, &args).await;
    Some((first, second))
}

#[tokio::test]
async fn an_admin_change_to_the_user_shows_at_once_on_the_other_instance() {
    let test = "an_admin_change_to_the_user_shows_at_once_on_the_other_instance";
    let Some((first, second)) =
        two_instances(test, &["--admin-keys", ADMIN_KEY, NO_LINK[0], NO_LINK[1]]).await
    else {
        return;
    };
    let session = signed_up(&first).await;
    assert_me(&second, &session, &session.user).await;
    let id = session.user["id"].as_str().expect("user id");
    let stream = watch(&second).await;
    first
        .admin_patched(id, &json!({ "name": "Ada Lovelace" }))
        .await;
    heard_there(&first, &second, &session, stream).await;
    let mut renamed = session.user.clone();
    renamed["name"] = json!("Ada Lovelace");
    assert_me(&second, &session, &renamed).await;

    // Disabled: every session ends, on every instance.
    let stream = watch(&second).await;
    first.admin_patched(id, &json!({ "disabled": true })).await;
    if through_postgres(&first, &second) {
        revocation_heard(stream, &session).await;
    }
    second
        .me(&session.access)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
}

#[tokio::test]
async fn a_verified_email_shows_at_once_on_the_other_instance() {
    let test = "a_verified_email_shows_at_once_on_the_other_instance";
    let unverified = ["--require-email-verification", "false"];
    let Some((first, second)) = two_instances(test, &unverified).await else {
        return;
    };
    let email = unique_email();
    let session = Tokens::registered(&first.register(&email, PASSWORD).await);
    assert_eq!(session.user["email_verified"], json!(false));
    assert_me(&second, &session, &session.user).await;
    let stream = watch(&second).await;
    let resend = json!({ "email": email });
    let resent = first.post_json("/verify-email/resend", &resend).await;
    resent.assert_status(StatusCode::ACCEPTED);
    // Either instance's link-request worker may send it, through its own SMTP server.
    let token = tokio::select! {
        token = first.mailed_token(&email, VERIFY) => token,
        token = second.mailed_token(&email, VERIFY) => token,
    };
    first
        .verify_email(&token)
        .await
        .assert_status(StatusCode::OK);
    heard_there(&first, &second, &session, stream).await;
    let mut verified = session.user.clone();
    verified["email_verified"] = json!(true);
    assert_me(&second, &session, &verified).await;
}

#[tokio::test]
async fn without_the_cache_sessions_are_checked_as_before() {
    let off = [
        "--session-cache-ttl",
        "off",
        "--introspection-keys",
        SERVICE_KEY,
    ];
    let app = spawn_app_with(&[&off[..], &NO_LINK].concat()).await;
    logout_here_is_refused_there(&app, &app).await;
}

#[tokio::test]
async fn losing_redis_falls_back_to_the_database_never_to_stale_answers() {
    let test = "losing_redis_falls_back_to_the_database_never_to_stale_answers";
    let Some(mut redis) = PrivateRedis::start(test).await else {
        return;
    };
    let url = redis.url();
    let args = [
        "--introspection-keys",
        SERVICE_KEY,
        NO_LINK[0],
        NO_LINK[1],
        "--redis-url",
        &url,
    ];
    let first = spawn_app_with(&args).await;
    let second = spawn_sibling(&first, &args).await;
    let session = signed_up(&first).await;
    let kept = Tokens::of(&first.login(session.email(), PASSWORD).await);
    assert_me(&second, &session, &session.user).await;
    assert_me(&second, &kept, &session.user).await;

    // The second instance hears that it lost Redis (its revocation stream ends).
    let mut stream = watch(&second).await;
    redis.kill();
    let ended = tokio::time::timeout(NOTICE, stream.message())
        .await
        .expect("the stream ends in time");
    assert_status(
        &ended.expect_err("the stream ends with a status"),
        GRPC_REVOCATIONS_MISSED,
    );

    // A logout the second instance cannot hear of: it asks the database.
    log_out(&first, &session).await;
    second
        .me(&session.access)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
    assert_me(&second, &kept, &session.user).await;

    // Redis back: the broadcast reconnects and logouts are heard again, once
    // both instances subscribed again (each retries on its own timer; until the
    // first hears its own logout back, it cannot know the second heard it).
    redis.restart().await;
    let deadline = tokio::time::Instant::now() + NOTICE;
    loop {
        let probe = signed_up(&first).await;
        let mut streams = [watch(&first).await, watch(&second).await];
        log_out(&first, &probe).await;
        let mut heard = 0;
        for stream in &mut streams {
            let next = tokio::time::timeout(Duration::from_millis(500), stream.message()).await;
            heard += usize::from(matches!(next, Ok(Ok(Some(_)))));
        }
        if heard == streams.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broadcast reconnects in time"
        );
    }
    logout_here_is_refused_there(&first, &second).await;
}
