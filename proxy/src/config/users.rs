//! `[[users]]`: accounts clients log in with, and the backend account each maps to.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Name the client logs in with. Required.
    pub name: String,
    /// Its password. Default: empty. Better kept out of the file: see `password_env`.
    #[serde(default)]
    pub password: String,
    /// Read the password from this environment variable instead (at start and on every
    /// reload). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Read the password from this file instead (trailing newline ignored; a Kubernetes
    /// or Docker secret). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// Account rwsplit uses on the backends for this client. Default: `name`.
    #[serde(default)]
    pub backend_user: Option<String>,
    /// Password of `backend_user`. Default: `password`.
    #[serde(default)]
    pub backend_password: Option<String>,
    /// Read `backend_password` from this environment variable. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_password_env: Option<String>,
    /// Read `backend_password` from this file. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_password_file: Option<String>,
    /// This user may only log in over TLS (else error 1045, as REQUIRE SSL). Default false.
    #[serde(default)]
    pub require_tls: bool,
    /// Client connections this user may hold at once; more get error 1203 (as the
    /// server's max_user_connections). 0 = no cap. Default 0.
    #[serde(default)]
    pub max_connections: u32,
    /// This user may KILL (and KILL QUERY) the rwsplit sessions of every account, as a
    /// server account with CONNECTION ADMIN (SUPER) may. Without it a session may kill
    /// only sessions of its own account; others get error 1095. Default false.
    #[serde(default)]
    pub admin_kill: bool,
}

impl UserConfig {
    pub fn backend_user(&self) -> &str {
        self.backend_user.as_deref().unwrap_or(&self.name)
    }

    pub fn backend_password(&self) -> &str {
        self.backend_password.as_deref().unwrap_or(&self.password)
    }

    /// From `NAME:PASSWORD`.
    pub fn parse_pair(s: &str) -> Result<UserConfig, String> {
        let (name, password) = s
            .split_once(':')
            .ok_or_else(|| format!("'{s}' is not NAME:PASSWORD"))?;
        if name.is_empty() {
            return Err(format!("'{s}' has an empty user name"));
        }
        Ok(UserConfig {
            name: name.to_string(),
            password: password.to_string(),
            ..UserConfig::default()
        })
    }
}
