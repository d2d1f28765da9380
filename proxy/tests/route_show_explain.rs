//! SHOW, DESCRIBE, EXPLAIN, ANALYZE, HELP.

mod common_route;
use common_route::*;

const CASES: &[(&str, &str)] = &[
    ("SHOW TABLES", "reader"),
    ("SHOW FULL TABLES FROM `app` LIKE 'user%'", "reader"),
    ("SHOW DATABASES", "reader"),
    ("SHOW SCHEMAS", "reader"),
    ("SHOW VARIABLES LIKE 'sql_mode'", "reader"),
    (
        "SHOW SESSION VARIABLES WHERE Variable_name = 'autocommit'",
        "reader",
    ),
    ("SHOW GLOBAL VARIABLES LIKE 'max_connections'", "reader"),
    ("SHOW CREATE TABLE users", "reader"),
    ("SHOW CREATE DATABASE app", "reader"),
    ("SHOW CREATE VIEW v", "reader"),
    ("SHOW FULL COLUMNS FROM users FROM app", "reader"),
    ("SHOW COLUMNS FROM users", "reader"),
    ("SHOW FIELDS FROM users", "reader"),
    ("SHOW INDEX FROM users", "reader"),
    ("SHOW KEYS IN users", "reader"),
    ("SHOW TABLE STATUS LIKE 'users'", "reader"),
    ("SHOW COLLATION", "reader"),
    ("SHOW CHARACTER SET", "reader"),
    ("SHOW ENGINES", "reader"),
    ("SHOW TRIGGERS", "reader"),
    ("SHOW PROCEDURE STATUS WHERE Db = 'app'", "reader"),
    ("SHOW FUNCTION STATUS", "reader"),
    ("SHOW GRANTS", "reader"),
    ("SHOW GRANTS FOR CURRENT_USER()", "reader"),
    ("SHOW PRIVILEGES", "reader"),
    ("SHOW PLUGINS", "reader"),
    ("SHOW EVENTS", "reader"),
    ("SHOW WARNINGS", "writer:last_statement"),
    ("SHOW WARNINGS LIMIT 10", "writer:last_statement"),
    ("SHOW ERRORS", "writer:last_statement"),
    ("SHOW COUNT(*) WARNINGS", "writer:last_statement"),
    ("GET DIAGNOSTICS @n = NUMBER", "writer:last_statement"),
    (
        "GET CURRENT DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT",
        "writer:last_statement",
    ),
    ("SHOW GLOBAL STATUS LIKE 'Threads%'", "writer:other"),
    ("SHOW STATUS", "writer:other"),
    ("SHOW SESSION STATUS LIKE 'Com_select'", "writer:other"),
    ("SHOW PROCESSLIST", "writer:other"),
    ("SHOW FULL PROCESSLIST", "writer:other"),
    ("SHOW SLAVE STATUS", "writer:other"),
    ("SHOW ALL SLAVES STATUS", "writer:other"),
    ("SHOW REPLICA STATUS", "writer:other"),
    ("SHOW MASTER STATUS", "writer:other"),
    ("SHOW BINARY LOGS", "writer:other"),
    ("SHOW BINLOG EVENTS", "writer:other"),
    ("SHOW ENGINE INNODB STATUS", "writer:other"),
    ("SHOW OPEN TABLES", "writer:other"),
    ("SHOW PROFILES", "writer:other"),
    ("DESCRIBE users", "reader"),
    ("DESC users", "reader"),
    ("EXPLAIN users", "reader"),
    ("EXPLAIN SELECT * FROM users WHERE id = 1", "reader"),
    ("EXPLAIN EXTENDED SELECT * FROM users", "reader"),
    (
        "EXPLAIN FORMAT=JSON SELECT * FROM users WHERE id = 1",
        "reader",
    ),
    ("EXPLAIN ANALYZE SELECT * FROM users WHERE id = 1", "reader"),
    ("DESCRIBE SELECT * FROM users", "reader"),
    (
        "EXPLAIN UPDATE users SET a = 1 WHERE id = 1",
        "writer:write",
    ),
    ("EXPLAIN DELETE FROM users WHERE id = 1", "writer:write"),
    ("EXPLAIN INSERT INTO users VALUES (1)", "writer:write"),
    ("EXPLAIN FOR CONNECTION 42", "writer:other"),
    ("ANALYZE SELECT * FROM users", "reader"),
    ("ANALYZE FORMAT=JSON SELECT * FROM users", "reader"),
    ("ANALYZE UPDATE users SET a = 1", "writer:write"),
    ("ANALYZE DELETE FROM users WHERE id = 2", "writer:write"),
    ("ANALYZE TABLE users", "writer:other"),
    ("HELP 'SELECT'", "reader"),
];

#[test]
fn show_describe_explain() {
    check_fresh(CASES);
}

/// Tables that show the answering server's own state go where the SHOW form that shows
/// the same state goes; the data dictionary and variables stay reads.
const SERVER_LOCAL: &[(&str, &str)] = &[
    ("SELECT * FROM information_schema.PROCESSLIST", "writer:other"),
    (
        "SELECT id, user FROM INFORMATION_SCHEMA.processlist WHERE command <> 'Sleep'",
        "writer:other",
    ),
    (
        "SELECT COUNT(*) FROM `information_schema`.`PROCESSLIST`",
        "writer:other",
    ),
    (
        "SELECT * FROM information_schema . processlist",
        "writer:other",
    ),
    (
        "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Com_select'",
        "writer:other",
    ),
    (
        "SELECT * FROM information_schema.GLOBAL_STATUS",
        "writer:other",
    ),
    ("SELECT * FROM information_schema.USER_VARIABLES", "writer:other"),
    ("SELECT * FROM information_schema.INNODB_TRX", "writer:other"),
    (
        "SELECT * FROM information_schema.INNODB_LOCK_WAITS",
        "writer:other",
    ),
    (
        "SELECT * FROM information_schema.METADATA_LOCK_INFO",
        "writer:other",
    ),
    ("SELECT * FROM information_schema.PROFILING", "writer:other"),
    (
        "SELECT * FROM information_schema.USER_STATISTICS",
        "writer:other",
    ),
    (
        "SELECT * FROM performance_schema.threads WHERE PROCESSLIST_ID = 5",
        "writer:other",
    ),
    (
        "SELECT * FROM performance_schema.events_statements_current",
        "writer:other",
    ),
    ("SELECT * FROM sys.session", "writer:other"),
    (
        "SELECT t.id FROM app.t JOIN information_schema.processlist p ON p.id = t.pid",
        "writer:other",
    ),
    // The data dictionary and variables are the same everywhere (SHOW TABLES and SHOW
    // VARIABLES are reads).
    ("SELECT * FROM information_schema.TABLES", "reader"),
    (
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_NAME = 'users'",
        "reader",
    ),
    (
        "SELECT * FROM information_schema.SESSION_VARIABLES",
        "reader",
    ),
    ("SELECT * FROM information_schema.GLOBAL_VARIABLES", "reader"),
    ("SELECT * FROM information_schema.SCHEMATA", "reader"),
    // A column or table of the application that happens to be named like one.
    ("SELECT processlist FROM app.stats", "reader"),
    ("SELECT * FROM app.processlist", "reader"),
];

#[test]
fn server_local_tables_go_where_show_processlist_goes() {
    check_fresh(SERVER_LOCAL);
}
