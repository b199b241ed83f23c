//! The Admin API's migration on a database that already holds data: the audit
//! trail loses its foreign key to users (on SQLite by rebuilding the table) and
//! keeps every row; deleting a user afterwards keeps that user's old events.

use std::path::Path;

use reqwest::Method;
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Executor, PgConnection};

use crate::helpers::*;

/// The first migration of the Admin API.
const ADMIN_MIGRATION: i64 = 20261130000010;

const USER_ID: &str = "0a0a0a0a-0000-4000-8000-000000000001";
const EVENT_IDS: [&str; 3] = [
    "0e0e0e0e-0000-4000-8000-000000000001",
    "0e0e0e0e-0000-4000-8000-000000000002",
    "0e0e0e0e-0000-4000-8000-000000000003",
];

/// A database with every migration before the Admin API's applied, and a
/// user with three events (one of them a login without a known user).
async fn database_before_the_admin_api() -> TestDatabase {
    let database = TestDatabase::create();
    let (folder, url) = match &database {
        TestDatabase::Postgres { server, name } => {
            let mut server = PgConnection::connect(server)
                .await
                .expect("PostgreSQL answers");
            let sql = format!("create database {name}");
            server
                .execute(sqlx::AssertSqlSafe(sql))
                .await
                .expect("database created");
            ("postgres", database.url())
        }
        TestDatabase::Sqlite { dir } => {
            std::fs::create_dir_all(dir).expect("test folder");
            ("sqlite", format!("{}?mode=rwc", database.url()))
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
        .filter(|m| m.version < ADMIN_MIGRATION)
        .cloned()
        .collect();
    migrator.migrations = earlier.into();
    migrator.run(&pool).await.expect("earlier migrations apply");

    // Literals each backend reads as its own types (ids: uuid / 16-byte blob).
    let id = |uuid: &str| match backend() {
        Backend::Postgres => format!("'{uuid}'"),
        Backend::Sqlite => format!("x'{}'", uuid.replace('-', "")),
    };
    let statements = [
        format!(
            "insert into users (id, email, email_key, password_hash, name, email_verified_at,
                                created_at, updated_at)
             values ({}, 'Old@Example.com', 'old@example.com', 'x', null,
                     '2026-11-01T10:00:01Z', '2026-11-01T10:00:00Z', '2026-11-01T10:00:01Z')",
            id(USER_ID)
        ),
        format!(
            "insert into audit_events (id, user_id, kind, session_id, ip, user_agent, created_at, method)
             values ({}, {}, 'registered', null, '192.0.2.1', 'Old/1', '2026-11-01T10:00:00Z', null),
                    ({}, {}, 'email_verified', null, '192.0.2.1', 'Old/1', '2026-11-01T10:00:01Z', null),
                    ({}, null, 'login_failed', null, '192.0.2.9', 'Other/1', '2026-11-01T10:00:02Z', null)",
            id(EVENT_IDS[0]),
            id(USER_ID),
            id(EVENT_IDS[1]),
            id(USER_ID),
            id(EVENT_IDS[2]),
        ),
    ];
    for sql in statements {
        pool.execute(sqlx::AssertSqlSafe(sql))
            .await
            .expect("old rows inserted");
    }
    pool.close().await;
    database
}

#[tokio::test]
async fn the_migration_keeps_every_event_and_deleting_the_user_keeps_them_too() {
    let database = database_before_the_admin_api().await;
    let app = spawn_app_on(database, &["--admin-keys", ADMIN_KEY]).await;

    let before = app.admin_events("").await;
    let expected = json!([
        {"id": EVENT_IDS[2], "type": "login_failed", "method": null,
         "created_at": "2026-11-01T10:00:02Z", "session_id": null, "ip": "192.0.2.9",
         "user_agent": "Other/1", "user_id": null, "actor": null},
        {"id": EVENT_IDS[1], "type": "email_verified", "method": null,
         "created_at": "2026-11-01T10:00:01Z", "session_id": null, "ip": "192.0.2.1",
         "user_agent": "Old/1", "user_id": USER_ID, "actor": null},
        {"id": EVENT_IDS[0], "type": "registered", "method": null,
         "created_at": "2026-11-01T10:00:00Z", "session_id": null, "ip": "192.0.2.1",
         "user_agent": "Old/1", "user_id": USER_ID, "actor": null},
    ]);
    assert_eq!(json!(before), expected);
    let user = app.admin_user(USER_ID).await;
    assert_eq!(
        (&user["disabled"], &user["last_login_at"]),
        (&json!(false), &json!(null))
    );

    let path = format!("/admin/users/{USER_ID}");
    app.admin(Method::DELETE, &path, None)
        .await
        .assert_no_content();
    let after = app.admin_events(&format!("&user_id={USER_ID}")).await;
    assert_eq!(
        types(&after),
        ["user_deleted", "email_verified", "registered"]
    );
    assert_eq!(app.count("audit_events").await, 4);
    assert_eq!(app.count("users").await, 0);
}
