//! Binary prepared statements on any backend: the client sees one statement id; each
//! backend connection that runs the statement prepares it lazily (again after a
//! reconnect) and has its own id, rewritten into each COM_STMT_* packet. Executions are
//! routed like queries, by the statement's kind and the session's state.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::BytesMut;
use mysql_common::constants::CapabilityFlags;

use super::conns::ctx;
use super::{Failure, Message, Session, SessionError};
use crate::backend::{
    BackendConn, BackendError, BackendStmt, Capture, MetaPlan, RelayError, StmtKey,
};
use crate::classify::{Flags, Statement};
use crate::protocol::command::{COM_STMT_CLOSE, COM_STMT_PREPARE, COM_STMT_RESET};
use crate::protocol::execute::{
    execute_for_backend, execute_layout, with_statement_id, ExecuteLayout,
};
use crate::protocol::metadata;
use crate::protocol::ok::ok_payload;
use crate::protocol::packet::packets;
use crate::protocol::response::{Expect, PrepareOk};
use crate::protocol::{codes, SqlError};
use crate::route::{self, Served, Target};

/// A statement the client prepared.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Its text, to prepare it on other backends.
    pub sql: Arc<[u8]>,
    /// The default database it was prepared in: its unqualified names refer to that
    /// database's objects wherever it runs.
    pub db: Option<Arc<str>>,
    /// How it routes.
    pub statement: Arc<Statement>,
    pub params: u16,
    pub columns: u16,
    /// The parameter types the client sent last (2 bytes per parameter).
    pub types: Option<Vec<u8>>,
    /// COM_STMT_SEND_LONG_DATA payloads since the last execution, sent just before it to
    /// whichever backend runs it.
    pub long_data: Vec<Vec<u8>>,
    pub long_data_bytes: usize,
    /// Long data was dropped for lack of room (server.max_session_memory): the next
    /// execution fails with 1041.
    pub long_data_dropped: bool,
    /// The backend holding this statement's open cursor.
    pub cursor: Option<Served>,
    /// MARIADB_CLIENT_CACHE_METADATA: the fingerprint of the column definitions the
    /// client has for it (from its prepare, or the last execution that sent them; 0: not
    /// known, as after an execution that failed midway).
    pub meta: u64,
}

/// The session's prepared statements.
#[derive(Debug, Default)]
pub struct Statements {
    pub map: HashMap<u32, Prepared>,
    next: u32,
    /// The last one prepared (MariaDB's "execute direct" refers to it as id 0xFFFFFFFF).
    pub last: Option<u32>,
    /// Transaction pooling: backend connections are shared, so they know statements by
    /// text and keep at most this many (`pool.prepared_per_connection`).
    pub shared: Option<usize>,
}

impl Statements {
    /// Bytes the statements hold: their text, parameter types and pending long data.
    pub fn bytes(&self) -> usize {
        self.map
            .values()
            .map(|p| {
                p.sql.len()
                    + p.types.as_ref().map_or(0, Vec::len)
                    + p.long_data_bytes
                    + std::mem::size_of::<Prepared>()
            })
            .sum()
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.last = None;
    }

    /// Keeps a statement just prepared; returns the id the client knows it by.
    fn add(
        &mut self,
        sql: &[u8],
        db: Option<&str>,
        statement: Statement,
        ok: PrepareOk,
        meta: u64,
    ) -> u32 {
        self.next = self.next.wrapping_add(1).max(1);
        let id = self.next;
        let p = Prepared {
            sql: Arc::from(sql),
            db: db.map(Arc::from),
            statement: Arc::new(statement),
            params: ok.params,
            columns: ok.columns,
            types: None,
            long_data: Vec::new(),
            long_data_bytes: 0,
            long_data_dropped: false,
            cursor: None,
            meta,
        };
        self.map.insert(id, p);
        self.last = Some(id);
        id
    }

    /// How a backend connection knows statement `id`: by its text when connections are
    /// shared, unless another statement of the same text has a cursor open (executing
    /// the shared one would close it).
    pub fn key(&self, id: u32) -> StmtKey {
        let Some(p) = self.map.get(&id) else {
            return StmtKey::Client(id);
        };
        let cursor_of_twin = || {
            self.map
                .iter()
                .any(|(&other, q)| other != id && q.cursor.is_some() && q.sql == p.sql)
        };
        match self.shared {
            Some(_) if !cursor_of_twin() => StmtKey::Text {
                sql: p.sql.clone(),
                db: p.db.clone(),
            },
            _ => StmtKey::Client(id),
        }
    }

    /// True when a statement has a cursor open (it lives on one backend connection).
    pub fn cursor_open(&self) -> bool {
        self.map.values().any(|p| p.cursor.is_some())
    }

    fn resolve(&self, id: u32) -> u32 {
        if id == u32::MAX {
            self.last.unwrap_or(id)
        } else {
            id
        }
    }
}

/// One execution (or fetch, or bulk execution) of a prepared statement.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub client_id: u32,
    /// The client's payload.
    pub payload: Cow<'a, [u8]>,
    /// Set for COM_STMT_EXECUTE.
    pub layout: Option<ExecuteLayout>,
    /// Send the buffered long data first.
    pub with_long_data: bool,
    /// The long data to send instead of the statement's buffered long data (a replay).
    pub long_data: Option<&'a [Vec<u8>]>,
}

impl Call<'_> {
    /// Whether the execution can be sent to a backend again, as it is: it sends no long
    /// data (consumed by the first execution) and opens no cursor (its flags byte is 0).
    pub fn repeatable(&self) -> bool {
        !self.with_long_data && self.long_data.is_none() && self.payload.get(5) == Some(&0)
    }
}

/// Keeps statement `stmt` prepared on `conn` as `key`, closing there the one it replaces
/// or pushes out of the cache.
async fn remember(
    conn: &mut BackendConn,
    key: StmtKey,
    stmt: BackendStmt,
    max: usize,
) -> Result<(), BackendError> {
    if let Some(old) = conn.stmts.insert(key, stmt, max) {
        let mut close = vec![COM_STMT_CLOSE];
        close.extend_from_slice(&old.to_le_bytes());
        conn.send_unanswered(&packets(&close, 0)).await?;
    }
    Ok(())
}

/// Prepares the statement on `conn` unless it is there already; returns its id there,
/// and the prepare's answer when it was prepared just now.
async fn ensure_prepared(
    conn: &mut BackendConn,
    p: &Prepared,
    key: &StmtKey,
    max: usize,
) -> Result<(BackendStmt, Option<Vec<u8>>), BackendError> {
    if let Some(s) = conn.stmts.get(key) {
        return Ok((s, None));
    }
    let (st, answer) = prepare_here(conn, p, key, max).await?;
    Ok((st, Some(answer)))
}

/// Prepares the statement on `conn` (closing there the one `key` named); returns it and
/// the answer (framed), whose column definitions the connection has then sent.
async fn prepare_here(
    conn: &mut BackendConn,
    p: &Prepared,
    key: &StmtKey,
    max: usize,
) -> Result<(BackendStmt, Vec<u8>), BackendError> {
    // In the database it was prepared in (the session has changed its own since).
    let back = match (&p.db, &conn.db) {
        (Some(want), has) if has.as_deref() != Some(&**want) => {
            let back = has.clone();
            conn.init_db(want).await?;
            back
        }
        _ => None,
    };
    let mut payload = Vec::with_capacity(p.sql.len() + 1);
    payload.push(COM_STMT_PREPARE);
    payload.extend_from_slice(&p.sql);
    conn.send(&packets(&payload, 0)).await?;
    let mut answer = Capture::default();
    let s = match conn.relay(&mut answer, Expect::Prepare, &mut false).await {
        Ok(s) => s,
        Err(RelayError::Backend(e)) => return Err(e),
        Err(RelayError::Client(e)) => return Err(BackendError::Io(e)),
    };
    if let Some(db) = back {
        conn.init_db(&db).await?;
    }
    match s.prepare {
        // Metadata the client got at prepare time must stay true.
        Some(ok) if ok.params == p.params && ok.columns == p.columns => {
            let st = BackendStmt::new(ok.statement_id, s.meta.unwrap_or(0));
            remember(conn, key.clone(), st, max).await?;
            Ok((st, answer.0))
        }
        Some(ok) => {
            let mut close = vec![COM_STMT_CLOSE];
            close.extend_from_slice(&ok.statement_id.to_le_bytes());
            conn.send_unanswered(&packets(&close, 0)).await?;
            Err(BackendError::Rejected {
                code: codes::ER_UNKNOWN_STMT_HANDLER,
                what: "the statement's metadata differs on this backend".into(),
            })
        }
        None => Err(BackendError::Rejected {
            code: s.error.unwrap_or(codes::ER_UNKNOWN_STMT_HANDLER),
            what: "re-preparing the statement".into(),
        }),
    }
}

/// MARIADB_CLIENT_CACHE_METADATA, before an execution on `conn`: what the relay of its
/// answer must do ([`MetaPlan`]). When the connection last sent column definitions other
/// than those the client has (a table changed between two prepares), it would leave the
/// new ones out: the statement is prepared there again (unless `just_prepared`, the
/// answer of a prepare made for this execution), and its definitions are put back into
/// the answer unless the client has them. Returns the statement to execute.
async fn plan_metadata(
    conn: &mut BackendConn,
    p: &Prepared,
    key: &StmtKey,
    (st, just_prepared): (BackendStmt, Option<Vec<u8>>),
    max: usize,
) -> Result<BackendStmt, BackendError> {
    let mut plan = MetaPlan {
        key: key.clone(),
        inject: None,
    };
    let mut st = st;
    if st.meta != p.meta {
        let (fresh, answer) = match just_prepared {
            Some(answer) => (st, answer),
            None => prepare_here(conn, p, key, max).await?,
        };
        let deprecate_eof = conn.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF);
        if fresh.meta != p.meta {
            plan.inject =
                metadata::prepare_columns(&answer, deprecate_eof).map(|d| (d, fresh.meta));
        }
        st = fresh;
    }
    conn.meta_plan = Some(plan);
    Ok(st)
}

/// The bytes that run `call` on `conn`: long data first, then the command with the
/// backend's statement id (and the parameter types, if this backend lacks them).
pub async fn packets_for(
    conn: &mut BackendConn,
    stmts: &Statements,
    call: &Call<'_>,
) -> Result<BytesMut, BackendError> {
    let p = stmts
        .map
        .get(&call.client_id)
        .ok_or(BackendError::Rejected {
            code: codes::ER_UNKNOWN_STMT_HANDLER,
            what: "unknown prepared statement".into(),
        })?;
    let key = stmts.key(call.client_id);
    let max = stmts.shared.unwrap_or(usize::MAX);
    let prepared = ensure_prepared(conn, p, &key, max).await?;
    let st = if conn.cache_metadata && call.layout.is_some() {
        plan_metadata(conn, p, &key, prepared, max).await?
    } else {
        prepared.0
    };
    let mut out = BytesMut::new();
    if call.with_long_data {
        for chunk in call.long_data.unwrap_or(&p.long_data) {
            out.extend_from_slice(&packets(&with_statement_id(chunk, st.id), 0));
        }
    }
    let payload = match &call.layout {
        Some(layout) => {
            let add_types = if st.types_sent || layout.types.is_some() {
                None
            } else {
                p.types.as_deref()
            };
            if layout.types.is_some() || add_types.is_some() {
                conn.stmts.types_sent(&key);
            }
            execute_for_backend(&call.payload, layout, st.id, add_types)
        }
        None => with_statement_id(&call.payload, st.id),
    };
    out.extend_from_slice(&packets(&payload, 0));
    Ok(out)
}

impl Session {
    fn unknown_statement(id: u32, what: &str) -> SqlError {
        SqlError::new(
            codes::ER_UNKNOWN_STMT_HANDLER,
            b"HY000",
            format!("Unknown prepared statement handler ({id}) given to {what}"),
        )
    }

    /// COM_STMT_PREPARE: prepared where the plan says (the writer; a reader while the
    /// writer is away), its answer relayed with the session's own statement id.
    pub(super) async fn prepare(&mut self, msg: &Message, sql: &[u8]) -> Result<(), SessionError> {
        let seq = msg.reply_seq();
        let cap = self.live.config.server.max_session_memory;
        if self.held_bytes() + sql.len() > cap {
            metrics::counter!("rwsplit_session_memory_refusals_total").increment(1);
            self.client
                .send_error(&SqlError::session_memory(cap), seq)
                .await?;
            return Ok(());
        }
        let mut statement = self.live.classifier.classify(sql);
        statement.flags |= Flags::PREPARED;
        self.flush_read_back().await;
        // With neither a writer nor a reader (a failover), the prepare waits for a writer.
        let mut hold = super::failover::Hold::new(self.live.config.failover.hold_ms);
        let cause = super::failover::Cause::NoWriter;
        let served = loop {
            if let Some(s) = self.prepare_on().await {
                break Some(s);
            }
            if !self.wait_for_writer(&mut hold, cause, None).await {
                break None;
            }
        };
        hold.end(if served.is_some() {
            "resumed"
        } else {
            "timed_out"
        });
        let Some(served) = served else {
            self.client
                .send_error(&SqlError::no_backend("cannot prepare"), seq)
                .await?;
            return Ok(());
        };
        let Some(conn) = self.conns.get_mut(served) else {
            return Ok(());
        };
        let mut capture = Capture::default();
        let mut forwarded = false;
        let result = match conn.send(&msg.raw).await {
            Ok(()) => {
                conn.relay(&mut capture, Expect::Prepare, &mut forwarded)
                    .await
            }
            Err(e) => Err(RelayError::Backend(e)),
        };
        let summary = match result {
            Ok(s) => s,
            Err(RelayError::Client(io)) => return Err(SessionError::Io(io)),
            Err(RelayError::Backend(b)) => {
                let err = SqlError::lost_connection(&format!("{}: {b}", conn.addr));
                if served == Served::Writer {
                    self.conns.drop(served);
                }
                self.client.send_error(&err, seq).await?;
                return Ok(());
            }
        };
        let Some(ok) = summary.prepare else {
            // An error: the client sees it as the server sent it.
            self.client.write(&capture.0).await?;
            return Ok(());
        };
        let meta = summary.meta.unwrap_or(0);
        let db = self.db.as_deref();
        let client_id = self.prepared.add(sql, db, statement, ok, meta);
        let key = self.prepared.key(client_id);
        let max = self.prepared.shared.unwrap_or(usize::MAX);
        let backend = BackendStmt::new(ok.statement_id, meta);
        if remember(conn, key, backend, max).await.is_err() {
            self.conns.drop(served);
        }
        // PREPARE_OK: header (4), 0x00, then the statement id.
        if let Some(id) = capture.0.get_mut(5..9) {
            id.copy_from_slice(&client_id.to_le_bytes());
        }
        self.client.write(&capture.0).await?;
        Ok(())
    }

    /// Where a statement is prepared: the plan's choice among the writer (following it
    /// when it moved) and, while it is away, the readers in the policy's order.
    async fn prepare_on(&mut self) -> Option<Served> {
        let topo = self.shared.topology.current();
        self.conns.drop_stale_writer(&topo).await;
        let writer_away = match self.conns.writer(&topo, &ctx!(self)).await {
            Ok(_) => false,
            Err(e) => {
                tracing::debug!(session = self.id, error = %e, "preparing on a reader: the writer is away");
                true
            }
        };
        let plan = {
            let load = |id| self.shared.loads.snapshot(id);
            let ticket = || self.shared.loads.next_ticket();
            route::plan_prepare(&topo, writer_away, &self.plan_policy(&ticket, &load))
        };
        if plan.route.target == Target::Writer {
            return Some(Served::Writer);
        }
        let id = plan.next_reader(&[])?;
        self.conns.reader(id, &topo, &ctx!(self)).await.ok()?;
        Some(Served::Reader(id))
    }

    /// COM_STMT_EXECUTE (and MariaDB's COM_STMT_BULK_EXECUTE, which goes to the writer).
    pub(super) async fn execute(
        &mut self,
        msg: &Message,
        id: u32,
        bulk: bool,
    ) -> Result<(), SessionError> {
        let id = self.prepared.resolve(id);
        let Some(layout) = self.check_execution(msg, id, bulk).await? else {
            return Ok(());
        };
        let Some(p) = self.prepared.map.get(&id) else {
            return Ok(());
        };
        let (statement, sql) = (p.statement.clone(), p.sql.clone());
        let with_long_data = !p.long_data.is_empty();
        let st = self.execution_statement(&statement, &sql, bulk);
        let call = Call {
            client_id: id,
            payload: msg.payload(),
            layout,
            with_long_data,
            long_data: None,
        };
        let ran = self
            .routed(msg, Some(&call), &st, Expect::Results, &sql)
            .await?;
        if let Some(p) = self.prepared.map.get_mut(&id) {
            if with_long_data {
                p.long_data.clear();
                p.long_data_bytes = 0;
            }
            match ran {
                Some((served, s)) => {
                    let cursor = s
                        .status
                        .is_some_and(|st| st & 0x0040 != 0 /* SERVER_STATUS_CURSOR_EXISTS */);
                    p.cursor = cursor.then_some(served);
                    if let Some(meta) = s.meta {
                        // The client got these column definitions with the answer.
                        p.meta = meta;
                    }
                }
                // It may have got some before the answer broke off.
                None => p.meta = 0,
            }
        }
        Ok(())
    }

    /// Whether statement `id` can be executed now: it exists, its long data was kept,
    /// its parameters parse (the parameter types sent are remembered). `Some(layout)`
    /// when it can (`None` inside for a bulk execution); `None` when the client was told
    /// why not.
    async fn check_execution(
        &mut self,
        msg: &Message,
        id: u32,
        bulk: bool,
    ) -> Result<Option<Option<ExecuteLayout>>, SessionError> {
        let seq = msg.reply_seq();
        let payload = msg.payload();
        let Some(p) = self.prepared.map.get_mut(&id) else {
            let what = match bulk {
                true => "mysqld_stmt_bulk_execute",
                false => "mysqld_stmt_execute",
            };
            let err = Self::unknown_statement(id, what);
            self.client.send_error(&err, seq).await?;
            return Ok(None);
        };
        if p.long_data_dropped {
            p.long_data_dropped = false;
            let err = SqlError::session_memory(self.live.config.server.max_session_memory);
            self.client.send_error(&err, seq).await?;
            return Ok(None);
        }
        if bulk {
            return Ok(Some(None));
        }
        let layout = match execute_layout(&payload, p.params) {
            Ok(l) => l,
            Err(e) => {
                self.client.send_error(&e.to_sql(), seq).await?;
                return Ok(None);
            }
        };
        if let Some((off, len)) = layout.types {
            if p.types.as_deref() != payload.get(off..off + len) {
                p.types = payload.get(off..off + len).map(<[u8]>::to_vec);
            }
        }
        Ok(Some(Some(layout)))
    }

    /// How one execution routes: as the prepared statement, unless it is a bulk
    /// execution (a write) or a routing rule matches it now (a copy then).
    fn execution_statement<'s>(
        &self,
        statement: &'s Statement,
        sql: &[u8],
        bulk: bool,
    ) -> Cow<'s, Statement> {
        if !bulk && self.live.rules.is_empty() {
            return Cow::Borrowed(statement);
        }
        let mut o = statement.clone();
        if bulk {
            o.kind = crate::classify::Kind::Write;
        }
        let user = &self.login.user.name;
        o.rule = self
            .live
            .rules
            .route_for(sql, o.digest, user, self.db.as_deref());
        Cow::Owned(o)
    }

    /// COM_STMT_FETCH: on the backend holding the cursor (the plan for a cursor).
    pub(super) async fn fetch(&mut self, msg: &Message, id: u32) -> Result<(), SessionError> {
        let seq = msg.reply_seq();
        let id = self.prepared.resolve(id);
        let Some(p) = self.prepared.map.get(&id) else {
            self.client
                .send_error(&Self::unknown_statement(id, "mysqld_stmt_fetch"), seq)
                .await?;
            return Ok(());
        };
        let call = Call {
            client_id: id,
            payload: msg.payload(),
            layout: None,
            with_long_data: false,
            long_data: None,
        };
        let topo = self.shared.topology.current();
        let plan = route::plan_cursor(p.cursor, &topo);
        let result = match plan.first(&topo) {
            Served::Reader(r) => {
                self.run_on_reader(r, msg, Some(&call), Expect::Fetch, &topo, None)
                    .await
            }
            Served::Writer => {
                let job = super::relay::OnWriter {
                    writes: false,
                    effect: route::Effect::Bound,
                    verify: route::Verify::None,
                    record: false,
                };
                self.run_on_writer(msg, Some(&call), Expect::Fetch, &topo, job)
                    .await
            }
        };
        match result {
            Ok(_) | Err(Failure::Told) => Ok(()),
            Err(Failure::Retry(_) | Failure::Stale(_)) => {
                let err = SqlError::lost_connection("the backend holding the cursor is gone");
                self.client.send_error(&err, seq).await?;
                Ok(())
            }
            Err(Failure::Fatal(e)) => Err(e),
        }
    }

    /// Every backend connection the session holds that has the statement (`key`), with
    /// its id there.
    fn holders(&mut self, key: &StmtKey) -> Vec<(&mut BackendConn, u32)> {
        self.conns
            .all_mut()
            .filter_map(|c| c.stmts.peek(key).map(|s| s.id).map(|sid| (c, sid)))
            .collect()
    }

    /// COM_STMT_RESET: on every backend holding the statement.
    pub(super) async fn stmt_reset(&mut self, msg: &Message, id: u32) -> Result<(), SessionError> {
        let seq = msg.reply_seq();
        let id = self.prepared.resolve(id);
        if !self.prepared.map.contains_key(&id) {
            self.client
                .send_error(&Self::unknown_statement(id, "mysqld_stmt_reset"), seq)
                .await?;
            return Ok(());
        }
        let mut failed = None;
        let session = self.id;
        let key = self.prepared.key(id);
        for (conn, sid) in self.holders(&key) {
            let mut payload = vec![COM_STMT_RESET];
            payload.extend_from_slice(&sid.to_le_bytes());
            match conn.command(&payload, Expect::Single).await {
                Ok(s) if s.error.is_some() => failed = s.error,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(session, error = %e, "COM_STMT_RESET failed on a backend");
                    conn.stmts.remove(&key);
                }
            }
        }
        if let Some(p) = self.prepared.map.get_mut(&id) {
            p.long_data.clear();
            p.long_data_bytes = 0;
            p.cursor = None;
        }
        match failed {
            Some(code) => {
                let err = SqlError::new(code, b"HY000", "COM_STMT_RESET failed on the backend");
                self.client.send_error(&err, seq).await?;
            }
            None => {
                let ok = ok_payload(0, 0, self.status_flags(), 0);
                self.client.send(&ok, seq).await?;
            }
        }
        Ok(())
    }

    /// COM_STMT_CLOSE: on every backend holding the statement (no answer). One shared
    /// by text stays prepared there, for whoever runs the same text next.
    pub(super) async fn stmt_close(&mut self, id: u32) {
        let id = self.prepared.resolve(id);
        let key = self.prepared.key(id);
        self.prepared.map.remove(&id);
        if matches!(key, StmtKey::Text { .. }) {
            return;
        }
        let mut lost = Vec::new();
        for (conn, sid) in self.holders(&key) {
            let mut payload = vec![COM_STMT_CLOSE];
            payload.extend_from_slice(&sid.to_le_bytes());
            if conn.send_unanswered(&packets(&payload, 0)).await.is_err() {
                lost.push(conn.id);
            }
            conn.stmts.remove(&key);
        }
        self.conns.drop_backends(&lost);
    }

    /// COM_STMT_SEND_LONG_DATA: kept until the execution, which sends it to its backend.
    pub(super) fn long_data(&mut self, msg: &Message, id: u32) {
        let id = self.prepared.resolve(id);
        let held = self.held_bytes();
        let cap = self.live.config.server.max_session_memory;
        if let Some(p) = self.prepared.map.get_mut(&id) {
            let payload = msg.payload();
            let len = payload.len();
            if p.long_data_dropped || held + len > cap {
                // No answer to this command: the execution that follows reports it.
                metrics::counter!("rwsplit_session_memory_refusals_total").increment(1);
                p.long_data_dropped = true;
                p.long_data.clear();
                p.long_data_bytes = 0;
                return;
            }
            p.long_data_bytes += len;
            p.long_data.push(payload.into_owned());
        }
    }
}
