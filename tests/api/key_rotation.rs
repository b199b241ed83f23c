//! Signing-key rotation: `auth-service keys rotate` and SIGNING_KEY_ROTATION.
//! Running instances sign with the new key within seconds; the old key stays
//! in the JWKS (and its tokens verify) while a token it signed may be valid,
//! and leaves within a minute after.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::*;

/// Longest wait for every instance to follow a rotation.
const FOLLOW_WAIT: Duration = Duration::from_secs(15);
/// ACCESS_TOKEN_TTL of the test apps (the default).
const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

/// The `kid`s the app's JWKS lists.
async fn published(app: &TestApp) -> BTreeSet<String> {
    let reply = app.get("/.well-known/jwks.json").await;
    reply.assert_status(StatusCode::OK);
    let keys = reply.body["keys"].as_array().expect("keys");
    keys.iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// The `kid` of a fresh access token from `app` (a new login of `email`).
async fn signing_kid(app: &TestApp, email: &str) -> String {
    let session = Tokens::of(&app.login(email, PASSWORD).await);
    jwt_header(&session.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned()
}

/// Polls until `app` signs with a key other than `old`, which it returns.
async fn new_signing_kid(app: &TestApp, email: &str, old: &str) -> String {
    let start = Instant::now();
    loop {
        let kid = signing_kid(app, email).await;
        if kid != old {
            return kid;
        }
        assert!(start.elapsed() < FOLLOW_WAIT, "still signing with {old}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls until `app`'s JWKS lists exactly `kids`.
async fn wait_for_published(app: &TestApp, kids: &[&str]) {
    let wanted: BTreeSet<String> = kids.iter().map(|k| (*k).to_owned()).collect();
    let start = Instant::now();
    loop {
        let now = published(app).await;
        if now == wanted {
            return;
        }
        assert!(
            start.elapsed() < FOLLOW_WAIT,
            "JWKS lists {now:?}, not {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn keys_rotate_reaches_running_instances_and_the_old_key_stays_while_its_tokens_live() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app, &[]).await;
    let email = app.verified_user().await;
    let before = Tokens::of(&app.login(&email, PASSWORD).await);
    let old = jwt_header(&before.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    assert_eq!(published(&app).await, BTreeSet::from([old.clone()]));

    let rotated = app.database.command(&["keys", "rotate"], &[]).await.json();
    assert_eq!(rotated["replaces"], old.as_str(), "{rotated}");
    let new = rotated["kid"].as_str().expect("kid").to_owned();
    assert_ne!(new, old);
    rfc3339(&rotated["signs_from"]);

    // Both instances switch to the new key within seconds, and publish both.
    for instance in [&app, &sibling] {
        assert_eq!(new_signing_kid(instance, &email, &old).await, new);
        assert_eq!(
            published(instance).await,
            BTreeSet::from([old.clone(), new.clone()])
        );
    }
    // Tokens of either key verify on either instance.
    let after = Tokens::of(&sibling.login(&email, PASSWORD).await);
    for instance in [&app, &sibling] {
        for token in [&before.access, &after.access] {
            instance.me(token).await.assert_status(StatusCode::OK);
        }
    }

    // Shortly before the old key's last tokens expire it is still there...
    for instance in [&app, &sibling] {
        instance.advance(ACCESS_TTL - Duration::from_secs(60));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for instance in [&app, &sibling] {
        assert_eq!(
            published(instance).await,
            BTreeSet::from([old.clone(), new.clone()])
        );
        instance
            .me(&before.access)
            .await
            .assert_status(StatusCode::OK);
    }
    // ...and within a minute after they expired it is gone; the new key stays.
    for instance in [&app, &sibling] {
        instance.advance(Duration::from_secs(60 + 31));
        wait_for_published(instance, &[&new]).await;
        instance
            .me(&before.access)
            .await
            .assert_problem(INVALID_ACCESS_TOKEN);
    }
    let fresh = Tokens::of(&app.login(&email, PASSWORD).await);
    assert_eq!(jwt_header(&fresh.access)["kid"], new.as_str());
    sibling
        .me(&fresh.access)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn keys_rotate_refuses_when_a_configured_key_signs() {
    let app = spawn_app().await;
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBRaNhmq3m8WdfTZHHXgRa9MQ1nj4Ao6iL1M3l2dTrY5\n-----END PRIVATE KEY-----\n";
    let run = app
        .database
        .command(&["keys", "rotate"], &[("JWT_PRIVATE_KEY", pem)])
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: JWT_PRIVATE_KEY(_FILE) is set: that key signs, not the keys in the database; rotate it by configuring a new one\n"
    );
    assert_eq!(app.count("signing_keys").await, 1, "nothing rotated");
}

#[tokio::test]
async fn automatic_rotation_rotates_once_across_instances() {
    // Sign-ups log in at once: either instance's outbox worker could send a
    // verification link, each to its own SMTP server.
    let flags = [
        "--signing-key-rotation",
        "30d",
        "--require-email-verification",
        "false",
    ];
    let app = spawn_app_with(&flags).await;
    let sibling = spawn_sibling(&app, &flags).await;
    let email = unique_email();
    Tokens::registered(&app.register(&email, PASSWORD).await);
    let old = signing_kid(&app, &email).await;
    // Not due yet: nothing happens.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(signing_kid(&sibling, &email).await, old);
    assert_eq!(app.count("signing_keys").await, 1);

    // Both instances find the key due at about the same moment.
    for instance in [&app, &sibling] {
        instance.advance(Duration::from_secs(31 * 24 * 3600));
    }
    let new = new_signing_kid(&app, &email, &old).await;
    assert_eq!(new_signing_kid(&sibling, &email, &old).await, new);
    // A few polls later there was still only one rotation.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(app.count("signing_keys").await, 2, "one rotation");
    for instance in [&app, &sibling] {
        assert_eq!(signing_kid(instance, &email).await, new);
        assert_eq!(
            published(instance).await,
            BTreeSet::from([old.clone(), new.clone()])
        );
    }
}
