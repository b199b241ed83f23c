//! `auth.v1.AuthService`: register, log in, refresh, log out, verify an email.
//! Each call takes its message apart, calls the one method of the core that the
//! HTTP endpoint of the same name calls, and maps the outcome; the core applies
//! the same rules, limits, audit events and mail to both doors.

use tonic::{Request, Response, Status};

use super::Door;
use super::convert::{self, Incoming};
use super::proto::auth_service_server::AuthService;
use super::proto::{self, login_response, logout_request, register_response};
use crate::accounts::{LoginOutcome, Registered, Registration};

pub struct AuthApi(pub Door);

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn register(
        &self,
        request: Request<proto::RegisterRequest>,
    ) -> Result<Response<proto::RegisterResponse>, Status> {
        let Incoming {
            client, message, ..
        } = self.0.incoming(request);
        let form = Registration {
            email: convert::trimmed(message.email),
            password: message.password,
            name: convert::trimmed_name(message.name),
        };
        let outcome = match self.0.accounts.register(form, &client).await? {
            Registered::VerificationSent => {
                register_response::Outcome::VerificationSent(proto::VerificationSent {})
            }
            Registered::LoggedIn(pair) => register_response::Outcome::Tokens(pair.into()),
        };
        Ok(Response::new(proto::RegisterResponse {
            outcome: Some(outcome),
        }))
    }

    async fn login(
        &self,
        request: Request<proto::LoginRequest>,
    ) -> Result<Response<proto::LoginResponse>, Status> {
        let Incoming {
            client, message, ..
        } = self.0.incoming(request);
        let email = convert::trimmed(message.email);
        let outcome = match self
            .0
            .accounts
            .login(&email, message.password, &client)
            .await?
        {
            LoginOutcome::LoggedIn(pair) => login_response::Outcome::Tokens(pair.into()),
            LoginOutcome::MfaRequired(step) => login_response::Outcome::MfaRequired(step.into()),
        };
        Ok(Response::new(proto::LoginResponse {
            outcome: Some(outcome),
        }))
    }

    async fn refresh(
        &self,
        request: Request<proto::RefreshRequest>,
    ) -> Result<Response<proto::TokenResponse>, Status> {
        let Incoming {
            client, message, ..
        } = self.0.incoming(request);
        let pair = self
            .0
            .accounts
            .refresh(&message.refresh_token, &client)
            .await?;
        Ok(Response::new(pair.into()))
    }

    async fn logout(
        &self,
        request: Request<proto::LogoutRequest>,
    ) -> Result<Response<proto::LogoutResponse>, Status> {
        let Incoming {
            client, message, ..
        } = self.0.incoming(request);
        let scope = convert::logout_scope(message.scope)?;
        let (access_token, refresh_token) = match &message.credential {
            Some(logout_request::Credential::AccessToken(token)) => (Some(token.as_str()), None),
            Some(logout_request::Credential::RefreshToken(token)) => (None, Some(token.as_str())),
            None => (None, None),
        };
        self.0
            .accounts
            .logout(access_token, refresh_token, scope, &client)
            .await?;
        Ok(Response::new(proto::LogoutResponse {}))
    }

    async fn verify_email(
        &self,
        request: Request<proto::VerifyEmailRequest>,
    ) -> Result<Response<proto::User>, Status> {
        let Incoming {
            client, message, ..
        } = self.0.incoming(request);
        let user = self
            .0
            .accounts
            .verify_email(&message.token, &client)
            .await?;
        Ok(Response::new(user.into()))
    }
}
