//! Transaction pooling, the session's side: after each command the session gives its
//! backend connections back to their pools, unless a pin ([`route::pin`]) or a possible
//! follow-up (SHOW WARNINGS, ROW_COUNT(), FOUND_ROWS()) keeps them; what the next
//! connection needs of the session's own (its LAST_INSERT_ID()) is read back first and
//! restored where a statement reads it. The state replay itself is the history's
//! (`conns`).

use super::Session;
use crate::backend::{BackendConn, BackendError, InsertId};
use crate::classify::{Flags, Kind, Statement};
use crate::config::PoolMode;
use crate::protocol::response::Summary;
use crate::route::{self, PinReason, Topology};

use super::conns::ctx;

impl Session {
    /// True when connections are borrowed per statement or transaction.
    pub(super) fn transaction_pooling(&self) -> bool {
        self.pool_mode == PoolMode::Transaction
    }

    /// Why the session must keep its connections now, if it must.
    pub(super) fn pin(&self) -> Option<PinReason> {
        route::pin(&self.state, self.prepared.cursor_open())
    }

    /// After a statement: whether its answer invites a follow-up about it (warnings or an
    /// error to show, a DML's ROW_COUNT(), SQL_CALC_FOUND_ROWS' FOUND_ROWS()), which must
    /// run on the same connection.
    pub(super) fn note_follow_up(&mut self, st: &Statement, s: &Summary) {
        let parts = || std::iter::once(st).chain(st.parts.iter());
        self.follow_up = s.warnings > 0
            || s.error.is_some()
            || parts().any(|p| p.kind == Kind::Write || p.flags.contains(Flags::CALC_FOUND_ROWS));
    }

    /// After every command: in transaction pooling the pin is noted (counted when one
    /// starts, shown in SHOW SESSIONS), and without one, nor a follow-up to wait for, the
    /// connections go back to their pools. The connections the session still holds then
    /// free their read buffers while its client is idle.
    pub(super) async fn between_commands(&mut self) {
        if self.transaction_pooling() {
            self.pool_between_commands().await;
        }
        self.conns.shed_buffers();
    }

    async fn pool_between_commands(&mut self) {
        let pin = self.pin();
        if pin != self.pinned {
            if let Some(r) = pin {
                metrics::counter!("rwsplit_pins_total", "reason" => r.label()).increment(1);
            }
            self.pinned = pin;
            self.registration.info.set_pinned(pin.map(PinReason::label));
        }
        if pin.is_none() && !self.follow_up && self.conns.any() {
            self.give_back_connections().await;
        }
    }

    /// Gives the connections back between statements, after reading back the variables
    /// the last statement assigned (`readback`) and the LAST_INSERT_ID() a statement of
    /// this session changed on the writer connection.
    pub(super) async fn give_back_connections(&mut self) {
        self.flush_read_back().await;
        if let Some(w) = self.conns.open_writer() {
            if w.last_insert_id == InsertId::Own {
                match w.query_scalar("SELECT LAST_INSERT_ID()").await {
                    Ok(v) => {
                        let v = v.and_then(|s| s.parse().ok()).unwrap_or(0);
                        w.last_insert_id = InsertId::Known(v);
                        self.last_insert_id = v;
                    }
                    Err(e) => {
                        tracing::debug!(session = self.id, error = %e, "reading LAST_INSERT_ID() back failed");
                        self.conns.drop(route::Served::Writer);
                    }
                }
            }
        }
        self.conns.release_all(&self.live, &self.history, true);
        self.conns.publish_threads(&self.registration.info);
        self.follow_up = false;
    }

    /// Before a statement that reads LAST_INSERT_ID() runs on the writer: the writer
    /// connection returns this session's value. Failures are left to the statement (it
    /// meets the same connection).
    pub(super) async fn restore_last_insert_id(&mut self, topo: &Topology) {
        if !self.transaction_pooling() {
            return;
        }
        let want = self.last_insert_id;
        let Ok(w) = self.conns.writer(topo, &ctx!(self)).await else {
            return;
        };
        if let Err(e) = set_last_insert_id(w, want).await {
            tracing::debug!(session = self.id, error = %e, "restoring LAST_INSERT_ID() failed");
        }
    }
}

/// Makes LAST_INSERT_ID() return `want` on `conn`, unless it does or the value there is
/// the holder's own.
async fn set_last_insert_id(conn: &mut BackendConn, want: u64) -> Result<(), BackendError> {
    match conn.last_insert_id {
        InsertId::Own => Ok(()),
        InsertId::Known(v) if v == want => Ok(()),
        _ => {
            conn.query(&format!("SET @@session.last_insert_id = {want}"))
                .await?;
            conn.last_insert_id = InsertId::Known(want);
            Ok(())
        }
    }
}
