//! Integration tests: real mariadbd processes with real replication (started once for
//! this binary by scripts/topology.sh on ports of their own), rwsplit started from its
//! binary, and real clients (mysql_async, the mariadb CLI, PyMySQL, sysbench).

mod abuse;
mod accounts;
mod client_tls;
mod clients;
mod data;
mod operations;
mod policy;
mod pool;
mod pool_readback;
mod pool_transaction;
mod prepared;
mod protocol_edges;
mod query_timeout;
mod raw;
mod routing;
mod session_memory;
mod session_state;
mod sha2_full_auth;
mod support;
mod traps;
