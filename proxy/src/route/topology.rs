//! The router's view of the backends: a plain value, published by the monitor layer and
//! read without waiting.

use std::fmt;
use std::sync::Arc;

use super::gtid::Position;

/// A backend's stable identity within this process (never reused, also across reloads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackendId(pub u32);

impl fmt::Display for BackendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The role a backend plays now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Writer,
    Reader,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Writer => "writer",
            Role::Reader => "reader",
        }
    }
}

/// What kind of server a backend is (from its version string and `@@aurora_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavour {
    #[default]
    Unknown,
    MariaDb,
    MySql,
    AuroraMySql,
}

impl Flavour {
    pub fn label(self) -> &'static str {
        match self {
            Flavour::Unknown => "unknown",
            Flavour::MariaDb => "mariadb",
            Flavour::MySql => "mysql",
            Flavour::AuroraMySql => "aurora",
        }
    }

    /// True when the flavour has GTIDs rwsplit can wait for.
    pub fn has_gtid(self) -> bool {
        matches!(self, Flavour::MariaDb | Flavour::MySql)
    }
}

/// One backend as the router sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub id: BackendId,
    /// `host:port`.
    pub addr: String,
    pub role: Role,
    /// Reachable (last check or connection attempt succeeded).
    pub up: bool,
    /// May serve reads now: up, a reader, not draining, lag within bounds.
    pub eligible: bool,
    /// Relative share of reads (round robin weight).
    pub weight: u32,
    /// Replication lag in milliseconds, when known.
    pub lag_ms: Option<u64>,
    /// `@@read_only` (or `@@innodb_read_only` on Aurora), when known.
    pub read_only: Option<bool>,
    /// The position this backend has applied, as of the last check.
    pub position: Option<Arc<Position>>,
    /// A replica's received position joined with its applied one (what it will have
    /// applied once its relay log is), as of the last check; `None` when not known.
    pub received: Option<Arc<Position>>,
    /// When the last successful check of this backend began (µs, Unix time; 0: none).
    pub checked_us: u64,
    pub flavour: Flavour,
    /// `@@global.wait_timeout` and `@@global.interactive_timeout` in seconds, when known:
    /// what a new connection's `wait_timeout` starts at (non-interactive, interactive).
    pub idle_timeouts: Option<(u64, u64)>,
    /// Aurora only: whether this instance forwards writes with a read consistency level
    /// (`@@global.aurora_replica_read_consistency` exists and is set), which `cluster`
    /// consistency needs. `None`: not Aurora, or not known yet.
    pub write_forwarding: Option<bool>,
}

/// All backends, and which one is the writer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    pub writer: Option<BackendId>,
    pub backends: Vec<Backend>,
}

impl Backend {
    /// A backend with nothing known about it yet but its role.
    pub fn new(id: BackendId, addr: impl Into<String>, role: Role) -> Backend {
        Backend {
            id,
            addr: addr.into(),
            role,
            up: true,
            eligible: role == Role::Reader,
            weight: 1,
            lag_ms: None,
            read_only: None,
            position: None,
            received: None,
            checked_us: 0,
            flavour: Flavour::Unknown,
            idle_timeouts: None,
            write_forwarding: None,
        }
    }
}

impl Topology {
    pub fn get(&self, id: BackendId) -> Option<&Backend> {
        self.backends.iter().find(|b| b.id == id)
    }

    /// Readers that may serve a read now.
    pub fn eligible_readers(&self) -> impl Iterator<Item = &Backend> {
        self.backends
            .iter()
            .filter(|b| b.role == Role::Reader && b.eligible && b.weight > 0)
    }

    /// The writer's flavour (or any known one).
    pub fn flavour(&self) -> Flavour {
        self.writer
            .and_then(|w| self.get(w))
            .map(|b| b.flavour)
            .filter(|f| *f != Flavour::Unknown)
            .or_else(|| {
                self.backends
                    .iter()
                    .map(|b| b.flavour)
                    .find(|f| *f != Flavour::Unknown)
            })
            .unwrap_or_default()
    }

    /// What the replicas that are up have received or applied between them, as the
    /// monitor last saw (the union of their positions, the received ones where known);
    /// `None` when it knows none. With the writer gone, what it acknowledged is at best
    /// here (semi-synchronous replication: received by at least one replica before the
    /// client was answered), once every replica was checked after that answer
    /// ([`Topology::replicas_checked_since`]).
    pub fn replicas_position(&self) -> Option<Position> {
        let mut known = self
            .backends
            .iter()
            .filter(|b| b.role == Role::Reader && b.up)
            .filter_map(|b| b.received.as_deref().or(b.position.as_deref()));
        let first = known.next()?.clone();
        known.try_fold(first, |acc, p| acc.union(p))
    }

    /// True when every replica that is up was last checked at or after `since_us` (µs,
    /// Unix time), so [`Topology::replicas_position`] includes what any of them had
    /// received by then.
    pub fn replicas_checked_since(&self, since_us: u64) -> bool {
        self.backends
            .iter()
            .filter(|b| b.role == Role::Reader && b.up)
            .all(|b| b.checked_us >= since_us)
    }

    pub fn writer_addr(&self) -> Option<&str> {
        self.writer
            .and_then(|w| self.get(w))
            .map(|b| b.addr.as_str())
    }

    pub fn has_eligible_reader(&self) -> bool {
        self.eligible_readers().next().is_some()
    }

    /// True when `id` may still serve reads (for a read-only transaction in progress,
    /// eligibility does not matter: only that it is there).
    pub fn is_reader(&self, id: BackendId) -> bool {
        self.get(id).is_some_and(|b| b.role == Role::Reader)
    }
}
