//! What only the writer has: table locks (LOCK TABLES, FLUSH TABLES WITH READ LOCK, LOCK
//! INSTANCE, BACKUP LOCK) pin every statement to the writer until they are released;
//! temporary tables pin the session's reads until the last one is dropped.

mod common_route;

use common_route::{check_step_sequences, topology, Step};
use rwsplit::classify::Classifier;
use rwsplit::route::{route, status, Outcome, Reason, Served, SessionState, Target};

const AC: u16 = status::AUTOCOMMIT;
const TX: u16 = status::AUTOCOMMIT | status::IN_TRANS;

const RD: Target = Target::Reader;
const WR: Target = Target::Writer;

#[rustfmt::skip]
const SEQUENCES: &[(&str, &[Step])] = &[
    ("LOCK TABLES … UNLOCK TABLES", &[
        ("SELECT * FROM t1", AC, RD, Reason::Read),
        ("LOCK TABLES t1 WRITE, t2 READ", AC, WR, Reason::Lock),
        ("SELECT * FROM t1", AC, WR, Reason::Lock),
        ("SELECT COUNT(*) FROM t2", AC, WR, Reason::Lock),
        ("SHOW TABLES", AC, WR, Reason::Lock),
        ("/* rwsplit:reader */ SELECT 1", AC, WR, Reason::Lock),
        ("SHOW WARNINGS", AC, WR, Reason::Lock),
        ("UPDATE t1 SET a = 1", AC, WR, Reason::Lock),
        ("SET @x = 1", AC, WR, Reason::Lock),
        ("UNLOCK TABLES", AC, WR, Reason::Lock),
        ("SELECT * FROM t1", AC, RD, Reason::Read),
    ]),
    ("lock tables (lower case, LOCAL, aliases)", &[
        ("lock tables `orders` as o read local", AC, WR, Reason::Lock),
        ("select * from orders as o", AC, WR, Reason::Lock),
        ("unlock tables", AC, WR, Reason::Lock),
        ("select * from orders", AC, RD, Reason::Read),
    ]),
    ("mysqldump --single-transaction --master-data", &[
        ("FLUSH /*!40101 LOCAL */ TABLES", AC, WR, Reason::Other),
        ("FLUSH TABLES WITH READ LOCK", AC, WR, Reason::Lock),
        ("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", AC, WR, Reason::Lock),
        ("START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */", TX, WR, Reason::Lock),
        ("SHOW VARIABLES LIKE 'gtid\\_mode'", TX, WR, Reason::InTransaction),
        ("SHOW MASTER STATUS", TX, WR, Reason::InTransaction),
        ("UNLOCK TABLES", TX, WR, Reason::InTransaction),
        ("SHOW TABLES", TX, WR, Reason::InTransaction),
        ("SAVEPOINT sp", TX, WR, Reason::InTransaction),
        ("SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`", TX, WR, Reason::InTransaction),
        ("ROLLBACK TO SAVEPOINT sp", TX, WR, Reason::InTransaction),
        ("RELEASE SAVEPOINT sp", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("FLUSH TABLES … FOR EXPORT", &[
        ("FLUSH TABLES orders FOR EXPORT", AC, WR, Reason::Lock),
        ("SELECT 1", AC, WR, Reason::Lock),
        ("UNLOCK TABLES", AC, WR, Reason::Lock),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("LOCK INSTANCE FOR BACKUP", &[
        ("LOCK INSTANCE FOR BACKUP", AC, WR, Reason::Lock),
        ("SHOW TABLES", AC, WR, Reason::Lock),
        ("UNLOCK INSTANCE", AC, WR, Reason::Lock),
        ("SHOW TABLES", AC, RD, Reason::Read),
    ]),
    ("MariaDB BACKUP LOCK", &[
        ("BACKUP LOCK app.orders", AC, WR, Reason::Lock),
        ("SELECT * FROM app.orders", AC, WR, Reason::Lock),
        ("BACKUP UNLOCK", AC, WR, Reason::Lock),
        ("SELECT * FROM app.orders", AC, RD, Reason::Read),
    ]),
    ("a temporary table pins reads until it is dropped", &[
        ("CREATE TEMPORARY TABLE tmp_ids (id INT PRIMARY KEY) ENGINE=MEMORY", AC, WR, Reason::Write),
        ("INSERT INTO tmp_ids SELECT id FROM users WHERE active = 1", AC, WR, Reason::Write),
        ("SELECT u.* FROM users u JOIN tmp_ids USING (id)", AC, WR, Reason::TempTable),
        ("SELECT 1", AC, WR, Reason::TempTable),
        ("SHOW CREATE TABLE tmp_ids", AC, WR, Reason::TempTable),
        ("/* rwsplit:reader */ SELECT COUNT(*) FROM tmp_ids", AC, WR, Reason::TempTable),
        ("START TRANSACTION READ ONLY", TX, WR, Reason::Transaction),
        ("SELECT * FROM tmp_ids", TX, WR, Reason::InTransaction),
        ("COMMIT", AC, WR, Reason::InTransaction),
        ("DROP TEMPORARY TABLE tmp_ids", AC, WR, Reason::Write),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("two temporary tables, dropped one at a time", &[
        ("CREATE TEMPORARY TABLE tmp_a (a INT)", AC, WR, Reason::Write),
        ("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_b SELECT 1 AS b", AC, WR, Reason::Write),
        ("DROP TEMPORARY TABLE tmp_a", AC, WR, Reason::Write),
        ("SELECT 1", AC, WR, Reason::TempTable),
        ("DROP TABLE IF EXISTS unrelated", AC, WR, Reason::Write),
        ("SELECT 1", AC, WR, Reason::TempTable),
        ("DROP TABLE tmp_b", AC, WR, Reason::Write),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("several dropped in one statement", &[
        ("CREATE TEMPORARY TABLE tmp_a (a INT)", AC, WR, Reason::Write),
        ("CREATE TEMPORARY TABLE tmp_b (b INT)", AC, WR, Reason::Write),
        ("DROP TEMPORARY TABLE IF EXISTS tmp_a, tmp_b", AC, WR, Reason::Write),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("schema-qualified and quoted names", &[
        ("CREATE TEMPORARY TABLE app.tmp_q (a INT)", AC, WR, Reason::Write),
        ("CREATE TEMPORARY TABLE `tmp space` (a INT)", AC, WR, Reason::Write),
        ("DROP TABLE tmp_q", AC, WR, Reason::Write),
        ("SELECT 1", AC, WR, Reason::TempTable),
        ("DROP TEMPORARY TABLE `app`.`tmp space`", AC, WR, Reason::Write),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("temporary tables created and dropped inside multi-statement queries", &[
        ("CREATE TEMPORARY TABLE t1 (a INT); INSERT INTO t1 VALUES (1)", AC, WR, Reason::Write),
        ("SELECT * FROM t1", AC, WR, Reason::TempTable),
        ("DROP TEMPORARY TABLE t1; SELECT 1", AC, WR, Reason::Write),
        ("SELECT 1", AC, RD, Reason::Read),
    ]),
    ("a permanent table named tmp_… pins nothing", &[
        ("CREATE TABLE IF NOT EXISTS tmp_report (a INT)", AC, WR, Reason::Write),
        ("SELECT * FROM tmp_report", AC, RD, Reason::Read),
    ]),
];

#[test]
fn locks_and_temporary_tables() {
    check_step_sequences(&topology(), SEQUENCES);
}

#[test]
fn failed_lock_or_create_pins_nothing() {
    let c = Classifier::default();
    let t = topology();
    for sql in [
        "LOCK TABLES missing READ",
        "CREATE TEMPORARY TABLE tmp (a INT) ENGINE=NoSuchEngine",
    ] {
        let mut state = SessionState::default();
        let st = c.classify(sql.as_bytes());
        assert_eq!(route(&st, &state, &t).target, Target::Writer, "{sql}");
        state.after(
            &st,
            Served::Writer,
            Outcome {
                ok: false,
                status: Some(AC),
            },
        );
        let r = route(&c.classify(b"SELECT 1"), &state, &t);
        assert_eq!(
            (r.target, r.reason),
            (Target::Reader, Reason::Read),
            "after a failed {sql}"
        );
    }
}
