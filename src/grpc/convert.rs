//! Between the core's plain data and the generated messages: who is calling,
//! the inputs as the core takes them, the outcomes as the schema has them.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use tonic::Request;
use uuid::Uuid;

use super::proto;
use crate::accounts::{
    AccountError, ActiveToken, ClientContext, InvalidField, LogoutScope, MfaChallenge, Revocation,
    TokenPair, User,
};
use crate::config::Config;
use crate::request_headers;

/// A call taken apart: who made it (as sessions, the audit trail and the
/// per-IP limits see it), its metadata as HTTP/2 headers, and its message.
pub struct Incoming<T> {
    pub client: ClientContext,
    pub headers: http::HeaderMap,
    pub message: T,
}

impl<T> Incoming<T> {
    /// The peer address (or, from a trusted proxy, the address it forwards in
    /// TRUSTED_PROXY_HEADER metadata) and the `user-agent` metadata, read the
    /// way the HTTP door reads them.
    pub fn from_request(config: &Config, request: Request<T>) -> Self {
        let peer = request.remote_addr().map(|addr| addr.ip());
        let (metadata, _, message) = request.into_parts();
        let headers = metadata.into_headers();
        let ip = peer.map(|peer| request_headers::client_ip(config, peer, &headers));
        let user_agent = request_headers::user_agent(&headers);
        Incoming {
            client: ClientContext { ip, user_agent },
            headers,
            message,
        }
    }
}

/// Emails are stored trimmed (the HTTP door trims while decoding JSON).
pub fn trimmed(email: String) -> String {
    email.trim().to_owned()
}

/// A name is trimmed, and an empty one is no name.
pub fn trimmed_name(name: Option<String>) -> Option<String> {
    name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty())
}

pub fn logout_scope(scope: i32) -> Result<LogoutScope, AccountError> {
    use proto::LogoutScope as Scope;
    match Scope::try_from(scope) {
        Ok(Scope::Unspecified | Scope::Local) => Ok(LogoutScope::Local),
        Ok(Scope::Others) => Ok(LogoutScope::Others),
        Ok(Scope::Global) => Ok(LogoutScope::Global),
        Err(_) => Err(AccountError::InvalidInput(vec![InvalidField {
            field: "scope",
            message: "must be LOCAL, OTHERS or GLOBAL",
        }])),
    }
}

pub fn user_id(text: &str) -> Result<Uuid, AccountError> {
    text.trim().parse().map_err(|_| {
        AccountError::InvalidInput(vec![InvalidField {
            field: "user_id",
            message: "must be a UUID",
        }])
    })
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        // Below one billion: always fits.
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or_default(),
    }
}

impl From<User> for proto::User {
    fn from(user: User) -> Self {
        proto::User {
            id: user.id.to_string(),
            email: user.email,
            email_verified: user.email_verified,
            name: user.name,
            created_at: Some(timestamp(user.created_at)),
        }
    }
}

impl From<TokenPair> for proto::TokenResponse {
    fn from(pair: TokenPair) -> Self {
        proto::TokenResponse {
            access_token: pair.access_token,
            token_type: "Bearer".to_owned(),
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            user: Some(pair.user.into()),
        }
    }
}

impl From<MfaChallenge> for proto::MfaRequired {
    fn from(challenge: MfaChallenge) -> Self {
        proto::MfaRequired {
            mfa_token: challenge.mfa_token,
            methods: challenge.methods.into_iter().map(str::to_owned).collect(),
            expires_in: challenge.expires_in,
        }
    }
}

/// `active: false` and nothing else for a token that is not valid now.
pub fn validation(active: Option<ActiveToken>) -> proto::ValidateTokenResponse {
    let Some(token) = active else {
        return proto::ValidateTokenResponse::default();
    };
    proto::ValidateTokenResponse {
        active: true,
        user_id: token.sub.to_string(),
        session_id: token.sid.to_string(),
        email: token.email,
        email_verified: token.email_verified,
        expires_at: Some(Timestamp {
            seconds: token.exp,
            nanos: 0,
        }),
        amr: token.amr,
    }
}

impl From<Revocation> for proto::Revocation {
    fn from(revocation: Revocation) -> Self {
        proto::Revocation {
            session_id: revocation.session_id.to_string(),
            user_id: revocation.user_id.to_string(),
            revoked_at: Some(timestamp(revocation.revoked_at)),
        }
    }
}
