//! For other services: is this access token valid, and its session still live?
//! Callers prove themselves with a service key from INTROSPECTION_KEYS.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::error::AccountError;
use super::outcomes::User;
use super::{AccountResult, Accounts};

/// Proof that the caller presented a configured service key; only
/// [`Accounts::service_caller`] makes one.
pub struct ServiceCaller(());

/// What an active token says about itself.
#[derive(Debug)]
pub struct ActiveToken {
    pub sub: Uuid,
    pub sid: Uuid,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    pub jti: Uuid,
    pub email: String,
    pub email_verified: bool,
    /// How the token's session was authenticated (RFC 8176), and its level.
    pub amr: Vec<String>,
    pub aal: String,
    /// Whether a confirmed authenticator guards the account now.
    pub mfa_enabled: bool,
}

impl Accounts {
    /// Checks a presented service key against every configured one, comparing
    /// SHA-256 digests in constant time so that neither the keys nor their
    /// lengths leak through timing.
    pub fn service_caller(&self, presented: Option<&str>) -> AccountResult<ServiceCaller> {
        let presented = Sha256::digest(presented.unwrap_or_default().as_bytes());
        let known = self
            .config
            .introspection_keys
            .iter()
            .fold(false, |found, key| {
                let key = Sha256::digest(key.0.trim().as_bytes());
                found | bool::from(key.ct_eq(&presented))
            });
        if known {
            Ok(ServiceCaller(()))
        } else {
            Err(AccountError::InvalidServiceKey)
        }
    }

    /// `None` for any token that is not valid now: bad signature, expired, or a
    /// session that is revoked or over.
    pub async fn introspect(
        &self,
        _caller: &ServiceCaller,
        access_token: &str,
    ) -> AccountResult<Option<ActiveToken>> {
        let Ok(claims) = self.keys.verify(access_token, self.clock.now()) else {
            return Ok(None);
        };
        let Some(live) = self.active_session(claims.sid, claims.sub).await? else {
            return Ok(None);
        };
        Ok(Some(ActiveToken {
            sub: claims.sub,
            sid: claims.sid,
            exp: claims.exp,
            iat: claims.iat,
            iss: claims.iss,
            aud: claims.aud,
            jti: claims.jti,
            email: claims.email,
            email_verified: claims.email_verified,
            amr: claims.amr,
            aal: claims.aal,
            mfa_enabled: live.mfa_enabled,
        }))
    }

    /// A user by id, for a service that holds an id from a token or a
    /// revocation; `None` when there is none.
    pub async fn user_for_service(
        &self,
        _caller: &ServiceCaller,
        id: Uuid,
    ) -> AccountResult<Option<User>> {
        let mut db = self.store.connection().await?;
        Ok(db.user_by_id(id).await?.as_ref().map(User::from))
    }
}
