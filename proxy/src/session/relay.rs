//! Running one command on the writer or on a reader, and relaying its answer; a reader
//! that fails before the client saw anything is reported for a retry elsewhere.

use std::sync::Arc;
use std::time::Instant;

use super::conns::{self, ctx};
use super::consistency::{Known, Overlap, Verdict};
use super::failover::{Cause, Hold, WriterAnswer};
use super::replay::ReplayFailure;
use super::verify::Marker;
use super::{prepared, writer_addr, Failure, Message, Session, SessionError};
use crate::backend::{relay_bounded, BackendConn, BackendError, Discard, Downstream, RelayError};
use crate::protocol::err::err_code;
use crate::protocol::response::{Expect, Summary};
use crate::protocol::SqlError;
use crate::route::{recover, replay_wanted, Effect, OutcomeCheck, Recovery, Situation};
use crate::route::{status, BackendId, Served, Topology};
use crate::route::{Verify, WriterFailure};

impl Session {
    /// Runs a command on the writer whatever the router would say (prepared statements
    /// and commands bound to the writer's connection).
    pub(super) async fn on_writer(
        &mut self,
        msg: &Message,
        expect: Expect,
    ) -> Result<Option<Summary>, SessionError> {
        let topo = self.shared.topology.current();
        match self
            .run_on_writer(msg, None, expect, &topo, OnWriter::command())
            .await
        {
            Ok(s) => {
                self.state.after_writer_command(s.status);
                Ok(Some(s))
            }
            Err(Failure::Told) | Err(Failure::Retry(_)) | Err(Failure::Stale(_)) => Ok(None),
            Err(Failure::Fatal(e)) => Err(e),
        }
    }

    /// Runs the command on the writer. When the writer is missing, read-only or lost,
    /// `route::recover` decides from what the command is (`job`) whether it waits for a
    /// writer and is sent again (within `failover.hold_ms`), its transaction replayed,
    /// its marker looked for, or the client hears what happened.
    pub(super) async fn run_on_writer(
        &mut self,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        topo: &Topology,
        job: OnWriter,
    ) -> Result<Summary, Failure> {
        let seq = msg.reply_seq();
        let mut hold = Hold::new(self.live.config.failover.hold_ms);
        let mut later: Option<Arc<Topology>> = None;
        // The open transaction must be replayed on the writer before the command.
        let mut replay = false;
        // A lost COMMIT's (or autocommit write's) marker to look for before anything.
        let mut pending: Option<Marker> = None;
        loop {
            let topo = later.as_deref().unwrap_or(topo);
            let tried = match pending.take() {
                None => {
                    self.attempt_on_writer(msg, call, expect, topo, job, replay)
                        .await
                }
                // Boxed, like every step of a failover below: rare, and large.
                Some(marker) => Box::pin(self.look_for_marker(topo, marker, seq)).await,
            };
            let (failure, refusing, mut lost) = match tried {
                Ok(s) => {
                    hold.end("resumed");
                    return Ok(s);
                }
                Err(Attempt::Done(f)) => {
                    hold.end("failed");
                    return Err(f);
                }
                Err(Attempt::RolledBack) => {
                    // The marker is not there: the transaction was rolled back; it is
                    // replayed (inside one) or the write sent again.
                    replay = self.state.transaction_begun();
                    continue;
                }
                Err(Attempt::Failed {
                    failure,
                    refusing,
                    lost,
                }) => (failure, refusing, lost),
            };
            let check = match (&lost.marker, job.verify) {
                (Some(_), _) => OutcomeCheck::Marker,
                (None, Verify::CommitNothing) => OutcomeCheck::Nothing,
                _ => OutcomeCheck::None,
            };
            let mut situation = Situation {
                failure,
                effect: job.effect,
                in_transaction: self.state.transaction_begun(),
                may_hold: hold.may_hold(),
                replayable: self.unreplayable().is_none(),
                check,
            };
            let mut decision = recover(situation);
            if decision == Recovery::CommitNothing {
                hold.end("resumed");
                return Box::pin(self.answer_committed(None, seq)).await;
            }
            if matches!(
                decision,
                Recovery::Hold | Recovery::Replay | Recovery::Verify
            ) {
                let cause = match (decision, failure) {
                    (Recovery::Replay, _) => Cause::Replay,
                    (Recovery::Verify, _) => Cause::Verify,
                    (_, WriterFailure::ReadOnly) => Cause::ReadOnly,
                    (_, WriterFailure::Lost | WriterFailure::LostMidAnswer) => Cause::LostRead,
                    (_, WriterFailure::NoWriter) => Cause::NoWriter,
                };
                if decision == Recovery::Replay {
                    // Closing the connection rolls the transaction back where it still
                    // is open (a writer that refused a statement as read-only).
                    self.conns.drop(Served::Writer);
                    replay = true;
                }
                if decision == Recovery::Verify {
                    pending = lost.marker.take();
                }
                if Box::pin(self.wait_for_writer(&mut hold, cause, refusing)).await {
                    later = Some(self.shared.topology.current());
                    continue;
                }
                if self.registration.info.is_killed() {
                    hold.end("killed");
                    if replay || decision == Recovery::Verify {
                        self.lose_transaction();
                    }
                    return Err(self.told(&SqlError::connection_killed(), seq).await);
                }
                situation.may_hold = false;
                if decision == Recovery::Replay {
                    // The connection was closed above: the transaction is gone wherever
                    // it was (rolled back), whatever the failure was.
                    situation.failure = WriterFailure::NoWriter;
                }
                decision = recover(situation);
            }
            // A hold used up, or a failure after a writer came.
            hold.end(if situation.may_hold {
                "failed"
            } else {
                "timed_out"
            });
            if replay_wanted(situation) {
                let outcome = self.unreplayable().map_or("timed_out", |u| u.label());
                metrics::counter!("rwsplit_replays_total", "outcome" => outcome).increment(1);
            }
            if check == OutcomeCheck::Marker {
                metrics::counter!("rwsplit_commit_verifications_total", "outcome" => "unknown")
                    .increment(1);
            }
            return Err(Box::pin(self.writer_failed(decision, situation, lost, &hold, seq)).await);
        }
    }

    /// One try of a command on the writer: the answer, or how it failed (the client
    /// has heard nothing of a failure the failover rules handle).
    async fn attempt_on_writer(
        &mut self,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        topo: &Topology,
        job: OnWriter,
        replay: bool,
    ) -> Result<Summary, Attempt> {
        let seq = msg.reply_seq();
        let addr = writer_addr(topo);
        self.writer_ready(topo, &addr, seq).await?;
        self.autocommit_off(&addr).await?;
        if replay {
            Box::pin(self.replayed(&addr, seq)).await?;
        }
        let marker = match job.verify {
            // Boxed (`failover.verify_commits` only): large.
            Verify::Autocommit => {
                return Box::pin(self.wrapped_write(msg, call, expect, seq)).await;
            }
            Verify::Commit => Box::pin(self.send_with_marker(msg)).await?,
            Verify::None | Verify::CommitNothing => {
                let Some(w) = self.conns.open_writer() else {
                    return Err(Attempt::no_writer(&addr, BackendError::NoWriter));
                };
                match send(w, &self.prepared, call, &msg.raw).await {
                    Ok(()) => None,
                    Err(Sent::Refused(e)) => {
                        // The statement cannot be prepared on the writer: the client
                        // hears why.
                        return Err(Attempt::Done(self.told(&e.to_sql(&addr), seq).await));
                    }
                    Err(Sent::Lost(e)) => {
                        return Err(self.writer_lost(e, WriterFailure::Lost, None));
                    }
                }
            }
        };
        let digest = self.digests_answers() && job.record;
        self.writer_answer(expect, job.writes, digest, marker).await
    }

    /// The session's writer connection, opened and brought to its state, unless the
    /// writer is missing, moved while a transaction was open on it, or unreachable.
    async fn writer_ready(&mut self, topo: &Topology, addr: &str, seq: u8) -> Result<(), Attempt> {
        if self.conns.drop_stale_writer(topo).await && self.state.transaction_begun() {
            // The writer moved: the open transaction stayed on the old one (closing the
            // connection rolled it back there).
            return Err(Attempt::no_writer(addr, BackendError::WriterMoved));
        }
        if self
            .conns
            .open_writer()
            .is_some_and(|w| w.gone_while_idle())
        {
            // Its server closed it while the session held it (it died): a statement sent
            // there would be lost. Outside a transaction another connection serves.
            self.conns.drop(Served::Writer);
            if self.state.transaction_begun() {
                return Err(Attempt::no_writer(addr, BackendError::Closed));
            }
        }
        match self.conns.writer(topo, &ctx!(self)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_no_writer() => {
                tracing::debug!(session = self.id, error = %e, "no writer for the statement");
                if let (true, Some(id)) = (e.is_unreachable(), topo.writer) {
                    // Out of service until the monitor sees it answer again.
                    self.shared.topology.report_unreachable(id);
                }
                Err(Attempt::no_writer(addr, e))
            }
            Err(e) => {
                tracing::warn!(session = self.id, error = %e, "cannot reach the writer");
                Err(Attempt::Done(self.told(&e.to_sql(addr), seq).await))
            }
        }
    }

    /// Relays the answer to the command just sent on the writer connection: the
    /// client's, except a lone read-only refusal (kept for a hold); `digest`: its
    /// digest is kept for a replay; `marker`: the command is a COMMIT whose marker was
    /// written.
    async fn writer_answer(
        &mut self,
        expect: Expect,
        writes: bool,
        digest: bool,
        marker: Option<Marker>,
    ) -> Result<Summary, Attempt> {
        let Some(w) = self.conns.open_writer() else {
            return Err(Attempt::no_writer("(none)", BackendError::NoWriter));
        };
        let (id, addr) = (w.id, w.addr.clone());
        let mut down = WriterAnswer::new(&mut self.client, &self.shared, writes, digest);
        let mut forwarded = false;
        let killer = conns::killer(&self.login, &self.live);
        let result = relay_bounded(w, &mut down, expect, &mut forwarded, killer).await;
        let (refusal, sent) = (down.refusal.take(), down.sent);
        let (digest, infile) = (down.digest.take(), down.infile);
        match result {
            Ok(s) => match refusal {
                None => {
                    if let Some(d) = digest {
                        self.txlog.answered(d.finish(), infile);
                    }
                    if marker.is_some() {
                        self.txlog.clear();
                    }
                    Ok(s)
                }
                Some(bytes) => Err(Attempt::refused(id, addr, bytes)),
            },
            Err(RelayError::Client(e)) => {
                self.conns.drop(Served::Writer);
                Err(Attempt::Done(Failure::Fatal(SessionError::Io(e))))
            }
            Err(RelayError::Backend(e)) => {
                let failure = match sent {
                    true => WriterFailure::LostMidAnswer,
                    false => WriterFailure::Lost,
                };
                Err(self.writer_lost(e, failure, marker))
            }
        }
    }

    /// The writer connection broke: dropped (its server reported unreachable when it
    /// is), and the failure for the failover rules.
    pub(super) fn writer_lost(
        &mut self,
        e: BackendError,
        failure: WriterFailure,
        marker: Option<Marker>,
    ) -> Attempt {
        let (id, addr) = match self.conns.open_writer() {
            Some(w) => (Some(w.id), w.addr.clone()),
            None => (None, "(none)".to_string()),
        };
        tracing::warn!(session = self.id, backend = %addr, error = %e, "writer connection lost");
        self.conns.drop(Served::Writer);
        if let (true, Some(id)) = (e.is_unreachable(), id) {
            self.shared.topology.report_unreachable(id);
        }
        Attempt::Failed {
            failure,
            refusing: None,
            lost: Lost {
                addr,
                error: Some(e),
                refusal: None,
                marker,
            },
        }
    }

    /// Carries out a decision of `route::recover` that is not a hold: the client hears
    /// what happened (or, with part of an answer sent, the session ends).
    async fn writer_failed(
        &mut self,
        decision: Recovery,
        situation: Situation,
        lost: Lost,
        hold: &Hold,
        seq: u8,
    ) -> Failure {
        let what = match &lost.error {
            Some(e) => format!("{}: {e}", lost.addr),
            None => lost.addr.clone(),
        };
        let err = match decision {
            Recovery::Hold | Recovery::NoWriter | Recovery::CommitNothing => {
                let waited = match hold.waited() {
                    Some(d) => format!("no writer (waited {} ms for one)", d.as_millis()),
                    None => "no writer".to_string(),
                };
                SqlError::no_backend(&waited)
            }
            Recovery::PassRefusal => {
                let bytes = lost.refusal.unwrap_or_default();
                if let Some(code) = err_code(&bytes) {
                    self.metrics.error(code);
                }
                return match self.client.forward(&bytes).await {
                    Ok(()) => Failure::Told,
                    Err(e) => Failure::Fatal(SessionError::Io(e)),
                };
            }
            Recovery::TransactionLost | Recovery::Replay => {
                let why = match (replay_wanted(situation), self.unreplayable()) {
                    (false, _) => String::new(),
                    (true, Some(u)) => format!(" (not replayed: {})", u.why()),
                    (true, None) => " (no writer could take its replay in time)".to_string(),
                };
                self.lose_transaction();
                SqlError::lost_connection(&format!(
                    "{what}; the open transaction was rolled back{why}"
                ))
            }
            Recovery::OutcomeUnknown | Recovery::Verify => {
                self.lose_transaction();
                SqlError::outcome_unknown(&what)
            }
            Recovery::ReadLost => SqlError::lost_connection(&what),
            Recovery::Close => {
                self.lose_transaction();
                let e = lost.error.unwrap_or(BackendError::Closed);
                return Failure::Fatal(SessionError::Backend(e));
            }
        };
        self.told(&err, seq).await
    }

    /// A session with autocommit off has it off on its writer connection too, when that
    /// connection is new (after a failover, or from the pool): `SET autocommit = 0`,
    /// which never commits anything.
    async fn autocommit_off(&mut self, addr: &str) -> Result<(), Attempt> {
        if self.state.autocommit {
            return Ok(());
        }
        let Some(w) = self.conns.open_writer() else {
            return Ok(());
        };
        if w.status & status::AUTOCOMMIT == 0 {
            return Ok(());
        }
        match w.query("SET autocommit = 0").await {
            Ok(_) => {
                w.status &= !status::AUTOCOMMIT;
                Ok(())
            }
            Err(e) => {
                let id = w.id;
                self.conns.drop(Served::Writer);
                if e.is_unreachable() {
                    self.shared.topology.report_unreachable(id);
                }
                Err(Attempt::no_writer(addr, e))
            }
        }
    }

    /// Replays the open transaction on the session's new writer connection before the
    /// interrupted command: when the new writer fails too, the failover rules decide
    /// again; when an answer differs, the client is told the transaction was rolled back.
    async fn replayed(&mut self, addr: &str, seq: u8) -> Result<(), Attempt> {
        let id = self.conns.open_writer().map(|w| w.id);
        let failure = match self.replay_transaction().await {
            Ok(()) => {
                metrics::counter!("rwsplit_replays_total", "outcome" => "ok").increment(1);
                tracing::info!(session = self.id, backend = %addr, "transaction replayed on the new writer");
                return Ok(());
            }
            Err(f) => f,
        };
        self.conns.drop(Served::Writer);
        let (refusing, e) = match failure {
            ReplayFailure::Lost(e) => {
                if let (true, Some(id)) = (e.is_unreachable(), id) {
                    self.shared.topology.report_unreachable(id);
                }
                (None, e)
            }
            ReplayFailure::ReadOnly => (id, BackendError::NoWriter),
            ReplayFailure::Unreplayable(why) => {
                metrics::counter!("rwsplit_replays_total", "outcome" => why.label()).increment(1);
                self.lose_transaction();
                let err = SqlError::lost_connection(&format!(
                    "{addr}; the open transaction was rolled back (not replayed: {})",
                    why.why()
                ));
                return Err(Attempt::Done(self.told(&err, seq).await));
            }
            ReplayFailure::Diverged(n) => {
                metrics::counter!("rwsplit_replays_total", "outcome" => "diverged").increment(1);
                self.lose_transaction();
                let err = SqlError::lost_connection(&format!(
                    "{addr}; the open transaction was rolled back: replayed on the new writer, \
                     its statement {n} answered differently (it read data that changed since, \
                     or a value such as NOW(), RAND(), UUID() or CONNECTION_ID())"
                ));
                return Err(Attempt::Done(self.told(&err, seq).await));
            }
        };
        Err(Attempt::Failed {
            failure: WriterFailure::NoWriter,
            refusing,
            lost: Lost::new(addr, e),
        })
    }

    /// Runs the command on reader `id`; a reader that cannot serve before the client saw
    /// anything asks for a retry elsewhere.
    /// `overlap`: in `cluster` mode, what the reader was known to have applied when the
    /// read is sent to it before its position is fetched (see
    /// [`Session::overlap_for`]); the answer is relayed only once the fetch shows the
    /// reader had what the read must see.
    pub(super) async fn run_on_reader(
        &mut self,
        id: BackendId,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        topo: &Topology,
        overlap: Option<Known>,
    ) -> Result<Summary, Failure> {
        let conn = match self.conns.reader(id, topo, &ctx!(self)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(session = self.id, backend = %id, error = %e, "reader not usable");
                if e.is_unreachable() {
                    self.shared.topology.report_unreachable(id);
                }
                return Err(Failure::Retry(id));
            }
        };
        let mut forwarded = false;
        let load = conn.load().cloned();
        if let Some(l) = &load {
            l.active.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let started = Instant::now();
        let sent = send(conn, &self.prepared, call, &msg.raw).await;
        if let (Ok(()), Some(known)) = (&sent, overlap) {
            // Boxed, as a read-your-writes check is (see `Session::consistent`).
            if let Err(f) = Box::pin(self.after_overlap(id, msg, call, topo, &known)).await {
                if let Some(l) = &load {
                    l.active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
                return Err(f);
            }
        }
        let Some(conn) = self.conns.get_mut(Served::Reader(id)) else {
            return Err(Failure::Retry(id));
        };
        let result = match sent {
            Ok(()) => {
                let killer = conns::killer(&self.login, &self.live);
                relay_bounded(conn, &mut self.client, expect, &mut forwarded, killer).await
            }
            Err(Sent::Refused(e) | Sent::Lost(e)) => Err(RelayError::Backend(e)),
        };
        if let Some(l) = &load {
            l.active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            l.observe(started.elapsed().as_micros() as u64);
        }
        let addr = conn.addr.clone();
        match result {
            Ok(s) => Ok(s),
            Err(RelayError::Client(e)) => {
                self.conns.drop(Served::Reader(id));
                Err(Failure::Fatal(SessionError::Io(e)))
            }
            Err(RelayError::Backend(e)) => {
                Box::pin(self.reader_lost(id, &addr, e, forwarded, msg)).await
            }
        }
    }

    /// `cluster` mode, a read sent to reader `id` before its position was fetched: the
    /// fetch, then either nothing (the reader had what the read must see: its answer is
    /// next on the connection), or the answer dropped, the reader waited for the position
    /// and the read sent again, or (no position, or the reader did not get it in time) the
    /// answer dropped and the read tried elsewhere (`Failure::Stale`).
    async fn after_overlap(
        &mut self,
        id: BackendId,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        topo: &Topology,
        known: &Known,
    ) -> Result<(), Failure> {
        let target = match self.overlapped(topo, known).await {
            Overlap::Covered => return Ok(()),
            Overlap::Missed(target) => Some(target),
            Overlap::Stale => None,
        };
        // The answer may predate what the read must see: read to its end, unrelayed.
        let Some(conn) = self.conns.get_mut(Served::Reader(id)) else {
            return Err(Failure::Retry(id));
        };
        let mut forwarded = false;
        if let Err(e) = conn
            .relay(&mut Discard, Expect::Results, &mut forwarded)
            .await
        {
            tracing::debug!(session = self.id, backend = %id, error = ?e, "dropping an overlapped answer failed");
            self.conns.drop(Served::Reader(id));
            return Err(Failure::Retry(id));
        }
        let Some(target) = target else {
            return Err(Failure::Stale(id));
        };
        if self.wait_for(id, topo, &target, topo.flavour()).await == Verdict::Other {
            return Err(Failure::Stale(id));
        }
        self.shared.positions.set_verified(id, target);
        let Some(conn) = self.conns.get_mut(Served::Reader(id)) else {
            return Err(Failure::Retry(id));
        };
        if let Err(Sent::Refused(e) | Sent::Lost(e)) =
            send(conn, &self.prepared, call, &msg.raw).await
        {
            tracing::debug!(session = self.id, backend = %id, error = %e, "reader connection lost");
            self.conns.drop(Served::Reader(id));
            return Err(Failure::Retry(id));
        }
        Ok(())
    }

    /// A reader connection broke while running a command: dropped; the command is
    /// retried elsewhere unless the client saw part of the answer (the session ends) or
    /// the reader held the session's read-only transaction (the client is told).
    async fn reader_lost(
        &mut self,
        id: BackendId,
        addr: &str,
        e: BackendError,
        forwarded: bool,
        msg: &Message,
    ) -> Result<Summary, Failure> {
        self.conns.drop(Served::Reader(id));
        tracing::warn!(session = self.id, backend = %addr, error = %e, "reader connection lost");
        if e.is_unreachable() {
            self.shared.topology.report_unreachable(id);
        }
        if forwarded {
            return Err(Failure::Fatal(SessionError::Backend(e)));
        }
        if self.state.tx_backend == Some(Served::Reader(id)) {
            self.lose_transaction();
            let what = format!("{addr}: {e}; the read-only transaction was lost");
            return self
                .tell(&SqlError::lost_connection(&what), msg.reply_seq())
                .await;
        }
        Err(Failure::Retry(id))
    }

    /// Sends an error to the client for the current command.
    pub(super) async fn tell(&mut self, err: &SqlError, seq: u8) -> Result<Summary, Failure> {
        Err(self.told(err, seq).await)
    }

    /// Sends an error to the client for the current command: how the command ended.
    pub(super) async fn told(&mut self, err: &SqlError, seq: u8) -> Failure {
        self.metrics.error(err.code);
        match self.client.send_error(err, seq).await {
            Ok(()) => Failure::Told,
            Err(e) => Failure::Fatal(SessionError::Io(e)),
        }
    }
}

/// What a command on the writer is, for the failover rules.
#[derive(Debug, Clone, Copy)]
pub(super) struct OnWriter {
    /// It may change data: the global write epoch moves before the client sees the end
    /// of the answer.
    pub writes: bool,
    pub effect: Effect,
    pub verify: Verify,
    /// Its answer's digest is kept for a replay (a transaction is open or may begin, or
    /// it sets the next one's characteristics).
    pub record: bool,
}

impl OnWriter {
    /// A command bound to the writer's connection (COM_STATISTICS, COM_SET_OPTION, …).
    pub fn command() -> OnWriter {
        OnWriter {
            writes: true,
            effect: Effect::Change,
            verify: Verify::None,
            record: false,
        }
    }
}

/// How one try of a command on the writer ended, when it did not succeed.
pub(super) enum Attempt {
    /// A failure the failover rules decide about; the client has heard nothing.
    Failed {
        failure: WriterFailure,
        /// The writer that refused it for being read-only.
        refusing: Option<BackendId>,
        lost: Lost,
    },
    /// The client was told (or the session cannot go on): nothing to decide.
    Done(Failure),
    /// The marker of a lost COMMIT (or autocommit write) is not on the writer: nothing
    /// of it was committed.
    RolledBack,
}

impl Attempt {
    /// Writer `id` (at `addr`) refused the command as read-only (`refusal`, the ERR
    /// packet as it came): it did not run.
    pub fn refused(id: BackendId, addr: String, refusal: Vec<u8>) -> Attempt {
        Attempt::Failed {
            failure: WriterFailure::ReadOnly,
            refusing: Some(id),
            lost: Lost {
                addr,
                error: None,
                refusal: Some(refusal),
                marker: None,
            },
        }
    }

    /// Nothing was sent: there is no writer, or it cannot be reached.
    pub fn no_writer(addr: &str, e: BackendError) -> Attempt {
        Attempt::Failed {
            failure: WriterFailure::NoWriter,
            refusing: None,
            lost: Lost::new(addr, e),
        }
    }
}

/// What the client may be told of a failed try on the writer.
pub(super) struct Lost {
    pub addr: String,
    pub error: Option<BackendError>,
    /// The server's read-only refusal (an ERR packet), as it came.
    pub refusal: Option<Vec<u8>>,
    /// The marker written in the lost statement's transaction, to look for.
    pub marker: Option<Marker>,
}

impl Lost {
    pub fn new(addr: &str, e: BackendError) -> Lost {
        Lost {
            addr: addr.to_string(),
            error: Some(e),
            refusal: None,
            marker: None,
        }
    }
}

/// Why a command could not be sent.
enum Sent {
    /// The backend refused to prepare the statement (it answered: the connection is fine).
    Refused(BackendError),
    /// The connection broke.
    Lost(BackendError),
}

/// Sends the client's command to `conn`: as it came, or for a prepared statement's
/// execution, with this backend's statement id (preparing it there first if needed).
async fn send(
    conn: &mut BackendConn,
    stmts: &prepared::Statements,
    call: Option<&prepared::Call<'_>>,
    raw: &[u8],
) -> Result<(), Sent> {
    let bytes = match call {
        None => None,
        Some(c) => match prepared::packets_for(conn, stmts, c).await {
            Ok(b) => Some(b),
            Err(e) if e.is_unreachable() => return Err(Sent::Lost(e)),
            Err(e) => return Err(Sent::Refused(e)),
        },
    };
    conn.send(bytes.as_deref().unwrap_or(raw))
        .await
        .map_err(Sent::Lost)
}
