//! Admin keys: none configured means no admin access; ADMIN_KEYS and keys made
//! with `auth-service admin-keys create` open /admin/; nothing else does (a
//! user's access token included); keys are stored only as hashes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// Every admin endpoint, with a body where it takes one.
fn admin_endpoints() -> Vec<(Method, String, Option<Value>)> {
    let id = uuid::Uuid::new_v4();
    let user = json!({"email": unique_email(), "password": PASSWORD});
    vec![
        (Method::GET, "/admin/users".into(), None),
        (Method::POST, "/admin/users".into(), Some(user)),
        (Method::GET, format!("/admin/users/{id}"), None),
        (
            Method::PATCH,
            format!("/admin/users/{id}"),
            Some(json!({"disabled": true})),
        ),
        (Method::DELETE, format!("/admin/users/{id}"), None),
        (Method::POST, format!("/admin/users/{id}/logout"), None),
        (
            Method::POST,
            "/admin/users/import".into(),
            Some(json!({"users": []})),
        ),
        (Method::GET, "/admin/events".into(), None),
    ]
}

/// Each endpoint answers exactly 401 `invalid_admin_key` to `key`.
async fn assert_refused_everywhere(app: &TestApp, key: Option<&str>) {
    for (method, path, body) in admin_endpoints() {
        let mut request = app.request(method.clone(), &path).bearer(key);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let reply = request.send().await;
        reply.assert_problem(INVALID_ADMIN_KEY);
        let challenge = reply.header("www-authenticate");
        assert_eq!(
            challenge,
            Some(r#"Bearer realm="admin""#),
            "{method} {path}"
        );
    }
}

/// `auth-service admin-keys create --name NAME` on this app's database: whether
/// it succeeded, its stdout and its stderr. Awaited, not blocking: the app runs
/// on this test's runtime and must go on serving (and committing) meanwhile.
async fn create_key(app: &TestApp, name: &str) -> (bool, String, String) {
    let data_dir = app.database.data_dir();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .args(["admin-keys", "create", "--name", name])
        .env("DATABASE_URL", app.database.url())
        .env("DATA_DIR", data_dir)
        .output()
        .await
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stdout, stderr)
}

#[tokio::test]
async fn without_admin_keys_every_admin_endpoint_is_401() {
    let app = spawn_app().await;
    assert_refused_everywhere(&app, None).await;
    assert_refused_everywhere(&app, Some(ADMIN_KEY)).await;
    assert_eq!(app.count("users").await, 0, "nothing was created");
}

#[tokio::test]
async fn keys_from_admin_keys_open_the_admin_api_and_nothing_else_does() {
    let second = "another-admin-key-with-more-than-32-chars";
    let keys = format!("{ADMIN_KEY},{second}");
    let app = spawn_app_with(&["--admin-keys", &keys]).await;
    for key in [ADMIN_KEY, second] {
        let reply = app.admin_as(key, Method::GET, "/admin/users", None).await;
        reply.assert_status(StatusCode::OK);
    }
    let almost = format!("{}X", &ADMIN_KEY[..ADMIN_KEY.len() - 1]);
    let longer = format!("{ADMIN_KEY}X");
    for wrong in [almost.as_str(), longer.as_str(), &ADMIN_KEY[..16]] {
        assert_refused_everywhere(&app, Some(wrong)).await;
    }
    assert_refused_everywhere(&app, None).await;

    // A user's access token is never an admin key.
    let session = app.signed_up().await;
    assert_refused_everywhere(&app, Some(&session.access)).await;
}

#[tokio::test]
async fn a_created_key_works_at_once_on_a_running_instance_and_is_stored_hashed() {
    let app = spawn_app().await;
    let (ok, stdout, stderr) = create_key(&app, "ops-laptop").await;
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the key alone on stdout: {stdout:?}");
    let key = lines[0];
    assert!(key.len() >= 32, "{key}");

    let created = app
        .admin_as(key, Method::POST, "/admin/users", Some(&new_user_body()))
        .await;
    created.assert_status(StatusCode::CREATED);
    let events = app.admin_as(key, Method::GET, "/admin/events", None).await;
    events.assert_status(StatusCode::OK);
    assert_eq!(events.body["events"][0]["type"], "user_created_by_admin");
    assert_eq!(events.body["events"][0]["actor"], "ops-laptop");

    let stored: Vec<u8> = sqlx::query_scalar("select key_hash from admin_keys where name = $1")
        .bind("ops-laptop")
        .fetch_one(&app.db)
        .await
        .expect("the key's row");
    assert_eq!(stored, Sha256::digest(key.as_bytes()).to_vec());

    // Names are unique; a second key gets a name of its own.
    let (ok, stdout, stderr) = create_key(&app, "ops-laptop").await;
    assert!(!ok && stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("exists already"), "{stderr}");
    let (ok, second, stderr) = create_key(&app, "ci").await;
    assert!(ok, "{stderr}");
    let reply = app
        .admin_as(second.trim(), Method::GET, "/admin/users", None)
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(app.count("admin_keys").await, 2);
}

#[tokio::test]
async fn a_short_admin_key_stops_start_up_naming_the_variable() {
    let dir = std::env::temp_dir().join(format!("auth-admin-{}", uuid::Uuid::new_v4()));
    let data_dir = dir.to_str().expect("UTF-8 path");
    let keys = format!("{ADMIN_KEY},too-short");
    let (ok, stderr) = start_binary(&[("DATA_DIR", data_dir), ("ADMIN_KEYS", &keys)]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!ok);
    assert!(stderr.contains("ADMIN_KEYS"), "{stderr}");
    assert!(stderr.contains("at least 32 characters"), "{stderr}");
    assert!(
        !stderr.contains("too-short"),
        "the value is not repeated: {stderr}"
    );
}

#[tokio::test]
async fn the_spec_puts_the_admin_paths_under_their_tag_with_the_admin_key() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json").await.body;
    let scheme = &spec["components"]["securitySchemes"]["admin_key"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    for (method, path, _) in admin_endpoints() {
        let path = path
            .split('/')
            .map(|part| if part.len() == 36 { "{id}" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let operation = &spec["paths"][&path][method.as_str().to_lowercase()];
        assert_eq!(operation["tags"], json!(["admin"]), "{method} {path}");
        assert_eq!(
            operation["security"],
            json!([{"admin_key": []}]),
            "{method} {path}"
        );
        assert!(operation["responses"]["401"].is_object(), "{method} {path}");
    }
}
