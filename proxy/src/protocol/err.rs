//! ERR packets rwsplit writes itself, and the error codes it uses.

use mysql_common::packets::{ErrPacket, ServerError, SqlState};
use mysql_common::proto::MySerialize;

/// An error to report to a client as an ERR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub code: u16,
    pub state: [u8; 5],
    pub message: String,
}

impl SqlError {
    pub fn new(code: u16, state: &[u8; 5], message: impl Into<String>) -> Self {
        SqlError {
            code,
            state: *state,
            message: message.into(),
        }
    }

    /// The ERR packet payload (protocol 4.1 format).
    pub fn payload(&self) -> Vec<u8> {
        let err = ErrPacket::Error(ServerError::new(
            self.code,
            Some(SqlState::new(self.state)),
            self.message.as_bytes(),
        ));
        let mut buf = Vec::with_capacity(9 + self.message.len());
        err.serialize(&mut buf);
        buf
    }

    /// 1045: wrong password or unknown user.
    pub fn access_denied(user: &str, host: &str, using_password: bool) -> Self {
        SqlError::new(
            codes::ER_ACCESS_DENIED_ERROR,
            b"28000",
            format!(
                "Access denied for user '{user}'@'{host}' (using password: {})",
                if using_password { "YES" } else { "NO" }
            ),
        )
    }

    /// 1047: a command this server does not know.
    pub fn unknown_command(cmd: u8) -> Self {
        SqlError::new(
            codes::ER_UNKNOWN_COM_ERROR,
            b"08S01",
            format!("Unknown command (0x{cmd:02x})"),
        )
    }

    /// 1835: a packet that does not decode.
    pub fn malformed(what: &str) -> Self {
        SqlError::new(
            codes::ER_MALFORMED_PACKET,
            b"HY000",
            format!("Malformed communication packet: {what}"),
        )
    }

    /// The backend went away while running the statement (what a direct client sees as
    /// 2013). Client-side codes (2xxx) cannot travel in an ERR packet (libmariadb calls
    /// such a packet malformed), so this is the server's ER_CONNECTION_KILLED.
    pub fn lost_connection(detail: &str) -> Self {
        SqlError::new(
            codes::ER_CONNECTION_KILLED,
            b"70100",
            format!("Lost connection to backend server during query ({detail})"),
        )
    }

    /// The writer connection died after a write or COMMIT was sent and before its
    /// answer came: it may or may not have committed, and rwsplit does not guess.
    pub fn outcome_unknown(detail: &str) -> Self {
        SqlError::new(
            codes::ER_CONNECTION_KILLED,
            b"70100",
            format!(
                "Lost connection to backend server during query ({detail}); the outcome is unknown: the statement may or may not have been committed"
            ),
        )
    }

    /// 1927: this session was ended by KILL CONNECTION (the server's text).
    pub fn connection_killed() -> Self {
        SqlError::new(
            codes::ER_CONNECTION_KILLED,
            b"70100",
            "Connection was killed",
        )
    }

    /// No backend could take the statement (what a direct client sees as 2003).
    pub fn no_backend(what: &str) -> Self {
        SqlError::new(
            codes::ER_UNKNOWN_ERROR,
            b"HY000",
            format!("rwsplit: no backend available: {what}"),
        )
    }

    /// 1792: a write inside a read-only transaction.
    pub fn read_only_transaction() -> Self {
        SqlError::new(
            codes::ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION,
            b"25006",
            "Cannot execute statement in a READ ONLY transaction",
        )
    }

    /// 1153: a packet over the size limit.
    /// A client without TLS where TLS is required (the server's require_secure_transport).
    pub fn insecure_transport() -> Self {
        SqlError::new(
            codes::ER_SECURE_TRANSPORT_REQUIRED,
            b"HY000",
            "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
        )
    }

    /// A user over its own connection cap (the server's max_user_connections).
    pub fn too_many_user_connections(user: &str) -> Self {
        SqlError::new(
            codes::ER_TOO_MANY_USER_CONNECTIONS,
            b"42000",
            format!("User {user} already has more than 'max_user_connections' active connections"),
        )
    }

    /// The server's answer, in place of a greeting, when max_connections is reached.
    pub fn too_many_connections() -> Self {
        SqlError::new(codes::ER_CON_COUNT_ERROR, b"08004", "Too many connections")
    }

    /// A session would hold more state than `server.max_session_memory`.
    pub fn session_memory(cap: usize) -> Self {
        SqlError::new(
            codes::ER_OUT_OF_RESOURCES,
            b"HY000",
            format!(
                "Out of resources: this session would hold more than \
                 server.max_session_memory ({cap} bytes) of prepared statements, long data \
                 and session history; close statements or reset the connection"
            ),
        )
    }

    /// 1095: KILL of a session that belongs to another account (the server's text).
    pub fn not_owner_of_thread(id: u64) -> Self {
        SqlError::new(
            codes::ER_KILL_DENIED_ERROR,
            b"HY000",
            format!("You are not owner of thread {id}"),
        )
    }

    pub fn packet_too_large() -> Self {
        SqlError::new(
            codes::ER_NET_PACKET_TOO_LARGE,
            b"08S01",
            "Got a packet bigger than 'max_allowed_packet' bytes",
        )
    }
}

/// The error code of an ERR packet (header included), if `packet` starts with one.
pub fn err_code(packet: &[u8]) -> Option<u16> {
    match *packet {
        [_, _, _, _, 0xff, lo, hi, ..] => Some(u16::from_le_bytes([lo, hi])),
        _ => None,
    }
}

/// True when `bytes` are exactly one ERR packet saying the server is read-only: 1836
/// (read-only mode), or 1290 naming the read-only option (1290 also answers other options,
/// such as `--secure-file-priv` for INTO OUTFILE, which no failover changes).
pub fn is_read_only_refusal(bytes: &[u8]) -> bool {
    let Some(code) = err_code(bytes) else {
        return false;
    };
    let [a, b, c, ..] = *bytes else {
        return false;
    };
    if u32::from_le_bytes([a, b, c, 0]) as usize + 4 != bytes.len() {
        return false;
    }
    let names_read_only = || {
        let text = bytes.get(7..).unwrap_or_default().to_ascii_lowercase();
        text.windows(9)
            .any(|w| w == b"read-only" || w == b"read_only")
    };
    match code {
        codes::ER_READ_ONLY_MODE => true,
        codes::ER_OPTION_PREVENTS_STATEMENT => names_read_only(),
        _ => false,
    }
}

/// MySQL error codes used by rwsplit.
pub mod codes {
    pub const ER_CON_COUNT_ERROR: u16 = 1040;
    pub const ER_OUT_OF_RESOURCES: u16 = 1041;
    pub const ER_TOO_MANY_USER_CONNECTIONS: u16 = 1203;
    pub const ER_SECURE_TRANSPORT_REQUIRED: u16 = 3159;
    pub const ER_HANDSHAKE_ERROR: u16 = 1043;
    pub const ER_ACCESS_DENIED_ERROR: u16 = 1045;
    pub const ER_UNKNOWN_COM_ERROR: u16 = 1047;
    pub const ER_KILL_DENIED_ERROR: u16 = 1095;
    pub const ER_SERVER_SHUTDOWN: u16 = 1053;
    pub const ER_NET_PACKET_TOO_LARGE: u16 = 1153;
    pub const ER_UNKNOWN_ERROR: u16 = 1105;
    pub const ER_UNKNOWN_STMT_HANDLER: u16 = 1243;
    /// The server runs with an option that prevents the statement (`--read-only`).
    pub const ER_OPTION_PREVENTS_STATEMENT: u16 = 1290;
    /// MariaDB: the server is in read-only mode.
    pub const ER_READ_ONLY_MODE: u16 = 1836;
    pub const ER_NOT_SUPPORTED_AUTH_MODE: u16 = 1251;
    pub const ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION: u16 = 1792;
    pub const ER_MALFORMED_PACKET: u16 = 1835;
    pub const ER_CONNECTION_KILLED: u16 = 1927;
}
