//! Graceful shutdown of the built binary on SIGTERM: the port closes at once,
//! the request in flight finishes, the mail and webhooks already due are
//! delivered, and the process exits 0, within SHUTDOWN_TIMEOUT; and the logs
//! are JSON lines with LOG_FORMAT=json.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::smtp::SmtpServer;

/// POST /register of `email` over a raw connection, sent up to its last bytes;
/// the caller sends those with [`finish_request`].
async fn start_request(service: &ServiceProcess, email: &str) -> (TcpStream, String) {
    let body = json!({"email": email, "password": PASSWORD}).to_string();
    let head = format!(
        "POST /register HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(service.addr).await.expect("connect");
    let (first, rest) = body.split_at(body.len() - 5);
    stream
        .write_all(format!("{head}{first}").as_bytes())
        .await
        .expect("send");
    (stream, rest.to_owned())
}

/// Sends the rest of the request; the whole response.
async fn finish_request(mut stream: TcpStream, rest: &str) -> String {
    stream
        .write_all(rest.as_bytes())
        .await
        .expect("send the rest");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the response");
    response
}

async fn register(service: &ServiceProcess, email: &str) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/register", service.addr))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_delivers_what_is_due_and_exits_0() {
    let smtp = SmtpServer::start().await;
    let receiver = WebhookReceiver::start().await;
    // Each webhook takes a while: most are still queued when SIGTERM comes.
    receiver.answer_after(Duration::from_millis(700));
    let secret = webhook_secret();
    let hooks = receiver.flags();
    let mut service = ServiceProcess::start(&[
        ("SMTP_URL", &smtp.url()),
        ("WEBHOOK_URL", hooks[1]),
        ("WEBHOOK_SECRET", &secret),
    ])
    .await;
    let emails: Vec<String> = (0..4).map(|_| unique_email()).collect();
    for email in &emails[..3] {
        register(&service, email).await;
    }
    let (in_flight, rest) = start_request(&service, &emails[3]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    service.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = TcpStream::connect(service.addr).await;
    assert_eq!(
        refused.map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "the port still accepts connections"
    );
    let response = finish_request(in_flight, &rest).await;
    assert!(
        response.starts_with("HTTP/1.1 202 Accepted\r\n"),
        "{response}"
    );

    let (status, _) = service.exited_within(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0));
    // Everything was handed over before the exit, the last request's too.
    let mail = smtp.messages();
    for email in &emails {
        assert_eq!(
            mail.iter().filter(|m| m.is_to(email)).count(),
            1,
            "{email}: {mail:#?}"
        );
    }
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 4, "{delivered:#?}");

    let log = service.log();
    let messages: Vec<&str> = log.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages.contains(&"shutting down: ports closed; finishing requests, then delivering due mail and webhooks"),
        "{messages:#?}"
    );
    assert_eq!(messages.last(), Some(&"shut down"), "{messages:#?}");
    // Structured lines: level and time as fields; a request's line carries its span.
    assert!(
        log.iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
    let request = log
        .iter()
        .find(|l| l["span"]["path"] == "/register")
        .expect("a request line");
    assert_eq!(request["status"], 202, "{request}");
}

#[tokio::test]
async fn shutdown_timeout_bounds_the_wait_for_deliveries() {
    let receiver = WebhookReceiver::start().await;
    // Far slower than the deadline.
    receiver.answer_after(Duration::from_secs(8));
    let secret = webhook_secret();
    let hooks = receiver.flags();
    let mut service = ServiceProcess::start(&[
        ("WEBHOOK_URL", hooks[1]),
        ("WEBHOOK_SECRET", &secret),
        ("SHUTDOWN_TIMEOUT", "1s"),
    ])
    .await;
    for _ in 0..2 {
        register(&service, &unique_email()).await;
    }

    service.signal("TERM");
    let (status, took) = service.exited_within(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // The first webhook was on its way at the deadline; the second never left.
    assert_eq!(receiver.requests().len(), 1);
    let log = service.log();
    assert!(
        log.iter().any(|l| l["message"]
            == "SHUTDOWN_TIMEOUT passed: stopping with requests or deliveries unfinished"),
        "{log:#?}"
    );
}
