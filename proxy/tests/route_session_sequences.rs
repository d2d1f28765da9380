//! Session state across statements: SETs a reader can be given keep reads on readers; user
//! variables a reader cannot reproduce keep the reads that use them on the writer; system
//! variables a reader cannot reproduce keep every read there; diagnostics follow the
//! previous statement; multi-statement queries are tracked statement by statement.
//! The reader the session picks for Target::Reader is #2.

mod common_route;

use common_route::{check_step_sequences, topology, Step};
use rwsplit::classify::Classifier;
use rwsplit::route::{route, status, BackendId, Outcome, Reason, Served, SessionState, Target};

const AC: u16 = status::AUTOCOMMIT;
const TX: u16 = status::AUTOCOMMIT | status::IN_TRANS;
const OFF: u16 = 0;
const OFF_TX: u16 = status::IN_TRANS;

const PICK: BackendId = BackendId(2);
const R2: Target = Target::Backend(PICK);
const RD: Target = Target::Reader;
const WR: Target = Target::Writer;

#[rustfmt::skip]
const SEQUENCES: &[(&str, &[Step])] = &[
    ("replayable session state keeps reads on readers (Rails, Connector/J)", &[
        ("SET NAMES utf8mb4", AC, WR, Reason::SessionState),
        ("SET character_set_results = NULL", AC, WR, Reason::SessionState),
        ("SET  @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483", AC, WR, Reason::SessionState),
        ("SET time_zone = '+00:00'", AC, WR, Reason::SessionState),
        ("SET sql_mode=(SELECT REPLACE(@@sql_mode,'ONLY_FULL_GROUP_BY',''))", AC, WR, Reason::SessionState),
        ("USE app", AC, WR, Reason::SessionState),
        ("SELECT 1", AC, RD, Reason::Read),
        ("SET @uid = 42", AC, WR, Reason::SessionState),
        ("SELECT * FROM t WHERE owner = @uid", AC, RD, Reason::Read),
        ("SET @label = CONCAT('user-', @uid)", AC, WR, Reason::SessionState),
        ("SELECT @label", AC, RD, Reason::Read),
    ]),
    // Values rwsplit cannot replay as written are read back from the connection that
    // set them (the session does it) and replayed as literals: reads that use them go
    // to readers like any other.
    ("a user variable set from NOW() is read back: reads that use it go to readers", &[
        ("SET @since = NOW()", AC, WR, Reason::SessionState),
        ("SELECT * FROM t WHERE ts > @since", AC, RD, Reason::Read),
        ("SELECT * FROM t", AC, RD, Reason::Read),
        ("SET @x = 1", AC, WR, Reason::SessionState),
        ("SELECT @x", AC, RD, Reason::Read),
    ]),
    ("a user variable from LAST_INSERT_ID()", &[
        ("INSERT INTO orders (total) VALUES (10)", AC, WR, Reason::Write),
        ("SET @order_id = LAST_INSERT_ID()", AC, WR, Reason::SessionState),
        ("SELECT * FROM order_lines WHERE order_id = @order_id", AC, RD, Reason::Read),
        ("SELECT COUNT(*) FROM orders", AC, RD, Reason::Read),
    ]),
    ("SELECT … INTO @v", &[
        ("SELECT MAX(id) INTO @max FROM t", AC, WR, Reason::UserVariable),
        ("SELECT * FROM t WHERE id = @max", AC, RD, Reason::Read),
        ("SELECT COUNT(*) FROM t", AC, RD, Reason::Read),
    ]),
    ("@v := in a SELECT", &[
        ("SELECT @rn := 0", AC, WR, Reason::UserVariable),
        ("SELECT @rn", AC, RD, Reason::Read),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("a user variable computed from one read back", &[
        ("SET @a = UUID()", AC, WR, Reason::SessionState),
        ("SET @b = CONCAT(@a, '-x')", AC, WR, Reason::SessionState),
        ("SELECT @b", AC, RD, Reason::Read),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("SET @a := 1 (sqlparser rejects it; its target has a name)", &[
        ("SET @a := 1", AC, WR, Reason::SessionState),
        ("SELECT @a", AC, RD, Reason::Read),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("inside a multi-statement query a computed user variable is not read back", &[
        ("SET @a = UUID(); DO 1", AC, WR, Reason::SessionState),
        ("SELECT @a", AC, WR, Reason::UserVariable),
        ("SET @b = CONCAT(@a, '-x')", AC, WR, Reason::SessionState),
        ("SELECT @b", AC, WR, Reason::UserVariable),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("a system variable computed from a table is read back", &[
        ("SET time_zone = (SELECT tz FROM settings LIMIT 1)", AC, WR, Reason::SessionState),
        ("SELECT 1", AC, RD, Reason::Read),
        ("SHOW TABLES", AC, RD, Reason::Read),
        ("INSERT INTO t VALUES (1)", AC, WR, Reason::Write),
    ]),
    ("a system variable a reader cannot reproduce and rwsplit cannot read back pins every read", &[
        ("SET time_zone = (SELECT tz FROM settings LIMIT 1); DO 1", AC, WR, Reason::SessionState),
        ("SELECT 1", AC, WR, Reason::SessionPinned),
        ("SHOW TABLES", AC, WR, Reason::SessionPinned),
        ("/* rwsplit:reader */ SELECT 1", AC, WR, Reason::SessionPinned),
        ("INSERT INTO t VALUES (1)", AC, WR, Reason::Write),
    ]),
    ("a stored function in a system variable's value: read back", &[
        ("SET SESSION sql_mode = app.mode_for_tenant(7)", AC, WR, Reason::SessionState),
        ("SELECT c FROM sbtest1 WHERE id=1", AC, RD, Reason::Read),
    ]),
    ("global and persisted settings pin nothing", &[
        ("SET GLOBAL max_connections = 500", AC, WR, Reason::Other),
        ("SET PERSIST long_query_time = 2", AC, WR, Reason::Other),
        ("SET @@GLOBAL.slow_query_log = ON", AC, WR, Reason::Other),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("SET STATEMENT … FOR changes nothing after it", &[
        ("SET STATEMENT max_statement_time=1000 FOR SELECT * FROM big", AC, RD, Reason::Read),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("diagnostics follow the previous statement", &[
        ("SELECT c FROM sbtest1 WHERE id=1", AC, RD, Reason::Read),
        ("SHOW WARNINGS", AC, R2, Reason::LastStatement),
        ("SELECT @@warning_count", AC, R2, Reason::LastStatement),
        ("INSERT IGNORE INTO t VALUES (1)", AC, WR, Reason::Write),
        ("SHOW WARNINGS", AC, WR, Reason::LastStatement),
        ("SELECT ROW_COUNT()", AC, WR, Reason::LastStatement),
        ("SHOW TABLES", AC, RD, Reason::Read),
        ("GET DIAGNOSTICS @n = NUMBER", AC, R2, Reason::LastStatement),
    ]),
    ("autocommit turned off inside a multi-statement query", &[
        ("SET NAMES utf8mb4; SET autocommit=0", OFF, WR, Reason::SessionState),
        ("SELECT 1", OFF_TX, WR, Reason::InTransaction),
        ("COMMIT; SET autocommit=1", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("a whole transaction in one query", &[
        ("BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT", AC, WR, Reason::Write),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("a transaction opened by a multi-statement query", &[
        ("BEGIN; SELECT balance FROM accounts WHERE id = 1", TX, WR, Reason::Transaction),
        ("UPDATE accounts SET balance = 0 WHERE id = 1", TX, WR, Reason::InTransaction),
        ("SELECT 1", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
];

#[test]
fn session_state_sequences() {
    check_step_sequences(&topology(), SEQUENCES);
}

#[test]
fn a_failed_set_pins_nothing() {
    let c = Classifier::default();
    let t = topology();
    let mut state = SessionState::default();
    let set = c.classify(b"SET time_zone = (SELECT tz FROM missing_table)");
    assert_eq!(route(&set, &state, &t).target, Target::Writer);
    state.after(
        &set,
        Served::Writer,
        Outcome {
            ok: false,
            status: Some(AC),
        },
    );
    let r = route(&c.classify(b"SELECT 1"), &state, &t);
    assert_eq!((r.target, r.reason), (Target::Reader, Reason::Read));
}
