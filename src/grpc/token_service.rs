//! `auth.v1.TokenService`, for other backends that hold a service key from
//! INTROSPECTION_KEYS: is this access token valid now, who is this user, and a
//! stream of every session revoked from now on.

use std::pin::Pin;

use futures_util::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};

use super::Door;
use super::convert::{self, Incoming};
use super::proto::token_service_server::TokenService;
use super::proto::{self};
use super::status::door_status;
use crate::accounts::{RevocationFeed, RevocationsMissed, ServiceCaller};
use crate::request_headers::bearer_token;

pub struct TokenApi(pub Door);

impl TokenApi {
    /// The call, if its `authorization` metadata carries a configured service
    /// key (checked before the message is looked at).
    fn authorised<T>(&self, request: Request<T>) -> Result<(ServiceCaller, T), Status> {
        let Incoming {
            headers, message, ..
        } = self.0.incoming(request);
        let caller = self.0.accounts.service_caller(bearer_token(&headers))?;
        Ok((caller, message))
    }
}

type Revocations = Pin<Box<dyn Stream<Item = Result<proto::Revocation, Status>> + Send>>;

#[tonic::async_trait]
impl TokenService for TokenApi {
    async fn validate_token(
        &self,
        request: Request<proto::ValidateTokenRequest>,
    ) -> Result<Response<proto::ValidateTokenResponse>, Status> {
        let (caller, message) = self.authorised(request)?;
        let active = self
            .0
            .accounts
            .introspect(&caller, &message.access_token)
            .await?;
        Ok(Response::new(convert::validation(active)))
    }

    async fn get_user(
        &self,
        request: Request<proto::GetUserRequest>,
    ) -> Result<Response<proto::User>, Status> {
        let (caller, message) = self.authorised(request)?;
        let id = convert::user_id(&message.user_id)?;
        match self.0.accounts.user_for_service(&caller, id).await? {
            Some(user) => Ok(Response::new(user.into())),
            None => Err(door_status(
                Code::NotFound,
                "not_found",
                "No user has this id.",
            )),
        }
    }

    type WatchRevocationsStream = Revocations;

    async fn watch_revocations(
        &self,
        request: Request<proto::WatchRevocationsRequest>,
    ) -> Result<Response<Revocations>, Status> {
        self.authorised(request)?;
        // Subscribed before answering: nothing revoked after the call is missed.
        let feed = self.0.accounts.watch_revocations();
        let stream = revocations(feed, self.0.shutdown.clone());
        Ok(Response::new(Box::pin(stream)))
    }
}

/// The feed as a stream that ends with a status rather than skip anything:
/// DATA_LOSS when some may have been missed, UNAVAILABLE when the server shuts
/// down (so graceful shutdown is not held up by open streams).
fn revocations(
    feed: RevocationFeed,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<proto::Revocation, Status>> + Send {
    futures_util::stream::unfold(Some((feed, shutdown)), |state| async move {
        let (mut feed, shutdown) = state?;
        let next = tokio::select! {
            () = shutdown.cancelled() => return Some((Err(shutting_down()), None)),
            next = feed.next() => next,
        };
        match next? {
            Ok(revocation) => Some((Ok(revocation.into()), Some((feed, shutdown)))),
            Err(RevocationsMissed) => Some((Err(missed()), None)),
        }
    })
}

fn missed() -> Status {
    door_status(
        Code::DataLoss,
        "revocations_missed",
        "Revocations may have been missed (this subscriber fell behind, or the broadcast \
         reconnected): subscribe again and revalidate every token you cached.",
    )
}

fn shutting_down() -> Status {
    door_status(
        Code::Unavailable,
        "unavailable",
        "The server is shutting down: subscribe again (to another instance) and \
         revalidate every token you cached.",
    )
}
