//! `[backends]`: the servers behind rwsplit.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendsConfig {
    /// The writer, `host:port`. Required.
    pub writer: String,
    /// Readers, `host:port` each. Default: none (everything goes to the writer).
    pub readers: Vec<String>,
    /// Time allowed to connect and log in to a backend, in milliseconds. Default 2000.
    pub connect_timeout_ms: u64,
}

impl Default for BackendsConfig {
    fn default() -> Self {
        BackendsConfig {
            writer: String::new(),
            readers: Vec::new(),
            connect_timeout_ms: 2000,
        }
    }
}
