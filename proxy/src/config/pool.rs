//! `[pool]`: backend connections shared by the sessions of one rwsplit, between sessions
//! that log in with the same backend account, capabilities, collation and TLS. In
//! `transaction` mode a session borrows a connection for one statement or one
//! transaction and gives it back; in `session` mode it holds its connections for its
//! life, and they are reset (COM_RESET_CONNECTION) for the next session when it ends.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// `transaction`: a session borrows a backend connection for one autocommit statement
    /// or one transaction, brought to the session's state first, and gives it back
    /// unless something only that connection holds pins it. `session`: a session keeps
    /// its connections until it ends. Default `transaction`.
    pub mode: PoolMode,
    /// Connections open to one backend at most (borrowed and idle, all accounts); 0 = no
    /// cap. A session that needs one more waits, first come first served, up to
    /// `borrow_timeout_ms`, then gets error 1040. Across sidecars the caps add up: keep
    /// (number of rwsplit instances × max_connections) under the server's
    /// `max_connections` minus what other clients need. Default 0.
    pub max_connections: usize,
    /// Idle connections kept per backend for later sessions; 0 = none (every session
    /// opens its own, and closes them when it ends). Under load more may be idle for a
    /// moment: those past it are closed once idle for 10 seconds (oldest first), not
    /// when given back, so a busy pool does not close and reopen connections. Default 64.
    pub max_idle: usize,
    /// Idle connections kept open per backend and role ahead of need: when fewer are
    /// idle, rwsplit opens the difference in the background within a second (within
    /// `max_connections`), with the account, capabilities and database of the session
    /// that last opened one there (none before the first session). At most `max_idle`.
    /// 0 = none. Default 0.
    pub min_idle: usize,
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
    /// Transaction mode: prepared statements each pooled connection keeps prepared (by
    /// text, for any session that runs the same text); past it the least recently used
    /// is closed on the backend. Mind the server's `max_prepared_stmt_count` (global):
    /// connections × this must stay under it. Default 64.
    pub prepared_per_connection: usize,
    /// Transaction mode: after an answer a follow-up may ask about (warnings, a DML's
    /// ROW_COUNT(), SQL_CALC_FOUND_ROWS' FOUND_ROWS()), the session keeps its connection
    /// until its next statement; it gives it back sooner only when another session waits
    /// for one and this one has been idle this many milliseconds. Default 100.
    pub follow_up_hold_ms: u64,
}

/// How long a session holds a backend connection (`pool.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum PoolMode {
    /// One statement or one transaction; the session's state follows it to the next one.
    #[default]
    Transaction,
    /// The session's life; reset when the session ends.
    Session,
}

impl PoolMode {
    pub fn label(self) -> &'static str {
        match self {
            PoolMode::Transaction => "transaction",
            PoolMode::Session => "session",
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 0,
            max_idle: 64,
            min_idle: 0,
            idle_timeout_ms: 60_000,
            max_lifetime_ms: 1_800_000,
            borrow_timeout_ms: 5_000,
            ping_after_idle_ms: 1_000,
            mode: PoolMode::default(),
            prepared_per_connection: 64,
            follow_up_hold_ms: 100,
        }
    }
}
