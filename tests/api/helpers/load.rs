//! Requests sent while something the service depends on fails, each answer
//! classified: the call's success, exactly the "database unavailable" answer of
//! its door (HTTP 503 problem+json, gRPC UNAVAILABLE, both
//! `service_unavailable`), or anything else, described. No answer within
//! [`NO_HANG`] counts as a hang.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use tonic::{Response, Status};

use super::{GRPC_UNAVAILABLE, UNAVAILABLE};

/// Not a latency target: a generous upper bound that tells "answered" from
/// "hangs". Waiting for a database connection gives up after 5 s (the pool's
/// acquire timeout), /readyz's ping after 2 s; no answer in three times that
/// is a hang.
pub const NO_HANG: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The call's success.
    Success,
    /// Exactly the door's "the database cannot be reached".
    Unavailable,
    /// Anything else: a 500, another refusal, a dropped connection, a hang.
    Other(String),
}

/// One call of a load and how it was answered.
#[derive(Debug, Clone)]
pub struct Answered {
    pub call: &'static str,
    pub answer: Answer,
}

impl fmt::Display for Answered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.call, self.answer)
    }
}

/// Sends an HTTP request; `success` is the status its success has.
pub async fn http_call(
    call: &'static str,
    request: reqwest::RequestBuilder,
    success: StatusCode,
) -> Answered {
    let sent = async {
        let response = request.send().await?;
        let status = response.status();
        let content_type = response.headers().get("content-type").cloned();
        let text = response.text().await?;
        Ok::<_, reqwest::Error>((status, content_type, text))
    };
    let answer = match tokio::time::timeout(NO_HANG, sent).await {
        Err(_) => Answer::Other(format!("no answer within {NO_HANG:?}")),
        Ok(Err(e)) => Answer::Other(format!("no answer: {e}")),
        Ok(Ok((status, _, _))) if status == success => Answer::Success,
        Ok(Ok((status, content_type, text))) => {
            let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let problem = content_type.is_some_and(|c| c == "application/problem+json");
            if status.as_u16() == UNAVAILABLE.status && problem && body == UNAVAILABLE.body() {
                Answer::Unavailable
            } else {
                Answer::Other(format!("{status} {text}"))
            }
        }
    };
    Answered { call, answer }
}

/// Makes a gRPC call (any success counts as its success).
pub async fn grpc_call<T>(
    call: &'static str,
    made: impl Future<Output = Result<Response<T>, Status>>,
) -> Answered {
    let answer = match tokio::time::timeout(NO_HANG, made).await {
        Err(_) => Answer::Other(format!("no answer within {NO_HANG:?}")),
        Ok(Ok(_)) => Answer::Success,
        Ok(Err(status)) if is_grpc_unavailable(&status) => Answer::Unavailable,
        Ok(Err(status)) => Answer::Other(format!("{status:?}")),
    };
    Answered { call, answer }
}

fn is_grpc_unavailable(status: &Status) -> bool {
    let error_code = status.metadata().get(auth_service::grpc::ERROR_CODE);
    status.code() == GRPC_UNAVAILABLE.code
        && error_code.and_then(|v| v.to_str().ok()) == Some(GRPC_UNAVAILABLE.error_code)
        && status.message() == GRPC_UNAVAILABLE.message
}

/// Every answer is one of `allowed`; else fails, listing the ones that are not.
#[track_caller]
pub fn assert_answers(when: &str, answers: &[Answered], allowed: &[Answer]) {
    assert!(!answers.is_empty(), "{when}: no requests were answered");
    let wrong: Vec<String> = answers
        .iter()
        .filter(|a| !allowed.contains(&a.answer))
        .map(ToString::to_string)
        .collect();
    assert!(
        wrong.is_empty(),
        "{when}: {} of {} answers were not {allowed:?}:\n  {}",
        wrong.len(),
        answers.len(),
        wrong.join("\n  ")
    );
}

/// Waits until `check` holds, polling; fails after `bound` saying `what` it
/// waited for.
pub async fn eventually<F, Fut>(what: &str, bound: Duration, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + bound;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {bound:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
