//! Variables a statement assigned values rwsplit cannot replay as written (`SET @a =
//! NOW()`, `SELECT … INTO @a`, `@a := …`, a CALL's `@out`, a SET sqlparser cannot parse):
//! read back from the connection that ran it and recorded in the session history as a
//! literal SET, so they follow the session to any connection instead of pinning it.
//!
//! The read-back waits until the connection is about to serve something else: a
//! follow-up about the statement (SHOW WARNINGS, ROW_COUNT()) first sees the statement's
//! own diagnostics. It runs before the next other statement is planned, before a prepare,
//! and before the connection goes back to its pool. What the query and the literal are
//! is `classify::readback`'s (pure).

use super::Session;
use crate::classify::{readback, Detail, Flags, Kind, Statement, Variable};
use crate::route::Served;

use super::history::Replay;

impl Session {
    /// After a statement ran on `served`: notes what it assigned, to read back, and
    /// marks a connection a CALL ran on as holding state rwsplit does not track.
    pub(super) async fn note_read_back(&mut self, st: &Statement, served: Served) {
        if matches!(st.detail, Detail::Call) || st.parts.iter().any(|p| p.detail == Detail::Call) {
            if let Some(c) = self.conns.get_mut(served) {
                c.untracked = true;
            }
        }
        let Some(vars) = st.read_back.as_ref().filter(|v| !v.is_empty()) else {
            return;
        };
        if self.read_back.as_ref().is_some_and(|(s, _)| *s != served) {
            self.flush_read_back().await;
        }
        let (_, pending) = self.read_back.get_or_insert_with(|| (served, Vec::new()));
        for v in vars {
            if !pending.contains(v) {
                pending.push(v.clone());
            }
        }
    }

    /// Reads back what is noted and records it as a literal SET. When the read-back
    /// fails, the values stay the connection's alone (`SessionState::read_back_failed`:
    /// the session pins, or keeps its reads on the writer); when the connection is gone,
    /// so are they, as on a direct connection.
    pub(super) async fn flush_read_back(&mut self) {
        let Some((served, vars)) = self.read_back.take() else {
            return;
        };
        let Some(conn) = self.conns.get_mut(served) else {
            tracing::debug!(
                session = self.id,
                "read-back: the connection is gone, and its values with it"
            );
            return;
        };
        let sql = readback::query(&vars);
        let set = match conn.query_row(&sql, readback::columns(&vars)).await {
            Ok(row) => {
                let cells: Vec<readback::Cell<'_>> =
                    row.iter().map(|(t, v)| (*t, v.as_deref())).collect();
                readback::literal_set(&vars, &cells)
            }
            Err(e) => {
                tracing::debug!(session = self.id, error = %e, "read-back failed");
                None
            }
        };
        match set {
            Some(set) => {
                metrics::counter!("rwsplit_read_backs_total", "outcome" => "ok").increment(1);
                let mut keys: Vec<String> = vars.iter().map(Variable::key).collect();
                keys.sort();
                keys.dedup();
                self.record(served, Replay::Query(set), &keys.join(","), true);
            }
            None => {
                metrics::counter!("rwsplit_read_backs_total", "outcome" => "failed").increment(1);
                self.state.read_back_failed(&vars);
            }
        }
    }
}

/// A statement about the one before it, which must see that statement's diagnostics:
/// the read-back waits until after it.
pub(super) fn is_follow_up(st: &Statement) -> bool {
    st.kind == Kind::Diagnostics || st.flags.contains(Flags::LAST_STATEMENT)
}
