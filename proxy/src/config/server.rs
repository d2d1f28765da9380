//! `[server]`: the client-facing listener.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address clients connect to. Default `127.0.0.1:6033`.
    pub listen: String,
    /// Tokio worker threads; 0 = sized from the machine: half the CPUs rwsplit may use
    /// (its CPU affinity and cgroup quota count), at least 1
    /// ([`ServerConfig::worker_threads_for`]).
    /// Default 0.
    pub worker_threads: usize,
    /// The scheduling priority (nice value, -20 to 19) rwsplit asks for at start, for
    /// itself and every thread it starts, unless it already runs at a higher one; a
    /// lower value is a higher priority. Every query waits on rwsplit's thread(s), and
    /// where they share the CPUs with hundreds of client and server threads under one
    /// scheduler (no cgroup of its own), at equal priority each gets the same share, so
    /// the proxy waits behind the very threads that wait for it. Needs CAP_SYS_NICE
    /// (root has it, a container must be given it) or an RLIMIT_NICE that allows it;
    /// without, rwsplit logs why and runs at the priority it was started with.
    /// Applies at start only. Default -10.
    pub nice: i32,
    /// Client connections served at once; more get error 1040. Default 4096.
    pub max_client_connections: usize,
    /// Largest client command accepted, in bytes (larger: error 1153). Default 64 MiB.
    pub max_packet_size: usize,
    /// On SIGTERM/SIGINT, how long open transactions may take to finish before sessions
    /// are closed, in milliseconds. Default 30000.
    pub drain_timeout_ms: u64,
    /// HTTP listener for /metrics, /healthz, /readyz and /status; empty = off.
    /// Default `127.0.0.1:9033`.
    pub metrics_listen: String,
    /// PEM certificate chain offered to clients that ask for TLS; with `tls_key_file`.
    /// Default: none (TLS not offered).
    pub tls_cert_file: String,
    /// PEM private key of `tls_cert_file`. Default: none.
    pub tls_key_file: String,
    /// Refuse clients that do not use TLS (error 3159), as the server's
    /// require_secure_transport. Needs a certificate. Default false.
    pub require_tls: bool,
    /// Milliseconds a client has to finish logging in (slow or silent clients are cut off
    /// with error 1043). Default 10000.
    pub handshake_timeout_ms: u64,
    /// Milliseconds a logged-in client may stay silent between commands before rwsplit
    /// closes its connection, at most; 0 = no bound. Default 0. The session's own
    /// `wait_timeout` (the writer's global `wait_timeout`, `interactive_timeout` for a
    /// CLIENT_INTERACTIVE client, or what the session SET) closes it earlier, as a server.
    pub client_idle_timeout_ms: u64,
    /// Milliseconds a statement may run on a backend before rwsplit kills it there
    /// (KILL QUERY on a side connection); the client gets the backend's error 1317 "Query
    /// execution was interrupted" and its session (and transaction) goes on. 0 = no limit.
    /// Default 0.
    pub query_timeout_ms: u64,
    /// Bytes of state one client session may hold: its prepared statements' text and
    /// pending COM_STMT_SEND_LONG_DATA, and its session history (SET … replayed on other
    /// backends). A prepare or long data beyond it gets error 1041 (the session goes on);
    /// history beyond it keeps that session's reads on the writer. Default 64 MiB.
    pub max_session_memory: usize,
    /// Clients logging in with caching_sha2_password must pass its full authentication,
    /// as a MySQL 8 server asks when its cache is cold: the password in clear over TLS,
    /// or RSA-encrypted under rwsplit's public key without TLS (the client asks for the
    /// key, or has it from `rsa_private_key_file`'s pair). false = the fast path (a
    /// SHA-256 scramble) every time, which every client passes. Default false.
    pub caching_sha2_full_auth: bool,
    /// The auth plugin rwsplit's greeting proposes to clients: "mysql_native_password" or
    /// "caching_sha2_password" (what MySQL 8 proposes); a client may answer with the
    /// other one, both are accepted. Default "" (the writer's, as it was last seen).
    pub auth_plugin: String,
    /// PEM RSA private key (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY") for that
    /// RSA exchange; its public key is what clients are sent. Default: none (rwsplit
    /// generates a 2048-bit pair when the first client needs it; it lasts until exit).
    pub rsa_private_key_file: String,
}

impl ServerConfig {
    /// The worker threads to start, on a machine where rwsplit may use `cpus` CPUs: the
    /// number set, or for 0 half the CPUs, at least 1. A sidecar shares its machine with
    /// the application and with the kernel's network work for every packet it relays;
    /// measured on 2 CPUs (benches/run.sh, and A/B rounds of point selects and
    /// read_only), a second thread cost 10-15% more CPU per query and gave no more
    /// queries per second.
    pub fn worker_threads_for(&self, cpus: usize) -> usize {
        match self.worker_threads {
            0 => (cpus / 2).max(1),
            n => n,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:6033".into(),
            worker_threads: 0,
            nice: -10,
            max_client_connections: 4096,
            max_packet_size: 64 << 20,
            drain_timeout_ms: 30_000,
            metrics_listen: "127.0.0.1:9033".into(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            require_tls: false,
            handshake_timeout_ms: 10_000,
            client_idle_timeout_ms: 0,
            query_timeout_ms: 0,
            max_session_memory: 64 << 20,
            caching_sha2_full_auth: false,
            auth_plugin: String::new(),
            rsa_private_key_file: String::new(),
        }
    }
}
