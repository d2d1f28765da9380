//! Configuration: a TOML file split by topic, every field with a documented default
//! (`config/rwsplit.toml` shows them all), overridden by command-line flags.

mod backends;
mod log;
mod monitor;
mod routing;
mod server;
mod users;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use backends::BackendsConfig;
pub use log::{LogConfig, LogFormat};
pub use monitor::MonitorConfig;
pub use routing::RoutingConfig;
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
        if self.server.max_client_connections == 0 {
            return Err(invalid(
                "server.max_client_connections",
                "must be at least 1",
            ));
        }
        if self.server.max_packet_size < 1024 {
            return Err(invalid("server.max_packet_size", "must be at least 1024"));
        }
        if self.backends.writer.is_empty() {
            return Err(invalid("backends.writer", "is required (host:port)"));
        }
        check_addr("backends.writer", &self.backends.writer)?;
        for (i, r) in self.backends.readers.iter().enumerate() {
            let key = format!("backends.readers[{i}]");
            check_addr(&key, r)?;
            if *r == self.backends.writer {
                return Err(invalid(key, format!("'{r}' is also the writer")));
            }
            if self.backends.readers[..i].contains(r) {
                return Err(invalid(key, format!("'{r}' is listed twice")));
            }
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
        if self.routing.classifier_cache == 0 {
            return Err(invalid("routing.classifier_cache", "must be at least 1"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", format!("'{}': {e}", self.log.level)))?;
        Ok(())
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
        toml::to_string(&c).unwrap_or_default()
    }
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
