//! `auth.v1.TokenService` for other backends (ValidateToken, GetUser behind the
//! service key), and what the gRPC port serves besides: health, reflection,
//! GRPC_PORT=off.

use reqwest::{Method, StatusCode};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1alpha::ServerReflectionRequest as ReflectionV1Alpha;
use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as ClientV1Alpha;
use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as RequestV1Alpha;
use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as ResponseV1Alpha;

use auth_service::grpc::proto::{self, logout_request};

use crate::helpers::*;

async fn app_with_key() -> TestApp {
    spawn_app_with(&["--introspection-keys", SERVICE_KEY]).await
}

fn validate(access_token: &str) -> tonic::Request<proto::ValidateTokenRequest> {
    let message = proto::ValidateTokenRequest {
        access_token: access_token.into(),
    };
    with_key(message, SERVICE_KEY)
}

async fn validation(app: &TestApp, access_token: &str) -> proto::ValidateTokenResponse {
    let mut tokens = app.token_service().await;
    let reply = tokens.validate_token(validate(access_token)).await;
    reply.expect("ValidateToken answers").into_inner()
}

#[tokio::test]
async fn validate_token_is_active_until_a_logout_over_either_door() {
    let app = app_with_key().await;
    let session = app.signed_up().await;
    let claims = jwt_claims(&session.access);
    let expected = proto::ValidateTokenResponse {
        active: true,
        user_id: claims["sub"].as_str().expect("sub").to_owned(),
        session_id: session.sid.clone(),
        email: session.email().to_owned(),
        email_verified: true,
        expires_at: Some(prost_types::Timestamp {
            seconds: claims["exp"].as_i64().expect("exp"),
            nanos: 0,
        }),
        amr: vec!["pwd".to_owned()],
    };
    assert_eq!(validation(&app, &session.access).await, expected);
    // Logged out over HTTP: inactive at once, and nothing else said.
    let logout = app
        .request(Method::POST, "/logout")
        .bearer(session.access.as_str());
    logout.send().await.assert_no_content();
    let inactive = proto::ValidateTokenResponse::default();
    assert_eq!(validation(&app, &session.access).await, inactive);
    // Logged out over gRPC.
    let other = app.grpc_login(session.email(), PASSWORD).await;
    assert!(validation(&app, &other.access_token).await.active);
    let credential = logout_request::Credential::RefreshToken(other.refresh_token);
    let request = proto::LogoutRequest {
        credential: Some(credential),
        scope: proto::LogoutScope::Local.into(),
    };
    app.auth_service()
        .await
        .logout(request)
        .await
        .expect("logs out");
    assert_eq!(validation(&app, &other.access_token).await, inactive);
    // Garbage and tampered tokens are inactive too, never an error.
    assert_eq!(validation(&app, "").await, inactive);
    assert_eq!(validation(&app, "not.a.jwt").await, inactive);
    let forged = jwt_with_claims(&session.access, &serde_json::json!({"sub": "x"}));
    assert_eq!(validation(&app, &forged).await, inactive);
}

#[tokio::test]
async fn get_user_answers_a_user_or_not_found() {
    let app = app_with_key().await;
    let session = app.signed_up().await;
    let id = session.user["id"].as_str().expect("id").to_owned();
    let mut tokens = app.token_service().await;
    let request = proto::GetUserRequest {
        user_id: id.clone(),
    };
    let user = tokens.get_user(with_key(request, SERVICE_KEY)).await;
    let user = user.expect("GetUser answers").into_inner();
    let me = app.me(&session.access).await;
    assert_eq!(user.id, id);
    assert_eq!(user.email, me.body["email"].as_str().expect("email"));
    assert!(user.email_verified);
    assert_eq!(user.name, None);
    let created = user.created_at.expect("created_at");
    assert_eq!(created.seconds, rfc3339(&me.body["created_at"]).timestamp());

    let unknown = proto::GetUserRequest {
        user_id: uuid::Uuid::new_v4().to_string(),
    };
    let reply = tokens.get_user(with_key(unknown, SERVICE_KEY)).await;
    assert_refused(reply, GRPC_USER_NOT_FOUND);
    let malformed = proto::GetUserRequest {
        user_id: "42".into(),
    };
    let reply = tokens.get_user(with_key(malformed, SERVICE_KEY)).await;
    assert_invalid_fields(reply, &[("user_id", "must be a UUID")]);
}

fn keyed<T>(message: T, key: Option<&str>) -> tonic::Request<T> {
    match key {
        Some(key) => with_key(message, key),
        None => tonic::Request::new(message),
    }
}

/// Every TokenService call is UNAUTHENTICATED `invalid_client` with this key
/// (`None`: no metadata), before its message is even looked at.
async fn assert_every_call_refused(app: &TestApp, key: Option<&str>) {
    let mut tokens = app.token_service().await;
    let validate = proto::ValidateTokenRequest {
        access_token: app.signed_up().await.access,
    };
    let user = proto::GetUserRequest {
        user_id: "not even a uuid".into(),
    };
    let reply = tokens.validate_token(keyed(validate, key)).await;
    assert_refused(reply, GRPC_INVALID_CLIENT);
    assert_refused(tokens.get_user(keyed(user, key)).await, GRPC_INVALID_CLIENT);
    let watch = keyed(proto::WatchRevocationsRequest {}, key);
    assert_refused(tokens.watch_revocations(watch).await, GRPC_INVALID_CLIENT);
}

#[tokio::test]
async fn token_service_needs_a_configured_service_key() {
    let app = app_with_key().await;
    assert_every_call_refused(&app, None).await;
    assert_every_call_refused(&app, Some("wrong-key-0123456789")).await;
    let mut bearer_less = tonic::Request::new(proto::GetUserRequest::default());
    let value = SERVICE_KEY.parse().expect("metadata");
    bearer_less.metadata_mut().insert("authorization", value);
    let reply = app.token_service().await.get_user(bearer_less).await;
    assert_refused(reply, GRPC_INVALID_CLIENT);
    // Without INTROSPECTION_KEYS no key opens it.
    assert_every_call_refused(&spawn_app().await, Some(SERVICE_KEY)).await;
}

#[tokio::test]
async fn health_says_serving_for_the_server_and_both_services() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.grpc_channel().await);
    for service in ["", "auth.v1.AuthService", "auth.v1.TokenService"] {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let reply = health.check(request).await.expect("health answers");
        assert_eq!(
            reply.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let unknown = HealthCheckRequest {
        service: "auth.v1.Nothing".into(),
    };
    let status = health.check(unknown).await.expect_err("unknown service");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn reflection_lists_every_service_in_both_versions() {
    let app = spawn_app().await;
    let expected = [
        "auth.v1.AuthService",
        "auth.v1.TokenService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ];
    let mut v1 = ServerReflectionClient::new(app.grpc_channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = v1
        .server_reflection_info(futures_util::stream::iter([request]))
        .await
        .expect("reflection v1 answers")
        .into_inner();
    let answer = answers.message().await.expect("an answer").expect("one");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("expected a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, expected);

    let mut v1alpha = ClientV1Alpha::new(app.grpc_channel().await);
    let request = ReflectionV1Alpha {
        host: String::new(),
        message_request: Some(RequestV1Alpha::ListServices(String::new())),
    };
    let mut answers = v1alpha
        .server_reflection_info(futures_util::stream::iter([request]))
        .await
        .expect("reflection v1alpha answers")
        .into_inner();
    let answer = answers.message().await.expect("an answer").expect("one");
    let Some(ResponseV1Alpha::ListServicesResponse(list)) = answer.message_response else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"auth.v1.AuthService".to_owned()),
        "{names:?}"
    );
}

#[tokio::test]
async fn grpc_port_off_serves_no_grpc_and_a_bad_value_stops_start_up() {
    let app = spawn_app_with(&["--grpc-port", "off"]).await;
    assert_eq!(app.grpc, None);
    app.get("/healthz").await.assert_status(StatusCode::OK);
    let (ok, stderr) = start_binary(&[("GRPC_PORT", "fifty")]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("GRPC_PORT"), "{stderr}");
    assert!(
        stderr.contains("`fifty` is neither a port (0-65535) nor off"),
        "{stderr}"
    );
}
