use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sent_one_is_echoed() {
    let app = spawn_app().await;
    let generated = app.get("/healthz").await;
    let id = generated.header("x-request-id").expect("x-request-id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let missing = app.get("/nowhere").await;
    assert!(missing.header("x-request-id").is_some());

    let request = app.request(Method::GET, "/healthz");
    let echoed = request.header("x-request-id", "trace-me-123").send().await;
    assert_eq!(echoed.header("x-request-id"), Some("trace-me-123"));
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    app.get("/nowhere").await.assert_problem(NOT_FOUND);
    let wrong_method = app.get("/login").await;
    wrong_method.assert_problem(METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = spawn_app().await;
    let big = json!({"email": unique_email(), "password": PASSWORD, "name": "x".repeat(70 * 1024)});
    app.post_json("/register", &big)
        .await
        .assert_problem(PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn a_database_error_is_a_generic_500_that_leaks_nothing() {
    let app = spawn_app().await;
    sqlx::query("alter table users rename to users_gone")
        .execute(&app.db)
        .await
        .expect("rename");
    let reply = app.login(&unique_email(), PASSWORD).await;
    reply.assert_problem(INTERNAL_ERROR);
    for leak in ["users", "relation", "sql", "select", "postgres"] {
        assert!(
            !reply.text.to_lowercase().contains(leak),
            "leaks {leak}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn a_panic_is_a_generic_500_problem() {
    use axum::routing::get;
    let smtp = crate::smtp::SmtpServer::start().await;
    let config = test_config("postgres://unused@127.0.0.1:1/unused", &smtp.url(), &[]);
    async fn boom() -> &'static str {
        panic!("database password is hunter2")
    }
    let router: axum::Router = axum::Router::new().route("/boom", get(boom));
    let metrics = auth_service::telemetry::metrics::Metrics::new();
    let router = auth_service::http::middleware::apply(router, &config, metrics);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });

    let res = reqwest::get(format!("http://{addr}/boom"))
        .await
        .expect("request");
    assert!(res.headers().contains_key("x-request-id"));
    let reply = Reply::from(res).await;
    reply.assert_problem(INTERNAL_ERROR);
    assert!(!reply.text.contains("hunter2"));
}

#[tokio::test]
async fn readyz_follows_the_database_and_healthz_does_not() {
    let app = spawn_app().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(
        ready.body,
        json!({"status": "ok", "rate_limiter": "disabled"})
    );

    match backend() {
        // The server loses the database.
        Backend::Postgres => {
            let name: String = sqlx::query_scalar("select current_database()::text")
                .fetch_one(&app.db)
                .await
                .expect("name");
            app.db.close().await;
            let mut admin =
                <sqlx::PgConnection as sqlx::Connection>::connect(&admin_database_url())
                    .await
                    .expect("admin connection");
            let drop = format!("drop database {name} with (force)");
            sqlx::Executor::execute(&mut admin, sqlx::AssertSqlSafe(drop))
                .await
                .expect("drop database");
        }
        // An embedded file is always "reachable"; a broken schema is what fails.
        Backend::Sqlite => {
            sqlx::query("alter table users rename to users_gone")
                .execute(&app.db)
                .await
                .expect("rename");
        }
    }

    app.get("/readyz").await.assert_problem(UNAVAILABLE);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app_with(&["--cors-allowed-origins", "https://app.example"]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.example").await.expect("preflight");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = preflight("https://evil.example").await.expect("preflight");
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn a_bad_setting_stops_start_up_naming_the_variable() {
    let run = |name: &str, value: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
            .env(name, value)
            .env(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/unreachable",
            )
            .output()
            .expect("binary runs")
    };
    for (name, value) in [
        ("PORT", "eighty"),
        ("ACCESS_TOKEN_TTL", "soon"),
        ("REQUIRE_EMAIL_VERIFICATION", "maybe"),
        ("SMTP_URL", "http://mail.example"),
        ("TRUSTED_PROXIES", "10.0.0.0/99"),
    ] {
        let out = run(name, value);
        assert!(!out.status.success(), "{name}={value} must stop start-up");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    // A good configuration whose database is unreachable says so and what to do.
    let out = run("PORT", "0");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach PostgreSQL") && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
}
