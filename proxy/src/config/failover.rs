//! `[failover]`: what a session does while the writer is missing or moving, so that a
//! failover is a pause rather than an error the application must handle.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailoverConfig {
    /// Milliseconds a statement that needs the writer waits for one when there is none
    /// (the writer died, or is read-only during a switchover, or cannot be reached),
    /// before it gets error 1105. Also how long such a statement waits after the old
    /// writer refused it for being read-only (1290, 1836: it was not run) before it gets
    /// that error; and how long a read-only statement whose writer connection broke
    /// before its answer waits to be sent again. 0 = never wait (the error at once).
    /// At most 600000. Default 10000.
    pub hold_ms: u64,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        FailoverConfig { hold_ms: 10_000 }
    }
}
