//! Backend connections: login as a client, commands, relaying answers packet by packet,
//! each backend's load as every session sees it ([`Loads`]), and the pools that keep
//! connections for the next session ([`Pools`]). Who holds a connection while a session
//! lives is the session's business (`session::Conns`).

mod conn;
mod load;
pub mod pool;
mod pools;
mod stmts;
mod timeout;

pub use crate::tls::{BackendTls, Stream as BackendStream};
pub use conn::{
    BackendConn, Capture, ConnectParams, Discard, Downstream, InsertId, MetaPlan, RelayError,
    UNKNOWN_STATE,
};
pub use load::{BackendLoad, Loads};
pub use pools::{give_back, park, prepare_for, rank, Lease, PoolKey, PoolRow, Pools, Prepare};
pub use stmts::{BackendStmt, StmtCache, StmtKey};
pub use timeout::{kill_query, kill_thread, relay_bounded, Killer};

use crate::protocol::{ProtocolError, SqlError};

/// Errors talking to a backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("i/o: {0}")]
    Io(std::io::Error),
    #[error("connection closed by the server")]
    Closed,
    #[error("no writer in the topology")]
    NoWriter,
    #[error("the writer changed")]
    WriterMoved,
    #[error("protocol: {0}")]
    Protocol(&'static str),
    #[error(transparent)]
    Decode(#[from] ProtocolError),
    #[error("server error {code} ({state}): {message}")]
    Server {
        code: u16,
        state: String,
        message: String,
    },
    #[error("authentication: {0}")]
    Auth(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("error {code} running `{what}`")]
    Rejected { code: u16, what: String },
    #[error("the pool of {addr} is at pool.max_connections = {max}; waited pool.borrow_timeout_ms = {waited_ms}")]
    PoolExhausted {
        addr: String,
        max: usize,
        waited_ms: u64,
    },
}

impl BackendError {
    /// From an ERR packet payload.
    pub fn server(payload: &[u8]) -> BackendError {
        let code = match payload {
            [_, a, b, ..] => u16::from_le_bytes([*a, *b]),
            _ => 0,
        };
        let (state, msg) = match payload.get(3..) {
            Some([b'#', rest @ ..]) if rest.len() >= 5 => (
                String::from_utf8_lossy(&rest[..5]).into_owned(),
                String::from_utf8_lossy(&rest[5..]).into_owned(),
            ),
            Some(rest) => ("HY000".into(), String::from_utf8_lossy(rest).into_owned()),
            None => ("HY000".into(), String::new()),
        };
        BackendError::Server {
            code,
            state,
            message: msg,
        }
    }

    /// True when the backend could not be reached or dropped the connection (as opposed
    /// to refusing the login or a statement).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            BackendError::Connect(_)
                | BackendError::Timeout
                | BackendError::Io(_)
                | BackendError::Closed
        )
    }

    /// True when a statement bound for the writer could not be sent because the writer
    /// is missing or cannot be reached (a failover may bring one: the statement can wait).
    pub fn is_no_writer(&self) -> bool {
        matches!(self, BackendError::NoWriter) || self.is_unreachable()
    }

    /// What the client is told.
    pub fn to_sql(&self, addr: &str) -> SqlError {
        match self {
            BackendError::Server {
                code,
                state,
                message,
            } => {
                let mut st = [b'H', b'Y', b'0', b'0', b'0'];
                if state.len() == 5 {
                    st.copy_from_slice(state.as_bytes());
                }
                SqlError::new(*code, &st, message.clone())
            }
            BackendError::PoolExhausted { .. } => SqlError::new(
                crate::protocol::err::codes::ER_CON_COUNT_ERROR,
                b"08004",
                format!("Too many connections: rwsplit: {self}"),
            ),
            BackendError::NoWriter => SqlError::no_backend("no writer"),
            BackendError::Connect(_) | BackendError::Timeout | BackendError::Tls(_) => {
                SqlError::no_backend(&format!("cannot connect to {addr}: {self}"))
            }
            other => SqlError::lost_connection(&format!("{addr}: {other}")),
        }
    }
}
