//! POST /admin/users/import: users with argon2id, argon2i and bcrypt hashes from
//! another system log in with their passwords, and their hashes become the
//! service's argon2id; rows that cannot be imported are skipped with a reason;
//! at most 1,000 rows per call.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The service's hashes with the test configuration's (default) parameters.
const SERVICE_ARGON2ID: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// A bcrypt hash of `password` at the lowest cost (fast to make and to check).
fn bcrypt_of(password: &str) -> String {
    bcrypt::hash(password, 4).expect("bcrypt")
}

/// A PHC string of `password` in another system's argon2 flavour.
fn argon2(algorithm: Algorithm, m: u32, t: u32, password: &str) -> String {
    let params = Params::new(m, t, 1, None).expect("argon2 parameters");
    let hasher = Argon2::new(algorithm, Version::V0x13, params);
    let hash = hasher.hash_password(password.as_bytes());
    hash.expect("argon2 hash").to_string()
}

async fn import(app: &TestApp, users: Vec<Value>) -> Reply {
    let body = json!({"users": users});
    app.admin(Method::POST, "/admin/users/import", Some(&body))
        .await
}

#[tokio::test]
async fn imported_hashes_log_in_and_become_the_service_argon2id() {
    let app = spawn_admin_app(&[]).await;
    let hashes = [
        // Weaker than the service's parameters.
        argon2(Algorithm::Argon2id, 8_192, 1, PASSWORD),
        argon2(Algorithm::Argon2i, 19_456, 2, PASSWORD),
        bcrypt::hash(PASSWORD, 4).expect("bcrypt"),
        // $2y$ is PHP's name for the same bcrypt.
        bcrypt::hash(PASSWORD, 5)
            .expect("bcrypt")
            .replacen("$2b$", "$2y$", 1),
    ];
    let emails: Vec<String> = hashes.iter().map(|_| unique_email()).collect();
    let rows = emails
        .iter()
        .zip(&hashes)
        .map(|(email, hash)| {
            json!({"email": email, "password_hash": hash, "name": "Imported", "email_verified": true})
        })
        .collect();
    let reply = import(&app, rows).await;
    reply.assert_status(reqwest::StatusCode::OK);
    assert_eq!(reply.body, json!({"created": 4, "skipped": []}));

    for (email, hash) in emails.iter().zip(&hashes) {
        assert_eq!(&app.stored_hash(email).await, hash, "kept as imported");
        app.login(email, "not the imported password")
            .await
            .assert_problem(INVALID_CREDENTIALS);
        assert_eq!(
            &app.stored_hash(email).await,
            hash,
            "a wrong password changes nothing"
        );

        let session = Tokens::of(&app.login(email, PASSWORD).await);
        assert_eq!(session.user["name"], "Imported");
        assert_eq!(session.user["email_verified"], true);
        let upgraded = app.stored_hash(email).await;
        assert!(
            upgraded.starts_with(SERVICE_ARGON2ID),
            "{hash} -> {upgraded}"
        );
        // The new hash is the same password.
        Tokens::of(&app.login(email, PASSWORD).await);
        assert_eq!(app.stored_hash(email).await, upgraded, "no second rehash");
    }

    let events = app.admin_events("&kind=user_imported").await;
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e["actor"] == "env:1"), "{events:?}");
}

#[tokio::test]
async fn an_imported_user_without_verified_email_confirms_it_first() {
    let app = spawn_admin_app(&[]).await;
    let email = unique_email();
    let row = json!({"email": email, "password_hash": bcrypt_of(PASSWORD)});
    let reply = import(&app, vec![row]).await;
    assert_eq!(reply.body, json!({"created": 1, "skipped": []}));
    let id = app.user_id_of(&email).await;
    let user = app.admin_user(&id).await;
    assert_eq!(
        (&user["email_verified"], &user["name"]),
        (&json!(false), &Value::Null)
    );
    // The right password is checked, and upgraded, before the address is asked for.
    app.login(&email, PASSWORD)
        .await
        .assert_problem(EMAIL_NOT_VERIFIED);
    let upgraded = app.stored_hash(&email).await;
    assert!(upgraded.starts_with(SERVICE_ARGON2ID), "{upgraded}");
}

#[tokio::test]
async fn rows_that_cannot_be_imported_are_skipped_with_their_reason() {
    let app = spawn_admin_app(&[]).await;
    let registered = app.verified_user().await;
    let fine = unique_email();
    let twice = unique_email();
    let good = bcrypt_of(PASSWORD);
    let argon2d = argon2(Algorithm::Argon2d, 8_192, 1, PASSWORD);
    let costly_argon2 = "$argon2id$v=19$m=262145,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    let costly_bcrypt = good.replacen("$04$", "$15$", 1);
    let rows = [
        (fine.clone(), good.as_str(), "created"),
        (registered.to_uppercase(), good.as_str(), "email_taken"),
        (twice.clone(), good.as_str(), "created"),
        (twice.to_uppercase(), good.as_str(), "email_taken"),
        ("not-an-email".into(), good.as_str(), "invalid_email"),
        (
            unique_email(),
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "unsupported_hash",
        ),
        (unique_email(), argon2d.as_str(), "unsupported_hash"),
        (unique_email(), "$2b$04$tooshort", "malformed_hash"),
        (
            unique_email(),
            "$argon2id$v=19$m=19456,t=2,p=1",
            "malformed_hash",
        ),
        (unique_email(), costly_argon2, "hash_too_costly"),
        (unique_email(), costly_bcrypt.as_str(), "hash_too_costly"),
    ];
    let body = rows
        .iter()
        .map(|(email, hash, _)| json!({"email": email, "password_hash": hash}))
        .collect();
    let reply = import(&app, body).await;
    let skipped: Vec<Value> = rows
        .iter()
        .filter(|(_, _, outcome)| *outcome != "created")
        .map(|(email, _, reason)| json!({"email": email, "reason": reason}))
        .collect();
    assert_eq!(reply.body, json!({"created": 2, "skipped": skipped}));
    assert_eq!(app.count("users").await, 3);
    let events = app.admin_events("&kind=user_imported").await;
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn a_thousand_rows_import_and_more_are_422_importing_nothing() {
    let app = spawn_admin_app(&[]).await;
    let hash = bcrypt_of(PASSWORD);
    let rows = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|_| json!({"email": unique_email(), "password_hash": hash}))
            .collect()
    };
    import(&app, rows(1001))
        .await
        .assert_invalid(&[("users", "must have at most 1000 entries")]);
    assert_eq!(app.count("users").await, 0);

    let reply = import(&app, rows(1000)).await;
    assert_eq!(reply.body, json!({"created": 1000, "skipped": []}));
    assert_eq!(app.count("users").await, 1000);

    let missing = json!({"users": [{"email": unique_email()}]});
    app.admin(Method::POST, "/admin/users/import", Some(&missing))
        .await
        .assert_invalid(&[("password_hash", "missing field `password_hash`")]);
}
