//! The connection phase: a client's handshake response and SSLRequest, its password proofs,
//! COM_CHANGE_USER bodies, and a server's caching_sha2_password data (as rwsplit logs in to
//! a backend: fast-auth status, or a public key in PEM).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mysql_common::constants::CapabilityFlags;
use rwsplit::protocol::{auth, change_user, handshake};

fuzz_target!(|data: &[u8]| {
    let _ = handshake::parse_login(data);
    let _ = handshake::is_ssl_request(data);
    let scramble = [b'a'; 20];
    for m in [auth::Method::Native, auth::Method::CachingSha2] {
        let _ = auth::verify(m, &scramble, "pw", data);
    }
    let _ = auth::clear_password_matches("pw", data);
    if let [a, b, c, d, rest @ ..] = data {
        let caps = CapabilityFlags::from_bits_truncate(u32::from_le_bytes([*a, *b, *c, *d]));
        let _ = change_user::parse(rest, caps);
    }
    for secure in [false, true] {
        let _ = auth::caching_sha2_step(data, secure, "pw", &scramble);
    }
});
