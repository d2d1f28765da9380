//! The connection phase, server side: the greeting rwsplit sends (mirroring the writer's)
//! and the client's handshake response.

use std::collections::HashMap;

use mysql_common::constants::{CapabilityFlags, MariadbCapabilities, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;

use super::ProtocolError;

/// What rwsplit knows of the writer's greeting; clients see the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub version: Vec<u8>,
    pub caps: CapabilityFlags,
    pub mariadb_caps: MariadbCapabilities,
    pub collation: u8,
    pub status: u16,
    pub auth_plugin: Vec<u8>,
}

/// Capabilities rwsplit cannot relay (yet): they change the framing or the packets in
/// ways a proxy that forwards bytes must not negotiate on a client's behalf.
pub fn unsupported_caps() -> CapabilityFlags {
    CapabilityFlags::CLIENT_COMPRESS
        | CapabilityFlags::CLIENT_SSL
        | CapabilityFlags::CLIENT_ZSTD_COMPRESSION_ALGORITHM
        | CapabilityFlags::CLIENT_QUERY_ATTRIBUTES
        | CapabilityFlags::CLIENT_OPTIONAL_RESULTSET_METADATA
        | CapabilityFlags::CLIENT_SSL_VERIFY_SERVER_CERT
        | CapabilityFlags::CLIENT_REMEMBER_OPTIONS
        | CapabilityFlags::CLIENT_PROGRESS_OBSOLETE
}

/// MariaDB extensions rwsplit relays.
pub fn supported_mariadb_caps() -> MariadbCapabilities {
    MariadbCapabilities::MARIADB_CLIENT_PROGRESS
        | MariadbCapabilities::MARIADB_CLIENT_STMT_BULK_OPERATIONS
        | MariadbCapabilities::MARIADB_CLIENT_EXTENDED_METADATA
        | MariadbCapabilities::MARIADB_CLIENT_CACHE_METADATA
}

/// Capabilities rwsplit needs on every connection it makes or accepts.
pub fn required_caps() -> CapabilityFlags {
    CapabilityFlags::CLIENT_PROTOCOL_41 | CapabilityFlags::CLIENT_SECURE_CONNECTION
}

impl ServerInfo {
    /// From a backend's greeting.
    pub fn from_greeting(h: &HandshakePacket<'_>) -> Self {
        ServerInfo {
            version: h.server_version_ref().to_vec(),
            caps: h.capabilities(),
            mariadb_caps: h.mariadb_ext_capabilities(),
            collation: h.default_collation(),
            status: h.status_flags().bits(),
            auth_plugin: h
                .auth_plugin_name_ref()
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| b"mysql_native_password".to_vec()),
        }
    }

    /// Used until a backend has been reached once.
    pub fn fallback() -> Self {
        ServerInfo {
            version: b"5.5.5-10.11.0-MariaDB-rwsplit".to_vec(),
            caps: CapabilityFlags::CLIENT_LONG_FLAG
                | CapabilityFlags::CLIENT_CONNECT_WITH_DB
                | CapabilityFlags::CLIENT_LOCAL_FILES
                | CapabilityFlags::CLIENT_PROTOCOL_41
                | CapabilityFlags::CLIENT_INTERACTIVE
                | CapabilityFlags::CLIENT_TRANSACTIONS
                | CapabilityFlags::CLIENT_SECURE_CONNECTION
                | CapabilityFlags::CLIENT_MULTI_STATEMENTS
                | CapabilityFlags::CLIENT_MULTI_RESULTS
                | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
                | CapabilityFlags::CLIENT_PLUGIN_AUTH
                | CapabilityFlags::CLIENT_CONNECT_ATTRS
                | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
                | CapabilityFlags::CLIENT_SESSION_TRACK
                | CapabilityFlags::CLIENT_DEPRECATE_EOF
                | CapabilityFlags::CLIENT_FOUND_ROWS
                | CapabilityFlags::CLIENT_IGNORE_SPACE
                | CapabilityFlags::CLIENT_IGNORE_SIGPIPE,
            mariadb_caps: MariadbCapabilities::empty(),
            collation: 45, // utf8mb4_general_ci
            status: StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits(),
            auth_plugin: b"mysql_native_password".to_vec(),
        }
    }

    /// Capabilities offered to clients.
    pub fn offered_caps(&self) -> CapabilityFlags {
        (self.caps - unsupported_caps()) | required_caps() | CapabilityFlags::CLIENT_PLUGIN_AUTH
    }

    pub fn offered_mariadb_caps(&self) -> MariadbCapabilities {
        self.mariadb_caps & supported_mariadb_caps()
    }

    /// True when the writer is MariaDB (its version string says so).
    pub fn is_mariadb(&self) -> bool {
        self.version
            .windows(7)
            .any(|w| w.eq_ignore_ascii_case(b"mariadb"))
    }

    /// The greeting payload for a client connection.
    /// `offer_tls`: CLIENT_SSL is set (rwsplit has a certificate for clients).
    pub fn greeting(&self, connection_id: u32, scramble: &[u8; 20], offer_tls: bool) -> Vec<u8> {
        let mut caps = self.offered_caps();
        caps.set(CapabilityFlags::CLIENT_SSL, offer_tls);
        let mut s1 = [0u8; 8];
        s1.copy_from_slice(&scramble[..8]);
        // scramble_2 carries the 12 remaining bytes and a NUL, as servers send it.
        let mut s2 = scramble[8..].to_vec();
        s2.push(0);
        let pkt = HandshakePacket::new(
            10,
            &self.version[..],
            connection_id,
            s1,
            Some(&s2[..]),
            caps,
            self.collation,
            StatusFlags::from_bits_truncate(self.status),
            Some(&self.auth_plugin[..]),
        )
        .with_mariadb_ext_capabilities(self.offered_mariadb_caps());
        let mut buf = Vec::with_capacity(128);
        pkt.serialize(&mut buf);
        buf
    }
}

/// A client's handshake response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLogin {
    pub caps: CapabilityFlags,
    pub mariadb_caps: MariadbCapabilities,
    pub max_packet: u32,
    pub collation: u8,
    pub user: String,
    pub auth_response: Vec<u8>,
    pub db: Option<String>,
    pub plugin: Option<Vec<u8>>,
    pub attrs: Option<HashMap<String, String>>,
}

/// Parses a handshake response. A 32-byte SSL request is reported as such.
/// True for an SSLRequest: the handshake response's first 32 bytes with CLIENT_SSL, sent
/// in plain before the TLS handshake.
pub fn is_ssl_request(payload: &[u8]) -> bool {
    match payload {
        [a, b, c, d, ..] if payload.len() == 32 => {
            CapabilityFlags::from_bits_truncate(u32::from_le_bytes([*a, *b, *c, *d]))
                .contains(CapabilityFlags::CLIENT_SSL)
        }
        _ => false,
    }
}

pub fn parse_login(payload: &[u8]) -> Result<ClientLogin, ProtocolError> {
    if payload.len() < 32 {
        return Err(ProtocolError::Malformed("handshake response too short"));
    }
    let caps = CapabilityFlags::from_bits_truncate(u32::from_le_bytes([
        payload[0], payload[1], payload[2], payload[3],
    ]));
    if !caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return Err(ProtocolError::Unsupported(
            "clients older than protocol 4.1",
        ));
    }
    if payload.len() == 32 && caps.contains(CapabilityFlags::CLIENT_SSL) {
        return Err(ProtocolError::Unsupported("TLS"));
    }
    let r: HandshakeResponse<'_> = ParseBuf(payload)
        .parse(())
        .map_err(|_| ProtocolError::Malformed("handshake response"))?;
    Ok(ClientLogin {
        caps: r.capabilities(),
        mariadb_caps: r.mariadb_ext_capabilities(),
        max_packet: u32::from_le_bytes([payload[4], payload[5], payload[6], payload[7]]),
        collation: r.collation(),
        user: String::from_utf8_lossy(r.user()).into_owned(),
        auth_response: r.scramble_buf().to_vec(),
        db: r
            .db_name()
            .filter(|d| !d.is_empty())
            .map(|d| String::from_utf8_lossy(d).into_owned()),
        plugin: r.auth_plugin().map(|p| p.as_bytes().to_vec()),
        attrs: r.connect_attributes(),
    })
}
