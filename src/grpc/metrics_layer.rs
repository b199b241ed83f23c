//! Counts every gRPC call in GET /metrics: by service, method (one of the
//! served methods, else `unknown`) and status code, with its duration.
//!
//! A call is counted once, when it ends, with the status its client receives:
//! - a refusal is usually "trailers-only": the status is in the response
//!   headers, and the call is counted as they leave;
//! - otherwise the status is in the trailers after the last message (a unary
//!   answer, or the end of a WatchRevocations stream: DATA_LOSS, or
//!   UNAVAILABLE at shutdown), and the call is counted as they pass;
//! - a call dropped before either (the client went away, or the server's
//!   timeout, which tonic answers CANCELLED) is counted CANCELLED.
//!
//! Counting at the end rather than at the start of a stream is what makes the
//! code the one the client saw; a stream's duration is then its whole life.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::future::BoxFuture;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tonic::Code;
use tower::{Layer, Service};

use super::served_methods::{Method, ServedMethods};
use crate::telemetry::metrics::Metrics;

/// Where gRPC puts a call's status code.
const GRPC_STATUS: &str = "grpc-status";

/// Counts the calls of the service it wraps into `metrics`.
#[derive(Clone)]
pub struct CountCallsLayer {
    metrics: Metrics,
    served: Arc<ServedMethods>,
}

impl CountCallsLayer {
    /// Every served method's series exists from now on (zero calls).
    pub fn new(metrics: Metrics, served: ServedMethods) -> Self {
        metrics.grpc_served(served.iter());
        Self {
            metrics,
            served: Arc::new(served),
        }
    }
}

impl<S> Layer<S> for CountCallsLayer {
    type Service = CountCalls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CountCalls {
            inner,
            metrics: self.metrics.clone(),
            served: self.served.clone(),
        }
    }
}

#[derive(Clone)]
pub struct CountCalls<S> {
    inner: S,
    metrics: Metrics,
    served: Arc<ServedMethods>,
}

// Wraps tonic's routes, which never fail: every outcome is a response (a
// status), so there is no error to count.
impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CountCalls<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<CountedBody<ResBody>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let call = Call {
            metrics: self.metrics.clone(),
            method: self.served.of(request.uri().path()),
            started: Instant::now(),
            counted: false,
        };
        let answer = self.inner.call(request);
        // `call` is dropped (counted CANCELLED) if this future is.
        Box::pin(async move {
            let response = answer.await?;
            Ok(call.answered(response))
        })
    }
}

/// One call, counted exactly once.
struct Call {
    metrics: Metrics,
    method: Arc<Method>,
    started: Instant,
    counted: bool,
}

impl Call {
    fn end(&mut self, code: Code) {
        if std::mem::replace(&mut self.counted, true) {
            return;
        }
        let method = &self.method;
        let elapsed = self.started.elapsed();
        let code = code_name(code);
        self.metrics
            .grpc_request(&method.service, &method.name, code, elapsed);
    }

    /// Counts a trailers-only answer now; any other is counted by its body.
    fn answered<B>(mut self, response: Response<B>) -> Response<CountedBody<B>> {
        let call = match status_in(response.headers()) {
            Some(code) => {
                self.end(code);
                None
            }
            None => Some(self),
        };
        response.map(|inner| CountedBody { inner, call })
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.end(Code::Cancelled);
    }
}

/// A response body that counts its call when the status passes in the
/// trailers (or when it ends or is dropped without one).
pub struct CountedBody<B> {
    inner: B,
    /// `None`: counted already.
    call: Option<Call>,
}

impl<B> CountedBody<B> {
    fn end(&mut self, code: Code) {
        if let Some(mut call) = self.call.take() {
            call.end(code);
        }
    }
}

impl<B: Body + Unpin> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_in) {
                    self.end(code);
                }
            }
            // The stream is reset: clients report that as INTERNAL.
            Poll::Ready(Some(Err(_))) => self.end(Code::Internal),
            // Ended without a status: clients report that as UNKNOWN.
            Poll::Ready(None) => self.end(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The status code in `grpc-status`, if there is one (an unreadable one is
/// UNKNOWN, as clients read it).
fn status_in(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get(GRPC_STATUS)?;
    Some(Code::from_bytes(value.as_bytes()))
}

/// The code's name as the gRPC specification spells it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
