//! How long a client may stay idle between commands: its session's `wait_timeout`, as the
//! server would apply it (a new connection starts at the server's global `wait_timeout`,
//! or `interactive_timeout` for a CLIENT_INTERACTIVE client; `SET wait_timeout` changes
//! it), and never longer than the operator's `server.client_idle_timeout_ms`. A client idle
//! past that is disconnected, so it sees what it would see on a direct connection.

use std::time::Duration;

use mysql_common::constants::CapabilityFlags;

use crate::route::{Served, Topology};

use super::Session;

/// The idle limit: the shorter of the operator's bound (`operator_ms`, 0 = none) and the
/// session's `wait_timeout` (seconds, when known).
pub fn limit(operator_ms: u64, wait_timeout_s: Option<u64>) -> Option<Duration> {
    let operator = (operator_ms > 0).then(|| Duration::from_millis(operator_ms));
    let own = wait_timeout_s.map(Duration::from_secs);
    match (operator, own) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// True when a statement may change this session's `wait_timeout` (it names the variable).
pub fn may_set_wait_timeout(sql: &[u8]) -> bool {
    const NAME: &[u8] = b"wait_timeout";
    sql.windows(NAME.len())
        .any(|w| w.eq_ignore_ascii_case(NAME))
}

/// The `wait_timeout` a new connection of this client starts with, from the writer's
/// global settings (as the monitor last read them).
pub fn initial_wait_timeout(topo: &Topology, caps: CapabilityFlags) -> Option<u64> {
    let writer = topo.writer.and_then(|w| topo.get(w))?;
    let (wait, interactive) = writer.idle_timeouts?;
    Some(if caps.contains(CapabilityFlags::CLIENT_INTERACTIVE) {
        interactive
    } else {
        wait
    })
}

impl Session {
    /// How long this client may stay idle now (`None`: no limit).
    pub(super) fn idle_limit(&self) -> Option<Duration> {
        limit(
            self.live.config.server.client_idle_timeout_ms,
            self.wait_timeout_s,
        )
    }

    /// Starts the session's `wait_timeout` afresh (login, COM_CHANGE_USER,
    /// COM_RESET_CONNECTION).
    pub(super) fn reset_wait_timeout(&mut self) {
        let topo = self.shared.topology.current();
        self.wait_timeout_s = initial_wait_timeout(&topo, self.login.caps);
    }

    /// After a statement that may have set `wait_timeout`: reads the session's value back
    /// from the connection it ran on (the server has validated and clamped it).
    pub(super) async fn read_back_wait_timeout(&mut self, served: Served) {
        let Some(conn) = self.conns.get_mut(served) else {
            return;
        };
        match conn.query_scalar("SELECT @@session.wait_timeout").await {
            Ok(Some(v)) => {
                if let Ok(secs) = v.parse::<u64>() {
                    self.wait_timeout_s = Some(secs);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(session = self.id, error = %e, "reading wait_timeout back"),
        }
    }
}

#[cfg(test)]
#[path = "idle_tests.rs"]
mod tests;
