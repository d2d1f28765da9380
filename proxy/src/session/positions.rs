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

/// The scheduling turns a fetch lets pass, for more reads to arrive, before it is sent.
const GATHER_TURNS: usize = 4;

/// The shared fetches of one rwsplit, and the newest position each reader was seen to
/// have applied.
#[derive(Default)]
pub struct ClusterPositions {
    batch: Mutex<Fetches>,
    /// Woken, all at once, when a fetch completes (or its read gave up).
    done: tokio::sync::Notify,
    verified: Mutex<HashMap<BackendId, Arc<(Position, String)>>>,
    /// Handles on the two counters, resolved on first use (after the recorder is set).
    counters: std::sync::OnceLock<(metrics::Counter, metrics::Counter)>,
}

/// The batch, and whether a fetch is in flight (at most one is).
#[derive(Default)]
struct Fetches {
    batch: Batch<Fetched>,
    in_flight: bool,
}

/// Marks the fetch in flight as over when dropped (completed, or its read went away), and
/// wakes the reads waiting for it.
struct InFlight<'a>(&'a ClusterPositions);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.batch().in_flight = false;
        self.0.done.notify_waiters();
    }
}

impl ClusterPositions {
    fn batch(&self) -> std::sync::MutexGuard<'_, Fetches> {
        self.batch.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn counters(&self) -> &(metrics::Counter, metrics::Counter) {
        self.counters.get_or_init(|| {
            (
                metrics::counter!("rwsplit_cluster_position_reads_total"),
                metrics::counter!("rwsplit_cluster_position_fetches_total"),
            )
        })
    }

    /// The writer's position for a read arriving now: from a fetch another read sent after
    /// this one arrived, or from `fetch`, sent by this read when no fetch is in flight and
    /// none sent since it arrived has answered it. `fetch` is not polled otherwise.
    pub async fn position(&self, fetch: impl Future<Output = Fetched>) -> Fetched {
        let ticket = self.batch().batch.arrive();
        self.counters().0.increment(1);
        let guard = loop {
            // Registered before the check, so a completion between the two still wakes it.
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut f = self.batch();
                if let Some(answer) = f.batch.answer(ticket) {
                    return answer;
                }
                if !f.in_flight {
                    f.in_flight = true;
                    break InFlight(self);
                }
            }
            notified.await;
        };
        // Let the reads that are ready to run arrive first, so the fetch answers them too:
        // a few scheduling turns, not a wait (each turn runs the tasks that are ready and
        // polls the sockets). Each fetch is a query on the writer; measured here on point
        // selects at 8 clients, 4 turns took 4.0 reads per fetch where 1 turn took 2.9
        // (5 and 8 turns: 4.2 and 4.3), for 5% more reads per second.
        for _ in 0..GATHER_TURNS {
            tokio::task::yield_now().await;
        }
        let covers = self.batch().batch.begin();
        self.counters().1.increment(1);
        let found = fetch.await;
        self.batch().batch.complete(covers, found.clone());
        drop(guard);
        found
    }

    /// The position the newest completed fetch found, if it found one.
    pub fn latest(&self) -> Option<Arc<(Position, String)>> {
        match &self.batch().batch.latest {
            Some((_, Ok(Some(p)))) => Some(p.clone()),
            _ => None,
        }
    }

    /// The newest position reader `id` was seen to have applied.
    pub fn known(&self, id: BackendId) -> Option<Arc<(Position, String)>> {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
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

/// Whether a read may be sent to a reader before its position is fetched (overlapped
/// with the fetch): when the reader was seen to have applied (`known`) the newest position
/// any fetch found (`latest`), the writer has most likely not moved since, so the fetch
/// will most likely find nothing the reader lacks. The read's answer is relayed only if
/// `known` includes what the fetch then finds ([`covered`]); else it is dropped and the
/// read sent again once the reader has that position. A guess about cost only: the check
/// after the fetch is what keeps reads correct.
pub fn overlap(latest: Option<&Position>, known: Option<&Position>) -> bool {
    matches!((latest, known), (Some(l), Some(k)) if k.includes(l))
}

/// Whether a read sent to a reader that had applied `known` before the read was sent
/// sees every write in `fetched`, the writer's position fetched after the read arrived
/// (`None`: the writer has no position, so there is nothing to miss).
pub fn covered(known: &Position, fetched: Option<&Position>) -> bool {
    fetched.is_none_or(|f| known.includes(f))
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
