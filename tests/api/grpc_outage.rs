//! The database out of reach: both doors say so with their "unavailable"
//! (gRPC `UNAVAILABLE`, HTTP 503), with the same v1 code, instead of an
//! internal error. PostgreSQL only: the app reaches it through a TCP relay
//! the test cuts, as a network failure or a stopped server would look.

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tonic::Code;

use auth_service::grpc::proto;

use crate::helpers::*;

/// Forwards connections to the PostgreSQL server until dropped; then new
/// connections are refused and open ones are cut.
struct Relay {
    port: u16,
    tasks: JoinSet<()>,
}

impl Relay {
    async fn to(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay binds");
        let port = listener.local_addr().expect("relay address").port();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Relay { port, tasks }
    }

    /// Stops listening and cuts every relayed connection.
    fn cut(&mut self) {
        self.tasks.abort_all();
    }
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_on_both_doors() {
    if backend() == Backend::Sqlite {
        eprintln!("skipped on SQLite: an embedded file cannot become unreachable");
        return;
    }
    // Sign-ups log in at once: two instances share the database, and either
    // one's outbox worker could send a verification link to its own SMTP
    // server, not to the one the test would wait on.
    let no_link = ["--require-email-verification", "false"];
    let direct = spawn_app_with(&no_link).await;
    let mut url = url::Url::parse(&direct.database.url()).expect("database URL");
    let target = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    );
    let mut relay = Relay::to(target).await;
    url.set_port(Some(relay.port)).expect("port");
    let app = spawn_sibling(
        &direct,
        &[&no_link[..], &["--database-url", url.as_str()]].concat(),
    )
    .await;
    let email = unique_email();
    Tokens::registered(&app.register(&email, PASSWORD).await);
    app.grpc_login(&email, PASSWORD).await;

    relay.cut();
    let request = proto::LoginRequest {
        email: email.clone(),
        password: PASSWORD.into(),
    };
    let mut auth = app.auth_service().await;
    let (grpc, http) = tokio::join!(auth.login(request), app.login(&email, PASSWORD));
    let status = grpc.expect_err("the database is out of reach");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_status(
        &status,
        Refusal {
            code: Code::Unavailable,
            error_code: "service_unavailable",
            message: "The service cannot reach its database.",
        },
    );
    http.assert_problem(UNAVAILABLE);
}
