//! `[pool]`: backend connections shared by the sessions of one rwsplit. A session holds
//! its connections for its life (session pooling); when it ends they are reset
//! (COM_RESET_CONNECTION) and kept for the next session that logs in with the same
//! backend account, capabilities, collation and TLS.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Connections open to one backend at most (borrowed and idle, all accounts); 0 = no
    /// cap. A session that needs one more waits, first come first served, up to
    /// `borrow_timeout_ms`, then gets error 1040. Across sidecars the caps add up: keep
    /// (number of rwsplit instances × max_connections) under the server's
    /// `max_connections` minus what other clients need. Default 0.
    pub max_connections: usize,
    /// Idle connections kept per backend for later sessions; 0 = none (every session
    /// opens its own, and closes them when it ends). Default 64.
    pub max_idle: usize,
    /// Milliseconds an idle connection is kept before it is closed. Default 60000.
    pub idle_timeout_ms: u64,
    /// Milliseconds after it was opened that a connection is closed instead of kept
    /// (checked when it is given back and while idle); 0 = no limit. Default 1800000.
    pub max_lifetime_ms: u64,
    /// Milliseconds a session waits for a connection when its backend is at
    /// `max_connections`, then error 1040. Default 5000.
    pub borrow_timeout_ms: u64,
    /// An idle connection is pinged (COM_PING) before it is handed out when it has been
    /// idle this many milliseconds; a broken one is closed and another taken, unseen by
    /// the client. Default 1000.
    pub ping_after_idle_ms: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 0,
            max_idle: 64,
            idle_timeout_ms: 60_000,
            max_lifetime_ms: 1_800_000,
            borrow_timeout_ms: 5_000,
            ping_after_idle_ms: 1_000,
        }
    }
}
