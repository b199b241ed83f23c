//! Choosing and opening the database: the default embedded file, explicit URLs,
//! and what start-up says when it cannot use them.

use auth_service::config::Config;
use auth_service::{Application, Clock};
use clap::Parser;
use reqwest::StatusCode;

use crate::helpers::*;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    config: Config,
}

#[tokio::test]
async fn without_database_url_an_sqlite_file_is_created_under_data_dir() {
    let dir = std::env::temp_dir().join(format!("auth-data-{}", uuid::Uuid::new_v4().simple()));
    let data_dir = dir.join("nested").join("folder");
    let args = ["auth-service", "--bind-addr", "127.0.0.1:0", "--data-dir"];
    let mut config = Cli::try_parse_from(
        args.iter()
            .copied()
            .chain([data_dir.to_str().expect("utf-8")]),
    )
    .expect("config")
    .config;
    // The process environment must not choose for this test.
    config.database_url = None;
    let app = Application::build(config, Clock::default())
        .await
        .expect("starts");
    assert!(
        app.describe().starts_with("database: sqlite "),
        "{}",
        app.describe()
    );
    assert!(
        data_dir.join("auth.db").is_file(),
        "file created with its folders"
    );
    drop(app);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn users_and_keys_survive_a_restart() {
    let first = spawn_app().await;
    let email = unique_email();
    let access = Tokens::of(&first.signed_up_user(&email).await).access;

    // A new process on the same database, as after `make run` is restarted.
    let restarted = spawn_sibling(&first, &[]).await;
    assert_eq!(
        restarted.login(&email, PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(restarted.me(&access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unsupported_database_url_stops_start_up_naming_it() {
    let (ok, stderr) = start_binary(&[("DATABASE_URL", "mysql://root@127.0.0.1/auth")]);
    assert!(!ok);
    assert!(
        stderr.contains("DATABASE_URL") && stderr.contains("mysql"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unusable_sqlite_path_says_which_path_and_why() {
    // /proc refuses new folders even to root.
    let database_url = "sqlite:///proc/auth-service-test/auth.db";
    let (ok, stderr) = start_binary(&[("DATABASE_URL", database_url)]);
    assert!(!ok);
    assert!(stderr.contains("/proc/auth-service-test"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("no such file") || stderr.contains("denied"),
        "{stderr}"
    );
}
