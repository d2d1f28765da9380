//! Read-your-writes across the whole cluster (`routing.consistency = "cluster"`): before a
//! reader serves a read, the writer's position is fetched, so the read sees every write
//! acknowledged to any client (through any rwsplit, or none) before it arrived. Fetches are
//! shared: one position query answers every read that arrived before the query was sent;
//! reads that arrive while it is in flight wait for the next one. A read is never given a
//! position fetched before it arrived. On Aurora, which has no GTIDs, reader connections
//! ask Aurora to wait instead ([`reader_setup`]), which needs local write forwarding
//! ([`check_cluster_mode`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::config::Consistency;
use crate::route::{BackendId, Flavour, Position, Role, Topology};

/// The writer's position, as text and parsed (`None`: the writer has none to give).
pub type WriterPosition = Option<Arc<(Position, String)>>;

/// Why a position could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    /// The writer could not be reached (reads go on without waiting, as in the other
    /// modes).
    pub unreachable: bool,
    pub message: String,
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What one fetch found.
pub type Fetched = Result<WriterPosition, FetchFailure>;

/// The bookkeeping of shared fetches, as a pure state machine. Reads take a ticket on
/// arrival; a fetch, just before its query is sent, notes how many tickets were taken
/// (`covers`): it answers exactly the reads whose ticket is below that.
#[derive(Debug, Clone)]
pub struct Batch<T> {
    /// Tickets taken so far (a read's ticket is the count before it).
    arrived: u64,
    /// The newest completed fetch: the tickets it answers (below `.0`) and what it found.
    latest: Option<(u64, T)>,
}

impl<T> Default for Batch<T> {
    fn default() -> Batch<T> {
        Batch {
            arrived: 0,
            latest: None,
        }
    }
}

impl<T: Clone> Batch<T> {
    /// A read arrives: its ticket.
    pub fn arrive(&mut self) -> u64 {
        let t = self.arrived;
        self.arrived += 1;
        t
    }

    /// What answers the read holding `ticket`, if a fetch sent after it arrived completed.
    pub fn answer(&self, ticket: u64) -> Option<T> {
        match &self.latest {
            Some((covers, v)) if ticket < *covers => Some(v.clone()),
            _ => None,
        }
    }

    /// A fetch is about to be sent: it will answer every read arrived so far. Returns
    /// what to pass to [`Batch::complete`].
    pub fn begin(&self) -> u64 {
        self.arrived
    }

    /// The fetch begun at `covers` found `value`.
    pub fn complete(&mut self, covers: u64, value: T) {
        if self.latest.as_ref().is_none_or(|(c, _)| *c < covers) {
            self.latest = Some((covers, value));
        }
    }
}

/// The shared fetches of one rwsplit, and the newest position each reader was seen to
/// have applied.
#[derive(Default)]
pub struct ClusterPositions {
    batch: Mutex<Batch<Fetched>>,
    /// One fetch at a time; waiters queue in order (tokio's mutex is fair).
    turn: tokio::sync::Mutex<()>,
    verified: Mutex<HashMap<BackendId, Arc<(Position, String)>>>,
}

impl ClusterPositions {
    fn batch(&self) -> std::sync::MutexGuard<'_, Batch<Fetched>> {
        self.batch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The writer's position for a read arriving now: from a fetch another read already
    /// sent after this one arrived, or from `fetch` (sent only when this read's turn
    /// comes and no such fetch answered it). `fetch` is not polled otherwise.
    pub async fn position(&self, fetch: impl Future<Output = Fetched>) -> Fetched {
        let ticket = self.batch().arrive();
        metrics::counter!("rwsplit_cluster_position_reads_total").increment(1);
        let _turn = self.turn.lock().await;
        if let Some(answer) = self.batch().answer(ticket) {
            return answer;
        }
        // Let the reads that are ready to run on this thread arrive first: the fetch then
        // answers them too (a scheduling turn, not a wait).
        tokio::task::yield_now().await;
        let covers = self.batch().begin();
        metrics::counter!("rwsplit_cluster_position_fetches_total").increment(1);
        let found = fetch.await;
        self.batch().complete(covers, found.clone());
        found
    }

    /// True when reader `id` was seen to have applied `target` or later.
    pub fn verified(&self, id: BackendId, target: &Position) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .is_some_and(|p| p.0.includes(target))
    }

    /// Reader `id` was seen to have applied `position`.
    pub fn set_verified(&self, id: BackendId, position: Arc<(Position, String)>) {
        let mut m = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        let newer = m.get(&id).is_none_or(|old| position.0.includes(&old.0));
        if newer {
            m.insert(id, position);
        }
    }
}

/// What a new reader connection runs first: on Aurora in `cluster` mode, the read
/// consistency level that makes each of its reads wait, inside Aurora, for every change
/// committed on the cluster before the read started (it needs local write forwarding).
pub fn reader_setup(consistency: Consistency, flavour: Flavour) -> Option<&'static str> {
    (consistency == Consistency::Cluster && flavour == Flavour::AuroraMySql)
        .then_some("SET SESSION aurora_replica_read_consistency = 'GLOBAL'")
}

/// Whether `consistency` can be kept over `topology`: `cluster` on Aurora needs every
/// reader to forward writes with a read consistency level (without it Aurora has no
/// position to wait for). `Err` names the choices.
pub fn check_cluster_mode(consistency: Consistency, topology: &Topology) -> Result<(), String> {
    if consistency != Consistency::Cluster || topology.flavour() != Flavour::AuroraMySql {
        return Ok(());
    }
    let without: Vec<&str> = topology
        .backends
        .iter()
        .filter(|b| b.role == Role::Reader && b.up && b.write_forwarding != Some(true))
        .map(|b| b.addr.as_str())
        .collect();
    if without.is_empty() {
        return Ok(());
    }
    Err(format!(
        "routing.consistency = \"cluster\" on Aurora needs local write forwarding, and these \
         readers do not forward writes with a read consistency level \
         (@@global.aurora_replica_read_consistency is unset): {}. Either enable local write \
         forwarding on the cluster and set aurora_replica_read_consistency in its parameter \
         group, or keep each user on one app instance (load-balancer stickiness) and use \
         routing.consistency = \"global\"",
        without.join(", ")
    ))
}
