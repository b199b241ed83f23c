//! GET /me/events: the audit trail of one's own account — what each flow records,
//! who it names, paging, isolation between users, and that a failed request
//! records nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// POST `body` to `path` as a client with this User-Agent.
async fn post(app: &TestApp, path: &str, user_agent: &str, body: Value) -> Reply {
    let request = app.request(Method::POST, path).user_agent(user_agent);
    request.json(&body).send().await
}

/// Registers (agent "Register/1"), verifies (agent "Verify/1") and logs in
/// (agent "Login/1"), so each event can be traced to its request.
async fn signed_up(app: &TestApp, email: &str) -> Tokens {
    let body = json!({"email": email, "password": PASSWORD});
    let registered = post(app, "/register", "Register/1", body).await;
    registered.assert_status(StatusCode::ACCEPTED);
    let token = app.mailed_token(email, VERIFY).await;
    let verified = post(app, "/verify-email", "Verify/1", json!({"token": token})).await;
    verified.assert_status(StatusCode::OK);
    Tokens::of(&app.login_with_agent(email, PASSWORD, "Login/1").await)
}

/// GET /me/events with this query string, asserting a 200 page.
async fn page(app: &TestApp, access: &str, query: &str) -> Value {
    let reply = app.get_bearer(&format!("/me/events{query}"), access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.body["events"].is_array(), "{}", reply.text);
    reply.body
}

/// Every event of the caller (at most 100), newest first.
async fn all_events(app: &TestApp, access: &str) -> Vec<Value> {
    let body = page(app, access, "?limit=100").await;
    assert!(body["next_before"].is_null(), "fewer than 100 events");
    body["events"].as_array().expect("events").clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("type is a string"))
        .collect()
}

fn event_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("id is a string").to_owned())
        .collect()
}

/// The one event of this type.
#[track_caller]
fn the_event<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = events.iter().filter(|e| e["type"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} event in {events:#?}");
    found[0]
}

/// The event names the client that caused it and the right session (or none).
#[track_caller]
fn assert_recorded(event: &Value, user_agent: &str, session: Option<&str>) {
    assert_eq!(event["ip"], "127.0.0.1", "{event}");
    assert_eq!(event["user_agent"], user_agent, "{event}");
    match session {
        Some(sid) => assert_eq!(event["session_id"], sid, "{event}"),
        None => assert!(event["session_id"].is_null(), "{event}"),
    }
}

#[tokio::test]
async fn signing_up_records_registration_verification_and_login_newest_first() {
    let app = spawn_app().await;
    let me = signed_up(&app, &unique_email()).await;
    let events = all_events(&app, &me.access).await;

    assert_eq!(
        kinds(&events),
        ["login_succeeded", "email_verified", "registered"]
    );
    assert_recorded(&events[0], "Login/1", Some(&me.sid));
    assert_recorded(&events[1], "Verify/1", None);
    assert_recorded(&events[2], "Register/1", None);

    let fields: BTreeSet<&str> = [
        "id",
        "type",
        "method",
        "created_at",
        "session_id",
        "ip",
        "user_agent",
    ]
    .into();
    for event in &events {
        assert_eq!(field_names(event), fields, "{event}");
        uuid::Uuid::parse_str(event["id"].as_str().expect("id")).expect("id is a uuid");
    }
    let times: Vec<_> = events.iter().map(|e| rfc3339(&e["created_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[tokio::test]
async fn registering_an_existing_email_again_records_no_second_registration() {
    let app = spawn_app().await;
    let email = unique_email();
    let me = signed_up(&app, &email).await;
    let again = post(
        &app,
        "/register",
        "Register/2",
        json!({"email": email, "password": "another password entirely"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);

    let events = all_events(&app, &me.access).await;
    assert_recorded(the_event(&events, "registered"), "Register/1", None);
}

#[tokio::test]
async fn a_wrong_password_records_login_failed_on_that_account() {
    let app = spawn_app().await;
    let email = unique_email();
    let me = signed_up(&app, &email).await;
    let body = json!({"email": email, "password": "not the password"});
    post(&app, "/login", "Guesser/1", body)
        .await
        .assert_problem(INVALID_CREDENTIALS);

    let events = all_events(&app, &me.access).await;
    assert_eq!(events[0]["type"], "login_failed", "newest: {events:#?}");
    assert_recorded(&events[0], "Guesser/1", None);
}

#[tokio::test]
async fn a_failed_login_for_an_unknown_email_shows_up_for_nobody() {
    let app = spawn_app().await;
    let email = unique_email();
    let me = signed_up(&app, &email).await;
    let before = app.count("audit_events").await;
    let mine_before = all_events(&app, &me.access).await;

    // A neighbour of the real address, so a sloppy lookup would hit this account.
    let unknown = format!("x{email}");
    let body = json!({"email": unknown, "password": PASSWORD});
    post(&app, "/login", "Guesser/1", body)
        .await
        .assert_problem(INVALID_CREDENTIALS);

    assert_eq!(
        app.count("audit_events").await,
        before + 1,
        "it is recorded"
    );
    let ownerless: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where kind = 'login_failed' and user_id is null",
    )
    .fetch_one(&app.db)
    .await
    .expect("count ownerless events");
    assert_eq!(ownerless, 1, "recorded with no user");
    assert_eq!(all_events(&app, &me.access).await, mine_before);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_after_the_grace_window_records_refresh_token_reused() {
    let app = spawn_app().await;
    let email = unique_email();
    let watcher = signed_up(&app, &email).await;
    let stolen = Tokens::of(&app.login_with_agent(&email, PASSWORD, "Login/2").await);
    let rotated = app.refresh(&stolen.refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);

    app.advance(REFRESH_GRACE + Duration::from_secs(1));
    let body = json!({"refresh_token": stolen.refresh});
    post(&app, "/refresh", "Thief/1", body)
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);

    let events = all_events(&app, &watcher.access).await;
    assert_eq!(events[0]["type"], "refresh_token_reused", "{events:#?}");
    assert_recorded(&events[0], "Thief/1", Some(&stolen.sid));
}

#[tokio::test]
async fn logging_out_records_logged_out_for_that_session() {
    let app = spawn_app().await;
    let email = unique_email();
    let watcher = signed_up(&app, &email).await;
    let leaving = Tokens::of(&app.login_with_agent(&email, PASSWORD, "Login/2").await);
    app.request(Method::POST, "/logout")
        .user_agent("Leaver/1")
        .bearer(&*leaving.access)
        .send()
        .await
        .assert_no_content();

    let events = all_events(&app, &watcher.access).await;
    assert_eq!(events[0]["type"], "logged_out", "{events:#?}");
    assert_recorded(&events[0], "Leaver/1", Some(&leaving.sid));
}

#[tokio::test]
async fn deleting_a_session_records_session_revoked_naming_the_revoked_session() {
    let app = spawn_app().await;
    let email = unique_email();
    let me = signed_up(&app, &email).await;
    let lost_phone = Tokens::of(&app.login_with_agent(&email, PASSWORD, "Login/2").await);
    delete_session(&app, &me, &lost_phone.sid).await;

    let events = all_events(&app, &me.access).await;
    assert_eq!(events[0]["type"], "session_revoked", "{events:#?}");
    assert_recorded(&events[0], "Manager/1", Some(&lost_phone.sid));
}

#[tokio::test]
async fn a_password_reset_records_the_request_and_its_completion() {
    let app = spawn_app().await;
    let email = unique_email();
    signed_up(&app, &email).await;

    post(
        &app,
        "/password/forgot",
        "Forgot/1",
        json!({"email": email}),
    )
    .await
    .assert_status(StatusCode::ACCEPTED);
    let token = app.mailed_token(&email, RESET).await;
    let body = json!({"token": token, "password": NEW_PASSWORD});
    post(&app, "/password/reset", "Reset/1", body)
        .await
        .assert_no_content();

    // Every session ended with the reset: log in again to read the trail.
    let me = Tokens::of(&app.login_with_agent(&email, NEW_PASSWORD, "Login/2").await);
    let events = all_events(&app, &me.access).await;
    assert_eq!(
        kinds(&events[..3]),
        [
            "login_succeeded",
            "password_reset_completed",
            "password_reset_requested"
        ]
    );
    assert_recorded(&events[1], "Reset/1", None);
    assert_recorded(&events[2], "Forgot/1", None);
}

#[tokio::test]
async fn changing_the_password_records_password_changed_for_the_session_that_did_it() {
    let app = spawn_app().await;
    let me = signed_up(&app, &unique_email()).await;
    let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    app.request(Method::POST, "/password/change")
        .user_agent("Changer/1")
        .bearer(&*me.access)
        .json(&body)
        .send()
        .await
        .assert_no_content();

    let events = all_events(&app, &me.access).await;
    assert_eq!(events[0]["type"], "password_changed", "{events:#?}");
    assert_recorded(&events[0], "Changer/1", Some(&me.sid));
}

/// DELETE /sessions/{sid} as `caller`, from agent "Manager/1".
async fn delete_session(app: &TestApp, caller: &Tokens, sid: &str) {
    let path = format!("/sessions/{sid}");
    app.request(Method::DELETE, &path)
        .user_agent("Manager/1")
        .bearer(&*caller.access)
        .send()
        .await
        .assert_no_content();
}

/// Gives the user 3 + 2 × `rounds` events: each round a login and its deletion.
async fn busy_user(app: &TestApp, rounds: usize) -> Tokens {
    let email = unique_email();
    let me = signed_up(app, &email).await;
    for _ in 0..rounds {
        let other = Tokens::of(&app.login_with_agent(&email, PASSWORD, "Login/n").await);
        delete_session(app, &me, &other.sid).await;
    }
    me
}

/// Follows `next_before` from the first page to the end: the pages' events.
async fn walk(app: &TestApp, access: &str, limit: usize) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut query = format!("?limit={limit}");
    loop {
        let body = page(app, access, &query).await;
        let events = body["events"].as_array().expect("events").clone();
        assert!(events.len() <= limit, "page longer than limit {limit}");
        pages.push(events);
        match body["next_before"].as_str() {
            Some(cursor) => query = format!("?limit={limit}&before={cursor}"),
            None => return pages,
        }
        assert!(pages.len() <= 100, "paging does not end");
    }
}

#[tokio::test]
async fn pages_joined_in_order_are_the_whole_trail_without_overlap_or_gap() {
    let app = spawn_app().await;
    let me = busy_user(&app, 10).await;
    let whole = all_events(&app, &me.access).await;
    assert_eq!(whole.len(), 23, "{:?}", kinds(&whole));

    let pages = walk(&app, &me.access, 7).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [7, 7, 7, 2]);
    let joined: Vec<Value> = pages.concat();
    assert_eq!(event_ids(&joined), event_ids(&whole));
}

#[tokio::test]
async fn a_page_has_20_events_by_default_and_a_cursor_to_the_rest() {
    let app = spawn_app().await;
    let me = busy_user(&app, 10).await;
    let whole = all_events(&app, &me.access).await;

    let first = page(&app, &me.access, "").await;
    let events = first["events"].as_array().expect("events");
    assert_eq!(event_ids(events), event_ids(&whole[..20]));
    assert_eq!(first["next_before"], whole[19]["id"]);

    let query = format!("?before={}", whole[19]["id"].as_str().expect("id"));
    let rest = page(&app, &me.access, &query).await;
    let events = rest["events"].as_array().expect("events");
    assert_eq!(event_ids(events), event_ids(&whole[20..]));
    assert!(rest["next_before"].is_null(), "last page: {rest}");
}

#[tokio::test]
async fn a_page_that_reaches_the_oldest_event_has_no_next_before() {
    let app = spawn_app().await;
    // 3 + 2 × 2 = 7 events, read in pages of 7: the first page holds them all.
    let me = busy_user(&app, 2).await;
    let first = page(&app, &me.access, "?limit=7").await;
    assert_eq!(first["events"].as_array().expect("events").len(), 7);
    assert!(
        first["next_before"].is_null(),
        "no older events, yet a cursor to an empty page: {first}"
    );
}

#[tokio::test]
async fn a_limit_outside_1_to_100_is_a_validation_error() {
    let app = spawn_app().await;
    let me = signed_up(&app, &unique_email()).await;
    for query in ["?limit=0", "?limit=101"] {
        let reply = app
            .get_bearer(&format!("/me/events{query}"), &me.access)
            .await;
        reply.assert_invalid(&[("limit", "must be a whole number between 1 and 100")]);
    }
    let one = page(&app, &me.access, "?limit=1").await;
    assert_eq!(one["events"].as_array().expect("events").len(), 1);
    assert!(one["next_before"].is_string(), "{one}");
    let hundred = page(&app, &me.access, "?limit=100").await;
    assert_eq!(hundred["events"].as_array().expect("events").len(), 3);
}

#[tokio::test]
async fn a_user_never_sees_another_users_events() {
    let app = spawn_app().await;
    let alice = busy_user(&app, 1).await;
    let bob = signed_up(&app, &unique_email()).await;

    let alices = all_events(&app, &alice.access).await;
    let bobs = all_events(&app, &bob.access).await;
    assert_eq!(
        kinds(&bobs),
        ["login_succeeded", "email_verified", "registered"]
    );
    assert_eq!(bobs[0]["session_id"], bob.sid.as_str());
    let alice_ids: BTreeSet<String> = event_ids(&alices).into_iter().collect();
    assert!(
        event_ids(&bobs).iter().all(|id| !alice_ids.contains(id)),
        "{bobs:#?}"
    );

    // Alice's newest event as Bob's cursor: nothing of hers leaks, nothing of his either.
    let query = format!("?before={}", alices[0]["id"].as_str().expect("id"));
    let leaked = page(&app, &bob.access, &query).await;
    assert_eq!(leaked, json!({"events": [], "next_before": null}));
}

#[tokio::test]
async fn events_need_a_valid_bearer_token() {
    let app = spawn_app().await;
    app.get("/me/events")
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
    app.get_bearer("/me/events", "not-a-jwt")
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
}

#[tokio::test]
async fn a_registration_that_fails_validation_records_nothing() {
    let app = spawn_app().await;
    signed_up(&app, &unique_email()).await;
    let before = app.count("audit_events").await;

    let short = json!({"email": unique_email(), "password": "short"});
    post(&app, "/register", "Register/1", short)
        .await
        .assert_invalid(&[("password", "must be between 8 and 128 characters")]);
    let bad_email = json!({"email": "not an email", "password": PASSWORD});
    post(&app, "/register", "Register/1", bad_email)
        .await
        .assert_invalid(&[("email", "must be a valid email address")]);

    assert_eq!(app.count("audit_events").await, before);
}

#[tokio::test]
async fn a_logout_that_fails_records_nothing() {
    let app = spawn_app().await;
    let me = signed_up(&app, &unique_email()).await;
    let before = app.count("audit_events").await;

    let logout = || app.request(Method::POST, "/logout").user_agent("Leaver/1");
    logout()
        .bearer("not-a-jwt")
        .send()
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
    logout().send().await.assert_problem(NO_CREDENTIALS);
    logout()
        .json(&json!({"refresh_token": random_token()}))
        .send()
        .await
        .assert_problem(INVALID_REFRESH_TOKEN);

    assert_eq!(app.count("audit_events").await, before);
    let events = all_events(&app, &me.access).await;
    assert_eq!(events[0]["type"], "login_succeeded", "{events:#?}");
}
