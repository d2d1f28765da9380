//! Configuration: a TOML file split by topic, every field with a documented default
//! (`config/rwsplit.toml` shows them all), overridden by command-line flags.

mod admin;
mod backends;
mod failover;
mod log;
mod monitor;
mod pool;
mod routing;
mod secrets;
mod server;
mod users;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use admin::AdminConfig;
pub use backends::{AuroraConfig, BackendTlsMode, BackendsConfig, TopologyMode};
pub use failover::FailoverConfig;
pub use log::{LogConfig, LogFormat};
pub use monitor::MonitorConfig;
pub use pool::{PoolConfig, PoolMode};
pub use routing::{Consistency, Fallback, Policy, RoutingConfig, RuleConfig, RuleRoute};
pub use server::ServerConfig;
pub use users::UserConfig;

/// Errors loading or checking a configuration; each names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub backends: BackendsConfig,
    pub users: Vec<UserConfig>,
    pub monitor: MonitorConfig,
    pub routing: RoutingConfig,
    pub pool: PoolConfig,
    pub failover: FailoverConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
}

impl Config {
    /// Reads and parses a TOML file (not yet validated: flags may still complete it).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "config".into(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }

    /// Checks every value; the error names the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.listen.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "server.listen",
                format!("'{}' is not ip:port", self.server.listen),
            )
        })?;
        for (key, addr) in [
            ("server.metrics_listen", &self.server.metrics_listen),
            ("admin.listen", &self.admin.listen),
        ] {
            if !addr.is_empty() && addr.parse::<SocketAddr>().is_err() {
                return Err(invalid(
                    key,
                    format!("'{addr}' is not ip:port (or \"\" for off)"),
                ));
            }
        }
        if !self.admin.listen.is_empty() && self.admin.user.is_empty() {
            return Err(invalid("admin.user", "must not be empty"));
        }
        if !(-20..=19).contains(&self.server.nice) {
            return Err(invalid("server.nice", "must be from -20 to 19"));
        }
        if self.server.max_client_connections == 0 {
            return Err(invalid(
                "server.max_client_connections",
                "must be at least 1",
            ));
        }
        if self.server.max_session_memory < 4096 {
            return Err(invalid(
                "server.max_session_memory",
                "must be at least 4096",
            ));
        }
        if self.server.max_packet_size < 1024 {
            return Err(invalid("server.max_packet_size", "must be at least 1024"));
        }
        if self.pool.min_idle > self.pool.max_idle {
            return Err(invalid("pool.min_idle", "must be at most pool.max_idle"));
        }
        if self.pool.max_connections > 0 && self.pool.min_idle > self.pool.max_connections {
            return Err(invalid(
                "pool.min_idle",
                "must be at most pool.max_connections",
            ));
        }
        if self.pool.prepared_per_connection == 0 {
            return Err(invalid(
                "pool.prepared_per_connection",
                "must be at least 1",
            ));
        }
        self.validate_backends()?;
        // Builds the TLS settings once: a missing or unreadable file is named here.
        crate::tls::BackendTls::from_config(&self.backends)
            .map_err(|e| invalid(e.key, e.message))?;
        let client_tls = crate::tls::ClientTls::from_config(&self.server)
            .map_err(|e| invalid(e.key, e.message))?;
        if client_tls.is_none()
            && (self.server.require_tls || self.users.iter().any(|u| u.require_tls))
        {
            return Err(invalid(
                "server.tls_cert_file",
                "is required when server.require_tls or a user's require_tls is set",
            ));
        }
        if !["", "mysql_native_password", "caching_sha2_password"]
            .contains(&self.server.auth_plugin.as_str())
        {
            return Err(invalid(
                "server.auth_plugin",
                format!(
                    "'{}' is not \"mysql_native_password\" or \"caching_sha2_password\"",
                    self.server.auth_plugin
                ),
            ));
        }
        if !self.server.rsa_private_key_file.is_empty() {
            crate::protocol::rsa::RsaKeys::from_file(&self.server.rsa_private_key_file)
                .map_err(|e| invalid("server.rsa_private_key_file", e))?;
        }
        if self.server.handshake_timeout_ms == 0 {
            return Err(invalid("server.handshake_timeout_ms", "must be at least 1"));
        }
        if self.backends.connect_timeout_ms == 0 {
            return Err(invalid("backends.connect_timeout_ms", "must be at least 1"));
        }
        if self.users.is_empty() {
            return Err(invalid(
                "users",
                "at least one user is required (--user NAME:PASSWORD)",
            ));
        }
        for (i, u) in self.users.iter().enumerate() {
            if u.name.is_empty() {
                return Err(invalid(format!("users[{i}].name"), "must not be empty"));
            }
            if self.users[..i].iter().any(|o| o.name == u.name) {
                return Err(invalid(
                    format!("users[{i}].name"),
                    format!("'{}' is listed twice", u.name),
                ));
            }
        }
        if self.monitor.interval_ms == 0 {
            return Err(invalid("monitor.interval_ms", "must be at least 1"));
        }
        if self.monitor.timeout_ms == 0 {
            return Err(invalid("monitor.timeout_ms", "must be at least 1"));
        }
        if self.monitor.user.is_some() != self.monitor.password.is_some() {
            return Err(invalid(
                "monitor.password",
                "monitor.user and monitor.password go together",
            ));
        }
        if self.monitor.heartbeat_interval_ms < 10 {
            return Err(invalid(
                "monitor.heartbeat_interval_ms",
                "must be at least 10",
            ));
        }
        if self.monitor.heartbeat_schema.is_empty()
            || !self
                .monitor
                .heartbeat_schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(invalid(
                "monitor.heartbeat_schema",
                "must be a plain identifier (letters, digits, _)",
            ));
        }
        if self.routing.consistency_timeout_ms == 0 {
            return Err(invalid(
                "routing.consistency_timeout_ms",
                "must be at least 1",
            ));
        }
        for (i, r) in self.routing.rules.iter().enumerate() {
            if r.pattern.is_none() && r.user.is_none() && r.schema.is_none() {
                return Err(invalid(
                    format!("routing.rules[{i}]"),
                    "needs match, user or schema",
                ));
            }
            if let Some(p) = &r.pattern {
                regex::Regex::new(p)
                    .map_err(|e| invalid(format!("routing.rules[{i}].match"), e.to_string()))?;
            }
        }
        if self.routing.rules.len() > 64 {
            return Err(invalid("routing.rules", "at most 64 rules"));
        }
        if self.failover.hold_ms > 600_000 {
            return Err(invalid("failover.hold_ms", "must be at most 600000"));
        }
        if self.failover.replay_max_bytes > 1 << 30 {
            return Err(invalid(
                "failover.replay_max_bytes",
                "must be at most 1073741824",
            ));
        }
        if self.pool.borrow_timeout_ms == 0 {
            return Err(invalid("pool.borrow_timeout_ms", "must be at least 1"));
        }
        if self.pool.idle_timeout_ms == 0 {
            return Err(invalid("pool.idle_timeout_ms", "must be at least 1"));
        }
        if self.routing.classifier_cache == 0 {
            return Err(invalid("routing.classifier_cache", "must be at least 1"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", format!("'{}': {e}", self.log.level)))?;
        Ok(())
    }

    fn validate_backends(&self) -> Result<(), ConfigError> {
        let b = &self.backends;
        match b.mode {
            TopologyMode::Static => {
                if b.writer.is_empty() {
                    return Err(invalid("backends.writer", "is required (host:port)"));
                }
                check_addr("backends.writer", &b.writer)?;
                check_list("backends.readers", &b.readers)?;
                if let Some(i) = b.readers.iter().position(|r| *r == b.writer) {
                    return Err(invalid(
                        format!("backends.readers[{i}]"),
                        format!("'{}' is also the writer", b.writer),
                    ));
                }
                if !b.hosts.is_empty() {
                    return Err(invalid("backends.hosts", "is for mode = \"read_only\""));
                }
            }
            TopologyMode::ReadOnly => {
                if self.read_only_hosts().is_empty() {
                    return Err(invalid(
                        "backends.hosts",
                        "mode = \"read_only\" needs at least one host (host:port)",
                    ));
                }
                check_list("backends.hosts", &self.read_only_hosts())?;
            }
            TopologyMode::Aurora => {
                let a = &b.aurora;
                if a.cluster_endpoint.is_empty() {
                    return Err(invalid(
                        "backends.aurora.cluster_endpoint",
                        "is required in aurora mode",
                    ));
                }
                check_addr("backends.aurora.cluster_endpoint", &a.cluster_endpoint)?;
                if !a.instance_pattern.contains('?') {
                    return Err(invalid(
                        "backends.aurora.instance_pattern",
                        "must contain '?' (replaced by each instance's SERVER_ID)",
                    ));
                }
                check_addr(
                    "backends.aurora.instance_pattern",
                    &a.instance_pattern.replace('?', "1"),
                )?;
                if a.topology_query.trim().is_empty() {
                    return Err(invalid(
                        "backends.aurora.topology_query",
                        "must not be empty",
                    ));
                }
            }
        }
        for addr in b.weights.keys() {
            check_addr(&format!("backends.weights.\"{addr}\""), addr)?;
        }
        Ok(())
    }

    /// The hosts of read_only mode (`hosts`, or `writer` + `readers` when `hosts` is empty).
    pub fn read_only_hosts(&self) -> Vec<String> {
        let b = &self.backends;
        if !b.hosts.is_empty() {
            return b.hosts.clone();
        }
        let mut v = Vec::new();
        if !b.writer.is_empty() {
            v.push(b.writer.clone());
        }
        v.extend(b.readers.iter().cloned());
        v
    }

    /// Looks up a client account.
    pub fn user(&self, name: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The monitor's credentials.
    pub fn monitor_credentials(&self) -> (String, String) {
        match (
            &self.monitor.user,
            &self.monitor.password,
            self.users.first(),
        ) {
            (Some(u), Some(p), _) => (u.clone(), p.clone()),
            (_, _, Some(first)) => (
                first.backend_user().to_string(),
                first.backend_password().to_string(),
            ),
            _ => (String::new(), String::new()),
        }
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.backends.connect_timeout_ms)
    }

    /// The configuration as TOML, passwords masked.
    pub fn to_masked_toml(&self) -> String {
        let mut c = self.clone();
        for u in &mut c.users {
            u.password = "*****".into();
            if u.backend_password.is_some() {
                u.backend_password = Some("*****".into());
            }
        }
        if c.monitor.password.is_some() {
            c.monitor.password = Some("*****".into());
        }
        c.admin.password = "*****".into();
        toml::to_string(&c).unwrap_or_default()
    }
}

fn check_list(key: &str, list: &[String]) -> Result<(), ConfigError> {
    for (i, r) in list.iter().enumerate() {
        let k = format!("{key}[{i}]");
        check_addr(&k, r)?;
        if list[..i].contains(r) {
            return Err(invalid(k, format!("'{r}' is listed twice")));
        }
    }
    Ok(())
}

fn check_addr(key: &str, addr: &str) -> Result<(), ConfigError> {
    let ok = match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(key, format!("'{addr}' is not host:port")))
    }
}
