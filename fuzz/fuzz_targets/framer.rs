//! The packet framer: any bytes, any limit; a frame found lies within the input and its
//! payload has the length it claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwsplit::protocol::packet;

fuzz_target!(|data: &[u8]| {
    let (max, bytes) = match data {
        [a, b, c, rest @ ..] => (
            usize::from(*a) | usize::from(*b) << 8 | usize::from(*c) << 16,
            rest,
        ),
        _ => (1024, data),
    };
    if let Ok(Some(f)) = packet::frame(bytes, max) {
        assert!(f.total <= bytes.len());
        let payload = packet::payload_of(&bytes[..f.total], &f);
        assert_eq!(payload.len(), f.payload_len);
    }
    let _ = packet::header(bytes);
});
