//! Backend health: one task per backend logs in with the monitor account and checks it
//! every `monitor.interval_ms`; changes are published to the router's topology.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::route::{BackendId, Role};
use crate::shared::Shared;

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub read_only: bool,
}

/// Starts a checking task for every backend of the current topology.
pub fn spawn(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    shared
        .topology()
        .backends
        .iter()
        .map(|b| {
            let (id, addr) = (b.id, b.addr.clone());
            tokio::spawn(watch_backend(shared.clone(), id, addr, shutdown.clone()))
        })
        .collect()
}

async fn watch_backend(
    shared: Arc<Shared>,
    id: BackendId,
    addr: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conn: Option<Conn> = None;
    let mut was_up: Option<bool> = None;
    loop {
        let config = shared.config();
        let timeout = Duration::from_millis(config.monitor.timeout_ms);
        let (user, password) = config.monitor_credentials();
        let result = tokio::time::timeout(timeout, check(&mut conn, &addr, &user, &password)).await;
        let up = match result {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                if was_up != Some(false) {
                    tracing::warn!(backend = %addr, error = %e, "backend check failed");
                }
                conn = None;
                false
            }
            Err(_) => {
                if was_up != Some(false) {
                    tracing::warn!(backend = %addr, "backend check timed out");
                }
                conn = None;
                false
            }
        };
        if was_up != Some(up) {
            tracing::info!(backend = %addr, up, "backend state");
            was_up = Some(up);
        }
        shared.update_topology(|t| {
            let mut changed = false;
            for b in t.backends.iter_mut().filter(|b| b.id == id) {
                let eligible = up && b.role == Role::Reader;
                changed |= b.up != up || b.eligible != eligible;
                b.up = up;
                b.eligible = eligible;
            }
            changed
        });
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(config.monitor.interval_ms)) => {}
            _ = shutdown.changed() => break,
        }
    }
    if let Some(c) = conn {
        let _ = c.disconnect().await;
    }
}

async fn check(
    conn: &mut Option<Conn>,
    addr: &str,
    user: &str,
    password: &str,
) -> Result<Probe, mysql_async::Error> {
    if conn.is_none() {
        let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "3306"));
        let opts = OptsBuilder::default()
            .ip_or_hostname(host.to_string())
            .tcp_port(port.parse().unwrap_or(3306))
            .user(Some(user.to_string()))
            .pass(Some(password.to_string()))
            .prefer_socket(false)
            .stmt_cache_size(0);
        *conn = Some(Conn::new(opts).await?);
    }
    let Some(c) = conn.as_mut() else {
        return Err(mysql_async::Error::Other("no connection".into()));
    };
    let read_only: Option<i64> = c.query_first("SELECT @@read_only").await?;
    Ok(Probe {
        read_only: read_only.unwrap_or(0) != 0,
    })
}
