//! A client session: the per-client loop reads a command, asks the router where it goes,
//! hands it to that backend connection and relays the answer. Backend connections are
//! opened lazily (the writer at login) and brought to the session's state before use.

mod client;
mod conns;
mod consistency;
mod control;
mod history;
mod idle;
mod login;
mod prepared;
mod relay;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::backend::{BackendConn, BackendError};
use crate::classify::{Detail, Flags, Kind, Statement};
use crate::config::Config;
use crate::metrics::QueryMetrics;
use crate::protocol::command::{self, Command};
use crate::protocol::ok::ok_payload;
use crate::protocol::response::{Expect, Summary};
use crate::protocol::SqlError;
use crate::route::{
    self, status, BackendId, Outcome, Position, Prelude, Reason, Refusal, Served, SessionState,
    Target, Topology,
};
use crate::shared::{RoutingParts, SessionGuard, Shared};

pub use client::{ClientConn, ClientError, Message};
pub use history::{History, Replay};
pub use login::{new_scramble, Login};

/// Why a session ended (other than the client saying goodbye).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("client i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("client went away")]
    ClientGone,
    #[error("bad handshake: {0}")]
    Handshake(String),
    #[error("no login within server.handshake_timeout_ms")]
    HandshakeTimeout,
    #[error("access denied for '{0}'")]
    AuthFailed(String),
    #[error("'{0}' is at its max_connections")]
    AtCap(String),
    #[error("backend: {0}")]
    Backend(#[from] BackendError),
}

/// Serves one client connection to its end.
pub async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> Result<(), SessionError> {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr()?;
    let config = shared.config();
    let mut client = ClientConn::new(stream, peer, config.server.max_packet_size);
    let id = shared.next_session_id();
    let info = shared.server_info();
    metrics::counter!("rwsplit_connections_total").increment(1);
    let tls = shared.routing().client_tls.clone();
    let rsa = match config.server.caching_sha2_full_auth {
        true => shared.rsa_keys().await,
        false => None,
    };
    let handshake = std::time::Duration::from_millis(config.server.handshake_timeout_ms);
    // Filled by the login's verification: the session in the registry, under its user's cap.
    let mut registered: Option<SessionGuard> = None;
    let admit = |u: &crate::config::UserConfig| {
        registered = shared.register_session(
            crate::shared::SessionInfo {
                id,
                user: std::sync::Mutex::new(u.name.clone()),
                peer: peer.to_string(),
                started: std::time::SystemTime::now(),
                db: Default::default(),
                in_transaction: Default::default(),
                statements: Default::default(),
                threads: Default::default(),
                killed: Default::default(),
                kill_signal: Default::default(),
            },
            u.max_connections,
        );
        registered.is_some()
    };
    let login = match tokio::time::timeout(
        handshake,
        login::authenticate(
            &mut client,
            &info,
            &config,
            id,
            tls.as_deref(),
            rsa.as_deref(),
            admit,
        ),
    )
    .await
    .unwrap_or(Err(SessionError::HandshakeTimeout))
    {
        Ok(l) => l,
        Err(e) => {
            if matches!(e, SessionError::HandshakeTimeout) {
                metrics::counter!("rwsplit_handshake_timeouts_total").increment(1);
                client.shutdown().await;
            }
            return Err(e);
        }
    };
    let Some(registration) = registered else {
        return Err(SessionError::Handshake("login ended unregistered".into()));
    };
    registration.info.set_db(login.db.clone());
    let shared_routing = shared.routing();
    let mut session = Session {
        id,
        db: login.db.clone(),
        login,
        config,
        client,
        shared,
        state: SessionState::default(),
        history: History::default(),
        writer: None,
        readers: Vec::new(),
        prepared: prepared::Statements::default(),
        routing: shared_routing,
        metrics: QueryMetrics::default(),
        registration,
        threads_sig: 0,
        stop,
        writes: Writes::default(),
        wait_timeout_s: None,
    };
    if !session.start().await? {
        return Ok(());
    }
    let r = session.run().await;
    session.close().await;
    r
}

struct Session {
    id: u32,
    shared: Arc<Shared>,
    config: Arc<Config>,
    client: ClientConn,
    login: Login,
    db: Option<String>,
    state: SessionState,
    history: History,
    writer: Option<BackendConn>,
    readers: Vec<BackendConn>,
    /// Prepared statements, by the id the client knows.
    prepared: prepared::Statements,
    /// Classifier and rules (refreshed when the configuration changes).
    routing: Arc<RoutingParts>,
    metrics: QueryMetrics,
    /// This session in the registry the admin interface reads.
    registration: SessionGuard,
    /// A signature of the backend connections last published for KILL.
    threads_sig: u64,
    /// Becomes true when rwsplit shuts down: the session ends once no transaction is open.
    stop: watch::Receiver<bool>,
    /// This session's writes, for read-your-writes.
    writes: Writes,
    /// The session's `wait_timeout` in seconds, when known (see `idle`).
    wait_timeout_s: Option<u64>,
}

/// What read-your-writes needs to know of a session's own writes.
#[derive(Debug, Default)]
struct Writes {
    /// Number of writes this session made.
    seq: u64,
    /// When the last one completed (µs, Unix time).
    last_us: u64,
    /// For each reader, the newest `seq` it is known to have applied.
    verified: HashMap<BackendId, u64>,
    /// The writer position of write `seq` (when fetched).
    target: Option<(u64, Arc<(Position, String)>)>,
}

impl Session {
    /// Opens the writer connection (validating the account and default database against
    /// the server) and finishes the login. Returns false if the client was refused.
    async fn start(&mut self) -> Result<bool, SessionError> {
        let seq = self.login.next_seq;
        let started = self.open_writer_and_ok(seq).await?;
        if started {
            tracing::debug!(session = self.id, user = %self.login.user.name, peer = %self.client.peer, "client logged in");
        }
        Ok(started)
    }

    /// The end of a login (or of COM_CHANGE_USER): opens the writer connection, which
    /// checks the account and default database against the server, then answers OK. An
    /// unreachable writer is tolerated while a reader can serve. Returns false if the
    /// client was sent an error.
    async fn open_writer_and_ok(&mut self, seq: u8) -> Result<bool, SessionError> {
        let topo = self.shared.topology();
        match self.connect_writer(&topo).await {
            Ok(()) => {}
            Err(e) if e.is_unreachable() && topo.has_eligible_reader() => {
                tracing::warn!(session = self.id, error = %e, "writer unreachable at login; continuing with readers");
            }
            Err(e) => {
                let addr = writer_addr(&topo);
                self.client.send_error(&e.to_sql(&addr), seq).await?;
                return Ok(false);
            }
        }
        let st = self
            .writer
            .as_ref()
            .map(|w| w.status)
            .unwrap_or(status::AUTOCOMMIT);
        self.state = SessionState::new(st);
        self.reset_wait_timeout();
        self.client.send(&ok_payload(0, 0, st, 0), seq).await?;
        Ok(true)
    }

    async fn run(&mut self) -> Result<(), SessionError> {
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
        loop {
            if stopping && !self.state.in_transaction_scope() {
                tracing::debug!(session = self.id, "closing for shutdown");
                return Ok(());
            }
            if self.registration.info.is_killed() {
                tracing::debug!(session = self.id, "killed");
                return Ok(());
            }
            let limit = self.idle_limit();
            let idle = async {
                match limit {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            let info = self.registration.info.clone();
            let msg = tokio::select! {
                biased;
                m = self.read_command() => m?,
                // KILL CONNECTION from another session: end now, not at the next command.
                _ = info.kill_signal.notified() => continue,
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    continue;
                }
                _ = idle => {
                    tracing::debug!(session = self.id, limit = ?limit, "idle past its wait_timeout or server.client_idle_timeout_ms: closing");
                    metrics::counter!("rwsplit_idle_timeouts_total").increment(1);
                    return Ok(());
                }
            };
            let Some(msg) = msg else { return Ok(()) };
            if !self.handle(&msg).await? {
                return Ok(());
            }
        }
    }

    /// Reads the next command; a packet over the limit is refused with 1153 and ends
    /// the session (the stream can no longer be trusted).
    async fn read_command(&mut self) -> Result<Option<Message>, SessionError> {
        match self.client.read_message().await {
            Ok(m) => Ok(m),
            Err(ClientError::Protocol(e)) => {
                let _ = self.client.send_error(&e.to_sql(), 1).await;
                Err(ClientError::Protocol(e).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn close(&mut self) {
        if let Some(w) = self.writer.take() {
            w.quit().await;
        }
        for r in self.readers.drain(..) {
            r.quit().await;
        }
        self.client.shutdown().await;
    }

    fn status_flags(&self) -> u16 {
        let mut s = 0;
        if self.state.autocommit {
            s |= status::AUTOCOMMIT;
        }
        if self.state.in_transaction {
            s |= status::IN_TRANS;
        }
        s
    }

    /// Handles one command. Returns false to end the session.
    async fn handle(&mut self, msg: &Message) -> Result<bool, SessionError> {
        if self.registration.info.is_killed() {
            return Ok(false);
        }
        self.refresh();
        let payload = msg.payload();
        let cmd = match command::parse(&payload) {
            Ok(c) => c,
            Err(e) => {
                self.client.send_error(&e.to_sql(), msg.reply_seq()).await?;
                return Ok(true);
            }
        };
        match cmd {
            Command::Quit => return Ok(false),
            Command::Ping => {
                let ok = ok_payload(0, 0, self.status_flags(), 0);
                self.client.send(&ok, msg.reply_seq()).await?;
            }
            Command::Query(sql) => {
                let mut st = self.routing.classifier.classify(sql);
                if let Detail::Kill { id, query_only } = st.detail {
                    if let Some(target) =
                        u32::try_from(id).ok().and_then(|i| self.shared.session(i))
                    {
                        return self.kill(msg, &target, query_only).await;
                    }
                }
                st.rule = self.routing.rules.route_for(
                    sql,
                    st.digest,
                    &self.login.user.name,
                    self.db.as_deref(),
                );
                self.routed(msg, None, &st, Expect::Results, sql).await?;
            }
            Command::StmtPrepare(sql) => self.prepare(msg, sql).await?,
            Command::StmtExecute { id } => self.execute(msg, id, false).await?,
            Command::StmtBulkExecute { id } => self.execute(msg, id, true).await?,
            Command::StmtFetch { id } => self.fetch(msg, id).await?,
            Command::StmtReset { id } => self.stmt_reset(msg, id).await?,
            Command::StmtClose { id } => self.stmt_close(id).await,
            Command::StmtSendLongData { id } => self.long_data(msg, id),
            Command::InitDb(db) => {
                let db = String::from_utf8_lossy(db).into_owned();
                let st = Statement::new(Kind::Session).with_detail(Detail::Use { db });
                self.statement(msg, &st, Expect::Single).await?;
            }
            Command::FieldList(_) => {
                let st = Statement::new(Kind::Read);
                self.statement(msg, &st, Expect::FieldList).await?;
            }
            Command::Statistics => {
                self.on_writer(msg, Expect::Text).await?;
            }
            Command::Refresh | Command::Debug => {
                self.on_writer(msg, Expect::Single).await?;
            }
            Command::ProcessInfo => {
                self.on_writer(msg, Expect::Results).await?;
            }
            Command::SetOption(opt) => {
                if let Some(s) = self.on_writer(msg, Expect::Single).await? {
                    if s.error.is_none() {
                        self.record(
                            Served::Writer,
                            Replay::SetOption(opt),
                            "com_set_option",
                            true,
                        );
                    }
                }
            }
            Command::ResetConnection => self.reset_connection(msg).await?,
            Command::ChangeUser(body) => return self.change_user(msg, body).await,
            Command::ProcessKill(_) | Command::Unknown(_) => {
                let code = payload.first().copied().unwrap_or(0);
                self.client
                    .send_error(&SqlError::unknown_command(code), msg.reply_seq())
                    .await?;
            }
        }
        Ok(true)
    }

    /// Routes and runs a statement (or a command treated as one).
    async fn statement(
        &mut self,
        msg: &Message,
        st: &Statement,
        expect: Expect,
    ) -> Result<(), SessionError> {
        self.routed(msg, None, st, expect, &[]).await.map(|_| ())
    }

    /// Routes and runs a statement; `call` when it is a prepared statement's execution.
    /// Returns where it ran and what came back, when it did.
    /// `sql` is the statement's text, for its digest (empty: not counted).
    async fn routed(
        &mut self,
        msg: &Message,
        call: Option<&prepared::Call<'_>>,
        st: &Statement,
        expect: Expect,
        sql: &[u8],
    ) -> Result<Option<(Served, Summary)>, SessionError> {
        let started = Instant::now();
        let topo = self.shared.topology();
        let plan = self.plan(st, &topo);
        match plan.refusal {
            Some(Refusal::NoReader) => {
                let err =
                    SqlError::no_backend("no reader is eligible (routing.fallback = \"error\")");
                self.client.send_error(&err, msg.reply_seq()).await?;
                return Ok(None);
            }
            Some(Refusal::ReadOnlyTransaction) => {
                let err = SqlError::read_only_transaction();
                self.client.send_error(&err, msg.reply_seq()).await?;
                return Ok(None);
            }
            None => {}
        }
        if let Some(Prelude::CommitReaderTransaction(id)) = plan.prelude {
            if let Some(c) = self.readers.iter_mut().find(|c| c.id == id) {
                if c.query("COMMIT").await.is_err() {
                    self.readers.retain(|c| c.id != id);
                }
            }
            self.state.end_reader_transaction();
        }
        let mut reason = plan.route.reason;
        let mut tried: Vec<BackendId> = Vec::new();
        let mut served = plan.first(&topo);
        loop {
            if self.registration.info.is_killed() {
                // KILL CONNECTION arrived while this statement waited or ran: no retry.
                let err = SqlError::connection_killed();
                self.client.send_error(&err, msg.reply_seq()).await?;
                return Ok(None);
            }
            if let (Served::Reader(id), Target::Reader) = (served, plan.route.target) {
                if self.consistent(id, &topo).await == consistency::Verdict::Other {
                    // Not fresh enough: the next candidate, else the writer.
                    tried.push(id);
                    served = match plan.next_reader(&tried) {
                        Some(r) => Served::Reader(r),
                        None => {
                            reason = Reason::Consistency;
                            Served::Writer
                        }
                    };
                    continue;
                }
            }
            if tracing::enabled!(tracing::Level::DEBUG) {
                tracing::debug!(
                    session = self.id,
                    route = ?served,
                    reason = reason.label(),
                    kind = st.kind.label(),
                    sql = %crate::classify::normalize::normalize(sql, 200),
                    "statement"
                );
            }
            let result = match served {
                Served::Writer => {
                    self.run_on_writer(msg, call, expect, &topo, may_write(st))
                        .await
                }
                Served::Reader(id) => self.run_on_reader(id, msg, call, expect, &topo).await,
            };
            match result {
                Ok(summary) => {
                    self.after(st, served, &summary);
                    if st.kind == Kind::Session
                        && summary.error.is_none()
                        && idle::may_set_wait_timeout(sql)
                    {
                        self.read_back_wait_timeout(served).await;
                    }
                    self.count(Ran {
                        st,
                        served,
                        reason,
                        topo: &topo,
                        started,
                        msg,
                        summary: &summary,
                        sql,
                    });
                    return Ok(Some((served, summary)));
                }
                // A reader failed before the client saw anything: try elsewhere.
                Err(Failure::Retry(id)) => {
                    tried.push(id);
                    served = match plan.next_reader(&tried) {
                        Some(r) if plan.route.target == Target::Reader => Served::Reader(r),
                        _ => Served::Writer,
                    };
                }
                Err(Failure::Told) => return Ok(None),
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
    }

    /// Metrics, digest and the admin view of one statement.
    fn count(&mut self, ran: Ran<'_>) {
        let Ran {
            st,
            served,
            reason,
            topo,
            started,
            msg,
            summary: s,
            sql,
        } = ran;
        let elapsed = started.elapsed();
        let (id, writer) = match served {
            Served::Writer => (topo.writer.unwrap_or(BackendId(u32::MAX)), true),
            Served::Reader(id) => (id, false),
        };
        let addr = topo.get(id).map(|b| b.addr.as_str()).unwrap_or("(none)");
        self.metrics.record(
            id,
            addr,
            writer,
            st.kind,
            reason,
            elapsed,
            msg.raw.len() as u64,
            s.bytes,
            s.error,
        );
        if st.digest != 0 && !sql.is_empty() {
            self.shared.digests.record(
                st.digest,
                || crate::classify::normalize::normalize(sql, 1024),
                writer,
                elapsed,
                s.error.is_some(),
            );
        }
        self.publish_threads();
        let info = &self.registration.info;
        info.statements
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        info.in_transaction.store(
            self.state.in_transaction_scope(),
            std::sync::atomic::Ordering::Relaxed,
        );
        if st.kind == Kind::Session {
            info.set_db(self.db.clone());
        }
    }

    /// Picks up a new configuration (hot reload) between statements.
    fn refresh(&mut self) {
        if self.routing.generation != self.shared.generation() {
            self.routing = self.shared.routing();
            self.config = self.shared.config();
        }
    }

    /// An eligible reader by the configured policy.
    fn pick_reader(&self, topo: &Topology, exclude: &[BackendId]) -> Option<BackendId> {
        route::choose_reader(
            topo,
            self.config.routing.policy,
            self.shared.next_ticket(),
            exclude,
            |id| self.shared.load_snapshot(id),
        )
    }

    /// The plan for `st` now: the configured policy and fallback, the next ticket, the
    /// readers' current loads.
    fn plan(&self, st: &Statement, topo: &Topology) -> route::Plan {
        let load = |id| self.shared.load_snapshot(id);
        let ticket = || self.shared.next_ticket();
        let policy = route::PlanPolicy {
            policy: self.config.routing.policy,
            fallback: self.config.routing.fallback,
            ticket: &ticket,
            load: &load,
        };
        route::plan(st, &self.state, topo, &policy)
    }

    /// Updates the session after a statement ran.
    fn after(&mut self, st: &Statement, served: Served, s: &Summary) {
        let ok = s.error.is_none();
        self.state.after(
            st,
            served,
            Outcome {
                ok,
                status: s.status,
            },
        );
        if !ok {
            return;
        }
        if served == Served::Writer && may_write(st) {
            self.writes.seq += 1;
            self.writes.last_us = crate::clock::now_us();
            // The global epoch moved already, before the answer's end (NotingWrites).
        }
        let parts: &[Statement] = if st.parts.is_empty() {
            std::slice::from_ref(st)
        } else {
            &st.parts
        };
        for p in parts {
            match &p.detail {
                // Recorded wherever it ran (a reader inside a read-only transaction, too):
                // every other connection replays it before its next use.
                Detail::Set(effect) if effect.replayable => {
                    if let Some(cmd) = &effect.replay {
                        self.record(
                            served,
                            Replay::Query(cmd.sql.clone()),
                            &cmd.key,
                            effect.literal,
                        );
                    }
                }
                Detail::Use { db } => {
                    self.db = Some(db.clone());
                    if let Some(c) = self.conn_mut(served) {
                        c.db = Some(db.clone());
                    }
                }
                _ => {}
            }
        }
    }

    /// The connection a statement ran on.
    fn conn_mut(&mut self, served: Served) -> Option<&mut BackendConn> {
        match served {
            Served::Writer => self.writer.as_mut(),
            Served::Reader(id) => self.readers.iter_mut().find(|c| c.id == id),
        }
    }

    /// Records a session command that just ran on `served`.
    fn record(&mut self, served: Served, cmd: Replay, key: &str, literal: bool) {
        let room = self
            .config
            .server
            .max_session_memory
            .saturating_sub(self.prepared.bytes());
        match self.history.push(
            key,
            literal,
            cmd,
            self.config.routing.max_session_history,
            room,
        ) {
            Some(seq) => {
                if let Some(c) = self.conn_mut(served) {
                    c.applied = seq;
                }
            }
            None => {
                tracing::warn!(
                    session = self.id,
                    "session history full: this session's reads stay on the writer"
                );
                self.state.keep_reads_on_writer();
            }
        }
    }

    /// Bytes of state this session holds (capped by `server.max_session_memory`): its
    /// prepared statements with pending long data, and its session history.
    fn held_bytes(&self) -> usize {
        self.prepared.bytes() + self.history.bytes()
    }
}

/// True when a statement that ran on the writer may have changed data (read-your-writes
/// then makes later reads wait for it).
fn may_write(st: &Statement) -> bool {
    let one = |s: &Statement| match s.kind {
        Kind::Write | Kind::End | Kind::Other => true,
        Kind::Read => s
            .flags
            .intersects(Flags::WRITES_DATA | Flags::WRITE_WORD | Flags::WRITER_FUNCTION),
        _ => false,
    };
    one(st) || st.parts.iter().any(one)
}

/// A statement that ran, for the counters.
struct Ran<'a> {
    st: &'a Statement,
    served: Served,
    reason: Reason,
    topo: &'a Topology,
    started: Instant,
    msg: &'a Message,
    summary: &'a Summary,
    sql: &'a [u8],
}

/// How running a statement on one backend ended, when it did not succeed.
enum Failure {
    /// The client was sent an error; the session goes on.
    Told,
    /// A reader could not serve it and the client saw nothing: try another backend.
    Retry(BackendId),
    /// The session cannot go on.
    Fatal(SessionError),
}

fn writer_addr(topo: &Topology) -> String {
    topo.writer
        .and_then(|id| topo.get(id))
        .map(|b| b.addr.clone())
        .unwrap_or_else(|| "(none)".into())
}
