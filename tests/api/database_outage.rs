//! PostgreSQL really stopped under a steady load (`pg_ctl stop`, immediate and
//! fast, on a cluster of the test's own): every request on both doors is
//! answered, with exactly the "database unavailable" answer (HTTP 503
//! problem+json, gRPC UNAVAILABLE, both `service_unavailable`), never a hang, a
//! 500 or a dropped connection; /readyz says 503, and the session cache answers
//! nothing from memory meanwhile. Once PostgreSQL is back, the same running
//! service (the one `TestApp`, never restarted) serves again within seconds,
//! its revocation broadcast listening again.
//!
//! Runs once, in the PostgreSQL half of the suite: the cluster is its own
//! whatever the backend, and one run is enough.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tonic::Streaming;

use auth_service::grpc::proto;

use crate::helpers::*;
use crate::private_postgres::{PrivatePostgres, StopMode};

/// Users sending requests at once; each sends its five calls together.
const WORKERS: usize = 4;
/// Bound on noticing the loss and on recovering (polled; not a timing target).
const NOTICE: Duration = Duration::from_secs(30);
/// Sign-ups log in at once: the load needs no mail.
const NO_LINK: [&str; 2] = ["--require-email-verification", "false"];

/// One user of the load and a session of theirs that it checks on every round.
struct Worker {
    email: String,
    access: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_fails_fast_with_503_and_recovers_without_a_restart() {
    let test = "postgres_stopped_under_load_fails_fast_with_503_and_recovers_without_a_restart";
    if backend() != Backend::Postgres {
        eprintln!("{test}: runs in the PostgreSQL half of the suite only");
        return;
    }
    let Some(cluster) = PrivatePostgres::start(test).await else {
        return;
    };
    let database = TestDatabase::on_postgres(&cluster.server_url());
    let keys = ["--introspection-keys", SERVICE_KEY];
    let receiver = WebhookReceiver::start().await;
    let flags = [&NO_LINK[..], &keys, &receiver.flags()].concat();
    let app = spawn_app_on(database, &flags).await;
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let email = unique_email();
        let tokens = Tokens::registered(&app.register(&email, PASSWORD).await);
        workers.push(Worker {
            email,
            access: tokens.access,
        });
    }
    for mode in [StopMode::Immediate, StopMode::Fast] {
        outage(&app, &receiver, &cluster, &workers, mode).await;
    }
}

/// Stops PostgreSQL under load, checks every answer, starts it again and
/// checks that the service recovered by itself.
async fn outage(
    app: &TestApp,
    receiver: &WebhookReceiver,
    cluster: &PrivatePostgres,
    workers: &[Worker],
    mode: StopMode,
) {
    let when = |phase: &str| format!("{mode:?} stop, {phase}");
    let before = every_round(app, workers).await;
    assert_answers(&when("before"), &before, &[Answer::Success]);
    // Opened now, so that it tells when this instance notices the loss.
    let mut revocations = watch(app).await;

    // The stop lands among requests in flight: each worker keeps sending rounds
    // until PostgreSQL is down. Whatever is answered is a success or a 503.
    let down = AtomicBool::new(false);
    let stop = async {
        cluster.stop(mode).await;
        down.store(true, Ordering::SeqCst);
    };
    let load = join_all(workers.iter().map(|worker| async {
        let mut answers = round(app, worker).await;
        while !down.load(Ordering::SeqCst) {
            answers.extend(round(app, worker).await);
        }
        answers
    }));
    let ((), during) = tokio::join!(stop, load);
    let during = during.concat();
    let allowed = [Answer::Success, Answer::Unavailable];
    assert_answers(&when("during the stop"), &during, &allowed);

    // Noticed: the broadcast lost its connection, so the session cache answers
    // nothing from memory (every session here was checked, hence remembered,
    // before the stop).
    let ended = tokio::time::timeout(NOTICE, revocations.message())
        .await
        .expect("the revocation stream ends once the loss is noticed");
    assert_status(
        &ended.expect_err("the stream ends with a status"),
        GRPC_REVOCATIONS_MISSED,
    );
    let (stopped, ready) = tokio::join!(every_round(app, workers), app.get("/readyz"));
    assert_answers(&when("while down"), &stopped, &[Answer::Unavailable]);
    ready.assert_problem(UNAVAILABLE);

    // Back: the same service serves again by itself.
    cluster.start_again().await;
    until_ready(app).await;
    let after = every_round(app, workers).await;
    assert_answers(&when("after"), &after, &[Answer::Success]);
    broadcast_listens_again(app, &workers[0]).await;
    background_work_resumes(app, receiver).await;
}

/// One round of every worker at once.
async fn every_round(app: &TestApp, workers: &[Worker]) -> Vec<Answered> {
    join_all(workers.iter().map(|worker| round(app, worker)))
        .await
        .concat()
}

/// The worker's five calls at once: log in, check its session and sign a new
/// user up over HTTP; log in and validate its session over gRPC.
async fn round(app: &TestApp, worker: &Worker) -> Vec<Answered> {
    let credentials = json!({"email": worker.email, "password": PASSWORD});
    let login = app.client.post(app.url("/login")).json(&credentials);
    let me = app.client.get(app.url("/me")).bearer_auth(&worker.access);
    let sign_up = json!({"email": unique_email(), "password": PASSWORD});
    let register = app.client.post(app.url("/register")).json(&sign_up);
    let grpc_login = async {
        let request = proto::LoginRequest {
            email: worker.email.clone(),
            password: PASSWORD.into(),
        };
        let mut auth = app.auth_service().await;
        grpc_call("gRPC Login", auth.login(request)).await
    };
    let validate = async {
        let message = proto::ValidateTokenRequest {
            access_token: worker.access.clone(),
        };
        let mut tokens = app.token_service().await;
        let request = with_key(message, SERVICE_KEY);
        grpc_call("gRPC ValidateToken", tokens.validate_token(request)).await
    };
    let answers = tokio::join!(
        http_call("POST /login", login, StatusCode::OK),
        http_call("GET /me", me, StatusCode::OK),
        http_call("POST /register", register, StatusCode::CREATED),
        grpc_login,
        validate,
    );
    vec![answers.0, answers.1, answers.2, answers.3, answers.4]
}

/// Revocations heard on `app` from now on (its gRPC `WatchRevocations`).
async fn watch(app: &TestApp) -> Streaming<proto::Revocation> {
    let request = with_key(proto::WatchRevocationsRequest {}, SERVICE_KEY);
    let reply = app.token_service().await.watch_revocations(request).await;
    reply.expect("WatchRevocations answers").into_inner()
}

/// Polls /readyz until it is 200 (bounded); any other answer than the 503
/// meanwhile fails.
async fn until_ready(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + NOTICE;
    loop {
        let ready = app.get("/readyz").await;
        if ready.status == StatusCode::OK {
            return;
        }
        ready.assert_problem(UNAVAILABLE);
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz still 503 {NOTICE:?} after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn log_in(app: &TestApp, worker: &Worker) -> Tokens {
    Tokens::of(&app.login(&worker.email, PASSWORD).await)
}

async fn log_out(app: &TestApp, session: &Tokens) {
    let logout = app.request(Method::POST, "/logout");
    let logout = logout.bearer(session.access.as_str());
    logout.send().await.assert_no_content();
}

/// The workers that poll the database carry on by themselves: a reset link
/// asked for now is mailed (link requests, then the outbox), and a new user's
/// sign-up is announced (the webhook outbox).
async fn background_work_resumes(app: &TestApp, receiver: &WebhookReceiver) {
    let email = unique_email();
    let user = Tokens::registered(&app.register(&email, PASSWORD).await).user;
    app.forgot_password(&email).await;
    app.mail(&email, RESET).await;
    let announced = |request: &WebhookRequest| {
        let body = request.json();
        body["type"] == "user.registered" && body["data"]["user_id"] == user["id"]
    };
    let deadline = tokio::time::Instant::now() + NOTICE;
    while !receiver.delivered().iter().any(announced) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sign-up of {email} was not announced in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The revocation broadcast listens again: a logout is heard on a new
/// `WatchRevocations` (retried until the listener is back, bounded), and a
/// remembered session that is logged out is refused on the very next request.
async fn broadcast_listens_again(app: &TestApp, worker: &Worker) {
    let deadline = tokio::time::Instant::now() + NOTICE;
    loop {
        let probe = log_in(app, worker).await;
        let mut stream = watch(app).await;
        log_out(app, &probe).await;
        let heard = tokio::time::timeout(Duration::from_secs(1), stream.message()).await;
        if let Ok(Ok(Some(revocation))) = heard {
            assert_eq!(revocation.session_id, probe.sid);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the revocation broadcast listens again in time"
        );
    }
    let session = log_in(app, worker).await;
    app.assert_session_active(&session).await;
    log_out(app, &session).await;
    app.me(&session.access)
        .await
        .assert_problem(INVALID_ACCESS_TOKEN);
}
