//! Many clients at once: no request may fail because the database is busy (on
//! SQLite, "database is locked" must never reach a client).

use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::*;

const CLIENTS: usize = 32;
const REFRESHES: usize = 3;

/// One client's life: register (logged in at once), log in again, refresh a few
/// times, read /me. Returns every status it saw, labelled.
async fn client_session(base: String, client: reqwest::Client) -> Vec<(String, StatusCode)> {
    let email = unique_email();
    let mut seen = Vec::new();
    let post = |path: &'static str, body: serde_json::Value| {
        client.post(format!("{base}{path}")).json(&body).send()
    };
    let register = post("/register", json!({"email": email, "password": PASSWORD}))
        .await
        .expect("register sent");
    seen.push(("register".to_owned(), register.status()));
    let login = post("/login", json!({"email": email, "password": PASSWORD}))
        .await
        .expect("login sent");
    seen.push(("login".to_owned(), login.status()));
    let body: serde_json::Value = login.json().await.unwrap_or_default();
    let mut refresh_token = body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut access_token = body["access_token"].as_str().unwrap_or_default().to_owned();
    for i in 0..REFRESHES {
        let res = post("/refresh", json!({"refresh_token": refresh_token}))
            .await
            .expect("refresh sent");
        seen.push((format!("refresh {i}"), res.status()));
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        refresh_token = body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        access_token = body["access_token"].as_str().unwrap_or_default().to_owned();
    }
    let me = client
        .get(format!("{base}/me"))
        .bearer_auth(&access_token)
        .send()
        .await
        .expect("me sent");
    seen.push(("me".to_owned(), me.status()));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_clients_register_log_in_and_refresh_without_errors() {
    let app = spawn_app_with(&["--require-email-verification", "false"]).await;
    let mut clients = JoinSet::new();
    for _ in 0..CLIENTS {
        clients.spawn(client_session(app.base.clone(), app.client.clone()));
    }
    let mut failures = Vec::new();
    while let Some(result) = clients.join_next().await {
        for (step, status) in result.expect("client task") {
            let expected = if step == "register" {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            if status != expected {
                failures.push(format!("{step}: {status}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed steps: {failures:?}",
        failures.len()
    );
    assert_eq!(app.count("users").await, CLIENTS as i64);
    assert_eq!(app.count("sessions").await, 2 * CLIENTS as i64);
    assert_eq!(
        app.count("refresh_tokens").await,
        ((2 + REFRESHES) * CLIENTS) as i64
    );
}
