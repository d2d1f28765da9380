//! `[server]`: the client-facing listener.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address clients connect to. Default `127.0.0.1:6033`.
    pub listen: String,
    /// Tokio worker threads; 0 = one per CPU. Default 0.
    pub worker_threads: usize,
    /// Client connections served at once; more wait in the accept queue. Default 4096.
    pub max_client_connections: usize,
    /// Largest client command accepted, in bytes (larger: error 1153). Default 64 MiB.
    pub max_packet_size: usize,
    /// On SIGTERM/SIGINT, how long open transactions may take to finish before sessions
    /// are closed, in milliseconds. Default 30000.
    pub drain_timeout_ms: u64,
    /// HTTP listener for /metrics, /healthz, /readyz and /status; empty = off.
    /// Default `127.0.0.1:9033`.
    pub metrics_listen: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:6033".into(),
            worker_threads: 0,
            max_client_connections: 4096,
            max_packet_size: 64 << 20,
            drain_timeout_ms: 30_000,
            metrics_listen: "127.0.0.1:9033".into(),
        }
    }
}
