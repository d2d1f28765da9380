//! `[admin]`: the admin SQL interface (SHOW BACKENDS, SET BACKEND … OFFLINE, RELOAD CONFIG, …).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin interface (MySQL protocol); empty = off. Default `127.0.0.1:6032`.
    pub listen: String,
    /// Its account. Default `admin`.
    pub user: String,
    /// Its password. Default `admin`: change it anywhere the address is reachable by others.
    pub password: String,
    /// Read the password from this environment variable instead. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Read the password from this file instead (trailing newline ignored). Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: "127.0.0.1:6032".into(),
            user: "admin".into(),
            password: "admin".into(),
            password_env: None,
            password_file: None,
        }
    }
}
