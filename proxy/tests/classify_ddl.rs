//! DDL: the writer, reason `write`; CREATE TEMPORARY TABLE and DROP TABLE carry the table
//! names the session needs to know which reads must stay on the writer.

mod common_route;

use common_route::topology;
use rwsplit::classify::{Classifier, Detail, Kind};
use rwsplit::route::{route, Reason, SessionState, Target};

#[derive(Debug, Clone, Copy)]
enum Want {
    /// No detail.
    Plain,
    /// Detail::CreateTemporary { table }
    Temp(&'static str),
    /// Detail::DropTables { temporary, tables }
    Drop(bool, &'static [&'static str]),
}

use Want::*;

#[rustfmt::skip]
const CASES: &[(&str, Want)] = &[
    // tables
    ("CREATE TABLE sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT '0', c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id)) ENGINE=InnoDB", Plain),
    ("CREATE TABLE IF NOT EXISTS tmp_report (id INT)", Plain),
    ("CREATE TABLE t2 LIKE t1", Plain),
    ("CREATE TABLE t3 AS SELECT * FROM t1 WHERE a > 1", Plain),
    ("CREATE TABLE logs (id INT, ts DATETIME) PARTITION BY RANGE (YEAR(ts)) (PARTITION p0 VALUES LESS THAN (2020), PARTITION p1 VALUES LESS THAN MAXVALUE)", Plain),
    ("ALTER TABLE users ADD COLUMN age INT NULL AFTER email, ALGORITHM=INPLACE, LOCK=NONE", Plain),
    ("ALTER TABLE users ENGINE=InnoDB", Plain),
    ("ALTER TABLE orders ADD INDEX idx_customer (customer_id)", Plain),
    ("RENAME TABLE users TO users_old, users_new TO users", Plain),
    ("TRUNCATE TABLE sessions", Plain),
    ("TRUNCATE sessions", Plain),
    ("CREATE INDEX idx_ab ON t (a, b(10))", Plain),
    ("CREATE UNIQUE INDEX uk_email ON users (email) USING BTREE", Plain),
    ("DROP INDEX idx_ab ON t", Plain),
    // views, programs, schemas, events
    ("CREATE VIEW v_active AS SELECT id FROM users WHERE active = 1", Plain),
    ("CREATE OR REPLACE VIEW v_active AS SELECT id, email FROM users WHERE active = 1", Plain),
    ("DROP VIEW IF EXISTS v_active", Plain),
    ("CREATE PROCEDURE p_count(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM t; END", Plain),
    ("CREATE DEFINER=`root`@`%` PROCEDURE p_fill() BEGIN DECLARE i INT DEFAULT 0; WHILE i < 10 DO INSERT INTO t VALUES (i); SET i = i + 1; END WHILE; END", Plain),
    ("CREATE FUNCTION add_one(a INT) RETURNS INT DETERMINISTIC RETURN a + 1", Plain),
    ("CREATE TRIGGER trg_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.created_at = NOW()", Plain),
    ("DROP PROCEDURE IF EXISTS p_count", Plain),
    ("DROP FUNCTION IF EXISTS add_one", Plain),
    ("DROP TRIGGER IF EXISTS trg_bi", Plain),
    ("CREATE DATABASE IF NOT EXISTS app DEFAULT CHARACTER SET utf8mb4", Plain),
    ("CREATE SCHEMA reporting", Plain),
    ("DROP DATABASE IF EXISTS scratch", Plain),
    ("ALTER DATABASE app CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci", Plain),
    ("CREATE EVENT ev_purge ON SCHEDULE EVERY 1 HOUR DO DELETE FROM sessions WHERE expires_at < NOW()", Plain),
    ("CREATE SEQUENCE seq_orders START WITH 1 INCREMENT BY 1", Plain),
    ("/*!40000 ALTER TABLE `t` DISABLE KEYS */", Plain),
    // temporary tables: the name, without schema or quotes
    ("CREATE TEMPORARY TABLE tmp_ids (id INT PRIMARY KEY) ENGINE=MEMORY", Temp("tmp_ids")),
    ("CREATE TEMPORARY TABLE tmp_big SELECT id FROM users WHERE age > 30", Temp("tmp_big")),
    ("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_x (a INT)", Temp("tmp_x")),
    ("CREATE TEMPORARY TABLE tmp_like LIKE users", Temp("tmp_like")),
    ("create temporary table tmp_lower (a int)", Temp("tmp_lower")),
    ("CREATE OR REPLACE TEMPORARY TABLE tmp_or (a INT)", Temp("tmp_or")),
    ("CREATE TEMPORARY TABLE app.tmp_qualified (a INT)", Temp("tmp_qualified")),
    ("CREATE TEMPORARY TABLE `tmp quoted` (a INT)", Temp("tmp quoted")),
    ("CREATE TEMPORARY TABLE `app`.`tmp q2` (a INT)", Temp("tmp q2")),
    // DROP TABLE: every name (a temporary table may be dropped without TEMPORARY)
    ("DROP TEMPORARY TABLE IF EXISTS tmp_ids", Drop(true, &["tmp_ids"])),
    ("DROP TEMPORARY TABLE tmp_a, tmp_b", Drop(true, &["tmp_a", "tmp_b"])),
    ("DROP TABLE IF EXISTS a, b", Drop(false, &["a", "b"])),
    ("DROP TABLE tmp_big", Drop(false, &["tmp_big"])),
    ("DROP TABLES x, y", Drop(false, &["x", "y"])),
    ("DROP TABLE app.t1 CASCADE", Drop(false, &["t1"])),
    ("DROP TABLE `tmp quoted`", Drop(false, &["tmp quoted"])),
    ("drop temporary table if exists `app`.`tmp q2`", Drop(true, &["tmp q2"])),
];

fn detail_matches(got: &Detail, want: Want) -> bool {
    match (want, got) {
        (Plain, Detail::None) => true,
        (Temp(name), Detail::CreateTemporary { table }) => table == name,
        (Drop(temp, names), Detail::DropTables { temporary, tables }) => {
            *temporary == temp && tables.iter().map(String::as_str).eq(names.iter().copied())
        }
        _ => false,
    }
}

#[test]
fn ddl_goes_to_the_writer_with_its_details() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, want) in CASES {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        if st.kind != Kind::Write
            || !detail_matches(&st.detail, want)
            || r.target != Target::Writer
            || r.reason != Reason::Write
        {
            bad.push(format!(
                "{sql:?}: {:?} {:?} -> {:?}/{:?}, want Write {want:?} -> Writer/Write",
                st.kind, st.detail, r.target, r.reason
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
fn stored_program_bodies_are_one_statement() {
    let c = Classifier::default();
    let bad: Vec<String> = CASES
        .iter()
        .filter(|(sql, _)| sql.contains(';'))
        .filter_map(|(sql, _)| {
            let st = c.classify(sql.as_bytes());
            (!st.parts.is_empty() || st.flags.contains(rwsplit::classify::Flags::MULTI)).then(
                || {
                    format!(
                        "{sql:?}: split into {} parts, {:?}",
                        st.parts.len(),
                        st.flags
                    )
                },
            )
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
