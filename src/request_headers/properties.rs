//! Properties of what is read from request headers (HTTP headers and gRPC
//! metadata alike): any bytes a client may send are read without a panic, and
//! addresses written the ways proxies write them read back.

use std::net::{Ipv4Addr, Ipv6Addr};

use http::HeaderValue;
use proptest::prelude::*;

use super::*;

/// Any bytes a header value may hold: visible ASCII, space, tab, and
/// obs-text (bytes from 0x80), which `to_str` refuses.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    // Control bytes (which no header value holds) become tabs.
    let allowed = |b: u8| if b < 0x20 || b == 0x7f { b'\t' } else { b };
    let text = "[ -~]{0,700}".prop_map(String::into_bytes);
    let bytes = prop::collection::vec(any::<u8>(), 0..700);
    prop_oneof![text, bytes].prop_map(move |bytes| {
        let bytes: Vec<u8> = bytes.into_iter().map(allowed).collect();
        HeaderValue::from_bytes(&bytes).expect("header bytes")
    })
}

/// How one proxy wrote a client address into its forwarding header.
#[derive(Debug, Clone)]
enum Node {
    Bare,
    WithPort(u16),
    Bracketed,
    BracketedWithPort(u16),
}

fn node() -> impl Strategy<Value = (IpAddr, Node)> {
    let style = prop_oneof![
        Just(Node::Bare),
        any::<u16>().prop_map(Node::WithPort),
        Just(Node::Bracketed),
        any::<u16>().prop_map(Node::BracketedWithPort),
    ];
    (any::<IpAddr>(), style)
}

/// `ip` as `style` writes it (a bare IPv4 address cannot be bracketed).
fn written(ip: IpAddr, style: &Node) -> String {
    match (ip, style) {
        (IpAddr::V4(v4), Node::Bare | Node::Bracketed) => v4.to_string(),
        (IpAddr::V4(v4), Node::WithPort(port) | Node::BracketedWithPort(port)) => {
            format!("{v4}:{port}")
        }
        (IpAddr::V6(v6), Node::Bare) => v6.to_string(),
        (IpAddr::V6(v6), Node::Bracketed) => format!("[{v6}]"),
        (IpAddr::V6(v6), Node::WithPort(port) | Node::BracketedWithPort(port)) => {
            format!("[{v6}]:{port}")
        }
    }
}

/// `values` as lines of one header, cut into lines after the entries `cuts`
/// names (a proxy may append a line of its own rather than extend one).
fn header_lines(name: &'static str, values: &[String], cuts: &[bool]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut line = Vec::new();
    for (value, cut) in values
        .iter()
        .zip(cuts.iter().chain(std::iter::repeat(&false)))
    {
        line.push(value.clone());
        if *cut {
            headers.append(name, line.join(", ").parse().expect("value"));
            line.clear();
        }
    }
    if !line.is_empty() {
        headers.append(name, line.join(", ").parse().expect("value"));
    }
    headers
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn user_agents_are_kept_cut_and_only_as_text(value in header_value()) {
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, value.clone());
        match (user_agent(&headers), value.to_str()) {
            (Some(kept), Ok(text)) => {
                prop_assert!(text.starts_with(&kept));
                prop_assert_eq!(kept.chars().count(), text.chars().count().min(MAX_USER_AGENT));
            }
            (None, Err(_)) => {}
            (kept, text) => prop_assert!(false, "{:?} from {:?}", kept, text),
        }
    }

    #[test]
    fn a_bearer_token_is_what_follows_the_scheme(
        value in header_value(),
        scheme in "[bB][eE][aA][rR][eE][rR]",
        token in "[!-~]{1,100}",
        space in "[ \t]{0,2}",
    ) {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.clone());
        if let Some(token) = bearer_token(&headers) {
            let text = value.to_str().expect("text");
            prop_assert!(text.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("bearer ")));
            prop_assert_eq!(token, text[7..].trim());
        }
        let written = format!("{scheme} {space}{token}{space}");
        headers.insert(header::AUTHORIZATION, written.parse().expect("value"));
        prop_assert_eq!(bearer_token(&headers), Some(token.as_str()));
    }

    /// Any forwarding headers from any peer: the client is the peer, or an
    /// address the header named, and only a trusted peer's header counts.
    #[test]
    fn any_forwarding_header_names_the_peer_or_one_of_its_addresses(
        lines in prop::collection::vec(prop_oneof![
            header_value(),
            "([ ,;=\"\\[\\]]|for|For|unknown|_x|[0-9a-f.:]{1,12}){0,12}"
                .prop_map(|s| HeaderValue::from_str(&s).expect("value")),
        ], 0..4),
        peer in prop_oneof![Just(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))), any::<IpAddr>()],
        forwarded in any::<bool>(),
    ) {
        let (name, which) = if forwarded {
            (header::FORWARDED, ProxyHeader::Forwarded)
        } else {
            (header::HeaderName::from_static("x-forwarded-for"), ProxyHeader::XForwardedFor)
        };
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(name.clone(), line);
        }
        let chain = forwarded_chain(&headers, which);
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let client = behind_proxies(peer, &chain, &trusted);
        prop_assert!(client == peer || chain.contains(&Some(client)));
        if !trusted[0].contains(&peer) {
            prop_assert_eq!(client, peer);
        }
    }

    /// Addresses as proxies write them (with ports, brackets, quotes, other
    /// parameters, over several lines) read back in order.
    #[test]
    fn forwarded_addresses_read_back(
        nodes in prop::collection::vec(node(), 1..6),
        cuts in prop::collection::vec(any::<bool>(), 0..6),
        proto in proptest::option::of("(http|https)"),
    ) {
        let expected: Vec<Option<IpAddr>> = nodes.iter().map(|(ip, _)| Some(*ip)).collect();
        let xff: Vec<String> = nodes.iter().map(|(ip, style)| written(*ip, style)).collect();
        let headers = header_lines("x-forwarded-for", &xff, &cuts);
        prop_assert_eq!(forwarded_chain(&headers, ProxyHeader::XForwardedFor), expected.clone());

        let elements: Vec<String> = nodes
            .iter()
            .map(|(ip, style)| {
                let node = written(*ip, style);
                let node = if node.contains([':', '[']) { format!("\"{node}\"") } else { node };
                match &proto {
                    Some(proto) => format!("proto={proto};For={node};by=\"_hidden\""),
                    None => format!("for={node}"),
                }
            })
            .collect();
        let headers = header_lines("forwarded", &elements, &cuts);
        prop_assert_eq!(forwarded_chain(&headers, ProxyHeader::Forwarded), expected);
    }

    /// Behind trusted proxies, the right-most untrusted hop is the client.
    #[test]
    fn the_right_most_untrusted_hop_is_the_client(
        spoofed in prop::collection::vec(any::<IpAddr>(), 0..3),
        client in any::<Ipv6Addr>(),
        proxies in prop::collection::vec(any::<u32>(), 0..3),
    ) {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let proxy = |n: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)));
        let chain: Vec<Option<IpAddr>> = spoofed
            .into_iter()
            .chain([IpAddr::V6(client)])
            .chain(proxies.into_iter().map(proxy))
            .map(Some)
            .collect();
        prop_assert_eq!(behind_proxies(proxy(1), &chain, &trusted), IpAddr::V6(client));
    }
}
