//! Transaction pooling: what keeps a session on the backend connections it holds
//! ([`pin`]). Only state that cannot be rebuilt on another connection pins: everything
//! the session's history can replay (SET variables, user variables set by a literal, the
//! database, character sets) follows the session instead. Pure.

use super::state::SessionState;

/// Why a session keeps its backend connections between statements (the `reason` label
/// of `rwsplit_pins_total`, and `SHOW SESSIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinReason {
    /// A transaction is open (BEGIN, or autocommit = 0), to its COMMIT or ROLLBACK.
    Transaction,
    /// An XA transaction is active.
    Xa,
    /// LOCK TABLES or FLUSH TABLES WITH READ LOCK, to UNLOCK TABLES.
    LockedTables,
    /// A named lock may be held (GET_LOCK), to its RELEASE_LOCK / RELEASE_ALL_LOCKS.
    NamedLock,
    /// Temporary tables exist, until they are dropped.
    TemporaryTable,
    /// A HANDLER is open, to HANDLER … CLOSE.
    Handler,
    /// An SQL prepared statement exists (PREPARE … FROM), to DEALLOCATE PREPARE.
    SqlPrepare,
    /// A prepared statement's cursor is open, to its last row or COM_STMT_RESET/CLOSE.
    Cursor,
    /// SET TRANSACTION (no scope): the connection's next transaction is set up.
    NextTransaction,
    /// A sequence's values on this connection (NEXTVAL, LASTVAL): for the session's life.
    Sequence,
    /// User variables hold values computed on this connection (`SELECT … INTO @v`,
    /// `@v := …`, `SET @v = NOW()`): for the session's life (or COM_RESET_CONNECTION).
    UserVariable,
    /// Session state rwsplit cannot replay (a SET it cannot parse, or a history past
    /// `routing.max_session_history`): for the session's life.
    SessionState,
}

impl PinReason {
    pub fn label(self) -> &'static str {
        match self {
            PinReason::Transaction => "transaction",
            PinReason::Xa => "xa",
            PinReason::LockedTables => "locked_tables",
            PinReason::NamedLock => "named_lock",
            PinReason::TemporaryTable => "temporary_table",
            PinReason::Handler => "handler",
            PinReason::SqlPrepare => "sql_prepare",
            PinReason::Cursor => "cursor",
            PinReason::NextTransaction => "next_transaction",
            PinReason::Sequence => "sequence",
            PinReason::UserVariable => "user_variable",
            PinReason::SessionState => "session_state",
        }
    }

    /// Every reason, for the metric's description and the tests.
    pub const ALL: [PinReason; 12] = [
        PinReason::Transaction,
        PinReason::Xa,
        PinReason::LockedTables,
        PinReason::NamedLock,
        PinReason::TemporaryTable,
        PinReason::Handler,
        PinReason::SqlPrepare,
        PinReason::Cursor,
        PinReason::NextTransaction,
        PinReason::Sequence,
        PinReason::UserVariable,
        PinReason::SessionState,
    ];
}

/// Why the session must keep its connections now, if it must (`cursor_open`: one of its
/// prepared statements has a cursor open).
pub fn pin(state: &SessionState, cursor_open: bool) -> Option<PinReason> {
    let reasons = [
        (state.xa_active, PinReason::Xa),
        (state.in_transaction_scope(), PinReason::Transaction),
        (state.locked_tables, PinReason::LockedTables),
        (state.named_locks > 0, PinReason::NamedLock),
        (!state.temp_tables.is_empty(), PinReason::TemporaryTable),
        (!state.handlers.is_empty(), PinReason::Handler),
        (!state.sql_prepared.is_empty(), PinReason::SqlPrepare),
        (cursor_open, PinReason::Cursor),
        (state.next_transaction, PinReason::NextTransaction),
        (state.sequences, PinReason::Sequence),
        (state.user_vars_on_writer, PinReason::UserVariable),
        (state.reads_on_writer, PinReason::SessionState),
    ];
    reasons.into_iter().find(|(on, _)| *on).map(|(_, r)| r)
}
