//! Transactions stay whole: sequences in one session against a model server.

mod common_route;
use common_route::*;

#[test]
fn begin_commit() {
    check_sequence(
        "BEGIN … COMMIT",
        &[
            ("SELECT 1", "reader:read"),
            ("BEGIN", "writer:transaction"),
            ("SELECT * FROM t", "writer:in_transaction"),
            ("UPDATE t SET a = 1", "writer:in_transaction"),
            ("SHOW TABLES", "writer:in_transaction"),
            ("/* rwsplit:reader */ SELECT 1", "writer:in_transaction"),
            ("COMMIT", "writer:in_transaction"),
            ("SELECT 1", "reader:read"),
        ],
    );
}

#[test]
fn transaction_starting_with_a_select() {
    check_sequence(
        "START TRANSACTION; SELECT …",
        &[
            ("START TRANSACTION", "writer:transaction"),
            (
                "SELECT balance FROM accounts WHERE id = 1",
                "writer:in_transaction",
            ),
            (
                "UPDATE accounts SET balance = balance - 1 WHERE id = 1",
                "writer:in_transaction",
            ),
            ("ROLLBACK", "writer:in_transaction"),
            ("SELECT balance FROM accounts WHERE id = 1", "reader:read"),
        ],
    );
}

#[test]
fn begin_work_and_variants() {
    for begin in [
        "BEGIN WORK",
        "START TRANSACTION READ WRITE",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT",
        "begin",
    ] {
        check_sequence(
            begin,
            &[
                (begin, "writer:transaction"),
                ("SELECT 1", "writer:in_transaction"),
                ("COMMIT WORK", "writer"),
                ("SELECT 1", "reader"),
            ],
        );
    }
}

#[test]
fn savepoints_stay_in_the_transaction() {
    check_sequence(
        "savepoints",
        &[
            ("BEGIN", "writer"),
            ("SAVEPOINT sp1", "writer:in_transaction"),
            ("INSERT INTO t VALUES (1)", "writer:in_transaction"),
            ("ROLLBACK TO SAVEPOINT sp1", "writer:in_transaction"),
            ("RELEASE SAVEPOINT sp1", "writer:in_transaction"),
            ("SELECT 1", "writer:in_transaction"),
            ("COMMIT", "writer"),
            ("SELECT 1", "reader"),
        ],
    );
}

#[test]
fn autocommit_off_is_a_transaction() {
    check_sequence(
        "SET autocommit=0",
        &[
            ("SET autocommit=0", "writer:session_state"),
            ("SELECT 1", "writer:in_transaction"),
            ("INSERT INTO t VALUES (1)", "writer:in_transaction"),
            ("COMMIT", "writer:in_transaction"),
            ("SELECT 1", "writer:in_transaction"),
            ("SET autocommit=1", "writer:in_transaction"),
            ("SELECT 1", "reader:read"),
        ],
    );
    for off in [
        "SET AUTOCOMMIT = 0",
        "SET autocommit = OFF",
        "SET @@session.autocommit = OFF",
        "set autocommit=false",
    ] {
        check_sequence(
            off,
            &[(off, "writer"), ("SELECT 1", "writer:in_transaction")],
        );
    }
}

#[test]
fn read_only_transactions_stay_on_one_reader() {
    check_sequence(
        "START TRANSACTION READ ONLY",
        &[
            (
                "START TRANSACTION READ ONLY",
                "reader:read_only_transaction",
            ),
            ("SELECT * FROM t", "backend1:in_transaction"),
            ("SELECT * FROM u", "backend1:in_transaction"),
            ("SELECT * FROM t FOR UPDATE", "refuse:in_transaction"),
            ("INSERT INTO t VALUES (1)", "refuse:in_transaction"),
            ("SET autocommit=0", "refuse:in_transaction"),
            ("SET @x = 1", "backend1:in_transaction"),
            ("COMMIT", "backend1:in_transaction"),
            ("SELECT 1", "reader:read"),
        ],
    );
    check_sequence(
        "WITH CONSISTENT SNAPSHOT, READ ONLY",
        &[
            (
                "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
                "reader:read_only_transaction",
            ),
            ("SELECT 1", "backend1:in_transaction"),
            ("ROLLBACK", "backend1"),
        ],
    );
    // BEGIN inside it ends it and starts a read-write transaction on the writer.
    check_sequence(
        "BEGIN inside READ ONLY",
        &[
            (
                "START TRANSACTION READ ONLY",
                "reader:read_only_transaction",
            ),
            ("SELECT 1", "backend1:in_transaction"),
            ("BEGIN", "writer:transaction"),
            ("SELECT 1", "writer:in_transaction"),
            ("COMMIT", "writer"),
        ],
    );
    // Not with temporary tables.
    check_sequence(
        "READ ONLY with temp tables",
        &[
            ("CREATE TEMPORARY TABLE x (a INT)", "writer"),
            ("START TRANSACTION READ ONLY", "writer:transaction"),
        ],
    );
    // A writer hint keeps it on the writer.
    check_sequence(
        "hinted",
        &[
            (
                "/* rwsplit:writer */ START TRANSACTION READ ONLY",
                "writer:transaction",
            ),
            ("SELECT 1", "writer:in_transaction"),
        ],
    );
}

#[test]
fn xa_transactions_are_sticky() {
    check_sequence(
        "XA",
        &[
            ("XA START 'x1'", "writer:transaction"),
            ("SELECT * FROM t", "writer:in_transaction"),
            ("INSERT INTO t VALUES (1)", "writer:in_transaction"),
            ("XA END 'x1'", "writer:in_transaction"),
            ("XA PREPARE 'x1'", "writer:in_transaction"),
            ("XA COMMIT 'x1'", "writer:in_transaction"),
            ("SELECT 1", "reader:read"),
        ],
    );
}

#[test]
fn lock_tables_pins_the_session() {
    check_sequence(
        "LOCK TABLES",
        &[
            ("LOCK TABLES t READ", "writer:lock"),
            ("SELECT * FROM t", "writer:lock"),
            ("SHOW TABLES", "writer:lock"),
            ("UNLOCK TABLES", "writer:lock"),
            ("SELECT * FROM t", "reader:read"),
            ("FLUSH TABLES WITH READ LOCK", "writer:lock"),
            ("SELECT 1", "writer:lock"),
            ("UNLOCK TABLES", "writer"),
            ("SELECT 1", "reader"),
        ],
    );
}
