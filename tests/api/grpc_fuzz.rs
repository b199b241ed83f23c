//! A fuzz of the gRPC door (issue 12, item 7): every method gets random and
//! malformed messages, with random metadata. A panic in a handler shows as a
//! reset stream (CANCELLED), UNKNOWN or INTERNAL, or a dropped connection:
//! none may happen, every refusal of a message that parses names its v1 code,
//! and the server still answers afterwards.
//!
//! The messages go out as raw bytes (`call_raw`), so they can be anything:
//! encodings of random field values, random bytes, or encodings with a byte
//! changed, cut short or extended.

use std::fmt;

use auth_service::grpc::ERROR_CODE;
use auth_service::grpc::proto::{self, logout_request::Credential};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use prost::Message;
use prost::bytes::Bytes;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::*;

/// Calls per run, all methods together (most are refused before any hashing;
/// the rest hash a password once).
const CASES: u32 = 1_000;
/// The largest message auth.v1 reads (MAX_MESSAGE in src/grpc/mod.rs).
const MAX_MESSAGE: usize = 64 * 1024;
/// The largest message tonic's health service reads (tonic's default).
const MAX_HEALTH_MESSAGE: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy)]
enum Method {
    Register,
    Login,
    Refresh,
    Logout,
    VerifyEmail,
    ValidateToken,
    GetUser,
    WatchRevocations,
    HealthCheck,
}

const METHODS: &[Method] = &[
    Method::Register,
    Method::Login,
    Method::Refresh,
    Method::Logout,
    Method::VerifyEmail,
    Method::ValidateToken,
    Method::GetUser,
    Method::WatchRevocations,
    Method::HealthCheck,
];

impl Method {
    fn path(self) -> &'static str {
        match self {
            Method::Register => "/auth.v1.AuthService/Register",
            Method::Login => "/auth.v1.AuthService/Login",
            Method::Refresh => "/auth.v1.AuthService/Refresh",
            Method::Logout => "/auth.v1.AuthService/Logout",
            Method::VerifyEmail => "/auth.v1.AuthService/VerifyEmail",
            Method::ValidateToken => "/auth.v1.TokenService/ValidateToken",
            Method::GetUser => "/auth.v1.TokenService/GetUser",
            Method::WatchRevocations => "/auth.v1.TokenService/WatchRevocations",
            Method::HealthCheck => "/grpc.health.v1.Health/Check",
        }
    }

    /// The largest message the method's service reads.
    fn limit(self) -> usize {
        match self {
            Method::HealthCheck => MAX_HEALTH_MESSAGE,
            _ => MAX_MESSAGE,
        }
    }

    /// Whether the server can read `body` as this method's message (with
    /// prost, as tonic does before the handler runs).
    fn parses(self, body: &[u8]) -> bool {
        match self {
            Method::Register => proto::RegisterRequest::decode(body).is_ok(),
            Method::Login => proto::LoginRequest::decode(body).is_ok(),
            Method::Refresh => proto::RefreshRequest::decode(body).is_ok(),
            Method::Logout => proto::LogoutRequest::decode(body).is_ok(),
            Method::VerifyEmail => proto::VerifyEmailRequest::decode(body).is_ok(),
            Method::ValidateToken => proto::ValidateTokenRequest::decode(body).is_ok(),
            Method::GetUser => proto::GetUserRequest::decode(body).is_ok(),
            Method::WatchRevocations => proto::WatchRevocationsRequest::decode(body).is_ok(),
            Method::HealthCheck => HealthCheckRequest::decode(body).is_ok(),
        }
    }
}

/// One call: a method, the bytes of its message, and its metadata.
#[derive(Clone)]
struct Call {
    method: Method,
    body: Vec<u8>,
    authorization: Option<String>,
    user_agent: Option<String>,
    forwarded_for: Option<String>,
}

/// The body shortened: a failing case is shown, not a 70 KiB dump.
impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.body[..self.body.len().min(120)];
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("body_len", &self.body.len())
            .field("body_start", &String::from_utf8_lossy(shown))
            .field("authorization", &self.authorization)
            .field("user_agent", &self.user_agent)
            .field("forwarded_for", &self.forwarded_for)
            .finish()
    }
}

/// Real values of the app, so that calls also reach past the first checks.
#[derive(Clone)]
struct Known {
    email: String,
    access: String,
    refresh: String,
    user_id: String,
}

/// Field values: short Unicode, shapes the service looks for (emails, opaque
/// tokens, JWTs, UUIDs), the app's real values, and strings over the limit.
fn text(known: &Known) -> BoxedStrategy<String> {
    let real = vec![
        known.email.clone(),
        known.access.clone(),
        known.refresh.clone(),
        known.user_id.clone(),
        PASSWORD.to_owned(),
    ];
    prop_oneof![
        3 => ".{0,40}",
        1 => "[ \t]{0,2}[a-zA-Z0-9.+-]{1,20}@[a-z0-9-]{1,20}\\.[a-z]{2,4}[ \t]{0,2}",
        1 => "[A-Za-z0-9_-]{43}",
        1 => "[A-Za-z0-9_-]{20,40}\\.[A-Za-z0-9_-]{20,300}\\.[A-Za-z0-9_-]{86}",
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        2 => proptest::sample::select(real),
        1 => "[\\x00-\\x1f\\p{M}\\p{So}\\u{202e}]{0,20}",
        1 => (100usize..2_000).prop_map(|n| "é".repeat(n)),
        1 => (MAX_MESSAGE - 100..MAX_MESSAGE + 100).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

/// An encoding of `method`'s message with random field values.
fn message(method: Method, known: &Known) -> BoxedStrategy<Vec<u8>> {
    let t = text(known);
    match method {
        Method::Register => (t.clone(), t.clone(), proptest::option::of(t))
            .prop_map(|(email, password, name)| {
                proto::RegisterRequest {
                    email,
                    password,
                    name,
                }
                .encode_to_vec()
            })
            .boxed(),
        Method::Login => (t.clone(), t)
            .prop_map(|(email, password)| proto::LoginRequest { email, password }.encode_to_vec())
            .boxed(),
        Method::Refresh => t
            .prop_map(|refresh_token| proto::RefreshRequest { refresh_token }.encode_to_vec())
            .boxed(),
        Method::Logout => {
            let credential = prop_oneof![
                Just(None),
                t.clone().prop_map(|s| Some(Credential::AccessToken(s))),
                t.prop_map(|s| Some(Credential::RefreshToken(s))),
            ];
            let scope = prop_oneof![3 => 0..4, 1 => any::<i32>()];
            (credential, scope)
                .prop_map(|(credential, scope)| {
                    proto::LogoutRequest { credential, scope }.encode_to_vec()
                })
                .boxed()
        }
        Method::VerifyEmail => t
            .prop_map(|token| proto::VerifyEmailRequest { token }.encode_to_vec())
            .boxed(),
        Method::ValidateToken => t
            .prop_map(|access_token| proto::ValidateTokenRequest { access_token }.encode_to_vec())
            .boxed(),
        Method::GetUser => t
            .prop_map(|user_id| proto::GetUserRequest { user_id }.encode_to_vec())
            .boxed(),
        Method::WatchRevocations => Just(Vec::new()).boxed(),
        Method::HealthCheck => prop_oneof![
            Just(String::new()),
            Just("auth.v1.AuthService".to_owned()),
            t
        ]
        .prop_map(|service| HealthCheckRequest { service }.encode_to_vec())
        .boxed(),
    }
}

/// What a fuzzer does to a valid encoding.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Cut(prop::sample::Index),
    Extend(Vec<u8>),
}

fn mutated(mut body: Vec<u8>, mutation: Mutation) -> Vec<u8> {
    match mutation {
        Mutation::Flip(_, _) | Mutation::Cut(_) if body.is_empty() => body.push(0xff),
        Mutation::Flip(at, bits) => {
            let at = at.index(body.len());
            body[at] ^= bits.max(1);
        }
        Mutation::Cut(at) => body.truncate(at.index(body.len())),
        Mutation::Extend(bytes) => body.extend(bytes),
    }
    body
}

fn body(method: Method, known: &Known) -> BoxedStrategy<Vec<u8>> {
    let mutation = prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Cut),
        prop::collection::vec(any::<u8>(), 1..20).prop_map(Mutation::Extend),
    ];
    prop_oneof![
        4 => message(method, known),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        2 => (message(method, known), mutation).prop_map(|(m, x)| mutated(m, x)),
    ]
    .boxed()
}

fn calls(known: &Known) -> impl Strategy<Value = Call> + use<> {
    let known = known.clone();
    let key = format!("Bearer {SERVICE_KEY}");
    let authorization = prop_oneof![
        1 => Just(None),
        3 => Just(Some(key)),
        1 => Just(Some(format!("Bearer {}", known.access))),
        1 => "[bB][eE][aA][rR][eE][rR] [ -~]{0,60}".prop_map(Some),
        1 => "[ -~]{0,80}".prop_map(Some),
    ];
    let header = proptest::option::of("[ -~]{0,100}");
    proptest::sample::select(METHODS).prop_flat_map(move |method| {
        (
            body(method, &known),
            authorization.clone(),
            header.clone(),
            header.clone(),
        )
            .prop_map(
                move |(body, authorization, user_agent, forwarded_for)| Call {
                    method,
                    body,
                    authorization,
                    user_agent,
                    forwarded_for,
                },
            )
    })
}

/// Sends `call`; a connection that is gone fails the case.
async fn send(channel: Channel, call: &Call) -> Result<Result<(), Status>, TestCaseError> {
    let mut request = Request::new(Bytes::from(call.body.clone()));
    let metadata = request.metadata_mut();
    for (name, value) in [
        ("authorization", &call.authorization),
        ("user-agent", &call.user_agent),
        ("x-forwarded-for", &call.forwarded_for),
    ] {
        if let Some(value) = value.as_deref().and_then(|v| v.parse().ok()) {
            metadata.insert(name, value);
        }
    }
    let answers = match call.method {
        Method::WatchRevocations => Answers::Stream,
        _ => Answers::One,
    };
    call_raw(channel, call.method.path(), answers, request)
        .await
        .map_err(|e| TestCaseError::fail(format!("the connection is gone: {e}")))
}

/// What every answer must be. Over the size limit: tonic's OUT_OF_RANGE. Not
/// a message of the method: tonic's INTERNAL for a request that does not parse
/// (gRPC's status-code table: "Error parsing request proto"), said as prost
/// says it. Otherwise the handler answered: never UNKNOWN or INTERNAL, nor
/// CANCELLED (what a client sees of a panicking handler: hyper resets the
/// stream), and every refusal carries its v1 code, as auth.proto promises.
fn judge(call: &Call, answer: Result<(), Status>) -> Result<(), TestCaseError> {
    let Err(status) = answer else {
        return Ok(());
    };
    if call.body.len() > call.method.limit() {
        prop_assert_eq!(status.code(), Code::OutOfRange, "{:?}", status);
    } else if !call.method.parses(&call.body) {
        prop_assert_eq!(status.code(), Code::Internal, "{:?}", status);
        let message = status.message();
        prop_assert!(
            message.starts_with("failed to decode Protobuf message: "),
            "{}",
            message
        );
    } else {
        let code = status.code();
        let broken = matches!(code, Code::Unknown | Code::Internal | Code::Cancelled);
        prop_assert!(!broken, "{:?}", status);
        let named = matches!(call.method, Method::HealthCheck)
            || status.metadata().get(ERROR_CODE).is_some();
        prop_assert!(named, "a refusal without its v1 code: {:?}", status);
    }
    Ok(())
}

#[test]
fn every_grpc_method_answers_any_message_without_a_panic() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (app, known, channel) = runtime.block_on(async {
        let app = spawn_app_with(&["--introspection-keys", SERVICE_KEY]).await;
        let session = app.signed_up().await;
        let known = Known {
            email: session.email().to_owned(),
            access: session.access.clone(),
            refresh: session.refresh.clone(),
            user_id: session.user["id"].as_str().expect("id").to_owned(),
        };
        let channel = app.grpc_channel().await;
        (app, known, channel)
    });

    let config = Config {
        source_file: Some(file!()),
        ..Config::with_cases(CASES)
    };
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&calls(&known), |call| {
        runtime.block_on(async {
            let answer = send(channel.clone(), &call).await?;
            judge(&call, answer)
        })
    });
    if let Err(failure) = outcome {
        panic!("{failure}\n{runner}");
    }

    // Still serving, and still logging people in.
    runtime.block_on(async {
        let mut health = HealthClient::new(app.grpc_channel().await);
        let reply = health.check(HealthCheckRequest::default()).await;
        let status = reply.expect("health check answers").into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32);
        let tokens = app.grpc_login(&known.email, PASSWORD).await;
        assert_eq!(tokens.token_type, "Bearer");
    });
    drop(app);
}
