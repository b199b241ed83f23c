//! A real webhook receiver for the tests: an axum server on 127.0.0.1:0 that
//! records every request it gets (headers and body) and answers 204, or 500 for
//! as many requests as it was told to fail, after a delay if told to be slow. [`WebhookReceiver::flags`] points an
//! app at it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The signing key of the tests' WEBHOOK_SECRET.
pub const WEBHOOK_KEY: [u8; 32] = [42; 32];

/// WEBHOOK_SECRET in the Standard Webhooks format: `whsec_` + base64 of the key.
pub fn webhook_secret() -> String {
    format!("whsec_{}", STANDARD.encode(WEBHOOK_KEY))
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub content_type: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// What the receiver answered.
    pub answered: StatusCode,
}

impl WebhookRequest {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    /// Whether `webhook-signature` is `v1,` + base64 HMAC-SHA256 of
    /// `id.timestamp.body` under [`WEBHOOK_KEY`], recomputed here.
    pub fn signature_is_valid(&self) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(&WEBHOOK_KEY).expect("any key length");
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
struct Received {
    requests: Vec<WebhookRequest>,
    /// Requests still to be answered 500.
    failures_left: usize,
    /// How long each answer takes.
    delay: Duration,
}

pub struct WebhookReceiver {
    url: String,
    secret: String,
    received: Arc<Mutex<Received>>,
    server: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let received = Arc::new(Mutex::new(Received::default()));
        let router = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver");
        let addr = listener.local_addr().expect("receiver address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        WebhookReceiver {
            url: format!("http://{addr}/hooks"),
            secret: webhook_secret(),
            received,
            server,
        }
    }

    /// The flags that send an app's webhooks here, signed with [`webhook_secret`].
    pub fn flags(&self) -> [&str; 4] {
        ["--webhook-url", &self.url, "--webhook-secret", &self.secret]
    }

    /// The next `n` requests are answered 500.
    pub fn fail_next(&self, n: usize) {
        self.received.lock().expect("receiver state").failures_left = n;
    }

    /// Every answer takes this long from now on (a slow receiver keeps each
    /// webhook in flight a while).
    pub fn answer_after(&self, delay: Duration) {
        self.received.lock().expect("receiver state").delay = delay;
    }

    /// Every request so far, in the order they came.
    pub fn requests(&self) -> Vec<WebhookRequest> {
        self.received
            .lock()
            .expect("receiver state")
            .requests
            .clone()
    }

    /// The requests answered 2xx so far, in the order they came.
    pub fn delivered(&self) -> Vec<WebhookRequest> {
        let requests = self.requests();
        requests
            .into_iter()
            .filter(|r| r.answered.is_success())
            .collect()
    }

    /// Waits until `n` requests were answered 2xx (at most 15 seconds) and
    /// returns them.
    pub async fn wait_for_delivered(&self, n: usize) -> Vec<WebhookRequest> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let delivered = self.delivered();
            if delivered.len() >= n {
                return delivered;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {n} webhooks; got {delivered:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(received): State<Arc<Mutex<Received>>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        let value = headers.get(name).and_then(|v| v.to_str().ok());
        value.unwrap_or_default().to_owned()
    };
    let mut request = WebhookRequest {
        content_type: header("content-type"),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        answered: StatusCode::NO_CONTENT,
    };
    let (answered, delay) = {
        let mut received = received.lock().expect("receiver state");
        if received.failures_left > 0 {
            received.failures_left -= 1;
            request.answered = StatusCode::INTERNAL_SERVER_ERROR;
        }
        let answered = request.answered;
        received.requests.push(request);
        (answered, received.delay)
    };
    tokio::time::sleep(delay).await;
    answered
}
