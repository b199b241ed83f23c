//! The bound on password hashing: a burst of logins past the queue is turned away
//! at once with 503 and `Retry-After`, while requests that need no hash keep being
//! served; within the bound every login goes through.

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;

use crate::helpers::*;

/// One hashing thread, one waiting place, and hashes slow enough that a burst
/// sent at once cannot trickle through one by one.
const ONE_SLOT_ONE_WAITING: &[&str] = &[
    "--max-concurrent-hashes",
    "1",
    "--max-queued-hashes",
    "1",
    "--argon2-iterations",
    "16",
];

#[tokio::test]
async fn a_login_burst_past_the_queue_gets_503_while_me_keeps_answering() {
    let app = spawn_app_with(ONE_SLOT_ONE_WAITING).await;
    let session = app.signed_up().await;
    let strangers: Vec<String> = (0..12).map(|_| unique_email()).collect();
    let logins: Vec<(&str, &str)> = strangers.iter().map(|e| (e.as_str(), PASSWORD)).collect();

    let burst_over = AtomicBool::new(false);
    let burst = async {
        let replies = app.logins_at_once(&logins).await;
        burst_over.store(true, Ordering::SeqCst);
        replies
    };
    let reads = async {
        let mut statuses = Vec::new();
        loop {
            statuses.push(app.me(&session.access).await.status);
            if burst_over.load(Ordering::SeqCst) {
                return statuses;
            }
        }
    };
    let (replies, reads) = tokio::join!(burst, reads);

    assert!(reads.iter().all(|s| *s == StatusCode::OK), "{reads:?}");
    let (busy, checked): (Vec<_>, Vec<_>) = replies
        .iter()
        .partition(|r| r.status == StatusCode::SERVICE_UNAVAILABLE);
    assert!(!busy.is_empty(), "no login of the burst was turned away");
    for reply in busy {
        reply.assert_problem(HASHING_BUSY);
        assert_eq!(reply.header("retry-after"), Some("1"));
    }
    // The ones that got a slot were checked as usual (unknown emails).
    assert!(!checked.is_empty());
    for reply in checked {
        reply.assert_problem(INVALID_CREDENTIALS);
    }
}

#[tokio::test]
async fn logins_within_the_bound_all_succeed() {
    let app = spawn_app_with(ONE_SLOT_ONE_WAITING).await;
    let (first, second) = (unique_email(), unique_email());
    app.verified_user_with(&first).await;
    app.verified_user_with(&second).await;

    // One hashes while the other waits in the one place.
    let replies = app
        .logins_at_once(&[(&first, PASSWORD), (&second, PASSWORD)])
        .await;
    let sessions: Vec<Tokens> = replies.iter().map(Tokens::of).collect();
    assert_eq!(sessions[0].email(), first);
    assert_eq!(sessions[1].email(), second);
}
