//! gRPC calls in GET /metrics: counted by service, method and status code with
//! a duration histogram, once each call ends; a path that is not a served
//! method never becomes a label; logins over gRPC count with the HTTP ones.

use std::collections::BTreeMap;

use http::uri::PathAndQuery;
use tonic::{Code, Request};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_prost::ProstCodec;

use auth_service::grpc::proto;

use crate::helpers::*;

/// Every method the gRPC port serves: ours, health, and both reflections.
const SERVED: [(&str, &str); 12] = [
    ("auth.v1.AuthService", "Register"),
    ("auth.v1.AuthService", "Login"),
    ("auth.v1.AuthService", "Refresh"),
    ("auth.v1.AuthService", "Logout"),
    ("auth.v1.AuthService", "VerifyEmail"),
    ("auth.v1.TokenService", "ValidateToken"),
    ("auth.v1.TokenService", "GetUser"),
    ("auth.v1.TokenService", "WatchRevocations"),
    ("grpc.health.v1.Health", "Check"),
    ("grpc.health.v1.Health", "Watch"),
    (
        "grpc.reflection.v1.ServerReflection",
        "ServerReflectionInfo",
    ),
    (
        "grpc.reflection.v1alpha.ServerReflection",
        "ServerReflectionInfo",
    ),
];

fn labels(service: &str, method: &str, code: &str) -> String {
    format!(r#"service="{service}",method="{method}",code="{code}""#)
}

/// What `auth_grpc_requests_total` must hold after `calls` (service, method,
/// code, count): those, and every other served method at zero calls with OK.
fn counted(calls: &[(&str, &str, &str, f64)]) -> BTreeMap<String, f64> {
    let series = |labels: String| format!("auth_grpc_requests_total{{{labels}}}");
    let mut expected: BTreeMap<String, f64> = SERVED
        .iter()
        .map(|(service, method)| (series(labels(service, method, "OK")), 0.0))
        .collect();
    for (service, method, code, count) in calls {
        expected.insert(series(labels(service, method, code)), *count);
    }
    expected
}

fn login_request(email: &str, password: &str) -> proto::LoginRequest {
    proto::LoginRequest {
        email: email.into(),
        password: password.into(),
    }
}

#[tokio::test]
async fn a_grpc_login_and_a_refused_one_are_counted_by_service_method_and_code() {
    let app = spawn_app().await;
    let email = app.verified_user().await;
    app.grpc_login(&email, PASSWORD).await;
    let mut auth = app.auth_service().await;
    let refused = auth.login(login_request(&email, "wrong password")).await;
    assert_refused(refused, GRPC_INVALID_CREDENTIALS);

    let scrape = scraped(&app).await;
    let login = "auth.v1.AuthService";
    assert_eq!(
        scrape.of("auth_grpc_requests_total"),
        counted(&[
            (login, "Login", "OK", 1.0),
            (login, "Login", "UNAUTHENTICATED", 1.0),
        ])
    );
    // Each call has its latency histogram: one sample, in the +Inf bucket too.
    for code in ["OK", "UNAUTHENTICATED"] {
        let labels = labels(login, "Login", code);
        let count = format!("auth_grpc_request_duration_seconds_count{{{labels}}}");
        assert_eq!(scrape.value(&count), 1.0);
        let all = format!("auth_grpc_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}");
        assert_eq!(scrape.value(&all), 1.0);
    }
    // The core counts the logins of both doors alike.
    let logins =
        |outcome: &str| format!(r#"auth_logins_total{{method="password",outcome="{outcome}"}}"#);
    assert_eq!(
        scrape.of("auth_logins_total"),
        BTreeMap::from([
            (logins("succeeded"), 1.0),
            (logins("invalid_credentials"), 1.0)
        ])
    );
    assert!(!scrape.text.contains(&email));
}

/// Calls `path` (which the server does not serve) with a Login message.
async fn call_unserved(app: &TestApp, path: &'static str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(app.grpc_channel().await);
    grpc.ready().await.expect("the channel is ready");
    let codec = ProstCodec::<proto::LoginRequest, proto::LoginResponse>::default();
    let request = Request::new(login_request(&unique_email(), PASSWORD));
    let reply = grpc
        .unary(request, PathAndQuery::from_static(path), codec)
        .await;
    reply.expect_err("the path is not served")
}

#[tokio::test]
async fn a_call_to_a_method_not_served_is_counted_as_unknown_never_under_its_path() {
    let app = spawn_app().await;
    for path in [
        "/auth.v1.AuthService/NoSuchMethod",
        "/scanner.Probe-31337/Anything",
    ] {
        let status = call_unserved(&app, path).await;
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    }
    // Health checks count under their own service.
    let mut health = HealthClient::new(app.grpc_channel().await);
    let check = HealthCheckRequest {
        service: String::new(),
    };
    health.check(check).await.expect("health answers");

    let scrape = scraped(&app).await;
    assert_eq!(
        scrape.of("auth_grpc_requests_total"),
        counted(&[
            ("unknown", "unknown", "UNIMPLEMENTED", 2.0),
            ("grpc.health.v1.Health", "Check", "OK", 1.0),
        ])
    );
    for leaked in ["NoSuchMethod", "scanner", "31337"] {
        assert!(!scrape.text.contains(leaked), "{leaked}:\n{}", scrape.text);
    }
}

#[tokio::test]
async fn a_revocation_stream_is_counted_when_it_ends() {
    let app = spawn_app_with(&["--introspection-keys", SERVICE_KEY]).await;
    let request = with_key(proto::WatchRevocationsRequest {}, SERVICE_KEY);
    let reply = app.token_service().await.watch_revocations(request).await;
    let stream = reply.expect("WatchRevocations answers").into_inner();
    // Open, it is not counted yet: its status is not known.
    let open = scraped(&app).await;
    assert_eq!(open.of("auth_grpc_requests_total"), counted(&[]));

    // The subscriber goes away: the call ends CANCELLED once the server hears it.
    drop(stream);
    let cancelled = labels("auth.v1.TokenService", "WatchRevocations", "CANCELLED");
    let series = format!("auth_grpc_requests_total{{{cancelled}}}");
    let scrape = scrape_until(&app, "the stream is counted", |s| {
        s.samples.get(&series) == Some(&1.0)
    })
    .await;
    assert_eq!(
        scrape.of("auth_grpc_requests_total"),
        counted(&[("auth.v1.TokenService", "WatchRevocations", "CANCELLED", 1.0)])
    );
}
