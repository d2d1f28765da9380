//! Locking reads never leave the writer, not even with a reader hint.

mod common_route;
use common_route::*;

const CASES: &[(&str, &str)] = &[
    (
        "SELECT * FROM accounts WHERE id = 1 FOR UPDATE",
        "writer:locking_read",
    ),
    (
        "SELECT * FROM accounts WHERE id = 1 FOR SHARE",
        "writer:locking_read",
    ),
    (
        "SELECT * FROM accounts WHERE id = 1 LOCK IN SHARE MODE",
        "writer:locking_read",
    ),
    (
        "SELECT * FROM jobs WHERE state = 'new' ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED",
        "writer:locking_read",
    ),
    (
        "SELECT * FROM accounts WHERE id = 1 FOR UPDATE NOWAIT",
        "writer:locking_read",
    ),
    (
        "SELECT * FROM a JOIN b ON a.id = b.id FOR UPDATE OF a",
        "writer:locking_read",
    ),
    (
        "select next_val as id_val from hibernate_sequence for update",
        "writer:locking_read",
    ),
    (
        "SELECT * FROM (SELECT * FROM t WHERE id = 1 FOR UPDATE) x",
        "writer:locking_read",
    ),
    (
        "SELECT * FROM t WHERE id IN (SELECT id FROM u FOR SHARE)",
        "writer:locking_read",
    ),
    (
        "SELECT a FROM t1 UNION SELECT a FROM t2 FOR UPDATE",
        "writer:locking_read",
    ),
    (
        "select id from t where x = 1 for update wait 5",
        "writer:locking_read",
    ),
    (
        "/* rwsplit:reader */ SELECT * FROM t WHERE id = 1 FOR UPDATE",
        "writer:locking_read",
    ),
    ("SELECT * FROM t WHERE note = 'for update'", "reader:read"),
    ("SELECT `for`, `update` FROM t", "reader:read"),
];

#[test]
fn locking_reads() {
    check_fresh(CASES);
}
