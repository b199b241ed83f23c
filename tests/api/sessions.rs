//! GET /sessions and DELETE /sessions/{id}: the caller's devices, and ending one.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// SESSION_MAX_LIFETIME by default.
const ABSOLUTE: chrono::Duration = chrono::Duration::days(90);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A verified user logged in on two devices, each with its own user agent.
struct TwoDevices {
    email: String,
    phone: Tokens,
    laptop: Tokens,
}

const PHONE_AGENT: &str = "PhoneApp/2.1 (iOS 18)";
const LAPTOP_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0";

async fn two_devices(app: &TestApp) -> TwoDevices {
    let email = app.verified_user().await;
    let login = |agent| app.login_with_agent(&email, PASSWORD, agent);
    let phone = Tokens::of(&login(PHONE_AGENT).await);
    let laptop = Tokens::of(&login(LAPTOP_AGENT).await);
    TwoDevices {
        email,
        phone,
        laptop,
    }
}

/// GET /sessions as this access token, asserting a 200 JSON array.
async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let reply = app.get_bearer("/sessions", access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply
        .body
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", reply.text))
        .clone()
}

/// The listed session with this id, if any.
fn entry<'a>(list: &'a [Value], sid: &str) -> Option<&'a Value> {
    list.iter().find(|s| s["id"] == sid)
}

fn ids(list: &[Value]) -> BTreeSet<String> {
    list.iter()
        .map(|s| s["id"].as_str().expect("id is a string").to_owned())
        .collect()
}

/// DELETE /sessions/{id}, with this access token if any.
async fn delete_session(app: &TestApp, access: Option<&str>, id: &str) -> Reply {
    let path = format!("/sessions/{id}");
    app.request(Method::DELETE, &path)
        .bearer(access)
        .send()
        .await
}

#[tokio::test]
async fn each_login_is_listed_with_exactly_the_documented_fields() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    let list = sessions(&app, &user.phone.access).await;

    assert_eq!(
        ids(&list),
        BTreeSet::from([user.phone.sid.clone(), user.laptop.sid.clone()])
    );
    let expected_fields: BTreeSet<&str> = [
        "id",
        "created_at",
        "last_used_at",
        "expires_at",
        "ip",
        "user_agent",
        "current",
    ]
    .into();
    for session in &list {
        assert_eq!(field_names(session), expected_fields, "{session}");
        assert_eq!(session["ip"], "127.0.0.1", "{session}");
    }
    let phone = entry(&list, &user.phone.sid).expect("phone listed");
    let laptop = entry(&list, &user.laptop.sid).expect("laptop listed");
    assert_eq!(phone["user_agent"], PHONE_AGENT);
    assert_eq!(laptop["user_agent"], LAPTOP_AGENT);
}

#[tokio::test]
async fn current_is_true_only_for_the_session_of_the_token_making_the_request() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    for (caller, other) in [(&user.phone, &user.laptop), (&user.laptop, &user.phone)] {
        let list = sessions(&app, &caller.access).await;
        assert_eq!(entry(&list, &caller.sid).expect("caller")["current"], true);
        assert_eq!(entry(&list, &other.sid).expect("other")["current"], false);
    }
}

#[tokio::test]
async fn another_users_sessions_never_appear() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    let stranger = app.signed_up().await;

    let theirs = sessions(&app, &stranger.access).await;
    assert_eq!(ids(&theirs), BTreeSet::from([stranger.sid.clone()]));
    let mine = sessions(&app, &user.phone.access).await;
    assert!(entry(&mine, &stranger.sid).is_none(), "{mine:?}");
    assert_eq!(mine.len(), 2, "{mine:?}");
}

#[tokio::test]
async fn a_session_ended_by_logout_is_no_longer_listed() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    let reply = app
        .post_json("/logout", &json!({"refresh_token": user.laptop.refresh}))
        .await;
    reply.assert_no_content();

    let list = sessions(&app, &user.phone.access).await;
    assert_eq!(ids(&list), BTreeSet::from([user.phone.sid.clone()]));
}

#[tokio::test]
async fn expires_at_is_in_the_future_and_never_later_than_the_absolute_lifetime() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    let list = sessions(&app, &user.phone.access).await;
    let phone = entry(&list, &user.phone.sid).expect("phone listed");
    let created = rfc3339(&phone["created_at"]);
    let expires = rfc3339(&phone["expires_at"]);
    assert!(expires > app.clock.now(), "{phone}");
    assert!(expires <= created + ABSOLUTE, "{phone}");

    // Refreshing every 29 days keeps the session alive, but the idle expiry of the
    // last refresh (day 87 + 30) would pass the absolute end: the end is shown.
    let mut refresh = user.phone.refresh.clone();
    let mut access = user.phone.access.clone();
    for _ in 0..3 {
        app.advance(DAY * 29);
        let device = app.refreshed(&refresh).await;
        refresh = device.refresh;
        access = device.access;
    }
    let list = sessions(&app, &access).await;
    let phone = entry(&list, &user.phone.sid).expect("phone still listed");
    let expires = rfc3339(&phone["expires_at"]);
    assert!(expires > app.clock.now(), "{phone}");
    assert!(expires <= created + ABSOLUTE, "{phone}");
    assert!(
        expires > created + ABSOLUTE - chrono::Duration::minutes(1),
        "the absolute end, not an earlier idle expiry: {phone}"
    );
}

#[tokio::test]
async fn last_used_at_moves_forward_when_the_session_is_refreshed() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    let before = sessions(&app, &user.phone.access).await;
    let phone_before = entry(&before, &user.phone.sid).expect("phone").clone();
    let laptop_before = entry(&before, &user.laptop.sid).expect("laptop").clone();
    assert_eq!(
        phone_before["last_used_at"], phone_before["created_at"],
        "a fresh session was last used when it was created"
    );

    app.advance(Duration::from_secs(3600));
    let phone = app.refreshed(&user.phone.refresh).await;
    let after = sessions(&app, &phone.access).await;
    let phone_after = entry(&after, &user.phone.sid).expect("phone");
    let laptop_after = entry(&after, &user.laptop.sid).expect("laptop");

    let moved = rfc3339(&phone_after["last_used_at"]) - rfc3339(&phone_before["last_used_at"]);
    assert!(moved >= chrono::Duration::seconds(3600), "{phone_after}");
    assert_eq!(phone_after["created_at"], phone_before["created_at"]);
    assert_eq!(
        laptop_after["last_used_at"], laptop_before["last_used_at"],
        "refreshing one session leaves the others alone"
    );
}

#[tokio::test]
async fn deleting_another_of_ones_own_sessions_ends_it_and_keeps_the_callers() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    delete_session(&app, Some(&user.phone.access), &user.laptop.sid)
        .await
        .assert_no_content();

    app.assert_session_ended(&user.laptop).await;
    app.assert_session_active(&user.phone).await;
    let list = sessions(&app, &user.phone.access).await;
    assert_eq!(ids(&list), BTreeSet::from([user.phone.sid.clone()]));
}

#[tokio::test]
async fn deleting_ones_current_session_is_allowed_and_ends_it() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    delete_session(&app, Some(&user.phone.access), &user.phone.sid)
        .await
        .assert_no_content();

    app.assert_session_ended(&user.phone).await;
    app.get_bearer("/sessions", &user.phone.access)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
    app.assert_session_active(&user.laptop).await;
}

#[tokio::test]
async fn someone_elses_session_is_not_found_and_keeps_working() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    let stranger = app.signed_up().await;

    delete_session(&app, Some(&user.phone.access), &stranger.sid)
        .await
        .assert_problem(NOT_FOUND);

    app.assert_session_active(&stranger).await;
    let refreshed = app.refresh(&stranger.refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert!(entry(&sessions(&app, &stranger.access).await, &stranger.sid).is_some());
}

#[tokio::test]
async fn an_unknown_or_malformed_session_id_is_not_found() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for id in [unknown.as_str(), "abc"] {
        delete_session(&app, Some(&user.phone.access), id)
            .await
            .assert_problem(NOT_FOUND);
    }
    assert_eq!(sessions(&app, &user.phone.access).await.len(), 2);
}

#[tokio::test]
async fn an_already_ended_session_is_not_found() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;
    delete_session(&app, Some(&user.phone.access), &user.laptop.sid)
        .await
        .assert_no_content();
    delete_session(&app, Some(&user.phone.access), &user.laptop.sid)
        .await
        .assert_problem(NOT_FOUND);

    // Ended by logout rather than by DELETE: the same.
    let tablet = Tokens::of(
        &app.login_with_agent(&user.email, PASSWORD, "Tablet/1.0")
            .await,
    );
    let logout = app
        .post_json("/logout", &json!({"refresh_token": tablet.refresh}))
        .await;
    logout.assert_no_content();
    delete_session(&app, Some(&user.phone.access), &tablet.sid)
        .await
        .assert_problem(NOT_FOUND);
}

#[tokio::test]
async fn sessions_need_a_valid_bearer_token() {
    let app = spawn_app().await;
    let user = two_devices(&app).await;

    let listed = app.get("/sessions").await;
    listed.assert_problem(INVALID_ACCESS_TOKEN);
    assert!(
        listed
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    app.get_bearer("/sessions", "not-a-jwt")
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);

    delete_session(&app, None, &user.laptop.sid)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
    delete_session(&app, Some("not-a-jwt"), &user.laptop.sid)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
    app.assert_session_active(&user.laptop).await;
}
