//! INSERT, UPDATE, DELETE, REPLACE, LOAD DATA and `WITH … DELETE/UPDATE`: always the writer,
//! reason `write`, whatever their modifiers, and whatever a hint says.

mod common_route;

use common_route::{no_readers, topology};
use rwsplit::classify::{Classifier, Flags, Kind};
use rwsplit::route::{route, Reason, SessionState, Target};

/// (statement, kind). Every case must go to the writer with reason `write`.
#[rustfmt::skip]
const CASES: &[(&str, Kind)] = &[
    // sysbench oltp_write_only / oltp_read_write
    ("UPDATE sbtest1 SET k=k+1 WHERE id=5012", Kind::Write),
    ("UPDATE sbtest1 SET c='83868641912-28773972837-60736120486' WHERE id=5012", Kind::Write),
    ("DELETE FROM sbtest1 WHERE id=5012", Kind::Write),
    ("INSERT INTO sbtest1 (id, k, c, pad) VALUES (5012, 4993, '80412418426-94345744412', '90542193617-39713457498')", Kind::Write),
    ("UPDATE sbtest1 SET k=k+1 WHERE id=?", Kind::Write),
    // INSERT forms
    ("INSERT INTO users (email, name) VALUES ('a@example.com', 'A')", Kind::Write),
    ("insert into users (email) values (?)", Kind::Write),
    ("INSERT INTO tags (post_id, tag) VALUES (1, 'a'), (1, 'b'), (2, 'c')", Kind::Write),
    ("INSERT IGNORE INTO seen (id) VALUES (7)", Kind::Write),
    ("INSERT INTO counters (id, n) VALUES (1, 1) ON DUPLICATE KEY UPDATE n = n + 1", Kind::Write),
    ("INSERT INTO counters (id, n) VALUES (1, 1) AS new ON DUPLICATE KEY UPDATE n = counters.n + new.n", Kind::Write),
    ("INSERT INTO archive SELECT * FROM orders WHERE created_at < '2020-01-01'", Kind::Write),
    ("INSERT INTO t SET a = 1, b = 'two'", Kind::Write),
    ("INSERT DELAYED INTO log VALUES (NOW(), 'x')", Kind::Write),
    ("INSERT INTO t (a) SELECT MAX(a) + 1 FROM t FOR UPDATE", Kind::Write),
    ("INSERT INTO t (id) VALUES (LAST_INSERT_ID())", Kind::Write),
    ("INSERT INTO t (id, v) VALUES (1, 'x') RETURNING id", Kind::Write),
    // REPLACE
    ("REPLACE INTO kv (k, v) VALUES ('a', '1')", Kind::Write),
    ("REPLACE kv SET k = 'a', v = '2'", Kind::Write),
    // UPDATE forms
    ("UPDATE users SET last_login = NOW() WHERE id = 7", Kind::Write),
    ("UPDATE LOW_PRIORITY IGNORE t SET a = a + 1 WHERE b > 2", Kind::Write),
    ("UPDATE t SET a = 0 ORDER BY id DESC LIMIT 100", Kind::Write),
    ("UPDATE orders o JOIN customers c ON c.id = o.customer_id SET o.vip = 1 WHERE c.tier = 'gold'", Kind::Write),
    ("UPDATE t1, t2 SET t1.a = t2.a WHERE t1.id = t2.id", Kind::Write),
    ("UPDATE docs SET doc = JSON_SET(doc, '$.read', TRUE) WHERE id = 3", Kind::Write),
    ("update hibernate_sequence set next_val= 12 where next_val=11", Kind::Write),
    // DELETE forms
    ("DELETE FROM sessions WHERE expires_at < NOW()", Kind::Write),
    ("DELETE LOW_PRIORITY QUICK IGNORE FROM t WHERE a = 1", Kind::Write),
    ("DELETE FROM t ORDER BY id LIMIT 1000", Kind::Write),
    ("DELETE t1 FROM t1 LEFT JOIN t2 ON t1.id = t2.id WHERE t2.id IS NULL", Kind::Write),
    ("DELETE FROM t1 USING t1 JOIN t2 ON t1.id = t2.id", Kind::Write),
    ("DELETE FROM t WHERE id = 1 RETURNING id", Kind::Write),
    // bulk loads
    ("LOAD DATA LOCAL INFILE '/tmp/users.csv' INTO TABLE users FIELDS TERMINATED BY ','", Kind::Write),
    ("LOAD DATA INFILE '/var/lib/mysql-files/t.tsv' REPLACE INTO TABLE t", Kind::Write),
    ("LOAD XML LOCAL INFILE '/tmp/t.xml' INTO TABLE t", Kind::Write),
    // a write in a read's shape: sqlparser sees the data change
    ("WITH old AS (SELECT id FROM events WHERE ts < '2020-01-01') DELETE FROM events WHERE id IN (SELECT id FROM old)", Kind::Read),
    ("WITH src AS (SELECT 1 AS id) UPDATE t JOIN src ON t.id = src.id SET t.a = 0", Kind::Read),
    // leading comments and whitespace change nothing
    ("/* app=billing */ UPDATE invoices SET paid = 1 WHERE id = 3", Kind::Write),
    ("\n\t  DELETE FROM t WHERE id = 1", Kind::Write),
    ("INSERT /*+ SET_VAR(foreign_key_checks=OFF) */ INTO t VALUES (1)", Kind::Write),
];

#[test]
fn writes_go_to_the_writer() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, kind) in CASES {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        // A write in a read's shape must carry what sends it to the writer.
        let flagged =
            kind != Kind::Read || st.flags.intersects(Flags::WRITES_DATA | Flags::WRITE_WORD);
        if st.kind != kind || !flagged || r.target != Target::Writer || r.reason != Reason::Write {
            bad.push(format!(
                "{sql:?}: {:?} {:?} -> {:?}/{:?}, want {kind:?} -> Writer/Write",
                st.kind, st.flags, r.target, r.reason
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        CASES.len(),
        bad.join("\n")
    );
}

#[test]
fn a_reader_hint_or_a_missing_reader_changes_nothing() {
    let c = Classifier::default();
    let mut bad = Vec::new();
    for (sql, _) in CASES {
        for (text, t) in [
            (format!("/* rwsplit:reader */ {sql}"), topology()),
            (sql.to_string(), no_readers()),
        ] {
            let r = route(&c.classify(text.as_bytes()), &SessionState::default(), &t);
            if r.target != Target::Writer || r.reason != Reason::Write {
                bad.push(format!("{text:?}: {:?}/{:?}", r.target, r.reason));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
