//! How a session's backend connections log in, and how a statement past
//! `server.query_timeout_ms` is killed.

use crate::backend::{ConnectParams, Killer};
use crate::config::Config;
use crate::shared::Shared;

use super::login::Login;

/// How this session's backend connections log in (`db`: the database to start in).
pub(super) fn connect_params(
    login: &Login,
    config: &Config,
    shared: &Shared,
    db: Option<String>,
) -> ConnectParams {
    ConnectParams {
        user: login.user.backend_user().to_string(),
        password: login.user.backend_password().to_string(),
        db,
        caps: login.caps,
        mariadb_caps: login.mariadb_caps,
        collation: login.collation,
        attrs: login.attrs.clone(),
        max_packet: login.max_packet,
        connect_timeout: config.connect_timeout(),
        tls: shared.routing().backend_tls.clone(),
    }
}

/// With `server.query_timeout_ms` set: how to kill a statement that outlives it. The side
/// connection's parameters are built only when a statement is actually killed.
pub(super) fn killer<'a>(
    login: &'a Login,
    config: &'a Config,
    shared: &'a Shared,
) -> Option<Killer<impl FnOnce() -> ConnectParams + 'a>> {
    match config.server.query_timeout_ms {
        0 => None,
        ms => Some(Killer {
            limit: std::time::Duration::from_millis(ms),
            params: move || connect_params(login, config, shared, None),
        }),
    }
}
