//! Read-your-writes: before a reader serves a read, make sure it has applied the writes
//! the read must see (this session's, or every session's in global mode).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::conns::ctx;
use super::positions::{covered, overlap, FetchFailure, Fetched, WriterPosition};
use super::Session;
use crate::backend::{BackendConn, BackendError};
use crate::config::Consistency;
use crate::route::{BackendId, Flavour, Position, Served, Topology};

/// Whether a reader may serve the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It has what the read must see.
    Reader,
    /// It does not (in time): try another reader, then the writer.
    Other,
}

/// What [`Session::consistent`] must do for one read.
enum Check {
    /// Nothing: the reader may serve it.
    Fresh,
    /// Cluster mode: the reader must hold what overlaps the read.
    Cluster,
    /// The reader must have applied the writes of `epoch` of `mode` (the last at
    /// `write_us`).
    Epoch {
        mode: Consistency,
        epoch: u64,
        write_us: u64,
    },
}

fn outcome(label: &'static str) {
    metrics::counter!("rwsplit_consistency_waits_total", "outcome" => label).increment(1);
}

impl Session {
    /// Decides whether reader `id` is fresh enough; waits for it when needed.
    pub(super) async fn consistent(&mut self, id: BackendId, topo: &Topology) -> Verdict {
        // Boxed: what may follow (a position from the writer, a wait on the reader, each
        // perhaps opening a connection) makes a large future, and held inline it would
        // make every command's future as large; most reads never get past the check.
        match self.to_check(id) {
            Check::Fresh => Verdict::Reader,
            Check::Cluster => Box::pin(self.cluster_consistent(id, topo)).await,
            Check::Epoch {
                mode,
                epoch,
                write_us,
            } => Box::pin(self.make_consistent(id, topo, mode, epoch, write_us)).await,
        }
    }

    /// What must be checked before reader `id` serves the read: nothing in `eventual`
    /// mode, with no write to see yet, or with the reader already seen to have the
    /// newest; else the writes of `epoch` (the last at `write_us`), or cluster mode's
    /// overlap.
    fn to_check(&self, id: BackendId) -> Check {
        let mode = self.live.config.routing.consistency;
        let (epoch, write_us) = match mode {
            Consistency::Eventual => return Check::Fresh,
            Consistency::Cluster => return Check::Cluster,
            Consistency::Session => (self.writes.seq, self.writes.last_us),
            Consistency::Global => (
                self.shared.epochs.current(),
                self.shared.epochs.last_write_us(),
            ),
        };
        if epoch == 0 || self.verified_epoch(mode, id) >= epoch {
            return Check::Fresh;
        }
        Check::Epoch {
            mode,
            epoch,
            write_us,
        }
    }

    async fn make_consistent(
        &mut self,
        id: BackendId,
        topo: &Topology,
        mode: Consistency,
        epoch: u64,
        write_us: u64,
    ) -> Verdict {
        let flavour = topo.flavour();
        if !flavour.has_gtid() {
            return self.by_lag(id, topo, write_us);
        }
        let target = match self.target(mode, epoch, flavour).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.set_verified(mode, id, epoch);
                return Verdict::Reader;
            }
            Err(e) if e.is_unreachable() || self.shared.topology.current().writer.is_none() => {
                tracing::debug!(session = self.id, error = %e, "no writer position; the read waits for the replicas' position");
                outcome("writer_unreachable");
                return self.without_writer(id, flavour).await;
            }
            Err(e) => {
                // The writer answered, with an error: no reader is known to be fresh.
                tracing::debug!(session = self.id, error = %e, "no writer position; the read goes to the writer");
                outcome("error");
                return Verdict::Other;
            }
        };
        let verdict = self.wait_for(id, topo, &target, flavour).await;
        if verdict == Verdict::Reader {
            self.set_verified(mode, id, epoch);
        }
        verdict
    }

    /// The writer is gone, or none is known during a failover: no position to ask for.
    /// What it acknowledged is at best on the replicas (semi-synchronous replication puts
    /// it on at least one), so reader `id` serves the read once it has what the replicas
    /// that are up have received or applied between them, as the monitor saw once it had
    /// checked each of them after the writes the read must see ([`Self::replicas_after`];
    /// waited for as a position would be). Reads go on from replicas that have it; a
    /// replica the old writer left behind is passed over rather than serving a read
    /// without a write acknowledged before it.
    async fn without_writer(&mut self, id: BackendId, flavour: Flavour) -> Verdict {
        let Some((topo, target)) = self.replicas_target().await else {
            return Verdict::Other;
        };
        let Some(target) = target else {
            return Verdict::Reader;
        };
        self.wait_for(id, &topo, &target, flavour).await
    }

    /// With no writer: the topology once every replica was checked after the writes the
    /// read must see ([`Self::replicas_after`]), and what they have between them then
    /// (`None`: no position known). `None` (counted as a timeout) when the checks take
    /// too long.
    async fn replicas_target(&self) -> Option<(Arc<Topology>, Option<Known>)> {
        let Some(topo) = self.replicas_after().await else {
            outcome("timeout");
            return None;
        };
        let target = topo.replicas_position().map(|p| {
            let text = p.to_text();
            Arc::new((p, text))
        });
        Some((topo, target))
    }

    /// The topology once the monitor has checked every replica that is up after the
    /// newest write the read must see was acknowledged: the session's (session mode),
    /// any through this rwsplit (global), any at all before the read arrived (cluster:
    /// now). A replica's positions as checked then include that write if it had received
    /// it. `None` when that takes longer than `routing.consistency_timeout_ms` and one
    /// monitor round (`monitor.interval_ms` + `monitor.timeout_ms`).
    async fn replicas_after(&self) -> Option<Arc<Topology>> {
        let config = &self.live.config;
        let since = match config.routing.consistency {
            Consistency::Session => self.writes.last_us,
            Consistency::Global => self.shared.epochs.last_write_us(),
            _ => crate::clock::now_us(),
        };
        let round = config.monitor.interval_ms + config.monitor.timeout_ms;
        let bound = Duration::from_millis(config.routing.consistency_timeout_ms.max(round));
        let mut rx = self.shared.topology.subscribe();
        let checked = async {
            rx.wait_for(|t| t.replicas_checked_since(since))
                .await
                .map(|t| t.clone())
        };
        tokio::time::timeout(bound, checked).await.ok()?.ok()
    }

    /// Without GTIDs (Aurora): only a reader whose lag is shorter than the time since the
    /// write.
    fn by_lag(&self, id: BackendId, topo: &Topology, write_us: u64) -> Verdict {
        let since_ms = crate::clock::now_us().saturating_sub(write_us) / 1000;
        let lag = topo.get(id).and_then(|b| b.lag_ms);
        match lag {
            Some(l) if l + self.live.config.routing.consistency_margin_ms < since_ms => {
                outcome("lag_ok");
                Verdict::Reader
            }
            _ => {
                outcome("lag_too_high");
                Verdict::Other
            }
        }
    }

    /// Whether reader `id` has applied `target`: known from the monitor's last look, else
    /// waited for there (up to `routing.consistency_timeout_ms`) unless it lags more.
    pub(super) async fn wait_for(
        &mut self,
        id: BackendId,
        topo: &Topology,
        target: &(Position, String),
        flavour: Flavour,
    ) -> Verdict {
        let backend = topo.get(id);
        if backend
            .and_then(|b| b.position.as_ref())
            .is_some_and(|p| p.includes(&target.0))
        {
            outcome("already");
            return Verdict::Reader;
        }
        let limit_ms = self.live.config.routing.consistency_timeout_ms;
        // A reader lagging more than we would wait is not worth waiting for.
        if backend.and_then(|b| b.lag_ms).is_some_and(|l| l > limit_ms) {
            outcome("skipped_lagging");
            return Verdict::Other;
        }
        let timeout = limit_ms as f64 / 1000.0;
        let sql = match flavour {
            Flavour::MySql => format!(
                "SELECT WAIT_FOR_EXECUTED_GTID_SET('{}', {timeout})",
                target.1
            ),
            _ => format!("SELECT MASTER_GTID_WAIT('{}', {timeout})", target.1),
        };
        let started = Instant::now();
        let result = match self.conns.reader(id, topo, &ctx!(self)).await {
            Ok(c) => c.query_scalar(&sql).await,
            Err(e) => Err(e),
        };
        metrics::histogram!("rwsplit_consistency_wait_seconds")
            .record(started.elapsed().as_secs_f64());
        match result.as_ref().map(|v| v.as_deref()) {
            Ok(Some("0")) => {
                outcome("waited");
                Verdict::Reader
            }
            Ok(_) => {
                outcome("timeout");
                Verdict::Other
            }
            Err(e) => {
                tracing::debug!(session = self.id, backend = %id, error = %e, "consistency wait failed");
                self.conns.drop(Served::Reader(id));
                outcome("error");
                Verdict::Other
            }
        }
    }

    /// The session's connection to the topology's writer, for a read-your-writes position
    /// (outside any transaction): a connection to a backend that is no longer the writer
    /// is closed first, and one is opened when there is none.
    async fn current_writer(&mut self) -> Result<&mut BackendConn, BackendError> {
        let topo = self.shared.topology.current();
        if !self.state.in_transaction_scope() {
            self.conns.drop_stale_writer(&topo).await;
        }
        self.conns.writer(&topo, &ctx!(self)).await
    }

    fn verified_epoch(&self, mode: Consistency, id: BackendId) -> u64 {
        match mode {
            Consistency::Global => self.shared.epochs.reader(id),
            _ => self.writes.verified.get(&id).copied().unwrap_or(0),
        }
    }

    fn set_verified(&mut self, mode: Consistency, id: BackendId, epoch: u64) {
        match mode {
            Consistency::Global => self.shared.epochs.set_reader(id, epoch),
            _ => {
                let e = self.writes.verified.entry(id).or_insert(0);
                *e = (*e).max(epoch);
            }
        }
    }

    /// The writer position the read must see: the writer's position read after the
    /// session's last write (session mode) or at or after `epoch` (global mode).
    async fn target(
        &mut self,
        mode: Consistency,
        epoch: u64,
        flavour: Flavour,
    ) -> Result<Option<Arc<(Position, String)>>, BackendError> {
        if mode == Consistency::Global {
            if let Some(p) = self.shared.epochs.position_for(epoch) {
                return Ok(Some(p));
            }
        } else if let Some((e, p)) = &self.writes.target {
            if *e >= epoch {
                return Ok(Some(p.clone()));
            }
        }
        let observed = self.shared.epochs.current();
        // Session mode asks for the writer's whole position too, not `@@last_gtid`: with
        // transaction pooling the connection that committed the session's write may have
        // gone back to the pool, and the one borrowed now holds another session's last
        // GTID, which may be older. The writer's position, read after the write was
        // acknowledged, includes it (and perhaps others' writes, so a read may wait a
        // little longer).
        let Some(target) = self.writer_position(flavour).await? else {
            return Ok(None);
        };
        match mode {
            Consistency::Global => self.shared.epochs.set_position(observed, target.clone()),
            _ => self.writes.target = Some((epoch, target.clone())),
        }
        Ok(Some(target))
    }

    /// The topology's writer's GTID position (`@@gtid_binlog_pos` on MariaDB,
    /// `@@gtid_executed` on MySQL), parsed; `None` when it has none.
    async fn writer_position(&mut self, flavour: Flavour) -> Result<WriterPosition, BackendError> {
        let sql = match flavour {
            Flavour::MariaDb => "SELECT @@gtid_binlog_pos",
            _ => "SELECT @@gtid_executed",
        };
        // Always the topology's writer now: after a failover, a connection to the old
        // writer (dead, or demoted) knows nothing of the writes acknowledged since.
        let w = self.current_writer().await?;
        let text = match w.query_scalar(sql).await {
            Ok(t) => t.unwrap_or_default(),
            Err(e) => {
                if e.is_unreachable() {
                    // Broken: the next read connects anew rather than asking it again.
                    self.conns.drop(Served::Writer);
                }
                return Err(e);
            }
        };
        let parsed = match flavour {
            Flavour::MariaDb => Position::parse_mariadb(&text),
            _ => Position::parse_mysql(&text),
        };
        Ok(parsed
            .filter(|_| !text.is_empty())
            .map(|pos| Arc::new((pos, text))))
    }

    /// `cluster` mode: reader `id` serves the read only once it has applied the writer's
    /// position as of the read's arrival (fetched by one query for every read that
    /// arrived before it was sent). Aurora waits inside the reader instead (its
    /// connections run with `aurora_replica_read_consistency = 'GLOBAL'`).
    async fn cluster_consistent(&mut self, id: BackendId, topo: &Topology) -> Verdict {
        let flavour = topo.flavour();
        if !flavour.has_gtid() {
            return Verdict::Reader;
        }
        let limit_ms = self.live.config.routing.consistency_timeout_ms;
        if topo
            .get(id)
            .and_then(|b| b.lag_ms)
            .is_some_and(|l| l > limit_ms)
        {
            // Lagging more than a read would wait: not worth a position.
            outcome("skipped_lagging");
            return Verdict::Other;
        }
        let shared = self.shared.clone();
        let target = match self.cluster_position(flavour).await {
            Ok(Some(t)) => t,
            Ok(None) => return Verdict::Reader,
            Err(e) if e.unreachable || shared.topology.current().writer.is_none() => {
                tracing::debug!(session = self.id, error = %e, "no writer position; the read waits for the replicas' position");
                outcome("writer_unreachable");
                return self.without_writer(id, flavour).await;
            }
            Err(e) => {
                tracing::debug!(session = self.id, error = %e, "no writer position; the read goes to the writer");
                outcome("error");
                return Verdict::Other;
            }
        };
        if shared.positions.verified(id, &target.0) {
            outcome("already");
            return Verdict::Reader;
        }
        let verdict = self.wait_for(id, topo, &target, flavour).await;
        if verdict == Verdict::Reader {
            shared.positions.set_verified(id, target);
        }
        verdict
    }

    /// `cluster` mode: the writer's position for the current read, fetched once per read
    /// (shared with the reads that arrived before the fetch was sent), whichever readers
    /// it tries.
    async fn cluster_position(&mut self, flavour: Flavour) -> Fetched {
        if let Some(known) = self.read_position.clone() {
            return known;
        }
        let shared = self.shared.clone();
        let fetch = async {
            self.writer_position(flavour)
                .await
                .map_err(|e| FetchFailure {
                    unreachable: e.is_unreachable(),
                    message: e.to_string(),
                })
        };
        let fetched = shared.positions.position(fetch).await;
        self.read_position = Some(fetched.clone());
        fetched
    }

    /// `cluster` mode: what reader `id` is known to have applied, when the read may be
    /// sent to it at once and its position fetched while it runs ([`overlap`]): a text
    /// query outside any transaction (sent again if its answer must be dropped), the
    /// first reader the read tries.
    pub(super) fn overlap_for(&self, id: BackendId, topo: &Topology) -> Option<Known> {
        if self.live.config.routing.consistency != Consistency::Cluster
            || !topo.flavour().has_gtid()
            || self.read_position.is_some()
            || self.state.in_transaction_scope()
        {
            return None;
        }
        let positions = &self.shared.positions;
        let known = positions.known(id)?;
        let latest = positions.latest();
        overlap(latest.as_ref().map(|l| &l.0), Some(&known.0)).then_some(known)
    }

    /// `cluster` mode, after a read was sent to reader `id` ahead of its position, which
    /// the reader had applied `known` of before: whether its answer may be relayed.
    pub(super) async fn overlapped(&mut self, topo: &Topology, known: &Known) -> Overlap {
        let fetched = match self.cluster_position(topo.flavour()).await {
            Ok(f) => f,
            Err(e) if e.unreachable || self.shared.topology.current().writer.is_none() => {
                // As in `without_writer`: the read must see what the replicas that are up
                // have received or applied between them. The answer sent ahead stands only when the
                // reader had that already.
                tracing::debug!(session = self.id, error = %e, "no writer position; the read must see the replicas' position");
                outcome("writer_unreachable");
                return match self.replicas_target().await {
                    None => Overlap::Stale,
                    Some((_, Some(target))) if !covered(&known.0, Some(&target.0)) => {
                        outcome("overlap_missed");
                        Overlap::Missed(target)
                    }
                    Some(_) => Overlap::Covered,
                };
            }
            Err(e) => {
                tracing::debug!(session = self.id, error = %e, "no writer position; the read goes to the writer");
                outcome("error");
                return Overlap::Stale;
            }
        };
        if covered(&known.0, fetched.as_ref().map(|f| &f.0)) {
            outcome("overlapped");
            return Overlap::Covered;
        }
        outcome("overlap_missed");
        match fetched {
            Some(target) => Overlap::Missed(target),
            None => Overlap::Covered,
        }
    }
}

/// What a reader was seen to have applied (a position and its text).
pub(super) type Known = Arc<(Position, String)>;

/// Whether a read sent ahead of its position may be answered from that reader.
pub(super) enum Overlap {
    /// The reader had what the read must see: its answer is relayed.
    Covered,
    /// It may not have had it: the answer is dropped, the reader waited for this
    /// position, and the read sent again.
    Missed(Known),
    /// No position could be had: the read goes elsewhere (its answer dropped).
    Stale,
}
