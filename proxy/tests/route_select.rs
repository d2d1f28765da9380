//! SELECT and friends: reads go to readers unless something binds them to the writer.

mod common_route;
use common_route::*;

const CASES: &[(&str, &str)] = &[
    // sysbench
    ("SELECT c FROM sbtest1 WHERE id=123", "reader:read"),
    ("SELECT c FROM sbtest1 WHERE id BETWEEN 100 AND 199 ORDER BY c", "reader"),
    ("SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 100 AND 199 ORDER BY c", "reader"),
    ("SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 100 AND 199", "reader"),
    ("SELECT c FROM sbtest1 WHERE id=?", "reader"),
    // joins, subqueries, CTEs, windows
    ("SELECT u.id, o.total FROM users u INNER JOIN orders o ON o.user_id = u.id LEFT JOIN addr a USING (user_id) WHERE u.active = 1 LIMIT 10, 20", "reader"),
    ("SELECT * FROM a STRAIGHT_JOIN b ON a.id = b.a_id NATURAL JOIN c, d WHERE d.x = a.x", "reader"),
    ("SELECT * FROM t1 FORCE INDEX (idx_a) JOIN t2 USE INDEX (PRIMARY) ON t1.id = t2.id WHERE t1.a > 5", "reader"),
    ("SELECT id, (SELECT COUNT(*) FROM orders o WHERE o.user_id = u.id) AS cnt FROM users u WHERE EXISTS (SELECT 1 FROM bans b WHERE b.uid = u.id)", "reader"),
    ("SELECT x.* FROM (SELECT user_id, SUM(total) s FROM orders GROUP BY user_id HAVING s > 100) AS x ORDER BY x.s DESC LIMIT 5 OFFSET 10", "reader"),
    ("WITH recent AS (SELECT * FROM orders WHERE created_at > '2024-01-01') SELECT COUNT(*) FROM recent", "reader"),
    ("WITH RECURSIVE cte (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM cte WHERE n < 10) SELECT * FROM cte", "reader"),
    ("SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at DESC) AS rn FROM orders", "reader"),
    ("SELECT a, b, COUNT(*) FROM t GROUP BY a, b WITH ROLLUP", "reader"),
    ("SELECT id FROM t1 UNION SELECT id FROM t2 UNION ALL SELECT id FROM t3 ORDER BY id LIMIT 100", "reader"),
    ("(SELECT a FROM t1) UNION (SELECT a FROM t2)", "reader"),
    ("SELECT user_id, GROUP_CONCAT(DISTINCT tag ORDER BY tag SEPARATOR ',') FROM tags GROUP BY user_id", "reader"),
    ("SELECT id, MATCH (title, body) AGAINST ('mysql proxy' IN BOOLEAN MODE) AS score FROM articles", "reader"),
    ("SELECT DATE_SUB(NOW(), INTERVAL 1 DAY), DATE_FORMAT(created_at, '%Y-%m-%d'), UNIX_TIMESTAMP() FROM t", "reader"),
    ("SELECT 1 FROM DUAL", "reader"),
    ("SELECT SQL_NO_CACHE HIGH_PRIORITY * FROM t WHERE id = 1", "reader"),
    ("SELECT * FROM t PARTITION (p0, p1) WHERE id < 10", "reader"),
    ("VALUES ROW(1, 2), ROW(3, 4)", "reader"),
    ("SELECT * FROM t1 JOIN LATERAL (SELECT * FROM t2 WHERE t2.a = t1.a LIMIT 1) AS x ON TRUE", "reader"),
    ("SELECT SLEEP(1)", "reader"),
    ("SELECT UUID(), NOW(), RAND()", "reader"),
    ("SELECT @@version, @@read_only, @@global.read_only, @@session.transaction_isolation", "reader"),
    ("SELECT @@server_id", "reader"),
    ("SELECT * FROM t WHERE owner = @uid AND ts > @since", "reader"),
    ("SELECT CAST(a AS CHAR(10)), CONVERT(b USING utf8mb4), IFNULL(c, 0), IF(d, 1, 2) FROM t", "reader"),
    ("SELECT JSON_OBJECT('a', 1), JSON_ARRAYAGG(id) FROM t", "reader"),
    ("select count(*) from information_schema.tables", "reader"),
    // bound to this connection's writes, or with side effects: the writer
    ("SELECT LAST_INSERT_ID()", "writer:side_effect_function"),
    ("SELECT LAST_INSERT_ID() FROM DUAL", "writer:side_effect_function"),
    ("SELECT last_insert_id() AS id", "writer:side_effect_function"),
    ("SELECT FOUND_ROWS()", "writer:side_effect_function"),
    ("SELECT SQL_CALC_FOUND_ROWS * FROM t WHERE a = 1 LIMIT 10", "writer:side_effect_function"),
    ("SELECT GET_LOCK('mylock', 10)", "writer:side_effect_function"),
    ("SELECT RELEASE_LOCK('mylock')", "writer:side_effect_function"),
    ("SELECT IS_FREE_LOCK('mylock'), RELEASE_ALL_LOCKS()", "writer:side_effect_function"),
    ("SELECT IS_USED_LOCK('x')", "writer:side_effect_function"),
    ("SELECT IF(GET_LOCK(CONCAT('job_', 42), 0), 'ok', 'busy') AS r", "writer:side_effect_function"),
    ("SELECT * FROM t WHERE id IN (SELECT GET_LOCK('x', 1))", "writer:side_effect_function"),
    ("SELECT NEXT VALUE FOR seq1", "writer"),
    ("SELECT PREVIOUS VALUE FOR seq1", "writer"),
    ("SELECT NEXTVAL(seq1)", "writer:side_effect_function"),
    ("SELECT LASTVAL(seq1)", "writer:side_effect_function"),
    ("SELECT SETVAL(seq1, 100)", "writer:side_effect_function"),
    ("SELECT CONNECTION_ID()", "writer:side_effect_function"),
    ("SELECT @@identity", "writer:side_effect_function"),
    ("SELECT @@last_insert_id", "writer:side_effect_function"),
    ("SELECT @@session.last_insert_id", "writer:side_effect_function"),
    ("SELECT @@gtid_binlog_pos", "writer:side_effect_function"),
    ("SELECT @@last_gtid", "writer:side_effect_function"),
    ("SELECT LOAD_FILE('/etc/hosts')", "writer:side_effect_function"),
    ("SELECT MASTER_POS_WAIT('mysql-bin.000001', 4, 10)", "writer:side_effect_function"),
    // user variables assigned
    ("SELECT @rownum := @rownum + 1 AS rn, t.* FROM t, (SELECT @rownum := 0) r", "writer:user_variable"),
    ("SELECT @a := MAX(id) FROM t", "writer:user_variable"),
    ("SELECT id INTO @v FROM t WHERE name = 'x'", "writer:user_variable"),
    ("SELECT a, b INTO @x, @y FROM t LIMIT 1", "writer:user_variable"),
    ("SELECT a FROM t WHERE id = 1 INTO @z", "writer"),
    ("SELECT id FROM t INTO OUTFILE '/tmp/out.csv' FIELDS TERMINATED BY ','", "writer"),
    ("SELECT id FROM t INTO DUMPFILE '/tmp/out.bin'", "writer"),
    // the previous statement's backend
    ("SELECT ROW_COUNT()", "writer:last_statement"),
    ("SELECT @@warning_count", "writer:last_statement"),
    ("SELECT @@session.error_count", "writer:last_statement"),
    // stored (unknown) functions may write
    ("SELECT my_func(1)", "writer:side_effect_function"),
    ("SELECT app.compute_price(id) FROM books", "writer:side_effect_function"),
    ("SELECT id FROM t WHERE audit_log(id) > 0", "writer:side_effect_function"),
    // statements sqlparser cannot parse go to the writer and are counted
    ("SELECT a MOD 3 FROM t", "writer:parse_failure"),
    ("TABLE t1", "writer:parse_failure"),
];

#[test]
fn selects() {
    check_fresh(CASES);
}

#[test]
fn without_readers_reads_go_to_the_writer() {
    let c = rwsplit::classify::Classifier::default();
    let t = no_readers();
    for (sql, _) in CASES.iter().take(20) {
        let st = c.classify(sql.as_bytes());
        let r = rwsplit::route::route(&st, &rwsplit::route::SessionState::default(), &t);
        assert_eq!(describe(&r), "writer:no_reader", "{sql}");
    }
}

#[test]
fn listed_stored_functions_may_run_on_readers() {
    let c = rwsplit::classify::Classifier::with_functions(
        64,
        &["my_func".into(), "APP.COMPUTE_PRICE".into()],
    );
    let t = topology();
    for sql in [
        "SELECT my_func(1)",
        "SELECT app.compute_price(id) FROM books",
        "SELECT MY_FUNC(2) + 1",
    ] {
        let st = c.classify(sql.as_bytes());
        let r = rwsplit::route::route(&st, &rwsplit::route::SessionState::default(), &t);
        assert_eq!(describe(&r), "reader:read", "{sql}");
    }
    let st = c.classify(b"SELECT other_func(1)");
    let r = rwsplit::route::route(&st, &rwsplit::route::SessionState::default(), &t);
    assert_eq!(describe(&r), "writer:side_effect_function");
}

#[test]
fn parse_failures_are_counted() {
    let c = rwsplit::classify::Classifier::default();
    c.classify(b"SELECT a MOD 3 FROM t");
    c.classify(b"SELECT a MOD 4 FROM t"); // same shape: parsed once
    c.classify(b"SELECT 1");
    assert_eq!(c.parse_failures(), 1);
    assert_eq!(c.parses(), 2);
}
