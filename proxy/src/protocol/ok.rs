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
