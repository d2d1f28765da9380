//! Running one command on the writer or on a reader, and relaying its answer; a reader
//! that fails before the client saw anything is reported for a retry elsewhere.

use std::time::Instant;

use super::conns::{self, ctx};
use super::{consistency, prepared, writer_addr, Failure, Message, Session, SessionError};
use crate::backend::{relay_bounded, BackendConn, BackendError, RelayError};
use crate::protocol::response::{Expect, Summary};
use crate::protocol::SqlError;
use crate::route::{status, BackendId, Served, SessionState, Topology};

impl Session {
    /// Runs a command on the writer whatever the router would say (prepared statements
    /// and commands bound to the writer's connection).
    pub(super) async fn on_writer(
        &mut self,
        msg: &Message,
        expect: Expect,
    ) -> Result<Option<Summary>, SessionError> {
        let topo = self.shared.topology.current();
        match self.run_on_writer(msg, None, expect, &topo, true).await {
            Ok(s) => {
                self.state.after_writer_command(s.status);
                Ok(Some(s))
            }
            Err(Failure::Told) | Err(Failure::Retry(_)) => Ok(None),
            Err(Failure::Fatal(e)) => Err(e),
        }
    }

    /// Runs the command on the writer (`writes`: it may change data, so the global write
    /// epoch moves before the client sees the end of the answer).
    pub(super) async fn run_on_writer(
        &mut self,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        topo: &Topology,
        writes: bool,
    ) -> Result<Summary, Failure> {
        let seq = msg.reply_seq();
        self.writer_ready(topo, seq).await?;
        let Some(w) = self.conns.open_writer() else {
            return self.tell(&SqlError::no_backend("no writer"), seq).await;
        };
        let mut forwarded = false;
        let result = match send(w, &self.prepared, call, &msg.raw).await {
            Ok(()) => {
                let mut down = consistency::NotingWrites {
                    client: &mut self.client,
                    shared: &self.shared,
                    writes,
                };
                let killer = conns::killer(&self.login, &self.live);
                relay_bounded(w, &mut down, expect, &mut forwarded, killer).await
            }
            Err(Sent::Refused(e)) => {
                // The statement cannot be prepared on the writer: the client hears why.
                let addr = w.addr.clone();
                return self.tell(&e.to_sql(&addr), seq).await;
            }
            Err(Sent::Lost(e)) => Err(RelayError::Backend(e)),
        };
        match result {
            Ok(s) => Ok(s),
            Err(RelayError::Client(e)) => {
                self.conns.drop(Served::Writer);
                Err(Failure::Fatal(SessionError::Io(e)))
            }
            Err(RelayError::Backend(e)) => self.writer_lost(e, forwarded, seq).await,
        }
    }

    /// Makes sure the session has a writer connection at the session's state: follows
    /// the writer when it moved (not inside a transaction: that one is gone) and opens
    /// one when needed. The client is told when it cannot.
    async fn writer_ready(&mut self, topo: &Topology, seq: u8) -> Result<(), Failure> {
        if self.conns.drop_stale_writer(topo).await && self.state.in_transaction_scope() {
            self.state = SessionState::new(status::AUTOCOMMIT);
            let err = SqlError::lost_connection("the writer changed; the transaction was lost");
            return self.tell(&err, seq).await.map(drop);
        }
        match self.conns.writer(topo, &ctx!(self)).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let addr = writer_addr(topo);
                tracing::warn!(session = self.id, error = %e, "cannot reach the writer");
                self.tell(&e.to_sql(&addr), seq).await.map(drop)
            }
        }
    }

    /// The writer connection broke while running a command: it is dropped, the session
    /// is back to autocommit, and the client hears what was lost (or, in the middle of an
    /// answer, the session ends: only closing is honest then).
    async fn writer_lost(
        &mut self,
        e: BackendError,
        forwarded: bool,
        seq: u8,
    ) -> Result<Summary, Failure> {
        let (id, addr) = match self.conns.open_writer() {
            Some(w) => (Some(w.id), w.addr.clone()),
            None => (None, "(none)".to_string()),
        };
        tracing::warn!(session = self.id, backend = %addr, error = %e, "writer connection lost");
        self.conns.drop(Served::Writer);
        if let (Some(id), true) = (id, e.is_unreachable()) {
            self.shared.topology.report_unreachable(id);
        }
        let was_tx = self.state.in_transaction_scope();
        self.state = SessionState::new(status::AUTOCOMMIT);
        if forwarded {
            return Err(Failure::Fatal(SessionError::Backend(e)));
        }
        let what = if was_tx {
            format!("{addr}: {e}; the open transaction was rolled back")
        } else {
            format!("{addr}: {e}")
        };
        self.tell(&SqlError::lost_connection(&what), seq).await
    }

    /// Runs the command on reader `id`; a reader that cannot serve before the client saw
    /// anything asks for a retry elsewhere.
    pub(super) async fn run_on_reader(
        &mut self,
        id: BackendId,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        topo: &Topology,
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
        let result = match send(conn, &self.prepared, call, &msg.raw).await {
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
            Err(RelayError::Backend(e)) => self.reader_lost(id, &addr, e, forwarded, msg).await,
        }
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
            self.state = SessionState::new(status::AUTOCOMMIT);
            let what = format!("{addr}: {e}; the read-only transaction was lost");
            return self
                .tell(&SqlError::lost_connection(&what), msg.reply_seq())
                .await;
        }
        Err(Failure::Retry(id))
    }

    /// Sends an error to the client for the current command.
    pub(super) async fn tell(&mut self, err: &SqlError, seq: u8) -> Result<Summary, Failure> {
        self.metrics.error(err.code);
        match self.client.send_error(err, seq).await {
            Ok(()) => Err(Failure::Told),
            Err(e) => Err(Failure::Fatal(SessionError::Io(e))),
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
