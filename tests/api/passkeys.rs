//! Passkeys: registration by a logged-in user, listing and removal, passwordless
//! login with a discoverable credential, and when passkeys are off. The software
//! authenticator (`helpers/authenticator.rs`) plays the browser.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const ORIGIN: &str = "http://auth.test";

#[tokio::test]
async fn registration_asks_for_a_discoverable_es256_or_eddsa_credential_under_a_random_handle() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let (_, options) = app.passkey_start(&session).await;
    let pk = &options["publicKey"];
    assert_eq!(pk["rp"]["id"], "auth.test");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    let uv = pk["authenticatorSelection"]["userVerification"].as_str();
    assert!(matches!(uv, Some("preferred" | "required")), "{options}");
    let algs: Vec<i64> = pk["pubKeyCredParams"]
        .as_array()
        .expect("pubKeyCredParams")
        .iter()
        .map(|p| p["alg"].as_i64().expect("alg"))
        .collect();
    assert!(algs.contains(&-7) && algs.contains(&-8), "{algs:?}");
    let handle = b64d(pk["user"]["id"].as_str().expect("user.id"));
    assert_eq!(handle.len(), 16, "a random UUID");
    assert!(!String::from_utf8_lossy(&handle).contains(session.email()));
    // The same handle each time: an authenticator keeps one account per user.
    let (_, again) = app.passkey_start(&session).await;
    assert_eq!(again["publicKey"]["user"]["id"], pk["user"]["id"]);
}

#[tokio::test]
async fn a_registered_passkey_is_listed_and_can_be_removed_by_its_owner_only() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    let added = app.add_passkey(&session, &mut authenticator).await;
    assert_eq!(
        field_names(&added),
        ["created_at", "id", "last_used_at", "name"].into()
    );
    assert_eq!(added["name"], "Laptop");
    assert_eq!(added["last_used_at"], Value::Null);

    let listed = app.get_bearer("/passkeys", &session.access).await;
    listed.assert_status(StatusCode::OK);
    assert_eq!(listed.body, json!([added]));

    let id = added["id"].as_str().expect("id");
    let stranger = app.signed_up().await;
    let path = format!("/passkeys/{id}");
    let theirs = app
        .request(Method::DELETE, &path)
        .bearer(&*stranger.access)
        .send()
        .await;
    theirs.assert_problem(NOT_FOUND);
    let mine = app
        .request(Method::DELETE, &path)
        .bearer(&*session.access)
        .send()
        .await;
    mine.assert_no_content();
    let listed = app.get_bearer("/passkeys", &session.access).await;
    assert_eq!(listed.body, json!([]));
}

#[tokio::test]
async fn a_registration_from_another_origin_or_a_used_challenge_is_refused() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let (challenge, options) = app.passkey_start(&session).await;
    let mut phishing = Authenticator::new("http://auth.test.evil.example");
    let credential = phishing.create(&options);
    app.passkey_finish(&session, &challenge, &credential)
        .await
        .assert_problem(INVALID_PASSKEY);

    // The challenge was used by the failed attempt: the right origin is too late.
    let mut authenticator = Authenticator::new(ORIGIN);
    let credential = authenticator.create(&options);
    app.passkey_finish(&session, &challenge, &credential)
        .await
        .assert_problem(INVALID_PASSKEY);
    assert_eq!(app.count("passkeys").await, 0);
}

#[tokio::test]
async fn another_users_registration_challenge_is_not_theirs_to_finish() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let other = app.signed_up().await;
    let (challenge, options) = app.passkey_start(&session).await;
    let credential = Authenticator::new(ORIGIN).create(&options);
    app.passkey_finish(&other, &challenge, &credential)
        .await
        .assert_problem(INVALID_PASSKEY);
    // Still the owner's to finish.
    app.passkey_finish(&session, &challenge, &credential)
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn a_passkey_logs_in_without_an_email_and_each_challenge_is_answered_once() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    app.add_passkey(&session, &mut authenticator).await;

    let (challenge, options) = app.passkey_login_start().await;
    assert!(options.get("mediation").is_none(), "{options}");
    assert_eq!(options["publicKey"]["rpId"], "auth.test");
    let assertion = authenticator.get(&options);
    let reply = app.passkey_login_finish(&challenge, &assertion).await;
    let tokens = Tokens::of(&reply);
    assert_eq!(tokens.user, session.user);
    assert_ne!(tokens.sid, session.sid, "a new session");
    app.assert_session_active(&tokens).await;

    // The same answer again (a replay) finds its challenge used.
    app.passkey_login_finish(&challenge, &assertion)
        .await
        .assert_problem(PASSKEY_NOT_ACCEPTED);
    let listed = app.get_bearer("/passkeys", &session.access).await;
    assert!(
        listed.body[0]["last_used_at"].is_string(),
        "{}",
        listed.text
    );
}

#[tokio::test]
async fn an_assertion_signed_by_another_key_or_for_another_challenge_is_refused() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    app.add_passkey(&session, &mut authenticator).await;

    // A clone that has the credential id and user handle but not the private key.
    let mut forger = Authenticator::new(ORIGIN);
    let (_, options) = app.passkey_start(&session).await;
    forger.create(&options);
    forger.credentials[0].id = authenticator.credentials[0].id.clone();
    let (challenge, options) = app.passkey_login_start().await;
    let forged = forger.get(&options);
    app.passkey_login_finish(&challenge, &forged)
        .await
        .assert_problem(PASSKEY_NOT_ACCEPTED);

    // A genuine answer to one challenge does not answer another.
    let (_, options) = app.passkey_login_start().await;
    let (other_challenge, _) = app.passkey_login_start().await;
    let assertion = authenticator.get(&options);
    app.passkey_login_finish(&other_challenge, &assertion)
        .await
        .assert_problem(PASSKEY_NOT_ACCEPTED);
}

#[tokio::test]
async fn a_signature_counter_that_goes_back_is_refused() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    app.add_passkey(&session, &mut authenticator).await;
    authenticator.credentials[0].counter = 10;
    Tokens::of(&app.passkey_login(&mut authenticator).await);

    // A cloned authenticator behind the original: its counter is lower.
    authenticator.credentials[0].counter = 4;
    app.passkey_login(&mut authenticator)
        .await
        .assert_problem(PASSKEY_NOT_ACCEPTED);
}

#[tokio::test]
async fn a_removed_passkey_no_longer_logs_in() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    let added = app.add_passkey(&session, &mut authenticator).await;
    let path = format!("/passkeys/{}", added["id"].as_str().expect("id"));
    app.request(Method::DELETE, &path)
        .bearer(&*session.access)
        .send()
        .await
        .assert_no_content();
    app.passkey_login(&mut authenticator)
        .await
        .assert_problem(PASSKEY_NOT_ACCEPTED);
}

#[tokio::test]
async fn a_challenge_expires_after_five_minutes() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);
    app.add_passkey(&session, &mut authenticator).await;
    let (challenge, options) = app.passkey_login_start().await;
    app.advance(std::time::Duration::from_secs(5 * 60 + 1));
    let assertion = authenticator.get(&options);
    app.passkey_login_finish(&challenge, &assertion)
        .await
        .assert_problem(PASSKEY_NOT_ACCEPTED);
}

#[tokio::test]
async fn a_ceremony_begun_on_one_instance_is_finished_on_another() {
    let first = spawn_app().await;
    let second = spawn_sibling(&first, &[]).await;
    let session = first.signed_up().await;
    let mut authenticator = Authenticator::new(ORIGIN);

    let (challenge, options) = first.passkey_start(&session).await;
    let credential = authenticator.create(&options);
    second
        .passkey_finish(&session, &challenge, &credential)
        .await
        .assert_status(StatusCode::CREATED);

    let (challenge, options) = second.passkey_login_start().await;
    let assertion = authenticator.get(&options);
    Tokens::of(&first.passkey_login_finish(&challenge, &assertion).await);
    // Used on the first instance, so the second refuses it too.
    second
        .passkey_login_finish(&challenge, &assertion)
        .await
        .assert_problem(PASSKEY_NOT_ACCEPTED);
}

#[tokio::test]
async fn passkeys_are_off_when_public_url_is_an_ip_address_and_the_rest_runs() {
    let flags = [
        "--public-url",
        "http://192.0.2.10:8080",
        "--require-email-verification",
        "false",
    ];
    let app = spawn_app_with(&flags).await;
    app.post_json("/login/passkey/start", &json!({}))
        .await
        .assert_problem(PASSKEYS_UNAVAILABLE);
    // Registering and logging in with a password still work.
    let reply = app.register(&unique_email(), "correct horse battery").await;
    let session = Tokens::registered(&reply);
    app.post_json_bearer("/passkeys/register/start", &session.access, &json!({}))
        .await
        .assert_problem(PASSKEYS_UNAVAILABLE);
}

#[tokio::test]
async fn explicit_relying_party_settings_that_do_not_fit_stop_start_up() {
    let cases = [
        (
            vec![
                ("WEBAUTHN_RP_ID", "other.example"),
                ("WEBAUTHN_ORIGIN", "https://auth.example"),
            ],
            "WEBAUTHN_RP_ID",
        ),
        (
            vec![("WEBAUTHN_ORIGIN", "https://10.0.0.1")],
            "WEBAUTHN_ORIGIN",
        ),
        (vec![("WEBAUTHN_ORIGIN", "not a url")], "WEBAUTHN_ORIGIN"),
    ];
    for (env, variable) in cases {
        let dir = tempdir_path();
        let env = [env, vec![("DATA_DIR", dir.as_str())]].concat();
        let (ok, stderr) = start_binary(&env);
        assert!(!ok, "{env:?} started");
        assert!(stderr.contains(variable), "{env:?}: {stderr}");
    }
}

fn tempdir_path() -> String {
    let dir = std::env::temp_dir().join(format!("passkeys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    dir.to_str().expect("UTF-8").to_owned()
}

#[tokio::test]
async fn every_ceremony_gets_a_fresh_challenge_of_256_bits() {
    let app = spawn_app().await;
    let session = app.signed_up().await;
    let (_, registering) = app.passkey_start(&session).await;
    let (_, first) = app.passkey_login_start().await;
    let (_, second) = app.passkey_login_start().await;
    let challenges: Vec<Vec<u8>> = [registering, first, second]
        .iter()
        .map(|o| b64d(o["publicKey"]["challenge"].as_str().expect("challenge")))
        .collect();
    for challenge in &challenges {
        assert_eq!(challenge.len(), 32);
    }
    assert_ne!(challenges[0], challenges[1]);
    assert_ne!(challenges[1], challenges[2]);
    assert_ne!(challenges[0], challenges[2]);
}
