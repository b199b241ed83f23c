//! The primitives the flows are built from: argon2id password hashing, Ed25519
//! access tokens, and opaque tokens stored only as hashes. No I/O but the
//! hashing threads.

mod access_tokens;
pub(super) mod argon2_buffer;
mod hashing_threads;
pub mod imported_hashes;
pub mod one_time_codes;
mod opaque_tokens;
mod password_hasher;

pub use access_tokens::{Claims, IssuedToken, JwtKeys, PublicKey, SigningKey, TokenError};
pub use opaque_tokens::{OpaqueToken, TokenHash, looks_like_token};
pub use password_hasher::{HashError, PasswordHasherPool, Verified};
