//! Command-line flags. Every flag can also be given as an environment variable
//! `RWSPLIT_<FLAG>`; flags override the configuration file.

use std::path::PathBuf;

use clap::Parser;

use crate::config::{
    BackendTlsMode, Config, ConfigError, Consistency, Fallback, LogFormat, Policy, TopologyMode,
    UserConfig,
};

#[derive(Debug, Parser)]
#[command(
    name = "rwsplit",
    version,
    about = "A read/write-splitting MySQL/MariaDB proxy",
    long_about = "rwsplit speaks the MySQL protocol to clients and sends writes, transactions and \
session-bound statements to the writer and other reads to a reader, keeping each session's \
state (SET, USE, temporary tables, locks) consistent across its backend connections.\n\n\
Every flag can also be given as an environment variable RWSPLIT_<FLAG> (for example \
RWSPLIT_LISTEN); lists (--reader, --user) take comma-separated values there. Flags \
override the file given with --config.\n\n\
Example:\n  rwsplit --listen 127.0.0.1:6033 --writer 127.0.0.1:3316 \\\n          \
--reader 127.0.0.1:3317 --reader 127.0.0.1:3318 --user app:app"
)]
pub struct Cli {
    /// TOML configuration file (see config/rwsplit.toml for every key and its default).
    #[arg(long, short = 'c', env = "RWSPLIT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address clients connect to [default: 127.0.0.1:6033].
    #[arg(long, env = "RWSPLIT_LISTEN", value_name = "IP:PORT")]
    pub listen: Option<String>,

    /// The writer (primary).
    #[arg(long, env = "RWSPLIT_WRITER", value_name = "HOST:PORT")]
    pub writer: Option<String>,

    /// A reader (replica); repeat for several. Replaces the file's list.
    #[arg(
        long = "reader",
        env = "RWSPLIT_READER",
        value_name = "HOST:PORT",
        value_delimiter = ','
    )]
    pub readers: Vec<String>,

    /// How the writer is found: static (--writer/--reader), read_only (--host: the
    /// writable one is the writer; promotions are followed) or aurora (config file)
    /// [default: static].
    #[arg(long, env = "RWSPLIT_MODE", value_enum)]
    pub mode: Option<TopologyMode>,

    /// read_only mode: a host to watch; repeat for several. Replaces the file's list.
    #[arg(
        long = "host",
        env = "RWSPLIT_HOST",
        value_name = "HOST:PORT",
        value_delimiter = ','
    )]
    pub hosts: Vec<String>,

    /// Read-your-writes: eventual, session (a session reads its own writes), global
    /// (every session reads every write made through this rwsplit) or cluster (every read
    /// sees every write acknowledged before it, through any rwsplit: several app instances
    /// behind a load balancer) [default: global].
    #[arg(long, env = "RWSPLIT_CONSISTENCY", value_enum)]
    pub consistency: Option<Consistency>,

    /// How long a read waits for a reader to apply what it must see before trying another
    /// reader, then the writer; a reader lagging more than this is not waited for. With
    /// the writer unreachable, a read also waits this long (or one monitor round, if
    /// longer) for the monitor to check the replicas after the writes it must see
    /// [default: 500].
    #[arg(long, env = "RWSPLIT_CONSISTENCY_TIMEOUT", value_name = "MS")]
    pub consistency_timeout: Option<u64>,

    /// transaction: a session borrows a backend connection for one statement or one
    /// transaction, brought to its state first (SET variables, database, user variables,
    /// LAST_INSERT_ID(), prepared statements), and gives it back unless a transaction,
    /// lock, temporary table or other connection-bound state pins it; session: a session
    /// keeps its connections until it ends [default: transaction].
    #[arg(long, env = "RWSPLIT_POOL_MODE", value_name = "MODE")]
    pub pool_mode: Option<crate::config::PoolMode>,

    /// Backend connections open to one backend at most (all sessions, borrowed and idle);
    /// 0 = no cap. At the cap a session waits its turn up to --pool-borrow-timeout, then
    /// gets error 1040 [default: 0].
    #[arg(long, env = "RWSPLIT_POOL_MAX_CONNECTIONS", value_name = "N")]
    pub pool_max_connections: Option<usize>,

    /// Idle backend connections kept per backend for the next session (reset when a
    /// session ends); those past it are closed once idle for 10 s, oldest first.
    /// 0 = none: each session opens and closes its own [default: 64].
    #[arg(long, env = "RWSPLIT_POOL_MAX_IDLE", value_name = "N")]
    pub pool_max_idle: Option<usize>,

    /// Idle backend connections kept open per backend ahead of need, opened in the
    /// background with the account and database of the session that last opened one
    /// there; at most --pool-max-idle [default: 0].
    #[arg(long, env = "RWSPLIT_POOL_MIN_IDLE", value_name = "N")]
    pub pool_min_idle: Option<usize>,

    /// Milliseconds a session waits for a backend connection at --pool-max-connections
    /// before error 1040 [default: 5000].
    #[arg(long, env = "RWSPLIT_POOL_BORROW_TIMEOUT", value_name = "MS")]
    pub pool_borrow_timeout: Option<u64>,

    /// Milliseconds a statement that needs the writer waits for one during a failover
    /// (no writer, a read-only old writer, an unreachable writer) before error 1105;
    /// 0 = the error at once [default: 10000].
    #[arg(long, env = "RWSPLIT_FAILOVER_HOLD_MS", value_name = "MS")]
    pub failover_hold_ms: Option<u64>,

    /// Bytes of an open transaction's statements kept per session to replay it on the
    /// new writer when a failover interrupts it (the client then sees no error if every
    /// answer matches); a larger transaction gets error 1927; 0 = never replay
    /// [default: 1048576].
    #[arg(long, env = "RWSPLIT_FAILOVER_REPLAY_MAX_BYTES", value_name = "BYTES")]
    pub failover_replay_max_bytes: Option<usize>,

    /// Learn whether a COMMIT (or autocommit write) whose answer a failover lost
    /// committed, from a marker row written in its transaction, instead of error 1927
    /// "outcome unknown" (true or false) [default: false].
    #[arg(long, env = "RWSPLIT_FAILOVER_VERIFY_COMMITS", value_name = "BOOL")]
    pub failover_verify_commits: Option<bool>,

    /// Readers lagging more than this many milliseconds get no reads [default: 1000].
    #[arg(long, env = "RWSPLIT_MAX_REPLICA_LAG", value_name = "MS")]
    pub max_replica_lag: Option<u64>,

    /// How a reader is chosen [default: least-connections].
    #[arg(long, env = "RWSPLIT_POLICY", value_enum)]
    pub policy: Option<Policy>,

    /// When no reader is eligible: send reads to the writer, or answer an error
    /// [default: writer].
    #[arg(long, env = "RWSPLIT_FALLBACK", value_enum)]
    pub fallback: Option<Fallback>,

    /// An account clients log in with; rwsplit uses the same on the backends unless the
    /// file maps it. Repeat for several; replaces a file entry of the same name.
    #[arg(
        long = "user",
        env = "RWSPLIT_USER",
        value_name = "NAME:PASSWORD",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub users: Vec<String>,

    /// PEM certificate chain offered to clients that ask for TLS (with --tls-key)
    /// [default: none, TLS not offered].
    #[arg(long, env = "RWSPLIT_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "RWSPLIT_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Refuse clients that do not use TLS (error 3159) [default: off].
    #[arg(long, env = "RWSPLIT_REQUIRE_TLS")]
    pub require_tls: bool,

    /// The auth plugin proposed to clients: mysql_native_password or caching_sha2_password
    /// [default: the writer's].
    #[arg(long, env = "RWSPLIT_AUTH_PLUGIN", value_name = "PLUGIN")]
    pub auth_plugin: Option<String>,

    /// caching_sha2_password clients must pass full authentication (password over TLS,
    /// or RSA-encrypted without TLS) instead of the fast path [default: off].
    #[arg(long, env = "RWSPLIT_CACHING_SHA2_FULL_AUTH")]
    pub caching_sha2_full_auth: bool,

    /// PEM RSA private key for caching_sha2_password's RSA exchange [default: a 2048-bit
    /// pair generated when first needed].
    #[arg(long, env = "RWSPLIT_RSA_PRIVATE_KEY", value_name = "FILE")]
    pub rsa_private_key: Option<PathBuf>,

    /// Milliseconds a client has to finish logging in [default: 10000].
    #[arg(long, env = "RWSPLIT_HANDSHAKE_TIMEOUT", value_name = "MS")]
    pub handshake_timeout: Option<u64>,

    /// Milliseconds a client may stay silent before its connection is closed, at most; its
    /// session's own wait_timeout (as the server sets it) closes it earlier; 0 = no bound
    /// of the operator's [default: 0].
    #[arg(long, env = "RWSPLIT_CLIENT_IDLE_TIMEOUT", value_name = "MS")]
    pub client_idle_timeout: Option<u64>,

    /// Milliseconds a statement may run before rwsplit kills it on its backend (the client
    /// gets error 1317); 0 = no limit [default: 0].
    #[arg(long, env = "RWSPLIT_QUERY_TIMEOUT", value_name = "MS")]
    pub query_timeout: Option<u64>,

    /// Bytes of state (prepared statements, long data, session history) one client session
    /// may hold; beyond it a prepare or long data gets error 1041 [default: 67108864].
    #[arg(long, env = "RWSPLIT_MAX_SESSION_MEMORY", value_name = "BYTES")]
    pub max_session_memory: Option<usize>,

    /// TLS to the backends: disabled, preferred, required, verify-ca or verify-identity
    /// (as the mysql client's --ssl-mode) [default: disabled].
    #[arg(long, env = "RWSPLIT_BACKEND_TLS", value_enum, value_name = "MODE")]
    pub backend_tls: Option<BackendTlsMode>,

    /// PEM file of the CA certificates backends' certificates must chain to (needed by
    /// verify-ca and verify-identity).
    #[arg(long, env = "RWSPLIT_BACKEND_CA_FILE", value_name = "FILE")]
    pub backend_ca_file: Option<PathBuf>,

    /// Account of the health monitor [default: the first user's backend account].
    #[arg(
        long,
        env = "RWSPLIT_MONITOR_USER",
        value_name = "NAME:PASSWORD",
        hide_env_values = true
    )]
    pub monitor_user: Option<String>,

    /// Milliseconds between health checks of each backend [default: 500].
    #[arg(long, env = "RWSPLIT_MONITOR_INTERVAL", value_name = "MS")]
    pub monitor_interval: Option<u64>,

    /// Client connections served at once; more get error 1040 [default: 4096].
    #[arg(long, env = "RWSPLIT_MAX_CLIENT_CONNECTIONS", value_name = "N")]
    pub max_client_connections: Option<usize>,

    /// HTTP listener for /metrics, /healthz, /readyz, /status; "" = off
    /// [default: 127.0.0.1:9033].
    #[arg(long, env = "RWSPLIT_METRICS_LISTEN", value_name = "IP:PORT")]
    pub metrics_listen: Option<String>,

    /// Admin SQL interface (mariadb -h… -P… -uadmin -p…); "" = off [default: 127.0.0.1:6032].
    #[arg(long, env = "RWSPLIT_ADMIN_LISTEN", value_name = "IP:PORT")]
    pub admin_listen: Option<String>,

    /// Account of the admin interface [default: admin:admin].
    #[arg(
        long,
        env = "RWSPLIT_ADMIN_USER",
        value_name = "NAME:PASSWORD",
        hide_env_values = true
    )]
    pub admin_user: Option<String>,

    /// Milliseconds open transactions get to finish on SIGTERM [default: 30000].
    #[arg(long, env = "RWSPLIT_DRAIN_TIMEOUT", value_name = "MS")]
    pub drain_timeout: Option<u64>,

    /// Worker threads; 0 = half the CPUs rwsplit may use, at least 1 [default: 0].
    #[arg(long, env = "RWSPLIT_WORKER_THREADS", value_name = "N")]
    pub worker_threads: Option<usize>,

    /// Scheduling priority (nice, -20 to 19) asked for at start, so the proxy's thread
    /// does not wait behind the client and server threads that wait for it; needs
    /// CAP_SYS_NICE, else logged and left as started [default: -10].
    #[arg(
        long,
        env = "RWSPLIT_NICE",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub nice: Option<i32>,

    /// Log filter: info, debug (one line per statement with its route), warn, … [default: info].
    #[arg(long, env = "RWSPLIT_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Log format [default: human].
    #[arg(long, env = "RWSPLIT_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Check the configuration, print it (passwords masked) and exit.
    #[arg(long)]
    pub check: bool,
}

impl Cli {
    /// The configuration: the file (if any), then the flags, validated.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut c = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        self.apply(&mut c)?;
        c.resolve_secrets()?;
        c.validate()?;
        Ok(c)
    }

    /// Applies the flags over a configuration.
    pub fn apply(&self, c: &mut Config) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        if let Some(v) = &self.listen {
            c.server.listen = v.clone();
        }
        if let Some(v) = &self.writer {
            c.backends.writer = v.clone();
        }
        if let Some(m) = self.mode {
            c.backends.mode = m;
        }
        if !self.hosts.is_empty() {
            c.backends.hosts = self
                .hosts
                .iter()
                .filter(|h| !h.is_empty())
                .cloned()
                .collect();
        }
        if let Some(v) = self.consistency {
            c.routing.consistency = v;
        }
        if let Some(v) = self.consistency_timeout {
            c.routing.consistency_timeout_ms = v;
        }
        if let Some(v) = self.pool_mode {
            c.pool.mode = v;
        }
        if let Some(v) = self.pool_max_connections {
            c.pool.max_connections = v;
        }
        if let Some(v) = self.pool_max_idle {
            c.pool.max_idle = v;
        }
        if let Some(v) = self.pool_min_idle {
            c.pool.min_idle = v;
        }
        if let Some(v) = self.pool_borrow_timeout {
            c.pool.borrow_timeout_ms = v;
        }
        if let Some(v) = self.failover_hold_ms {
            c.failover.hold_ms = v;
        }
        if let Some(v) = self.failover_replay_max_bytes {
            c.failover.replay_max_bytes = v;
        }
        if let Some(v) = self.failover_verify_commits {
            c.failover.verify_commits = v;
        }
        if let Some(v) = self.max_replica_lag {
            c.routing.max_replica_lag_ms = v;
        }
        if let Some(v) = self.policy {
            c.routing.policy = v;
        }
        if let Some(v) = self.fallback {
            c.routing.fallback = v;
        }
        if !self.readers.is_empty() {
            c.backends.readers = self
                .readers
                .iter()
                .filter(|r| !r.is_empty())
                .cloned()
                .collect();
        }
        for u in &self.users {
            let user = UserConfig::parse_pair(u).map_err(|m| bad("--user", m))?;
            match c.users.iter_mut().find(|x| x.name == user.name) {
                Some(existing) => *existing = user,
                None => c.users.push(user),
            }
        }
        if let Some(m) = &self.monitor_user {
            let u = UserConfig::parse_pair(m).map_err(|m| bad("--monitor-user", m))?;
            c.monitor.user = Some(u.name);
            c.monitor.password = Some(u.password);
            (c.monitor.password_env, c.monitor.password_file) = (None, None);
        }
        if let Some(v) = self.monitor_interval {
            c.monitor.interval_ms = v;
        }
        if let Some(v) = self.max_client_connections {
            c.server.max_client_connections = v;
        }
        if let Some(v) = &self.metrics_listen {
            c.server.metrics_listen = v.clone();
        }
        if let Some(v) = &self.admin_listen {
            c.admin.listen = v.clone();
        }
        if let Some(a) = &self.admin_user {
            let u = UserConfig::parse_pair(a).map_err(|m| bad("--admin-user", m))?;
            c.admin.user = u.name;
            c.admin.password = u.password;
            (c.admin.password_env, c.admin.password_file) = (None, None);
        }
        if let Some(v) = &self.tls_cert {
            c.server.tls_cert_file = v.display().to_string();
        }
        if let Some(v) = &self.tls_key {
            c.server.tls_key_file = v.display().to_string();
        }
        if self.require_tls {
            c.server.require_tls = true;
        }
        if let Some(v) = &self.auth_plugin {
            c.server.auth_plugin = v.clone();
        }
        if self.caching_sha2_full_auth {
            c.server.caching_sha2_full_auth = true;
        }
        if let Some(v) = &self.rsa_private_key {
            c.server.rsa_private_key_file = v.display().to_string();
        }
        if let Some(v) = self.handshake_timeout {
            c.server.handshake_timeout_ms = v;
        }
        if let Some(v) = self.max_session_memory {
            c.server.max_session_memory = v;
        }
        if let Some(v) = self.query_timeout {
            c.server.query_timeout_ms = v;
        }
        if let Some(v) = self.client_idle_timeout {
            c.server.client_idle_timeout_ms = v;
        }
        if let Some(v) = self.backend_tls {
            c.backends.tls = v;
        }
        if let Some(v) = &self.backend_ca_file {
            c.backends.ca_file = v.display().to_string();
        }
        if let Some(v) = self.drain_timeout {
            c.server.drain_timeout_ms = v;
        }
        if let Some(v) = self.worker_threads {
            c.server.worker_threads = v;
        }
        if let Some(v) = self.nice {
            c.server.nice = v;
        }
        if let Some(v) = &self.log_level {
            c.log.level = v.clone();
        }
        if let Some(v) = self.log_format {
            c.log.format = v;
        }
        Ok(())
    }
}
