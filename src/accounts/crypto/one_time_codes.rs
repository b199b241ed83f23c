//! The second factor's primitives: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s
//! steps, ±1 step of clock skew) and recovery codes.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Bytes of a TOTP secret: 160 bits, the HMAC-SHA-1 key size RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
const DIGITS: u8 = 6;
const STEP_SECS: u64 = 30;
/// Steps either side of the current one whose codes are still accepted.
const SKEW_STEPS: u16 = 1;

/// Recovery codes per set.
pub const RECOVERY_CODES: usize = 10;
/// 32 symbols without 0/O, 1/l/I: each carries 5 bits, so 10 carry 50.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
const RECOVERY_GROUP: usize = 5;

/// A fresh random TOTP secret, as raw bytes.
pub fn new_totp_secret() -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    Ok(bytes)
}

/// The secret in base32 (RFC 4648, no padding), as authenticators take it.
pub fn totp_secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URI of an authenticator. totp-rs leaves out parameters at
/// their defaults; some apps assume other defaults, so every one is written out.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // The label is a path segment: spaces are %20 there, not `+`.
    let label = format!("{}:{}", encode(issuer), encode(account)).replace('+', "%20");
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        totp_secret_base32(secret),
        encode(issuer).replace('+', "%20"),
    )
}

/// The time step whose code `code` is at `unix_secs` (±1 step), if any. The
/// caller must accept each step once (see `spend_totp_step`).
pub fn totp_step(secret: &[u8], code: &str, unix_secs: i64) -> anyhow::Result<Option<i64>> {
    let Ok(time) = u64::try_from(unix_secs) else {
        return Ok(None);
    };
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    // The token comparison inside totp-rs is constant-time.
    let step = totp(secret)?.check(code, time);
    Ok(step.and_then(|s| i64::try_from(s).ok()))
}

fn totp(secret: &[u8]) -> anyhow::Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECS)
        .with_skew(SKEW_STEPS)
        .with_secret(secret.to_vec())
        .build()
        .map_err(|e| anyhow::anyhow!("TOTP parameters refused: {e}"))
}

/// A fresh set of recovery codes, `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> anyhow::Result<Vec<String>> {
    (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect()
}

fn new_recovery_code() -> anyhow::Result<String> {
    let mut bytes = [0u8; 2 * RECOVERY_GROUP];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    // 256 is a multiple of 32: taking each byte modulo 32 is unbiased.
    let symbols: String = bytes
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)]))
        .collect();
    let (first, second) = symbols.split_at(RECOVERY_GROUP);
    Ok(format!("{first}-{second}"))
}

/// SHA-256 of a recovery code as typed, after dropping dashes and spaces and
/// lowercasing, so `ABCDE FGHIJ` finds `abcde-fghij`. (50 random bits: a fast
/// hash is enough, and lookups go by it.)
pub fn recovery_code_digest(typed: &str) -> [u8; 32] {
    let normalised: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    Sha256::digest(normalised.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_two_groups_of_five_unambiguous_symbols() {
        let codes = new_recovery_codes().unwrap_or_default();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(&code[5..6], "-", "{code}");
            assert!(!code.contains(['0', 'o', '1', 'l', 'I', 'O']), "{code}");
        }
        assert_eq!(
            recovery_code_digest(&codes[0].to_uppercase().replace('-', " ")),
            recovery_code_digest(&codes[0])
        );
    }

    #[test]
    fn the_uri_writes_every_parameter_out() {
        let uri = otpauth_uri(&[7u8; 20], "Acme Auth", "ada@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Auth:ada%40example.com?secret=A4DQOBYHA4DQOBYHA4DQOBYHA4DQOBYH\
             &issuer=Acme%20Auth&algorithm=SHA1&digits=6&period=30"
        );
    }
}

/// Properties of the codes a user types at the second step of a login.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A recovery code as we mint them.
    fn recovery_code() -> impl Strategy<Value = String> {
        let symbols = proptest::sample::select(RECOVERY_ALPHABET.to_vec());
        prop::collection::vec(symbols, 2 * RECOVERY_GROUP).prop_map(|symbols| {
            let (first, second) = symbols.split_at(RECOVERY_GROUP);
            format!(
                "{}-{}",
                String::from_utf8_lossy(first),
                String::from_utf8_lossy(second)
            )
        })
    }

    /// `code` as a user might type it: any letter's case flipped, the dash
    /// dropped or kept, dashes and spaces added anywhere.
    fn typed(code: String) -> impl Strategy<Value = String> {
        let len = code.len();
        let noise =
            prop::collection::vec((0..=len, proptest::sample::select(vec!['-', ' '])), 0..4);
        (prop::collection::vec(any::<bool>(), len), noise).prop_map(move |(upper, noise)| {
            let mut chars: Vec<char> = code
                .chars()
                .zip(upper)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            for (at, c) in noise {
                chars.insert(at.min(chars.len()), c);
            }
            chars.into_iter().collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_spelling_of_a_recovery_code_finds_it(
            (code, spelled) in recovery_code().prop_flat_map(|c| (Just(c.clone()), typed(c))),
        ) {
            prop_assert_eq!(recovery_code_digest(&spelled), recovery_code_digest(&code));
        }

        #[test]
        fn different_recovery_codes_never_share_a_digest(a in recovery_code(), b in recovery_code()) {
            prop_assert_eq!(recovery_code_digest(&a) == recovery_code_digest(&b), a == b);
        }

        /// Anything typed (any Unicode, whose lowercase may be longer) digests
        /// without a panic, and as its normalised form does: normalising twice
        /// changes nothing.
        #[test]
        fn anything_typed_digests_as_its_normal_form(typed in ".{0,64}") {
            let normal: String = typed
                .chars()
                .filter(|c| !matches!(c, '-' | ' '))
                .flat_map(char::to_lowercase)
                .collect();
            prop_assert_eq!(recovery_code_digest(&typed), recovery_code_digest(&normal));
        }

        /// Only six ASCII digits are ever checked, at any time, even before 1970.
        #[test]
        fn only_six_digits_are_a_totp_code(
            secret in any::<[u8; SECRET_BYTES]>(),
            code in prop_oneof![".{0,10}", "[0-9+ -]{5,7}"],
            at in any::<i64>(),
        ) {
            let step = totp_step(&secret, &code, at).expect("parameters are fixed");
            let six_digits = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
            prop_assert!(six_digits || step.is_none());
            prop_assert!(at >= 0 || step.is_none());
        }

        /// The code of the step at `at` (and of the steps either side) is
        /// accepted at `at`, and names a step within the skew.
        #[test]
        fn the_codes_around_now_are_accepted_with_their_step(
            secret in any::<[u8; SECRET_BYTES]>(),
            at in prop_oneof![0..i64::MAX, Just(i64::MAX), 0..100i64],
            shift in -i64::from(SKEW_STEPS)..=i64::from(SKEW_STEPS),
        ) {
            let now_step = at / 30;
            let shown_at = u64::try_from((now_step + shift).max(0)).expect("positive") * STEP_SECS;
            let code = totp(&secret).expect("totp").generate(shown_at).to_string();
            let step = totp_step(&secret, &code, at).expect("checks");
            let step = step.expect("accepted");
            prop_assert!((step - now_step).abs() <= i64::from(SKEW_STEPS));
        }

        /// The URI an authenticator scans says the issuer and account back,
        /// whatever they contain.
        #[test]
        fn otpauth_uris_carry_any_issuer_and_account(
            secret in any::<[u8; SECRET_BYTES]>(),
            issuer in ".{0,30}",
            account in ".{0,60}",
        ) {
            let uri = url::Url::parse(&otpauth_uri(&secret, &issuer, &account)).expect("a URL");
            prop_assert_eq!(uri.scheme(), "otpauth");
            let label = uri.path().trim_start_matches('/');
            let label: String = url::form_urlencoded::parse(format!("l={label}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .collect();
            prop_assert_eq!(label, format!("{issuer}:{account}"));
            let query: std::collections::HashMap<_, _> = uri.query_pairs().into_owned().collect();
            prop_assert_eq!(query.get("issuer"), Some(&issuer));
            prop_assert_eq!(query.get("secret"), Some(&totp_secret_base32(&secret)));
        }
    }
}
