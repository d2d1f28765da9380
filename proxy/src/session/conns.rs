//! The session's backend connections: how they log in, opening them, bringing them to the
//! session's state, and how a statement past `server.query_timeout_ms` is killed.

use super::{writer_addr, Replay, Session};
use crate::backend::{BackendConn, BackendError};
use crate::backend::{ConnectParams, Killer};
use crate::config::Config;
use crate::protocol::command;
use crate::protocol::response::Expect;
use crate::route::{status, BackendId, Topology};
use crate::shared::Shared;

impl Session {
    pub(super) fn params(&self, db: Option<String>) -> ConnectParams {
        connect_params(&self.login, &self.config, &self.shared, db)
    }

    /// Connects to the topology's writer and replays the session's history on it.
    pub(super) async fn connect_writer(&mut self, topo: &Topology) -> Result<(), BackendError> {
        let id = topo
            .writer
            .ok_or(BackendError::Protocol("no writer in the topology"))?;
        let addr = writer_addr(topo);
        let mut conn = match BackendConn::connect(id, &addr, &self.params(self.db.clone())).await {
            Ok(c) => c,
            Err(e) => {
                if e.is_unreachable() {
                    self.shared.report_down(id);
                }
                return Err(e);
            }
        };
        conn.count_in(self.shared.load(id));
        self.shared.set_server_info(conn.server.clone());
        self.sync(&mut conn).await?;
        self.writer = Some(conn);
        self.publish_threads();
        Ok(())
    }

    /// Publishes the backend threads of this session's connections in the registry, for a
    /// KILL from another session (rebuilt only when the connections changed). Called when
    /// a connection opens, so a statement running on it can be killed, and after every
    /// statement.
    pub(super) fn publish_threads(&mut self) {
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
            *self
                .registration
                .info
                .threads
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = self
                .writer
                .iter()
                .chain(self.readers.iter())
                .map(|c| (c.id, c.thread_id))
                .collect();
        }
    }

    /// Closes the session's connection to a backend that is no longer the topology's
    /// writer (after a failover); true when it did.
    pub(super) async fn drop_stale_writer(&mut self, topo: &Topology) -> bool {
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

    /// The session's connection to the topology's writer, for a read-your-writes position
    /// (outside any transaction): a connection to a backend that is no longer the writer
    /// is closed first, and one is opened when there is none.
    pub(super) async fn current_writer(&mut self) -> Result<&mut BackendConn, BackendError> {
        let topo = self.shared.topology();
        if !self.state.in_transaction_scope() {
            self.drop_stale_writer(&topo).await;
        }
        if self.writer.is_none() {
            self.connect_writer(&topo).await?;
        }
        self.writer
            .as_mut()
            .ok_or(BackendError::Protocol("no writer"))
    }

    /// Index of a connection to reader `id`, opened and synchronised as needed.
    pub(super) async fn reader_conn(
        &mut self,
        id: BackendId,
        topo: &Topology,
    ) -> Result<usize, BackendError> {
        let idx = match self.readers.iter().position(|c| c.id == id) {
            Some(i) => i,
            None => {
                let addr = topo
                    .get(id)
                    .map(|b| b.addr.clone())
                    .ok_or(BackendError::Protocol("reader left the topology"))?;
                let mut conn =
                    BackendConn::connect(id, &addr, &self.params(self.db.clone())).await?;
                conn.count_in(self.shared.load(id));
                if conn.status & status::AUTOCOMMIT == 0 {
                    conn.query("SET autocommit=1").await?;
                }
                self.readers.push(conn);
                self.publish_threads();
                self.readers.len() - 1
            }
        };
        let mut conn = self.readers.swap_remove(idx);
        match self.sync(&mut conn).await {
            Ok(()) => {
                self.readers.push(conn);
                Ok(self.readers.len() - 1)
            }
            Err(e) => Err(e), // state unknown: the connection is dropped
        }
    }

    /// Brings a backend connection to the session's state: default database, then the
    /// session commands it has not applied.
    pub(super) async fn sync(&self, conn: &mut BackendConn) -> Result<(), BackendError> {
        if let Some(db) = &self.db {
            if conn.db.as_ref() != Some(db) {
                conn.init_db(db).await?;
            }
        }
        for e in self.history.since(conn.applied) {
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
        conn.applied = self.history.last_seq();
        Ok(())
    }
}

use super::login::Login;

/// How this session's backend connections log in (`db`: the database to start in).
fn connect_params(
    login: &Login,
    config: &Config,
    shared: &Shared,
    db: Option<String>,
) -> ConnectParams {
    ConnectParams {
        user: login.user.backend_user().to_string(),
        password: login.user.backend_password().to_string(),
        db,
        caps: login.caps,
        mariadb_caps: login.mariadb_caps,
        collation: login.collation,
        attrs: login.attrs.clone(),
        max_packet: login.max_packet,
        connect_timeout: config.connect_timeout(),
        tls: shared.routing().backend_tls.clone(),
    }
}

/// Login parameters of a side connection as `account`'s backend account (a KILL of that
/// account's threads).
pub(super) fn params_as(
    login: &Login,
    config: &Config,
    shared: &Shared,
    account: &crate::config::UserConfig,
) -> ConnectParams {
    let mut p = connect_params(login, config, shared, None);
    p.user = account.backend_user().to_string();
    p.password = account.backend_password().to_string();
    p
}

/// With `server.query_timeout_ms` set: how to kill a statement that outlives it. The side
/// connection's parameters are built only when a statement is actually killed.
pub(super) fn killer<'a>(
    login: &'a Login,
    config: &'a Config,
    shared: &'a Shared,
) -> Option<Killer<impl FnOnce() -> ConnectParams + 'a>> {
    match config.server.query_timeout_ms {
        0 => None,
        ms => Some(Killer {
            limit: std::time::Duration::from_millis(ms),
            params: move || connect_params(login, config, shared, None),
        }),
    }
}
