//! `SECRETS_KEY`: the one key that seals what the service must keep readable
//! (the tokens of queued links, TOTP secrets, the private signing keys kept in
//! the database) and from which keyed hashes are derived
//! (today the successor of a refresh token). A leaf: the core seals and derives,
//! the mail worker opens, and neither needs the other for it.
//!
//! The key comes from configuration or, unset, from `DATA_DIR/secrets.key`,
//! generated on first start. It never lives in the database, so a dump of the
//! database alone opens nothing.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the key.
const KEY_BYTES: usize = 32;
/// Bytes of the random nonce stored in front of every sealed value. XChaCha's
/// 192-bit nonces are safe to pick at random for any number of messages.
const NONCE_BYTES: usize = 24;

/// What a sealed value or a keyed hash is for. Each purpose is bound into the
/// result, so a value sealed for one can never be opened as another.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// The token of a link in a queued email (sealed in the outbox row).
    OutboxLinkToken,
    /// The successor of a rotated refresh token (a keyed hash of it).
    RefreshTokenSuccessor,
    /// A user's TOTP secret (sealed in its `totp_credentials` row).
    TotpSecret,
    /// An access-token signing key's PKCS#8 private key (sealed in its
    /// `signing_keys` row).
    SigningKey,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::OutboxLinkToken => b"auth-service/outbox-link-token/v1",
            Purpose::RefreshTokenSuccessor => b"auth-service/refresh-token-successor/v1",
            Purpose::TotpSecret => b"auth-service/totp-secret/v1",
            Purpose::SigningKey => b"auth-service/signing-key/v1",
        }
    }
}

/// The 32-byte key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SecretsKey([u8; KEY_BYTES]);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey([redacted])")
    }
}

/// Why a sealed value did not open: another key sealed it, or it was altered.
#[derive(Debug, thiserror::Error)]
#[error(
    "the sealed value does not open with this SECRETS_KEY (another key sealed it, or it was altered)"
)]
pub struct OpenError;

impl SecretsKey {
    /// Reads a key written as `openssl rand -base64 32` writes it. The error
    /// never repeats the value.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let wanted = "must be 32 bytes in base64 (make one with `openssl rand -base64 32`)";
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| format!("{wanted}; this is not base64"))?;
        let key: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("{wanted}; this is {} bytes", b.len()))?;
        Ok(Self(key))
    }

    /// The key in `path`, or a new one written there (mode 0600, folder created)
    /// when there is none. Two instances starting at once end up with the same
    /// key: the file appears whole or not at all, and the second one reads it.
    pub fn load_or_generate(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text)
                .map_err(|e| anyhow::anyhow!("SECRETS_KEY file {}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::generate_into(path),
            Err(e) => Err(e).with_context(|| {
                format!("SECRETS_KEY: cannot read the key file {}", path.display())
            }),
        }
    }

    fn generate_into(path: &Path) -> anyhow::Result<Self> {
        let context = || format!("SECRETS_KEY: cannot write the key file {}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(context)?;
        }
        let key = Self(random()?);
        // Written whole under a temporary name, then linked into place: a hard
        // link fails if the name exists, so a concurrent first start never sees
        // a half-written file, and the loser reads the winner's key.
        let temporary = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let written =
            write_private(&temporary, &key).and_then(|()| std::fs::hard_link(&temporary, path));
        let _ = std::fs::remove_file(&temporary);
        match written {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated SECRETS_KEY (set SECRETS_KEY to share it between instances)");
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_generate(path),
            Err(e) => Err(e).with_context(context),
        }
    }

    /// Encrypts and authenticates `plaintext` for `purpose` (XChaCha20-Poly1305,
    /// random nonce): nonce, then ciphertext and tag.
    pub fn seal(&self, purpose: Purpose, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
        let nonce: [u8; NONCE_BYTES] = random()?;
        let payload = Payload {
            msg: plaintext,
            aad: purpose.label(),
        };
        let sealed = self
            .cipher()
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        Ok([&nonce[..], &sealed].concat())
    }

    /// The plaintext of a value [`Self::seal`] made for `purpose` with this key.
    pub fn open(&self, purpose: Purpose, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_BYTES).ok_or(OpenError)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| OpenError)?;
        let payload = Payload {
            msg: ciphertext,
            aad: purpose.label(),
        };
        self.cipher()
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| OpenError)
    }

    /// HMAC-SHA256 of `data` under a key derived for `purpose`: anyone can
    /// recompute it with SECRETS_KEY, nobody without.
    pub fn keyed_hash(&self, purpose: Purpose, data: &[u8]) -> [u8; 32] {
        let subkey = hmac(&self.0, purpose.label());
        hmac(&subkey, data)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    Ok(bytes)
}

/// Writes the key (base64 and a newline) to a new file only its owner can read.
fn write_private(path: &Path, key: &SecretsKey) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(format!("{}\n", STANDARD.encode(key.0)).as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretsKey {
        SecretsKey(random().expect("random"))
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_purpose() {
        let (ours, theirs) = (key(), key());
        let sealed = ours
            .seal(Purpose::OutboxLinkToken, b"token")
            .expect("seals");
        assert_eq!(
            ours.open(Purpose::OutboxLinkToken, &sealed).expect("opens"),
            b"token"
        );
        let again = ours
            .seal(Purpose::OutboxLinkToken, b"token")
            .expect("seals");
        assert_ne!(sealed, again, "a fresh nonce every time");
        assert!(theirs.open(Purpose::OutboxLinkToken, &sealed).is_err());
        assert!(ours.open(Purpose::RefreshTokenSuccessor, &sealed).is_err());
        let mut altered = sealed.clone();
        altered[30] ^= 1;
        assert!(ours.open(Purpose::OutboxLinkToken, &altered).is_err());
        assert!(ours.open(Purpose::OutboxLinkToken, &sealed[..10]).is_err());
    }

    #[test]
    fn keyed_hashes_are_stable_per_key_and_purpose() {
        let (ours, theirs) = (key(), key());
        let purpose = Purpose::RefreshTokenSuccessor;
        assert_eq!(
            ours.keyed_hash(purpose, b"a"),
            ours.keyed_hash(purpose, b"a")
        );
        assert_ne!(
            ours.keyed_hash(purpose, b"a"),
            ours.keyed_hash(purpose, b"b")
        );
        assert_ne!(
            ours.keyed_hash(purpose, b"a"),
            theirs.keyed_hash(purpose, b"a")
        );
    }

    #[test]
    fn only_32_bytes_of_base64_are_a_key() {
        assert!(SecretsKey::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        let short = SecretsKey::from_base64(&STANDARD.encode([7u8; 31]));
        assert!(short.is_err_and(|e| e.contains("this is 31 bytes")));
        assert!(SecretsKey::from_base64("not base64!").is_err());
    }

    #[test]
    fn a_generated_key_is_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("secrets-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("nested").join("secrets.key");
        let made = SecretsKey::load_or_generate(&path).expect("generated");
        let read = SecretsKey::load_or_generate(&path).expect("read");
        assert_eq!(made.0, read.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Properties of what is read back from configuration and the database.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn purpose() -> impl Strategy<Value = Purpose> {
        prop_oneof![
            Just(Purpose::OutboxLinkToken),
            Just(Purpose::RefreshTokenSuccessor),
            Just(Purpose::TotpSecret),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn only_32_bytes_of_base64_are_a_key(
            text in prop_oneof![".{0,60}", "[A-Za-z0-9+/=]{40,48}"],
            bytes in any::<[u8; KEY_BYTES]>(),
        ) {
            let decoded = STANDARD.decode(text.trim()).ok();
            prop_assert_eq!(
                SecretsKey::from_base64(&text).is_ok(),
                decoded.is_some_and(|d| d.len() == KEY_BYTES)
            );
            let written = format!(" {}\n", STANDARD.encode(bytes));
            prop_assert_eq!(SecretsKey::from_base64(&written).map(|k| k.0), Ok(bytes));
        }

        /// Sealed values open to what was sealed; anything else (any bytes,
        /// any one byte changed, another purpose) does not open.
        #[test]
        fn only_what_was_sealed_opens(
            key in any::<[u8; KEY_BYTES]>(),
            plaintext in prop::collection::vec(any::<u8>(), 0..100),
            garbage in prop::collection::vec(any::<u8>(), 0..100),
            (purpose, other) in (purpose(), purpose()),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let key = SecretsKey(key);
            let sealed = key.seal(purpose, &plaintext).expect("seals");
            prop_assert_eq!(key.open(purpose, &sealed).ok(), Some(plaintext));
            prop_assert!(key.open(purpose, &garbage).is_err());
            let mut altered = sealed.clone();
            altered[at.index(sealed.len())] ^= flip;
            prop_assert!(key.open(purpose, &altered).is_err());
            if purpose.label() != other.label() {
                prop_assert!(key.open(other, &sealed).is_err());
            }
        }
    }
}
