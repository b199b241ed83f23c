//! Properties of the verify path: whatever a client puts in an `Authorization`
//! header, `verify` answers a refusal (never a panic), and only tokens this
//! service signed, unaltered and within their times, are accepted.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const ISSUER: &str = "https://issuer";
const AUDIENCE: &str = "aud";
const TTL_SECS: i64 = 900;

fn keys() -> (JwtKeys, SigningKey) {
    let key = SigningKey::generate().expect("key");
    let ttl = std::time::Duration::from_secs(TTL_SECS.unsigned_abs());
    let keys = JwtKeys::new(key.clone(), vec![], ISSUER.into(), AUDIENCE.into(), ttl);
    (keys.expect("keys"), key)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `claims` signed by `key` (EdDSA, with its kid), whatever they contain.
fn signed(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    let encoding = EncodingKey::from_ed_der(&key.pkcs8_der);
    jsonwebtoken::encode(&header, claims, &encoding).expect("signs")
}

/// Claims as `issue` writes them, at `now`.
fn good_claims(now: i64) -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE,
        "sub": Uuid::new_v4(), "sid": Uuid::new_v4(), "jti": Uuid::new_v4(),
        "iat": now, "exp": now + TTL_SECS,
        "email": "ada@example.com", "email_verified": true,
        "amr": ["pwd"], "aal": "aal1",
    })
}

fn method() -> impl Strategy<Value = AuthMethod> {
    prop_oneof![
        Just(AuthMethod::Password),
        Just(AuthMethod::PasswordTotp),
        Just(AuthMethod::PasswordRecoveryCode),
        Just(AuthMethod::PasswordPasskey),
        Just(AuthMethod::Passkey),
    ]
}

/// Algorithm names, known to jsonwebtoken or not.
fn alg() -> impl Strategy<Value = String> {
    const KNOWN: &[&str] = &[
        "EdDSA", "HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256",
        "PS384", "PS512", "none", "eddsa",
    ];
    prop_oneof![
        proptest::sample::select(KNOWN).prop_map(str::to_owned),
        ".{0,12}",
    ]
}

/// JSON of every type, numbers beyond i64 and u64 included.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(json!(1e300)),
        Just(json!(-1e300)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn is_string(v: &Value) -> bool {
    v.is_string()
}

/// A claim and a value its type does not allow (or, for the time claims, one
/// that no token of ours can carry): every such token must be refused.
fn wrong_claim() -> impl Strategy<Value = (&'static str, Value)> {
    let uuid_fields = proptest::sample::select(&["sub", "sid", "jti"][..]);
    let string_fields = proptest::sample::select(&["iss", "aud", "email", "aal"][..]);
    let huge = prop_oneof![
        Just(json!(u64::MAX)),
        Just(json!(9_223_372_036_854_775_808_u64)),
        Just(json!(i64::MAX)),
        Just(json!(1e300)),
        Just(json!(0.5)),
    ];
    prop_oneof![
        (uuid_fields, any_json()).prop_filter("not a UUID", |(_, v)| {
            v.as_str().is_none_or(|s| Uuid::parse_str(s).is_err())
        }),
        (string_fields, any_json()).prop_filter("not a string", |(_, v)| !is_string(v)),
        (Just("iss"), ".{0,20}".prop_map(Value::from))
            .prop_filter("not ours", |(_, v)| v != ISSUER),
        (Just("aud"), ".{0,20}".prop_map(Value::from))
            .prop_filter("not ours", |(_, v)| v != AUDIENCE),
        (Just("email_verified"), any_json()).prop_filter("not a bool", |(_, v)| !v.is_boolean()),
        (Just("amr"), any_json()).prop_filter("not strings", |(_, v)| {
            v.as_array().is_none_or(|a| !a.iter().all(is_string))
        }),
        (proptest::sample::select(&["iat", "exp"][..]), any_json())
            .prop_filter("not an i64", |(_, v)| !v.is_i64()),
        (proptest::sample::select(&["iat", "exp", "nbf"][..]), huge),
        (Just("exp"), (i64::MIN..0).prop_map(Value::from)),
        (Just("iat"), Just(json!(i64::MIN))),
        (Just("nbf"), any_json()).prop_filter("not an i64 nor null", |(_, v)| {
            !v.is_i64() && !v.is_null()
        }),
    ]
}

/// Seconds around `now`, never within 30 s of the thresholds the checks put
/// at `now ± LEEWAY`, so the clock moving during a case changes no answer.
fn time_near(now: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(now),
        (30..=TTL_SECS).prop_map(move |o| now + o),
        (30..=TTL_SECS).prop_map(move |o| now - o),
        (TTL_SECS..=10_000_000_000).prop_map(move |o| now + o),
        (TTL_SECS..=10_000_000_000).prop_map(move |o| now - o),
        Just(0),
        Just(i64::MIN),
        Just(i64::MAX),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_string_is_a_token(token in prop_oneof![".*", "[A-Za-z0-9_.=-]{0,300}"]) {
        let (keys, _) = keys();
        prop_assert!(keys.verify(&token, Utc::now()).is_err());
    }

    #[test]
    fn arbitrary_base64url_segments_are_malformed(
        segments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..5),
    ) {
        let (keys, _) = keys();
        let token = segments.iter().map(b64).collect::<Vec<_>>().join(".");
        prop_assert!(keys.verify(&token, Utc::now()).is_err());
    }

    /// A well-formed header with any `alg` and `kid`: an unknown algorithm is a
    /// malformed header, an unknown kid an unknown key, and our kid without our
    /// signature is refused by the signature check.
    #[test]
    fn headers_with_any_alg_and_kid_are_refused_for_their_reason(
        alg in alg(),
        kid in prop_oneof![Just(None), Just(Some(String::new())), ".{0,60}".prop_map(Some)],
        ours in any::<bool>(),
        payload in prop::collection::vec(any::<u8>(), 0..200),
        signature in prop_oneof![
            prop::collection::vec(any::<u8>(), 64),
            prop::collection::vec(any::<u8>(), 0..100),
        ],
    ) {
        let (keys, key) = keys();
        let kid = if ours { Some(key.kid.clone()) } else { kid };
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let token = format!("{}.{}.{}", b64(header.to_string()), b64(payload), b64(signature));
        let known_alg = serde_json::from_value::<Algorithm>(json!(alg)).is_ok();
        match keys.verify(&token, Utc::now()) {
            Err(TokenError::Malformed(_)) => prop_assert!(!known_alg),
            Err(TokenError::UnknownKey) => prop_assert!(known_alg && kid != Some(key.kid)),
            Err(TokenError::Invalid(_)) => prop_assert!(known_alg && ours),
            other => prop_assert!(false, "{other:?}"),
        }
    }

    /// Signed by our key, so only the claims can refuse it.
    #[test]
    fn claims_of_the_wrong_type_are_refused((field, value) in wrong_claim()) {
        let (keys, key) = keys();
        let now = Utc::now();
        let mut claims = good_claims(now.timestamp());
        claims[field] = value;
        let verdict = keys.verify(&signed(&key, &claims), now);
        prop_assert!(verdict.is_err(), "{claims} was accepted");
    }

    /// `iat`, `exp` and `nbf` anywhere, signed by our key: accepted exactly when
    /// not expired, not from the future, and not living longer than the TTL.
    #[test]
    fn times_are_checked_without_overflow(
        (iat, exp, nbf) in Just(Utc::now().timestamp()).prop_flat_map(|now| {
            (time_near(now), time_near(now), proptest::option::of(time_near(now)))
        }),
    ) {
        let (keys, key) = keys();
        let now = Utc::now().timestamp();
        let mut claims = good_claims(now);
        claims["iat"] = json!(iat);
        claims["exp"] = json!(exp);
        claims["nbf"] = json!(nbf);
        let expected = exp >= now - LEEWAY
            && exp.saturating_sub(iat) <= TTL_SECS + LEEWAY
            && iat <= now + LEEWAY
            && nbf.is_none_or(|nbf| nbf <= now + LEEWAY);
        let verdict = keys.verify(&signed(&key, &claims), Utc::now());
        prop_assert_eq!(verdict.is_ok(), expected, "{} {:?}", claims, verdict);
    }

    #[test]
    fn issued_tokens_round_trip(
        email in ".{0,300}",
        verified in any::<bool>(),
        method in method(),
    ) {
        let (keys, key) = keys();
        let (user, session, now) = (Uuid::new_v4(), Uuid::new_v4(), Utc::now());
        let issued = keys.issue(user, session, &email, verified, method, now).expect("issues");
        let claims = keys.verify(&issued.token, now).expect("verifies");
        prop_assert_eq!((claims.sub, claims.sid), (user, session));
        prop_assert_eq!(claims.email, email);
        prop_assert_eq!(claims.email_verified, verified);
        prop_assert_eq!(claims.amr, method.amr().to_vec());
        prop_assert_eq!(claims.aal, method.aal());
        prop_assert_eq!(claims.exp - claims.iat, TTL_SECS);
        let header = jsonwebtoken::decode_header(&issued.token).expect("header");
        prop_assert_eq!(header.kid, Some(key.kid));
    }

    /// Any one byte changed (to any other ASCII byte) or removed: refused,
    /// wherever it is (header, claims, signature, or a dot).
    #[test]
    fn any_single_byte_change_is_refused(
        at in any::<prop::sample::Index>(),
        replacement in proptest::option::of(0u8..128),
    ) {
        let (keys, _) = keys();
        let now = Utc::now();
        let issued = keys
            .issue(Uuid::new_v4(), Uuid::new_v4(), "ada@example.com", true, AuthMethod::Password, now)
            .expect("issues");
        let mut bytes = issued.token.into_bytes();
        let at = at.index(bytes.len());
        match replacement {
            Some(byte) => {
                prop_assume!(bytes[at] != byte);
                bytes[at] = byte;
            }
            None => {
                bytes.remove(at);
            }
        }
        let token = String::from_utf8(bytes).expect("ASCII");
        let verdict = keys.verify(&token, now);
        prop_assert!(verdict.is_err(), "{token} was accepted");
    }
}
