//! A token that verified once is remembered (by its SHA-256) until its `exp`, so
//! that the next request with it skips the Ed25519 check; none of this may show:
//! the remembered token stops working at its `exp` on the service's clock, at
//! once when its session ends, and no altered copy of it passes for it.

use std::time::Duration;

use reqwest::Method;

use crate::helpers::*;
use crate::tokens::{assert_accepted, assert_refused};

/// ACCESS_TOKEN_TTL (15 minutes) and the verifier's leeway (5 s), just past.
const PAST_EXPIRY: Duration = Duration::from_secs(15 * 60 + 6);

#[tokio::test]
async fn a_remembered_token_is_refused_once_the_service_clock_passes_its_exp() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    assert_accepted(&app, &login.access, "first use: verified and remembered").await;
    assert_accepted(&app, &login.access, "second use: from memory").await;
    app.advance(Duration::from_secs(14 * 60));
    assert_accepted(&app, &login.access, "a minute before exp").await;

    app.advance(PAST_EXPIRY - Duration::from_secs(14 * 60));
    assert_refused(&app, &login.access, "past exp on the service's clock").await;
}

#[tokio::test]
async fn a_token_never_seen_before_is_refused_past_its_exp_too() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    app.advance(PAST_EXPIRY);
    assert_refused(&app, &login.access, "first use, past exp").await;
}

#[tokio::test]
async fn an_altered_copy_of_a_remembered_token_is_refused() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    assert_accepted(&app, &login.access, "remembered").await;

    let mut parts: Vec<String> = login.access.split('.').map(str::to_owned).collect();
    let signature = parts[2].clone();
    // Another last character of the signature (a base64url letter either way).
    let last = if signature.ends_with('A') { "B" } else { "A" };
    parts[2] = format!("{}{last}", &signature[..signature.len() - 1]);
    assert_refused(&app, &parts.join("."), "signature altered").await;

    parts[2] = format!("{signature}AA");
    assert_refused(&app, &parts.join("."), "signature lengthened").await;
    // Same signature, a claim changed (the email, in the payload).
    let payload = parts[1].clone();
    parts[2] = signature.clone();
    parts[1] = payload_with_email(&payload, "mallory@example.com");
    assert_refused(&app, &parts.join("."), "payload altered").await;

    assert_accepted(&app, &login.access, "the original still works").await;
}

#[tokio::test]
async fn a_remembered_token_of_an_ended_session_is_refused_at_once() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let other = Tokens::of(&app.login(login.email(), PASSWORD).await);
    assert_accepted(&app, &login.access, "remembered").await;
    assert_accepted(&app, &other.access, "remembered").await;

    let logout = app
        .request(Method::POST, "/logout")
        .bearer(login.access.as_str());
    logout.send().await.assert_no_content();

    assert_refused(&app, &login.access, "its session was logged out").await;
    assert_accepted(&app, &other.access, "another session goes on").await;
}

/// The base64url JSON payload `payload` with another `email` claim.
fn payload_with_email(payload: &str, email: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    let mut claims: serde_json::Value = serde_json::from_slice(&json).expect("JSON claims");
    claims["email"] = serde_json::json!(email);
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims encode"))
}
