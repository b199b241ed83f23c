//! POST /refresh: rotation, the grace window for several tabs, reuse detection,
//! idle and absolute expiry, and how refresh tokens are stored.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::helpers::*;

/// REFRESH_TOKEN_TTL (idle timeout) by default.
const IDLE: Duration = Duration::from_secs(30 * 24 * 3600);
const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_keeps_the_session() {
    let app = spawn_app().await;
    let login = app.signed_up_user(&unique_email()).await;
    let first = Tokens::of(&login);

    let reply = app.refresh(&first.refresh).await;
    let second = Tokens::of(&reply);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.body["expires_in"], 900);
    assert_eq!(reply.body["user"], login.body["user"]);
    assert_ne!(
        second.refresh, first.refresh,
        "the refresh token is rotated"
    );
    assert_ne!(second.access, first.access);
    assert_eq!(second.sid, first.sid, "same session");
    assert_eq!(app.me(&second.access).await.status, StatusCode::OK);

    let third = app.refreshed(&second.refresh).await;
    assert_eq!(third.sid, first.sid);
    assert_ne!(third.refresh, second.refresh);
}

#[tokio::test]
async fn a_rotated_token_reused_within_the_grace_window_gets_the_same_successor() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let first_tab = app.refreshed(&login.refresh).await;

    // A second tab presents the token the first tab just rotated.
    let second_tab = app.refreshed(&login.refresh).await;
    // A third one, a few seconds later but still inside the grace window.
    app.advance(REFRESH_GRACE / 2);
    let third_tab = app.refreshed(&login.refresh).await;

    // The session does not fork: every tab holds the one live refresh token.
    let successors = [&first_tab, &second_tab, &third_tab];
    let distinct: HashSet<&str> = successors.iter().map(|p| p.refresh.as_str()).collect();
    assert_eq!(distinct.len(), 1, "every tab gets the same successor");
    assert_eq!(live_refresh_tokens(&app).await, 1);
    for tab in successors {
        assert_eq!(tab.sid, login.sid);
        assert_eq!(app.me(&tab.access).await.status, StatusCode::OK);
    }
    // No tab is logged out: the first rotates the shared successor, the others
    // present it inside its own grace window.
    for tab in successors {
        let next = app.refreshed(&tab.refresh).await;
        assert_eq!(next.sid, login.sid);
    }
}

#[tokio::test]
async fn a_rotated_token_reused_after_the_grace_window_revokes_the_whole_session() {
    let app = spawn_app().await;
    let email = unique_email();
    let stolen = Tokens::of(&app.signed_up_user(&email).await);
    let other_device = Tokens::of(&app.login(&email, PASSWORD).await);
    let successor = app.refreshed(&stolen.refresh).await;

    app.advance(REFRESH_GRACE + Duration::from_secs(1));
    app.refresh(&stolen.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);

    // Every token of that session stops working at once.
    app.assert_session_ended(&successor).await;
    app.me(&stolen.access)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);

    // The user's other session is untouched.
    assert_eq!(app.me(&other_device.access).await.status, StatusCode::OK);
    let next = app.refreshed(&other_device.refresh).await;
    assert_eq!(next.sid, other_device.sid);
    // The user is not locked out: a new login works.
    Tokens::of(&app.login(&email, PASSWORD).await);
}

#[tokio::test]
async fn the_grace_window_runs_from_the_first_rotation_and_reuse_does_not_extend_it() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let successor = app.refreshed(&login.refresh).await;

    // Reused inside the window: honoured, but the window keeps its start…
    app.advance(REFRESH_GRACE * 3 / 5);
    app.refreshed(&login.refresh).await;
    // …so a reuse that is within the grace period of the last reuse, but not of the
    // rotation, is a replay.
    app.advance(REFRESH_GRACE * 3 / 5);
    app.refresh(&login.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    app.refresh(&successor.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_all_get_the_same_successor() {
    const TABS: usize = 20;
    let app = spawn_app().await;
    let login = app.signed_up().await;

    let mut tabs = JoinSet::new();
    for _ in 0..TABS {
        let request = app.request(Method::POST, "/refresh");
        tabs.spawn(
            request
                .json(&json!({"refresh_token": login.refresh}))
                .send(),
        );
    }
    let replies = tabs.join_all().await;

    let pairs: Vec<Tokens> = replies.iter().map(Tokens::of).collect();
    let distinct: HashSet<&str> = pairs.iter().map(|p| p.refresh.as_str()).collect();
    assert_eq!(
        distinct.len(),
        1,
        "one successor for every tab: {distinct:?}"
    );
    assert!(!distinct.contains(login.refresh.as_str()));
    for pair in &pairs {
        assert_eq!(pair.sid, login.sid);
    }
    // One row for the login's token and one for its successor: the session never
    // had a second live token.
    assert_eq!(app.count("refresh_tokens").await, 2);
    assert_eq!(live_refresh_tokens(&app).await, 1);
}

#[tokio::test]
async fn after_the_grace_window_the_one_successor_works_and_the_original_is_reuse() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let owner = app.refreshed(&login.refresh).await;
    // A thief replaying the stolen token inside the window gets the owner's
    // successor, not a branch of its own.
    let thief = app.refreshed(&login.refresh).await;
    assert_eq!(thief.refresh, owner.refresh);

    app.advance(REFRESH_GRACE + Duration::from_secs(1));
    let next = app.refreshed(&owner.refresh).await;
    assert_eq!(next.sid, login.sid);
    assert_eq!(live_refresh_tokens(&app).await, 1);

    // The original, after the window, is reuse: the whole session goes.
    app.refresh(&login.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    app.assert_session_ended(&next).await;
}

#[tokio::test]
async fn an_unknown_or_malformed_refresh_token_is_refused() {
    let app = spawn_app().await;
    app.refresh(&random_token())
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    app.refresh("abc")
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    let too_long = format!("{}A", app.signed_up().await.refresh);
    app.refresh(&too_long)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
}

#[tokio::test]
async fn an_empty_or_missing_refresh_token_is_a_validation_error() {
    let app = spawn_app().await;
    let cases = [
        (json!({"refresh_token": ""}), "is required"),
        (json!({}), "is required"),
        (
            json!({"refresh_token": null}),
            "invalid type: null, expected a string",
        ),
        (
            json!({"refresh_token": 42}),
            "invalid type: integer `42`, expected a string",
        ),
    ];
    for (body, message) in cases {
        let reply = app.post_json("/refresh", &body).await;
        reply.assert_invalid(&[("refresh_token", message)]);
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_without_consuming_the_token() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let body = json!({"refresh_token": login.refresh}).to_string();
    app.post_raw("/refresh", "text/plain", body.clone())
        .await
        .assert_problem(UNSUPPORTED_MEDIA_TYPE);
    app.post_raw("/refresh", "application/json", format!("{body}}}"))
        .await
        .assert_problem(malformed_json(
            "The request body is not valid JSON: trailing characters at line 1 column 64",
        ));
    app.refreshed(&login.refresh).await;
}

#[tokio::test]
async fn a_refresh_token_unused_for_the_idle_timeout_expires() {
    let app = spawn_app().await;
    let email = unique_email();
    let active = Tokens::of(&app.signed_up_user(&email).await);
    let idle = Tokens::of(&app.login(&email, PASSWORD).await);

    app.advance(IDLE - Duration::from_secs(3600));
    let active = app.refreshed(&active.refresh).await;
    app.advance(Duration::from_secs(3600) + MINUTE);

    app.refresh(&idle.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
    // The session refreshed an hour before the timeout had its idle expiry moved.
    app.refreshed(&active.refresh).await;
}

#[tokio::test]
async fn each_refresh_slides_the_idle_timeout_but_never_the_absolute_lifetime() {
    let app = spawn_app_with(&["--refresh-token-ttl", "1h", "--session-max-lifetime", "3h"]).await;
    let mut pair = app.signed_up().await;

    // Refreshing every 50 minutes outlives the 1 h idle timeout (50, 100, 150, 175 min)…
    for step in [50, 50, 50, 25] {
        app.advance(MINUTE * step);
        pair = app.refreshed(&pair.refresh).await;
    }
    // …until the 3 h absolute lifetime ends, although the last refresh was 10 minutes ago.
    app.advance(MINUTE * 10);
    app.refresh(&pair.refresh)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_their_sha256() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let rotated = app.refreshed(&login.refresh).await;

    for token in [&login.refresh, &rotated.refresh] {
        let plaintext = rows_with_hash(&app, token.as_bytes()).await;
        assert_eq!(plaintext, 0, "plaintext stored for {token}");
        let hashed = rows_with_hash(&app, &Sha256::digest(token.as_bytes())).await;
        assert_eq!(hashed, 1, "SHA-256 stored for {token}");
        let in_session_text: i64 = sqlx::query_scalar(
            "select count(*) from sessions
             where coalesce(ip, '') || coalesce(user_agent, '') || coalesce(revoked_reason, '')
                   like '%' || $1 || '%'",
        )
        .bind(token.as_str())
        .fetch_one(&app.db)
        .await
        .expect("search sessions");
        assert_eq!(
            in_session_text, 0,
            "plaintext found in a session row: {token}"
        );
    }
}

/// Refresh-token rows not rotated yet (the tests that use it have one session).
async fn live_refresh_tokens(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from refresh_tokens where rotated_at is null")
        .fetch_one(&app.db)
        .await
        .expect("count live refresh tokens")
}

async fn rows_with_hash(app: &TestApp, hash: &[u8]) -> i64 {
    sqlx::query_scalar("select count(*) from refresh_tokens where token_hash = $1")
        .bind(hash)
        .fetch_one(&app.db)
        .await
        .expect("count refresh tokens")
}
