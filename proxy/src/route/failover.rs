//! What a session does when a statement bound for the writer fails because the writer is
//! missing, moving or gone ([`recover`]), and when a writer is there to take a held
//! statement ([`writer_for_hold`]). Pure. The rule every answer keeps: a statement is
//! sent again only when it is known not to have run (never sent, or refused for
//! read-only), or when running it twice cannot change anything (a read outside a
//! transaction).

use super::topology::{BackendId, Topology};

/// How a statement bound for the writer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterFailure {
    /// No writer in the topology, or its connection could not be opened or brought to
    /// the session's state: nothing of the statement was sent.
    NoWriter,
    /// The writer answered the statement with 1290 or 1836 (it is read-only, as during a
    /// switchover): the statement did not run.
    ReadOnly,
    /// The connection broke after the statement was sent, before any of its answer
    /// reached the client: it may or may not have run.
    Lost,
    /// The connection broke while the client was receiving the answer.
    LostMidAnswer,
}

/// What the failed statement is, for deciding whether it may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A read that changes nothing (running it twice is harmless).
    Read,
    /// The end of the open transaction: COMMIT, ROLLBACK, XA COMMIT / ROLLBACK (the
    /// classifier does not tell a COMMIT from a ROLLBACK, so both count as a COMMIT),
    /// and any statement that may commit it implicitly (DDL, BEGIN, LOCK TABLES, CALL…:
    /// see `route::transactional`).
    Commit,
    /// BEGIN / START TRANSACTION: inside a transaction it commits it (as a COMMIT);
    /// outside one it commits nothing, and a BEGIN lost with its connection began a
    /// transaction that died with it, so it may be sent again.
    Begin,
    /// Anything else: it may change data or state.
    Change,
    /// Bound to the connection it ran on (a fetch from a cursor): it cannot go elsewhere.
    Bound,
}

/// The situation the failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    pub failure: WriterFailure,
    pub effect: Effect,
    /// The session's transaction had begun on the writer connection (the server said
    /// IN_TRANS, or an XA transaction is active): its work lives only there.
    pub in_transaction: bool,
    /// The session may still wait (`failover.hold_ms` is not used up).
    pub may_hold: bool,
    /// The open transaction is all in the session's log and can be replayed on another
    /// writer (see `route::log_step`).
    pub replayable: bool,
    /// How the outcome of a lost COMMIT or autocommit write can be learnt
    /// (`failover.verify_commits`).
    pub check: OutcomeCheck,
}

/// How the outcome of a statement whose answer was lost can be learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutcomeCheck {
    /// It cannot.
    #[default]
    None,
    /// A marker was written in its transaction, to look for on the writer.
    Marker,
    /// A COMMIT of a transaction that wrote nothing: either outcome is the same.
    Nothing,
}

/// What the session does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Wait for a writer, then send the statement again (not to the writer that refused
    /// it as read-only, unless that one left the writer role and came back: see
    /// [`writer_for_hold`]).
    Hold,
    /// The open transaction is gone with its connection (rolled back), or the statement
    /// was refused as read-only by a writer that still holds it (rolled back there by
    /// closing the connection): wait for a writer, replay the transaction there, compare
    /// every answer with what the client was sent, then send the statement.
    Replay,
    /// The statement did not run and no writer came in time: 1105.
    NoWriter,
    /// Wait for a writer, then look for the marker written in the statement's
    /// transaction: there, the client gets the OK; not there, it was rolled back (a
    /// transaction is replayed, an autocommit write sent again).
    Verify,
    /// The COMMIT of a transaction that wrote nothing: the client gets its OK.
    CommitNothing,
    /// Pass on the server's refusal (1290 / 1836) as it came.
    PassRefusal,
    /// The open transaction was rolled back by the server when its connection died: 1927.
    TransactionLost,
    /// A write or COMMIT whose answer was lost may have committed: 1927 "outcome unknown".
    OutcomeUnknown,
    /// A read whose connection broke and that cannot wait any longer, or a fetch whose
    /// cursor was on a connection that is gone: 1927.
    ReadLost,
    /// The client saw part of an answer: only closing the session is honest.
    Close,
}

/// What to do after a statement bound for the writer failed.
pub fn recover(s: Situation) -> Recovery {
    use Recovery::*;
    match s.failure {
        WriterFailure::LostMidAnswer => Close,
        _ if s.effect == Effect::Bound && s.in_transaction => TransactionLost,
        _ if s.effect == Effect::Bound => ReadLost,
        // A COMMIT (or a statement that may commit) lost after it was sent may have
        // committed: never replayed, only looked for (its marker). Anything else did not
        // run, or died with the transaction.
        WriterFailure::Lost if s.check == OutcomeCheck::Nothing => CommitNothing,
        WriterFailure::Lost if s.check == OutcomeCheck::Marker && s.may_hold => Verify,
        WriterFailure::Lost if s.effect == Effect::Commit => OutcomeUnknown,
        WriterFailure::Lost if s.effect == Effect::Begin && s.in_transaction => OutcomeUnknown,
        _ if replay_wanted(s) && s.replayable && s.may_hold => Replay,
        WriterFailure::NoWriter if s.in_transaction => TransactionLost,
        WriterFailure::NoWriter if s.may_hold => Hold,
        WriterFailure::NoWriter => NoWriter,
        // Inside a transaction that cannot be replayed the refusing server still holds
        // its work: the client decides (a ROLLBACK there, then the transaction again).
        WriterFailure::ReadOnly if s.in_transaction => PassRefusal,
        WriterFailure::ReadOnly if s.may_hold => Hold,
        WriterFailure::ReadOnly => PassRefusal,
        WriterFailure::Lost => match (s.in_transaction, s.effect) {
            (true, _) => TransactionLost,
            (false, Effect::Read | Effect::Begin) if s.may_hold => Hold,
            (false, Effect::Read | Effect::Begin) => ReadLost,
            (false, _) => OutcomeUnknown,
        },
    }
}

/// True when the failure rolled back (or, at a read-only refusal, left behind) an open
/// transaction that replaying would bring back: it is open, and the failed statement
/// did not commit it (a COMMIT lost after it was sent may have) and is not bound to the
/// lost connection (a cursor fetch), and no answer was cut short.
pub fn replay_wanted(s: Situation) -> bool {
    s.in_transaction
        && s.effect != Effect::Bound
        && match s.failure {
            WriterFailure::NoWriter | WriterFailure::ReadOnly => true,
            WriterFailure::Lost => !matches!(s.effect, Effect::Commit | Effect::Begin),
            WriterFailure::LostMidAnswer => false,
        }
}

/// True when the topology has a writer a held statement may go to: one that is up, and
/// not `refusing` (the writer that refused it for being read-only) unless that one has
/// left the writer role since (`left`) and is back.
pub fn writer_for_hold(topo: &Topology, refusing: Option<BackendId>, left: bool) -> bool {
    let Some(w) = topo.writer else {
        return false;
    };
    let up = topo.get(w).is_some_and(|b| b.up);
    up && (Some(w) != refusing || left)
}

/// What a statement is to [`recover`]: a read that may run twice, a COMMIT, or a change.
pub fn effect(st: &crate::classify::Statement) -> Effect {
    use crate::classify::{Flags, Kind};
    // A read that runs twice may still change something: a stored function, a file
    // written by INTO OUTFILE, a sequence; or answer differently on a new connection.
    let not_repeatable = Flags::WRITER_FUNCTION
        | Flags::INTO
        | Flags::WRITES_DATA
        | Flags::WRITE_WORD
        | Flags::UNKNOWN_FUNCTION
        | Flags::SEQUENCE
        | Flags::PARSE_FAILED
        | Flags::LAST_STATEMENT
        | Flags::LAST_INSERT_ID
        | Flags::WRITER_SYSVAR
        | Flags::MULTI;
    match st.kind {
        Kind::End => Effect::Commit,
        Kind::Begin if st.parts.is_empty() => Effect::Begin,
        _ if !super::transactional(st) => Effect::Commit,
        Kind::Read if st.parts.is_empty() && !st.flags.intersects(not_repeatable) => Effect::Read,
        _ => Effect::Change,
    }
}
