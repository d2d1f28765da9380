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

/// True when a password a client sent in clear (full authentication) is `password`;
/// a terminating NUL is ignored.
pub fn clear_password_matches(password: &str, given: &[u8]) -> bool {
    let given = given.strip_suffix(&[0]).unwrap_or(given);
    constant_time_eq(password.as_bytes(), given)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// caching_sha2_password: a client's request for the server's RSA public key.
pub const REQUEST_PUBLIC_KEY: u8 = 0x02;

/// What a client logging in with caching_sha2_password does with the server's
/// AuthMoreData packet (`data`: its payload after the 0x01 status byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sha2Step {
    /// Fast authentication succeeded: the OK follows.
    AwaitOk,
    /// Send this payload and read on.
    Send(Vec<u8>),
}

/// The client's side of caching_sha2_password after its scramble: fast auth OK → wait;
/// full authentication → the password in clear on a secure (TLS) channel, otherwise ask
/// for the public key; the public key → the password RSA-encrypted under it.
/// `scramble` is the server's 20-byte nonce.
pub fn caching_sha2_step(
    data: &[u8],
    secure: bool,
    password: &str,
    scramble: &[u8],
) -> Result<Sha2Step, super::rsa::RsaError> {
    match data {
        [FAST_AUTH_OK] => Ok(Sha2Step::AwaitOk),
        [FULL_AUTH] if secure => {
            let mut clear = password.as_bytes().to_vec();
            clear.push(0);
            Ok(Sha2Step::Send(clear))
        }
        [FULL_AUTH] => Ok(Sha2Step::Send(vec![REQUEST_PUBLIC_KEY])),
        pem if pem.starts_with(b"-----BEGIN") => Ok(Sha2Step::Send(super::rsa::encrypt_password(
            password.as_bytes(),
            scramble,
            pem,
        )?)),
        _ => Err(super::rsa::RsaError::BadKey(
            "unexpected caching_sha2_password data from the server".into(),
        )),
    }
}
