//! What a session keeps of an open transaction for a replay (`route::log_step`), and which
//! statements keep a transaction open (`route::transactional`), on tables of cases. Pure.
//! The rule every row keeps: the log is replayable only when it holds everything the
//! transaction did since it began, and nothing of the transaction can have been
//! committed.

use rwsplit::classify::Classifier;
use rwsplit::route::{log_step, transactional, LogStep, RanOnWriter, Unreplayable};

#[test]
fn statements_that_may_commit_implicitly_are_not_transactional() {
    let c = Classifier::default();
    let table = [
        ("SELECT * FROM t WHERE id = 1", true),
        ("SELECT * FROM t WHERE id = 1 FOR UPDATE", true),
        ("INSERT INTO t VALUES (1)", true),
        ("insert into t values (?)", true),
        ("UPDATE t SET a = a + 1 WHERE id = 1", true),
        ("DELETE FROM t WHERE id = 1", true),
        ("REPLACE INTO t VALUES (1)", true),
        ("WITH x AS (SELECT 1) SELECT * FROM x", true),
        ("SAVEPOINT s1", true),
        ("ROLLBACK TO SAVEPOINT s1", true),
        ("RELEASE SAVEPOINT s1", true),
        ("SET @a = 1", true),
        ("SET NAMES utf8mb4", true),
        ("SET autocommit = 0", true),
        ("SHOW WARNINGS", true),
        ("CREATE TEMPORARY TABLE tt (a INT)", true),
        ("DROP TEMPORARY TABLE tt", true),
        ("SELECT 1; INSERT INTO t VALUES (2)", true),
        // Implicit commits (MariaDB's list): DDL, account management, BEGIN, locks,
        // SET autocommit = 1, and what rwsplit cannot see inside (CALL).
        ("CREATE TABLE t2 (a INT)", false),
        ("ALTER TABLE t ADD COLUMN b INT", false),
        ("DROP TABLE t", false),
        ("RENAME TABLE t TO t3", false),
        ("TRUNCATE TABLE t", false),
        ("CREATE INDEX i ON t (a)", false),
        ("GRANT SELECT ON *.* TO u", false),
        ("BEGIN", false),
        ("START TRANSACTION", false),
        ("COMMIT", false),
        ("LOCK TABLES t WRITE", false),
        ("UNLOCK TABLES", false),
        ("SET autocommit = 1", false),
        ("CALL p()", false),
        ("XA START 'x'", false),
        ("FLUSH TABLES", false),
        ("ANALYZE TABLE t", false),
        ("LOAD DATA INFILE '/tmp/x' INTO TABLE t", false),
        ("INSERT INTO t VALUES (1); CREATE TABLE t4 (a INT)", false),
    ];
    for (sql, want) in table {
        assert_eq!(transactional(&c.classify(sql.as_bytes())), want, "{sql}");
    }
}

fn ran(open_before: bool, open_after: bool) -> RanOnWriter {
    RanOnWriter {
        open_before,
        open_after,
        transactional: true,
        ..Default::default()
    }
}

#[test]
fn the_log_follows_the_transaction_from_its_start_to_its_end() {
    use LogStep::*;
    let begin = RanOnWriter {
        begins: true,
        transactional: false,
        ..ran(false, true)
    };
    let table = [
        // BEGIN, or the first statement with autocommit off, starts it.
        ("BEGIN", begin, Start),
        (
            "the first statement with autocommit off",
            ran(false, true),
            Start,
        ),
        // BEGIN inside one commits it and starts another: the log starts again.
        (
            "BEGIN inside a transaction",
            RanOnWriter {
                open_before: true,
                ..begin
            },
            Start,
        ),
        ("a statement in it", ran(true, true), Push),
        // COMMIT, ROLLBACK, a DDL's implicit commit, a deadlock: no transaction after.
        ("its end", ran(true, false), Clear),
        (
            "a DDL that committed it",
            RanOnWriter {
                transactional: false,
                ..ran(true, false)
            },
            Clear,
        ),
        ("an autocommit statement", ran(false, false), Clear),
        // Cannot be replayed until it ends.
        (
            "an error inside it (a deadlock may have rolled it back)",
            RanOnWriter {
                failed: true,
                ..ran(true, true)
            },
            Spoil(Unreplayable::Error),
        ),
        (
            "a statement that may have committed it, with one open after",
            RanOnWriter {
                transactional: false,
                ..ran(true, true)
            },
            Spoil(Unreplayable::ImplicitCommit),
        ),
        (
            "LOAD DATA LOCAL INFILE in it",
            RanOnWriter {
                local_infile: true,
                ..ran(true, true)
            },
            Spoil(Unreplayable::LocalInfile),
        ),
        (
            "XA",
            RanOnWriter {
                xa: true,
                ..ran(false, true)
            },
            Spoil(Unreplayable::Xa),
        ),
        (
            "XA END inside it",
            RanOnWriter {
                xa: true,
                ..ran(true, true)
            },
            Spoil(Unreplayable::Xa),
        ),
        // SET TRANSACTION before it: kept to start the next transaction with.
        (
            "SET TRANSACTION",
            RanOnWriter {
                sets_next_transaction: true,
                ..ran(false, false)
            },
            Prelude,
        ),
        (
            "a SET TRANSACTION that failed",
            RanOnWriter {
                sets_next_transaction: true,
                failed: true,
                ..ran(false, false)
            },
            Clear,
        ),
    ];
    for (what, r, want) in table {
        assert_eq!(log_step(r), want, "{what}");
    }
}

#[test]
fn a_log_that_is_kept_never_follows_a_statement_that_may_have_committed() {
    // Every combination: Push or Start only for a statement that stays inside a
    // transaction (or begins one), that succeeded, read no client file and is not XA.
    for bits in 0..256u32 {
        let b = |i: u32| bits & (1 << i) != 0;
        let r = RanOnWriter {
            open_before: b(0),
            open_after: b(1),
            failed: b(2),
            transactional: b(3),
            begins: b(4),
            sets_next_transaction: b(5),
            xa: b(6),
            local_infile: b(7),
        };
        let step = log_step(r);
        if matches!(step, LogStep::Start | LogStep::Push) {
            assert!(
                r.open_after && !r.failed && !r.xa && !r.local_infile,
                "{r:?}"
            );
            assert!(r.transactional || r.begins, "{r:?}: {step:?}");
        }
        if step == LogStep::Push {
            assert!(r.open_before && !r.begins, "{r:?}");
        }
        if !r.open_after {
            assert!(
                matches!(step, LogStep::Clear | LogStep::Prelude | LogStep::Spoil(_)),
                "{r:?}"
            );
        }
    }
}
