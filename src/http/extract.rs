//! Extractors that own their rejections: every failure is a problem+json answer.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;
use validator::Validate;

use super::AppState;
use super::problem::{ApiError, FieldError};
use crate::accounts::{Caller, ClientContext};
use crate::config::ProxyHeader;

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
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        decode_json(&headers, &body).map(|v| OptionalJson(Some(v)))
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
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    decode_value(value)
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

/// The token of an `Authorization: Bearer …` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Who is calling: the client IP (believing X-Forwarded-For or Forwarded only
/// from trusted proxies) and the user agent, as sessions, the audit trail and
/// the per-IP rate limits use them.
pub struct Client(pub ClientContext);

/// Longest user agent kept on a session.
const MAX_USER_AGENT: usize = 512;

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
        let config = &state.config;
        let ip = peer.map(|peer| {
            let chain = forwarded_chain(&parts.headers, config.trusted_proxy_header);
            client_ip(peer, &chain, &config.trusted_proxies)
        });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Ok(Client(ClientContext { ip, user_agent }))
    }
}

/// The socket peer, unless it is a trusted proxy: then, walking the forwarding
/// chain from the right (each trusted proxy appends the address it saw), the
/// first address that is not itself a trusted proxy. Entries left of it were
/// written by the client and are never believed. An entry that is no address
/// (`unknown`, an obfuscated `_name`, garbage) stops the walk at the last
/// trusted hop; a chain of trusted proxies only gives its left-most one.
pub fn client_ip(peer: IpAddr, chain: &[Option<IpAddr>], trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => client = *ip,
            Some(ip) => return *ip,
            None => return client,
        }
    }
    client
}

/// The addresses of the forwarding header trusted proxies write, left to right
/// (`None` for an entry that is not an address). The other header is ignored:
/// a proxy passes on whatever a client put there.
pub fn forwarded_chain(headers: &HeaderMap, which: ProxyHeader) -> Vec<Option<IpAddr>> {
    let values = |name: header::HeaderName| {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("garbage").to_owned())
            .collect::<Vec<_>>()
    };
    match which {
        ProxyHeader::XForwardedFor => values(header::HeaderName::from_static("x-forwarded-for"))
            .iter()
            .flat_map(|v| v.split(',').map(node_ip).collect::<Vec<_>>())
            .collect(),
        ProxyHeader::Forwarded => values(header::FORWARDED)
            .iter()
            .flat_map(|v| split_outside_quotes(v, ',').into_iter().map(forwarded_for))
            .collect(),
    }
}

/// The `for=` node of one RFC 7239 forwarded-element (`for=192.0.2.60;proto=http`,
/// `for="[2001:db8::17]:4711"`), as an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    split_outside_quotes(element, ';')
        .into_iter()
        .find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("for")
                .then(|| node_ip(value.trim().trim_matches('"')))
                .flatten()
        })
}

/// An address as proxies write one: `192.0.2.60`, `192.0.2.60:8080`,
/// `2001:db8::17`, `[2001:db8::17]` or `[2001:db8::17]:4711`.
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    node.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// `s` split at `separator`s that are not inside a quoted string.
fn split_outside_quotes(s: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(name, v.parse().expect("header value"));
        }
        headers
    }

    fn trusted() -> Vec<ipnet::IpNet> {
        vec!["10.0.0.0/8".parse().expect("cidr")]
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let xff = headers("x-forwarded-for", &["6.6.6.6, 1.2.3.4, 10.0.0.7"]);
        let chain = forwarded_chain(&xff, ProxyHeader::XForwardedFor);
        assert_eq!(client_ip(ip("10.0.0.1"), &chain, &trusted()), ip("1.2.3.4"));
        assert_eq!(client_ip(ip("5.5.5.5"), &chain, &trusted()), ip("5.5.5.5"));
        assert_eq!(client_ip(ip("10.0.0.1"), &chain, &[]), ip("10.0.0.1"));
    }

    #[test]
    fn several_header_lines_and_ports_are_one_chain() {
        let xff = headers("x-forwarded-for", &["6.6.6.6", "1.2.3.4:5678, 10.0.0.7"]);
        let chain = forwarded_chain(&xff, ProxyHeader::XForwardedFor);
        assert_eq!(client_ip(ip("10.0.0.1"), &chain, &trusted()), ip("1.2.3.4"));
    }

    #[test]
    fn rfc_7239_forwarded_gives_the_right_most_untrusted_for() {
        let fwd = headers(
            "forwarded",
            &[
                r#"for=6.6.6.6;proto=https, for="[2001:db8:cafe::17]:4711";by=10.0.0.9"#,
                "for=10.0.0.7;host=auth.example",
            ],
        );
        let chain = forwarded_chain(&fwd, ProxyHeader::Forwarded);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted()),
            ip("2001:db8:cafe::17")
        );
        let quoted = headers("forwarded", &[r#"For="192.0.2.60:80";proto=http"#]);
        let chain = forwarded_chain(&quoted, ProxyHeader::Forwarded);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted()),
            ip("192.0.2.60")
        );
        // A stranger's Forwarded changes nothing.
        assert_eq!(client_ip(ip("5.5.5.5"), &chain, &trusted()), ip("5.5.5.5"));
    }

    #[test]
    fn only_the_configured_header_counts() {
        let mut both = headers("forwarded", &["for=7.7.7.7"]);
        both.append("x-forwarded-for", "1.2.3.4".parse().expect("hv"));
        let xff = forwarded_chain(&both, ProxyHeader::XForwardedFor);
        let fwd = forwarded_chain(&both, ProxyHeader::Forwarded);
        assert_eq!(client_ip(ip("10.0.0.1"), &xff, &trusted()), ip("1.2.3.4"));
        assert_eq!(client_ip(ip("10.0.0.1"), &fwd, &trusted()), ip("7.7.7.7"));
    }

    #[test]
    fn an_entry_that_is_no_address_stops_the_walk_at_the_last_trusted_hop() {
        for value in ["1.2.3.4, unknown, 10.0.0.7", "1.2.3.4, _hidden, 10.0.0.7"] {
            let xff = headers("x-forwarded-for", &[value]);
            let chain = forwarded_chain(&xff, ProxyHeader::XForwardedFor);
            assert_eq!(
                client_ip(ip("10.0.0.1"), &chain, &trusted()),
                ip("10.0.0.7")
            );
        }
        let fwd = headers("forwarded", &["for=1.2.3.4, for=unknown"]);
        let chain = forwarded_chain(&fwd, ProxyHeader::Forwarded);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted()),
            ip("10.0.0.1")
        );
        // Only trusted hops: the left-most of them; no header: the peer.
        let xff = headers("x-forwarded-for", &["10.0.0.3, 10.0.0.7"]);
        let chain = forwarded_chain(&xff, ProxyHeader::XForwardedFor);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted()),
            ip("10.0.0.3")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &[], &trusted()), ip("10.0.0.1"));
    }
}
