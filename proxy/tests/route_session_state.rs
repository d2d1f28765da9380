//! SET, SET NAMES, USE, temporary tables and user variables: what they do to routing.

mod common_route;
use common_route::*;
use rwsplit::classify::{Classifier, Detail, Kind};

const SETS: &[(&str, &str)] = &[
    ("SET NAMES utf8mb4", "writer:session_state"),
    (
        "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
        "writer:session_state",
    ),
    (
        "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_general_ci'",
        "writer:session_state",
    ),
    ("SET NAMES DEFAULT", "writer:session_state"),
    ("SET CHARACTER SET utf8mb4", "writer:session_state"),
    ("SET CHARSET utf8", "writer:session_state"),
    ("SET character_set_results = NULL", "writer:session_state"),
    (
        "SET SESSION sql_mode='STRICT_TRANS_TABLES,NO_ZERO_IN_DATE'",
        "writer:session_state",
    ),
    (
        "SET sql_mode=(SELECT REPLACE(@@sql_mode,'ONLY_FULL_GROUP_BY',''))",
        "writer:session_state",
    ),
    ("SET time_zone='+00:00'", "writer:session_state"),
    ("SET @a=1", "writer:session_state"),
    ("SET @a := 1", "writer:session_state"),
    (
        "SET @@SESSION.max_execution_time=1000",
        "writer:session_state",
    ),
    (
        "SET LOCAL sort_buffer_size = 1048576",
        "writer:session_state",
    ),
    ("SET a=1, b=2", "writer:session_state"),
    (
        "SET @x = 1, @@session.sql_log_bin = 0, SESSION wait_timeout = 28800",
        "writer:session_state",
    ),
    (
        "SET @@session.transaction_isolation = 'READ-COMMITTED'",
        "writer:session_state",
    ),
    (
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "writer:session_state",
    ),
    ("set session transaction read only", "writer:session_state"),
    ("SET SQL_SELECT_LIMIT=DEFAULT", "writer:session_state"),
    ("SET foreign_key_checks = 0", "writer:session_state"),
    ("SET ROLE ALL", "writer:session_state"),
    ("SET autocommit=1", "writer:session_state"),
    ("USE app", "writer:session_state"),
    ("USE `my-db`", "writer:session_state"),
    ("SET @@GLOBAL.read_only=ON", "writer:other"),
    ("SET GLOBAL max_connections = 1000", "writer:other"),
    ("SET PERSIST max_connections = 1000", "writer:other"),
    (
        "SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "writer:other",
    ),
    (
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "writer:other",
    ),
    ("SET TRANSACTION READ ONLY", "writer:other"),
    ("SET PASSWORD FOR 'u'@'%' = 'secret'", "writer:other"),
    ("SET DEFAULT ROLE ALL TO 'u'@'%'", "writer:other"),
    (
        "SET STATEMENT max_statement_time=1 FOR SELECT * FROM t",
        "reader:read",
    ),
    (
        "SET STATEMENT max_statement_time=1 FOR UPDATE t SET a = 1",
        "writer:write",
    ),
];

#[test]
fn set_statements() {
    check_fresh(SETS);
}

fn effect(sql: &str) -> rwsplit::classify::SetEffect {
    match Classifier::default().classify(sql.as_bytes()).detail {
        Detail::Set(e) => e,
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn set_effects() {
    assert_eq!(effect("SET autocommit=0").autocommit, Some(false));
    assert_eq!(effect("SET @@autocommit=1").autocommit, Some(true));
    assert_eq!(effect("SET autocommit = ON").autocommit, Some(true));
    assert_eq!(
        effect("SET autocommit=0").replay,
        None,
        "autocommit is not replayed on readers"
    );
    let e = effect("SET autocommit=0, sql_mode=''");
    assert_eq!(
        (e.autocommit, e.replay.map(|r| r.sql)),
        (Some(false), Some("SET SESSION sql_mode = ''".into()))
    );
    for sql in [
        "SET @t = NOW()",
        "SET @x = (SELECT MAX(id) FROM t)",
        "SET @id = LAST_INSERT_ID()",
        "SET @u = UUID()",
        "SET @f = my_func()",
    ] {
        let e = effect(sql);
        assert!(!e.replayable && e.user_vars_only, "{sql}: {e:?}");
    }
    for sql in [
        "SET @a = 1",
        "SET NAMES utf8mb4",
        "SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
        "SET sql_mode=(SELECT REPLACE(@@sql_mode,'X',''))",
    ] {
        assert!(effect(sql).replayable, "{sql}");
    }
    assert!(!effect("SET sql_mode = (SELECT m FROM modes LIMIT 1)").replayable);
    assert!(effect("SET @a = 1").literal);
    assert!(!effect("SET @a = @b").literal);
    assert_eq!(
        effect("SET SESSION sql_mode='A'").replay.map(|r| r.key),
        Some("sql_mode".into())
    );
    assert_eq!(
        effect("SET @@session.time_zone='+00:00', @g = 1")
            .replay
            .map(|r| r.key),
        Some("@g,time_zone".into())
    );
    assert_eq!(
        Classifier::default().classify(b"USE `my-db`").detail,
        Detail::Use { db: "my-db".into() }
    );
    assert_eq!(
        Classifier::default().classify(b"SET GLOBAL x = 1").kind,
        Kind::Other
    );
}

#[test]
fn temporary_tables_keep_reads_on_the_writer() {
    check_sequence(
        "temporary table",
        &[
            ("CREATE TEMPORARY TABLE tmp (id INT)", "writer:write"),
            ("SELECT * FROM tmp", "writer:temp_table"),
            ("SELECT * FROM other", "writer:temp_table"),
            ("/* rwsplit:reader */ SELECT 1", "writer:temp_table"),
            ("DROP TEMPORARY TABLE tmp", "writer"),
            ("SELECT 1", "reader:read"),
            ("CREATE TEMPORARY TABLE IF NOT EXISTS `a` (x INT)", "writer"),
            ("CREATE TEMPORARY TABLE db.b (x INT)", "writer"),
            ("DROP TABLE a", "writer"),
            ("SELECT 1", "writer:temp_table"),
            ("DROP TEMPORARY TABLE IF EXISTS b, c", "writer"),
            ("SELECT 1", "reader"),
        ],
    );
}

#[test]
fn user_variables_a_reader_cannot_reproduce() {
    check_sequence(
        "SELECT … INTO @v: read back, then on readers too",
        &[
            ("SELECT @v", "reader:read"),
            ("SELECT id INTO @v FROM t LIMIT 1", "writer:user_variable"),
            ("SELECT * FROM t WHERE id = @v", "reader:read"),
            ("SELECT 1", "reader:read"),
        ],
    );
    check_sequence(
        "SET @t = NOW(): read back",
        &[
            ("SET @t = NOW()", "writer:session_state"),
            ("SELECT @t", "reader:read"),
            ("SELECT 1", "reader:read"),
        ],
    );
    check_sequence(
        "SET @t = NOW() in a multi-statement query: not read back",
        &[
            ("SET @t = NOW(); DO 1", "writer"),
            ("SELECT @t", "writer:user_variable"),
            ("SELECT 1", "reader:read"),
        ],
    );
    check_sequence(
        "replayable user variable",
        &[
            ("SET @limit = 10", "writer:session_state"),
            ("SELECT * FROM t LIMIT 1 OFFSET 0 /* @limit */", "reader"),
            ("SELECT @limit", "reader:read"),
        ],
    );
    check_sequence(
        "unreplayable system variable pins reads when it cannot be read back",
        &[
            (
                "SET sql_mode = (SELECT m FROM modes LIMIT 1); DO 1",
                "writer",
            ),
            ("SELECT 1", "writer:session_pinned"),
        ],
    );
}

#[test]
fn last_statement_diagnostics_follow_the_backend() {
    check_sequence(
        "SHOW WARNINGS after a read",
        &[
            ("SELECT CAST('x' AS SIGNED)", "reader:read"),
            ("SHOW WARNINGS", "backend1:last_statement"),
            ("INSERT INTO t VALUES ('x')", "writer:write"),
            ("SHOW WARNINGS", "writer:last_statement"),
            ("SELECT @@warning_count", "writer:last_statement"),
            ("SELECT ROW_COUNT()", "writer:last_statement"),
        ],
    );
}
