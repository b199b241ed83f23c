//! Access tokens: GET /me, what the JWT carries, the JWKS, which forged or stale
//! tokens are refused, and signing-key persistence.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const ISSUER: &str = "http://auth.test";
const AUDIENCE: &str = "test-audience";
const INVALID_TOKEN_CHALLENGE: &str = r#"Bearer error="invalid_token""#;

async fn jwks(app: &TestApp) -> Vec<Value> {
    let reply = app.get("/.well-known/jwks.json").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["keys"].as_array().expect("keys in JWKS").clone()
}

fn kids(keys: &[Value]) -> Vec<&str> {
    keys.iter()
        .map(|k| k["kid"].as_str().expect("kid"))
        .collect()
}

fn kid_of(token: &str) -> String {
    jwt_header(token)["kid"]
        .as_str()
        .expect("kid in header")
        .to_owned()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Fresh claims for the session of `login` (new jti, iat now, exp in 10 minutes):
/// a token with these, signed by the service's key, is valid.
fn claims_of(login: &Tokens) -> Value {
    let mut claims = jwt_claims(&login.access);
    claims["jti"] = json!(uuid::Uuid::new_v4());
    claims["iat"] = json!(unix_now());
    claims["exp"] = json!(unix_now() + 600);
    claims
}

/// An app whose signing key the test knows, because it configured it (the
/// keys the service keeps in its database are sealed with SECRETS_KEY).
async fn app_with_known_key() -> (TestApp, EncodingKey) {
    let der = random_ed25519_der();
    // `--flag=value`: a separate value starting with "-----" would read as a flag.
    let flag = format!("--jwt-private-key={}", pem_of(&der));
    (
        spawn_app_with(&[&flag]).await,
        EncodingKey::from_ed_der(&der),
    )
}

/// PKCS#8 v1 DER of a new random Ed25519 key.
fn random_ed25519_der() -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("random seed");
    der.extend_from_slice(&seed);
    der
}

fn pem_of(der: &[u8]) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    )
}

/// The `x` (base64url public key) of an Ed25519 private key.
fn public_x(key: &EncodingKey) -> String {
    let jwk = Jwk::from_encoding_key(key, Algorithm::EdDSA).expect("Ed25519 JWK");
    let AlgorithmParameters::OctetKeyPair(okp) = jwk.algorithm else {
        panic!("not an OKP key");
    };
    okp.x
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("token signs")
}

/// Signs `claims` with the service's own key (`key`) and kid.
fn sign_as_service(key: &EncodingKey, login: &Tokens, claims: &Value) -> String {
    sign(Algorithm::EdDSA, Some(&kid_of(&login.access)), claims, key)
}

pub(crate) async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let reply = app.me(token).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{why}: {}",
        reply.text
    );
    reply.assert_problem(INVALID_ACCESS_TOKEN);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(INVALID_TOKEN_CHALLENGE),
        "{why}"
    );
}

pub(crate) async fn assert_accepted(app: &TestApp, token: &str, why: &str) {
    let reply = app.me(token).await;
    assert_eq!(reply.status, StatusCode::OK, "{why}: {}", reply.text);
}

/// Decodes `token` as a third party would: with nothing but the published JWKS.
fn verify_with_jwks(keys: &[Value], token: &str) -> jsonwebtoken::errors::Result<Value> {
    let kid = kid_of(token);
    let key = keys
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("token's kid is published");
    let jwk: Jwk = serde_json::from_value(key.clone()).expect("a JWK");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(&jwk)?, &validation)
        .map(|d| d.claims)
}

// ---- GET /me ----

#[tokio::test]
async fn me_returns_the_user_of_the_access_token() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let me = app.me(&login.access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["id"], login.user["id"]);
    assert_eq!(me.body["email"], login.user["email"]);
    assert_eq!(me.body["email_verified"], true);
    // The user of the token response, and whether MFA guards the account.
    let mut user = me.body.clone();
    assert_eq!(user["mfa_enabled"], false);
    user.as_object_mut().expect("object").remove("mfa_enabled");
    assert_eq!(user, login.user);
}

#[tokio::test]
async fn me_without_an_access_token_is_unauthorized_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let reply = app.get("/me").await;
    reply.assert_problem(INVALID_ACCESS_TOKEN);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn me_with_a_malformed_authorization_header_is_unauthorized() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let headers = [
        "Basic xyz".to_owned(),
        "Bearer ".to_owned(),
        "Bearer".to_owned(),
        "Bearer not.a.jwt".to_owned(),
        format!("Basic {}", login.access),
        format!("{} ", login.access),
    ];
    for value in headers {
        let request = app.request(Method::GET, "/me");
        let reply = request.header("authorization", &value).send().await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{value:?}: {}",
            reply.text
        );
        reply.assert_problem(INVALID_ACCESS_TOKEN);
        let challenge = reply
            .header("www-authenticate")
            .expect("WWW-Authenticate header");
        assert!(challenge.starts_with("Bearer"), "{value:?}: {challenge}");
    }
}

// ---- What an access token carries ----

#[tokio::test]
async fn access_tokens_are_eddsa_jwts_with_the_documented_claims() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let keys = jwks(&app).await;

    let header = jwt_header(&login.access);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(
        kids(&keys),
        [kid_of(&login.access)],
        "the kid is the published key"
    );

    let claims = jwt_claims(&login.access);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["sub"], login.user["id"]);
    assert_eq!(claims["email"], login.user["email"]);
    assert_eq!(claims["email_verified"], true);
    let uuid = |name: &str| {
        let value = claims[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {claims}"));
        uuid::Uuid::parse_str(value).unwrap_or_else(|e| panic!("{name} is not a UUID: {e}"))
    };
    uuid("sid");
    uuid("jti");
    let iat = claims["iat"].as_i64().expect("iat is a number");
    assert_eq!(claims["exp"].as_i64(), Some(iat + 900), "15 minutes");

    // Every token has its own jti.
    let next = app.refreshed(&login.refresh).await;
    assert_ne!(jwt_claims(&next.access)["jti"], claims["jti"]);
}

#[tokio::test]
async fn a_third_party_verifies_access_tokens_with_only_the_jwks() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let keys = jwks(&app).await;
    assert!(!keys.is_empty());
    for key in &keys {
        assert_eq!(key["kty"], "OKP", "{key}");
        assert_eq!(key["crv"], "Ed25519", "{key}");
        assert_eq!(key["alg"], "EdDSA", "{key}");
        assert_eq!(key["use"], "sig", "{key}");
        assert_eq!(
            key["x"].as_str().map(str::len),
            Some(43),
            "32-byte public key: {key}"
        );
        assert!(
            key.get("d").is_none(),
            "the JWKS must not publish the private key: {key}"
        );
    }
    let claims = verify_with_jwks(&keys, &login.access).expect("token verifies with the JWKS");
    assert_eq!(claims["sub"], login.user["id"]);
}

// ---- Refused tokens ----

#[tokio::test]
async fn a_token_signed_by_the_service_key_with_correct_claims_is_accepted() {
    // The control for the refusals below: forging with the real key works, so each
    // refusal is for the one property the test changes.
    let (app, key) = app_with_known_key().await;
    let login = app.signed_up().await;
    let token = sign_as_service(&key, &login, &claims_of(&login));
    assert_accepted(&app, &token, "own key, correct claims").await;
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_refused() {
    let app = spawn_app().await;
    let victim = app.signed_up().await;
    let attacker = app.signed_up().await;
    let mut as_victim = jwt_claims(&attacker.access);
    as_victim["sub"] = victim.user["id"].clone();
    as_victim["sid"] = jwt_claims(&victim.access)["sid"].clone();
    let mut other_email = jwt_claims(&attacker.access);
    other_email["email"] = json!("admin@auth.test");

    for (claims, why) in [
        (as_victim, "sub and sid changed"),
        (other_email, "email changed"),
    ] {
        assert_refused(&app, &jwt_with_claims(&attacker.access, &claims), why).await;
    }
    assert_accepted(&app, &attacker.access, "untampered").await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let claims = claims_of(&login);
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "typ": "JWT", "kid": kid_of(&login.access)}),
    ] {
        let token = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        assert_refused(&app, &token, &format!("header {header}")).await;
    }
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
    // Algorithm confusion: a verifier that trusted the header's `alg` would check
    // this HMAC with the public key as the secret, and accept it.
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let kid = kid_of(&login.access);
    let x = jwks(&app).await[0]["x"].as_str().expect("x").to_owned();
    let raw = URL_SAFE_NO_PAD.decode(&x).expect("x is base64url");
    let claims = claims_of(&login);
    for (secret, why) in [
        (raw.as_slice(), "raw public key"),
        (x.as_bytes(), "x string"),
    ] {
        let token = sign(
            Algorithm::HS256,
            Some(&kid),
            &claims,
            &EncodingKey::from_secret(secret),
        );
        assert_refused(&app, &token, why).await;
    }
}

#[tokio::test]
async fn a_token_signed_by_a_foreign_key_is_refused_whatever_its_kid() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let foreign = EncodingKey::from_ed_der(&random_ed25519_der());
    let claims = claims_of(&login);
    let service_kid = kid_of(&login.access);
    for (kid, why) in [
        (Some("foreign-key"), "unknown kid"),
        (Some(service_kid.as_str()), "the service's kid"),
        (None, "no kid"),
    ] {
        assert_refused(&app, &sign(Algorithm::EdDSA, kid, &claims, &foreign), why).await;
    }
}

#[tokio::test]
async fn an_expired_token_signed_with_the_service_key_is_refused() {
    let (app, key) = app_with_known_key().await;
    let login = app.signed_up().await;
    let mut claims = claims_of(&login);
    claims["iat"] = json!(unix_now() - 1200);
    claims["exp"] = json!(unix_now() - 300);
    assert_refused(&app, &sign_as_service(&key, &login, &claims), "expired").await;
}

#[tokio::test]
async fn a_token_that_outlives_access_token_ttl_is_refused() {
    // ACCESS_TOKEN_TTL is 15 minutes; 5 seconds of leeway.
    let (app, key) = app_with_known_key().await;
    let login = app.signed_up().await;
    let lifetime = |seconds: i64| {
        let mut claims = claims_of(&login);
        claims["exp"] = json!(claims["iat"].as_i64().expect("iat") + seconds);
        claims
    };
    let longest = sign_as_service(&key, &login, &lifetime(900 + 5));
    assert_accepted(&app, &longest, "15 minutes and the leeway").await;
    for (seconds, why) in [(900 + 6, "a second too long"), (30 * 86_400, "30 days")] {
        let token = sign_as_service(&key, &login, &lifetime(seconds));
        assert_refused(&app, &token, why).await;
    }
}

#[tokio::test]
async fn a_token_issued_or_valid_only_in_the_future_is_refused() {
    let (app, key) = app_with_known_key().await;
    let login = app.signed_up().await;
    let mut claims = claims_of(&login);
    claims["nbf"] = json!(unix_now());
    let now = sign_as_service(&key, &login, &claims);
    assert_accepted(&app, &now, "nbf now").await;

    let mut from_the_future = claims_of(&login);
    from_the_future["iat"] = json!(unix_now() + 60);
    let mut not_yet_valid = claims_of(&login);
    not_yet_valid["nbf"] = json!(unix_now() + 60);
    for (claims, why) in [
        (from_the_future, "iat in a minute"),
        (not_yet_valid, "nbf in a minute"),
    ] {
        assert_refused(&app, &sign_as_service(&key, &login, &claims), why).await;
    }
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let (app, key) = app_with_known_key().await;
    let login = app.signed_up().await;
    let mut claims = claims_of(&login);
    claims["iss"] = json!("http://evil.test");
    assert_refused(&app, &sign_as_service(&key, &login, &claims), "wrong iss").await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let (app, key) = app_with_known_key().await;
    let login = app.signed_up().await;
    let mut claims = claims_of(&login);
    claims["aud"] = json!("another-service");
    assert_refused(&app, &sign_as_service(&key, &login, &claims), "wrong aud").await;
}

#[tokio::test]
async fn a_validly_signed_token_for_a_session_that_is_not_the_users_is_refused() {
    let (app, key) = app_with_known_key().await;
    let alice = app.signed_up().await;
    let bob = app.signed_up().await;

    let mut unknown_session = claims_of(&alice);
    unknown_session["sid"] = json!(uuid::Uuid::new_v4());
    let unknown = sign_as_service(&key, &alice, &unknown_session);
    assert_refused(&app, &unknown, "sid of no session").await;

    let mut someone_elses = claims_of(&alice);
    someone_elses["sid"] = jwt_claims(&bob.access)["sid"].clone();
    let crossed = sign_as_service(&key, &alice, &someone_elses);
    assert_refused(&app, &crossed, "sid of another user's session").await;
}

// ---- Signing keys ----

#[tokio::test]
async fn a_restarted_instance_on_the_same_database_keeps_the_signing_key() {
    let app = spawn_app().await;
    let login = app.signed_up().await;
    let restarted = spawn_sibling(&app, &[]).await;

    assert_eq!(kids(&jwks(&restarted).await), kids(&jwks(&app).await));
    assert_accepted(&restarted, &login.access, "token of the first instance").await;

    // Several instances at once: each accepts the other's tokens.
    let second = Tokens::of(&restarted.login(login.email(), PASSWORD).await);
    assert_eq!(kid_of(&second.access), kid_of(&login.access));
    assert_accepted(&app, &second.access, "token of the second instance").await;
}

#[tokio::test]
async fn a_configured_key_signs_new_tokens_while_the_stored_key_keeps_verifying() {
    let app = spawn_app().await;
    let before = app.signed_up().await;
    let stored_kid = kid_of(&before.access);

    let der = random_ed25519_der();
    let configured_x = public_x(&EncodingKey::from_ed_der(&der));
    // `--flag=value`: a separate value starting with "-----" would read as a flag.
    let flag = format!("--jwt-private-key={}", pem_of(&der));
    let configured = spawn_sibling(&app, &[&flag]).await;

    let after = Tokens::of(&configured.login(before.email(), PASSWORD).await).access;
    let new_kid = kid_of(&after);
    assert_ne!(new_kid, stored_kid);

    let keys = jwks(&configured).await;
    let published = keys
        .iter()
        .find(|k| k["kid"] == new_kid.as_str())
        .expect("configured key published");
    assert_eq!(
        published["x"],
        configured_x.as_str(),
        "the configured key's public half"
    );
    assert!(
        kids(&keys).contains(&stored_kid.as_str()),
        "stored key still published: {keys:?}"
    );

    verify_with_jwks(&keys, &after).expect("new token verifies with the JWKS");
    verify_with_jwks(&keys, &before.access).expect("earlier token verifies with the JWKS");
    assert_accepted(&configured, &after, "token of the configured key").await;
    assert_accepted(&configured, &before.access, "token of the stored key").await;
}
