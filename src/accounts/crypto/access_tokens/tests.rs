//! Unit tests of the access tokens: issuing, verifying, key rotation, PEM keys,
//! and signing exactly as jsonwebtoken would.

use super::*;

fn keys(current: SigningKey) -> JwtKeys {
    JwtKeys::new(
        current,
        vec![],
        "https://issuer".into(),
        "aud".into(),
        std::time::Duration::from_secs(900),
    )
    .expect("keys")
}

#[test]
fn issued_tokens_verify_and_foreign_keys_do_not() {
    let ours = keys(SigningKey::generate().expect("key"));
    let theirs = keys(SigningKey::generate().expect("key"));
    let (user, sid) = (Uuid::new_v4(), Uuid::new_v4());
    let t = ours
        .issue(user, sid, "a@b.c", true, AuthMethod::Password, Utc::now())
        .expect("issue");
    let claims = ours.verify(&t.token, Utc::now()).expect("verifies");
    assert_eq!((claims.sub, claims.sid), (user, sid));
    assert!(theirs.verify(&t.token, Utc::now()).is_err());
    assert_eq!(ours.public_keys().len(), 1);
    assert_eq!(ours.public_keys()[0].kid, ours.current_kid());
}

#[test]
fn the_next_key_verifies_at_once_and_signs_from_its_time() {
    let (old, new) = (
        SigningKey::generate().expect("key"),
        SigningKey::generate().expect("key"),
    );
    let now = Utc::now();
    let from = now + chrono::Duration::seconds(5);
    let ring = keys(old.clone())
        .with_next(new.clone(), from)
        .expect("next");
    let kid_of = |at| {
        let t = ring
            .issue(
                Uuid::new_v4(),
                Uuid::new_v4(),
                "a@b.c",
                true,
                AuthMethod::Password,
                at,
            )
            .expect("issue");
        ring.verify(&t.token, at).expect("verifies");
        jsonwebtoken::decode_header(&t.token)
            .expect("header")
            .kid
            .expect("kid")
    };
    assert_eq!(kid_of(now), old.kid);
    assert_eq!(kid_of(from), new.kid);
    let published: Vec<&str> = ring.public_keys().iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(published, [old.kid.as_str(), new.kid.as_str()]);
}

#[test]
fn pem_from_openssl_loads() {
    // `openssl genpkey -algorithm ed25519` output (test key, never used elsewhere).
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBRaNhmq3m8WdfTZHHXgRa9MQ1nj4Ao6iL1M3l2dTrY5\n-----END PRIVATE KEY-----\n";
    let a = SigningKey::from_pem(pem).expect("pem");
    let b = SigningKey::from_pkcs8_der(a.pkcs8_der.clone()).expect("der");
    assert_eq!(a.kid, b.kid);
    assert_eq!(a.x.len(), 43);
}

#[test]
fn signs_and_publishes_exactly_as_jsonwebtoken_would() {
    let key = SigningKey::generate().expect("key");
    let encoding = EncodingKey::from_ed_der(&key.pkcs8_der);
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, Algorithm::EdDSA);
    let jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(okp) = jwk.expect("jwk").algorithm
    else {
        panic!("an Ed25519 key is an OKP");
    };
    assert_eq!(key.x, okp.x);
    let claims = serde_json::json!({"sub": "a", "exp": 1, "email": "é@b.c"});
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    let theirs = jsonwebtoken::encode(&header, &claims, &encoding).expect("signs");
    assert_eq!(key.sign_jwt(&claims).expect("signs"), theirs);
}
