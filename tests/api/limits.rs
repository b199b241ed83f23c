//! Rate limits: per client IP and per account, their 429 and headers, trusted
//! proxies, the mail throttle, RATE_LIMIT=off, bad quotas, and budgets shared by
//! several instances through Redis (also while Redis goes away and comes back).
//!
//! The suite runs with limits off; each test here turns them on with small quotas.
//! Retry-After values are exact: the requests before a refusal take well under a
//! second, and the header rounds the wait up to whole seconds.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::private_redis::{PrivateRedis, keys, shared_redis_url, unique_prefix};

/// Limits on, with these quotas (later flags win over the suite's `--rate-limit off`).
async fn limited_app(extra: &[&str]) -> TestApp {
    let mut args = vec!["--rate-limit", "on"];
    args.extend_from_slice(extra);
    spawn_app_with(&args).await
}

/// The exact 429 of `policy` (`quota` per `window` seconds) with its headers.
#[track_caller]
fn assert_limited(reply: &Reply, policy: &str, quota: u32, window: u64, retry_after: u64) {
    reply.assert_problem(RATE_LIMITED);
    let header = |name| reply.header(name).map(str::to_owned);
    assert_eq!(header("retry-after"), Some(retry_after.to_string()));
    assert_eq!(
        header("ratelimit-policy"),
        Some(format!("\"{policy}\";q={quota};w={window}"))
    );
    assert_eq!(
        header("ratelimit"),
        Some(format!("\"{policy}\";r=0;t={retry_after}"))
    );
}

/// A 429 of `policy`, whatever the wait.
#[track_caller]
fn assert_refused_by(reply: &Reply, policy: &str) {
    reply.assert_problem(RATE_LIMITED);
    let named = reply.header("ratelimit-policy").unwrap_or_default();
    assert!(named.starts_with(&format!("\"{policy}\";")), "{named}");
}

/// A POST with this JSON body that a proxy on 127.0.0.1 forwarded for `client`.
async fn post_for(app: &TestApp, client: &str, path: &str, body: &Value) -> Reply {
    let request = app.request(Method::POST, path);
    request
        .header("x-forwarded-for", client)
        .json(body)
        .send()
        .await
}

async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> Reply {
    let body = json!({"email": email, "password": password});
    post_for(app, client, "/login", &body).await
}

async fn readyz_limiter(app: &TestApp) -> Value {
    let ready = app.get("/readyz").await;
    ready.assert_status(StatusCode::OK);
    assert_eq!(ready.body["status"], "ok", "{}", ready.text);
    ready.body["rate_limiter"].clone()
}

// --- Per client IP -----------------------------------------------------------------------

#[tokio::test]
async fn a_client_over_its_quota_gets_429_with_retry_after_and_ratelimit_headers() {
    let app = limited_app(&["--rate-limit-password-forgot", "2/hour"]).await;
    // Two different addresses: the client's budget, not an account's, runs out.
    app.forgot_password(&unique_email()).await;
    app.forgot_password(&unique_email()).await;
    let refused = app
        .post_json("/password/forgot", &json!({"email": unique_email()}))
        .await;
    // 2/hour: one more every 30 minutes.
    assert_limited(&refused, "password-forgot", 2, 3600, 1800);
    // Other flows keep budgets of their own.
    let other = app.login(&unique_email(), PASSWORD).await;
    other.assert_problem(INVALID_CREDENTIALS);
}

#[tokio::test]
async fn logins_from_one_client_are_limited_whatever_the_account() {
    let app = limited_app(&["--rate-limit-login", "3/min"]).await;
    for _ in 0..3 {
        let wrong = app.login(&unique_email(), "wrong password").await;
        wrong.assert_problem(INVALID_CREDENTIALS);
    }
    let refused = app.login(&unique_email(), PASSWORD).await;
    assert_limited(&refused, "login", 3, 60, 20);
}

#[tokio::test]
async fn every_limited_flow_refuses_a_client_over_its_quota() {
    let app = limited_app(&[
        "--rate-limit-register",
        "1/hour",
        "--rate-limit-refresh",
        "1/hour",
        "--rate-limit-verify-resend",
        "1/hour",
        "--rate-limit-password-reset",
        "1/hour",
        "--rate-limit-password-change",
        "1/hour",
    ])
    .await;
    // The one registration this client may make.
    let session = app.signed_up().await;
    let register = app.register(&unique_email(), PASSWORD).await;
    assert_refused_by(&register, "register");

    let refresh = || {
        let body = json!({"refresh_token": random_token()});
        app.request(Method::POST, "/refresh").json(&body).send()
    };
    refresh().await.assert_problem(INVALID_REFRESH_TOKEN);
    assert_refused_by(&refresh().await, "refresh");

    let resend = || {
        let body = json!({"email": unique_email()});
        app.request(Method::POST, "/verify-email/resend")
            .json(&body)
            .send()
    };
    resend().await.assert_status(StatusCode::ACCEPTED);
    assert_refused_by(&resend().await, "verify-resend");

    let reset = || {
        let body = json!({"token": random_token(), "password": PASSWORD});
        app.request(Method::POST, "/password/reset")
            .json(&body)
            .send()
    };
    reset().await.assert_problem(INVALID_LINK_TOKEN);
    assert_refused_by(&reset().await, "password-reset");

    let change = || {
        let body = json!({"current_password": "not it at all", "new_password": PASSWORD});
        let request = app.request(Method::POST, "/password/change");
        request.bearer(session.access.as_str()).json(&body).send()
    };
    change().await.assert_problem(WRONG_CURRENT_PASSWORD);
    assert_refused_by(&change().await, "password-change");
}

// --- Per account -------------------------------------------------------------------------

#[tokio::test]
async fn failed_logins_count_against_the_account_across_many_ips_and_refill_in_minutes() {
    let app = limited_app(&[
        "--trusted-proxies",
        "127.0.0.1/32",
        "--rate-limit-login-account",
        "3/hour",
    ])
    .await;
    let email = app.verified_user().await;
    for i in 1..=3 {
        let wrong = login_from(&app, &format!("203.0.113.{i}"), &email, "wrong password").await;
        wrong.assert_problem(INVALID_CREDENTIALS);
    }
    // A fourth address, and the right password: the account's budget is spent
    // (before the password is looked at, so this reveals nothing about it).
    let refused = login_from(&app, "203.0.113.4", &email, PASSWORD).await;
    assert_limited(&refused, "login-account", 3, 3600, 1200);
    // Other accounts, from the same addresses, are not affected.
    let other = app.verified_user().await;
    let fine = login_from(&app, "203.0.113.1", &other, PASSWORD).await;
    fine.assert_status(StatusCode::OK);
    // Spellings of one address are one account.
    let shouted = login_from(
        &app,
        "203.0.113.5",
        &format!("  {}", email.to_uppercase()),
        PASSWORD,
    )
    .await;
    assert_refused_by(&shouted, "login-account");

    // No permanent lockout: one interval (3/hour: 20 minutes) later, the real user
    // gets in.
    app.advance(Duration::from_secs(20 * 60));
    let back = login_from(&app, "203.0.113.6", &email, PASSWORD).await;
    back.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn strangers_failing_cannot_lock_the_user_out_of_an_address_they_logged_in_from() {
    let app = limited_app(&[
        "--trusted-proxies",
        "127.0.0.1/32",
        "--rate-limit-login-account",
        "3/hour",
    ])
    .await;
    let email = app.verified_user().await;
    let phone = "198.51.100.20";
    // The user logs in from their phone (one of the three strangers share).
    login_from(&app, phone, &email, PASSWORD)
        .await
        .assert_status(StatusCode::OK);
    // An attacker spends the rest from elsewhere, and is refused.
    for i in 1..=2 {
        let wrong = login_from(&app, &format!("203.0.113.{i}"), &email, "wrong password").await;
        wrong.assert_problem(INVALID_CREDENTIALS);
    }
    let attacker = login_from(&app, "203.0.113.3", &email, "wrong password").await;
    assert_refused_by(&attacker, "login-account");
    // The phone still gets in: an address the user logged in from has a budget of
    // its own for this account...
    login_from(&app, phone, &email, PASSWORD)
        .await
        .assert_status(StatusCode::OK);
    // ...which only guesses from that address spend.
    for _ in 0..2 {
        let wrong = login_from(&app, phone, &email, "wrong password").await;
        wrong.assert_problem(INVALID_CREDENTIALS);
    }
    assert_refused_by(
        &login_from(&app, phone, &email, PASSWORD).await,
        "login-account",
    );
}

#[tokio::test]
async fn every_flow_that_names_an_account_limits_it_across_ips() {
    let app = limited_app(&[
        "--trusted-proxies",
        "127.0.0.1/32",
        "--rate-limit-register-account",
        "1/hour",
        "--rate-limit-verify-resend-account",
        "1/hour",
        "--rate-limit-password-forgot-account",
        "1/hour",
        "--rate-limit-password-change-account",
        "1/hour",
    ])
    .await;
    let email = unique_email();
    let body = json!({"email": email, "password": PASSWORD});
    post_for(&app, "198.51.100.1", "/register", &body)
        .await
        .assert_status(StatusCode::ACCEPTED);
    let again = post_for(&app, "198.51.100.2", "/register", &body).await;
    assert_refused_by(&again, "register-account");

    let body = json!({"email": email});
    post_for(&app, "198.51.100.1", "/verify-email/resend", &body)
        .await
        .assert_status(StatusCode::ACCEPTED);
    let again = post_for(&app, "198.51.100.2", "/verify-email/resend", &body).await;
    assert_refused_by(&again, "verify-resend-account");

    // Unknown addresses too: a refusal says nothing about whether an account exists.
    let body = json!({"email": unique_email()});
    post_for(&app, "198.51.100.1", "/password/forgot", &body)
        .await
        .assert_status(StatusCode::ACCEPTED);
    let again = post_for(&app, "198.51.100.2", "/password/forgot", &body).await;
    assert_refused_by(&again, "password-forgot-account");

    let session = app.signed_up().await;
    let change = |client: &'static str| {
        let body = json!({"current_password": "not it at all", "new_password": PASSWORD});
        let request = app.request(Method::POST, "/password/change");
        request
            .bearer(session.access.as_str())
            .header("x-forwarded-for", client)
            .json(&body)
            .send()
    };
    change("198.51.100.1")
        .await
        .assert_problem(WRONG_CURRENT_PASSWORD);
    assert_refused_by(&change("198.51.100.2").await, "password-change-account");
}

// --- Trusted proxies -----------------------------------------------------------------------

#[tokio::test]
async fn a_spoofed_forwarding_header_from_an_untrusted_peer_changes_nothing() {
    // No TRUSTED_PROXIES: the peer (127.0.0.1) is the client, whatever it claims.
    let app = limited_app(&["--rate-limit-login", "2/min"]).await;
    let spoofed = |header: &'static str, value: String| {
        let body = json!({"email": unique_email(), "password": PASSWORD});
        let request = app.request(Method::POST, "/login").header(header, &value);
        request.json(&body).send()
    };
    spoofed("x-forwarded-for", "192.0.2.1".into())
        .await
        .assert_problem(INVALID_CREDENTIALS);
    spoofed("forwarded", "for=192.0.2.2".into())
        .await
        .assert_problem(INVALID_CREDENTIALS);
    // Two "different clients", one budget: the peer's.
    let refused = spoofed("x-forwarded-for", "192.0.2.3".into()).await;
    assert_limited(&refused, "login", 2, 60, 30);
    assert_refused_by(&spoofed("forwarded", "for=192.0.2.4".into()).await, "login");

    // Sessions record the peer too.
    let email = app.verified_user().await;
    app.advance(Duration::from_secs(60));
    let login = spoofed_login(&app, &email).await;
    let sessions = app
        .get_bearer("/sessions", &Tokens::of(&login).access)
        .await;
    assert_eq!(sessions.body[0]["ip"], "127.0.0.1", "{}", sessions.text);
}

async fn spoofed_login(app: &TestApp, email: &str) -> Reply {
    let body = json!({"email": email, "password": PASSWORD});
    let request = app.request(Method::POST, "/login");
    request
        .header("x-forwarded-for", "192.0.2.99")
        .json(&body)
        .send()
        .await
}

#[tokio::test]
async fn behind_a_trusted_proxy_rfc_7239_forwarded_names_the_client() {
    let app = limited_app(&[
        "--trusted-proxies",
        "127.0.0.1/32",
        "--trusted-proxy-header",
        "forwarded",
        "--rate-limit-login",
        "2/min",
    ])
    .await;
    let from = |forwarded: &'static str, xff: &'static str| {
        let body = json!({"email": unique_email(), "password": PASSWORD});
        let request = app
            .request(Method::POST, "/login")
            .header("forwarded", forwarded);
        request.header("x-forwarded-for", xff).json(&body).send()
    };
    // The client wrote the left entry; the proxy appended the right one.
    let one = "for=6.6.6.6, for=\"198.51.100.7:4711\";proto=https";
    from(one, "10.9.9.9")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    from(one, "10.9.9.8")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    // Same client, whatever X-Forwarded-For (not the configured header) says.
    assert_limited(&from(one, "10.9.9.7").await, "login", 2, 60, 30);
    // Another client behind the same proxy has a budget of its own.
    let other = "for=6.6.6.6, for=198.51.100.8";
    from(other, "10.9.9.9")
        .await
        .assert_problem(INVALID_CREDENTIALS);

    // Sessions record the forwarded address.
    let email = app.verified_user().await;
    let body = json!({"email": email, "password": PASSWORD});
    let request = app
        .request(Method::POST, "/login")
        .header("forwarded", "for=\"[2001:db8::5]\"");
    let login = request.json(&body).send().await;
    let sessions = app
        .get_bearer("/sessions", &Tokens::of(&login).access)
        .await;
    assert_eq!(sessions.body[0]["ip"], "2001:db8::5", "{}", sessions.text);
}

// --- The mail throttle ---------------------------------------------------------------------

#[tokio::test]
async fn the_mail_throttle_sends_at_most_the_quota_per_recipient_and_answers_the_same() {
    let app = limited_app(&[
        "--rate-limit-mail-recipient",
        "3/hour",
        "--rate-limit-password-forgot",
        "100/hour",
        "--rate-limit-password-forgot-account",
        "100/hour",
    ])
    .await;
    // The verification mail is the first of the recipient's three.
    let email = app.verified_user().await;
    for _ in 0..3 {
        app.forgot_password(&email).await; // 202 each time
    }
    let (verify, reset) = (VERIFY.subject, RESET.subject);
    app.assert_mail_to(&email, &[verify, reset, reset]).await;
    assert_eq!(
        app.queued_for(&email).await.len(),
        3,
        "the third reset was not even queued"
    );
    // Other recipients are not affected (the marker mail above got through too).
    let other = app.verified_user().await;
    app.forgot_password(&other).await;
    app.mailed_token(&other, RESET).await;
}

#[tokio::test]
async fn the_total_mail_throttle_counts_every_recipient_and_answers_the_same() {
    let app = limited_app(&["--rate-limit-mail-total", "2/hour"]).await;
    let (a, b, c) = (unique_email(), unique_email(), unique_email());
    for email in [&a, &b, &c] {
        app.register(email, PASSWORD)
            .await
            .assert_status(StatusCode::ACCEPTED);
    }
    // Mail to an unknown address is not mail queued: it spends nothing.
    app.forgot_password(&unique_email()).await;
    assert_eq!(app.queued_for(&a).await, [VERIFY.subject]);
    assert_eq!(app.queued_for(&b).await, [VERIFY.subject]);
    assert!(app.queued_for(&c).await.is_empty(), "over the total");
    // The third account exists all the same (a resend, later, mails its link).
    assert_eq!(app.count("users").await, 3);
    app.mailed_token(&b, VERIFY).await;
}

// --- RATE_LIMIT=off, bad quotas --------------------------------------------------------------

#[tokio::test]
async fn rate_limit_off_disables_every_limit_and_the_mail_throttle() {
    let app = spawn_app_with(&[
        "--rate-limit",
        "off",
        "--rate-limit-login",
        "1/hour",
        "--rate-limit-login-account",
        "1/hour",
        "--rate-limit-password-forgot",
        "1/hour",
        "--rate-limit-mail-recipient",
        "1/hour",
        "--rate-limit-mail-total",
        "1/hour",
    ])
    .await;
    let email = app.verified_user().await;
    for _ in 0..3 {
        app.login(&email, "wrong password")
            .await
            .assert_problem(INVALID_CREDENTIALS);
    }
    for _ in 0..3 {
        app.forgot_password(&email).await;
    }
    let reset = RESET.subject;
    app.assert_mail_to(&email, &[VERIFY.subject, reset, reset, reset])
        .await;
    assert_eq!(readyz_limiter(&app).await, "disabled");
}

#[tokio::test]
async fn without_redis_the_limits_count_in_memory() {
    let app = limited_app(&[]).await;
    assert_eq!(readyz_limiter(&app).await, "memory");
}

#[tokio::test]
async fn a_bad_quota_or_limit_setting_stops_start_up_naming_the_variable() {
    for (name, value) in [
        ("RATE_LIMIT_LOGIN", "lots"),
        ("RATE_LIMIT_LOGIN", "10"),
        ("RATE_LIMIT_LOGIN_ACCOUNT", "0/min"),
        ("RATE_LIMIT_REGISTER", "5/fortnight"),
        ("RATE_LIMIT_MAIL_TOTAL", "-1/hour"),
        ("RATE_LIMIT_PASSWORD_FORGOT", "10/0s"),
        ("RATE_LIMIT", "sometimes"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("RATE_LIMIT_PREFIX", "has spaces"),
        ("TRUSTED_PROXY_HEADER", "x-real-ip"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
            .env(name, value)
            .env(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/unreachable",
            )
            .output()
            .expect("binary runs");
        assert!(!out.status.success(), "{name}={value} must stop start-up");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(name), "{name}={value}: {stderr}");
    }
}

// --- Several instances through Redis ---------------------------------------------------------

#[tokio::test]
async fn two_instances_on_one_redis_share_one_budget() {
    let test = "two_instances_on_one_redis_share_one_budget";
    let Some(redis) = shared_redis_url(test) else {
        return;
    };
    let prefix = unique_prefix();
    let args = [
        "--rate-limit",
        "on",
        "--redis-url",
        &redis,
        "--rate-limit-prefix",
        &prefix,
        "--rate-limit-login",
        "3/hour",
    ];
    let first = spawn_app_with(&args).await;
    let second = spawn_sibling(&first, &args).await;
    assert_eq!(readyz_limiter(&first).await, "redis");
    assert_eq!(readyz_limiter(&second).await, "redis");
    // Alone, each instance would allow three.
    for app in [&first, &second, &first] {
        app.login(&unique_email(), PASSWORD)
            .await
            .assert_problem(INVALID_CREDENTIALS);
    }
    assert_limited(
        &second.login(&unique_email(), PASSWORD).await,
        "login",
        3,
        3600,
        1200,
    );
    assert_limited(
        &first.login(&unique_email(), PASSWORD).await,
        "login",
        3,
        3600,
        1200,
    );
    // The budgets are in Redis, under the prefix, named by policy and subject;
    // accounts by a digest, never by their address.
    let kept = keys(&redis, &prefix).await;
    assert!(
        kept.contains(&format!("{prefix}:rl:login:ip:127.0.0.1")),
        "{kept:?}"
    );
    assert!(kept.iter().all(|k| !k.contains('@')), "{kept:?}");
}

/// Polls /readyz until its `rate_limiter` is `want` (bounded).
async fn until_limiter_is(app: &TestApp, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = readyz_limiter(app).await;
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rate_limiter stayed {now}, never {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn redis_going_away_mid_run_falls_back_to_memory_and_back_to_redis() {
    let test = "redis_going_away_mid_run_falls_back_to_memory_and_back_to_redis";
    let Some(mut redis) = PrivateRedis::start(test).await else {
        return;
    };
    let url = redis.url();
    let prefix = unique_prefix();
    let app = limited_app(&[
        "--redis-url",
        &url,
        "--rate-limit-prefix",
        &prefix,
        "--trusted-proxies",
        "127.0.0.1/32",
        "--rate-limit-login",
        "2/hour",
    ])
    .await;
    let login = |client: &'static str| login_from(&app, client, "nobody@example.com", PASSWORD);
    assert_eq!(readyz_limiter(&app).await, "redis");
    login("203.0.113.1")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    login("203.0.113.1")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    assert_refused_by(&login("203.0.113.1").await, "login");
    let ip_key = |ip: &str| format!("{prefix}:rl:login:ip:{ip}");
    assert!(keys(&url, &prefix).await.contains(&ip_key("203.0.113.1")));

    // Redis goes away: the service keeps serving and keeps limiting, on memory
    // (which counted this instance's requests all along).
    redis.kill();
    assert_eq!(readyz_limiter(&app).await, "redis-unreachable");
    assert_refused_by(&login("203.0.113.1").await, "login");
    login("203.0.113.2")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    login("203.0.113.2")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    assert_limited(&login("203.0.113.2").await, "login", 2, 3600, 1800);
    assert_eq!(readyz_limiter(&app).await, "redis-unreachable");

    // Redis is back (empty): the service notices and decides there again. Memory
    // would refuse 203.0.113.2; the new Redis has a full budget for it.
    redis.restart().await;
    until_limiter_is(&app, "redis").await;
    login("203.0.113.2")
        .await
        .assert_problem(INVALID_CREDENTIALS);
    let client_keys: Vec<String> = (keys(&url, &prefix).await)
        .into_iter()
        .filter(|k| k.contains(":login:ip:"))
        .collect();
    assert_eq!(client_keys, [ip_key("203.0.113.2")]);
}

#[test]
fn env_example_lists_every_limit_setting_with_its_default() {
    use clap::Args as _;
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"))
        .expect(".env.example");
    let lines: Vec<&str> = example.lines().map(str::trim).collect();
    let command = auth_service::config::Config::augment_args(clap::Command::new("auth-service"));
    let mut checked = 0;
    for arg in command.get_arguments() {
        let Some(name) = arg.get_env().and_then(|n| n.to_str()) else {
            continue;
        };
        let ours =
            name.starts_with("RATE_LIMIT") || ["REDIS_URL", "TRUSTED_PROXY_HEADER"].contains(&name);
        if !ours {
            continue;
        }
        checked += 1;
        match arg.get_default_values() {
            [default] => {
                let line = format!("{name}={}", default.to_string_lossy());
                assert!(
                    lines.contains(&line.as_str()),
                    ".env.example lacks `{line}`"
                );
            }
            _ => {
                let commented = format!("# {name}=");
                assert!(
                    lines.iter().any(|l| l.starts_with(&commented)),
                    ".env.example lacks `{commented}…`"
                );
            }
        }
    }
    assert_eq!(
        checked, 20,
        "RATE_LIMIT, REDIS_URL, the prefix, 16 quotas, the proxy header"
    );
}
