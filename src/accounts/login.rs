//! Logging in with email and password, and starting a session.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit::EventKind;
use super::auth_method::AuthMethod;
use super::crypto::{OpaqueToken, Verified};
use super::error::{AccountError, InvalidField};
use super::input;
use super::outcomes::{ClientContext, LoginOutcome, TokenPair, User};
use super::password_rules;
use super::unit_of_work::Work;
use super::{AccountResult, Accounts};
use crate::limits::Policy;
use crate::store::{NewSession, UserRow};

impl Accounts {
    /// An unknown email and a wrong password get the same answer after the same
    /// work (a verify against a dummy hash); `EmailNotVerified` comes only after
    /// a correct password.
    ///
    /// Every attempt spends the client's budget and the account's, from any IP,
    /// before the password is looked at: guesses spread over many addresses run
    /// out together, and concurrent guesses cannot all slip past a check made
    /// before any of them has failed. The account's budget refills evenly (see
    /// RATE_LIMIT_LOGIN_ACCOUNT), so a lockout lasts minutes, never for good, and
    /// a client address the user logged in from lately has a budget of its own
    /// (see `limit_login_account`).
    ///
    /// With a confirmed authenticator, the right password (and only the right
    /// one: a wrong one is refused as always) gets the MFA step instead of tokens.
    /// A disabled account's right password is `AccountDisabled` (a wrong one is
    /// refused as always, after the same work).
    pub async fn login(
        &self,
        email: &str,
        password: String,
        client: &ClientContext,
    ) -> AccountResult<LoginOutcome> {
        let result = self.password_login(email, password, client).await;
        self.count_login("password", &result);
        result
    }

    async fn password_login(
        &self,
        email: &str,
        password: String,
        client: &ClientContext,
    ) -> AccountResult<LoginOutcome> {
        input::login(email, &password)?;
        self.limit_client(Policy::Login, client).await?;
        InvalidField::reject_nul("email", email)?;
        let user = self.store.connection().await?.user_by_email(email).await?;
        self.limit_login_account(email, user.as_ref(), client)
            .await?;
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let verdict = self.check_password(&password, stored_hash).await?;
        let user = match (verdict, user) {
            (Verified::Yes | Verified::YesRehash, Some(user)) => user,
            (_, user) => {
                let now = self.clock.now();
                let mut work = self.begin().await?;
                let failed = EventKind::LoginFailed;
                work.event(failed, user.map(|u| u.id), None, client, now)
                    .await?;
                work.commit().await?;
                return Err(AccountError::InvalidCredentials);
            }
        };
        if user.disabled_at.is_some() {
            let now = self.clock.now();
            let mut work = self.begin().await?;
            let refused = EventKind::LoginFailed;
            work.event(refused, Some(user.id), None, client, now)
                .await?;
            work.commit().await?;
            return Err(AccountError::AccountDisabled);
        }
        // A hash with weaker parameters, or one imported from another system, is
        // replaced by the service's argon2id: in the login's transaction when
        // the login ends in a session, on its own otherwise.
        let rehashed = match verdict {
            Verified::YesRehash => self.stronger_hash(password).await,
            _ => None,
        };
        let unverified = self.config.require_email_verification && user.email_verified_at.is_none();
        let mfa = !unverified && self.mfa_enabled(user.id).await?;
        if unverified || mfa {
            if let Some(hash) = rehashed {
                self.store_rehash(&user, &hash).await;
            }
            if unverified {
                return Err(AccountError::EmailNotVerified);
            }
            let challenge = self.start_mfa_step(&user).await?;
            return Ok(LoginOutcome::MfaRequired(challenge));
        }
        let mut work = self.begin().await?;
        if let Some(hash) = rehashed {
            work.set_password_hash(user.id, &hash, self.clock.now())
                .await?;
        }
        let password_only = AuthMethod::Password;
        let pair = self
            .start_session(&mut work, &user, password_only, client)
            .await?;
        work.commit().await?;
        Ok(LoginOutcome::LoggedIn(pair))
    }

    /// Checks a typed password against a stored hash (`None`: an unknown account,
    /// checked against a dummy hash for the same cost). The NFKC form is tried
    /// first; the form as typed only when it differs, for hashes stored before
    /// passwords were normalised, and such a match asks for a rehash.
    pub(super) async fn check_password(
        &self,
        typed: &str,
        stored: Option<String>,
    ) -> AccountResult<Verified> {
        for (i, candidate) in password_rules::candidates(typed).into_iter().enumerate() {
            match self.hasher.verify(candidate, stored.clone()).await? {
                Verified::No => continue,
                Verified::Yes if i > 0 => return Ok(Verified::YesRehash),
                verdict => return Ok(verdict),
            }
        }
        Ok(Verified::No)
    }

    /// A new session with its first refresh token, recorded as a login by `method`.
    pub(super) async fn start_session(
        &self,
        work: &mut Work,
        user: &UserRow,
        method: AuthMethod,
        client: &ClientContext,
    ) -> AccountResult<TokenPair> {
        let now = self.clock.now();
        // Under the user's row lock until the transaction ends: a disable that
        // committed first is seen here, one that commits later sees (and
        // revokes) this session. Every kind of login passes here.
        match work.record_login(user.id, now).await? {
            Some(None) => {}
            Some(Some(_disabled_at)) => return Err(AccountError::AccountDisabled),
            None => return Err(AccountError::InvalidCredentials),
        }
        let (idle_expires_at, expires_at) = self.policy.new_session(now);
        let refresh = OpaqueToken::generate()?;
        let session = NewSession {
            id: Uuid::new_v4(),
            user_id: user.id,
            created_at: now,
            idle_expires_at,
            expires_at,
            ip: client.ip.map(|ip| ip.to_string()),
            user_agent: client.user_agent.clone(),
            auth_method: method.as_str(),
        };
        work.insert_session(&session).await?;
        work.insert_refresh_token(session.id, &refresh.hash.0, now)
            .await?;
        let login = EventKind::LoginSucceeded;
        let (user_id, session_id) = (Some(user.id), Some(session.id));
        work.event_with_method(
            login,
            Some(method.as_str()),
            user_id,
            session_id,
            client,
            now,
        )
        .await?;
        self.token_pair(user, session.id, method, refresh.plaintext, now)
    }

    /// An access token for the session (saying how it was authenticated),
    /// beside its refresh token.
    pub(super) fn token_pair(
        &self,
        user: &UserRow,
        session_id: Uuid,
        method: AuthMethod,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> AccountResult<TokenPair> {
        let verified = user.email_verified_at.is_some();
        let issued = self
            .keys
            .issue(user.id, session_id, &user.email, verified, method, now)?;
        Ok(TokenPair {
            access_token: issued.token,
            expires_in: issued.expires_in,
            refresh_token,
            user: User::from(user),
        })
    }

    /// The service's argon2id of a password that matched an outdated hash. A
    /// failure (a full hashing queue) only costs a retry at the next login, so
    /// it is logged, not returned.
    async fn stronger_hash(&self, password: String) -> Option<String> {
        let normalised = password_rules::normalised(&password);
        match self.hasher.hash(normalised).await {
            Ok(hash) => Some(hash),
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "password rehash failed");
                None
            }
        }
    }

    /// Stores a stronger hash outside a login's transaction (the login ended
    /// before a session: the MFA step, or an unverified email); a failure is
    /// logged, as above.
    async fn store_rehash(&self, user: &UserRow, hash: &str) {
        let result = async {
            let mut db = self.store.connection().await?;
            db.set_password_hash(user.id, hash, self.clock.now()).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = format!("{e:#}"), "storing a password rehash failed");
        }
    }
}
