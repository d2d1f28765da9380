//! Routing: a pure function from a classified statement, the session's state and the
//! topology to a route. No I/O, no globals, no waiting. [`plan`] completes it into what
//! the session carries out: the route, what must happen first, a refusal, and the
//! readers to try in the order the configured policy prefers ([`choose_reader`]).

mod failover;
mod gtid;
mod pin;
mod plan;
mod replay;
mod select;
mod state;
mod topology;
mod verify;

pub use failover::{
    effect, recover, replay_wanted, writer_for_hold, Effect, OutcomeCheck, Recovery, Situation,
    WriterFailure,
};
pub use gtid::Position;
pub use pin::{pin, PinReason};
pub use plan::{plan, plan_cursor, plan_prepare, Plan, PlanPolicy, Prelude, Refusal};
pub use replay::{log_step, transactional, LogStep, Ran as RanOnWriter, Unreplayable};
pub use select::{choose_reader, Load};
pub use state::{status, Outcome, Served, SessionState};
pub use topology::{Backend, BackendId, Flavour, Role, Topology};
pub use verify::{may_have_written, verification, CommitContext, Landed, Verify};

use crate::classify::{Detail, Flags, Hint, Kind, Statement};

/// Where a statement goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Writer,
    /// Any eligible reader (chosen by [`choose_reader`]).
    Reader,
    /// This backend, whatever its role (an open read-only transaction, the backend
    /// that ran the previous statement).
    Backend(BackendId),
    /// Nowhere: the client gets the error a server gives (a write inside a read-only
    /// transaction held by a reader: 1792).
    Refuse,
}

/// Why a statement goes where it goes (the `reason` label of the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A read outside any transaction.
    Read,
    /// A write or DDL.
    Write,
    /// BEGIN / START TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT.
    Transaction,
    /// START TRANSACTION READ ONLY.
    ReadOnlyTransaction,
    /// A statement inside an open transaction (or with autocommit off).
    InTransaction,
    /// FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE.
    LockingRead,
    /// A function or variable bound to this connection (LAST_INSERT_ID(), GET_LOCK(), …).
    SideEffectFunction,
    /// Reads or writes user variables a reader does not have.
    UserVariable,
    /// The session has temporary tables.
    TempTable,
    /// LOCK TABLES in effect, or the LOCK/UNLOCK statement itself.
    Lock,
    /// SET, SET NAMES, USE: run on the writer and recorded for the readers.
    SessionState,
    /// Session state a reader cannot reproduce.
    SessionPinned,
    /// More than one statement in one query.
    MultiStatement,
    /// A configured rule.
    Rule,
    /// sqlparser could not parse it.
    ParseFailure,
    /// SHOW WARNINGS and the like: where the previous statement ran.
    LastStatement,
    /// A `/* rwsplit:… */` hint.
    Hint,
    /// No reader is eligible.
    NoReader,
    /// Read-your-writes: no reader had applied the session's (or any) last write in time.
    Consistency,
    /// Anything else the writer runs.
    Other,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::Read => "read",
            Reason::Write => "write",
            Reason::Transaction => "transaction",
            Reason::ReadOnlyTransaction => "read_only_transaction",
            Reason::InTransaction => "in_transaction",
            Reason::LockingRead => "locking_read",
            Reason::SideEffectFunction => "side_effect_function",
            Reason::UserVariable => "user_variable",
            Reason::TempTable => "temp_table",
            Reason::Lock => "lock",
            Reason::SessionState => "session_state",
            Reason::SessionPinned => "session_pinned",
            Reason::MultiStatement => "multi_statement",
            Reason::Rule => "rule",
            Reason::ParseFailure => "parse_failure",
            Reason::LastStatement => "last_statement",
            Reason::Hint => "hint",
            Reason::NoReader => "no_reader",
            Reason::Consistency => "consistency",
            Reason::Other => "other",
        }
    }
}

/// A routing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    pub target: Target,
    pub reason: Reason,
}

impl Route {
    pub const fn writer(reason: Reason) -> Route {
        Route {
            target: Target::Writer,
            reason,
        }
    }
}

/// Decides where `st` runs.
pub fn route(st: &Statement, state: &SessionState, topology: &Topology) -> Route {
    // 1. Transactions stay whole where they began. (BEGIN inside a read-only transaction
    // held by a reader ends it and starts anew: the session commits it on the reader.)
    let reader_tx = matches!(state.tx_backend, Some(Served::Reader(_)));
    if state.in_transaction_scope() && !(reader_tx && st.kind == Kind::Begin) {
        return match state.tx_backend {
            Some(Served::Reader(id)) if topology.is_reader(id) => in_reader_transaction(st, id),
            _ => Route::writer(Reason::InTransaction),
        };
    }
    // 2. LOCK TABLES pins the session to the writer.
    if state.locked_tables {
        return Route::writer(Reason::Lock);
    }
    match st.kind {
        Kind::Begin => match st.detail {
            // Not when the session has what only the writer has.
            Detail::Begin { read_only: true }
                if st.hint != Some(Hint::Writer)
                    && state.temp_tables.is_empty()
                    && !state.reads_on_writer
                    && !state.user_vars_on_writer =>
            {
                reader_or_writer(topology, Reason::ReadOnlyTransaction)
            }
            _ => Route::writer(Reason::Transaction),
        },
        Kind::End | Kind::Savepoint => Route::writer(Reason::Transaction),
        Kind::Read => route_read(st, state, topology),
        Kind::Diagnostics => last_backend(state, topology),
        Kind::Write => Route::writer(Reason::Write),
        Kind::Session => Route::writer(Reason::SessionState),
        Kind::Lock | Kind::Unlock => Route::writer(Reason::Lock),
        Kind::Other => Route::writer(if st.flags.contains(Flags::PARSE_FAILED) {
            Reason::ParseFailure
        } else {
            Reason::Other
        }),
    }
}

/// Inside a read-only transaction held by reader `id`: what could write never reaches
/// the replica (refused); the rest stays there.
fn in_reader_transaction(st: &Statement, id: BackendId) -> Route {
    // SET autocommit on the replica would outlive the transaction there.
    let autocommit = matches!(&st.detail, Detail::Set(e) if e.autocommit.is_some());
    let writes = autocommit
        || matches!(
            st.kind,
            Kind::Write | Kind::Other | Kind::Lock | Kind::Unlock
        )
        || (st.kind == Kind::Read
            && st.flags.intersects(
                Flags::WRITES_DATA
                    | Flags::WRITE_WORD
                    | Flags::LOCKING_READ
                    | Flags::UNKNOWN_FUNCTION
                    | Flags::WRITER_FUNCTION,
            ));
    Route {
        target: if writes {
            Target::Refuse
        } else {
            Target::Backend(id)
        },
        reason: Reason::InTransaction,
    }
}

fn route_read(st: &Statement, state: &SessionState, topology: &Topology) -> Route {
    let f = st.flags;
    if st.hint == Some(Hint::Writer) {
        return Route::writer(Reason::Hint);
    }
    if st.rule == Some(Hint::Writer) {
        return Route::writer(Reason::Rule);
    }
    // Never negotiable, not even with a hint or a rule.
    if f.contains(Flags::LOCKING_READ) {
        return Route::writer(Reason::LockingRead);
    }
    if f.intersects(Flags::WRITES_DATA | Flags::WRITE_WORD) {
        return Route::writer(Reason::Write);
    }
    if f.intersects(
        Flags::WRITER_FUNCTION
            | Flags::WRITER_SYSVAR
            | Flags::CALC_FOUND_ROWS
            | Flags::UNKNOWN_FUNCTION,
    ) {
        return Route::writer(Reason::SideEffectFunction);
    }
    if f.intersects(Flags::USER_VAR_ASSIGN | Flags::INTO) {
        return Route::writer(Reason::UserVariable);
    }
    // The answering server's own threads, counters, locks: where SHOW PROCESSLIST goes.
    if f.contains(Flags::SERVER_LOCAL) {
        return Route::writer(Reason::Other);
    }
    if f.contains(Flags::LAST_STATEMENT) {
        return last_backend(state, topology);
    }
    if f.contains(Flags::MULTI) {
        return Route::writer(Reason::MultiStatement);
    }
    // What only the writer has.
    if !state.temp_tables.is_empty() {
        return Route::writer(Reason::TempTable);
    }
    if state.reads_on_writer {
        return Route::writer(Reason::SessionPinned);
    }
    if state.user_vars_on_writer && f.contains(Flags::USER_VAR_READ) {
        return Route::writer(Reason::UserVariable);
    }
    if st.hint == Some(Hint::Reader) {
        return reader_or_writer(topology, Reason::Hint);
    }
    if st.rule == Some(Hint::Reader) {
        return reader_or_writer(topology, Reason::Rule);
    }
    if f.contains(Flags::PARSE_FAILED) {
        return Route::writer(Reason::ParseFailure);
    }
    reader_or_writer(topology, Reason::Read)
}

fn reader_or_writer(topology: &Topology, reason: Reason) -> Route {
    if topology.has_eligible_reader() {
        Route {
            target: Target::Reader,
            reason,
        }
    } else {
        Route::writer(Reason::NoReader)
    }
}

fn last_backend(state: &SessionState, topology: &Topology) -> Route {
    match state.last {
        Some(Served::Reader(id)) if topology.get(id).is_some() => Route {
            target: Target::Backend(id),
            reason: Reason::LastStatement,
        },
        _ => Route::writer(Reason::LastStatement),
    }
}
