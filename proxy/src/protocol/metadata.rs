//! MariaDB's MARIADB_CLIENT_CACHE_METADATA: an execution's answer leaves out the column
//! definitions when the connection already sent them for that statement. rwsplit runs a
//! client's statement on several backend connections, each with its own idea of what the
//! client was sent; when a connection would leave out definitions the client does not
//! have (the table changed between two prepares), rwsplit puts them back in: the column
//! count packet says they follow, the connection's definitions are inserted, and every
//! later packet of the answer is renumbered.

use super::packet::{header, write_packets, HEADER_LEN};
use super::response::lenenc_len;
use bytes::BytesMut;

/// The column definitions of a PREPARE_OK answer (`answer`: its packets as framed),
/// one payload each; `None` when the answer is not shaped as its first packet says.
pub fn prepare_columns(answer: &[u8], deprecate_eof: bool) -> Option<Vec<Vec<u8>>> {
    let mut payloads = Vec::new();
    let mut off = 0;
    while let Some(h) = header(&answer[off..]) {
        let start = off + HEADER_LEN;
        payloads.push(answer.get(start..start + h.len)?);
        off = start + h.len;
    }
    let ok = payloads.first()?;
    if ok.first() != Some(&0) || ok.len() < 9 {
        return None;
    }
    let columns = usize::from(u16::from_le_bytes([ok[5], ok[6]]));
    let params = usize::from(u16::from_le_bytes([ok[7], ok[8]]));
    let eof = usize::from(!deprecate_eof);
    let start = 1 + params + if params > 0 { eof } else { 0 };
    let defs = payloads.get(start..start + columns)?;
    Some(defs.iter().map(|d| d.to_vec()).collect())
}

/// The first packet of an answer (`first`: framed, whole), if it is a column count that
/// says the definitions were left out, for `defs.len()` columns: the packets to send the
/// client instead (the count saying they follow, then `defs`, numbered on). `None`: the
/// answer is sent as it is.
pub fn with_columns(first: &[u8], defs: &[Vec<u8>]) -> Option<BytesMut> {
    let h = header(first)?;
    let payload = first.get(HEADER_LEN..HEADER_LEN + h.len)?;
    if matches!(payload.first(), None | Some(0x00 | 0xFB | 0xFE | 0xFF)) {
        return None;
    }
    let (n, len) = lenenc_len(payload)?;
    if payload.get(len) != Some(&0) || n != defs.len() as u64 {
        return None;
    }
    let mut out =
        BytesMut::with_capacity(first.len() + defs.iter().map(|d| d.len() + 4).sum::<usize>());
    let mut count = payload.to_vec();
    count[len] = 1;
    let mut seq = write_packets(&mut out, &count, h.seq);
    for d in defs {
        seq = write_packets(&mut out, d, seq);
    }
    Some(out)
}

/// Renumbers the packets of the rest of an answer by `shift` (the packets inserted
/// before them), as the relay forwards it in chunks. A chunk ends at a packet's end or
/// inside its payload, never inside a header.
#[derive(Debug, Clone, Copy)]
pub struct Renumber {
    shift: u8,
    /// Bytes of the current packet's payload before the next header.
    until_header: usize,
}

impl Renumber {
    /// `shift`: packets inserted before the next packet, which starts the next chunk.
    pub fn new(shift: usize) -> Self {
        Renumber {
            shift: shift as u8,
            until_header: 0,
        }
    }

    pub fn apply(&mut self, chunk: &mut [u8]) {
        let mut pos = self.until_header;
        while let Some(h) = chunk.get(pos..).and_then(header) {
            chunk[pos + 3] = h.seq.wrapping_add(self.shift);
            pos += HEADER_LEN + h.len;
        }
        self.until_header = pos.saturating_sub(chunk.len());
    }
}
