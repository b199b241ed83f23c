//! One delivery attempt: the signed POST of a webhook to WEBHOOK_URL.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};
use url::Url;

use crate::config::WebhookTarget;

/// Longest time one attempt may take, connecting included.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts signed webhooks to the configured receiver.
pub struct Sender {
    client: reqwest::Client,
    url: Url,
    signer: standardwebhooks::Webhook,
}

impl Sender {
    pub fn new(target: &WebhookTarget) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            // A redirected POST may turn into a GET elsewhere: a 3xx is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("auth-service/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let signer = standardwebhooks::Webhook::from_bytes(target.key.clone())
            .map_err(|e| anyhow::anyhow!("WEBHOOK_SECRET: {e}"))?;
        Ok(Self {
            client,
            url: target.url.clone(),
            signer,
        })
    }

    /// Where webhooks go, for the start-up log: the origin only, since the path
    /// or query of WEBHOOK_URL may hold a token of the receiver.
    pub fn describe(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// POSTs `payload` as webhook `id`, signed for the Unix time `timestamp`.
    /// Any 2xx is delivered; otherwise the error says why, without the URL.
    pub async fn send(&self, id: &str, payload: &str, timestamp: i64) -> Result<(), String> {
        let signature = self
            .signer
            .sign(id, timestamp, payload.as_bytes())
            .map_err(|e| format!("cannot sign: {e}"))?;
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(HEADER_WEBHOOK_ID, id)
            .header(HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(HEADER_WEBHOOK_SIGNATURE, signature)
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|e| causes(&e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {status}"))
        }
    }
}

/// An error and its causes on one line (reqwest's own message alone says only
/// "error sending request").
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
