//! What drivers, ORMs and tools send, verbatim, at connect time and around their
//! transactions: each statement alone, in a fresh session.

mod common_route;

use common_route::topology;
use rwsplit::classify::{Classifier, Kind};
use rwsplit::route::{route, Reason, SessionState, Target};

const RD: Target = Target::Reader;
const WR: Target = Target::Writer;

/// (client, statement, kind, target, reason)
#[rustfmt::skip]
const CASES: &[(&str, &str, Kind, Target, Reason)] = &[
    // MySQL Connector/J 8.0
    ("Connector/J 8", "/* mysql-connector-java-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout", Kind::Read, RD, Reason::Read),
    ("Connector/J 8", "SET NAMES utf8mb4", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SET character_set_results = NULL", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SET autocommit=1", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SET autocommit=0", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SELECT @@session.transaction_read_only", Kind::Read, RD, Reason::Read),
    ("Connector/J 8", "SET SESSION TRANSACTION READ ONLY", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SET SESSION TRANSACTION READ WRITE", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SHOW WARNINGS", Kind::Diagnostics, WR, Reason::LastStatement),
    ("Connector/J 8", "SET SQL_SELECT_LIMIT=501", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "SET SQL_SELECT_LIMIT=DEFAULT", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 8", "/* ApplicationName=DBeaver 23.0.0 - Main */ SELECT DATABASE()", Kind::Read, RD, Reason::Read),
    // MySQL Connector/J 5.1
    ("Connector/J 5.1", "/* mysql-connector-java-5.1.49 ( Revision: ad86f36e100e104cd926c6b81c8cab9565750116 ) */SHOW VARIABLES WHERE Variable_name ='language' OR Variable_name = 'net_write_timeout' OR Variable_name = 'interactive_timeout' OR Variable_name = 'wait_timeout' OR Variable_name = 'character_set_client' OR Variable_name = 'tx_isolation'", Kind::Read, RD, Reason::Read),
    ("Connector/J 5.1", "/* mysql-connector-java-5.1.49 ( Revision: ad86f36e100e104cd926c6b81c8cab9565750116 ) */SELECT @@session.auto_increment_increment", Kind::Read, RD, Reason::Read),
    ("Connector/J 5.1", "select @@session.tx_read_only", Kind::Read, RD, Reason::Read),
    ("Connector/J 5.1", "SET NAMES latin1", Kind::Session, WR, Reason::SessionState),
    ("Connector/J 5.1", "SET sql_mode='STRICT_TRANS_TABLES'", Kind::Session, WR, Reason::SessionState),
    // MariaDB Connector/J
    ("MariaDB Connector/J", "set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')", Kind::Session, WR, Reason::SessionState),
    ("MariaDB Connector/J", "SELECT @@max_allowed_packet, @@system_time_zone, @@time_zone, @@auto_increment_increment", Kind::Read, RD, Reason::Read),
    ("MariaDB Connector/J", "SELECT @@version_comment, @@version", Kind::Read, RD, Reason::Read),
    // PyMySQL / mysqlclient
    ("PyMySQL", "SET AUTOCOMMIT = 0", Kind::Session, WR, Reason::SessionState),
    ("PyMySQL", "SET AUTOCOMMIT = 1", Kind::Session, WR, Reason::SessionState),
    ("PyMySQL", "SELECT VERSION()", Kind::Read, RD, Reason::Read),
    ("PyMySQL", "SET NAMES utf8mb4 COLLATE utf8mb4_general_ci", Kind::Session, WR, Reason::SessionState),
    ("PyMySQL", "COMMIT", Kind::End, WR, Reason::Transaction),
    // SQLAlchemy (mysql dialect)
    ("SQLAlchemy", "SELECT DATABASE()", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SHOW VARIABLES LIKE 'sql_mode'", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SHOW VARIABLES LIKE 'lower_case_table_names'", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SELECT CAST('test plain returns' AS CHAR(60)) AS anon_1", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SELECT CAST('test unicode returns' AS CHAR(60)) AS anon_1", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SHOW COLLATION", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SELECT @@tx_isolation", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SELECT @@transaction_isolation", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "SHOW CREATE TABLE `users`", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "ROLLBACK", Kind::End, WR, Reason::Transaction),
    ("SQLAlchemy", "XA BEGIN '_sa_9e1c1c6f'", Kind::Begin, WR, Reason::Transaction),
    ("SQLAlchemy", "XA END '_sa_9e1c1c6f'", Kind::Other, WR, Reason::Other),
    ("SQLAlchemy", "XA PREPARE '_sa_9e1c1c6f'", Kind::Other, WR, Reason::Other),
    ("SQLAlchemy", "XA COMMIT '_sa_9e1c1c6f'", Kind::End, WR, Reason::Transaction),
    ("SQLAlchemy", "XA RECOVER", Kind::Other, WR, Reason::Other),
    ("SQLAlchemy", "SELECT users.id AS users_id, users.name AS users_name FROM users WHERE users.id = 5", Kind::Read, RD, Reason::Read),
    ("SQLAlchemy", "INSERT INTO users (name) VALUES ('ann')", Kind::Write, WR, Reason::Write),
    // sysbench oltp_read_write
    ("sysbench", "SELECT c FROM sbtest3 WHERE id=5033", Kind::Read, RD, Reason::Read),
    ("sysbench", "SELECT c FROM sbtest3 WHERE id BETWEEN 5033 AND 5132", Kind::Read, RD, Reason::Read),
    ("sysbench", "SELECT SUM(k) FROM sbtest3 WHERE id BETWEEN 5033 AND 5132", Kind::Read, RD, Reason::Read),
    ("sysbench", "SELECT c FROM sbtest3 WHERE id BETWEEN 5033 AND 5132 ORDER BY c", Kind::Read, RD, Reason::Read),
    ("sysbench", "SELECT DISTINCT c FROM sbtest3 WHERE id BETWEEN 5033 AND 5132 ORDER BY c", Kind::Read, RD, Reason::Read),
    ("sysbench", "UPDATE sbtest3 SET k=k+1 WHERE id=5033", Kind::Write, WR, Reason::Write),
    ("sysbench", "UPDATE sbtest3 SET c='91868493921-27738972837-90736120486' WHERE id=5033", Kind::Write, WR, Reason::Write),
    ("sysbench", "DELETE FROM sbtest3 WHERE id=5033", Kind::Write, WR, Reason::Write),
    ("sysbench", "INSERT INTO sbtest3 (id, k, c, pad) VALUES (5033, 5012, '68487932199-96439406143', '22195207048-70116052123')", Kind::Write, WR, Reason::Write),
    ("sysbench", "BEGIN", Kind::Begin, WR, Reason::Transaction),
    ("sysbench", "COMMIT", Kind::End, WR, Reason::Transaction),
    // mysql / mariadb command-line client
    ("mysql CLI", "select @@version_comment limit 1", Kind::Read, RD, Reason::Read),
    ("mysql CLI", "select USER()", Kind::Read, RD, Reason::Read),
    ("mysql CLI", "SELECT DATABASE()", Kind::Read, RD, Reason::Read),
    ("mysql CLI", "show databases", Kind::Read, RD, Reason::Read),
    // Hibernate / JPA
    ("Hibernate", "select next_val as id_val from hibernate_sequence for update", Kind::Read, WR, Reason::LockingRead),
    ("Hibernate", "update hibernate_sequence set next_val= ? where next_val=?", Kind::Write, WR, Reason::Write),
    ("Hibernate", "select user0_.id as id1_0_, user0_.email as email2_0_ from users user0_ where user0_.email=?", Kind::Read, RD, Reason::Read),
    ("Hibernate", "select a1_0.id,a1_0.balance from account a1_0 where a1_0.id=? for update", Kind::Read, WR, Reason::LockingRead),
    ("Hibernate", "select a1_0.id,a1_0.balance from account a1_0 where a1_0.id=? for share", Kind::Read, WR, Reason::LockingRead),
    ("Hibernate", "select a1_0.id from account a1_0 where a1_0.id=? lock in share mode", Kind::Read, WR, Reason::LockingRead),
    ("Hibernate", "insert into account (balance,id) values (?,?)", Kind::Write, WR, Reason::Write),
    // Django
    ("Django", "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", Kind::Session, WR, Reason::SessionState),
    ("Django", "SELECT @@SQL_AUTO_IS_NULL", Kind::Read, RD, Reason::Read),
    ("Django", "SELECT @@sql_mode, @@default_storage_engine, @@sql_auto_is_null, @@lower_case_table_names, CONVERT_TZ('2001-01-01 01:00:00', 'UTC', 'UTC') IS NOT NULL", Kind::Read, RD, Reason::Read),
    ("Django", "SELECT `auth_user`.`id`, `auth_user`.`password` FROM `auth_user` WHERE `auth_user`.`username` = 'admin' LIMIT 21", Kind::Read, RD, Reason::Read),
    ("Django", "SELECT `shop_item`.`id`, `shop_item`.`stock` FROM `shop_item` WHERE `shop_item`.`id` = 5 FOR UPDATE", Kind::Read, WR, Reason::LockingRead),
    ("Django", "SAVEPOINT `s140230489_x1`", Kind::Savepoint, WR, Reason::Transaction),
    ("Django", "RELEASE SAVEPOINT `s140230489_x1`", Kind::Savepoint, WR, Reason::Transaction),
    ("Django", "ROLLBACK TO SAVEPOINT `s140230489_x1`", Kind::Savepoint, WR, Reason::Transaction),
    ("Django", "SET FOREIGN_KEY_CHECKS=0", Kind::Session, WR, Reason::SessionState),
    // Rails (ActiveRecord)
    ("Rails", "SET  @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483", Kind::Session, WR, Reason::SessionState),
    ("Rails", "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci,  @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483", Kind::Session, WR, Reason::SessionState),
    ("Rails", "SELECT `users`.* FROM `users` WHERE `users`.`id` = 1 LIMIT 1", Kind::Read, RD, Reason::Read),
    ("Rails", "SELECT `schema_migrations`.`version` FROM `schema_migrations` ORDER BY `schema_migrations`.`version` ASC", Kind::Read, RD, Reason::Read),
    ("Rails", "SELECT GET_LOCK('2571163413806829380', 0)", Kind::Read, WR, Reason::SideEffectFunction),
    ("Rails", "SELECT RELEASE_LOCK('2571163413806829380')", Kind::Read, WR, Reason::SideEffectFunction),
    // Go database/sql with go-sql-driver/mysql
    ("Go", "SELECT @@max_allowed_packet", Kind::Read, RD, Reason::Read),
    ("Go", "START TRANSACTION", Kind::Begin, WR, Reason::Transaction),
    ("Go", "START TRANSACTION READ ONLY", Kind::Begin, RD, Reason::ReadOnlyTransaction),
    ("Go", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", Kind::Other, WR, Reason::Other),
    ("Go", "SET time_zone = '+00:00'", Kind::Session, WR, Reason::SessionState),
    // mysqldump --single-transaction
    ("mysqldump", "FLUSH /*!40101 LOCAL */ TABLES", Kind::Other, WR, Reason::Other),
    ("mysqldump", "FLUSH TABLES WITH READ LOCK", Kind::Lock, WR, Reason::Lock),
    ("mysqldump", "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", Kind::Session, WR, Reason::SessionState),
    ("mysqldump", "START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */", Kind::Begin, WR, Reason::Transaction),
    ("mysqldump", "SHOW VARIABLES LIKE 'gtid\\_mode'", Kind::Read, RD, Reason::Read),
    ("mysqldump", "SHOW MASTER STATUS", Kind::Other, WR, Reason::Other),
    ("mysqldump", "UNLOCK TABLES", Kind::Unlock, WR, Reason::Lock),
    ("mysqldump", "SELECT LOGFILE_GROUP_NAME, FILE_NAME, TOTAL_EXTENTS, INITIAL_SIZE, ENGINE, EXTRA FROM INFORMATION_SCHEMA.FILES WHERE FILE_TYPE = 'UNDO LOG' AND FILE_NAME IS NOT NULL GROUP BY LOGFILE_GROUP_NAME, FILE_NAME, ENGINE, TOTAL_EXTENTS, INITIAL_SIZE ORDER BY LOGFILE_GROUP_NAME", Kind::Read, RD, Reason::Read),
    ("mysqldump", "SET SQL_QUOTE_SHOW_CREATE=1", Kind::Session, WR, Reason::SessionState),
    ("mysqldump", "SET SESSION character_set_results = 'binary'", Kind::Session, WR, Reason::SessionState),
    ("mysqldump", "show table status like 'orders'", Kind::Read, RD, Reason::Read),
    ("mysqldump", "SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`", Kind::Read, RD, Reason::Read),
    ("mysqldump", "SAVEPOINT sp", Kind::Savepoint, WR, Reason::Transaction),
    ("mysqldump", "ROLLBACK TO SAVEPOINT sp", Kind::Savepoint, WR, Reason::Transaction),
    ("mysqldump", "RELEASE SAVEPOINT sp", Kind::Savepoint, WR, Reason::Transaction),
    // monitoring and pool validation
    ("HikariCP", "/* ping */ SELECT 1", Kind::Read, RD, Reason::Read),
    ("ProxySQL-style check", "SELECT @@global.read_only", Kind::Read, RD, Reason::Read),
    ("Orchestrator", "SHOW SLAVE STATUS", Kind::Other, WR, Reason::Other),
];

#[test]
fn driver_and_orm_statements() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(client, sql, kind, target, reason) in CASES {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        if st.kind != kind || r.target != target || r.reason != reason {
            bad.push(format!(
                "[{client}] {sql:?}: {:?} {:?} -> {:?}/{:?}, want {kind:?} -> {target:?}/{reason:?}",
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
