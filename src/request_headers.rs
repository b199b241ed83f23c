//! What both doors read from request headers alike (HTTP/1.1 headers and
//! gRPC's HTTP/2 metadata are the same `http::HeaderMap`): a Bearer credential,
//! the user agent, and the client address behind trusted proxies.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, header};

use crate::config::{Config, ProxyHeader};

/// Longest user agent kept on a session.
const MAX_USER_AGENT: usize = 512;

/// The client's address: the socket `peer`, or, when the peer is one of
/// TRUSTED_PROXIES, what the forwarding header it writes (TRUSTED_PROXY_HEADER)
/// says about the hops before it.
pub fn client_ip(config: &Config, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let chain = forwarded_chain(headers, config.trusted_proxy_header);
    behind_proxies(peer, &chain, &config.trusted_proxies)
}

/// The `User-Agent`, cut to a length worth keeping on a session.
pub fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT).collect())
}

/// The token of an `Authorization: Bearer …` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The socket peer, unless it is a trusted proxy: then, walking the forwarding
/// chain from the right (each trusted proxy appends the address it saw), the
/// first address that is not itself a trusted proxy. Entries left of it were
/// written by the client and are never believed. An entry that is no address
/// (`unknown`, an obfuscated `_name`, garbage) stops the walk at the last
/// trusted hop; a chain of trusted proxies only gives its left-most one.
fn behind_proxies(peer: IpAddr, chain: &[Option<IpAddr>], trusted: &[ipnet::IpNet]) -> IpAddr {
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
fn forwarded_chain(headers: &HeaderMap, which: ProxyHeader) -> Vec<Option<IpAddr>> {
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
mod properties;

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
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &chain, &trusted()),
            ip("1.2.3.4")
        );
        assert_eq!(
            behind_proxies(ip("5.5.5.5"), &chain, &trusted()),
            ip("5.5.5.5")
        );
        assert_eq!(behind_proxies(ip("10.0.0.1"), &chain, &[]), ip("10.0.0.1"));
    }

    #[test]
    fn several_header_lines_and_ports_are_one_chain() {
        let xff = headers("x-forwarded-for", &["6.6.6.6", "1.2.3.4:5678, 10.0.0.7"]);
        let chain = forwarded_chain(&xff, ProxyHeader::XForwardedFor);
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &chain, &trusted()),
            ip("1.2.3.4")
        );
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
            behind_proxies(ip("10.0.0.1"), &chain, &trusted()),
            ip("2001:db8:cafe::17")
        );
        let quoted = headers("forwarded", &[r#"For="192.0.2.60:80";proto=http"#]);
        let chain = forwarded_chain(&quoted, ProxyHeader::Forwarded);
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &chain, &trusted()),
            ip("192.0.2.60")
        );
        // A stranger's Forwarded changes nothing.
        assert_eq!(
            behind_proxies(ip("5.5.5.5"), &chain, &trusted()),
            ip("5.5.5.5")
        );
    }

    #[test]
    fn only_the_configured_header_counts() {
        let mut both = headers("forwarded", &["for=7.7.7.7"]);
        both.append("x-forwarded-for", "1.2.3.4".parse().expect("hv"));
        let xff = forwarded_chain(&both, ProxyHeader::XForwardedFor);
        let fwd = forwarded_chain(&both, ProxyHeader::Forwarded);
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &xff, &trusted()),
            ip("1.2.3.4")
        );
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &fwd, &trusted()),
            ip("7.7.7.7")
        );
    }

    #[test]
    fn an_entry_that_is_no_address_stops_the_walk_at_the_last_trusted_hop() {
        for value in ["1.2.3.4, unknown, 10.0.0.7", "1.2.3.4, _hidden, 10.0.0.7"] {
            let xff = headers("x-forwarded-for", &[value]);
            let chain = forwarded_chain(&xff, ProxyHeader::XForwardedFor);
            assert_eq!(
                behind_proxies(ip("10.0.0.1"), &chain, &trusted()),
                ip("10.0.0.7")
            );
        }
        let fwd = headers("forwarded", &["for=1.2.3.4, for=unknown"]);
        let chain = forwarded_chain(&fwd, ProxyHeader::Forwarded);
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &chain, &trusted()),
            ip("10.0.0.1")
        );
        // Only trusted hops: the left-most of them; no header: the peer.
        let xff = headers("x-forwarded-for", &["10.0.0.3, 10.0.0.7"]);
        let chain = forwarded_chain(&xff, ProxyHeader::XForwardedFor);
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &chain, &trusted()),
            ip("10.0.0.3")
        );
        assert_eq!(
            behind_proxies(ip("10.0.0.1"), &[], &trusted()),
            ip("10.0.0.1")
        );
    }
}
