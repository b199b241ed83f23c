//! Ed25519 access tokens: signing keys, issuing, verifying, and the JWKS.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::super::auth_method::AuthMethod;

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the DER bytes before
/// the 32-byte seed. This is what `openssl genpkey -algorithm ed25519` writes.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
const LEEWAY: i64 = 5;

/// One Ed25519 key pair, identified by its RFC 7638 thumbprint.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    /// PKCS#8 DER of the private key, as kept in the store.
    pub pkcs8_der: Vec<u8>,
    /// base64url public key (`x` of the JWK).
    pub x: String,
    /// Parsed once: jsonwebtoken would parse the DER and derive the public key
    /// (a scalar multiplication) again for every token it signs.
    signing: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate() -> anyhow::Result<Self> {
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
        der.extend_from_slice(&seed);
        Self::from_pkcs8_der(der)
    }

    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(pem.as_bytes())
            .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 PEM private key: {e}"))?;
        Self::from_pkcs8_der(key.as_bytes().to_vec())
    }

    pub fn from_pkcs8_der(pkcs8_der: Vec<u8>) -> anyhow::Result<Self> {
        let signing = ed25519_dalek::SigningKey::from_pkcs8_der(&pkcs8_der)
            .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 private key: {e}"))?;
        let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        Ok(Self {
            kid,
            pkcs8_der,
            x,
            signing,
        })
    }

    /// A compact JWS of `claims` with this key's kid, as `jsonwebtoken::encode`
    /// writes it (base64url JSON header and claims, Ed25519 signature).
    pub fn sign_jwt(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let part = |json: Vec<u8>| URL_SAFE_NO_PAD.encode(json);
        let mut token = part(serde_json::to_vec(&header)?);
        token.push('.');
        token.push_str(&part(serde_json::to_vec(claims)?));
        let signature = self.signing.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        Ok(token)
    }
}

/// The public half of an Ed25519 signing key (`kty` OKP, `crv` Ed25519, `alg`
/// EdDSA, `use` sig), as the JWKS publishes it.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub kid: String,
    /// base64url public key.
    pub x: String,
}

/// Claims of an access token (API.md, "Token model").
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub email: String,
    pub email_verified: bool,
    /// RFC 8176 methods of the session's login (`["pwd"]`, `["pwd", "otp"]`).
    /// Absent from tokens issued before there was a second factor.
    #[serde(default)]
    pub amr: Vec<String>,
    /// `aal1` or `aal2`.
    #[serde(default)]
    pub aal: String,
    /// Never issued by us; checked when a token carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Why an access token was refused; logged at debug, never sent to the client.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token or header: {0}")]
    Malformed(jsonwebtoken::errors::Error),
    #[error("token has no kid or an unknown kid")]
    UnknownKey,
    #[error("token refused: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("token lives {0}s, longer than ACCESS_TOKEN_TTL")]
    TooLong(i64),
    #[error("token issued or valid only in the future (iat {iat}, nbf {nbf:?})")]
    FromTheFuture { iat: i64, nbf: Option<i64> },
    #[error("token expired at {0}")]
    Expired(i64),
}

/// The signing key in use plus every key whose tokens we still accept.
pub struct JwtKeys {
    current: SigningKey,
    /// A rotation's successor and when it starts signing: published and
    /// verifying at once, signing from then on.
    next: Option<(SigningKey, DateTime<Utc>)>,
    verifying: HashMap<String, DecodingKey>,
    public: Vec<PublicKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: chrono::Duration,
}

/// A freshly issued access token.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
}

impl JwtKeys {
    /// `current` signs; `current` and `previous` verify and are published.
    pub fn new(
        current: SigningKey,
        previous: Vec<SigningKey>,
        issuer: String,
        audience: String,
        ttl: std::time::Duration,
    ) -> anyhow::Result<Self> {
        let mut verifying = HashMap::new();
        let mut public = Vec::new();
        for key in std::iter::once(&current).chain(previous.iter()) {
            if verifying.contains_key(&key.kid) {
                continue;
            }
            verifying.insert(key.kid.clone(), DecodingKey::from_ed_components(&key.x)?);
            public.push(PublicKey {
                kid: key.kid.clone(),
                x: key.x.clone(),
            });
        }
        // Pin the algorithm: `alg: none`, HS256 signed with our public key, or any
        // other algorithm is refused before a signature is even looked at.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY as u64;
        Ok(Self {
            current,
            next: None,
            verifying,
            public,
            validation,
            issuer,
            audience,
            ttl: chrono::Duration::from_std(ttl)?,
        })
    }

    /// Adds the key that takes over signing at `from` (it verifies and is
    /// published at once, so every instance knows it before it signs).
    pub fn with_next(mut self, key: SigningKey, from: DateTime<Utc>) -> anyhow::Result<Self> {
        if !self.verifying.contains_key(&key.kid) {
            let decoding = DecodingKey::from_ed_components(&key.x)?;
            self.verifying.insert(key.kid.clone(), decoding);
            self.public.push(PublicKey {
                kid: key.kid.clone(),
                x: key.x.clone(),
            });
        }
        self.next = Some((key, from));
        Ok(self)
    }

    /// The key that signs at `now`.
    fn signer(&self, now: DateTime<Utc>) -> &SigningKey {
        match &self.next {
            Some((key, from)) if now >= *from => key,
            _ => &self.current,
        }
    }

    /// Every key whose tokens verify, the signing key first.
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.public
    }

    pub fn current_kid(&self) -> &str {
        &self.current.kid
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        email: &str,
        email_verified: bool,
        method: AuthMethod,
        now: DateTime<Utc>,
    ) -> anyhow::Result<IssuedToken> {
        let exp = now + self.ttl;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            sid: session_id,
            iat: now.timestamp(),
            exp: exp.timestamp(),
            jti: Uuid::new_v4(),
            email: email.to_owned(),
            email_verified,
            amr: method.amr().iter().map(|m| (*m).to_owned()).collect(),
            aal: method.aal().to_owned(),
            nbf: None,
        };
        let token = self.signer(now).sign_jwt(&claims)?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl.num_seconds(),
        })
    }

    /// Checks signature, algorithm, issuer, audience and expiry, then that the
    /// token was not minted to outlive ACCESS_TOKEN_TTL nor dated after `now`
    /// (a leaked signing key, or a bug, must not yield long-lived tokens).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        self.verify_signed(token, now).map(|(claims, _kid)| claims)
    }

    /// [`Self::verify`], also telling which key signed the token.
    pub fn verify_signed(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(Claims, String), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::Malformed)?;
        let (kid, key) = header
            .kid
            .and_then(|kid| self.verifying.get(&kid).map(|key| (kid, key)))
            .ok_or(TokenError::UnknownKey)?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(TokenError::Invalid)?;
        self.check_times(&claims, now.timestamp())?;
        Ok((claims, kid))
    }

    /// Whether tokens signed with `kid` still verify.
    pub fn verifies(&self, kid: &str) -> bool {
        self.verifying.contains_key(kid)
    }

    /// `exp - iat` within the TTL, neither `iat` nor `nbf` after `now`, and
    /// `exp` not before it, each with the leeway. (jsonwebtoken checks `exp`
    /// too, against the system clock; this holds it to the core's clock, the
    /// one every other expiry is measured on.)
    fn check_times(&self, claims: &Claims, now: i64) -> Result<(), TokenError> {
        if claims.exp.saturating_add(LEEWAY) < now {
            return Err(TokenError::Expired(claims.exp));
        }
        let lifetime = claims.exp.saturating_sub(claims.iat);
        if lifetime > self.ttl.num_seconds().saturating_add(LEEWAY) {
            return Err(TokenError::TooLong(lifetime));
        }
        let latest = now.saturating_add(LEEWAY);
        if claims.iat > latest || claims.nbf.is_some_and(|nbf| nbf > latest) {
            return Err(TokenError::FromTheFuture {
                iat: claims.iat,
                nbf: claims.nbf,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests;
