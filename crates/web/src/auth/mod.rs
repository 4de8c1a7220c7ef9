//! Authentication: the session middleware (cookie → session → user and active role), the CSRF
//! check on every state-changing request, and the extractors handlers use.

pub mod cookies;
pub mod user;

pub use crate::middleware::session::{RequestCtx, SessionInfo};
pub use user::CurrentUser;

/// 32 random bytes, hex-encoded: session tokens, CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("OS randomness");
    hex::encode(bytes)
}

/// What the database stores for a session token: its SHA-256, never the token itself.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares secrets in constant time (the length is not secret: tokens have a fixed one).
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}
