//! A client session: the per-client loop reads a command, asks the router for a plan,
//! carries the plan out on backend connections and relays the answer. The session owns
//! its client connection, its [`SessionState`], its history of session commands, its
//! prepared statements and (through [`conns::Conns`], their one owner) its backend
//! connections, opened lazily (the writer at login) and brought to the session's state
//! before use. Shared across sessions: the [`Registry`] of sessions and the read-your-writes
//! [`Epochs`].

mod client;
mod conns;
mod consistency;
mod control;
mod epochs;
mod failover;
mod history;
mod idle;
mod login;
mod pooling;
mod positions;
mod prepared;
mod readback;
mod registry;
mod relay;
mod replay;
mod verify;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::backend::BackendError;
use crate::classify::{Detail, Flags, Kind, Statement};
use crate::live::Snapshot;
use crate::metrics::QueryMetrics;
use crate::protocol::command::{self, Command};
use crate::protocol::ok::ok_payload;
use crate::protocol::response::{Expect, Summary};
use crate::protocol::SqlError;
use crate::route::{
    self, status, BackendId, Outcome, Position, Prelude, Reason, Refusal, Served, SessionState,
    Target, Topology,
};
use crate::shared::Shared;
use conns::{ctx, Conns};

pub use client::{ClientConn, ClientError, Message};
pub use epochs::{EpochPosition, Epochs};
pub use history::{History, Replay};
pub use login::{new_scramble, Login};
pub use positions::{
    check_cluster_mode, covered, overlap, reader_setup, Batch, ClusterPositions, FetchFailure,
    Fetched, WriterPosition,
};
pub use registry::{Registry, SessionGuard, SessionInfo};

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

/// Serves one client connection (from `peer`, as accepted) to its end.
pub async fn serve(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> Result<(), SessionError> {
    let _ = stream.set_nodelay(true);
    let live_rx = shared.live.subscribe();
    let live = live_rx.borrow().clone();
    let mut client = ClientConn::new(stream, peer, live.config.server.max_packet_size);
    metrics::counter!("rwsplit_connections_total").increment(1);
    let (login, registration) = match log_in(&mut client, &shared, &live).await {
        Ok(l) => l,
        Err(e) => {
            if matches!(e, SessionError::HandshakeTimeout) {
                metrics::counter!("rwsplit_handshake_timeouts_total").increment(1);
                client.shutdown().await;
            }
            return Err(e);
        }
    };
    registration.info.set_db(login.db.clone());
    let live_mode = live.config.pool.mode;
    let mut session = Session {
        id: registration.info.id,
        db: login.db.clone(),
        login,
        live,
        live_rx,
        client,
        shared,
        state: SessionState::default(),
        history: History::default(),
        conns: Conns::default(),
        prepared: prepared::Statements::default(),
        metrics: QueryMetrics::default(),
        registration,
        stop,
        writes: Writes::default(),
        wait_timeout_s: None,
        read_position: None,
        last_insert_id: 0,
        follow_up: false,
        pinned: None,
        pool_mode: live_mode,
        read_back: None,
        txlog: replay::TxLog::default(),
    };
    session.prepared.shared = session.statement_sharing();
    if !Box::pin(session.start()).await? {
        return Ok(());
    }
    // Transaction pooling: the connection that checked the login goes back at once.
    Box::pin(session.between_commands()).await;
    let r = session.run().await;
    Box::pin(session.close()).await;
    r
}

/// The handshake and the client's proof, within `server.handshake_timeout_ms`; the
/// session is registered (under its user's cap) as the login is verified.
async fn log_in(
    client: &mut ClientConn,
    shared: &Shared,
    live: &Snapshot,
) -> Result<(Login, SessionGuard), SessionError> {
    let config = &live.config;
    let id = shared.sessions.next_id();
    let info = shared.topology.server_info();
    let rsa = match config.server.caching_sha2_full_auth {
        true => shared.live.rsa_keys().await,
        false => None,
    };
    let handshake = std::time::Duration::from_millis(config.server.handshake_timeout_ms);
    let peer = client.peer.to_string();
    // Filled by the login's verification: the session in the registry, under its user's cap.
    let mut registered: Option<SessionGuard> = None;
    let admit = |u: &crate::config::UserConfig| {
        registered = shared.sessions.register(
            SessionInfo::new(id, &u.name, peer.clone()),
            u.max_connections,
        );
        registered.is_some()
    };
    let tls = live.client_tls.as_deref();
    let login = tokio::time::timeout(
        handshake,
        login::authenticate(client, &info, config, id, tls, rsa.as_deref(), admit),
    )
    .await
    .unwrap_or(Err(SessionError::HandshakeTimeout))?;
    match registered {
        Some(r) => Ok((login, r)),
        None => Err(SessionError::Handshake("login ended unregistered".into())),
    }
}

struct Session {
    id: u32,
    shared: Arc<Shared>,
    /// The configuration, classifier and rules (refreshed between statements when the
    /// configuration changes).
    live: Arc<Snapshot>,
    live_rx: watch::Receiver<Arc<Snapshot>>,
    client: ClientConn,
    login: Login,
    db: Option<String>,
    state: SessionState,
    history: History,
    /// The backend connections; only [`Conns`] opens, syncs and drops them.
    conns: Conns,
    /// Prepared statements, by the id the client knows.
    prepared: prepared::Statements,
    metrics: QueryMetrics,
    /// This session in the registry the admin interface reads.
    registration: SessionGuard,
    /// Becomes true when rwsplit shuts down: the session ends once no transaction is open.
    stop: watch::Receiver<bool>,
    /// This session's writes, for read-your-writes.
    writes: Writes,
    /// The session's `wait_timeout` in seconds, when known (see `idle`).
    wait_timeout_s: Option<u64>,
    /// `cluster` consistency: the writer's position fetched for the statement being
    /// run (one per statement, whichever readers it tries).
    read_position: Option<Fetched>,
    /// Transaction pooling: what LAST_INSERT_ID() returns for this session (read back
    /// from the writer connection before it went back to its pool).
    last_insert_id: u64,
    /// Transaction pooling: the last answer invites a follow-up on its connection.
    follow_up: bool,
    /// Transaction pooling: why the session keeps its connections, if it does.
    pinned: Option<route::PinReason>,
    /// `pool.mode` when the session started (a reload changes it for later sessions).
    pool_mode: crate::config::PoolMode,
    /// Variables the last statement assigned, to read back from the connection that ran
    /// it (see `readback`).
    read_back: Option<(Served, Vec<crate::classify::Variable>)>,
    /// The open transaction's statements and answer digests, to replay it on a new
    /// writer after a failover (see `replay`).
    txlog: replay::TxLog,
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
    /// checks the account and default database against the server, then answers OK. A
    /// missing or unreachable writer is tolerated while a reader can serve; else the
    /// login waits for one (`failover.hold_ms`). Returns false if the client was sent an
    /// error.
    async fn open_writer_and_ok(&mut self, seq: u8) -> Result<bool, SessionError> {
        let mut hold = failover::Hold::new(self.live.config.failover.hold_ms);
        loop {
            let topo = self.shared.topology.current();
            let e = match self.conns.connect_writer(&topo, &ctx!(self)).await {
                Ok(()) => break,
                Err(e) => e,
            };
            if e.is_no_writer() && topo.has_eligible_reader() {
                tracing::warn!(session = self.id, error = %e, "no writer at login; continuing with readers");
                break;
            }
            let cause = failover::Cause::NoWriter;
            if e.is_no_writer() && self.wait_for_writer(&mut hold, cause, None).await {
                continue;
            }
            // A hold used up, or a login that failed otherwise once a writer came.
            hold.end(if e.is_no_writer() {
                "timed_out"
            } else {
                "failed"
            });
            let addr = writer_addr(&topo);
            self.client.send_error(&e.to_sql(&addr), seq).await?;
            return Ok(false);
        }
        hold.end("resumed");
        let st = self.conns.writer_status().unwrap_or(status::AUTOCOMMIT);
        self.state = SessionState::new(st);
        self.txlog.clear();
        self.reset_wait_timeout();
        self.client.send(&ok_payload(0, 0, st, 0), seq).await?;
        Ok(true)
    }

    async fn run(&mut self) -> Result<(), SessionError> {
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
        let mut since = Instant::now();
        // The idle timer, armed lazily: set for `since + limit` only when it is not set or
        // set later than that; when it fires early (commands came since), it is set again.
        // So a command costs no timer registration, where a fresh timer per command was
        // registered and cancelled each time.
        let idle = tokio::time::sleep_until(since.into());
        tokio::pin!(idle);
        let mut armed: Option<Instant> = None;
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
            // From the end of the last command: waking for other reasons (below) does not
            // start the idle time again.
            let deadline = limit.map(|d| since + d);
            match deadline {
                Some(d) if armed.is_none_or(|a| a > d) => {
                    idle.as_mut().reset(d.into());
                    armed = Some(d);
                }
                Some(_) => {}
                None => armed = None,
            }
            let info = self.registration.info.clone();
            let holding = self.follow_up && self.pinned.is_none() && self.conns.any();
            let hold = std::time::Duration::from_millis(self.live.config.pool.follow_up_hold_ms);
            let msg = tokio::select! {
                biased;
                m = self.read_command() => m?,
                // Transaction pooling: a connection kept for a follow-up that has not come
                // goes back when another session waits for one. (A timer only then: an
                // async block is not evaluated until it is polled.)
                _ = async { tokio::time::sleep(hold).await }, if holding => {
                    if self.shared.pools.anyone_waiting() {
                        Box::pin(self.give_back_connections()).await;
                    }
                    continue;
                }
                // KILL CONNECTION from another session: end now, not at the next command.
                _ = info.kill_signal.notified() => continue,
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    continue;
                }
                _ = &mut idle, if armed.is_some() => {
                    if deadline.is_some_and(|d| Instant::now() < d) {
                        // Armed for an earlier command's idle time: set again.
                        armed = None;
                        continue;
                    }
                    tracing::debug!(session = self.id, limit = ?limit, "idle past its wait_timeout or server.client_idle_timeout_ms: closing");
                    metrics::counter!("rwsplit_idle_timeouts_total").increment(1);
                    return Ok(());
                }
            };
            let Some(msg) = msg else { return Ok(()) };
            // Boxed, like the work between commands: a command's future is most of the
            // session's size, and held inline it would stay allocated while the session
            // idles (about 8 KiB more per idle client).
            if !Box::pin(self.handle(&msg)).await? {
                return Ok(());
            }
            Box::pin(self.between_commands()).await;
            since = Instant::now();
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
        let replayable =
            self.transaction_pooling() && self.pin().is_none() && self.read_back.is_none();
        self.conns
            .release_all(&self.live, &self.history, replayable);
        self.client.shutdown().await;
    }

    /// How prepared statements are known on backend connections: by text, at most
    /// `pool.prepared_per_connection`, when connections are shared per statement.
    fn statement_sharing(&self) -> Option<usize> {
        self.transaction_pooling()
            .then_some(self.live.config.pool.prepared_per_connection)
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
            Command::Query(sql) => return self.query(msg, sql).await,
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
            Command::Statistics => drop(self.on_writer(msg, Expect::Text).await?),
            Command::Refresh | Command::Debug => {
                // COM_REFRESH flushes, which may commit an open transaction.
                if self.state.transaction_begun() {
                    self.txlog.spoil(route::Unreplayable::ImplicitCommit);
                }
                self.on_writer(msg, Expect::Single).await?;
            }
            Command::ProcessInfo => drop(self.on_writer(msg, Expect::Results).await?),
            Command::SetOption(opt) => self.set_option(msg, opt).await?,
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

    /// COM_QUERY: KILL of an rwsplit session, else classified, matched against the rules
    /// and routed. Returns false to end the session (it killed itself).
    async fn query(&mut self, msg: &Message, sql: &[u8]) -> Result<bool, SessionError> {
        let mut st = self.live.classifier.classify(sql);
        if let Detail::Kill { id, query_only } = st.detail {
            if let Some(target) = u32::try_from(id)
                .ok()
                .and_then(|i| self.shared.sessions.get(i))
            {
                return self.kill(msg, &target, query_only).await;
            }
        }
        st.rule =
            self.live
                .rules
                .route_for(sql, st.digest, &self.login.user.name, self.db.as_deref());
        self.routed(msg, None, &st, Expect::Results, sql).await?;
        Ok(true)
    }

    /// COM_SET_OPTION: on the writer, recorded for the readers.
    async fn set_option(&mut self, msg: &Message, opt: u16) -> Result<(), SessionError> {
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
        Ok(())
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
    /// Carries out the plan: a refusal, the prelude, then its candidates. Returns where
    /// it ran and what came back, when it did.
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
        if !readback::is_follow_up(st) {
            self.flush_read_back().await;
        }
        let topo = self.shared.topology.current();
        let plan = self.plan(st, &topo);
        if let Some(refusal) = plan.refusal {
            self.refuse(msg, refusal).await?;
            return Ok(None);
        }
        if let Some(prelude) = plan.prelude {
            self.prelude(prelude).await;
        }
        let job = Job {
            msg,
            call,
            st,
            expect,
            sql,
        };
        let Some((served, reason, summary)) = self.walk(&job, &plan, &topo).await? else {
            return Ok(None);
        };
        let ran = Ran {
            st,
            served,
            reason,
            topo: &topo,
            started,
            msg,
            summary: &summary,
            sql,
            expect,
            call,
        };
        self.finish(ran).await;
        Ok(Some((served, summary)))
    }

    /// Runs the statement on the plan's backends in order until one serves it: a reader
    /// not fresh enough, or one that fails before the client saw anything, gives way to
    /// the next, and the writer comes last. `None` when the client was told an error.
    async fn walk(
        &mut self,
        job: &Job<'_, '_>,
        plan: &route::Plan,
        topo: &Topology,
    ) -> Result<Option<(Served, Reason, Summary)>, SessionError> {
        let Job {
            msg,
            call,
            st,
            expect,
            sql,
        } = *job;
        let mut reason = plan.route.reason;
        let mut tried: Vec<BackendId> = Vec::new();
        let mut served = plan.first(topo);
        self.read_position = None;
        loop {
            if self.registration.info.is_killed() {
                // KILL CONNECTION arrived while this statement waited or ran: no retry.
                let err = SqlError::connection_killed();
                self.client.send_error(&err, msg.reply_seq()).await?;
                return Ok(None);
            }
            let mut overlap = None;
            if let (Served::Reader(id), Target::Reader) = (served, plan.route.target) {
                // cluster mode: a query, or an execution without a cursor or long data
                // (either can be sent again), may run while its position is fetched.
                if expect == Expect::Results && call.is_none_or(prepared::Call::repeatable) {
                    overlap = self.overlap_for(id, topo);
                }
                if overlap.is_none()
                    && self.consistent(id, topo).await == consistency::Verdict::Other
                {
                    tried.push(id);
                    (served, reason) = plan.after_stale(&tried, reason);
                    continue;
                }
            }
            trace_statement(self.id, served, reason, st, sql);
            if served == Served::Writer && st.flags.contains(Flags::LAST_INSERT_ID) {
                Box::pin(self.restore_last_insert_id(topo)).await;
            }
            let result = match served {
                Served::Writer => {
                    let job = relay::OnWriter {
                        writes: may_write(st),
                        effect: route::effect(st),
                        verify: self.verification(st, sql),
                        record: self.state.in_transaction_scope()
                            || st.kind == Kind::Begin
                            || matches!(&st.detail, Detail::Set(e) if e.next_transaction),
                    };
                    self.run_on_writer(msg, call, expect, topo, job).await
                }
                Served::Reader(id) => {
                    self.run_on_reader(id, msg, call, expect, topo, overlap)
                        .await
                }
            };
            match result {
                Ok(summary) => return Ok(Some((served, reason, summary))),
                Err(Failure::Retry(id)) => {
                    tried.push(id);
                    served = plan.after_failure(&tried);
                }
                Err(Failure::Stale(id)) => {
                    tried.push(id);
                    (served, reason) = plan.after_stale(&tried, reason);
                }
                Err(Failure::Told) => return Ok(None),
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
    }

    /// Tells the client why the plan refused its statement.
    async fn refuse(&mut self, msg: &Message, refusal: Refusal) -> Result<(), SessionError> {
        let err = match refusal {
            Refusal::NoReader => {
                SqlError::no_backend("no reader is eligible (routing.fallback = \"error\")")
            }
            Refusal::ReadOnlyTransaction => SqlError::read_only_transaction(),
        };
        self.client.send_error(&err, msg.reply_seq()).await?;
        Ok(())
    }

    /// Runs what the plan says must happen before the statement.
    async fn prelude(&mut self, prelude: Prelude) {
        match prelude {
            Prelude::CommitReaderTransaction(id) => {
                let reader = Served::Reader(id);
                if let Some(c) = self.conns.get_mut(reader) {
                    if c.query("COMMIT").await.is_err() {
                        self.conns.drop(reader);
                    }
                }
                self.state.end_reader_transaction();
            }
        }
    }

    /// After a statement ran: the session's state, `wait_timeout` when it may have
    /// changed, then the counters.
    async fn finish(&mut self, ran: Ran<'_>) {
        let open_before = self.state.transaction_begun();
        self.after(ran.st, ran.served, ran.summary);
        self.note_for_replay(&ran, ran.call, open_before);
        self.note_read_back(ran.st, ran.served).await;
        self.note_follow_up(ran.st, ran.summary);
        if ran.st.kind == Kind::Session
            && ran.summary.error.is_none()
            && idle::may_set_wait_timeout(ran.sql)
        {
            self.read_back_wait_timeout(ran.served).await;
        }
        self.count(ran);
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
            ..
        } = ran;
        let elapsed = started.elapsed();
        let (id, writer) = match served {
            Served::Writer => (topo.writer.unwrap_or(BackendId(u32::MAX)), true),
            Served::Reader(id) => (id, false),
        };
        let addr = topo.get(id).map(|b| b.addr.as_str()).unwrap_or("(none)");
        let sizes = (msg.raw.len() as u64, s.bytes);
        self.metrics.record(
            id, addr, writer, st.kind, reason, elapsed, sizes.0, sizes.1, s.error,
        );
        if st.digest != 0 && !sql.is_empty() {
            let text = || crate::classify::normalize::normalize(sql, 1024);
            self.shared
                .digests
                .record(st.digest, text, writer, elapsed, s.error.is_some());
        }
        self.conns.publish_threads(&self.registration.info);
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
        if self.live_rx.has_changed().unwrap_or(false) {
            self.live = self.live_rx.borrow_and_update().clone();
        }
    }

    /// What the router is given besides the statement, the state and the topology: the
    /// configured policy and fallback, the next ticket, the readers' current loads.
    fn plan_policy<'a>(
        &'a self,
        ticket: &'a dyn Fn() -> u64,
        load: &'a dyn Fn(BackendId) -> route::Load,
    ) -> route::PlanPolicy<'a> {
        route::PlanPolicy {
            policy: self.live.config.routing.policy,
            fallback: self.live.config.routing.fallback,
            ticket,
            load,
        }
    }

    /// The plan for `st` now.
    fn plan(&self, st: &Statement, topo: &Topology) -> route::Plan {
        let load = |id| self.shared.loads.snapshot(id);
        let ticket = || self.shared.loads.next_ticket();
        route::plan(st, &self.state, topo, &self.plan_policy(&ticket, &load))
    }

    /// Updates the session after a statement ran.
    fn after(&mut self, st: &Statement, served: Served, s: &Summary) {
        let ok = s.error.is_none();
        let outcome = Outcome {
            ok,
            status: s.status,
        };
        self.state.after(st, served, outcome);
        if !ok {
            return;
        }
        if served == Served::Writer && may_write(st) {
            self.writes.seq += 1;
            self.writes.last_us = crate::clock::now_us();
            // The global epoch moved already, before the answer's end (failover::WriterAnswer).
        }
        let parts: &[Statement] = if st.parts.is_empty() {
            std::slice::from_ref(st)
        } else {
            &st.parts
        };
        for p in parts {
            if let (Detail::Set(e), Some(c)) = (&p.detail, self.conns.get_mut(served)) {
                // The connection's autocommit, as `Session::autocommit_off` checks it.
                match e.autocommit {
                    Some(true) => c.status |= status::AUTOCOMMIT,
                    Some(false) => c.status &= !status::AUTOCOMMIT,
                    None => {}
                }
            }
            match &p.detail {
                // Recorded wherever it ran (a reader inside a read-only transaction, too):
                // every other connection replays it before its next use.
                Detail::Set(effect) if effect.replayable => {
                    if let Some(cmd) = &effect.replay {
                        let replay = Replay::Query(cmd.sql.clone());
                        self.record(served, replay, &cmd.key, effect.literal);
                    }
                }
                Detail::Use { db } => {
                    self.db = Some(db.clone());
                    if let Some(c) = self.conns.get_mut(served) {
                        c.db = Some(db.clone());
                    }
                }
                _ => {}
            }
        }
    }

    /// Records a session command that just ran on `served`.
    fn record(&mut self, served: Served, cmd: Replay, key: &str, literal: bool) {
        let config = &self.live.config;
        let room = config
            .server
            .max_session_memory
            .saturating_sub(self.prepared.bytes());
        let max = config.routing.max_session_history;
        match self.history.push(key, literal, cmd, max, room) {
            Some(seq) => {
                if let Some(c) = self.conns.get_mut(served) {
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
    /// prepared statements with pending long data, its session history and its open
    /// transaction's log.
    fn held_bytes(&self) -> usize {
        self.prepared.bytes() + self.history.bytes() + self.txlog.bytes()
    }

    /// The open transaction is gone (rolled back with its connection): the session
    /// starts again with no transaction and nothing to replay, in the autocommit mode
    /// it had (the next writer connection is set to it: `Session::autocommit_off`).
    fn lose_transaction(&mut self) {
        let mode = match self.state.autocommit {
            true => status::AUTOCOMMIT,
            false => 0,
        };
        self.state = SessionState::new(mode);
        self.txlog.clear();
    }
}

/// The statement and where it goes, at debug level.
fn trace_statement(session: u32, served: Served, reason: Reason, st: &Statement, sql: &[u8]) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(
            session,
            route = ?served,
            reason = reason.label(),
            kind = st.kind.label(),
            sql = %crate::classify::normalize::normalize(sql, 200),
            "statement"
        );
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

/// A statement to run, as the session received it.
#[derive(Clone, Copy)]
struct Job<'a, 'c> {
    msg: &'a Message,
    /// A prepared statement's execution.
    call: Option<&'a prepared::Call<'c>>,
    st: &'a Statement,
    expect: Expect,
    /// Its text (for the digest and the debug log; empty for commands).
    sql: &'a [u8],
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
    expect: Expect,
    /// A prepared statement's execution.
    call: Option<&'a prepared::Call<'a>>,
}

/// How running a statement on one backend ended, when it did not succeed.
enum Failure {
    /// The client was sent an error; the session goes on.
    Told,
    /// A reader could not serve it and the client saw nothing: try another backend.
    Retry(BackendId),
    /// A reader did not have what the read must see (in time), and the client saw
    /// nothing: another reader, then the writer.
    Stale(BackendId),
    /// The session cannot go on.
    Fatal(SessionError),
}

fn writer_addr(topo: &Topology) -> String {
    topo.writer
        .and_then(|id| topo.get(id))
        .map(|b| b.addr.clone())
        .unwrap_or_else(|| "(none)".into())
}
