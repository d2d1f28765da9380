//! Packet framing: a 3-byte little-endian length and a sequence id before each payload;
//! payloads of 16 MiB - 1 bytes and more continue in the next packet.

use bytes::{BufMut, BytesMut};

use super::ProtocolError;

/// Largest payload of one packet; a packet this long is continued by the next one.
pub const MAX_PAYLOAD: usize = 0xFF_FFFF;
pub const HEADER_LEN: usize = 4;

/// A packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub len: usize,
    pub seq: u8,
}

/// Reads a header from the start of `buf`.
#[inline]
pub fn header(buf: &[u8]) -> Option<Header> {
    match buf {
        [a, b, c, seq, ..] => Some(Header {
            len: *a as usize | (*b as usize) << 8 | (*c as usize) << 16,
            seq: *seq,
        }),
        _ => None,
    }
}

/// Where one logical message (a packet and its continuations) ends in `buf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Bytes of the whole message, headers included.
    pub total: usize,
    /// Payload bytes, headers excluded.
    pub payload_len: usize,
    /// Sequence id of the first packet.
    pub first_seq: u8,
    /// Sequence id of the last packet.
    pub last_seq: u8,
    /// Number of packets.
    pub packets: usize,
}

/// Check-then-parse: returns the frame of the first complete message in `buf`, `None` if
/// more bytes are needed, or an error if the message would exceed `max_payload`.
pub fn frame(buf: &[u8], max_payload: usize) -> Result<Option<Frame>, ProtocolError> {
    let mut off = 0;
    let mut payload_len = 0usize;
    let mut packets = 0;
    let mut first_seq = None;
    loop {
        let Some(h) = header(&buf[off..]) else {
            return Ok(None);
        };
        payload_len += h.len;
        if payload_len > max_payload {
            return Err(ProtocolError::TooLarge {
                len: payload_len,
                max: max_payload,
            });
        }
        let first = *first_seq.get_or_insert(h.seq);
        packets += 1;
        if buf.len() < off + HEADER_LEN + h.len {
            return Ok(None);
        }
        off += HEADER_LEN + h.len;
        if h.len < MAX_PAYLOAD {
            return Ok(Some(Frame {
                total: off,
                payload_len,
                first_seq: first,
                last_seq: h.seq,
                packets,
            }));
        }
    }
}

/// Copies the payload of a framed message (dropping the headers).
pub fn payload_of(framed: &[u8], f: &Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(f.payload_len);
    let mut off = 0;
    while off < f.total {
        let Some(h) = header(&framed[off..]) else {
            break;
        };
        let start = off + HEADER_LEN;
        let end = (start + h.len).min(framed.len());
        out.extend_from_slice(&framed[start..end]);
        off = end;
    }
    out
}

/// Appends `payload` to `out` as one or more packets starting at sequence id `seq`.
/// Returns the sequence id the next packet would take.
pub fn write_packets(out: &mut BytesMut, payload: &[u8], mut seq: u8) -> u8 {
    let mut rest = payload;
    loop {
        let n = rest.len().min(MAX_PAYLOAD);
        out.reserve(HEADER_LEN + n);
        out.put_uint_le(n as u64, 3);
        out.put_u8(seq);
        out.put_slice(&rest[..n]);
        seq = seq.wrapping_add(1);
        rest = &rest[n..];
        if n < MAX_PAYLOAD {
            return seq;
        }
    }
}

/// One framed message as a new buffer.
pub fn packets(payload: &[u8], seq: u8) -> BytesMut {
    let mut out = BytesMut::with_capacity(payload.len() + HEADER_LEN);
    write_packets(&mut out, payload, seq);
    out
}
