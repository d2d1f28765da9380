//! `[backends]`: the servers behind rwsplit and how the writer is found.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How rwsplit learns which backend is the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TopologyMode {
    /// `writer` and `readers` as configured; the writer never changes.
    #[default]
    Static,
    /// `hosts`: the writer is the one with read_only=OFF, found by polling every host; a
    /// promotion is followed.
    ReadOnly,
    /// Aurora MySQL: instances and the writer from `replica_host_status` via the
    /// cluster endpoint (see `[backends.aurora]`).
    Aurora,
}

/// TLS from rwsplit to the backends, as the MySQL client's `--ssl-mode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendTlsMode {
    /// Plain TCP.
    #[default]
    Disabled,
    /// TLS when the server offers it, without checking its certificate; plain otherwise.
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS, and the certificate must chain to `ca_file`.
    VerifyCa,
    /// As verify_ca, and the certificate must name the host rwsplit connects to.
    VerifyIdentity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendsConfig {
    /// `static`, `read_only` or `aurora`. Default `static`.
    pub mode: TopologyMode,
    /// static: the writer, `host:port`.
    pub writer: String,
    /// static: readers, `host:port` each. Default: none (everything goes to the writer).
    pub readers: Vec<String>,
    /// read_only: every host, `host:port`; the writable one is the writer.
    pub hosts: Vec<String>,
    /// Relative share of reads per backend address (default weight 1; 0 = no reads).
    pub weights: BTreeMap<String, u32>,
    /// Time allowed to connect and log in to a backend, in milliseconds. Default 2000.
    pub connect_timeout_ms: u64,
    /// TLS to every backend (data connections and the monitor's): `disabled`,
    /// `preferred`, `required`, `verify_ca` or `verify_identity`. Default `disabled`.
    pub tls: BackendTlsMode,
    /// PEM file of the CA certificates backends' certificates must chain to (for Aurora,
    /// AWS's RDS bundle). Required by verify_ca and verify_identity. Default: none.
    pub ca_file: String,
    /// aurora: see below.
    pub aurora: AuroraConfig,
}

impl Default for BackendsConfig {
    fn default() -> Self {
        BackendsConfig {
            mode: TopologyMode::Static,
            writer: String::new(),
            readers: Vec::new(),
            hosts: Vec::new(),
            weights: BTreeMap::new(),
            connect_timeout_ms: 2000,
            tls: BackendTlsMode::Disabled,
            ca_file: String::new(),
            aurora: AuroraConfig::default(),
        }
    }
}

/// `[backends.aurora]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuroraConfig {
    /// The cluster endpoint (`host:port`) the topology query runs on.
    pub cluster_endpoint: String,
    /// Address of an instance: `?` is replaced by its SERVER_ID, e.g.
    /// `?.abcdefghijkl.us-east-1.rds.amazonaws.com:3306`.
    pub instance_pattern: String,
    /// The query returning SERVER_ID, SESSION_ID, LAST_UPDATE_TIMESTAMP (or seconds since
    /// the last update) and REPLICA_LAG_IN_MILLISECONDS, one row per instance.
    /// Default: `information_schema.replica_host_status` (tests point it elsewhere).
    pub topology_query: String,
    /// Rows not updated for this long (milliseconds) are ignored. Default 60000.
    pub stale_after_ms: u64,
}

impl Default for AuroraConfig {
    fn default() -> Self {
        AuroraConfig {
            cluster_endpoint: String::new(),
            instance_pattern: String::new(),
            topology_query: "SELECT SERVER_ID, SESSION_ID, \
                TIMESTAMPDIFF(MICROSECOND, LAST_UPDATE_TIMESTAMP, UTC_TIMESTAMP(6)) / 1000, \
                REPLICA_LAG_IN_MILLISECONDS FROM information_schema.replica_host_status"
                .into(),
            stale_after_ms: 60_000,
        }
    }
}

impl BackendsConfig {
    pub fn weight(&self, addr: &str) -> u32 {
        self.weights.get(addr).copied().unwrap_or(1)
    }
}
