//! Writes and schema changes go to the writer.

mod common_route;
use common_route::*;
use rwsplit::classify::Kind;

const CASES: &[(&str, &str)] = &[
    ("INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, 5012, '68487932199', '22195207048')", "writer:write"),
    ("INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)", "writer:write"),
    ("UPDATE sbtest1 SET k=k+1 WHERE id=5000", "writer:write"),
    ("UPDATE sbtest1 SET c='19810564207-89292813-0' WHERE id=5000", "writer:write"),
    ("DELETE FROM sbtest1 WHERE id=5000", "writer:write"),
    ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL)", "writer"),
    ("INSERT INTO t (id, cnt) VALUES (1, 1) ON DUPLICATE KEY UPDATE cnt = cnt + 1, b = VALUES(b)", "writer"),
    ("INSERT INTO t (a, b) VALUES (1, 2) AS new ON DUPLICATE KEY UPDATE b = new.b", "writer"),
    ("INSERT IGNORE INTO t (a) VALUES (1)", "writer"),
    ("INSERT INTO t SET a = 1, b = 'two'", "writer"),
    ("INSERT INTO t2 (a, b) SELECT a, b FROM t1 WHERE a > 10", "writer"),
    ("INSERT LOW_PRIORITY INTO t VALUES (1)", "writer"),
    ("INSERT INTO t VALUES (1) RETURNING id", "writer"),
    ("REPLACE INTO t (id, v) VALUES (1, 'a')", "writer"),
    ("REPLACE INTO t SET id = 1, v = 'a'", "writer"),
    ("UPDATE t SET a = 1 WHERE b = 2 ORDER BY id LIMIT 10", "writer"),
    ("UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b WHERE t2.c = 1", "writer"),
    ("UPDATE t1, t2 SET t1.a = t2.a, t2.b = 0 WHERE t1.id = t2.id", "writer"),
    ("UPDATE LOW_PRIORITY IGNORE t SET a = a + 1", "writer"),
    ("DELETE FROM t WHERE id = 1 ORDER BY id LIMIT 1", "writer"),
    ("DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.x = 1", "writer"),
    ("DELETE FROM t1 USING t1 JOIN t2 ON t1.id = t2.id WHERE t2.x = 1", "writer"),
    ("DELETE QUICK IGNORE FROM t WHERE a = 1", "writer"),
    ("DELETE FROM t WHERE id = 1 RETURNING *", "writer"),
    ("UPDATE docs SET doc = JSON_SET(doc, '$.seen', TRUE) WHERE id = 7", "writer"),
    // CTEs and subqueries that write
    ("WITH old AS (SELECT id FROM t WHERE ts < '2020-01-01') DELETE FROM t WHERE id IN (SELECT id FROM old)", "writer:write"),
    ("WITH x AS (SELECT 1 AS a) UPDATE t JOIN x ON t.a = x.a SET t.b = 2", "writer"),
    ("WITH x AS (SELECT 1 AS a) INSERT INTO t SELECT a FROM x", "writer"),
    ("LOAD DATA LOCAL INFILE '/tmp/data.csv' INTO TABLE t FIELDS TERMINATED BY ','", "writer"),
    ("LOAD DATA INFILE '/tmp/data.csv' REPLACE INTO TABLE t", "writer"),
    ("LOAD XML LOCAL INFILE '/tmp/x.xml' INTO TABLE t", "writer"),
    // DDL
    ("CREATE TABLE `sbtest1` (`id` int NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`)) ENGINE=InnoDB", "writer"),
    ("CREATE TABLE IF NOT EXISTS users (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY)", "writer"),
    ("CREATE TABLE logs (id INT, ts DATETIME) PARTITION BY RANGE (YEAR(ts)) (PARTITION p0 VALUES LESS THAN (2020))", "writer"),
    ("CREATE TABLE t_copy LIKE t", "writer"),
    ("CREATE TABLE t_sel AS SELECT * FROM t WHERE a = 1", "writer"),
    ("ALTER TABLE users ADD COLUMN age INT NULL AFTER email, ADD INDEX idx_age (age), ALGORITHM=INPLACE, LOCK=NONE", "writer"),
    ("ALTER TABLE users ENGINE=InnoDB", "writer"),
    ("CREATE TEMPORARY TABLE tmp_ids (id INT PRIMARY KEY) ENGINE=MEMORY", "writer"),
    ("CREATE TEMPORARY TABLE tmp2 SELECT id FROM users WHERE age > 30", "writer"),
    ("DROP TEMPORARY TABLE IF EXISTS tmp_ids", "writer"),
    ("DROP TABLE IF EXISTS a, b", "writer"),
    ("CREATE INDEX idx_ab ON t (a, b(10))", "writer"),
    ("DROP INDEX idx_ab ON t", "writer"),
    ("TRUNCATE TABLE t", "writer"),
    ("TRUNCATE t", "writer"),
    ("RENAME TABLE a TO b, c TO d", "writer"),
    ("CREATE VIEW v_active AS SELECT id, email FROM users WHERE status = 'active'", "writer"),
    ("CREATE OR REPLACE ALGORITHM=MERGE DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v2 AS SELECT 1 AS x", "writer"),
    ("CREATE PROCEDURE p1(IN a INT, OUT b INT) BEGIN SELECT COUNT(*) INTO b FROM t WHERE x = a; END", "writer"),
    ("CREATE TRIGGER trg_au AFTER UPDATE ON t FOR EACH ROW INSERT INTO audit (id) VALUES (NEW.id)", "writer"),
    ("CREATE FUNCTION add1(a INT) RETURNS INT DETERMINISTIC BEGIN RETURN a + 1; END", "writer"),
    ("CREATE EVENT ev1 ON SCHEDULE EVERY 1 HOUR DO DELETE FROM logs WHERE ts < NOW() - INTERVAL 7 DAY", "writer"),
    ("CREATE SEQUENCE s1 START WITH 1", "writer"),
    ("DROP PROCEDURE IF EXISTS p1", "writer"),
    ("DROP DATABASE IF EXISTS app", "writer"),
    ("CREATE DATABASE IF NOT EXISTS app DEFAULT CHARACTER SET utf8mb4", "writer"),
    ("GRANT SELECT, INSERT ON app.* TO 'u'@'%'", "writer"),
    ("REVOKE INSERT ON app.* FROM 'u'@'%'", "writer"),
    ("CREATE USER 'u'@'%' IDENTIFIED BY 'pw'", "writer"),
    ("ALTER USER 'u'@'%' IDENTIFIED BY 'newpw'", "writer"),
    ("DROP USER 'u'@'%'", "writer"),
];

#[test]
fn writes_and_ddl() {
    check_fresh(CASES);
}

#[test]
fn kinds() {
    check_kinds(&[
        ("INSERT INTO t VALUES (1)", Kind::Write),
        ("UPDATE t SET a = 1", Kind::Write),
        ("DELETE FROM t", Kind::Write),
        ("CREATE TABLE x (a INT)", Kind::Write),
        ("ALTER TABLE x ADD b INT", Kind::Write),
        ("WITH a AS (SELECT 1) DELETE FROM t", Kind::Read), // a read in shape, flagged as writing
    ]);
}
