-- Run once by the MySQL 8.0 image on the primary's first start (docker-entrypoint-initdb.d).
-- The accounts rwsplit and the bookstore use. Portable: the tests run this file against
-- the local MariaDB primary too. Passwords here are for the local Compose stack only; in a
-- real deployment create the accounts with secrets of your own.
--
-- The Compose stack starts MySQL with --default-authentication-plugin=mysql_native_password
-- so these accounts use it (MariaDB's default is the same): rwsplit logs in to backends with
-- mysql_native_password, or with caching_sha2_password's fast path only.

-- What the application logs in with (through rwsplit, which uses the same account on the
-- backends). No SUPER, so the read-only replicas refuse its writes.
DROP USER IF EXISTS 'app'@'%';
CREATE USER 'app'@'%' IDENTIFIED BY 'app-dev-password';
GRANT ALL PRIVILEGES ON bookstore.* TO 'app'@'%';

-- rwsplit's health monitor: read_only, replication status, and its heartbeat table.
DROP USER IF EXISTS 'monitor'@'%';
CREATE USER 'monitor'@'%' IDENTIFIED BY 'monitor-dev-password';
GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'monitor'@'%';
CREATE DATABASE IF NOT EXISTS rwsplit;
GRANT ALL PRIVILEGES ON rwsplit.* TO 'monitor'@'%';

-- The replicas' replication account.
DROP USER IF EXISTS 'repl'@'%';
CREATE USER 'repl'@'%' IDENTIFIED BY 'repl-dev-password';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
