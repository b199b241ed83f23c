//! Extractors that own their rejections: every failure is a problem+json answer.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;
use validator::Validate;

use super::AppState;
use super::problem::{ApiError, FieldError};
use crate::accounts::{Caller, ClientContext};
use crate::request_headers;

/// A JSON body that was deserialized and validated: 415 without a JSON content
/// type, 400 for malformed JSON, 413 over the body limit, 422 for wrong fields.
pub struct ValidatedJson<T>(pub T);

/// Like [`ValidatedJson`], but an empty body is allowed and gives `None`.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequest<S> for ValidatedJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = read_body(req, state).await?;
        decode_json(&headers, &body).map(ValidatedJson)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = read_body(req, state).await?;
        if body.is_empty() {
            return Ok(OptionalJson(None));
        }
        // JSON `null` says "no body" too (the spec's optional body is nullable).
        let value = parse_json(&headers, &body)?;
        if value.is_null() {
            return Ok(OptionalJson(None));
        }
        decode_value(value).map(|v| OptionalJson(Some(v)))
    }
}

pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::MalformedJson("the body could not be read".into())
        }
    })
}

/// Whether the request says its body is JSON (`application/json`, `…+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|ct| ct == "application/json" || ct.ends_with("+json"))
}

/// The media type of the body, lowercased, without parameters.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

pub fn decode_json<T: DeserializeOwned + Validate>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    decode_value(parse_json(headers, body)?)
}

/// The body as JSON: 415 without a JSON content type, 400 when it does not parse.
fn parse_json(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// A JSON body, or an HTML form post (`application/x-www-form-urlencoded`) from
/// one of the service's own pages; `from_form` says which, so the handler can
/// answer a page instead of JSON.
pub struct JsonOrForm<T> {
    pub value: T,
    pub from_form: bool,
}

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequest<S> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = read_body(req, state).await?;
        if content_type(&headers).as_deref() == Some("application/x-www-form-urlencoded") {
            let fields: serde_json::Map<String, serde_json::Value> =
                url::form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                    .collect();
            let value = decode_value(serde_json::Value::Object(fields))?;
            return Ok(JsonOrForm {
                value,
                from_form: true,
            });
        }
        let value = decode_json(&headers, &body)?;
        Ok(JsonOrForm {
            value,
            from_form: false,
        })
    }
}

/// Deserializes and validates a parsed body: 422 with per-field errors.
fn decode_value<T: DeserializeOwned + Validate>(value: serde_json::Value) -> Result<T, ApiError> {
    // Every request body is an object. serde would also fill a struct from an
    // array of its fields in order, which no client means and the spec forbids.
    if !value.is_object() {
        return Err(ApiError::Validation(vec![FieldError {
            field: "body".into(),
            message: "must be a JSON object".into(),
        }]));
    }
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde names a missing field only in its message: "missing field `x`".
        let field = match message.strip_prefix("missing field `") {
            Some(rest) => rest.trim_end_matches('`').to_owned(),
            None if path == "." => "body".to_owned(),
            None => path,
        };
        ApiError::Validation(vec![FieldError { field, message }])
    })?;
    parsed.validate().map_err(ApiError::from)?;
    Ok(parsed)
}

/// A query string read into `T`. One that does not fit (a parameter given twice,
/// bytes that are not UTF-8) is a 422 like any other invalid field, never axum's
/// bare 400.
pub struct ValidQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match Query::try_from_uri(&parts.uri) {
            Ok(Query(value)) => Ok(ValidQuery(value)),
            Err(rejection) => Err(ApiError::Validation(vec![FieldError {
                field: "query".into(),
                message: rejection.body_text(),
            }])),
        }
    }
}

/// The caller of a Bearer-protected endpoint: a valid access token whose session
/// is still active. Every failure is the same 401.
pub struct AuthUser(pub Caller);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers);
        Ok(AuthUser(state.accounts.authenticate(token).await?))
    }
}

pub use crate::request_headers::bearer_token;

/// Who is calling: the client IP (believing X-Forwarded-For or Forwarded only
/// from trusted proxies) and the user agent, as sessions, the audit trail and
/// the per-IP rate limits use them.
pub struct Client(pub ClientContext);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = peer.map(|peer| request_headers::client_ip(&state.config, peer, &parts.headers));
        let user_agent = request_headers::user_agent(&parts.headers);
        Ok(Client(ClientContext { ip, user_agent }))
    }
}
