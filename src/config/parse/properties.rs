//! Properties of the configuration parsers: any string gets a value or an
//! error (never a panic), and a value written the documented way reads back
//! as itself.

use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;

/// Every parser of this module, on one string (the results are dropped: only
/// a panic fails).
fn parse_everything(s: &str) {
    let _ = parse_database_url(s);
    let _ = parse_duration(s);
    let _ = parse_bool(s);
    let _ = parse_env_mode(s);
    let _ = parse_bind_addr(s);
    let _ = parse_grpc_port(s);
    let _ = parse_base_url(s);
    let _ = parse_smtp_url(s);
    let _ = parse_mailbox(s);
    let _ = parse_origin(s);
    let _ = parse_cidr(s);
    let _ = parse_quota(s);
    let _ = parse_redis_url(s);
    let _ = parse_key_prefix(s);
    let _ = parse_proxy_header(s);
}

/// Strings close to what the parsers take: numbers, units, separators.
fn config_like() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[ 0-9]{0,25}[a-zA-Z]{0,6}",
        "[0-9]{0,25}/[ 0-9]{0,25}[a-zA-Z ]{0,8}",
        "([0-9]{1,22}[a-zA-Z]{1,6} ?){1,4}",
        "[a-z+]{0,10}:(//)?[ -~]{0,30}",
        "[0-9a-f:.\\[\\]/%]{0,45}",
    ]
}

/// Units a quota may name, and their length.
const UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("m", 60),
    ("min", 60),
    ("minute", 60),
    ("h", 3_600),
    ("hour", 3_600),
    ("hr", 3_600),
    ("d", 86_400),
    ("day", 86_400),
];

/// Durations humantime can write: whole seconds up to far beyond any setting,
/// or seconds and a fraction.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..=10_000_000_000).prop_map(Duration::from_secs),
        (0u64..=1_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_string_makes_a_parser_panic(s in config_like()) {
        parse_everything(&s);
    }

    #[test]
    fn plain_seconds_read_back(secs in any::<u64>(), pad in "[ \t]{0,2}") {
        prop_assert_eq!(parse_duration(&format!("{pad}{secs}{pad}")), Ok(Duration::from_secs(secs)));
    }

    #[test]
    fn written_durations_read_back(d in duration()) {
        let written = humantime::format_duration(d).to_string();
        prop_assert_eq!(parse_duration(&written), Ok(d), "{}", written);
    }

    /// `N/UNIT`: read back exactly, with spaces around either part.
    #[test]
    fn quotas_per_unit_read_back(
        count in 1..=u32::MAX,
        (unit, secs) in proptest::sample::select(UNITS),
        spaces in "[ ]{0,2}",
    ) {
        let written = format!("{spaces}{count}{spaces}/{spaces}{unit}{spaces}");
        let expected = Quota { count, window: Duration::from_secs(secs) };
        prop_assert_eq!(parse_quota(&written), Ok(expected));
    }

    /// `N/DURATION`: read back for any window from a second to a year, and
    /// refused beyond a year.
    #[test]
    fn quotas_per_duration_read_back_up_to_a_year(
        count in 1..=u32::MAX,
        window in (1u64..=400 * 86_400).prop_map(Duration::from_secs),
    ) {
        let written = format!("{count}/{}", humantime::format_duration(window));
        let parsed = parse_quota(&written);
        if window <= Duration::from_secs(366 * 86_400) {
            prop_assert_eq!(parsed, Ok(Quota { count, window }));
        } else {
            prop_assert!(parsed.is_err());
        }
    }

    #[test]
    fn zero_requests_or_a_zero_window_is_refused(
        unit in proptest::sample::select(UNITS),
        count in 1..=u32::MAX,
    ) {
        for written in [format!("0/{}", unit.0), format!("{count}/0s"), format!("{count}/0")] {
            let parsed = parse_quota(&written);
            prop_assert!(parsed.is_err(), "{} gave {:?}", written, parsed);
        }
    }

    #[test]
    fn ports_and_addresses_read_back(port in any::<u16>(), ip in any::<IpAddr>()) {
        prop_assert_eq!(parse_grpc_port(&port.to_string()), Ok(GrpcPort(Some(port))));
        prop_assert!(matches!(parse_bind_addr(&ip.to_string()), Ok(BindAddr::Ip(i)) if i == ip));
        let socket = SocketAddr::new(ip, port);
        prop_assert!(matches!(parse_bind_addr(&socket.to_string()), Ok(BindAddr::Socket(s)) if s == socket));
        prop_assert_eq!(parse_cidr(&ip.to_string()), Ok(IpNet::from(ip)));
    }

    #[test]
    fn networks_read_back(net in any::<IpAddr>().prop_flat_map(|ip| {
        let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
        (Just(ip), 0..=max)
    })) {
        let net = IpNet::new(net.0, net.1).expect("prefix within the family");
        prop_assert_eq!(parse_cidr(&net.to_string()), Ok(net));
    }

    /// An origin, once read, reads back as itself.
    #[test]
    fn origins_are_stable(s in prop_oneof![
        "https?://[a-zA-Z0-9.-]{1,20}(:[0-9]{1,5})?/?",
        "[a-z]{1,6}://[ -~]{0,20}",
    ]) {
        if let Ok(origin) = parse_origin(&s) {
            prop_assert_eq!(parse_origin(&origin), Ok(origin.clone()));
        }
    }
}
