//! GET /admin/events: the audit trail across users, newest first, narrowed by
//! user or type, a page at a time, with the actor of operators' actions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn events_page(app: &TestApp, query: &str) -> Reply {
    app.admin(Method::GET, &format!("/admin/events{query}"), None)
        .await
}

fn ids(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("id"))
        .collect()
}

#[tokio::test]
async fn the_trail_spans_every_user_and_names_the_operator() {
    let app = spawn_admin_app(&[]).await;
    let ada = app.signed_up().await;
    let ada_id = ada.user["id"].as_str().expect("id").to_owned();
    let bob = app.verified_user().await;
    app.login(&bob, "a wrong password")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    let carol = app.admin_created(&new_user_body()).await;
    app.admin_patched(&ada_id, &json!({"disabled": true})).await;

    let events = app.admin_events("").await;
    assert_eq!(
        types(&events),
        [
            "user_disabled",
            "user_created_by_admin",
            "login_failed",
            "email_verified",
            "registered",
            "login_succeeded",
            "email_verified",
            "registered",
        ]
    );
    let actors: Vec<&Value> = events.iter().map(|e| &e["actor"]).collect();
    let env = json!("env:1");
    let none = Value::Null;
    assert_eq!(
        actors,
        [&env, &env, &none, &none, &none, &none, &none, &none]
    );
    assert_eq!(events[0]["user_id"], json!(ada_id));
    assert_eq!(events[1]["user_id"], carol["id"]);
    assert_eq!(events[5]["session_id"], json!(ada.sid));
    // The shape of /me/events, with the user and the actor.
    let mut fields = field_names(&events[0]);
    for added in ["user_id", "actor"] {
        assert!(fields.remove(added), "{}", events[0]);
    }
    let mine = app
        .get_bearer("/me/events", &app.signed_up().await.access)
        .await;
    assert_eq!(fields, field_names(&mine.body["events"][0]));

    // Narrowed by user, by type, or both.
    let of_ada = app.admin_events(&format!("&user_id={ada_id}")).await;
    assert_eq!(
        types(&of_ada),
        [
            "user_disabled",
            "login_succeeded",
            "email_verified",
            "registered"
        ]
    );
    let failed = app.admin_events("&kind=login_failed").await;
    assert_eq!(ids(&failed), [events[2]["id"].as_str().expect("id")]);
    let none = app
        .admin_events(&format!("&user_id={ada_id}&kind=login_failed"))
        .await;
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn events_come_a_page_at_a_time_and_bad_queries_are_422() {
    let app = spawn_admin_app(&[]).await;
    for _ in 0..2 {
        app.signed_up().await;
    }
    let all = app.admin_events("").await;
    assert_eq!(all.len(), 6);

    let mut seen = Vec::new();
    let mut before = String::new();
    loop {
        let reply = events_page(&app, &format!("?limit=4{before}")).await;
        reply.assert_status(reqwest::StatusCode::OK);
        let page = reply.body["events"].as_array().expect("events").clone();
        seen.extend(page);
        match reply.body["next_before"].as_str() {
            Some(id) => before = format!("&before={id}"),
            None => break,
        }
    }
    assert_eq!(seen, all);

    let limit = ("limit", "must be a whole number between 1 and 100");
    for query in ["?limit=0", "?limit=101", "?limit=x"] {
        events_page(&app, query).await.assert_invalid(&[limit]);
    }
    events_page(&app, "?user_id=nope")
        .await
        .assert_invalid(&[("user_id", "must be a user id")]);
    events_page(&app, "?before=nope")
        .await
        .assert_invalid(&[("before", "must be an event id")]);
}
