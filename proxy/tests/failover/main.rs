//! Tests that need a topology of their own (they kill, delay and promote servers, or
//! count server-wide statistics): health, lag, failover, read-your-writes, Aurora
//! emulation, binary-protocol corners.

#[path = "../integration/raw.rs"]
mod raw;
#[path = "../integration/support.rs"]
mod support;

mod aurora;
mod backend_tls;
mod cluster;
mod consistency;
mod deploy_init;
mod failover;
mod hold;
mod lag;
mod ledger;
mod prepared_raw;
mod readiness;
mod replay;
mod verify;
