//! Routing traps reported against other read/write splitters, replayed as the MySQL
//! statements a client sends on one connection. Each sequence names its report; the
//! PostgreSQL ones (pgcat) are translated to their MySQL equivalent. Where the report is a
//! stale read outside a transaction (the read itself may go to a reader), rwsplit's answer
//! is read-your-writes, proven against real replicas in tests/failover/consistency.rs; here
//! the route is checked.

mod common_route;

use common_route::check_sequence;

#[rustfmt::skip]
const REPORTS: &[(&str, &[(&str, &str)])] = &[
    ("ProxySQL #1249: a read after an insert in a transaction stays with it", &[
        ("START TRANSACTION", "writer"),
        ("INSERT INTO t (name) VALUES ('a')", "writer"),
        ("SELECT LAST_INSERT_ID()", "writer"),
        ("SELECT * FROM t WHERE id = LAST_INSERT_ID()", "writer"),
        ("COMMIT", "writer"),
        ("SELECT * FROM t WHERE id = 1", "reader"),
    ]),
    ("ProxySQL #1256: SET autocommit=0 opens a transaction", &[
        ("SET autocommit=0", "writer"),
        ("SELECT version FROM t WHERE version = 1", "writer"),
        ("DELETE FROM t WHERE version = 1", "writer"),
        ("COMMIT", "writer"),
    ]),
    ("ProxySQL #1341: reads of a temporary table follow it", &[
        ("CREATE TEMPORARY TABLE ps_cat_restriction (id_category INT)", "writer"),
        ("INSERT INTO ps_cat_restriction VALUES (1)", "writer"),
        ("SELECT * FROM ps_cat_restriction", "writer"),
        ("SELECT * FROM t", "writer"),
        ("DROP TEMPORARY TABLE ps_cat_restriction", "writer"),
        ("SELECT * FROM t", "reader"),
    ]),
    ("ProxySQL #1421: SELECT LAST_INSERT_ID() runs where the insert ran", &[
        ("INSERT INTO t (name) VALUES ('a')", "writer"),
        ("SELECT LAST_INSERT_ID()", "writer"),
    ]),
    ("ProxySQL #1452: LAST_INSERT_ID() with an alias", &[
        ("INSERT INTO operator_log (operator, type) VALUES ('my6', 3)", "writer"),
        ("select last_insert_id() as ID", "writer"),
        ("SELECT LAST_INSERT_ID() AS `id`", "writer"),
    ]),
    ("ProxySQL #2391: the first SELECT after SET autocommit=0", &[
        ("SET autocommit=0", "writer"),
        ("SELECT * FROM t WHERE id = 1", "writer"),
        ("INSERT INTO t (id) VALUES (2)", "writer"),
        ("COMMIT", "writer"),
    ]),
    ("ProxySQL #4493: SELECT LAST_INSERT_ID() FROM DUAL (ORMs)", &[
        ("INSERT INTO t (name) VALUES ('a')", "writer"),
        ("SELECT LAST_INSERT_ID() FROM DUAL", "writer"),
        ("SELECT @@IDENTITY", "writer"),
        ("SELECT LAST_INSERT_ID() LIMIT 1", "writer"),
    ]),
    ("ProxySQL #4984: set autocommit=0; select; commit", &[
        ("set autocommit=0", "writer"),
        ("select * from t1", "writer"),
        ("commit", "writer"),
    ]),
    ("ProxySQL #546: INSERT and SELECT LAST_INSERT_ID() in one multi-statement", &[
        ("INSERT INTO t (name) VALUES ('a'); SELECT LAST_INSERT_ID()", "writer"),
    ]),
    ("ProxySQL #1118: a locking read in a transaction that began with a read", &[
        ("START TRANSACTION", "writer"),
        ("SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE", "writer"),
        ("UPDATE t SET v = v + 1 WHERE id = 1", "writer"),
        ("COMMIT", "writer"),
        ("SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE", "writer"),
    ]),
    ("ProxySQL #1160: sql_mode and time_zone follow the session to readers", &[
        ("SET SESSION sql_mode = 'ANSI_QUOTES'", "writer"),
        ("SET time_zone = '+00:00'", "writer"),
        // Served by a reader once the two SETs are replayed there (session_state.rs).
        ("SELECT NOW(), \"c\" FROM t", "reader"),
    ]),
    ("MaxScale MXS-1816: a prepared statement on a temporary table", &[
        ("CREATE TEMPORARY TABLE tmp (id INT)", "writer"),
        ("INSERT INTO tmp VALUES (1)", "writer"),
        ("PREPARE s FROM 'SELECT * FROM tmp'", "writer"),
        ("EXECUTE s", "writer"),
        ("DEALLOCATE PREPARE s", "writer"),
    ]),
    ("MaxScale MXS-2043: SELECT … FOR UPDATE in autocommit", &[
        ("SELECT col FROM test.mxs2043 FOR UPDATE", "writer"),
        ("SELECT col FROM test.mxs2043 FOR SHARE", "writer"),
    ]),
    ("ShardingSphere #8215: a read after a write in a transaction", &[
        ("START TRANSACTION", "writer"),
        ("INSERT INTO test VALUES (NULL, 'tran1')", "writer"),
        ("SELECT id, name FROM test", "writer"),
        ("COMMIT", "writer"),
    ]),
    ("ShardingSphere #1641: a read after a write on the same connection (read-your-writes)", &[
        ("INSERT INTO t_order (user_id, status) VALUES (1, 'NEW')", "writer"),
        ("SELECT * FROM t_order WHERE user_id = 1", "reader"),
    ]),
    ("ShardingSphere #17942: SELECT LAST_INSERT_ID() AS id", &[
        ("INSERT INTO Book (author, name, price) VALUES ('a', 'b', 10)", "writer"),
        ("SELECT LAST_INSERT_ID() AS id;", "writer"),
    ]),
    ("pgcat #829: writes that begin with WITH or hold a subquery", &[
        ("WITH c AS (SELECT id FROM t WHERE id = 1) UPDATE t JOIN c ON t.id = c.id SET t.v = t.v + 1", "writer"),
        ("DELETE FROM t WHERE id IN (SELECT id FROM t2 WHERE expired = 1)", "writer"),
        ("WITH c AS (SELECT 1 AS id) DELETE t FROM t JOIN c ON t.id = c.id", "writer"),
    ]),
    ("pgcat #884: what the parser cannot read goes to the writer", &[
        ("SELECT * FROM t WHERE ((", "writer"),
        ("SELECT SQL_NO_CACHE STRAIGHT_JOIN a.id FROM a STRAIGHT_JOIN b ON a.id = b.id WHERE a.id = 1 FOR UPDATE NOWAIT", "writer"),
    ]),
    ("pgcat #887: FOR UPDATE … SKIP LOCKED", &[
        ("SELECT id, other_id FROM mytable WHERE status = 1 ORDER BY created LIMIT 10 FOR UPDATE SKIP LOCKED", "writer"),
        ("SELECT id FROM mytable LIMIT 10 FOR UPDATE NOWAIT", "writer"),
    ]),
    ("pgcat #489: sequences and functions that write", &[
        ("SELECT next_seq_val('orders')", "writer"),
        ("SELECT NEXTVAL(order_seq)", "writer"),
        ("SELECT NEXT VALUE FOR order_seq", "writer"),
        ("START TRANSACTION", "writer"),
        ("SELECT next_seq_val('orders')", "writer"),
        ("INSERT INTO orders (id) VALUES (1)", "writer"),
        ("COMMIT", "writer"),
    ]),
];

#[test]
fn every_reported_trap_is_routed_right() {
    let mut failed = Vec::new();
    for (name, steps) in REPORTS {
        if let Err(e) = std::panic::catch_unwind(|| check_sequence(name, steps)) {
            failed.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| (*name).to_string()),
            );
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(
        REPORTS.len(),
        20,
        "one sequence per report named in the issue"
    );
}
