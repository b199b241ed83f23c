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
