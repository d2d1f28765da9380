//! What a session keeps of its open transaction so it can replay it on a new writer after
//! a failover ([`log_step`]), and which statements a transaction can be replayed through
//! ([`transactional`]). Pure. The rule: a transaction is replayed only when everything
//! it did is in the log and nothing of it can have been committed, so that the new
//! writer, given the same statements and giving the same answers, holds exactly what the
//! client was told the old one held.

use crate::classify::{Detail, Flags, Kind, Statement};

/// True when a statement stays inside an open transaction: a read, a DML statement, a
/// savepoint, a session change other than turning autocommit on, temporary tables, and
/// SHOW WARNINGS and the like. Anything else (DDL, BEGIN, LOCK TABLES, CALL, XA, admin
/// statements, SET autocommit = 1) may commit the transaction implicitly.
pub fn transactional(st: &Statement) -> bool {
    let one = |s: &Statement| match s.kind {
        Kind::Read | Kind::Diagnostics | Kind::Savepoint => true,
        Kind::Write => {
            s.flags.contains(Flags::DML)
                || matches!(
                    s.detail,
                    Detail::CreateTemporary { .. }
                        | Detail::DropTables {
                            temporary: true,
                            ..
                        }
                )
        }
        Kind::Session => match &s.detail {
            Detail::Set(e) => e.autocommit != Some(true),
            _ => true,
        },
        Kind::Begin | Kind::End | Kind::Lock | Kind::Unlock | Kind::Other => false,
    };
    match st.parts.is_empty() {
        true => one(st),
        false => st.parts.iter().all(one),
    }
}

/// Why an open transaction cannot be replayed (the `outcome` label of
/// `rwsplit_replays_total` when a replay was needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreplayable {
    /// Its statements passed `failover.replay_max_bytes` (or the session's memory).
    TooLarge,
    /// A statement in it failed: whether the server rolled the transaction back (a
    /// deadlock does) is not known.
    Error,
    /// It sent a client file (LOAD DATA LOCAL INFILE), which cannot be read again.
    LocalInfile,
    /// An XA transaction (its PREPARE outlives the connection).
    Xa,
    /// A statement that may have committed it implicitly left a transaction open.
    ImplicitCommit,
    /// `failover.replay_max_bytes` is 0.
    Off,
    /// Its start was not recorded (it began while replay was off).
    Unrecorded,
}

impl Unreplayable {
    pub fn label(self) -> &'static str {
        match self {
            Unreplayable::TooLarge => "too_large",
            _ => "not_replayable",
        }
    }

    /// Why, in the client's error message.
    pub fn why(self) -> &'static str {
        match self {
            Unreplayable::TooLarge => "it is larger than failover.replay_max_bytes",
            Unreplayable::Error => "a statement in it failed",
            Unreplayable::LocalInfile => "it sent a file with LOAD DATA LOCAL INFILE",
            Unreplayable::Xa => "it is an XA transaction",
            Unreplayable::ImplicitCommit => "a statement in it may have committed it",
            Unreplayable::Off => "failover.replay_max_bytes is 0",
            Unreplayable::Unrecorded => "it began while replay was off",
        }
    }
}

/// What the session knows of a statement that just ran on the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ran {
    /// A transaction had begun on the writer connection before it.
    pub open_before: bool,
    /// One is open after it (as the server reported).
    pub open_after: bool,
    /// It answered an error (in any of its statements).
    pub failed: bool,
    /// [`transactional`].
    pub transactional: bool,
    /// BEGIN / START TRANSACTION.
    pub begins: bool,
    /// SET TRANSACTION without a scope: the next transaction's characteristics.
    pub sets_next_transaction: bool,
    /// An XA statement, or an XA transaction is active.
    pub xa: bool,
    /// It read a client file.
    pub local_infile: bool,
}

/// What the transaction log does with a statement that ran on the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStep {
    /// No transaction is open: the log is emptied.
    Clear,
    /// It began the transaction (BEGIN, or a first statement with autocommit off): the
    /// log restarts with the pending SET TRANSACTION statements, then this one.
    Start,
    /// Part of the open transaction: appended.
    Push,
    /// Kept to start the next transaction with (SET TRANSACTION).
    Prelude,
    /// The open transaction cannot be replayed, until it ends.
    Spoil(Unreplayable),
}

/// What to do with the log after statement `r`.
pub fn log_step(r: Ran) -> LogStep {
    use LogStep::*;
    if r.xa && (r.open_after || r.open_before) {
        return Spoil(Unreplayable::Xa);
    }
    if !r.open_after {
        return match r.sets_next_transaction && !r.failed {
            true => Prelude,
            false => Clear,
        };
    }
    if r.local_infile {
        return Spoil(Unreplayable::LocalInfile);
    }
    if r.failed {
        return Spoil(Unreplayable::Error);
    }
    match (r.open_before, r.begins, r.transactional) {
        // BEGIN commits an open transaction implicitly, then starts one.
        (_, true, _) => Start,
        (false, false, true) => Start,
        (true, false, true) => Push,
        (_, false, false) => Spoil(Unreplayable::ImplicitCommit),
    }
}
