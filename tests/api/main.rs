//! One integration-test binary: real HTTP against the app on 127.0.0.1:0, a fresh
//! database per test (SQLite or PostgreSQL: `TEST_BACKEND`), a real SMTP server
//! receiving the mail.

// A failed expectation in a test helper is a test failure: panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod private_postgres;
mod private_redis;
mod smtp;

mod admin_events;
mod admin_import;
mod admin_keys;
mod admin_migration;
mod admin_sessions;
mod admin_users;
mod architecture;
mod audit;
mod backends;
mod commands;
mod concurrency;
mod container;
mod database_outage;
mod grpc_auth;
mod grpc_fuzz;
mod grpc_metrics;
mod grpc_outage;
mod grpc_revocations;
mod grpc_tokens;
mod hardening;
mod hashing;
mod hygiene;
mod introspect;
mod key_rotation;
mod limits;
mod link_requests;
mod login;
mod logout;
mod metrics;
mod mfa;
mod mixed_outage;
mod openapi;
mod outbox;
mod passkey_factors;
mod passkeys;
mod password;
mod password_policy;
mod refresh;
mod register;
mod registration_crash;
mod request_edges;
mod reset_links;
mod retention;
mod sealed_keys;
mod secrets;
mod security_notices;
mod session_cache;
mod sessions;
mod shutdown;
mod tls;
mod tokens;
mod verified_tokens;
mod verify_email;
mod webhooks;
