//! One owner of a session's backend connections ([`Conns`]): the only code that opens
//! them, brings them to the session's state, and drops them. Also how they log in, and
//! how a statement past `server.query_timeout_ms` is killed.

use super::login::Login;
use super::registry::SessionInfo;
use super::{History, Replay};
use crate::backend::{give_back, park, prepare_for, Prepare};
use crate::backend::{BackendConn, BackendError, InsertId, UNKNOWN_STATE};
use crate::backend::{ConnectParams, Killer, PoolKey};
use crate::config::UserConfig;
use crate::live::Snapshot;
use crate::protocol::command;
use crate::protocol::response::Expect;
use crate::route::{status, BackendId, Role, Served, Topology};
use crate::shared::Shared;

/// What a connection is opened with and brought to: the session's login, configuration,
/// default database and history. Built from the session's fields by [`ctx!`], so the
/// connections can be borrowed mutably beside it.
pub(super) struct Ctx<'a> {
    pub login: &'a Login,
    pub live: &'a Snapshot,
    pub shared: &'a Shared,
    pub db: &'a Option<String>,
    pub history: &'a History,
    pub info: &'a SessionInfo,
}

/// The [`Ctx`] of a session (`ctx!(self)`).
macro_rules! ctx {
    ($s:expr) => {
        $crate::session::conns::Ctx {
            login: &$s.login,
            live: &$s.live,
            shared: &$s.shared,
            db: &$s.db,
            history: &$s.history,
            info: &$s.registration.info,
        }
    };
}
pub(super) use ctx;

impl Ctx<'_> {
    fn params(&self) -> ConnectParams {
        connect_params(self.login, self.live, self.db.clone())
    }

    /// A connection to backend `id` in `role` from its pool, counted in its load, and
    /// ready to be brought to the session's state: one left in that state needs nothing
    /// replayed, one in no state the whole history, one in another state is reset first.
    async fn checkout(
        &self,
        id: BackendId,
        role: Role,
        addr: &str,
    ) -> Result<BackendConn, BackendError> {
        let (login, live) = (self.login, self.live);
        let key = PoolKey::new(
            login.user.backend_user(),
            login.user.backend_password(),
            login.caps,
            login.mariadb_caps,
            login.collation,
            live.backend_tls.is_some(),
        );
        let params = || self.params();
        let pools = &self.shared.pools;
        let want = self.history.fingerprint();
        let cfg = &live.config.pool;
        let db = self.db.as_deref();
        let mut conn = loop {
            let mut conn = pools
                .checkout(id, role, addr, &key, db, params, cfg, want)
                .await?;
            if conn.last_insert_id == InsertId::Own {
                // The session that changed it has gone.
                conn.last_insert_id = InsertId::Unknown;
            }
            match prepare_for(conn.tag, want) {
                Prepare::Ready => {
                    conn.applied = self.history.last_seq();
                    break conn;
                }
                Prepare::Replay => {
                    conn.applied = 0;
                    break conn;
                }
                Prepare::ResetAndReplay => {}
            }
            let ok = conn.reset().await.is_ok();
            ::metrics::counter!("rwsplit_pool_resets_total", "backend" => addr.to_string(),
                "role" => role.label(), "outcome" => if ok { "ok" } else { "failed" })
            .increment(1);
            if !ok {
                // Broken: closed as it drops; the pool hands out another.
                crate::backend::pool::count_closed(addr, role.label(), "reset_failed");
                continue;
            }
            conn.applied = 0;
            break conn;
        };
        if conn.load().is_none() {
            conn.count_in(self.shared.loads.of(id));
        }
        Ok(conn)
    }
}

/// A session's backend connections: at most one to the writer, one per reader.
#[derive(Default)]
pub(super) struct Conns {
    writer: Option<BackendConn>,
    readers: Vec<BackendConn>,
    /// A signature of the backend threads last published for KILL.
    threads_sig: u64,
}

impl Conns {
    /// The server status of the writer connection's last answer.
    pub fn writer_status(&self) -> Option<u16> {
        self.writer.as_ref().map(|w| w.status)
    }

    /// Opens a connection to the topology's writer (replacing any) and brings it to the
    /// session's state.
    pub async fn connect_writer(
        &mut self,
        topo: &Topology,
        cx: &Ctx<'_>,
    ) -> Result<(), BackendError> {
        let id = topo.writer.ok_or(BackendError::NoWriter)?;
        let addr = super::writer_addr(topo);
        let mut conn = match cx.checkout(id, Role::Writer, &addr).await {
            Ok(c) => c,
            Err(e) => {
                if e.is_unreachable() {
                    cx.shared.topology.report_unreachable(id);
                }
                return Err(e);
            }
        };
        cx.shared.topology.set_server_info(&conn.server);
        sync(&mut conn, cx).await?;
        self.writer = Some(conn);
        self.publish_threads(cx.info);
        Ok(())
    }

    /// The writer connection, opened when there is none and brought to the session's
    /// state (session changes made on a reader inside its read-only transaction).
    pub async fn writer(
        &mut self,
        topo: &Topology,
        cx: &Ctx<'_>,
    ) -> Result<&mut BackendConn, BackendError> {
        if self.writer.is_none() {
            self.connect_writer(topo, cx).await?;
        }
        let Some(w) = self.writer.as_mut() else {
            return Err(BackendError::NoWriter);
        };
        let behind = w.applied < cx.history.last_seq() || (cx.db.is_some() && w.db != *cx.db);
        if behind {
            if let Err(e) = sync(w, cx).await {
                // State unknown: the connection is dropped.
                self.writer = None;
                return Err(e);
            }
        }
        self.writer.as_mut().ok_or(BackendError::NoWriter)
    }

    /// The open writer connection as it is (no connecting, no syncing).
    pub fn open_writer(&mut self) -> Option<&mut BackendConn> {
        self.writer.as_mut()
    }

    /// Closes the connection to a backend that is no longer the topology's writer (after
    /// a failover); true when it did.
    pub async fn drop_stale_writer(&mut self, topo: &Topology) -> bool {
        if self
            .writer
            .as_ref()
            .is_none_or(|w| Some(w.id) == topo.writer)
        {
            return false;
        }
        if let Some(old) = self.writer.take() {
            old.quit().await;
        }
        true
    }

    /// A connection to reader `id`, opened and brought to the session's state as needed.
    /// One that fails to sync is dropped (its state is unknown).
    pub async fn reader(
        &mut self,
        id: BackendId,
        topo: &Topology,
        cx: &Ctx<'_>,
    ) -> Result<&mut BackendConn, BackendError> {
        let idx = match self.readers.iter().position(|c| c.id == id) {
            Some(i) => i,
            None => {
                let addr = topo
                    .get(id)
                    .map(|b| b.addr.clone())
                    .ok_or(BackendError::Protocol("reader left the topology"))?;
                let mut conn = cx.checkout(id, Role::Reader, &addr).await?;
                if !conn.setup_done {
                    if conn.status & status::AUTOCOMMIT == 0 {
                        conn.query("SET autocommit=1").await?;
                    }
                    let consistency = cx.live.config.routing.consistency;
                    if let Some(setup) = super::positions::reader_setup(consistency, topo.flavour())
                    {
                        conn.query(setup).await?;
                    }
                    conn.setup_done = true;
                }
                self.readers.push(conn);
                self.publish_threads(cx.info);
                self.readers.len() - 1
            }
        };
        if let Err(e) = sync(&mut self.readers[idx], cx).await {
            self.readers.swap_remove(idx);
            return Err(e);
        }
        Ok(&mut self.readers[idx])
    }

    /// The open connection a statement ran on.
    pub fn get_mut(&mut self, served: Served) -> Option<&mut BackendConn> {
        match served {
            Served::Writer => self.writer.as_mut(),
            Served::Reader(id) => self.readers.iter_mut().find(|c| c.id == id),
        }
    }

    /// Every open connection.
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut BackendConn> {
        self.writer.iter_mut().chain(self.readers.iter_mut())
    }

    /// Forgets the connection `served` ran on (broken, or its state unknown).
    pub fn drop(&mut self, served: Served) {
        match served {
            Served::Writer => self.writer = None,
            Served::Reader(id) => self.readers.retain(|c| c.id != id),
        }
    }

    /// Forgets every connection to one of `backends` (broken).
    pub fn drop_backends(&mut self, backends: &[BackendId]) {
        self.readers.retain(|c| !backends.contains(&c.id));
        if self
            .writer
            .as_ref()
            .is_some_and(|w| backends.contains(&w.id))
        {
            self.writer = None;
        }
    }

    /// COM_RESET_CONNECTION on every reader connection, then `setup` (what a new reader
    /// connection runs first; one that fails is dropped); all then count as having
    /// applied `history` (just cleared).
    pub async fn reset_readers(&mut self, history: &History, setup: Option<&str>) {
        let mut kept = Vec::new();
        for mut r in self.readers.drain(..) {
            if r.reset().await.is_err() {
                continue;
            }
            if let Some(sql) = setup {
                if r.query(sql).await.is_err() {
                    continue;
                }
            }
            kept.push(r);
        }
        self.readers = kept;
        let last = history.last_seq();
        for c in self.all_mut() {
            c.applied = last;
        }
    }

    /// Frees the read buffers of the connections the session keeps while its client is
    /// idle (see [`BackendConn::shed_buffer`]).
    pub fn shed_buffers(&mut self) {
        for c in self.all_mut() {
            c.shed_buffer();
        }
    }

    /// True while the session holds a backend connection.
    pub fn any(&self) -> bool {
        self.writer.is_some() || !self.readers.is_empty()
    }

    /// Gives every connection back to its pool for the next session or, when it cannot
    /// be reused, closes it. Those in state only the session's history describes
    /// (`replayable`, in transaction pooling) go back as they are, tagged with that
    /// state; the rest are reset first (COM_RESET_CONNECTION, in the background).
    pub fn release_all(&mut self, live: &Snapshot, history: &History, replayable: bool) {
        let cfg = &live.config.pool;
        for mut c in self.writer.take().into_iter().chain(self.readers.drain(..)) {
            if !replayable {
                give_back(c, cfg);
                continue;
            }
            c.tag = match c.applied >= history.last_seq() && !c.untracked {
                true => history.fingerprint(),
                false => UNKNOWN_STATE,
            };
            park(c, cfg);
        }
    }

    /// Publishes the backend threads of the connections in the registry, for a KILL from
    /// another session (rebuilt only when the connections changed). Called when a
    /// connection opens, so a statement running on it can be killed, and after every
    /// statement.
    pub fn publish_threads(&mut self, info: &SessionInfo) {
        let sig = self
            .writer
            .iter()
            .chain(self.readers.iter())
            .fold(0u64, |h, c| {
                h.wrapping_mul(31)
                    .wrapping_add(((c.id.0 as u64) << 32) | c.thread_id as u64)
            });
        if sig != self.threads_sig {
            self.threads_sig = sig;
            info.set_threads(
                self.writer
                    .iter()
                    .chain(self.readers.iter())
                    .map(|c| (c.id, c.thread_id))
                    .collect(),
            );
        }
    }
}

/// Brings a backend connection to the session's state: default database, then the
/// session commands it has not applied.
async fn sync(conn: &mut BackendConn, cx: &Ctx<'_>) -> Result<(), BackendError> {
    if let Some(db) = cx.db {
        if conn.db.as_ref() != Some(db) {
            conn.init_db(db).await?;
        }
    }
    for e in cx.history.since(conn.applied) {
        match &e.cmd {
            Replay::Query(sql) => {
                conn.query(sql).await?;
            }
            Replay::SetOption(opt) => {
                let mut payload = vec![command::COM_SET_OPTION];
                payload.extend_from_slice(&opt.to_le_bytes());
                conn.command(&payload, Expect::Single).await?;
            }
        }
        conn.applied = e.seq;
    }
    conn.applied = cx.history.last_seq();
    Ok(())
}

/// How this session's backend connections log in (`db`: the database to start in).
fn connect_params(login: &Login, live: &Snapshot, db: Option<String>) -> ConnectParams {
    ConnectParams {
        user: login.user.backend_user().to_string(),
        password: login.user.backend_password().to_string(),
        db,
        caps: login.caps,
        mariadb_caps: login.mariadb_caps,
        collation: login.collation,
        attrs: login.attrs.clone(),
        max_packet: login.max_packet,
        connect_timeout: live.config.connect_timeout(),
        tls: live.backend_tls.clone(),
    }
}

/// Login parameters of a side connection as `account`'s backend account (a KILL of that
/// account's threads).
pub(super) fn params_as(login: &Login, live: &Snapshot, account: &UserConfig) -> ConnectParams {
    let mut p = connect_params(login, live, None);
    p.user = account.backend_user().to_string();
    p.password = account.backend_password().to_string();
    p
}

/// With `server.query_timeout_ms` set: how to kill a statement that outlives it. The side
/// connection's parameters are built only when a statement is actually killed.
pub(super) fn killer<'a>(
    login: &'a Login,
    live: &'a Snapshot,
) -> Option<Killer<impl FnOnce() -> ConnectParams + 'a>> {
    match live.config.server.query_timeout_ms {
        0 => None,
        ms => Some(Killer {
            limit: std::time::Duration::from_millis(ms),
            params: move || connect_params(login, live, None),
        }),
    }
}
