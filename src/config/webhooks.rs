//! Where webhooks go and the secret that signs them: WEBHOOK_URL and
//! WEBHOOK_SECRET, both or neither.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use url::Url;

use super::Config;

/// Fewest and most bytes a signing secret may have (the Standard Webhooks
/// recommendation: 24 to 64 random bytes).
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// The receiver of webhooks and the key of their HMAC-SHA256 signature.
#[derive(Clone)]
pub struct WebhookTarget {
    pub url: Url,
    /// The decoded part of WEBHOOK_SECRET after `whsec_`.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url.as_str())
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Config {
    /// Where webhooks go, or `None` when they are off (neither variable set).
    /// One without the other, or a secret that is not `whsec_` + base64 of 24 to
    /// 64 bytes, is an error naming the variable but never repeating the secret.
    pub fn webhook_target(&self) -> anyhow::Result<Option<WebhookTarget>> {
        match (&self.webhook_url, &self.webhook_secret) {
            (None, None) => Ok(None),
            (Some(_), None) => anyhow::bail!(
                "WEBHOOK_SECRET: required when WEBHOOK_URL is set (the secret that signs every webhook)"
            ),
            (None, Some(_)) => anyhow::bail!(
                "WEBHOOK_URL: required when WEBHOOK_SECRET is set (where webhooks are sent)"
            ),
            (Some(url), Some(secret)) => Ok(Some(WebhookTarget {
                url: url.clone(),
                key: signing_key(&secret.0).map_err(|e| anyhow::anyhow!("WEBHOOK_SECRET: {e}"))?,
            })),
        }
    }
}

/// The key of a `whsec_<base64>` secret.
fn signing_key(secret: &str) -> Result<Vec<u8>, String> {
    let wanted = "must be whsec_ followed by 24 to 64 random bytes in base64 \
                  (make one with `echo whsec_$(openssl rand -base64 32)`)";
    let encoded = secret
        .trim()
        .strip_prefix("whsec_")
        .ok_or_else(|| format!("{wanted}; this does not start with whsec_"))?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("{wanted}; what follows whsec_ is not base64"))?;
    if !SECRET_BYTES.contains(&key.len()) {
        return Err(format!("{wanted}; this is {} bytes", key.len()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::signing_key;

    #[test]
    fn secrets_are_whsec_and_24_to_64_bytes_of_base64() {
        // The example secret of the Standard Webhooks specification.
        let key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        assert_eq!(key.len(), 24);
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            "whsec_c2hvcnQ=",
            "whsec_",
        ] {
            assert!(signing_key(bad).is_err(), "{bad} must be refused");
        }
    }
}
