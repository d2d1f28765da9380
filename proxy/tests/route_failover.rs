//! Failover decisions (`route::recover`, `route::effect`, `route::writer_for_hold`) on
//! tables of cases, and the read-only refusal a switchover produces. Pure. The rule every
//! row keeps: a statement goes again only when it did not run (not sent, refused as
//! read-only) or when running it twice changes nothing (a read outside a transaction).

use rwsplit::classify::Classifier;
use rwsplit::protocol::err::is_read_only_refusal;
use rwsplit::protocol::SqlError;
use rwsplit::route::{
    effect, recover, replay_wanted, writer_for_hold, Backend, BackendId, Effect, OutcomeCheck,
    Recovery, Role, Situation, Topology, WriterFailure,
};

use Effect::*;
use Recovery as R;
use WriterFailure::*;

fn situation(failure: WriterFailure, effect: Effect, tx: bool, may_hold: bool) -> Situation {
    replayable(failure, effect, tx, may_hold, false)
}

fn replayable(
    failure: WriterFailure,
    effect: Effect,
    tx: bool,
    may_hold: bool,
    replayable: bool,
) -> Situation {
    Situation {
        failure,
        effect,
        in_transaction: tx,
        may_hold,
        replayable,
        check: OutcomeCheck::None,
    }
}

#[test]
fn what_happens_after_each_failure() {
    // (failure, effect, in a transaction, may still hold) -> decision
    let table = [
        // No writer: nothing was sent. Outside a transaction it waits, then 1105.
        (NoWriter, Change, false, true, R::Hold),
        (NoWriter, Read, false, true, R::Hold),
        (NoWriter, Commit, false, true, R::Hold),
        (NoWriter, Change, false, false, R::NoWriter),
        (NoWriter, Read, false, false, R::NoWriter),
        // Inside one, its work died with the old writer's connection.
        (NoWriter, Change, true, true, R::TransactionLost),
        (NoWriter, Commit, true, true, R::TransactionLost),
        // Refused as read-only: it did not run; outside a transaction it waits for the
        // next writer; inside, the old writer still holds the transaction's work.
        (ReadOnly, Change, false, true, R::Hold),
        (ReadOnly, Change, false, false, R::PassRefusal),
        (ReadOnly, Change, true, true, R::PassRefusal),
        (ReadOnly, Commit, true, true, R::PassRefusal),
        // Lost after it was sent: it may have run. Only a read goes again.
        (Lost, Read, false, true, R::Hold),
        (Lost, Read, false, false, R::ReadLost),
        (Lost, Change, false, true, R::OutcomeUnknown),
        (Lost, Commit, false, true, R::OutcomeUnknown),
        (Lost, Change, true, true, R::TransactionLost),
        (Lost, Read, true, true, R::TransactionLost),
        (Lost, Commit, true, true, R::OutcomeUnknown),
        // BEGIN: outside a transaction it commits nothing; inside, it commits.
        (Lost, Begin, false, true, R::Hold),
        (Lost, Begin, false, false, R::ReadLost),
        (Lost, Begin, true, true, R::OutcomeUnknown),
        // The client saw part of the answer.
        (LostMidAnswer, Read, false, true, R::Close),
        (LostMidAnswer, Change, true, true, R::Close),
        // A fetch from a cursor cannot go to another connection.
        (NoWriter, Bound, false, true, R::ReadLost),
        (Lost, Bound, false, true, R::ReadLost),
        (Lost, Bound, true, true, R::TransactionLost),
        (LostMidAnswer, Bound, false, true, R::Close),
    ];
    for (failure, effect, tx, may_hold, want) in table {
        let got = recover(situation(failure, effect, tx, may_hold));
        assert_eq!(
            got, want,
            "{failure:?} of a {effect:?} (in transaction: {tx}, may hold: {may_hold})"
        );
    }
}

#[test]
fn a_transaction_that_can_be_replayed_is_replayed_unless_it_may_have_committed() {
    // (failure, effect, may still hold) -> decision, in a replayable transaction
    let table = [
        // Its connection died before the statement was sent, or the old writer refused
        // it as read-only (it still holds the transaction, rolled back by closing).
        (NoWriter, Change, true, R::Replay),
        (NoWriter, Read, true, R::Replay),
        (NoWriter, Commit, true, R::Replay),
        (ReadOnly, Change, true, R::Replay),
        (ReadOnly, Commit, true, R::Replay),
        // Lost after it was sent: the server rolled the transaction back, unless the
        // statement was its COMMIT (or may have committed it): then nobody knows.
        (Lost, Change, true, R::Replay),
        (Lost, Read, true, R::Replay),
        (Lost, Commit, true, R::OutcomeUnknown),
        (Lost, Begin, true, R::OutcomeUnknown),
        (NoWriter, Begin, true, R::Replay),
        // Past the hold: as without replay.
        (NoWriter, Change, false, R::TransactionLost),
        (Lost, Change, false, R::TransactionLost),
        (ReadOnly, Change, false, R::PassRefusal),
        // Part of an answer sent, or a cursor on the lost connection.
        (LostMidAnswer, Change, true, R::Close),
        (Lost, Bound, true, R::TransactionLost),
        (NoWriter, Bound, true, R::TransactionLost),
    ];
    for (failure, effect, may_hold, want) in table {
        let got = recover(replayable(failure, effect, true, may_hold, true));
        assert_eq!(
            got, want,
            "{failure:?} of a {effect:?} (may hold: {may_hold})"
        );
    }
    // Outside a transaction there is nothing to replay.
    for failure in [NoWriter, ReadOnly, Lost] {
        let s = replayable(failure, Change, false, true, true);
        assert_ne!(recover(s), R::Replay, "{failure:?} outside a transaction");
        assert!(!replay_wanted(s));
    }
}

#[test]
fn nothing_that_may_have_run_is_sent_again_unless_it_is_a_read_outside_a_transaction() {
    let failures = [NoWriter, ReadOnly, Lost, LostMidAnswer];
    let effects = [Read, Commit, Begin, Change, Bound];
    for failure in failures {
        for effect in effects {
            for (tx, may_hold, can) in (0..8).map(|i| (i & 1 != 0, i & 2 != 0, i & 4 != 0)) {
                {
                    let got = recover(replayable(failure, effect, tx, may_hold, can));
                    if got == R::Replay {
                        // Replayed: the transaction died (or was refused) and the
                        // statement cannot have committed it.
                        assert!(tx && may_hold && can, "{failure:?}/{effect:?}: a replay");
                        assert!(
                            !(failure == Lost && effect == Commit),
                            "a lost COMMIT replayed"
                        );
                        assert!(failure != LostMidAnswer && effect != Bound);
                        continue;
                    }
                    if got != R::Hold {
                        continue;
                    }
                    assert!(may_hold, "{failure:?}/{effect:?}: a hold past the deadline");
                    assert!(!tx, "{failure:?}/{effect:?}: a hold inside a transaction");
                    let did_not_run = matches!(failure, NoWriter | ReadOnly);
                    // A BEGIN outside a transaction commits nothing; the transaction
                    // it began died with the connection.
                    let harmless = matches!(effect, Read | Begin);
                    assert!(
                        did_not_run || (failure == Lost && harmless),
                        "{failure:?}/{effect:?} would be sent twice"
                    );
                }
            }
        }
    }
}

#[test]
fn only_repeatable_reads_count_as_reads() {
    let c = Classifier::default();
    let table = [
        ("SELECT * FROM books WHERE id = 7", Read),
        ("SELECT c FROM sbtest1 WHERE id = 1 FOR UPDATE", Read),
        ("SELECT @a", Read),
        ("COMMIT", Commit),
        ("INSERT INTO t VALUES (1)", Change),
        ("UPDATE t SET a = 1", Change),
        ("SET @a = 1", Change),
        ("SELECT my_stored_function(1)", Change),
        ("SELECT NEXTVAL(s)", Change),
        ("SELECT LAST_INSERT_ID()", Change),
        ("SELECT ROW_COUNT()", Change),
        ("SELECT a INTO OUTFILE '/tmp/x' FROM t", Change),
        ("SELECT 1; SELECT 2", Change),
        // Statements that may commit an open transaction count as a COMMIT.
        ("CALL p()", Commit),
        ("CREATE TABLE t (a INT)", Commit),
        ("ALTER TABLE t ADD b INT", Commit),
        ("TRUNCATE t", Commit),
        ("BEGIN", Begin),
        ("START TRANSACTION READ ONLY", Begin),
        ("BEGIN; INSERT INTO t VALUES (1)", Commit),
        ("LOCK TABLES t WRITE", Commit),
        ("SET autocommit = 1", Commit),
        ("CREATE TEMPORARY TABLE tt (a INT)", Change),
        ("DELETE FROM t WHERE a = 1", Change),
        ("REPLACE INTO t VALUES (1)", Change),
        ("SAVEPOINT s", Change),
        ("SET autocommit = 0", Change),
    ];
    for (sql, want) in table {
        assert_eq!(effect(&c.classify(sql.as_bytes())), want, "{sql}");
    }
}

fn topo(writer: Option<u32>, up: bool) -> Topology {
    let mut w = Backend::new(BackendId(1), "w:1", Role::Writer);
    w.up = up;
    let mut backends = vec![w, Backend::new(BackendId(2), "r:1", Role::Reader)];
    if writer == Some(3) {
        backends.push(Backend::new(BackendId(3), "n:1", Role::Writer));
    }
    Topology {
        writer: writer.map(BackendId),
        backends,
    }
}

#[test]
fn a_held_statement_goes_to_an_up_writer_other_than_the_one_that_refused_it() {
    let old = Some(BackendId(1));
    // (writer, up, refusing, the refusing one left the writer role since) -> may go
    let table = [
        (None, true, None, false, false),
        (Some(1), false, None, false, false),
        (Some(1), true, None, false, true),
        (Some(1), true, old, false, false),
        (Some(1), true, old, true, true),
        (Some(3), true, old, false, true),
    ];
    for (writer, up, refusing, left, want) in table {
        let t = topo(writer, up);
        assert_eq!(
            writer_for_hold(&t, refusing, left),
            want,
            "writer {writer:?} up {up}, refusing {refusing:?}, left {left}"
        );
    }
}

#[test]
fn read_only_refusals_are_recognised_and_nothing_else() {
    let packet_saying = |code: u16, text: &str| {
        let payload = SqlError::new(code, b"HY000", text).payload();
        let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        p.push(1);
        p.extend_from_slice(&payload);
        p
    };
    let packet = |code| {
        packet_saying(
            code,
            "The MariaDB server is running with the --read-only option",
        )
    };
    assert!(is_read_only_refusal(&packet(1290)));
    let mysql = "The MySQL server is running with the --super-read-only option so it cannot execute this statement";
    assert!(is_read_only_refusal(&packet_saying(1290, mysql)));
    // 1290 for another option: no failover will change that.
    let file_priv = "The MariaDB server is running with the --secure-file-priv option so it cannot execute this statement";
    assert!(!is_read_only_refusal(&packet_saying(1290, file_priv)));
    assert!(is_read_only_refusal(&packet(1836)));
    assert!(!is_read_only_refusal(&packet(1062)));
    assert!(!is_read_only_refusal(&packet(1105)));
    // Truncated, longer than one packet, an OK packet, nothing.
    let p = packet(1290);
    assert!(!is_read_only_refusal(&p[..p.len() - 1]));
    let mut two = p.clone();
    two.extend_from_slice(&p);
    assert!(!is_read_only_refusal(&two));
    assert!(!is_read_only_refusal(&[7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]));
    assert!(!is_read_only_refusal(&[]));
}

#[test]
fn a_lost_commit_with_a_marker_is_looked_for_and_never_sent_again() {
    use OutcomeCheck::*;
    let with = |failure, effect, tx, may_hold, check| Situation {
        check,
        ..replayable(failure, effect, tx, may_hold, true)
    };
    // (failure, effect, in a transaction, may hold, check) -> decision
    let table = [
        // A COMMIT lost after it was sent: its marker tells, within the hold.
        (Lost, Commit, true, true, Marker, R::Verify),
        (Lost, Commit, true, false, Marker, R::OutcomeUnknown),
        (Lost, Commit, true, true, None, R::OutcomeUnknown),
        // An autocommit write wrapped in rwsplit's transaction, its COMMIT lost.
        (Lost, Change, false, true, Marker, R::Verify),
        (Lost, Change, false, false, Marker, R::OutcomeUnknown),
        // A transaction that wrote nothing: either outcome is the same.
        (Lost, Commit, true, true, Nothing, R::CommitNothing),
        (Lost, Commit, true, false, Nothing, R::CommitNothing),
        // Cut short while the client received an answer: closing is still the only way.
        (LostMidAnswer, Commit, true, true, Marker, R::Close),
        // Not sent, or refused: as without a marker (nothing ran).
        (NoWriter, Commit, true, true, Marker, R::Replay),
        (ReadOnly, Commit, true, true, Marker, R::Replay),
    ];
    for (failure, effect, tx, may_hold, check, want) in table {
        let got = recover(with(failure, effect, tx, may_hold, check));
        assert_eq!(
            got, want,
            "{failure:?} of a {effect:?} ({check:?}, may hold: {may_hold})"
        );
    }
}

#[test]
fn only_plain_commits_of_transactions_and_autocommit_dml_are_verified() {
    use rwsplit::route::{verification, CommitContext, Verify};
    let c = Classifier::default();
    let tx = CommitContext {
        on: true,
        in_transaction: true,
        wrote: true,
        autocommit: true,
        returning: false,
    };
    let auto = CommitContext {
        in_transaction: false,
        ..tx
    };
    let table = [
        ("COMMIT", tx, Verify::Commit),
        ("commit work", tx, Verify::Commit),
        (
            "COMMIT",
            CommitContext { wrote: false, ..tx },
            Verify::CommitNothing,
        ),
        ("COMMIT AND CHAIN", tx, Verify::None),
        ("COMMIT RELEASE", tx, Verify::None),
        ("ROLLBACK", tx, Verify::None),
        ("COMMIT", CommitContext { on: false, ..tx }, Verify::None),
        ("INSERT INTO t VALUES (1)", auto, Verify::Autocommit),
        ("UPDATE t SET a = 1 WHERE id = 2", auto, Verify::Autocommit),
        ("DELETE FROM t WHERE id = 2", auto, Verify::Autocommit),
        ("REPLACE INTO t VALUES (1)", auto, Verify::Autocommit),
        ("INSERT INTO t VALUES (1)", tx, Verify::None),
        (
            "INSERT INTO t VALUES (1)",
            CommitContext {
                autocommit: false,
                ..auto
            },
            Verify::None,
        ),
        (
            "INSERT INTO t VALUES (1) RETURNING id",
            CommitContext {
                returning: true,
                ..auto
            },
            Verify::None,
        ),
        ("CREATE TABLE t (a INT)", auto, Verify::None),
        (
            "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)",
            auto,
            Verify::None,
        ),
        ("SELECT 1", auto, Verify::None),
    ];
    for (sql, cx, want) in table {
        assert_eq!(
            verification(&c.classify(sql.as_bytes()), cx),
            want,
            "{sql} in {cx:?}"
        );
    }
}
