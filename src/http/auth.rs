//! POST /register, /login, /refresh, /logout.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::dto::{RegisterAccepted, TokenResponse, User, trimmed, trimmed_opt};
use super::email::VERIFICATION_TTL;
use super::email_link;
use super::extract::{ClientInfo, OptionalJson, ValidatedJson, bearer_token};
use super::password::reset_link_mail;
use crate::auth::password::Verified;
use crate::auth::tokens::{OpaqueToken, TokenHash, looks_like_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::mail::Message;
use crate::state::AppState;
use crate::store::{
    Effects, EmailTokenPurpose, EventKind, NewEmailToken, NewSession, NewUser, RefreshOutcome,
    RevokeScope, StoreError, UserRow,
};

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RegisterRequest {
    /// Stored trimmed; compared case-insensitively.
    #[serde(default, deserialize_with = "trimmed")]
    #[validate(
        email(message = "must be a valid email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 8 to 128 characters, any Unicode, never trimmed.
    #[serde(default)]
    #[validate(length(min = 8, max = 128, message = "must be between 8 and 128 characters"))]
    #[schema(
        example = "correct horse battery staple",
        min_length = 8,
        max_length = 128
    )]
    pub password: String,
    #[serde(default, deserialize_with = "trimmed_opt")]
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    #[schema(example = "Ada Lovelace", max_length = 100)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[serde(default, deserialize_with = "trimmed")]
    #[validate(length(min = 1, max = 254, message = "is required"))]
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[serde(default)]
    #[validate(length(min = 1, max = 1024, message = "is required"))]
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[serde(default)]
    #[validate(length(min = 1, message = "is required"))]
    pub refresh_token: String,
}

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogoutScope {
    /// Only the session of the presented token.
    #[default]
    Local,
    /// Every other session of the user; this one stays.
    Others,
    /// Every session of the user.
    Global,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct LogoutRequest {
    /// Identifies the session when no Bearer token is sent.
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: LogoutScope,
}

/// Create an account.
///
/// With email verification on (the default), answers 202 for every well-formed
/// request, whether or not the address already has an account, so the answer
/// never reveals which emails are registered; a verification link is mailed.
/// With verification off, answers 201 with a token pair, or 409 for a taken email.
#[utoipa::path(post, path = "/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 202, description = "Verification email sent (verification on)", body = RegisterAccepted),
        (status = 201, description = "Account created and logged in (verification off)", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "email_taken (verification off only)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidatedJson(req): ValidatedJson<RegisterRequest>,
) -> ApiResult<Response> {
    // Hash first, whatever happens next: a taken email costs the same time.
    let password_hash = state.hasher.hash(req.password).await?;
    let now = state.clock.now();
    let user = NewUser {
        id: Uuid::new_v4(),
        email: req.email,
        password_hash,
        name: req.name,
        now,
    };

    let registered = Effects::event(
        EventKind::Registered,
        Some(user.id),
        None,
        &client.actor(),
        now,
    );
    if !state.config.require_email_verification {
        return register_and_log_in(&state, user, &client, registered).await;
    }
    register_for_verification(&state, user, registered).await?;
    let accepted = RegisterAccepted {
        status: "verification_sent",
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// Verification off: the account and its first session in one transaction.
async fn register_and_log_in(
    state: &AppState,
    user: NewUser,
    client: &ClientInfo,
    registered: Effects,
) -> ApiResult<Response> {
    let (session, refresh) = new_session(state, user.id, client)?;
    let login = EventKind::LoginSucceeded;
    let effects = registered.and_event(
        login,
        Some(user.id),
        Some(session.id),
        &client.actor(),
        user.now,
    );
    let row = state
        .store
        .create_user(user, None, Some(session), effects)
        .await?;
    let body = token_response(state, &row, refresh.session_id, refresh.token)?;
    Ok((StatusCode::CREATED, no_store(Json(body))).into_response())
}

/// Verification on: a new account gets a verification link; a taken address
/// gets an "account exists" mail with a reset link. The caller cannot tell which.
async fn register_for_verification(
    state: &AppState,
    user: NewUser,
    registered: Effects,
) -> ApiResult<()> {
    // Both mails are rendered up front, so a new and a taken email cost the same.
    let now = user.now;
    let token = OpaqueToken::generate()?;
    let link = email_link(&state.config.verification_url(), &token.plaintext);
    let verify_mail = state
        .templates
        .render(Message::VerifyEmail, &user.email, &link)?;
    let (reset_token, exists_mail) = reset_link_mail(state, Message::AccountExists, &user.email)?;
    let email_token = NewEmailToken {
        hash: token.hash,
        purpose: EmailTokenPurpose::VerifyEmail,
        expires_at: now + VERIFICATION_TTL,
    };
    let email = user.email.clone();
    let effects = registered.and_mail(verify_mail);
    match state
        .store
        .create_user(user, Some(email_token), None, effects)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::EmailTaken) => {
            let effects = Effects::default().and_mail(exists_mail);
            state
                .store
                .issue_email_token(&email, false, reset_token, now, effects)
                .await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Log in with email and password.
///
/// An unknown email and a wrong password get the same answer after the same work.
/// `email_not_verified` is only ever answered after a correct password.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "invalid_credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "email_not_verified", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidatedJson(req): ValidatedJson<LoginRequest>,
) -> ApiResult<Response> {
    let user = state.store.user_by_email(&req.email).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let verdict = state
        .hasher
        .verify(req.password.clone(), stored_hash)
        .await?;
    let now = state.clock.now();
    let actor = client.actor();
    let user = match (verdict, user) {
        (Verified::Yes | Verified::YesRehash, Some(user)) => user,
        (_, user) => {
            let id = user.map(|u| u.id);
            let failed = Effects::event(EventKind::LoginFailed, id, None, &actor, now);
            state.store.record(failed, now).await?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    if verdict == Verified::YesRehash {
        rehash(&state, &user, req.password).await;
    }
    if state.config.require_email_verification && user.email_verified_at.is_none() {
        return Err(ApiError::EmailNotVerified);
    }
    let (session, refresh) = new_session(&state, user.id, &client)?;
    let effects = Effects::event(
        EventKind::LoginSucceeded,
        Some(user.id),
        Some(session.id),
        &actor,
        now,
    );
    state.store.create_session(session, effects).await?;
    Ok(no_store(Json(token_response(
        &state,
        &user,
        refresh.session_id,
        refresh.token,
    )?)))
}

/// Exchange a refresh token for a new token pair.
///
/// Every use rotates the refresh token. Presenting an already-rotated token
/// within REFRESH_GRACE_PERIOD (several tabs at once) returns another valid pair
/// of the same session; after it, the whole session is revoked.
#[utoipa::path(post, path = "/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "invalid_refresh_token: unknown, expired, revoked or reused", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidatedJson(req): ValidatedJson<RefreshRequest>,
) -> ApiResult<Response> {
    if !looks_like_token(&req.refresh_token) {
        return Err(ApiError::InvalidRefreshToken);
    }
    let successor = OpaqueToken::generate()?;
    let now = state.clock.now();
    let rule = |s: &_| state.sessions.decide(s, now);
    let presented = TokenHash::of(&req.refresh_token);
    match state
        .store
        .refresh(&presented, &successor.hash, now, &rule, &client.actor())
        .await?
    {
        RefreshOutcome::Issued { session_id, user } => Ok(no_store(Json(token_response(
            &state,
            &user,
            session_id,
            successor.plaintext,
        )?))),
        RefreshOutcome::Revoked { session_id } => {
            tracing::warn!(session = %session_id, "rotated refresh token reused after the grace period; session revoked");
            Err(ApiError::InvalidRefreshToken)
        }
        RefreshOutcome::Refused => Err(ApiError::InvalidRefreshToken),
    }
}

/// End sessions.
///
/// Identify the session with a Bearer access token or with `refresh_token` in the
/// body. `scope`: `local` (default) ends that session, `others` every other
/// session of the user, `global` all of them.
#[utoipa::path(post, path = "/logout", tag = "auth", request_body(content = Option<LogoutRequest>, description = "Optional with a Bearer token"),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No valid access or refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (unknown scope)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<LogoutRequest>,
) -> ApiResult<StatusCode> {
    let body = body.unwrap_or_default();
    let now = state.clock.now();
    let (user_id, session_id) = if bearer_token(&headers).is_some() {
        let caller = super::extract::authenticate(&state, &headers).await?;
        (caller.user.id, caller.session_id)
    } else if let Some(token) = body
        .refresh_token
        .as_deref()
        .filter(|t| looks_like_token(t))
    {
        let rule = |s: &_| state.sessions.decide(s, now);
        let found = state
            .store
            .session_of_refresh_token(&TokenHash::of(token), now, &rule, &client.actor())
            .await?
            .ok_or(ApiError::InvalidRefreshToken)?;
        (found.user_id, found.session_id)
    } else if body.refresh_token.is_some() {
        return Err(ApiError::InvalidRefreshToken);
    } else {
        return Err(ApiError::MissingCredentials);
    };
    let scope = match body.scope {
        LogoutScope::Local => RevokeScope::One(session_id),
        LogoutScope::Others => RevokeScope::AllExcept(session_id),
        LogoutScope::Global => RevokeScope::All,
    };
    let effects = Effects::event(
        EventKind::LoggedOut,
        Some(user_id),
        Some(session_id),
        &client.actor(),
        now,
    );
    state
        .store
        .revoke_sessions(user_id, scope, "logout", now, effects)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The plaintext refresh token of a session being created.
struct NewRefresh {
    session_id: Uuid,
    token: String,
}

fn new_session(
    state: &AppState,
    user_id: Uuid,
    client: &ClientInfo,
) -> ApiResult<(NewSession, NewRefresh)> {
    let now = state.clock.now();
    let (idle_expires_at, expires_at) = state.sessions.new_session(now);
    let token = OpaqueToken::generate()?;
    let session = NewSession {
        id: Uuid::new_v4(),
        user_id,
        now,
        idle_expires_at,
        expires_at,
        ip: client.ip.map(|ip| ip.to_string()),
        user_agent: client.user_agent.clone(),
        refresh_token: token.hash,
    };
    let refresh = NewRefresh {
        session_id: session.id,
        token: token.plaintext,
    };
    Ok((session, refresh))
}

fn token_response(
    state: &AppState,
    user: &UserRow,
    session_id: Uuid,
    refresh_token: String,
) -> ApiResult<TokenResponse> {
    let issued = state.keys.issue(
        user.id,
        session_id,
        &user.email,
        user.email_verified_at.is_some(),
        state.clock.now(),
    )?;
    Ok(TokenResponse {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token,
        user: User::from(user),
    })
}

/// Stores a stronger hash after a successful login; a failure only costs a retry
/// at the next login, so it is logged, not returned.
async fn rehash(state: &AppState, user: &UserRow, password: String) {
    let result = async {
        let hash = state.hasher.hash(password).await?;
        state
            .store
            .set_password_hash(user.id, &hash, state.clock.now())
            .await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = format!("{e:#}"), "password rehash failed");
    }
}

/// Every response that carries a token must not be cached (also set globally;
/// explicit here so the rule holds even if the global layer changes).
fn no_store(body: impl IntoResponse) -> Response {
    ([(axum::http::header::CACHE_CONTROL, "no-store")], body).into_response()
}
