//! A minimal blocking MySQL client for what drivers will not send: unknown commands,
//! malformed packets, COM_FIELD_LIST, caching_sha2_password logins.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;

pub struct Raw {
    pub stream: TcpStream,
    pub caps: CapabilityFlags,
}

pub fn caps() -> CapabilityFlags {
    CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_DEPRECATE_EOF
}

impl Raw {
    /// Logs in with `plugin` ("mysql_native_password" or "caching_sha2_password").
    /// Returns the packets the server sent after the handshake response.
    pub fn login(port: u16, user: &str, pass: &str, plugin: &str) -> (Raw, Vec<Vec<u8>>) {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut raw = Raw {
            stream,
            caps: caps(),
        };
        let (_, greeting) = raw.read_packet().expect("greeting");
        if greeting.first() == Some(&0xFF) {
            // Refused before the handshake (1040 too many connections): that is the answer.
            return (raw, vec![greeting]);
        }
        let hs: HandshakePacket<'_> = ParseBuf(&greeting).parse(()).expect("greeting parses");
        let nonce = hs.nonce();
        let plugin = AuthPlugin::from_bytes(plugin.as_bytes()).into_owned();
        // Only the plugins mysql_common computes without optional features.
        let data = match plugin {
            AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => plugin
                .gen_data(Some(pass), &nonce)
                .map(|d| d.to_vec())
                .unwrap_or_default(),
            _ => vec![0u8; 64],
        };
        let resp = HandshakeResponse::new(
            Some(&data[..]),
            (10, 11, 0),
            Some(user.as_bytes()),
            None::<&[u8]>,
            Some(plugin),
            raw.caps,
            None,
            16 << 20,
        );
        let mut payload = Vec::new();
        resp.serialize(&mut payload);
        raw.write_packet(&payload, 1);
        let mut answers = Vec::new();
        while let Some((_, p)) = raw.read_packet() {
            let first = p.first().copied();
            // caching_sha2_password's "perform full authentication" waits for the client.
            let full_auth = p == [0x01, 0x04];
            answers.push(p);
            if matches!(first, Some(0x00) | Some(0xFF) | Some(0xFE)) || full_auth {
                break;
            }
        }
        (raw, answers)
    }

    /// After "perform full authentication": sends `data` (sequence id 3) and returns the
    /// server's next packet.
    pub fn send_auth_data(&mut self, data: &[u8]) -> Vec<u8> {
        self.write_packet(data, 3);
        self.read_packet().map(|(_, p)| p).unwrap_or_default()
    }

    pub fn write_packet(&mut self, payload: &[u8], seq: u8) {
        let mut buf = Vec::with_capacity(payload.len() + 4);
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
        buf.push(seq);
        buf.extend_from_slice(payload);
        self.stream.write_all(&buf).expect("write");
    }

    pub fn read_packet(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut h = [0u8; 4];
        self.stream.read_exact(&mut h).ok()?;
        let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
        let mut p = vec![0u8; len];
        self.stream.read_exact(&mut p).ok()?;
        Some((h[3], p))
    }

    /// Sends a command and reads packets until an OK, ERR or EOF-like terminator.
    pub fn command(&mut self, payload: &[u8]) -> Vec<Vec<u8>> {
        self.write_packet(payload, 0);
        let mut out = Vec::new();
        while let Some((_, p)) = self.read_packet() {
            let first = p.first().copied();
            let len = p.len();
            out.push(p);
            if first == Some(0x00) && out.len() == 1
                || first == Some(0xFF)
                || (first == Some(0xFE) && len < 0xFFFFFF)
            {
                break;
            }
        }
        out
    }

    /// Sends a query and reads the whole answer (one result set or OK/ERR).
    pub fn query(&mut self, sql: &str) -> Vec<Vec<u8>> {
        let mut payload = vec![0x03];
        payload.extend_from_slice(sql.as_bytes());
        self.write_packet(&payload, 0);
        let mut out = Vec::new();
        let Some((_, first)) = self.read_packet() else {
            return out;
        };
        let f = first.first().copied();
        out.push(first);
        if matches!(f, Some(0x00) | Some(0xFF)) {
            return out;
        }
        // column count, columns, rows, terminator (DEPRECATE_EOF)
        while let Some((_, p)) = self.read_packet() {
            let done = p.first() == Some(&0xFE) && p.len() < 9 + 7 || p.first() == Some(&0xFF);
            out.push(p);
            if done {
                break;
            }
        }
        out
    }
}

/// The error code of an ERR packet.
pub fn err_code(p: &[u8]) -> Option<u16> {
    match p {
        [0xFF, a, b, ..] => Some(u16::from_le_bytes([*a, *b])),
        _ => None,
    }
}

impl Raw {
    /// COM_STMT_PREPARE; returns (statement id, params, columns).
    pub fn prepare(&mut self, sql: &str) -> Result<(u32, u16, u16), Vec<u8>> {
        let mut payload = vec![0x16];
        payload.extend_from_slice(sql.as_bytes());
        self.write_packet(&payload, 0);
        let (_, ok) = self.read_packet().expect("prepare answer");
        if ok.first() != Some(&0x00) {
            return Err(ok);
        }
        let id = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        let cols = u16::from_le_bytes([ok[5], ok[6]]);
        let params = u16::from_le_bytes([ok[7], ok[8]]);
        // DEPRECATE_EOF: no EOF after the definitions.
        for _ in 0..(params + cols) {
            self.read_packet().expect("definition");
        }
        Ok((id, params, cols))
    }

    /// COM_STMT_EXECUTE with one LONGLONG parameter (types sent when `types`), or none.
    pub fn execute_i64(
        &mut self,
        id: u32,
        value: Option<i64>,
        types: bool,
        flags: u8,
    ) -> Vec<Vec<u8>> {
        let mut p = vec![0x17];
        p.extend_from_slice(&id.to_le_bytes());
        p.push(flags);
        p.extend_from_slice(&1u32.to_le_bytes());
        if let Some(v) = value {
            p.push(0); // null bitmap
            p.push(types as u8);
            if types {
                p.extend_from_slice(&[0x08, 0x00]);
            }
            p.extend_from_slice(&v.to_le_bytes());
        }
        self.write_packet(&p, 0);
        self.read_result()
    }

    /// Reads a result: OK/ERR, or column count, definitions and rows up to the terminator.
    pub fn read_result(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let Some((_, first)) = self.read_packet() else {
            return out;
        };
        let f = first.first().copied();
        let cols = first.first().copied().unwrap_or(0) as usize;
        out.push(first);
        if matches!(f, Some(0x00) | Some(0xFF)) {
            return out;
        }
        for _ in 0..cols {
            if let Some((_, p)) = self.read_packet() {
                out.push(p);
            }
        }
        while let Some((_, p)) = self.read_packet() {
            let done = (p.first() == Some(&0xFE) && p.len() < 0xFFFFFF) || p.first() == Some(&0xFF);
            out.push(p);
            if done {
                break;
            }
        }
        out
    }
}

/// The first column of a binary-protocol row holding one string column.
pub fn binary_string(row: &[u8]) -> Option<String> {
    // 0x00, null bitmap (1 byte for one column), length-encoded string
    let len = *row.get(2)? as usize;
    row.get(3..3 + len)
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// The binary rows of a result (packets starting with 0x00 after the definitions).
pub fn binary_rows(result: &[Vec<u8>]) -> Vec<String> {
    result
        .iter()
        .skip(1)
        .filter(|p| p.first() == Some(&0x00) && p.len() > 2)
        .filter_map(|p| binary_string(p))
        .collect()
}
