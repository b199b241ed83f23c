//! The primitives the flows are built from, exactly as the service runs them,
//! for `bench/` (criterion micro-benchmarks and the baselines of `make bench`):
//! argon2id on a reused buffer, Ed25519 access tokens, and the refresh-token
//! codec (random token, successor, SHA-256 digest, shape check).

use argon2::Params;
use argon2::password_hash::phc::PasswordHash;

pub use super::auth_method::AuthMethod;
pub use super::crypto::argon2_buffer::HashMemory;
pub use super::crypto::{JwtKeys, OpaqueToken, SigningKey, TokenHash, looks_like_token};

/// argon2id parameters (memory in KiB, iterations, lanes), as the service builds them.
pub fn argon2_params(m_cost: u32, t_cost: u32, p_cost: u32) -> anyhow::Result<Params> {
    Params::new(m_cost, t_cost, p_cost, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))
}

/// A PHC string of `password` with a fresh salt, as registration stores it.
pub fn hash_password(
    params: &Params,
    password: &[u8],
    memory: &mut HashMemory,
) -> anyhow::Result<String> {
    super::crypto::argon2_buffer::hash(params, password, memory)
}

/// Whether `password` matches the PHC string `stored`, as a login checks it.
pub fn verify_password(stored: &str, password: &[u8], memory: &mut HashMemory) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|parsed| super::crypto::argon2_buffer::matches(&parsed, password, memory))
}
