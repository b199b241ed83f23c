//! The typed values of settings that are more than a number, a duration or a
//! string: what the parsers in `parse.rs` produce.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Where the data lives, as chosen by DATABASE_URL.
#[derive(Clone, Debug)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(std::path::PathBuf),
}

/// Listening address: either just an IP (PORT gives the port) or a full socket address.
#[derive(Clone, Copy, Debug)]
pub enum BindAddr {
    Ip(IpAddr),
    Socket(SocketAddr),
}

/// The gRPC port, or `None` when GRPC_PORT is `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrpcPort(pub Option<u16>);

/// Which forwarding header trusted proxies write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyHeader {
    XForwardedFor,
    Forwarded,
}

/// A rate-limit budget: `count` requests per `window`, refilled evenly (one every
/// `window / count`), so at most `count` in any burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub count: u32,
    pub window: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

/// A string that never shows in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}
