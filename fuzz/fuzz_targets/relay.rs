//! The result-set relay state machine: a server's answer to any kind of command, with any
//! capabilities (MariaDB's MARIADB_CLIENT_CACHE_METADATA too, with the column
//! definitions fingerprinted or not), arriving in chunks of any size. It never asks to forward bytes it has
//! not seen, and it ends or errs instead of panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mysql_common::constants::CapabilityFlags;
use rwsplit::protocol::response::{Event, Expect, Scanner};

fuzz_target!(|data: &[u8]| {
    let [which, chunk, a, b, c, d, input @ ..] = data else {
        return;
    };
    let caps = CapabilityFlags::from_bits_truncate(u32::from_le_bytes([*a, *b, *c, *d]));
    let expect = Expect::ALL[usize::from(*which & 0x3F) % Expect::ALL.len()];
    let mut s = Scanner::new(expect, caps).with_cache_metadata(*which & 0x40 != 0);
    if *which & 0x80 != 0 {
        s = s.fingerprint();
    }
    let mut buf: Vec<u8> = Vec::new();
    for piece in input.chunks(usize::from(*chunk).max(1)) {
        buf.extend_from_slice(piece);
        match s.feed(&buf) {
            Ok(Event::More { forward }) | Ok(Event::LocalInfile { forward }) => {
                assert!(forward <= buf.len());
                buf.drain(..forward);
            }
            Ok(Event::Done { forward }) => {
                assert!(forward <= buf.len());
                return;
            }
            Err(_) => return,
        }
    }
});
