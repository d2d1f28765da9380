//! Passwords given by reference (`password_env`, `password_file`, …), read when the
//! configuration is loaded and on every reload, so secrets stay out of the TOML file. A
//! reference takes precedence over an inline password; naming both an environment
//! variable and a file is an error.

use super::{invalid, Config, ConfigError};

/// Reads the secret `key` refers to, if it refers to one.
fn read(
    key: &str,
    env: &Option<String>,
    file: &Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (env, file) {
        (Some(_), Some(_)) => Err(invalid(
            key,
            "give the password by environment variable or by file, not both",
        )),
        (Some(var), None) => match std::env::var(var) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(invalid(
                format!("{key}_env"),
                format!("environment variable {var} is not set (or not UTF-8)"),
            )),
        },
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(v) => Ok(Some(v.trim_end_matches(['\r', '\n']).to_string())),
            Err(e) => Err(invalid(
                format!("{key}_file"),
                format!("cannot read {path}: {e}"),
            )),
        },
        (None, None) => Ok(None),
    }
}

impl Config {
    /// Replaces every password given by reference with the secret it names.
    pub fn resolve_secrets(&mut self) -> Result<(), ConfigError> {
        for (i, u) in self.users.iter_mut().enumerate() {
            let key = format!("users[{i}].password");
            if let Some(p) = read(&key, &u.password_env, &u.password_file)? {
                u.password = p;
            }
            let key = format!("users[{i}].backend_password");
            if let Some(p) = read(&key, &u.backend_password_env, &u.backend_password_file)? {
                u.backend_password = Some(p);
            }
        }
        let m = &mut self.monitor;
        if let Some(p) = read("monitor.password", &m.password_env, &m.password_file)? {
            m.password = Some(p);
            if m.user.is_none() {
                return Err(invalid(
                    "monitor.user",
                    "must be set when monitor.password_env or password_file is",
                ));
            }
        }
        let a = &mut self.admin;
        if let Some(p) = read("admin.password", &a.password_env, &a.password_file)? {
            a.password = p;
        }
        Ok(())
    }
}
