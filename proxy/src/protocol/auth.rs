//! Checking a client's proof of its password against rwsplit's scramble.

use mysql_common::scramble::{scramble_native, scramble_sha256};

pub const NATIVE: &[u8] = b"mysql_native_password";
pub const CACHING_SHA2: &[u8] = b"caching_sha2_password";

/// caching_sha2_password: "fast authentication succeeded" (sent in an AuthMoreData packet).
pub const FAST_AUTH_OK: u8 = 0x03;
/// caching_sha2_password: "perform full authentication".
pub const FULL_AUTH: u8 = 0x04;

/// Which password proofs rwsplit checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Native,
    CachingSha2,
}

impl Method {
    pub fn from_plugin(name: &[u8]) -> Option<Method> {
        match name {
            NATIVE => Some(Method::Native),
            CACHING_SHA2 => Some(Method::CachingSha2),
            _ => None,
        }
    }
}

/// True when `response` proves knowledge of `password` for `scramble`.
pub fn verify(method: Method, scramble: &[u8; 20], password: &str, response: &[u8]) -> bool {
    if password.is_empty() {
        return response.is_empty();
    }
    let expected: Option<Vec<u8>> = match method {
        Method::Native => scramble_native(scramble, password.as_bytes()).map(|x| x.to_vec()),
        Method::CachingSha2 => scramble_sha256(scramble, password.as_bytes()).map(|x| x.to_vec()),
    };
    match expected {
        Some(e) => constant_time_eq(&e, response),
        None => false,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
