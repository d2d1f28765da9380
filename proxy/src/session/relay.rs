//! Running one command on the writer or on a reader, and relaying its answer; a reader
//! that fails before the client saw anything is reported for a retry elsewhere.

use std::time::Instant;

use super::{conns, consistency, prepared, writer_addr, Failure, Message, Session, SessionError};
use crate::backend::{relay_bounded, RelayError};
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
        let topo = self.shared.topology();
        match self.run_on_writer(msg, None, expect, &topo, true).await {
            Ok(s) => {
                self.state.after_writer_command(s.status);
                Ok(Some(s))
            }
            Err(Failure::Told) | Err(Failure::Retry(_)) => Ok(None),
            Err(Failure::Fatal(e)) => Err(e),
        }
    }

    pub(super) async fn run_on_writer(
        &mut self,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        topo: &Topology,
        writes: bool,
    ) -> Result<Summary, Failure> {
        let seq = msg.reply_seq();
        // Follow the writer when it moved (not inside a transaction: that one is gone).
        if self.drop_stale_writer(topo).await && self.state.in_transaction_scope() {
            self.state = SessionState::new(status::AUTOCOMMIT);
            return self
                .tell(
                    &SqlError::lost_connection("the writer changed; the transaction was lost"),
                    seq,
                )
                .await;
        }
        if self.writer.is_none() {
            if let Err(e) = self.connect_writer(topo).await {
                let addr = writer_addr(topo);
                tracing::warn!(session = self.id, error = %e, "cannot reach the writer");
                return self.tell(&e.to_sql(&addr), seq).await;
            }
        }
        // Session changes made elsewhere (inside a read-only transaction on a reader).
        if let Some(mut w) = self.writer.take() {
            let behind =
                w.applied < self.history.last_seq() || (self.db.is_some() && w.db != self.db);
            let synced = if behind {
                self.sync(&mut w).await
            } else {
                Ok(())
            };
            match synced {
                Ok(()) => self.writer = Some(w),
                Err(e) => {
                    let addr = w.addr.clone();
                    return self.tell(&e.to_sql(&addr), seq).await;
                }
            }
        }
        let Some(w) = self.writer.as_mut() else {
            return self.tell(&SqlError::no_backend("no writer"), seq).await;
        };
        let mut forwarded = false;
        let bytes = match call {
            None => Ok(None),
            Some(c) => prepared::packets_for(w, &self.prepared, c).await.map(Some),
        };
        let result = match bytes {
            Ok(b) => match w.send(b.as_deref().unwrap_or(&msg.raw)).await {
                Ok(()) => {
                    let mut down = consistency::NotingWrites {
                        client: &mut self.client,
                        shared: &self.shared,
                        writes,
                    };
                    let killer = conns::killer(&self.login, &self.config, &self.shared);
                    relay_bounded(w, &mut down, expect, &mut forwarded, killer).await
                }
                Err(e) => Err(RelayError::Backend(e)),
            },
            Err(e) if !e.is_unreachable() => {
                // The statement cannot be prepared on the writer: the client hears why.
                let addr = w.addr.clone();
                return self.tell(&e.to_sql(&addr), seq).await;
            }
            Err(e) => Err(RelayError::Backend(e)),
        };
        match result {
            Ok(s) => Ok(s),
            Err(RelayError::Client(e)) => {
                self.writer = None;
                Err(Failure::Fatal(SessionError::Io(e)))
            }
            Err(RelayError::Backend(e)) => {
                let addr = w.addr.clone();
                let id = w.id;
                tracing::warn!(session = self.id, backend = %addr, error = %e, "writer connection lost");
                self.writer = None;
                if e.is_unreachable() {
                    self.shared.report_down(id);
                }
                let was_tx = self.state.in_transaction_scope();
                self.state = SessionState::new(status::AUTOCOMMIT);
                if forwarded {
                    // The client is in the middle of an answer: only closing is honest.
                    return Err(Failure::Fatal(SessionError::Backend(e)));
                }
                let what = if was_tx {
                    format!("{addr}: {e}; the open transaction was rolled back")
                } else {
                    format!("{addr}: {e}")
                };
                self.tell(&SqlError::lost_connection(&what), seq).await
            }
        }
    }

    pub(super) async fn run_on_reader(
        &mut self,
        id: BackendId,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        expect: Expect,
        topo: &Topology,
    ) -> Result<Summary, Failure> {
        let idx = match self.reader_conn(id, topo).await {
            Ok(i) => i,
            Err(e) => {
                tracing::debug!(session = self.id, backend = %id, error = %e, "reader not usable");
                if e.is_unreachable() {
                    self.shared.report_down(id);
                }
                return Err(Failure::Retry(id));
            }
        };
        let conn = &mut self.readers[idx];
        let mut forwarded = false;
        let load = conn.load().cloned();
        if let Some(l) = &load {
            l.active.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let started = Instant::now();
        let bytes = match call {
            None => Ok(None),
            Some(c) => prepared::packets_for(conn, &self.prepared, c)
                .await
                .map(Some),
        };
        let result = match bytes {
            Ok(b) => match conn.send(b.as_deref().unwrap_or(&msg.raw)).await {
                Ok(()) => {
                    let killer = conns::killer(&self.login, &self.config, &self.shared);
                    relay_bounded(conn, &mut self.client, expect, &mut forwarded, killer).await
                }
                Err(e) => Err(RelayError::Backend(e)),
            },
            Err(e) => Err(RelayError::Backend(e)),
        };
        if let Some(l) = &load {
            l.active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            l.observe(started.elapsed().as_micros() as u64);
        }
        match result {
            Ok(s) => Ok(s),
            Err(RelayError::Client(e)) => {
                self.readers.swap_remove(idx);
                Err(Failure::Fatal(SessionError::Io(e)))
            }
            Err(RelayError::Backend(e)) => {
                let conn = self.readers.swap_remove(idx);
                tracing::warn!(session = self.id, backend = %conn.addr, error = %e, "reader connection lost");
                if e.is_unreachable() {
                    self.shared.report_down(id);
                }
                let in_tx = self.state.tx_backend == Some(Served::Reader(id));
                if forwarded {
                    return Err(Failure::Fatal(SessionError::Backend(e)));
                }
                if in_tx {
                    self.state = SessionState::new(status::AUTOCOMMIT);
                    return self
                        .tell(
                            &SqlError::lost_connection(&format!(
                                "{}: {e}; the read-only transaction was lost",
                                conn.addr
                            )),
                            msg.reply_seq(),
                        )
                        .await;
                }
                Err(Failure::Retry(id))
            }
        }
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
