//! OK packets rwsplit writes itself (COM_PING answered locally, auth results).

use mysql_common::io::WriteMysqlExt;

/// An OK packet payload.
pub fn ok_payload(affected_rows: u64, last_insert_id: u64, status: u16, warnings: u16) -> Vec<u8> {
    let mut buf = Vec::with_capacity(11);
    buf.push(0x00);
    // Writing to a Vec cannot fail.
    let _ = buf.write_lenenc_int(affected_rows);
    let _ = buf.write_lenenc_int(last_insert_id);
    buf.extend_from_slice(&status.to_le_bytes());
    buf.extend_from_slice(&warnings.to_le_bytes());
    buf
}

/// Clears `bits` in the status flags of `packet` (header included) when it is a single
/// OK packet; false when it is not one (nothing is changed).
pub fn clear_status(packet: &mut [u8], bits: u16) -> bool {
    let Some(len) = packet
        .get(..3)
        .map(|h| u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize)
    else {
        return false;
    };
    if packet.len() != len + 4 || packet.get(4) != Some(&0x00) {
        return false;
    }
    // Affected rows and insert id: length-encoded integers after the 0x00.
    let mut at = 5;
    for _ in 0..2 {
        let width = match packet.get(at) {
            Some(b) if *b < 0xfb => 1,
            Some(0xfc) => 3,
            Some(0xfd) => 4,
            Some(0xfe) => 9,
            _ => return false,
        };
        at += width;
    }
    let Some(status) = packet.get_mut(at..at + 2) else {
        return false;
    };
    let s = u16::from_le_bytes([status[0], status[1]]) & !bits;
    status.copy_from_slice(&s.to_le_bytes());
    true
}
