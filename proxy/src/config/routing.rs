//! `[routing]`: classification and session tracking.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Statement shapes whose sqlparser verdict is remembered. Default 16384.
    pub classifier_cache: usize,
    /// Session commands (SET, SET NAMES, …) a session remembers for its readers; past
    /// this, its reads stay on the writer. Default 256.
    pub max_session_history: usize,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            classifier_cache: 16_384,
            max_session_history: 256,
        }
    }
}
