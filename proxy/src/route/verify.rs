//! How a session can learn, after a failover, whether a COMMIT (or an autocommit write)
//! whose answer was lost committed (`failover.verify_commits`): [`verification`] says
//! what a statement gets. Pure. The mechanism it serves: a marker row with a unique id is
//! written inside the transaction just before its COMMIT (for an autocommit write, inside
//! a transaction rwsplit opens around it), so the marker is committed exactly when the
//! transaction is; after a failover the new writer is asked for the marker.

use crate::classify::{Detail, Flags, Kind, Statement};

/// What a statement bound for the writer needs so its outcome can be learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Nothing: not a COMMIT or autocommit write, or verification is off.
    None,
    /// COMMIT of a transaction that wrote: the marker is sent just before it, in the
    /// same round trip.
    Commit,
    /// COMMIT of a transaction that wrote nothing: committed or not, nothing changes, so
    /// a lost answer is answered OK.
    CommitNothing,
    /// An autocommit INSERT / UPDATE / DELETE / REPLACE: run as BEGIN, the statement
    /// (its answer kept), then the marker and COMMIT; the client gets the statement's
    /// answer once COMMIT succeeded.
    Autocommit,
}

/// The session facts [`verification`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitContext {
    /// `failover.verify_commits`.
    pub on: bool,
    /// A transaction has begun on the writer connection.
    pub in_transaction: bool,
    /// It wrote (or may have written) something.
    pub wrote: bool,
    /// autocommit is on.
    pub autocommit: bool,
    /// The statement text contains RETURNING (its answer is rows, which are not held).
    pub returning: bool,
}

/// What a statement needs for its outcome to be learnt after a lost answer.
pub fn verification(st: &Statement, cx: CommitContext) -> Verify {
    if !cx.on || !st.parts.is_empty() {
        return Verify::None;
    }
    match st.kind {
        Kind::End if cx.in_transaction && st.detail == Detail::Commit => match cx.wrote {
            true => Verify::Commit,
            false => Verify::CommitNothing,
        },
        Kind::Write
            if !cx.in_transaction
                && cx.autocommit
                && st.flags.contains(Flags::DML)
                && !cx.returning =>
        {
            Verify::Autocommit
        }
        _ => Verify::None,
    }
}

/// True when a statement run inside a transaction may have written: anything but a read
/// that calls nothing that could write, BEGIN, a savepoint, SHOW WARNINGS.
pub fn may_have_written(st: &Statement) -> bool {
    let may_write = Flags::WRITES_DATA
        | Flags::WRITE_WORD
        | Flags::WRITER_FUNCTION
        | Flags::UNKNOWN_FUNCTION
        | Flags::SEQUENCE
        | Flags::INTO
        | Flags::PARSE_FAILED
        | Flags::MULTI;
    let one = |s: &Statement| match s.kind {
        Kind::Read => s.flags.intersects(may_write),
        Kind::Begin | Kind::Savepoint | Kind::Diagnostics => false,
        _ => true,
    };
    one(st) || st.parts.iter().any(one)
}

/// What the session learnt of a lost COMMIT's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// The marker is on the writer: the transaction committed.
    Committed,
    /// It is not, and the old transaction cannot commit any more (its server is gone,
    /// or its connection was killed and has ended): it was rolled back.
    RolledBack,
}
