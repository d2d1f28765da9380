//! Transaction pooling's pins (`route::pin`) on tables of statement sequences: what
//! enters each pin, what leaves it, and that replayable state pins nothing. Pure.

use rwsplit::classify::{Classifier, Detail};
use rwsplit::route::{pin, status, Outcome, PinReason, Served, SessionState};

/// Runs `sqls` through a fresh session state, each answered OK on the writer with the
/// status a server would report (`in_tx`: a transaction is open after it).
fn state_after(sqls: &[(&str, bool)]) -> SessionState {
    let c = Classifier::default();
    let mut s = SessionState::default();
    for (sql, in_tx) in sqls {
        let st = c.classify(sql.as_bytes());
        // autocommit as the server reports it after the statement
        let autocommit = match &st.detail {
            Detail::Set(e) => e.autocommit.unwrap_or(s.autocommit),
            _ => s.autocommit,
        };
        let mut flags = if autocommit { status::AUTOCOMMIT } else { 0 };
        if *in_tx {
            flags |= status::IN_TRANS;
        }
        let outcome = Outcome {
            ok: true,
            status: Some(flags),
        };
        s.after(&st, Served::Writer, outcome);
    }
    s
}

type Case = (&'static [(&'static str, bool)], Option<PinReason>);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Replayable state pins nothing.
    (&[("SET NAMES utf8mb4", false), ("SET @a = 1", false), ("USE app", false),
       ("SET SESSION sql_mode = 'ANSI'", false), ("SET time_zone = '+01:00'", false)], None),
    (&[("SELECT 1", false), ("INSERT INTO t VALUES (1)", false)], None),
    (&[("SELECT LAST_INSERT_ID()", false)], None),
    // Transactions.
    (&[("BEGIN", true)], Some(PinReason::Transaction)),
    (&[("BEGIN", true), ("INSERT INTO t VALUES (1)", true)], Some(PinReason::Transaction)),
    (&[("BEGIN", true), ("COMMIT", false)], None),
    (&[("START TRANSACTION READ ONLY", true), ("ROLLBACK", false)], None),
    (&[("SET autocommit = 0", false)], Some(PinReason::Transaction)),
    (&[("SET autocommit = 0", false), ("COMMIT", false)], Some(PinReason::Transaction)),
    (&[("SET autocommit = 0", false), ("SET autocommit = 1", false)], None),
    (&[("XA START 'x'", true)], Some(PinReason::Xa)),
    (&[("XA START 'x'", true), ("XA END 'x'", true), ("XA COMMIT 'x' ONE PHASE", false)], None),
    // Locks.
    (&[("LOCK TABLES t READ", false)], Some(PinReason::LockedTables)),
    (&[("LOCK TABLES t READ", false), ("UNLOCK TABLES", false)], None),
    (&[("FLUSH TABLES WITH READ LOCK", false)], Some(PinReason::LockedTables)),
    (&[("SELECT GET_LOCK('a', 1)", false)], Some(PinReason::NamedLock)),
    (&[("SELECT GET_LOCK('a', 1)", false), ("SELECT RELEASE_LOCK('a')", false)], None),
    (&[("SELECT GET_LOCK('a', 1)", false), ("SELECT GET_LOCK('b', 1)", false),
       ("SELECT RELEASE_LOCK('a')", false)], Some(PinReason::NamedLock)),
    (&[("SELECT GET_LOCK('a', 1)", false), ("DO RELEASE_ALL_LOCKS()", false)], None),
    (&[("DO GET_LOCK('a', 1)", false)], Some(PinReason::NamedLock)),
    (&[("INSERT INTO t SELECT NEXTVAL(s)", false)], Some(PinReason::Sequence)),
    // Connection-bound objects.
    (&[("CREATE TEMPORARY TABLE tt (a INT)", false)], Some(PinReason::TemporaryTable)),
    (&[("CREATE TEMPORARY TABLE tt (a INT)", false), ("DROP TEMPORARY TABLE tt", false)], None),
    (&[("HANDLER t OPEN", false)], Some(PinReason::Handler)),
    (&[("HANDLER t OPEN", false), ("HANDLER t READ FIRST", false)], Some(PinReason::Handler)),
    (&[("HANDLER t OPEN", false), ("HANDLER t CLOSE", false)], None),
    (&[("HANDLER db.t OPEN AS h", false), ("HANDLER h CLOSE", false)], None),
    (&[("HANDLER t OPEN h", false), ("HANDLER t CLOSE", false)], Some(PinReason::Handler)),
    (&[("PREPARE s FROM 'SELECT 1'", false)], Some(PinReason::SqlPrepare)),
    (&[("PREPARE s FROM 'SELECT 1'", false), ("EXECUTE s", false)], Some(PinReason::SqlPrepare)),
    (&[("PREPARE s FROM 'SELECT 1'", false), ("DEALLOCATE PREPARE s", false)], None),
    (&[("PREPARE s FROM 'SELECT 1'", false), ("DROP PREPARE S", false)], None),
    (&[("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false)], Some(PinReason::NextTransaction)),
    (&[("SET TRANSACTION READ ONLY", false), ("SELECT * FROM t FOR UPDATE", false)], None),
    (&[("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", false)], None),
    (&[("SELECT NEXTVAL(s)", false)], Some(PinReason::Sequence)),
    (&[("SELECT NEXT VALUE FOR s", false), ("SELECT 1", false)], Some(PinReason::Sequence)),
    // Values rwsplit cannot replay as written are read back (the session does it), so
    // they pin nothing.
    (&[("SET @t = NOW()", false)], None),
    (&[("SELECT id INTO @v FROM t LIMIT 1", false)], None),
    (&[("SELECT @n := @n + 1", false)], None),
    (&[("UPDATE t SET c = (@n := c + 1) WHERE id = 1", false)], None),
    (&[("CALL p(@out)", false)], None),
    (&[("SET time_zone = (SELECT tz FROM s LIMIT 1)", false)], None),
    (&[("SET @a := NOW()", false)], None),
    (&[("INSERT INTO t VALUES (@a)", false)], None),
    // Unless they cannot be read back: inside a multi-statement query (a later part may
    // have read them), or a SET whose target has no name rwsplit can query.
    (&[("SET @t = NOW(); SELECT @t", false)], Some(PinReason::UserVariable)),
    (&[("SELECT 1; SELECT id INTO @v FROM t", false)], Some(PinReason::UserVariable)),
    (&[("SET time_zone = (SELECT tz FROM s); SELECT 1", false)], Some(PinReason::SessionState)),
    (&[("SET keycache1.key_buffer_size := NOW()", false)], Some(PinReason::SessionState)),
];

#[test]
fn pins_start_and_end_with_their_cause() {
    let mut failed = Vec::new();
    for (sqls, want) in CASES {
        let got = pin(&state_after(sqls), false);
        if got != *want {
            failed.push(format!("{sqls:?}: {got:?}, want {want:?}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_failed_read_back_pins_as_before() {
    use rwsplit::classify::Variable;
    let mut s = SessionState::default();
    s.read_back_failed(&[Variable::User("@a".into())]);
    assert_eq!(pin(&s, false), Some(PinReason::UserVariable));
    let mut s = SessionState::default();
    s.read_back_failed(&[Variable::System("time_zone".into())]);
    assert_eq!(pin(&s, false), Some(PinReason::SessionState));
}

#[test]
fn an_open_cursor_pins_and_a_transaction_names_the_pin_first() {
    let s = SessionState::default();
    assert_eq!(pin(&s, true), Some(PinReason::Cursor));
    assert_eq!(pin(&s, false), None);
    let s = state_after(&[
        ("CREATE TEMPORARY TABLE tt (a INT)", false),
        ("BEGIN", true),
    ]);
    assert_eq!(pin(&s, false), Some(PinReason::Transaction));
}

#[test]
fn every_reason_has_its_own_label() {
    let labels: std::collections::HashSet<_> = PinReason::ALL.iter().map(|r| r.label()).collect();
    assert_eq!(labels.len(), PinReason::ALL.len());
}

#[test]
fn statements_of_any_kind_say_they_read_last_insert_id() {
    use rwsplit::classify::Flags;
    let c = Classifier::default();
    for sql in [
        "SELECT LAST_INSERT_ID()",
        "INSERT INTO child (parent) VALUES (LAST_INSERT_ID())",
        "UPDATE t SET a = 1 WHERE id = LAST_INSERT_ID()",
        "SET @p = LAST_INSERT_ID()",
        "SELECT @@identity",
        "DO LAST_INSERT_ID()",
    ] {
        let st = c.classify(sql.as_bytes());
        assert!(
            st.flags.contains(Flags::LAST_INSERT_ID),
            "{sql}: {:?}",
            st.flags
        );
    }
    let st = c.classify(b"SELECT 'LAST_INSERT_ID()' FROM t");
    assert!(!st.flags.contains(Flags::LAST_INSERT_ID));
}
