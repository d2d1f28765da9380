//! The MySQL client/server protocol: framing, the packets rwsplit writes itself, the
//! connection phase, client commands and the scanner that relays answers.
//! Pure code: no sockets here.

pub mod auth;
pub mod change_user;
pub mod command;
pub mod err;
pub mod execute;
pub mod handshake;
pub mod metadata;
pub mod ok;
pub mod packet;
pub mod response;
pub mod row;
pub mod rsa;

pub use err::{codes, SqlError};

/// Errors decoding protocol bytes.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    #[error("packet of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("not supported: {0}")]
    Unsupported(&'static str),
}

impl ProtocolError {
    /// The error a client is told.
    pub fn to_sql(&self) -> SqlError {
        match self {
            ProtocolError::Malformed(what) => SqlError::malformed(what),
            ProtocolError::TooLarge { .. } => SqlError::packet_too_large(),
            ProtocolError::Unsupported(what) => SqlError::new(
                codes::ER_NOT_SUPPORTED_AUTH_MODE,
                b"08004",
                format!("rwsplit does not support {what} yet"),
            ),
        }
    }
}
