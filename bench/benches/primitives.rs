#![allow(clippy::expect_used, reason = "a benchmark stops on a broken set-up")]

//! Micro-benchmarks of the primitives every request is built from, with the
//! service's own code: argon2id hash and verify (default parameters, reused
//! buffer), Ed25519 access-token sign and verify, and the refresh-token codec.
//! `cargo bench -p auth-bench` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::time::Duration;

use auth_service::accounts::primitives::{
    AuthMethod, HashMemory, JwtKeys, OpaqueToken, SigningKey, TokenHash, argon2_params,
    hash_password, looks_like_token, verify_password,
};
use auth_service::secrets::SecretsKey;
use criterion::{Criterion, criterion_group, criterion_main};

const PASSWORD: &[u8] = b"correct horse battery staple 42";

fn password_hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id m=19456 t=2 p=1");
    // Tens of milliseconds each: ten samples are plenty.
    group.sample_size(10);
    let params = argon2_params(19_456, 2, 1).expect("params");
    let mut memory = HashMemory::default();
    let stored = hash_password(&params, PASSWORD, &mut memory).expect("hash");
    group.bench_function("hash", |b| {
        b.iter(|| hash_password(&params, black_box(PASSWORD), &mut memory))
    });
    group.bench_function("verify", |b| {
        b.iter(|| verify_password(&stored, black_box(PASSWORD), &mut memory))
    });
    group.finish();
}

fn access_tokens(c: &mut Criterion) {
    let keys = JwtKeys::new(
        SigningKey::generate().expect("key"),
        Vec::new(),
        "http://localhost:8080".into(),
        "auth-service".into(),
        Duration::from_secs(900),
    )
    .expect("keys");
    let (user, session) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let now = chrono::Utc::now();
    let issue = || {
        keys.issue(
            user,
            session,
            "ada@example.com",
            true,
            AuthMethod::Password,
            now,
        )
        .expect("issue")
        .token
    };
    let token = issue();
    let mut group = c.benchmark_group("access token (EdDSA JWT)");
    group.bench_function("sign", |b| b.iter(issue));
    group.bench_function("verify", |b| {
        b.iter(|| keys.verify(black_box(&token), now).expect("valid"))
    });
    group.finish();
}

fn refresh_token_codec(c: &mut Criterion) {
    let key = SecretsKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").expect("key");
    let token = OpaqueToken::generate().expect("random").plaintext;
    let mut group = c.benchmark_group("refresh token");
    group.bench_function("generate (random, base64url, SHA-256)", |b| {
        b.iter(OpaqueToken::generate)
    });
    group.bench_function("successor (HMAC-SHA256, base64url, SHA-256)", |b| {
        b.iter(|| OpaqueToken::successor_of(black_box(&token), &key))
    });
    group.bench_function("digest of a presented token (SHA-256)", |b| {
        b.iter(|| TokenHash::of(black_box(&token)))
    });
    group.bench_function("shape check", |b| {
        b.iter(|| looks_like_token(black_box(&token)))
    });
    group.finish();
}

criterion_group!(
    benches,
    password_hashing,
    access_tokens,
    refresh_token_codec
);
criterion_main!(benches);
