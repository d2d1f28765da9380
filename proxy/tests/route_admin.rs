//! Administrative and procedural statements: the writer.

mod common_route;
use common_route::*;

const CASES: &[(&str, &str)] = &[
    ("CALL proc1()", "writer:other"),
    ("CALL proc2(1, @out)", "writer:other"),
    ("CALL proc3", "writer:other"),
    ("call app.report(2024)", "writer:other"),
    ("DO SLEEP(1)", "writer:other"),
    ("DO RELEASE_LOCK('mylock')", "writer:other"),
    ("LOCK TABLES t1 WRITE, t2 READ", "writer:lock"),
    ("LOCK TABLES t1 AS a READ LOCAL", "writer:lock"),
    ("LOCK TABLE t1 READ", "writer:lock"),
    ("UNLOCK TABLES", "writer:lock"),
    ("FLUSH TABLES WITH READ LOCK", "writer:lock"),
    ("FLUSH TABLES t1 FOR EXPORT", "writer:lock"),
    ("BACKUP LOCK t1", "writer:lock"),
    ("BACKUP UNLOCK", "writer:lock"),
    ("FLUSH TABLES", "writer:other"),
    ("FLUSH PRIVILEGES", "writer:other"),
    ("FLUSH LOGS", "writer:other"),
    ("KILL 123", "writer:other"),
    ("KILL QUERY 123", "writer:other"),
    ("KILL CONNECTION 123", "writer:other"),
    ("HANDLER t OPEN", "writer:other"),
    ("HANDLER t READ FIRST", "writer:other"),
    ("HANDLER t READ `PRIMARY` NEXT", "writer:other"),
    ("HANDLER t CLOSE", "writer:other"),
    (
        "PREPARE stmt1 FROM 'SELECT * FROM t WHERE id = ?'",
        "writer:other",
    ),
    ("EXECUTE stmt1 USING @a", "writer:other"),
    ("DEALLOCATE PREPARE stmt1", "writer:other"),
    ("DROP PREPARE stmt1", "writer"),
    ("XA START 'xid1'", "writer:transaction"),
    ("XA RECOVER", "writer:other"),
    ("OPTIMIZE TABLE t", "writer:other"),
    ("CHECK TABLE t", "writer:other"),
    ("REPAIR TABLE t", "writer:other"),
    ("CHECKSUM TABLE t", "writer:other"),
    ("STOP SLAVE", "writer:other"),
    ("START SLAVE", "writer:other"),
    (
        "CHANGE MASTER TO MASTER_HOST='10.0.0.1', MASTER_PORT=3306",
        "writer:other",
    ),
    ("RESET MASTER", "writer:other"),
    ("PURGE BINARY LOGS BEFORE NOW()", "writer:other"),
    ("INSTALL SONAME 'ha_blackhole'", "writer:other"),
    ("SHUTDOWN", "writer:other"),
    ("BINLOG 'AAAA'", "writer:other"),
    ("BEGIN NOT ATOMIC SELECT 1; END", "writer"),
    (
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'x'",
        "writer:other",
    ),
    ("", "writer:other"),
    ("/* only a comment */", "writer:other"),
    ("FOO BAR", "writer:other"),
];

#[test]
fn admin_statements() {
    check_fresh(CASES);
}
