//! Parsers of configuration values: each error says what a good value looks
//! like; clap adds the variable's name.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use super::{BindAddr, DatabaseUrl, GrpcPort, Mode, ProxyHeader, Quota};

pub(super) fn parse_database_url(s: &str) -> Result<DatabaseUrl, String> {
    let s = s.trim();
    let (scheme, rest) = s.split_once(':').unwrap_or((s, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Ok(DatabaseUrl::Postgres(s.to_owned())),
        "sqlite" => {
            // sqlite://relative/path, sqlite:///absolute/path, sqlite:path
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path.starts_with(':') {
                return Err("give a file path, like sqlite://data/auth.db".into());
            }
            Ok(DatabaseUrl::Sqlite(path.into()))
        }
        _ => Err(format!(
            "`{scheme}` databases are not supported: use postgres://… or sqlite://PATH, \
             or leave DATABASE_URL unset for an embedded SQLite file"
        )),
    }
}

/// `15m`, `30d`, `10s`, `1h 30m` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("{e} (write a duration like 15m, 30d, 10s, or plain seconds)"))
}

pub(super) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!("`{other}` is not a boolean (use true or false)")),
    }
}

pub(super) fn parse_env_mode(s: &str) -> Result<Mode, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "development" | "dev" => Ok(Mode::Development),
        "production" | "prod" => Ok(Mode::Production),
        other => Err(format!("`{other}` is neither development nor production")),
    }
}

pub(super) fn parse_bind_addr(s: &str) -> Result<BindAddr, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(BindAddr::Ip(ip));
    }
    s.parse::<SocketAddr>()
        .map(BindAddr::Socket)
        .map_err(|_| format!("`{s}` is neither an IP address nor IP:PORT"))
}

pub(super) fn parse_grpc_port(s: &str) -> Result<GrpcPort, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(GrpcPort(None));
    }
    s.parse::<u16>()
        .map(|port| GrpcPort(Some(port)))
        .map_err(|_| format!("`{s}` is neither a port (0-65535) nor off"))
}

pub(super) fn parse_base_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| e.to_string())?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("scheme `{other}` is not http or https")),
    }
}

pub(super) fn parse_smtp_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| e.to_string())?;
    match url.scheme() {
        "smtp" | "smtps" => Ok(url),
        other => Err(format!("scheme `{other}` is not smtp or smtps")),
    }
}

pub(super) fn parse_mailbox(s: &str) -> Result<lettre::message::Mailbox, String> {
    s.trim().parse().map_err(|e| format!("{e}"))
}

pub(super) fn parse_origin(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s == "*" {
        return Ok(s.to_owned());
    }
    let url = Url::parse(s).map_err(|e| format!("`{s}`: {e}"))?;
    // A URL without a host (`file:///`, `data:…`, a custom scheme) has an
    // opaque origin, which serialises as `null`: allowing it would let any
    // sandboxed frame or local file call with credentials.
    if url.path() != "/" || url.query().is_some() || !url.origin().is_tuple() {
        return Err(format!(
            "`{s}` is not an origin (scheme://host[:port], no path)"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

pub(super) fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not a CIDR (like 10.0.0.0/8) or an IP address"))
}

/// `N/UNIT`: `10/min`, `5/hour`, `1000/day`, `3/s`, or a duration such as `10/15m`.
pub(super) fn parse_quota(s: &str) -> Result<Quota, String> {
    let s = s.trim();
    let hint = "write a quota like 10/min, 5/hour, 1000/day or 10/15m";
    let (count, per) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not a quota ({hint})"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("`{count}` is not a whole number of requests ({hint})"))?;
    if count == 0 {
        return Err(format!(
            "a quota of 0 allows nothing ({hint}; RATE_LIMIT=off disables limits)"
        ));
    }
    let per = per.trim();
    // A bare unit is one of it: `min` is `1min`.
    let window = if per.starts_with(|c: char| c.is_ascii_digit()) {
        parse_duration(per)
    } else {
        humantime::parse_duration(&format!("1{per}")).map_err(|e| e.to_string())
    }
    .map_err(|_| format!("`{per}` is not a time unit or duration ({hint})"))?;
    if window.is_zero() {
        return Err(format!("the window of `{s}` is zero ({hint})"));
    }
    if window > Duration::from_secs(366 * 86_400) {
        return Err(format!(
            "the window of `{s}` is longer than a year ({hint})"
        ));
    }
    Ok(Quota { count, window })
}

pub(super) fn parse_redis_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| e.to_string())?;
    match url.scheme() {
        "redis" | "rediss" | "redis+unix" | "unix" => Ok(url),
        other => Err(format!(
            "scheme `{other}` is not redis or rediss (like redis://127.0.0.1:6379)"
        )),
    }
}

pub(super) fn parse_key_prefix(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 100 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("give 1 to 100 characters without spaces, like auth-service".into());
    }
    Ok(s.to_owned())
}

pub(super) fn parse_proxy_header(s: &str) -> Result<ProxyHeader, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "x-forwarded-for" => Ok(ProxyHeader::XForwardedFor),
        "forwarded" => Ok(ProxyHeader::Forwarded),
        other => Err(format!(
            "`{other}` is neither x-forwarded-for nor forwarded"
        )),
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_plain_seconds() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn grpc_port_is_a_port_or_off() {
        assert_eq!(parse_grpc_port("50051"), Ok(GrpcPort(Some(50051))));
        assert_eq!(parse_grpc_port(" OFF "), Ok(GrpcPort(None)));
        assert!(parse_grpc_port("65536").is_err());
        assert!(parse_grpc_port("no").is_err());
    }

    #[test]
    fn database_urls_choose_the_backend() {
        let sqlite = |s: &str| match parse_database_url(s) {
            Ok(DatabaseUrl::Sqlite(p)) => p,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            sqlite("sqlite://data/auth.db"),
            std::path::Path::new("data/auth.db")
        );
        assert_eq!(
            sqlite("sqlite:///var/lib/auth.db"),
            std::path::Path::new("/var/lib/auth.db")
        );
        assert_eq!(
            sqlite("sqlite:auth.db?mode=rwc"),
            std::path::Path::new("auth.db")
        );
        assert!(matches!(
            parse_database_url("postgresql://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(parse_database_url("mysql://u@h/db").is_err());
        assert!(parse_database_url("sqlite::memory:").is_err());
    }

    #[test]
    fn origins_without_a_host_are_refused() {
        assert_eq!(
            parse_origin("https://app.example:8443/"),
            Ok("https://app.example:8443".to_owned())
        );
        for opaque in ["a:///", "file:///", "chrome-extension://abc", "null"] {
            assert!(parse_origin(opaque).is_err(), "{opaque}");
        }
    }

    #[test]
    fn quotas_read_a_count_per_unit_or_duration() {
        let quota = |s: &str| parse_quota(s).map(|q| (q.count, q.window.as_secs()));
        assert_eq!(quota("10/min"), Ok((10, 60)));
        assert_eq!(quota(" 5 / hour "), Ok((5, 3600)));
        assert_eq!(quota("1000/day"), Ok((1000, 86_400)));
        assert_eq!(quota("3/s"), Ok((3, 1)));
        assert_eq!(quota("10/15m"), Ok((10, 900)));
        assert_eq!(quota("10/90"), Ok((10, 90)));
        for bad in [
            "10",
            "0/min",
            "-1/min",
            "ten/min",
            "10/fortnight",
            "10/0s",
            "/min",
            "10/",
        ] {
            assert!(parse_quota(bad).is_err(), "{bad} must not parse");
        }
    }
}
