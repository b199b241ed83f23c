//! The rules of authentication: passwords, access tokens, opaque tokens and
//! session lifetimes. Knows nothing about HTTP or SQL.

pub mod jwt;
pub mod password;
pub mod session;
pub mod tokens;
