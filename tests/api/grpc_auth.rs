//! `auth.v1.AuthService` over gRPC: every call, its refusals (status code, the v1
//! `error-code`, field details), and the same accounts, rules, limits, audit
//! events and mail as the HTTP API — one user can use both doors in turn.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic::Code;
use tonic_types::StatusExt;

use auth_service::grpc::proto::{self, logout_request, register_response};

use crate::helpers::*;

fn registration(email: &str, password: &str) -> proto::RegisterRequest {
    proto::RegisterRequest {
        email: email.into(),
        password: password.into(),
        name: None,
    }
}

fn login_request(email: &str, password: &str) -> proto::LoginRequest {
    proto::LoginRequest {
        email: email.into(),
        password: password.into(),
    }
}

fn logout(
    credential: logout_request::Credential,
    scope: proto::LogoutScope,
) -> proto::LogoutRequest {
    proto::LogoutRequest {
        credential: Some(credential),
        scope: scope.into(),
    }
}

/// The caller's audit events over HTTP, newest first: (type, ip, user agent).
async fn events(app: &TestApp, access: &str) -> Vec<(String, Value, Value)> {
    let reply = app.get_bearer("/me/events?limit=100", access).await;
    reply.assert_status(StatusCode::OK);
    let events = reply.body["events"].as_array().expect("events").clone();
    events
        .into_iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type").to_owned(),
                e["ip"].clone(),
                e["user_agent"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn register_verify_and_login_over_grpc_mail_and_audit_like_http() {
    let app = spawn_app().await;
    let mut auth = app.auth_service().await;
    let email = unique_email();
    let mut request = registration(&format!("  {email} "), PASSWORD);
    request.name = Some("  Ada  ".into());
    let registered = auth
        .register(request)
        .await
        .expect("registers")
        .into_inner();
    assert_eq!(
        registered.outcome,
        Some(register_response::Outcome::VerificationSent(
            proto::VerificationSent {}
        ))
    );
    // The same verification mail as HTTP sends, to the trimmed address.
    let token = app.mailed_token(&email, VERIFY).await;
    let verify = proto::VerifyEmailRequest {
        token: token.clone(),
    };
    let user = auth
        .verify_email(verify)
        .await
        .expect("verifies")
        .into_inner();
    assert_eq!(user.email, email);
    assert!(user.email_verified);
    assert_eq!(user.name.as_deref(), Some("Ada"));
    assert!(user.id.parse::<uuid::Uuid>().is_ok(), "{user:?}");
    assert!(user.created_at.is_some());
    // Spent: a second use is INVALID_ARGUMENT `invalid_token`, as HTTP's 400.
    let again = auth.verify_email(proto::VerifyEmailRequest { token }).await;
    assert_refused(again, GRPC_INVALID_EMAIL_TOKEN);

    let tokens = app.grpc_login(&email, PASSWORD).await;
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 900);
    assert_eq!(tokens.user, Some(user));
    let claims = jwt_claims(&tokens.access_token);
    assert_eq!(claims["email"], email.as_str());
    assert_eq!(claims["email_verified"], true);
    // Every step is in the audit trail, with the gRPC peer and user agent.
    let trail = events(&app, &tokens.access_token).await;
    let kinds: Vec<&str> = trail.iter().map(|(kind, ..)| kind.as_str()).collect();
    assert_eq!(kinds, ["login_succeeded", "email_verified", "registered"]);
    for (kind, ip, agent) in &trail {
        assert_eq!(ip, "127.0.0.1", "{kind}");
        let agent = agent.as_str().unwrap_or_default();
        assert!(agent.starts_with(GRPC_AGENT), "{kind}: {agent}");
    }
}

#[tokio::test]
async fn with_verification_off_register_answers_tokens_and_a_taken_email_already_exists() {
    let app = spawn_app_with(&["--require-email-verification", "false"]).await;
    let mut auth = app.auth_service().await;
    let email = unique_email();
    let registered = auth.register(registration(&email, PASSWORD)).await;
    let Some(register_response::Outcome::Tokens(tokens)) =
        registered.expect("registers").into_inner().outcome
    else {
        panic!("expected tokens");
    };
    assert_eq!(tokens.token_type, "Bearer");
    let user = tokens.user.expect("user");
    assert_eq!(
        (user.email.as_str(), user.email_verified),
        (email.as_str(), false)
    );
    app.me(&tokens.access_token)
        .await
        .assert_status(StatusCode::OK);
    let taken = auth
        .register(registration(&email.to_uppercase(), PASSWORD))
        .await;
    assert_refused(taken, GRPC_EMAIL_TAKEN);
}

#[tokio::test]
async fn invalid_input_is_invalid_argument_with_the_same_field_details_as_http() {
    let app = spawn_app().await;
    let mut auth = app.auth_service().await;
    let long_email = format!("{}@example.com", "a".repeat(250));
    let bad = proto::RegisterRequest {
        email: long_email.clone(),
        password: "short".into(),
        name: Some("n".repeat(101)),
    };
    let expected = [
        ("email", "must be at most 254 characters"),
        ("email", "must be a valid email address"),
        ("name", "must be at most 100 characters"),
        ("password", "must be between 8 and 128 characters"),
    ];
    assert_invalid_fields(auth.register(bad).await, &expected);
    let body = json!({"email": long_email, "password": "short", "name": "n".repeat(101)});
    app.post_json("/register", &body)
        .await
        .assert_invalid(&expected);
    // The core's own password rules, too.
    let weak = auth
        .register(registration(&unique_email(), "password"))
        .await;
    assert_invalid_fields(weak, &[("password", "is too common or too easy to guess")]);

    let required = [("email", "is required"), ("password", "is required")];
    assert_invalid_fields(auth.login(login_request(" ", "")).await, &required);
    app.post_json("/login", &json!({"email": " ", "password": ""}))
        .await
        .assert_invalid(&required);
    let refresh = auth.refresh(proto::RefreshRequest::default()).await;
    assert_invalid_fields(refresh, &[("refresh_token", "is required")]);
    let verify = auth
        .verify_email(proto::VerifyEmailRequest::default())
        .await;
    assert_invalid_fields(verify, &[("token", "is required")]);
    let unknown_scope = proto::LogoutRequest {
        credential: Some(logout_request::Credential::RefreshToken(random_token())),
        scope: 7,
    };
    let scope = auth.logout(unknown_scope).await;
    assert_invalid_fields(scope, &[("scope", "must be LOCAL, OTHERS or GLOBAL")]);
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn login_refusals_are_the_same_as_over_http() {
    let app = spawn_app().await;
    let mut auth = app.auth_service().await;
    let email = app.verified_user().await;
    let wrong = auth.login(login_request(&email, "not the password")).await;
    assert_refused(wrong, GRPC_INVALID_CREDENTIALS);
    let unknown = auth.login(login_request(&unique_email(), PASSWORD)).await;
    assert_refused(unknown, GRPC_INVALID_CREDENTIALS);
    // Unverified: told only after the right password.
    let unverified = app.registered_user().await;
    let wrong = auth
        .login(login_request(&unverified, "not the password"))
        .await;
    assert_refused(wrong, GRPC_INVALID_CREDENTIALS);
    let right = auth.login(login_request(&unverified, PASSWORD)).await;
    assert_refused(right, GRPC_EMAIL_NOT_VERIFIED);
    // The failed attempts are in the user's trail like HTTP's.
    let tokens = app.grpc_login(&email, PASSWORD).await;
    let kinds: Vec<String> = events(&app, &tokens.access_token)
        .await
        .into_iter()
        .map(|(kind, ..)| kind)
        .collect();
    assert_eq!(kinds[..2], ["login_succeeded", "login_failed"]);
}

#[tokio::test]
async fn one_user_goes_back_and_forth_between_http_and_grpc() {
    let app = spawn_app().await;
    let mut auth = app.auth_service().await;
    let email = app.verified_user().await;
    // Logged in over gRPC, refreshed over HTTP, refreshed again over gRPC.
    let grpc = app.grpc_login(&email, PASSWORD).await;
    let http = app.refreshed(&grpc.refresh_token).await;
    assert_eq!(
        jwt_claims(&http.access)["sid"],
        jwt_claims(&grpc.access_token)["sid"]
    );
    let again = auth.refresh(proto::RefreshRequest {
        refresh_token: http.refresh.clone(),
    });
    let again = again.await.expect("refreshes").into_inner();
    assert_eq!(
        again.user.as_ref().map(|u| u.email.as_str()),
        Some(email.as_str())
    );
    // The token HTTP rotated away is refused over gRPC after the grace period.
    app.advance(REFRESH_GRACE * 2);
    let reused = auth.refresh(proto::RefreshRequest {
        refresh_token: grpc.refresh_token,
    });
    assert_refused(reused.await, GRPC_INVALID_REFRESH_TOKEN);
    let garbage = auth.refresh(proto::RefreshRequest {
        refresh_token: random_token(),
    });
    assert_refused(garbage.await, GRPC_INVALID_REFRESH_TOKEN);
}

#[tokio::test]
async fn logout_over_grpc_ends_sessions_for_both_doors() {
    let app = spawn_app().await;
    let mut auth = app.auth_service().await;
    let email = app.verified_user().await;
    let first = Tokens::of(&app.login(&email, PASSWORD).await);
    let second = app.grpc_login(&email, PASSWORD).await;
    let third = app.grpc_login(&email, PASSWORD).await;
    // By access token, this session only.
    let local = logout(
        logout_request::Credential::AccessToken(second.access_token.clone()),
        proto::LogoutScope::Unspecified,
    );
    auth.logout(local).await.expect("logs out");
    let again = auth.logout(logout(
        logout_request::Credential::AccessToken(second.access_token),
        proto::LogoutScope::Local,
    ));
    assert_refused(again.await, GRPC_INVALID_ACCESS_TOKEN);
    app.assert_session_active(&first).await;
    // By refresh token, every session.
    let global = logout(
        logout_request::Credential::RefreshToken(third.refresh_token),
        proto::LogoutScope::Global,
    );
    auth.logout(global).await.expect("logs out everywhere");
    app.assert_session_ended(&first).await;
    let nothing = auth.logout(proto::LogoutRequest::default()).await;
    assert_refused(nothing, GRPC_NO_CREDENTIALS);
}

#[tokio::test]
async fn rate_limits_count_both_doors_and_answer_resource_exhausted() {
    let app = spawn_app_with(&["--rate-limit", "on", "--rate-limit-login", "2/min"]).await;
    let mut auth = app.auth_service().await;
    let wrong = auth.login(login_request(&unique_email(), PASSWORD)).await;
    assert_refused(wrong, GRPC_INVALID_CREDENTIALS);
    app.login(&unique_email(), PASSWORD)
        .await
        .assert_problem(INVALID_CREDENTIALS);
    let limited = auth.login(login_request(&unique_email(), PASSWORD)).await;
    let status = assert_refused(limited, GRPC_RATE_LIMITED);
    let retry = status.get_details_retry_info().expect("RetryInfo");
    let delay = retry.retry_delay.expect("a delay");
    assert!((1..=30).contains(&delay.as_secs()), "{delay:?}");
    assert_eq!(
        app.login(&unique_email(), PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    for (trusted, expected) in [("10.0.0.0/8", "127.0.0.1"), ("127.0.0.1/32", "203.0.113.7")] {
        let app = spawn_app_with(&["--trusted-proxies", trusted]).await;
        let email = app.verified_user().await;
        let mut request = tonic::Request::new(login_request(&email, PASSWORD));
        let forwarded = "198.51.100.1, 203.0.113.7".parse().expect("metadata");
        request.metadata_mut().insert("x-forwarded-for", forwarded);
        let reply = app.auth_service().await.login(request).await;
        let Some(proto::login_response::Outcome::Tokens(tokens)) =
            reply.expect("logs in").into_inner().outcome
        else {
            panic!("expected tokens");
        };
        let (kind, ip, _) = events(&app, &tokens.access_token).await.remove(0);
        assert_eq!(
            (kind.as_str(), ip),
            ("login_succeeded", json!(expected)),
            "{trusted}"
        );
    }
}

#[tokio::test]
async fn messages_over_the_size_limit_are_refused() {
    let app = spawn_app().await;
    let huge = login_request(&unique_email(), &"x".repeat(70 * 1024));
    let status = app
        .auth_service()
        .await
        .login(huge)
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}

#[tokio::test]
async fn a_disabled_account_is_failed_precondition_after_the_right_password() {
    let app = spawn_admin_app(&[]).await;
    let mut auth = app.auth_service().await;
    let email = app.verified_user().await;
    let id = app.user_id_of(&email).await;
    app.admin_patched(&id, &json!({"disabled": true})).await;
    let wrong = auth.login(login_request(&email, "not the password")).await;
    assert_refused(wrong, GRPC_INVALID_CREDENTIALS);
    let right = auth.login(login_request(&email, PASSWORD)).await;
    assert_refused(right, GRPC_ACCOUNT_DISABLED);
    app.login(&email, PASSWORD)
        .await
        .assert_problem(ACCOUNT_DISABLED);
}
