//! `[monitor]`: the health checks of the backends.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Account the monitor logs in with. Default: the first user's backend account.
    pub user: Option<String>,
    /// Its password. Default: the first user's backend password.
    pub password: Option<String>,
    /// Time between checks of each backend, in milliseconds. Default 500.
    pub interval_ms: u64,
    /// Time allowed for one check (connect + query), in milliseconds. Default 1000.
    pub timeout_ms: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            user: None,
            password: None,
            interval_ms: 500,
            timeout_ms: 1000,
        }
    }
}
