//! The private signing keys in the database are sealed with SECRETS_KEY. A key
//! an earlier version stored in plaintext is sealed at start-up and goes on
//! signing under the same kid; a start-up with another SECRETS_KEY stops,
//! naming it, and changes nothing.

use std::path::Path;

use auth_service::{Application, Clock};
use reqwest::StatusCode;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Executor, PgConnection};

use crate::helpers::*;

/// The migration that added `signing_keys.sealed`.
const SEALING_MIGRATION: i64 = 20261201000012;

/// An Ed25519 key as an earlier version stored it: PKCS#8 DER, in hex (made
/// with `openssl genpkey -algorithm ed25519 -outform DER`).
const PLAINTEXT_DER: &str = "302e020100300506032b657004220420cf856000a69adf9c38d01dc277a0327ad58c99009e9136895a9928717411228a";
/// Its public half, as the JWKS publishes it (`x`).
const PUBLIC_X: &str = "9ejbdxD1jwKLEhXZdkrNwDHP6qBltTRKKY8PEhZp-2o";
/// Its RFC 7638 thumbprint: the kid the service gives it.
const KID: &str = "Fhx5Czvv06Hm7NxEKDP7S_z83BvangpoLSXFHIsRMeI";

fn plaintext() -> Vec<u8> {
    (0..PLAINTEXT_DER.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&PLAINTEXT_DER[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A database with every migration before the sealing one applied, and the
/// key above stored as the current signing key, in plaintext.
async fn database_with_a_plaintext_key() -> TestDatabase {
    let database = TestDatabase::create();
    let (folder, url, bytes) = match &database {
        TestDatabase::Postgres { name, server } => {
            let mut server = PgConnection::connect(server)
                .await
                .expect("PostgreSQL answers");
            let sql = format!("create database {name}");
            server
                .execute(sqlx::AssertSqlSafe(sql))
                .await
                .expect("database created");
            let bytes = format!("decode('{PLAINTEXT_DER}', 'hex')");
            ("postgres", database.url(), bytes)
        }
        TestDatabase::Sqlite { dir } => {
            std::fs::create_dir_all(dir).expect("test folder");
            let url = format!("{}?mode=rwc", database.url());
            ("sqlite", url, format!("x'{PLAINTEXT_DER}'"))
        }
    };
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&url).await.expect("connects");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let mut migrator = Migrator::new(dir.as_path()).await.expect("migrations");
    let earlier: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < SEALING_MIGRATION)
        .cloned()
        .collect();
    migrator.migrations = earlier.into();
    migrator.run(&pool).await.expect("earlier migrations apply");
    let sql = format!(
        "insert into signing_keys (kid, private_key, created_at)
         values ('{KID}', {bytes}, '2026-11-30T12:00:00Z')"
    );
    pool.execute(sqlx::AssertSqlSafe(sql))
        .await
        .expect("plaintext key stored");
    pool.close().await;
    database
}

/// The stored private key of `KID`, as it is in the database.
async fn stored_key(app: &TestApp) -> Vec<u8> {
    sqlx::query_scalar("select private_key from signing_keys where kid = $1")
        .bind(KID)
        .fetch_one(&app.db)
        .await
        .expect("the key's row")
}

/// Rows of `signing_keys` still in plaintext.
async fn unsealed(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from signing_keys where not sealed")
        .fetch_one(&app.db)
        .await
        .expect("count")
}

/// The `(kid, x)` of every key `app` publishes.
async fn published(app: &TestApp) -> Vec<(String, String)> {
    let reply = app.get("/.well-known/jwks.json").await;
    reply.assert_status(StatusCode::OK);
    let keys = reply.body["keys"].as_array().expect("keys");
    let field = |key: &serde_json::Value, name: &str| key[name].as_str().expect(name).to_owned();
    keys.iter()
        .map(|k| (field(k, "kid"), field(k, "x")))
        .collect()
}

/// A login's access token, asserting it was signed with `KID`.
async fn token_signed_with_the_old_key(app: &TestApp, email: &str) -> String {
    let access = Tokens::of(&app.login(email, PASSWORD).await).access;
    assert_eq!(jwt_header(&access)["kid"], KID);
    access
}

#[tokio::test]
async fn a_plaintext_key_of_an_earlier_version_is_sealed_at_start_up_and_signs_on_under_its_kid() {
    let app = spawn_app_on(database_with_a_plaintext_key().await, &[]).await;

    // Sealed: the stored bytes are not the key, nor do they hold its seed.
    let stored = stored_key(&app).await;
    let der = plaintext();
    assert_ne!(stored, der);
    assert!(
        !stored.windows(32).any(|w| w == &der[16..]),
        "the seed is in the stored bytes"
    );
    assert_eq!(unsealed(&app).await, 0);
    assert_eq!(app.count("signing_keys").await, 1, "no key was added");

    // The same key signs and is published, and its tokens verify.
    assert_eq!(
        published(&app).await,
        [(KID.to_owned(), PUBLIC_X.to_owned())]
    );
    let email = app.verified_user().await;
    let access = token_signed_with_the_old_key(&app, &email).await;
    app.me(&access).await.assert_status(StatusCode::OK);

    // A restart finds it sealed, seals nothing again, and goes on with it.
    let restarted = spawn_sibling(&app, &[]).await;
    assert_eq!(stored_key(&app).await, stored);
    restarted.me(&access).await.assert_status(StatusCode::OK);
    token_signed_with_the_old_key(&restarted, &email).await;
}

#[tokio::test]
async fn instances_starting_at_once_seal_the_plaintext_key_once_and_both_sign_with_it() {
    let database = database_with_a_plaintext_key().await;
    // Migrated first: sqlx's migrator takes no lock on SQLite, so only the
    // sealing, not the migrations, is what the two starts race on.
    let migrated = database.command(&["migrate"], &[]).await;
    assert_eq!(migrated.code, Some(0), "{migrated:?}");
    let (first, second) = tokio::join!(
        spawn_app_on(database.clone(), &[]),
        spawn_app_on(database, &[])
    );
    assert_eq!(unsealed(&first).await, 0);
    assert_eq!(first.count("signing_keys").await, 1);
    let email = first.verified_user().await;
    let from_first = token_signed_with_the_old_key(&first, &email).await;
    let from_second = token_signed_with_the_old_key(&second, &email).await;
    second.me(&from_first).await.assert_status(StatusCode::OK);
    first.me(&from_second).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn another_secrets_key_stops_start_up_naming_it_and_changes_nothing() {
    let secrets = secrets_key();
    let mut app = spawn_app_on(
        database_with_a_plaintext_key().await,
        &["--secrets-key", &secrets],
    )
    .await;
    let stored = stored_key(&app).await;

    let data_dir = app.database.data_dir();
    let config = test_config(
        &app.database.url(),
        &app.smtp.url(),
        &[
            "--data-dir",
            data_dir.to_str().expect("UTF-8"),
            "--secrets-key",
            &secrets_key(),
        ],
    );
    let Err(error) = Application::build(config, Clock::default()).await else {
        panic!("started with another SECRETS_KEY");
    };
    assert_eq!(
        format!("{error:#}"),
        format!(
            "signing key {KID}: the sealed value does not open with this SECRETS_KEY (another key sealed it, or it was altered)"
        )
    );

    // Nothing was changed: a restart with the right key goes on with it.
    assert_eq!(stored_key(&app).await, stored);
    app.stop().await;
    let restarted = spawn_sibling(&app, &["--secrets-key", &secrets]).await;
    let email = restarted.verified_user().await;
    token_signed_with_the_old_key(&restarted, &email).await;
}
