//! Every decoder of bytes a client or a server sends, fed arbitrary input (proptest,
//! stable Rust; `cargo fuzz` would need nightly): none panics, each answers a value or an
//! error. Inputs are random bytes and mutations of valid packets (bit flips, truncation,
//! lengths changed), so the checks reach past the first length check.

use mysql_common::constants::CapabilityFlags;
use proptest::prelude::*;
use rwsplit::classify::Classifier;
use rwsplit::protocol::response::{Expect, Scanner};
use rwsplit::protocol::{auth, change_user, command, execute, handshake, metadata, packet};

fn caps(bits: u32) -> CapabilityFlags {
    CapabilityFlags::from_bits_truncate(bits)
}

/// A valid handshake response, for mutation.
fn login_packet() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&0x00ae_a685u32.to_le_bytes()); // caps incl. PROTOCOL_41, PLUGIN_AUTH
    p.extend_from_slice(&(16u32 << 20).to_le_bytes());
    p.push(45);
    p.extend_from_slice(&[0u8; 23]);
    p.extend_from_slice(b"app\0");
    p.push(20);
    p.extend_from_slice(&[7u8; 20]);
    p.extend_from_slice(b"db\0mysql_native_password\0");
    p
}

/// A result set (column count, one definition, EOF, one row, EOF), framed.
fn result_set() -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |payload: &[u8], seq: u8| {
        out.extend_from_slice(&packet::packets(payload, seq));
    };
    push(&[1], 1);
    let mut def = Vec::new();
    for s in ["def", "db", "t", "t", "c", "c"] {
        def.push(s.len() as u8);
        def.extend_from_slice(s.as_bytes());
    }
    def.extend_from_slice(&[0x0c, 45, 0, 11, 0, 0, 0, 3, 0, 0, 0, 0, 0]);
    push(&def, 2);
    push(&[0xfe, 0, 0, 2, 0], 3);
    push(&[1, b'1'], 4);
    push(&[0xfe, 0, 0, 2, 0], 5);
    out
}

fn mutate(mut v: Vec<u8>, edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    for (at, x) in edits {
        if !v.is_empty() {
            let i = at % v.len();
            v[i] ^= x;
        }
    }
    v.truncate(v.len().saturating_sub(cut % 8));
    v
}

/// `bits`: the capabilities; `meta`: bit 0 MARIADB_CLIENT_CACHE_METADATA, bit 1 the
/// column definitions fingerprinted.
fn scan_all(expect: Expect, bits: u32, meta: u8, input: &[u8], chunk: usize) {
    let mut s = Scanner::new(expect, caps(bits)).with_cache_metadata(meta & 1 != 0);
    if meta & 2 != 0 {
        s = s.fingerprint();
    }
    let mut buf: Vec<u8> = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        match s.feed(&buf) {
            Ok(rwsplit::protocol::response::Event::More { forward })
            | Ok(rwsplit::protocol::response::Event::LocalInfile { forward }) => {
                assert!(forward <= buf.len());
                buf.drain(..forward);
            }
            Ok(rwsplit::protocol::response::Event::Done { forward }) => {
                assert!(forward <= buf.len());
                return;
            }
            Err(_) => return,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn framing(bytes in proptest::collection::vec(any::<u8>(), 0..300), max in 0usize..70_000) {
        if let Ok(Some(f)) = packet::frame(&bytes, max) {
            prop_assert!(f.total <= bytes.len());
            let payload = packet::payload_of(&bytes[..f.total], &f);
            prop_assert_eq!(payload.len(), f.payload_len);
        }
        let _ = packet::header(&bytes);
    }

    #[test]
    fn handshake_responses(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                           edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
                           cut in any::<usize>()) {
        let _ = handshake::parse_login(&bytes);
        let _ = handshake::is_ssl_request(&bytes);
        let mutated = mutate(login_packet(), &edits, cut);
        let _ = handshake::parse_login(&mutated);
        let _ = handshake::is_ssl_request(&mutated);
    }

    #[test]
    fn auth_responses(bytes in proptest::collection::vec(any::<u8>(), 0..64), pw in ".{0,12}") {
        let scramble = [b'a'; 20];
        for m in [auth::Method::Native, auth::Method::CachingSha2] {
            let _ = auth::verify(m, &scramble, &pw, &bytes);
        }
    }

    #[test]
    fn commands(bytes in proptest::collection::vec(any::<u8>(), 0..200), bits in any::<u32>(),
                params in any::<u16>()) {
        let _ = command::parse(&bytes);
        let _ = change_user::parse(&bytes, caps(bits));
        if let Ok(layout) = execute::execute_layout(&bytes, params) {
            let types = vec![0u8; 2 * usize::from(params.min(64))];
            let _ = execute::execute_for_backend(&bytes, &layout, 7, Some(&types));
        }
    }

    #[test]
    fn answers(bytes in proptest::collection::vec(any::<u8>(), 0..400), bits in any::<u32>(),
               which in 0usize..6, chunk in 1usize..40,
               edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
               cut in any::<usize>(), meta in 0u8..4) {
        scan_all(Expect::ALL[which], bits, meta, &bytes, chunk);
        scan_all(Expect::ALL[which], bits, meta, &mutate(result_set(), &edits, cut), chunk);
    }

    #[test]
    fn column_definitions_put_back(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                                   defs in proptest::collection::vec(
                                       proptest::collection::vec(any::<u8>(), 0..40), 0..4),
                                   cut in 0usize..200, shift in 0usize..300) {
        let _ = metadata::with_columns(&bytes, &defs);
        let _ = metadata::prepare_columns(&bytes, cut % 2 == 0);
        let mut chunk = bytes.clone();
        let mut r = metadata::Renumber::new(shift);
        let (a, b) = chunk.split_at_mut(cut.min(bytes.len()));
        r.apply(a);
        r.apply(b);
    }

    #[test]
    fn statements(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in "\\PC{0,120}") {
        let c = Classifier::new(64);
        let _ = c.classify(&bytes);
        let _ = c.classify(text.as_bytes());
    }
}
