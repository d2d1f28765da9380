//! SELECT and the other plain reads, one by one in a fresh session: which go to a reader,
//! which a function, a variable or `INTO` binds to the writer, and which sqlparser rejects.
//! (Locking reads have their own file, classify_locking.rs.)

mod common_route;

use common_route::{no_readers, topology};
use rwsplit::classify::{Classifier, Flags, Kind};
use rwsplit::route::{route, Reason, SessionState, Target};

/// (statement, kind, flags that must be set, target, reason)
type Case = (&'static str, Kind, Flags, Target, Reason);

const NONE: Flags = Flags::empty();
const RD: Target = Target::Reader;
const WR: Target = Target::Writer;

#[rustfmt::skip]
const CASES: &[Case] = &[
    // sysbench oltp_read_only
    ("SELECT c FROM sbtest1 WHERE id=4711", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT c FROM sbtest1 WHERE id BETWEEN 4711 AND 4810", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 4711 AND 4810", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT c FROM sbtest1 WHERE id BETWEEN 4711 AND 4810 ORDER BY c", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 4711 AND 4810 ORDER BY c", Kind::Read, NONE, RD, Reason::Read),
    // application reads
    ("SELECT * FROM users WHERE email = 'a@example.com' LIMIT 1", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status IN ('new', 'paid') ORDER BY o.created_at DESC LIMIT 50", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT COUNT(*) FROM orders WHERE created_at >= NOW() - INTERVAL 1 DAY", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT * FROM products p WHERE p.price > (SELECT AVG(price) FROM products)", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT c.id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)", Kind::Read, NONE, RD, Reason::Read),
    ("WITH t AS (SELECT id FROM a WHERE flag = 1) SELECT * FROM t", Kind::Read, NONE, RD, Reason::Read),
    ("WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 5) SELECT n FROM seq", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT id FROM a UNION ALL SELECT id FROM b", Kind::Read, NONE, RD, Reason::Read),
    ("(SELECT id FROM a ORDER BY id LIMIT 1) UNION (SELECT id FROM b ORDER BY id LIMIT 1)", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT id, RANK() OVER (PARTITION BY cat ORDER BY score DESC) FROM scores", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT GROUP_CONCAT(name SEPARATOR ', ') FROM tags GROUP BY post_id", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT * FROM t FORCE INDEX (PRIMARY) WHERE id > 10", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT * FROM t ORDER BY RAND() LIMIT 1", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT CONVERT_TZ(created_at, '+00:00', '+02:00') FROM events", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT JSON_EXTRACT(doc, '$.a') FROM docs WHERE id = 3", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT doc->>'$.name' FROM docs", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT * FROM t WHERE id IN (?, ?, ?)", Kind::Read, NONE, RD, Reason::Read),
    // constant and server-variable reads
    ("SELECT 1", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT 1 FROM DUAL", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT NOW()", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT UUID()", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT SLEEP(0)", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT @@version", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT @@global.read_only", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT @@session.sql_mode", Kind::Read, NONE, RD, Reason::Read),
    ("VALUES ROW(1, 'a'), ROW(2, 'b')", Kind::Read, NONE, RD, Reason::Read),
    ("HELP 'SELECT'", Kind::Read, NONE, RD, Reason::Read),
    // reading a user variable is fine in a fresh session (it was replayed everywhere)
    ("SELECT * FROM t WHERE owner = @filter", Kind::Read, Flags::USER_VAR_READ, RD, Reason::Read),
    // words that look like writes but are not
    ("SELECT REPLACE(name, 'a', 'b') FROM t", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT INSERT('abc', 2, 1, 'x')", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT * FROM t WHERE deleted = 0 AND updated_at > '2024-01-01'", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT `update`, `delete`, `insert` FROM audit", Kind::Read, NONE, RD, Reason::Read),
    ("SELECT 'DELETE FROM t', 'UPDATE t SET a = 1' AS sample", Kind::Read, NONE, RD, Reason::Read),
    // bound to this connection's writes, or with side effects: the writer
    ("SELECT LAST_INSERT_ID()", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("select last_insert_id() as id", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT * FROM orders WHERE id = LAST_INSERT_ID()", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT FOUND_ROWS()", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT SQL_CALC_FOUND_ROWS id, title FROM posts WHERE author = 7 LIMIT 20", Kind::Read, Flags::CALC_FOUND_ROWS, WR, Reason::SideEffectFunction),
    ("SELECT GET_LOCK('migrations', 10)", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT RELEASE_LOCK('migrations')", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT IS_USED_LOCK('migrations')", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT IS_FREE_LOCK('migrations')", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT RELEASE_ALL_LOCKS()", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT * FROM jobs WHERE id IN (SELECT GET_LOCK('j', 0))", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT NEXTVAL(seq_orders)", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT LASTVAL(seq_orders)", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT SETVAL(seq_orders, 1000)", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT NEXT VALUE FOR seq_orders", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT PREVIOUS VALUE FOR seq_orders", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT CONNECTION_ID()", Kind::Read, Flags::WRITER_FUNCTION, WR, Reason::SideEffectFunction),
    ("SELECT @@identity", Kind::Read, Flags::WRITER_SYSVAR, WR, Reason::SideEffectFunction),
    ("SELECT @@IDENTITY AS id", Kind::Read, Flags::WRITER_SYSVAR, WR, Reason::SideEffectFunction),
    ("SELECT @@last_insert_id", Kind::Read, Flags::WRITER_SYSVAR, WR, Reason::SideEffectFunction),
    ("SELECT @@session.last_insert_id", Kind::Read, Flags::WRITER_SYSVAR, WR, Reason::SideEffectFunction),
    ("SELECT app.price_with_tax(price) FROM items", Kind::Read, Flags::UNKNOWN_FUNCTION, WR, Reason::SideEffectFunction),
    // user variables assigned, SELECT … INTO
    ("SELECT @n := COUNT(*) FROM t", Kind::Read, Flags::USER_VAR_ASSIGN, WR, Reason::UserVariable),
    ("SELECT @row := @row + 1 AS rn, t.* FROM t, (SELECT @row := 0) init", Kind::Read, Flags::USER_VAR_ASSIGN, WR, Reason::UserVariable),
    ("SELECT id INTO @last_id FROM orders ORDER BY id DESC LIMIT 1", Kind::Read, Flags::INTO, WR, Reason::UserVariable),
    ("SELECT a, b FROM t WHERE id = 7 INTO @a, @b", Kind::Read, Flags::INTO, WR, Reason::UserVariable),
    ("SELECT * FROM t INTO OUTFILE '/tmp/t.csv'", Kind::Read, Flags::INTO, WR, Reason::UserVariable),
    ("SELECT doc FROM docs WHERE id = 1 INTO DUMPFILE '/tmp/doc.json'", Kind::Read, Flags::INTO, WR, Reason::UserVariable),
    // about the previous statement: where it ran (the writer in a fresh session)
    ("SELECT ROW_COUNT()", Kind::Read, Flags::LAST_STATEMENT, WR, Reason::LastStatement),
    ("SELECT @@warning_count", Kind::Read, Flags::LAST_STATEMENT, WR, Reason::LastStatement),
    ("SELECT @@session.warning_count", Kind::Read, Flags::LAST_STATEMENT, WR, Reason::LastStatement),
    ("SELECT @@error_count", Kind::Read, Flags::LAST_STATEMENT, WR, Reason::LastStatement),
    // sqlparser 0.63 rejects these: the writer runs them, unchanged
    ("SELECT a MOD 3 FROM t", Kind::Read, Flags::PARSE_FAILED, WR, Reason::ParseFailure),
    ("TABLE orders", Kind::Read, Flags::PARSE_FAILED, WR, Reason::ParseFailure),
    ("SELECT 'unterminated", Kind::Read, Flags::PARSE_FAILED, WR, Reason::ParseFailure),
];

fn mismatch(c: &Classifier, case: &Case) -> Option<String> {
    let (sql, kind, flags, target, reason) = *case;
    let st = c.classify(sql.as_bytes());
    let r = route(&st, &SessionState::default(), &topology());
    let ok =
        st.kind == kind && st.flags.contains(flags) && r.target == target && r.reason == reason;
    (!ok).then(|| {
        format!(
            "{sql:?}\n    got  {:?} {:?} -> {:?}/{:?}\n    want {kind:?} ⊇{flags:?} -> {target:?}/{reason:?}",
            st.kind, st.flags, r.target, r.reason
        )
    })
}

#[test]
fn reads_route_as_specified() {
    let c = Classifier::default();
    let bad: Vec<String> = CASES.iter().filter_map(|k| mismatch(&c, k)).collect();
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        CASES.len(),
        bad.join("\n")
    );
}

#[test]
fn plain_reads_carry_no_writer_flags() {
    let c = Classifier::default();
    let bad: Vec<String> = CASES
        .iter()
        .filter(|k| k.3 == Target::Reader)
        .filter_map(|(sql, ..)| {
            let st = c.classify(sql.as_bytes());
            (!st.is_plain_read()).then(|| format!("{sql:?}: {:?} {:?}", st.kind, st.flags))
        })
        .collect();
    assert!(bad.is_empty(), "not plain reads:\n{}", bad.join("\n"));
}

#[test]
fn without_an_eligible_reader_reads_go_to_the_writer() {
    let c = Classifier::default();
    let t = no_readers();
    let mut n = 0;
    let bad: Vec<String> = CASES
        .iter()
        .filter(|k| k.3 == Target::Reader)
        .filter_map(|(sql, ..)| {
            n += 1;
            let r = route(&c.classify(sql.as_bytes()), &SessionState::default(), &t);
            (r.target != Target::Writer || r.reason != Reason::NoReader)
                .then(|| format!("{sql:?}: {:?}/{:?}", r.target, r.reason))
        })
        .collect();
    assert!(n >= 30, "only {n} reader cases");
    assert!(bad.is_empty(), "want Writer/NoReader:\n{}", bad.join("\n"));
}

#[test]
fn parse_failures_are_counted_once_per_shape() {
    let c = Classifier::default();
    assert_eq!(c.parse_failures(), 0);
    c.classify(b"SELECT 1");
    c.classify(b"SELECT c FROM sbtest1 WHERE id=1");
    assert_eq!(c.parse_failures(), 0, "plain reads parse");
    c.classify(b"SELECT a MOD 3 FROM t");
    assert_eq!(c.parse_failures(), 1);
    c.classify(b"SELECT a MOD 7 FROM t"); // same shape, other literal: the cached verdict
    assert_eq!(c.parse_failures(), 1);
    c.classify(b"SELECT b MOD 3 FROM u"); // another shape
    assert_eq!(c.parse_failures(), 2);
}
