//! Learning the outcome of a COMMIT, or of an autocommit write, whose answer a failover
//! lost (`failover.verify_commits`). Just before the COMMIT, in the same round trip, the
//! session writes a marker row with a unique id inside the transaction; an autocommit
//! INSERT / UPDATE / DELETE / REPLACE runs as BEGIN and the write (its answer kept), then
//! the marker and COMMIT, and the client gets the write's answer once COMMIT succeeded.
//! The marker is committed exactly when the transaction is. When the answer is lost, the
//! session waits for a writer and looks for the marker there (on the same server, only
//! once the old connection is killed and gone, so it cannot commit later): found, the
//! client gets the OK; not found, nothing was committed and the transaction is replayed
//! (or the write sent again). Which statements get what is `route::verification`.

use std::time::{Duration, Instant};

use super::conns::{self, ctx};
use super::relay::{Attempt, Lost};
use super::{prepared, Failure, Message, Session, SessionError};
use crate::backend::{relay_bounded, BackendError, Capture, Discard, Downstream, RelayError};
use crate::monitor::markers_table;
use crate::protocol::err::{err_code, is_read_only_refusal};
use crate::protocol::ok::{clear_status, ok_payload};
use crate::protocol::packet::packets;
use crate::protocol::response::{Expect, Summary};
use crate::route::{status, verification, BackendId, CommitContext, Served, Topology};
use crate::route::{Verify, WriterFailure};

const COM_QUERY: u8 = 0x03;
/// ER_LOCK_DEADLOCK: the server rolled the whole transaction back.
const DEADLOCK: u16 = 1213;

/// A marker written in a transaction whose COMMIT's answer may be lost.
pub(super) struct Marker {
    pub id: u64,
    /// The server and the connection (thread) that wrote it.
    pub backend: BackendId,
    pub thread: u32,
    /// When it was sent.
    pub sent: Instant,
    /// An autocommit write's own answer, held until its COMMIT: what the client gets
    /// when the marker is found.
    pub answer: Option<(Vec<u8>, Summary)>,
}

/// A text command's packets (sequence 0).
fn query_packets(sql: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(sql.len() + 1);
    payload.push(COM_QUERY);
    payload.extend_from_slice(sql.as_bytes());
    packets(&payload, 0).to_vec()
}

/// True when the server behind `conn` has been up since before `sent` (so a thread id
/// from then is still that connection's, and may be killed); false when it restarted
/// since (the old connection died with it, and its thread id may be another's now).
async fn up_since_before(
    conn: &mut crate::backend::BackendConn,
    sent: Instant,
) -> Result<bool, BackendError> {
    let row = conn
        .query_row("SHOW GLOBAL STATUS LIKE 'Uptime'", 2)
        .await?;
    let uptime: u64 = row
        .get(1)
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
        .ok_or(BackendError::Protocol("no Uptime"))?;
    Ok(uptime > sent.elapsed().as_secs() + 1)
}

/// True when `sql` contains `word` (any case): a cheap test that may say yes for a word
/// inside a string, never no for one that is there.
fn has_word(sql: &[u8], word: &[u8]) -> bool {
    sql.windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
}

impl Session {
    /// What `st` (text `sql`) needs for its outcome to be learnt after a lost answer.
    pub(super) fn verification(&self, st: &crate::classify::Statement, sql: &[u8]) -> Verify {
        let on = self.live.config.failover.verify_commits;
        if !on {
            return Verify::None;
        }
        let cx = CommitContext {
            on,
            in_transaction: self.state.transaction_begun(),
            wrote: self.txlog.wrote(),
            autocommit: self.state.autocommit,
            returning: has_word(sql, b"RETURNING"),
        };
        verification(st, cx)
    }

    fn markers(&self) -> String {
        markers_table(&self.live.config.monitor.heartbeat_schema)
    }

    /// A new marker's id and the packets that write it.
    fn new_marker(&self) -> (u64, Vec<u8>) {
        let id = rand::random::<u64>();
        let sql = format!("INSERT INTO {} (id) VALUES ({id})", self.markers());
        (id, query_packets(&sql))
    }

    /// Reads the answer to a marker the session sent: `Ok(true)` when it was written,
    /// `Ok(false)` when it could not be (the COMMIT then goes unverified), the client's
    /// answer when a deadlock rolled the transaction back meanwhile.
    async fn marker_answer(&mut self) -> Result<Result<bool, Vec<u8>>, BackendError> {
        let Some(w) = self.conns.open_writer() else {
            return Err(BackendError::NoWriter);
        };
        let mut answer = Capture::default();
        let mut forwarded = false;
        let s = match w.relay(&mut answer, Expect::Results, &mut forwarded).await {
            Ok(s) => s,
            Err(RelayError::Backend(e)) => return Err(e),
            Err(RelayError::Client(e)) => return Err(BackendError::Io(e)),
        };
        match s.error {
            None => {
                self.shared.set_markers_work(true);
                Ok(Ok(true))
            }
            Some(DEADLOCK) => Ok(Err(answer.0)),
            Some(code) => {
                // No table (1146), or no right to write it (1142, 1044): until a marker
                // is written again, a marker not answered is not to be looked for.
                if matches!(code, 1142 | 1146 | 1044 | 1049) && self.shared.markers_work() {
                    self.shared.set_markers_work(false);
                    tracing::warn!(session = self.id, code, table = %self.markers(),
                        "cannot write a commit marker: lost COMMITs get 'outcome unknown' (grant INSERT, SELECT on it)");
                }
                if !matches!(code, 1290 | 1836) {
                    metrics::counter!("rwsplit_commit_verifications_total", "outcome" => "unmarked")
                        .increment(1);
                }
                Ok(Ok(false))
            }
        }
    }

    /// Sends a marker and the client's COMMIT in one write and reads the marker's
    /// answer; the COMMIT's answer comes next. The marker, when it can be looked for.
    pub(super) async fn send_with_marker(
        &mut self,
        msg: &Message,
    ) -> Result<Option<Marker>, Attempt> {
        let (id, mut bytes) = self.new_marker();
        bytes.extend_from_slice(&msg.raw);
        let Some(w) = self.conns.open_writer() else {
            return Err(Attempt::no_writer("(none)", BackendError::NoWriter));
        };
        let marker = Marker {
            id,
            backend: w.id,
            thread: w.thread_id,
            sent: Instant::now(),
            answer: None,
        };
        // A marker whose answer was lost with its COMMIT's is looked for too while
        // markers work: the errors that refuse it but let its COMMIT through are a
        // missing table or missing rights (seen in the markers before it, and failing
        // the look as well, so never read as "rolled back").
        let likely = self.shared.markers_work();
        if let Err(e) = w.send(&bytes).await {
            let m = likely.then_some(marker);
            return Err(self.writer_lost(e, WriterFailure::Lost, m));
        }
        match self.marker_answer().await {
            Ok(Ok(true)) => Ok(Some(marker)),
            Ok(Ok(false)) => Ok(None),
            Ok(Err(deadlock)) => Err(self.rolled_back_by_deadlock(&deadlock).await),
            Err(e) => {
                let m = likely.then_some(marker);
                Err(self.writer_lost(e, WriterFailure::Lost, m))
            }
        }
    }

    /// The marker met a deadlock, which rolled the transaction back: the COMMIT sent
    /// after it committed nothing. Its answer is read and dropped, and the client hears
    /// the deadlock (`err`, as the server sent it).
    async fn rolled_back_by_deadlock(&mut self, err: &[u8]) -> Attempt {
        if let Some(w) = self.conns.open_writer() {
            let mut fwd = false;
            if w.relay(&mut Discard, Expect::Results, &mut fwd)
                .await
                .is_err()
            {
                self.conns.drop(Served::Writer);
            }
        }
        self.lose_transaction();
        if let Some(code) = err_code(err) {
            self.metrics.error(code);
        }
        match self.client.forward(err).await {
            Ok(()) => Attempt::Done(Failure::Told),
            Err(e) => Attempt::Done(Failure::Fatal(SessionError::Io(e))),
        }
    }

    /// An autocommit write, verifiable: BEGIN and the write (its answer kept), then the
    /// marker and COMMIT; the client gets the write's answer (as an autocommit
    /// statement's) once COMMIT succeeded. Lost before COMMIT was sent, nothing was
    /// committed.
    pub(super) async fn wrapped_write(
        &mut self,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        seq: u8,
    ) -> Result<Summary, Attempt> {
        let Some(w) = self.conns.open_writer() else {
            return Err(Attempt::no_writer("(none)", BackendError::NoWriter));
        };
        let (backend, thread, addr) = (w.id, w.thread_id, w.addr.clone());
        let mut bytes = query_packets("BEGIN");
        match call {
            None => bytes.extend_from_slice(&msg.raw),
            Some(c) => match prepared::packets_for(w, &self.prepared, c).await {
                Ok(b) => bytes.extend_from_slice(&b),
                Err(e) if e.is_unreachable() => {
                    return Err(self.writer_lost(e, WriterFailure::NoWriter, None))
                }
                Err(e) => return Err(Attempt::Done(self.told(&e.to_sql(&addr), seq).await)),
            },
        }
        // Nothing can commit before the COMMIT below: a loss until then is harmless.
        let not_run = WriterFailure::NoWriter;
        if let Err(e) = w.send(&bytes).await {
            return Err(self.writer_lost(e, not_run, None));
        }
        let mut begin = Capture::default();
        let mut write = Capture::default();
        let mut forwarded = false;
        let first = {
            let killer = conns::killer(&self.login, &self.live);
            match w.relay(&mut begin, Expect::Single, &mut forwarded).await {
                Ok(_) => relay_bounded(w, &mut write, expect, &mut forwarded, killer).await,
                Err(e) => Err(e),
            }
        };
        let s = match first {
            Ok(s) => s,
            Err(RelayError::Backend(e)) => return Err(self.writer_lost(e, not_run, None)),
            Err(RelayError::Client(e)) => {
                return Err(self.writer_lost(BackendError::Io(e), not_run, None))
            }
        };
        if is_read_only_refusal(&write.0) {
            // Refused: closing the connection ends the transaction rwsplit opened.
            self.conns.drop(Served::Writer);
            return Err(Attempt::refused(backend, addr, write.0));
        }
        if s.error.is_some() {
            // The write failed: the transaction rwsplit opened ends, the client hears why.
            if w.query("ROLLBACK").await.is_err() {
                self.conns.drop(Served::Writer);
            }
            return self.relay_held(write.0, s).await.map_err(Attempt::Done);
        }
        let (id, mut bytes) = self.new_marker();
        bytes.extend_from_slice(&query_packets("COMMIT"));
        let Some(w) = self.conns.open_writer() else {
            return Err(Attempt::no_writer(&addr, BackendError::NoWriter));
        };
        let marker = Marker {
            id,
            backend,
            thread,
            sent: Instant::now(),
            answer: Some((write.0, s)),
        };
        let likely = self.shared.markers_work();
        if let Err(e) = w.send(&bytes).await {
            let m = likely.then_some(marker);
            return Err(self.writer_lost(e, WriterFailure::Lost, m));
        }
        let marked = match self.marker_answer().await {
            Ok(Ok(marked)) => marked,
            Ok(Err(deadlock)) => return Err(self.rolled_back_by_deadlock(&deadlock).await),
            Err(e) => {
                let m = likely.then_some(marker);
                return Err(self.writer_lost(e, WriterFailure::Lost, m));
            }
        };
        let Some(w) = self.conns.open_writer() else {
            return Err(Attempt::no_writer(&addr, BackendError::NoWriter));
        };
        let mut commit = Capture::default();
        match w.relay(&mut commit, Expect::Results, &mut forwarded).await {
            Ok(c) if c.error.is_none() => {}
            Ok(_) if is_read_only_refusal(&commit.0) => {
                self.conns.drop(Served::Writer);
                return Err(Attempt::refused(backend, addr, commit.0));
            }
            // COMMIT failed: nothing was committed, the client hears why.
            Ok(c) => return self.relay_held(commit.0, c).await.map_err(Attempt::Done),
            Err(e) => {
                let e = match e {
                    RelayError::Backend(e) => e,
                    RelayError::Client(e) => BackendError::Io(e),
                };
                // The marker's own answer came: it tells.
                let m = marked.then_some(marker);
                return Err(self.writer_lost(e, WriterFailure::Lost, m));
            }
        }
        let Some((answer, s)) = marker.answer else {
            return Err(Attempt::no_writer(&addr, BackendError::NoWriter));
        };
        self.answer_committed(Some((answer, s)), seq)
            .await
            .map_err(Attempt::Done)
    }

    /// Looks for a lost COMMIT's marker on the writer: found, the client gets its OK
    /// (or the autocommit write's answer); not found, `Attempt::RolledBack`; the writer
    /// missing or failing, a failure for the failover rules.
    pub(super) async fn look_for_marker(
        &mut self,
        topo: &Topology,
        marker: Marker,
        seq: u8,
    ) -> Result<Summary, Attempt> {
        let addr = super::writer_addr(topo);
        match self.marker_landed(topo, &marker).await {
            Ok(true) => {
                metrics::counter!("rwsplit_commit_verifications_total", "outcome" => "committed")
                    .increment(1);
                tracing::info!(session = self.id, backend = %addr, "a lost COMMIT's marker is on the writer: committed");
                if let Some((_, s)) = &marker.answer {
                    self.took_insert_id(s).await;
                }
                self.answer_committed(marker.answer, seq)
                    .await
                    .map_err(Attempt::Done)
            }
            Ok(false) => {
                metrics::counter!("rwsplit_commit_verifications_total", "outcome" => "rolled_back")
                    .increment(1);
                tracing::info!(session = self.id, backend = %addr, "a lost COMMIT's marker is not on the writer: rolled back");
                Err(Attempt::RolledBack)
            }
            Err(e) => {
                if e.is_no_writer() {
                    self.conns.drop(Served::Writer);
                }
                Err(Attempt::Failed {
                    failure: WriterFailure::Lost,
                    refusing: None,
                    lost: Lost {
                        addr,
                        error: Some(e),
                        refusal: None,
                        marker: Some(marker),
                    },
                })
            }
        }
    }

    /// Whether `marker` is on the writer. On the server that wrote it (still the
    /// writer: only the connection broke), the old connection is killed and waited for
    /// first, so that its COMMIT cannot land after the look.
    async fn marker_landed(
        &mut self,
        topo: &Topology,
        marker: &Marker,
    ) -> Result<bool, BackendError> {
        self.conns.drop_stale_writer(topo).await;
        let table = self.markers();
        let conn = self.conns.writer(topo, &ctx!(self)).await?;
        if conn.id == marker.backend && up_since_before(conn, marker.sent).await? {
            match conn
                .query(&format!("KILL CONNECTION {}", marker.thread))
                .await
            {
                Err(e) if e.is_unreachable() => return Err(e),
                // Gone already (1094), or done: either way it is ending.
                _ => {}
            }
            let alive = format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {}",
                marker.thread
            );
            let mut gone = false;
            for _ in 0..500 {
                if conn.query_scalar(&alive).await?.as_deref() == Some("0") {
                    gone = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if !gone {
                return Err(BackendError::Protocol("the lost connection did not end"));
            }
        }
        let found = conn
            .query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE id = {}",
                marker.id
            ))
            .await?;
        Ok(found.as_deref() == Some("1"))
    }

    /// An autocommit write that generated an id, found committed from another
    /// connection: LAST_INSERT_ID() there returns its id, as on the lost connection.
    async fn took_insert_id(&mut self, s: &Summary) {
        if !s.insert_ids || s.last_insert_id == 0 {
            return;
        }
        let v = s.last_insert_id;
        self.last_insert_id = v;
        if let Some(w) = self.conns.open_writer() {
            let set = format!("SET @@session.last_insert_id = {v}");
            match w.query(&set).await {
                Ok(_) => w.last_insert_id = crate::backend::InsertId::Known(v),
                Err(_) => self.conns.drop(Served::Writer),
            }
        }
    }

    /// The client gets the answer of a statement that committed: an autocommit write's
    /// own (as an autocommit statement's: no transaction open), or COMMIT's OK.
    pub(super) async fn answer_committed(
        &mut self,
        held: Option<(Vec<u8>, Summary)>,
        seq: u8,
    ) -> Result<Summary, Failure> {
        self.txlog.clear();
        self.shared.epochs.note_write();
        let (mut bytes, mut s) = match held {
            Some(h) => h,
            None => {
                let st = match self.state.autocommit {
                    true => status::AUTOCOMMIT,
                    false => 0,
                };
                let ok = packets(&ok_payload(0, 0, st, 0), seq).to_vec();
                let s = Summary {
                    status: Some(st),
                    ..Summary::default()
                };
                (ok, s)
            }
        };
        clear_status(&mut bytes, status::IN_TRANS);
        s.status = s.status.map(|st| st & !status::IN_TRANS);
        self.relay_held(bytes, s).await
    }

    /// Sends an answer held back to the client.
    async fn relay_held(&mut self, bytes: Vec<u8>, mut s: Summary) -> Result<Summary, Failure> {
        s.bytes = bytes.len() as u64;
        match self.client.forward(&bytes).await {
            Ok(()) => Ok(s),
            Err(e) => Err(Failure::Fatal(SessionError::Io(e))),
        }
    }
}
