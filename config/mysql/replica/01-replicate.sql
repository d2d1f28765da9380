-- Run once by the MySQL 8.0 image on each replica's first start. MySQL 8.0.23+ syntax
-- (MariaDB spells it CHANGE MASTER TO … MASTER_USE_GTID = slave_pos), so the tests do not
-- run this file; scripts/topology.sh does the MariaDB equivalent.
-- The replica starts empty and with GTIDs, so auto-positioning replays the primary's whole
-- history, accounts included.
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = 'mysql-primary',
  SOURCE_PORT = 3306,
  SOURCE_USER = 'repl',
  SOURCE_PASSWORD = 'repl-dev-password',
  SOURCE_AUTO_POSITION = 1,
  SOURCE_CONNECT_RETRY = 2,
  GET_SOURCE_PUBLIC_KEY = 1;
START REPLICA;
