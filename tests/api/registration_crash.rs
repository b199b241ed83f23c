//! The real binary killed with SIGKILL in the middle of a burst of sign-ups:
//! afterwards every user exists completely (the user, its verification token,
//! its queued mail, its audit event: what one registration writes in its one
//! transaction) or not at all, with no orphan rows; started again on the same
//! database, the service serves and the outbox delivers every queued mail
//! exactly once. SMTP is down while the first process runs, so that no mail
//! leaves before the kill: what the second one sends is all there is.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::AnyPool;
use tokio::task::JoinSet;

use crate::helpers::*;
use crate::smtp::{ReceivedMail, SmtpServer};

/// Sign-ups in flight at once.
const SENDERS: usize = 16;
/// Answered sign-ups before the kill: the burst is well under way by then.
const ANSWERED_BEFORE_KILL: usize = 10;
/// Bound on waiting for the burst, the mail and the outbox (not a timing target).
const BOUND: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_leaves_whole_users_and_their_mail_goes_out_exactly_once() {
    let smtp = SmtpServer::start().await;
    smtp.set_down(true);
    let smtp_url = smtp.url();
    let env = [
        ("SMTP_URL", smtp_url.as_str()),
        ("PUBLIC_URL", "http://auth.test"),
        ("MAIL_RETRY_BASE", "1s"),
    ];
    let service = ServiceProcess::start(&env).await;
    let (database, answered) = killed_mid_burst(service).await;

    sqlx::any::install_default_drivers();
    let db = AnyPool::connect(&database.url())
        .await
        .expect("the test opens the killed service's database");
    let users = whole_users(&db).await;
    let missing: Vec<&String> = answered.difference(&users).collect();
    assert!(missing.is_empty(), "answered 202, yet no user: {missing:?}");
    expire_leases_of_the_dead(&db).await;

    smtp.set_down(false);
    let service = ServiceProcess::start_on(database, &env).await;
    let tokens = mailed_once_each(&smtp, &db, &users).await;
    // The restarted service serves, and the links it mailed work.
    let verified = reqwest::Client::new()
        .post(service.url("/verify-email"))
        .json(&json!({"token": tokens[0]}))
        .send()
        .await
        .expect("the restarted service answers");
    assert_eq!(verified.status(), StatusCode::OK);
}

/// Waits until the outbox has sent everything; then exactly one verification
/// mail has arrived for each of `users`, and nothing else. Returns their tokens.
async fn mailed_once_each(
    smtp: &SmtpServer,
    db: &AnyPool,
    users: &BTreeSet<String>,
) -> Vec<String> {
    smtp.wait_for(users.len(), BOUND).await;
    eventually("the outbox has nothing left to send", BOUND, || async {
        let unsent = "select count(*) from outbox where sent_at is null";
        let unsent: i64 = sqlx::query_scalar(unsent).fetch_one(db).await.unwrap();
        unsent == 0
    })
    .await;
    // Nothing is left to send, so nothing more can arrive: this is all of it.
    let delivered = smtp.messages();
    let mut recipients: Vec<&String> = delivered.iter().flat_map(|m| &m.rcpt_to).collect();
    recipients.sort();
    let expected: Vec<&String> = users.iter().collect();
    assert_eq!(recipients, expected, "each user's mail exactly once");
    let token = |m: &ReceivedMail| {
        assert_eq!(m.subject, VERIFY.subject, "{m:?}");
        VERIFY
            .token_in(m)
            .unwrap_or_else(|| panic!("no link: {m:?}"))
    };
    delivered.iter().map(token).collect()
}

/// Fires sign-ups from [`SENDERS`] clients at once and kills the service once
/// [`ANSWERED_BEFORE_KILL`] were answered: its database, and the addresses
/// whose sign-up was answered 202. Every answer must be a 202 (or none, once
/// the process is gone).
async fn killed_mid_burst(service: ServiceProcess) -> (TestDatabase, BTreeSet<String>) {
    let answered = Arc::new(Mutex::new(BTreeSet::new()));
    let wrong = Arc::new(Mutex::new(Vec::new()));
    let client = reqwest::Client::new();
    let mut burst = JoinSet::new();
    for _ in 0..SENDERS {
        let (answered, wrong) = (answered.clone(), wrong.clone());
        let (client, url) = (client.clone(), service.url("/register"));
        burst.spawn(async move {
            loop {
                let email = unique_email();
                let body = json!({"email": email, "password": PASSWORD});
                let sent = client.post(&url).json(&body).send();
                match tokio::time::timeout(NO_HANG, sent).await {
                    Ok(Ok(reply)) if reply.status() == StatusCode::ACCEPTED => {
                        answered.lock().unwrap().insert(email);
                    }
                    Ok(Ok(reply)) => wrong.lock().unwrap().push(format!("{reply:?}")),
                    // The process is gone: its connections are cut or refused.
                    Ok(Err(_)) => return,
                    Err(_) => {
                        wrong
                            .lock()
                            .unwrap()
                            .push(format!("no answer in {NO_HANG:?}"));
                        return;
                    }
                }
            }
        });
    }
    eventually("the burst is under way", BOUND, || async {
        answered.lock().unwrap().len() >= ANSWERED_BEFORE_KILL
    })
    .await;
    let database = service.sigkill().await;
    burst.join_all().await;
    let wrong = wrong.lock().unwrap().clone();
    assert!(wrong.is_empty(), "answers other than 202: {wrong:#?}");
    let answered = answered.lock().unwrap().clone();
    (database, answered)
}

/// The users of the database, each checked whole: exactly one verification
/// token, one queued mail and one `registered` event; and no row of any of
/// those without its user.
async fn whole_users(db: &AnyPool) -> BTreeSet<String> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "select u.email,
                (select count(*) from email_tokens t
                 where t.user_id = u.id and t.purpose = 'verify_email'),
                (select count(*) from outbox o where o.recipient = u.email),
                (select count(*) from audit_events e
                 where e.user_id = u.id and e.kind = 'registered')
         from users u",
    )
    .fetch_all(db)
    .await
    .expect("users and what each registration wrote");
    let partial: Vec<_> = rows
        .iter()
        .filter(|r| (r.1, r.2, r.3) != (1, 1, 1))
        .collect();
    assert!(partial.is_empty(), "users not whole: {partial:?}");
    let orphans: (i64, i64, i64) = sqlx::query_as(
        "select
           (select count(*) from email_tokens t
            where not exists (select 1 from users u where u.id = t.user_id)),
           (select count(*) from outbox o
            where not exists (select 1 from users u where u.email = o.recipient)),
           (select count(*) from audit_events e
            where not exists (select 1 from users u where u.id = e.user_id))",
    )
    .fetch_one(db)
    .await
    .expect("orphans");
    assert_eq!(orphans, (0, 0, 0), "tokens, mail and events without a user");
    rows.into_iter().map(|r| r.0).collect()
}

/// A worker killed while it holds mail (claimed, being sent) leaves its lease,
/// which only running out tells another instance that nobody sends that mail
/// any more: SMTP_TIMEOUT × 4, a minute. The test ends those leases of the
/// dead process now rather than wait the minute out (nothing was sent under
/// them: SMTP was down).
async fn expire_leases_of_the_dead(db: &AnyPool) {
    sqlx::query("update outbox set locked_until = null where sent_at is null")
        .execute(db)
        .await
        .expect("leases ended");
}
