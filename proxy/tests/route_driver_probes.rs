//! What drivers and ORMs send at connect time and around transactions.

mod common_route;
use common_route::*;

const CASES: &[(&str, &str)] = &[
    // MySQL Connector/J 8
    ("/* mysql-connector-j-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout", "reader:read"),
    ("/* mysql-connector-java-5.1.49 ( Revision: ad86f36e100e104cd926c6b81c8cab9565750116 ) */SHOW VARIABLES WHERE Variable_name ='language' OR Variable_name = 'net_write_timeout'", "reader:read"),
    ("SET NAMES utf8mb4", "writer:session_state"),
    ("SET character_set_results = NULL", "writer:session_state"),
    ("SET autocommit=1", "writer:session_state"),
    ("SELECT @@session.transaction_read_only", "reader"),
    ("SELECT @@session.tx_read_only", "reader"),
    ("SET SESSION TRANSACTION READ ONLY", "writer:session_state"),
    ("SET SESSION TRANSACTION READ WRITE", "writer:session_state"),
    ("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "writer:session_state"),
    ("SHOW WARNINGS", "writer:last_statement"),
    ("SET SQL_SELECT_LIMIT=501", "writer:session_state"),
    ("SET SQL_SELECT_LIMIT=DEFAULT", "writer:session_state"),
    // MariaDB Connector/J
    ("set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')", "writer:session_state"),
    ("SELECT @@max_allowed_packet, @@system_time_zone, @@time_zone, @@auto_increment_increment", "reader"),
    // PyMySQL
    ("SET AUTOCOMMIT = 0", "writer:session_state"),
    ("SELECT VERSION()", "reader"),
    ("SET NAMES utf8mb4 COLLATE utf8mb4_general_ci", "writer:session_state"),
    // SQLAlchemy
    ("SELECT DATABASE()", "reader"),
    ("SHOW VARIABLES LIKE 'sql_mode'", "reader"),
    ("SHOW VARIABLES LIKE 'lower_case_table_names'", "reader"),
    ("SELECT CAST('test plain returns' AS CHAR(60)) AS anon_1", "reader"),
    ("SELECT CAST('test unicode returns' AS CHAR(60)) AS anon_1", "reader"),
    ("SHOW COLLATION WHERE `Charset` = 'utf8mb4' AND `Collation` = 'utf8mb4_bin'", "reader"),
    ("SELECT @@transaction_isolation", "reader"),
    ("SELECT @@tx_isolation", "reader"),
    ("SELECT 1 FROM (SELECT 1) AS anon", "reader"),
    ("SHOW CREATE TABLE `users`", "reader"),
    ("SHOW FULL TABLES FROM `app`", "reader"),
    ("ROLLBACK", "writer:transaction"),
    // Django
    ("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "writer:session_state"),
    ("SELECT `auth_user`.`id`, `auth_user`.`password` FROM `auth_user` WHERE `auth_user`.`username` = 'x' LIMIT 21", "reader"),
    ("SELECT `django_session`.`session_key` FROM `django_session` WHERE `django_session`.`session_key` = 'k' FOR UPDATE", "writer:locking_read"),
    ("SELECT @@SQL_AUTO_IS_NULL", "reader"),
    // Rails
    ("SET  @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483", "writer:session_state"),
    // Hibernate
    ("select next_val as id_val from hibernate_sequence for update", "writer:locking_read"),
    ("update hibernate_sequence set next_val= 2 where next_val=1", "writer"),
    ("select user0_.id as id1_0_ from users user0_ where user0_.email=?", "reader"),
    // Go database/sql, mysql CLI, sysbench
    ("select @@version_comment limit 1", "reader"),
    ("SELECT @@max_allowed_packet", "reader"),
    ("SELECT @@session.autocommit", "reader"),
    ("select 1", "reader"),
    ("/* ping */ SELECT 1", "reader"),
    ("BEGIN", "writer:transaction"),
    ("COMMIT", "writer:transaction"),
    ("SELECT c FROM sbtest1 WHERE id=?", "reader"),
    ("UPDATE sbtest1 SET k=k+1 WHERE id=?", "writer"),
    ("DELETE FROM sbtest1 WHERE id=?", "writer"),
    ("INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)", "writer"),
    // mysqldump header
    ("/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */", "writer:session_state"),
    ("/*!40000 ALTER TABLE `t` DISABLE KEYS */", "writer"),
    ("SELECT /*!40001 SQL_NO_CACHE */ * FROM `t`", "reader"),
];

#[test]
fn driver_and_orm_statements() {
    check_fresh(CASES);
}

#[test]
fn rails_style_set_is_replayable() {
    let c = rwsplit::classify::Classifier::default();
    match c.classify(CASES[34].0.as_bytes()).detail {
        rwsplit::classify::Detail::Set(e) => assert!(e.replayable, "{e:?}"),
        other => panic!("{other:?}"),
    }
}
