//! Read-your-writes: before a reader serves a read, make sure it has applied the writes
//! the read must see (this session's, or every session's in global mode).

use std::sync::Arc;
use std::time::Instant;

use crate::backend::{BackendError, BackendStream, Downstream};
use crate::config::Consistency;
use crate::route::{BackendId, Flavour, Position, Topology};
use crate::shared::{EpochPosition, Shared};

use super::ClientConn;

use super::Session;

/// Whether a reader may serve the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It has what the read must see.
    Reader,
    /// It does not (in time): try another reader, then the writer.
    Other,
}

/// The client, while it receives an answer from the writer. For a statement that may
/// write (`writes`), the global write epoch (consistency = "global") moves before the
/// client sees the end of the answer, so a read the client sends next, on any connection,
/// already knows it must see this write.
pub struct NotingWrites<'a> {
    pub client: &'a mut ClientConn,
    pub shared: &'a Shared,
    pub writes: bool,
}

impl Downstream for NotingWrites<'_> {
    async fn forward(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.client.forward(bytes).await
    }

    async fn infile_to(&mut self, sink: &mut BackendStream) -> std::io::Result<()> {
        self.client.infile_to(sink).await
    }

    fn before_end(&mut self) {
        if self.writes {
            self.shared.note_write();
        }
    }
}

fn outcome(label: &'static str) {
    metrics::counter!("rwsplit_consistency_waits_total", "outcome" => label).increment(1);
}

impl Session {
    /// Decides whether reader `id` is fresh enough; waits for it when needed.
    pub(super) async fn consistent(&mut self, id: BackendId, topo: &Topology) -> Verdict {
        let mode = self.config.routing.consistency;
        let (epoch, write_us) = match mode {
            Consistency::Eventual => return Verdict::Reader,
            Consistency::Session => (self.writes.seq, self.writes.last_us),
            Consistency::Global => (
                self.shared
                    .write_epoch
                    .load(std::sync::atomic::Ordering::Acquire),
                self.shared
                    .last_write_us
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
        };
        if epoch == 0 || self.verified_epoch(mode, id) >= epoch {
            return Verdict::Reader;
        }
        let flavour = topo.flavour();
        if !flavour.has_gtid() {
            // Aurora: only a reader whose lag is shorter than the time since the write.
            let since_ms = crate::clock::now_us().saturating_sub(write_us) / 1000;
            let lag = topo.get(id).and_then(|b| b.lag_ms);
            return match lag {
                Some(l) if l + self.config.routing.consistency_margin_ms < since_ms => {
                    outcome("lag_ok");
                    Verdict::Reader
                }
                _ => {
                    outcome("lag_too_high");
                    Verdict::Other
                }
            };
        }
        let target = match self.target(mode, epoch, flavour).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.set_verified(mode, id, epoch);
                return Verdict::Reader;
            }
            Err(e) if e.is_unreachable() || self.shared.topology().writer.is_none() => {
                // The writer is gone (or none is known during a failover): reads go on
                // (they cannot see writes it lost anyway).
                tracing::debug!(session = self.id, error = %e, "no writer position; reading without waiting");
                outcome("writer_unreachable");
                return Verdict::Reader;
            }
            Err(e) => {
                // The writer answered, with an error: no reader is known to be fresh.
                tracing::debug!(session = self.id, error = %e, "no writer position; the read goes to the writer");
                outcome("error");
                return Verdict::Other;
            }
        };
        let backend = topo.get(id);
        if backend
            .and_then(|b| b.position.as_ref())
            .is_some_and(|p| p.includes(&target.0))
        {
            outcome("already");
            self.set_verified(mode, id, epoch);
            return Verdict::Reader;
        }
        // A reader lagging more than we would wait is not worth waiting for.
        if backend
            .and_then(|b| b.lag_ms)
            .is_some_and(|l| l > self.config.routing.consistency_timeout_ms)
        {
            outcome("skipped_lagging");
            return Verdict::Other;
        }
        let timeout = self.config.routing.consistency_timeout_ms as f64 / 1000.0;
        let sql = match flavour {
            Flavour::MySql => format!(
                "SELECT WAIT_FOR_EXECUTED_GTID_SET('{}', {timeout})",
                target.1
            ),
            _ => format!("SELECT MASTER_GTID_WAIT('{}', {timeout})", target.1),
        };
        let started = Instant::now();
        let result = match self.reader_conn(id, topo).await {
            Ok(idx) => self.readers[idx].query_scalar(&sql).await,
            Err(e) => Err(e),
        };
        metrics::histogram!("rwsplit_consistency_wait_seconds")
            .record(started.elapsed().as_secs_f64());
        match result.as_ref().map(|v| v.as_deref()) {
            Ok(Some("0")) => {
                outcome("waited");
                self.set_verified(mode, id, epoch);
                Verdict::Reader
            }
            Ok(_) => {
                outcome("timeout");
                Verdict::Other
            }
            Err(e) => {
                tracing::debug!(session = self.id, backend = %id, error = %e, "consistency wait failed");
                if let Some(i) = self.readers.iter().position(|c| c.id == id) {
                    self.readers.swap_remove(i);
                }
                outcome("error");
                Verdict::Other
            }
        }
    }

    fn verified_epoch(&self, mode: Consistency, id: BackendId) -> u64 {
        match mode {
            Consistency::Global => self.shared.reader_epoch(id),
            _ => self.writes.verified.get(&id).copied().unwrap_or(0),
        }
    }

    fn set_verified(&mut self, mode: Consistency, id: BackendId, epoch: u64) {
        match mode {
            Consistency::Global => self.shared.set_reader_epoch(id, epoch),
            _ => {
                let e = self.writes.verified.entry(id).or_insert(0);
                *e = (*e).max(epoch);
            }
        }
    }

    /// The writer position the read must see: for the session, its own last transaction
    /// (`@@last_gtid` on MariaDB); globally, the writer's position at or after `epoch`.
    async fn target(
        &mut self,
        mode: Consistency,
        epoch: u64,
        flavour: Flavour,
    ) -> Result<Option<Arc<(Position, String)>>, BackendError> {
        if mode == Consistency::Global {
            if let Some(p) = self
                .shared
                .epoch_position
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                if p.epoch >= epoch {
                    return Ok(Some(p.position.clone()));
                }
            }
        } else if let Some((e, p)) = &self.writes.target {
            if *e >= epoch {
                return Ok(Some(p.clone()));
            }
        }
        let observed = self
            .shared
            .write_epoch
            .load(std::sync::atomic::Ordering::Acquire);
        let sql = match (flavour, mode) {
            (Flavour::MariaDb, Consistency::Session) => "SELECT @@last_gtid",
            (Flavour::MariaDb, _) => "SELECT @@gtid_binlog_pos",
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
                    self.writer = None;
                }
                return Err(e);
            }
        };
        let parsed = match flavour {
            Flavour::MariaDb => Position::parse_mariadb(&text),
            _ => Position::parse_mysql(&text),
        };
        let Some(pos) = parsed.filter(|_| !text.is_empty()) else {
            return Ok(None);
        };
        let target = Arc::new((pos, text));
        match mode {
            Consistency::Global => {
                let mut g = self
                    .shared
                    .epoch_position
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if g.as_ref().is_none_or(|p| p.epoch < observed) {
                    *g = Some(EpochPosition {
                        epoch: observed,
                        position: target.clone(),
                    });
                }
            }
            _ => self.writes.target = Some((epoch, target.clone())),
        }
        Ok(Some(target))
    }
}
