//! Building the router's topology from what the checks found: a pure function, so the
//! rules (which host is the writer, which readers are eligible, Aurora's stale rows) are
//! tested on tables of cases.

use std::sync::Arc;

use crate::config::TopologyMode;
use crate::route::{Backend, BackendId, Flavour, Position, Role, Topology};

/// What one check of a backend found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    pub up: bool,
    /// `@@read_only` or `@@innodb_read_only` is ON.
    pub read_only: Option<bool>,
    pub flavour: Flavour,
    /// Applied position (replica) or binlog position (writer).
    pub position: Option<Arc<Position>>,
    /// A replica's received position (what its I/O thread has written to its relay log:
    /// `Gtid_IO_Pos`, `Retrieved_Gtid_Set`) joined with the applied one, when known.
    pub received: Option<Arc<Position>>,
    /// When this check began (µs, Unix time): the positions include everything the
    /// backend had received or applied by then. 0 for a failed check.
    pub checked_us: u64,
    /// Replication lag in milliseconds (heartbeat, Seconds_Behind_Master or Aurora's).
    pub lag_ms: Option<u64>,
    /// Replication threads running (None: not a replica, or not visible).
    pub replicating: Option<bool>,
    /// `@@global.wait_timeout` and `@@global.interactive_timeout`, in seconds.
    pub idle_timeouts: Option<(u64, u64)>,
    /// Aurora: `@@global.aurora_replica_read_consistency` is set (local write forwarding
    /// in use, see [`crate::route::Backend::write_forwarding`]). `None` elsewhere.
    pub write_forwarding: Option<bool>,
}

/// A row of Aurora's `replica_host_status` (or of the table emulating it).
#[derive(Debug, Clone, PartialEq)]
pub struct AuroraRow {
    pub server_id: String,
    pub session_id: String,
    /// Milliseconds since the row was last updated.
    pub age_ms: Option<f64>,
    pub lag_ms: Option<f64>,
}

pub const MASTER_SESSION_ID: &str = "MASTER_SESSION_ID";

/// Aurora rows to instances: stale rows dropped, and of the rows labelled
/// MASTER_SESSION_ID only the newest (the old writer keeps the label for a while during a
/// failover). Returns (server_id, is_writer_label, lag_ms).
pub fn aurora_instances(
    rows: &[AuroraRow],
    stale_after_ms: u64,
) -> Vec<(String, bool, Option<u64>)> {
    let fresh: Vec<&AuroraRow> = rows
        .iter()
        .filter(|r| r.age_ms.is_none_or(|a| a <= stale_after_ms as f64))
        .collect();
    let writer = fresh
        .iter()
        .filter(|r| r.session_id == MASTER_SESSION_ID)
        .min_by(|a, b| {
            a.age_ms
                .unwrap_or(f64::MAX)
                .total_cmp(&b.age_ms.unwrap_or(f64::MAX))
        })
        .map(|r| r.server_id.clone());
    let mut out: Vec<(String, bool, Option<u64>)> = Vec::new();
    for r in fresh {
        if out.iter().any(|(s, _, _)| *s == r.server_id) {
            continue;
        }
        let is_writer = writer.as_deref() == Some(r.server_id.as_str());
        let lag = if is_writer {
            Some(0)
        } else {
            r.lag_ms.filter(|l| *l >= 0.0).map(|l| l.round() as u64)
        };
        out.push((r.server_id.clone(), is_writer, lag));
    }
    out
}

/// A backend the monitor watches.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub id: BackendId,
    pub addr: String,
    /// static: the configured role; aurora: the role the cluster's rows give it.
    pub role_hint: Option<Role>,
    pub weight: u32,
    pub status: Option<Status>,
}

/// The topology for `mode`, from what is known of each backend.
pub fn build(
    mode: TopologyMode,
    known: &[Known],
    prev_writer: Option<BackendId>,
    max_lag_ms: u64,
) -> Topology {
    let writable = |k: &Known| {
        k.status
            .as_ref()
            .is_some_and(|s| s.up && s.read_only == Some(false))
    };
    let writer = match mode {
        TopologyMode::Static => known
            .iter()
            .find(|k| k.role_hint == Some(Role::Writer))
            .map(|k| k.id),
        // The writable host; the current writer keeps the role while it qualifies.
        TopologyMode::ReadOnly => known
            .iter()
            .find(|k| Some(k.id) == prev_writer && writable(k))
            .or_else(|| known.iter().find(|k| writable(k)))
            .map(|k| k.id),
        // The instance the cluster calls the writer, once it says so itself.
        TopologyMode::Aurora => known
            .iter()
            .find(|k| k.role_hint == Some(Role::Writer) && writable(k))
            .or_else(|| {
                known
                    .iter()
                    .find(|k| Some(k.id) == prev_writer && writable(k) && k.role_hint.is_some())
            })
            .map(|k| k.id),
    };
    let backends = known
        .iter()
        .map(|k| {
            let role = if Some(k.id) == writer {
                Role::Writer
            } else {
                Role::Reader
            };
            let s = k.status.clone().unwrap_or_default();
            let eligible = role == Role::Reader
                && s.up
                && s.read_only == Some(true)
                && s.replicating != Some(false)
                && s.lag_ms.is_none_or(|l| l <= max_lag_ms);
            Backend {
                id: k.id,
                addr: k.addr.clone(),
                role,
                up: s.up,
                eligible,
                weight: k.weight,
                lag_ms: s.lag_ms,
                read_only: s.read_only,
                position: s.position.clone(),
                received: s.received.clone(),
                checked_us: s.checked_us,
                flavour: s.flavour,
                idle_timeouts: s.idle_timeouts,
                write_forwarding: s.write_forwarding,
            }
        })
        .collect();
    Topology { writer, backends }
}
