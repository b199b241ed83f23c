//! Requests at the edges of what the OpenAPI document allows, each one a case the
//! contract fuzzing (scripts/contract-fuzz.sh) once found answered off the spec:
//! they are pinned here so that a plain `cargo test` holds them too.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_a_validation_error() {
    let app = spawn_app().await;
    // serde would fill the request from an array of its fields, in order.
    let fields_in_order = json!(["ada@example.com", "a whole new passphrase"]);
    app.post_json("/register", &fields_in_order)
        .await
        .assert_invalid(&[("body", "must be a JSON object")]);
    app.post_json("/login", &json!("ada@example.com"))
        .await
        .assert_invalid(&[("body", "must be a JSON object")]);
    app.post_json("/login/passkey/start", &json!([]))
        .await
        .assert_invalid(&[("body", "must be a JSON object")]);
}

#[tokio::test]
async fn logout_takes_a_json_null_body_as_no_body_and_a_blank_one_as_malformed() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    app.request(Method::POST, "/logout")
        .bearer(session.access.as_str())
        .body("application/json", "\t")
        .send()
        .await
        .assert_problem(malformed_json(
            "The request body is not valid JSON: EOF while parsing a value at line 1 column 1",
        ));
    app.assert_session_active(&session).await;
    app.request(Method::POST, "/logout")
        .bearer(session.access.as_str())
        .body("application/json", "null")
        .send()
        .await
        .assert_no_content();
    app.assert_session_ended(&session).await;
}

#[tokio::test]
async fn a_link_with_its_token_given_twice_uses_the_first() {
    let app = spawn_app().await;
    let token = random_token();
    let page = app
        .get(&format!("/password/reset?token={token}&token=other"))
        .await;
    page.assert_page(StatusCode::OK);
    assert!(page.text.contains(&token), "{}", page.text);
    app.get("/verify-email?token=%3Cscript%3E&token=%3Cscript%3E")
        .await
        .assert_page(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_query_parameter_given_twice_is_a_validation_error() {
    let app = spawn_admin_app(&[]).await;
    let session = app.signed_up().await;
    let message = "Failed to deserialize query string: duplicate field `limit`";
    app.get_bearer("/me/events?limit=1&limit=2", &session.access)
        .await
        .assert_invalid(&[("query", message)]);
    for path in [
        "/admin/users?limit=1&limit=2",
        "/admin/events?limit=1&limit=2",
    ] {
        app.admin(Method::GET, path, None)
            .await
            .assert_invalid(&[("query", message)]);
    }
}

#[tokio::test]
async fn an_event_type_filter_is_a_snake_case_word() {
    let app = spawn_admin_app(&[]).await;
    for kind in ["Login_Failed", "login%20failed", "%00", &"a".repeat(65)] {
        app.admin(Method::GET, &format!("/admin/events?kind={kind}"), None)
            .await
            .assert_invalid(&[("kind", "must be an event type")]);
    }
    let every = app.admin(Method::GET, "/admin/events?kind=", None).await;
    every.assert_status(StatusCode::OK);
    let none = app.admin(Method::GET, "/admin/events?kind=no_such_event", None);
    let none = none.await;
    none.assert_status(StatusCode::OK);
    assert_eq!(none.body["events"], json!([]), "{}", none.text);
}

#[tokio::test]
async fn the_user_search_limits_the_query_as_sent_before_trimming_it() {
    let app = spawn_admin_app(&[]).await;
    let padded = format!("{}ada", " ".repeat(252));
    app.admin(Method::GET, &format!("/admin/users?query={padded}"), None)
        .await
        .assert_invalid(&[("query", "must be at most 254 characters, without NUL")]);
    let reply = app
        .admin(Method::GET, "/admin/users?query=%20ada", None)
        .await;
    reply.assert_status(StatusCode::OK);
}
