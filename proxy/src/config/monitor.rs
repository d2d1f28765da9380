//! `[monitor]`: health checks, replication lag and the heartbeat.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Account the monitor logs in with. Default: the first user's backend account.
    pub user: Option<String>,
    /// Its password. Default: the first user's backend password.
    pub password: Option<String>,
    /// Read the password from this environment variable instead. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Read the password from this file instead (trailing newline ignored). Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// Time between checks of each backend, in milliseconds. Default 500.
    pub interval_ms: u64,
    /// Time allowed for one check (connect + queries), in milliseconds. Default 1000.
    pub timeout_ms: u64,
    /// Write a heartbeat row (schema `heartbeat_schema`) on the writer so replication lag
    /// is known to the millisecond; needs CREATE/INSERT/UPDATE/DELETE on that schema for
    /// the monitor account. Without it lag comes from Seconds_Behind_Master (whole
    /// seconds). Ignored in aurora mode. Default true.
    pub heartbeat: bool,
    /// Milliseconds between heartbeat writes. Default 100.
    pub heartbeat_interval_ms: u64,
    /// Schema of the heartbeat table. Default `rwsplit`.
    pub heartbeat_schema: String,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            user: None,
            password: None,
            password_env: None,
            password_file: None,
            interval_ms: 500,
            timeout_ms: 1000,
            heartbeat: true,
            heartbeat_interval_ms: 100,
            heartbeat_schema: "rwsplit".into(),
        }
    }
}
