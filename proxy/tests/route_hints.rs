//! Routing hints in a leading comment: `/* rwsplit:writer */` forces the writer;
//! `/* rwsplit:reader */` sends a read to a reader, but never a locking read, a write or
//! anything bound to the writer, and is ignored inside a transaction or while the session
//! has what only the writer has.

mod common_route;

use std::collections::BTreeSet;

use common_route::{no_readers, topology};
use rwsplit::classify::{Classifier, Hint};
use rwsplit::route::{route, Reason, Served, SessionState, Target};

const RD: Target = Target::Reader;
const WR: Target = Target::Writer;

/// (statement, target, reason) in a fresh session with two eligible readers.
#[rustfmt::skip]
const FRESH: &[(&str, Target, Reason)] = &[
    // forcing the writer
    ("/* rwsplit:writer */ SELECT c FROM sbtest1 WHERE id=1", WR, Reason::Hint),
    ("/*rwsplit:writer*/SELECT 1", WR, Reason::Hint),
    ("/* rwsplit:master */ SELECT 1", WR, Reason::Hint),
    ("-- rwsplit:writer\nSELECT 1", WR, Reason::Hint),
    ("# rwsplit:writer\nSELECT 1", WR, Reason::Hint),
    ("/* rwsplit:writer */ SHOW TABLES", WR, Reason::Hint),
    ("/* rwsplit:writer */ DESCRIBE users", WR, Reason::Hint),
    ("/* rwsplit:writer */ WITH x AS (SELECT 1 AS a) SELECT a FROM x", WR, Reason::Hint),
    ("/* rwsplit:writer */ SELECT * FROM orders WHERE id = 1 FOR UPDATE", WR, Reason::Hint),
    ("/* rwsplit:writer */ INSERT INTO t VALUES (1)", WR, Reason::Write),
    ("/* rwsplit:writer */ START TRANSACTION READ ONLY", WR, Reason::Transaction),
    // a read to a reader
    ("/* rwsplit:reader */ SELECT c FROM sbtest1 WHERE id=1", RD, Reason::Hint),
    ("/* rwsplit:slave */ SELECT 1", RD, Reason::Hint),
    ("# rwsplit:reader\nSHOW TABLES", RD, Reason::Hint),
    ("-- rwsplit:reader\nSELECT COUNT(*) FROM orders", RD, Reason::Hint),
    ("/* rwsplit:reader */ SELECT a MOD 3 FROM t", RD, Reason::Hint),
    ("/* rwsplit:reader */ START TRANSACTION READ ONLY", RD, Reason::ReadOnlyTransaction),
    // never a locking read, a write, or what is bound to the writer
    ("/* rwsplit:reader */ SELECT * FROM t WHERE id = 1 FOR UPDATE", WR, Reason::LockingRead),
    ("/* rwsplit:reader */ SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE", WR, Reason::LockingRead),
    ("/* rwsplit:reader */ SELECT * FROM (SELECT * FROM t FOR SHARE) x", WR, Reason::LockingRead),
    ("/* rwsplit:reader */ INSERT INTO t VALUES (1)", WR, Reason::Write),
    ("/* rwsplit:reader */ UPDATE t SET a = 1", WR, Reason::Write),
    ("/* rwsplit:reader */ DELETE FROM t", WR, Reason::Write),
    ("/* rwsplit:reader */ WITH d AS (SELECT 1 AS id) DELETE FROM t WHERE id IN (SELECT id FROM d)", WR, Reason::Write),
    ("/* rwsplit:reader */ CREATE TABLE x (a INT)", WR, Reason::Write),
    ("/* rwsplit:reader */ SELECT LAST_INSERT_ID()", WR, Reason::SideEffectFunction),
    ("/* rwsplit:reader */ SELECT GET_LOCK('x', 1)", WR, Reason::SideEffectFunction),
    ("/* rwsplit:reader */ SELECT NEXTVAL(s)", WR, Reason::SideEffectFunction),
    ("/* rwsplit:reader */ SELECT 1 INTO @x", WR, Reason::UserVariable),
    ("/* rwsplit:reader */ SELECT @n := 1", WR, Reason::UserVariable),
    ("/* rwsplit:reader */ SELECT 1; SELECT 2", WR, Reason::MultiStatement),
    ("/* rwsplit:reader */ SELECT @@warning_count", WR, Reason::LastStatement),
    ("/* rwsplit:reader */ SET @x = 1", WR, Reason::SessionState),
    ("/* rwsplit:reader */ USE app", WR, Reason::SessionState),
    ("/* rwsplit:reader */ CALL p()", WR, Reason::Other),
    ("/* rwsplit:reader */ SHOW STATUS", WR, Reason::Other),
    ("/* rwsplit:reader */ LOCK TABLES t READ", WR, Reason::Lock),
    ("/* rwsplit:reader */ BEGIN", WR, Reason::Transaction),
    // not leading, or not a hint: no effect
    ("SELECT /* rwsplit:writer */ 1", RD, Reason::Read),
    ("SELECT 1 -- rwsplit:writer", RD, Reason::Read),
    ("/* rwsplit:nowhere */ SELECT 1", RD, Reason::Read),
    ("/* rwsplit writer */ SELECT 1", RD, Reason::Read),
];

#[test]
fn hints_in_a_fresh_session() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, target, reason) in FRESH {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        if r.target != target || r.reason != reason {
            bad.push(format!(
                "{sql:?}: {:?}/{:?} (hint {:?}), want {target:?}/{reason:?}",
                r.target, r.reason, st.hint
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        FRESH.len(),
        bad.join("\n")
    );
}

#[test]
fn a_reader_hint_without_an_eligible_reader_goes_to_the_writer() {
    let c = Classifier::default();
    let t = no_readers();
    for sql in [
        "/* rwsplit:reader */ SELECT 1",
        "# rwsplit:reader\nSHOW TABLES",
    ] {
        let st = c.classify(sql.as_bytes());
        assert_eq!(st.hint, Some(Hint::Reader));
        let r = route(&st, &SessionState::default(), &t);
        assert_eq!(
            (r.target, r.reason),
            (Target::Writer, Reason::NoReader),
            "{sql}"
        );
    }
}

#[test]
fn a_reader_hint_yields_to_session_state() {
    let c = Classifier::default();
    let t = topology();
    let in_tx = SessionState {
        in_transaction: true,
        tx_backend: Some(Served::Writer),
        ..SessionState::default()
    };
    let autocommit_off = SessionState {
        autocommit: false,
        ..SessionState::default()
    };
    let xa = SessionState {
        xa_active: true,
        ..SessionState::default()
    };
    let locked = SessionState {
        locked_tables: true,
        ..SessionState::default()
    };
    let temp = SessionState {
        temp_tables: BTreeSet::from(["tmp_ids".to_string()]),
        ..SessionState::default()
    };
    let pinned = SessionState {
        reads_on_writer: true,
        ..SessionState::default()
    };
    let user_vars = SessionState {
        user_vars_on_writer: true,
        ..SessionState::default()
    };
    let cases: &[(&str, &SessionState, &str, Reason)] = &[
        (
            "in a transaction",
            &in_tx,
            "/* rwsplit:reader */ SELECT 1",
            Reason::InTransaction,
        ),
        (
            "in a transaction",
            &in_tx,
            "/* rwsplit:writer */ SELECT 1",
            Reason::InTransaction,
        ),
        (
            "autocommit off",
            &autocommit_off,
            "/* rwsplit:reader */ SELECT 1",
            Reason::InTransaction,
        ),
        (
            "XA active",
            &xa,
            "/* rwsplit:reader */ SELECT 1",
            Reason::InTransaction,
        ),
        (
            "LOCK TABLES",
            &locked,
            "/* rwsplit:reader */ SELECT 1",
            Reason::Lock,
        ),
        (
            "temporary table",
            &temp,
            "/* rwsplit:reader */ SELECT 1",
            Reason::TempTable,
        ),
        (
            "pinned session",
            &pinned,
            "/* rwsplit:reader */ SELECT 1",
            Reason::SessionPinned,
        ),
        (
            "user variables on the writer",
            &user_vars,
            "/* rwsplit:reader */ SELECT * FROM t WHERE a = @x",
            Reason::UserVariable,
        ),
    ];
    let mut bad = Vec::new();
    for &(name, state, sql, reason) in cases {
        let r = route(&c.classify(sql.as_bytes()), state, &t);
        if r.target != Target::Writer || r.reason != reason {
            bad.push(format!(
                "[{name}] {sql:?}: {:?}/{:?}, want Writer/{reason:?}",
                r.target, r.reason
            ));
        }
    }
    // user variables on the writer do not concern a read that uses none
    let r = route(
        &c.classify(b"/* rwsplit:reader */ SELECT 1"),
        &user_vars,
        &t,
    );
    if (r.target, r.reason) != (Target::Reader, Reason::Hint) {
        bad.push(format!(
            "[user variables on the writer] SELECT 1: {:?}/{:?}",
            r.target, r.reason
        ));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
