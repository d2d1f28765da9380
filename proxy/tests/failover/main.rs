//! Health, lag, failover and read-your-writes against real servers. Each test has a
//! topology of its own (they kill, delay and promote servers).

#[path = "../integration/support.rs"]
mod support;

mod aurora;
mod consistency;
mod failover;
mod lag;
