//! Transactions stay whole. Each sequence runs in one session: every statement is routed,
//! "runs" where it was routed, and the state is told the status flags the server reports
//! after it (as in its OK packet). The reader the session picks for Target::Reader is #2.

mod common_route;

use common_route::{no_readers, run_steps, topology, Step};
use rwsplit::classify::Classifier;
use rwsplit::route::{
    route, status, BackendId, Outcome, Reason, Served, SessionState, Target, Topology,
};

/// Status flags after a statement.
const AC: u16 = status::AUTOCOMMIT;
const TX: u16 = status::AUTOCOMMIT | status::IN_TRANS;
const RO: u16 = TX | status::IN_TRANS_READONLY;
/// autocommit off, no statement run yet / a transaction open.
const OFF: u16 = 0;
const OFF_TX: u16 = status::IN_TRANS;

const PICK: BackendId = BackendId(2);
const R2: Target = Target::Backend(PICK);
const RD: Target = Target::Reader;
const WR: Target = Target::Writer;
const NO: Target = Target::Refuse;

fn run(t: &Topology, state: SessionState, steps: &[Step]) -> Vec<String> {
    run_steps(t, state, steps)
}

#[rustfmt::skip]
const SEQUENCES: &[(&str, &[Step])] = &[
    ("BEGIN … COMMIT", &[
        ("SELECT 1", AC, RD, Reason::Read),
        ("BEGIN", TX, WR, Reason::Transaction),
        ("SELECT * FROM accounts WHERE id = 1", TX, WR, Reason::InTransaction),
        ("UPDATE accounts SET balance = balance - 10 WHERE id = 1", TX, WR, Reason::InTransaction),
        ("SHOW TABLES", TX, WR, Reason::InTransaction),
        ("SHOW WARNINGS", TX, WR, Reason::InTransaction),
        ("/* rwsplit:reader */ SELECT 1", TX, WR, Reason::InTransaction),
        ("SELECT @@session.transaction_isolation", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("a transaction whose first statement is a SELECT", &[
        ("START TRANSACTION", TX, WR, Reason::Transaction),
        ("SELECT balance FROM accounts WHERE id = 1", TX, WR, Reason::InTransaction),
        ("UPDATE accounts SET balance = 5 WHERE id = 1", TX, WR, Reason::InTransaction),
        ("ROLLBACK", AC, WR, Reason::InTransaction),
        ("SELECT balance FROM accounts WHERE id = 1", AC, RD, Reason::Read),
    ]),
    ("sysbench oltp_read_write", &[
        ("BEGIN", TX, WR, Reason::Transaction),
        ("SELECT c FROM sbtest1 WHERE id=5012", TX, WR, Reason::InTransaction),
        ("SELECT c FROM sbtest1 WHERE id BETWEEN 5012 AND 5111", TX, WR, Reason::InTransaction),
        ("SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 5012 AND 5111", TX, WR, Reason::InTransaction),
        ("SELECT c FROM sbtest1 WHERE id BETWEEN 5012 AND 5111 ORDER BY c", TX, WR, Reason::InTransaction),
        ("SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 5012 AND 5111 ORDER BY c", TX, WR, Reason::InTransaction),
        ("UPDATE sbtest1 SET k=k+1 WHERE id=5012", TX, WR, Reason::InTransaction),
        ("UPDATE sbtest1 SET c='x' WHERE id=5013", TX, WR, Reason::InTransaction),
        ("DELETE FROM sbtest1 WHERE id=5014", TX, WR, Reason::InTransaction),
        ("INSERT INTO sbtest1 (id, k, c, pad) VALUES (5014, 1, 'c', 'p')", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("SELECT c FROM sbtest1 WHERE id=5012", AC, RD, Reason::Read),
    ]),
    ("savepoints (Django atomic blocks)", &[
        ("BEGIN", TX, WR, Reason::Transaction),
        ("SAVEPOINT `s1_x1`", TX, WR, Reason::InTransaction),
        ("INSERT INTO t VALUES (1)", TX, WR, Reason::InTransaction),
        ("ROLLBACK TO SAVEPOINT `s1_x1`", TX, WR, Reason::InTransaction),
        ("RELEASE SAVEPOINT `s1_x1`", TX, WR, Reason::InTransaction),
        ("SELECT 1", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("SET autocommit=0 (PyMySQL)", &[
        ("SELECT 1", AC, RD, Reason::Read),
        ("SET AUTOCOMMIT = 0", OFF, WR, Reason::SessionState),
        ("SELECT 1", OFF_TX, WR, Reason::InTransaction),
        ("INSERT INTO t VALUES (1)", OFF_TX, WR, Reason::InTransaction),
        ("COMMIT", OFF, WR, Reason::InTransaction),
        ("SELECT 1", OFF_TX, WR, Reason::InTransaction),
        ("ROLLBACK", OFF, WR, Reason::InTransaction),
        ("SHOW TABLES", OFF, WR, Reason::InTransaction),
        ("SET AUTOCOMMIT = 1", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("autocommit off as the server reports it (a procedure turned it off)", &[
        ("CALL configure_session()", OFF, WR, Reason::Other),
        ("SELECT 1", OFF_TX, WR, Reason::InTransaction),
        ("COMMIT", OFF, WR, Reason::InTransaction),
        ("SELECT 1", OFF, WR, Reason::InTransaction),
        ("SET autocommit=1", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("DDL commits implicitly", &[
        ("BEGIN", TX, WR, Reason::Transaction),
        ("INSERT INTO t VALUES (1)", TX, WR, Reason::InTransaction),
        ("CREATE TABLE t2 (a INT)", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("COMMIT AND CHAIN keeps the writer", &[
        ("BEGIN", TX, WR, Reason::Transaction),
        ("UPDATE t SET a = 1", TX, WR, Reason::InTransaction),
        ("COMMIT AND CHAIN", TX, WR, Reason::InTransaction),
        ("SELECT 1", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("XA transaction (SQLAlchemy two-phase)", &[
        ("XA BEGIN '_sa_1'", TX, WR, Reason::Transaction),
        ("SELECT * FROM t", TX, WR, Reason::InTransaction),
        ("INSERT INTO t VALUES (1)", TX, WR, Reason::InTransaction),
        ("XA END '_sa_1'", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, WR, Reason::InTransaction),
        ("XA PREPARE '_sa_1'", AC, WR, Reason::InTransaction),
        ("XA COMMIT '_sa_1'", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("START TRANSACTION READ ONLY stays on its reader", &[
        ("START TRANSACTION READ ONLY", RO, RD, Reason::ReadOnlyTransaction),
        ("SELECT * FROM orders WHERE id = 1", RO, R2, Reason::InTransaction),
        ("SELECT COUNT(*) FROM orders", RO, R2, Reason::InTransaction),
        ("SHOW WARNINGS", RO, R2, Reason::InTransaction),
        ("SAVEPOINT a", RO, R2, Reason::InTransaction),
        ("ROLLBACK TO SAVEPOINT a", RO, R2, Reason::InTransaction),
        ("/* rwsplit:writer */ SELECT 1", RO, R2, Reason::InTransaction),
        // what could write never reaches the replica
        ("INSERT INTO t VALUES (1)", RO, NO, Reason::InTransaction),
        ("SELECT * FROM t WHERE id = 1 FOR UPDATE", RO, NO, Reason::InTransaction),
        ("SET autocommit=0", RO, NO, Reason::InTransaction),
        ("LOCK TABLES t READ", RO, NO, Reason::InTransaction),
        ("COMMIT", AC, R2, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
        ("INSERT INTO t VALUES (2)", AC, WR, Reason::Write),
    ]),
    ("Go's BeginTx(ReadOnly) rolled back", &[
        ("START TRANSACTION READ ONLY", RO, RD, Reason::ReadOnlyTransaction),
        ("SELECT id FROM users WHERE id = 3", RO, R2, Reason::InTransaction),
        ("ROLLBACK", AC, R2, Reason::InTransaction),
        ("SELECT id FROM users WHERE id = 3", AC, RD, Reason::Read),
    ]),
    ("BEGIN inside a read-only transaction starts one on the writer", &[
        ("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", RO, RD, Reason::ReadOnlyTransaction),
        ("SELECT 1", RO, R2, Reason::InTransaction),
        ("BEGIN", TX, WR, Reason::Transaction),
        ("SELECT 1", TX, WR, Reason::InTransaction),
        ("UPDATE t SET a = 1", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
];

#[test]
fn transactions_stay_whole() {
    let t = topology();
    let mut bad = Vec::new();
    for (name, steps) in SEQUENCES {
        let errs = run(&t, SessionState::default(), steps);
        if !errs.is_empty() {
            bad.push(format!("{name}:\n{}", errs.join("\n")));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn without_a_reader_a_read_only_transaction_runs_on_the_writer() {
    let errs = run(
        &no_readers(),
        SessionState::default(),
        &[
            ("START TRANSACTION READ ONLY", RO, WR, Reason::NoReader),
            ("SELECT 1", RO, WR, Reason::InTransaction),
            ("COMMIT", AC, WR, Reason::InTransaction),
            ("SELECT 1", AC, WR, Reason::NoReader),
        ],
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn a_session_that_logs_in_with_autocommit_off_is_in_a_transaction() {
    // SessionState::new takes the status flags of the handshake.
    let errs = run(
        &topology(),
        SessionState::new(0),
        &[
            ("SELECT 1", OFF_TX, WR, Reason::InTransaction),
            ("COMMIT", OFF, WR, Reason::InTransaction),
            ("SET autocommit=1", AC, WR, Reason::InTransaction),
            ("SELECT 1", AC, RD, Reason::Read),
        ],
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    let errs = run(
        &topology(),
        SessionState::new(AC),
        &[("SELECT 1", AC, RD, Reason::Read)],
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn a_failed_begin_opens_nothing() {
    let c = Classifier::default();
    let t = topology();
    let mut state = SessionState::default();
    let begin = c.classify(b"START TRANSACTION READ ONLY");
    let r = route(&begin, &state, &t);
    assert_eq!(r.target, Target::Reader);
    state.after(
        &begin,
        Served::Reader(PICK),
        Outcome {
            ok: false,
            status: Some(AC),
        },
    );
    let r = route(&c.classify(b"INSERT INTO t VALUES (1)"), &state, &t);
    assert_eq!((r.target, r.reason), (Target::Writer, Reason::Write));
    let r = route(&c.classify(b"SELECT 1"), &state, &t);
    assert_eq!((r.target, r.reason), (Target::Reader, Reason::Read));
}

/// COMMIT AND CHAIN (or ROLLBACK AND CHAIN) in a read-only transaction starts the next one
/// on the same reader, with the same access mode, and the reader reports IN_TRANS. The
/// router forgets the reader: the chained transaction's reads go to any reader and its
/// writes to the writer while the replica still holds the open transaction.
#[rustfmt::skip]
const KNOWN_BUGS: &[(&str, &[Step])] = &[
    ("COMMIT AND CHAIN in a read-only transaction", &[
        ("START TRANSACTION READ ONLY", RO, RD, Reason::ReadOnlyTransaction),
        ("SELECT 1", RO, R2, Reason::InTransaction),
        ("COMMIT AND CHAIN", RO, R2, Reason::InTransaction),
        ("SELECT 2", RO, R2, Reason::InTransaction),
        ("INSERT INTO t VALUES (1)", RO, NO, Reason::InTransaction),
        ("COMMIT", AC, R2, Reason::InTransaction),
    ]),
    ("ROLLBACK AND CHAIN in a read-only transaction", &[
        ("START TRANSACTION READ ONLY", RO, RD, Reason::ReadOnlyTransaction),
        ("ROLLBACK AND CHAIN", RO, R2, Reason::InTransaction),
        ("SELECT 2", RO, R2, Reason::InTransaction),
    ]),
];

#[test]
fn known_bugs_still_fail() {
    let t = topology();
    let fixed: Vec<&str> = KNOWN_BUGS
        .iter()
        .filter(|(_, steps)| run(&t, SessionState::default(), steps).is_empty())
        .map(|(name, _)| *name)
        .collect();
    assert!(
        fixed.is_empty(),
        "fixed — move into SEQUENCES:\n{}",
        fixed.join("\n")
    );
}
