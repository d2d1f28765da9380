//! Commands that act on the session itself: KILL of an rwsplit session,
//! COM_RESET_CONNECTION and COM_CHANGE_USER.

use mysql_common::packets::AuthSwitchRequest;
use mysql_common::proto::MySerialize;

use super::registry::SessionInfo;
use super::{conns, new_scramble, Message, Session, SessionError};
use crate::protocol::auth::{self, Method};
use crate::protocol::change_user;
use crate::protocol::ok::ok_payload;
use crate::protocol::SqlError;
use crate::route::{status, Served, SessionState};
use crate::session::login;

impl Session {
    /// KILL [QUERY] of an rwsplit session id (the id clients see in the greeting). A
    /// session may kill sessions of its own account; one whose account has `admin_kill`
    /// may kill any; others get 1095, as from a server. The statements of the target's
    /// backend connections are killed where they run, and for KILL CONNECTION the target
    /// ends at once (it runs no further command). Returns false when the session killed
    /// itself.
    pub(super) async fn kill(
        &mut self,
        msg: &Message,
        target: &SessionInfo,
        query_only: bool,
    ) -> Result<bool, SessionError> {
        if !self.login.user.admin_kill && target.user() != self.login.user.name {
            metrics::counter!("rwsplit_errors_total", "code" => "1095").increment(1);
            let err = SqlError::not_owner_of_thread(u64::from(target.id));
            self.client.send_error(&err, msg.reply_seq()).await?;
            return Ok(true);
        }
        if !query_only {
            target.kill();
        }
        let threads = target.threads();
        // On a side connection of the target's own backend account, which may kill its
        // own threads whatever the killer's backend account is allowed.
        let account = self.live.config.user(&target.user()).cloned();
        let account = account.as_ref().unwrap_or(&self.login.user);
        let params = conns::params_as(&self.login, &self.live, account);
        let topo = self.shared.topology.current();
        for (backend, tid) in threads {
            let Some(addr) = topo.get(backend).map(|b| b.addr.clone()) else {
                continue;
            };
            if let Err(e) =
                crate::backend::kill_thread(backend, &addr, &params, tid, query_only).await
            {
                tracing::debug!(session = self.id, backend = %addr, error = %e, "kill on a backend");
            }
        }
        if target.id == self.id && !query_only {
            // A session that kills itself gets what a server sends it: 1927, then the end.
            let err = SqlError::connection_killed();
            self.client.send_error(&err, msg.reply_seq()).await?;
            return Ok(false);
        }
        let ok = ok_payload(0, 0, self.status_flags(), 0);
        self.client.send(&ok, msg.reply_seq()).await?;
        Ok(true)
    }

    /// COM_RESET_CONNECTION: resets every backend connection; nothing of the session's
    /// state survives.
    pub(super) async fn reset_connection(&mut self, msg: &Message) -> Result<(), SessionError> {
        // The writer connection, when the session holds one, is reset as the reader
        // connections are (one that fails is dropped: a new one starts clean too).
        let mut st = status::AUTOCOMMIT;
        if let Some(w) = self.conns.open_writer() {
            match w.reset().await {
                Ok(()) => st = w.status,
                Err(e) => {
                    tracing::debug!(session = self.id, error = %e, "COM_RESET_CONNECTION failed on the writer; dropped");
                    self.conns.drop(Served::Writer);
                }
            }
        }
        self.client
            .send(&ok_payload(0, 0, st, 0), msg.reply_seq())
            .await?;
        self.last_insert_id = 0;
        self.read_back = None;
        self.history.clear();
        let consistency = self.live.config.routing.consistency;
        let flavour = self.shared.topology.current().flavour();
        let setup = super::positions::reader_setup(consistency, flavour);
        self.conns.reset_readers(&self.history, setup).await;
        self.prepared.clear();
        self.state = SessionState::new(st);
        self.txlog.clear();
        self.reset_wait_timeout();
        Ok(())
    }

    /// COM_CHANGE_USER: authenticates the new user (via an auth switch to
    /// mysql_native_password with a fresh scramble), drops every backend connection and
    /// logs in again. A failure ends the session, as on a server.
    pub(super) async fn change_user(
        &mut self,
        msg: &Message,
        body: &[u8],
    ) -> Result<bool, SessionError> {
        let req = match change_user::parse(body, self.login.caps) {
            Ok(r) => r,
            Err(e) => {
                self.client.send_error(&e.to_sql(), msg.reply_seq()).await?;
                return Ok(false);
            }
        };
        let name = req.user;
        let db = req.db;
        let collation = req.collation.unwrap_or(self.login.collation);
        let attrs = req.attrs;
        let Some((scramble, reply)) = self.native_proof(msg.reply_seq()).await? else {
            return Ok(false);
        };
        let seq = reply.reply_seq();
        let host = self.client.peer.ip().to_string();
        let response = reply.payload().into_owned();
        let found = self.live.config.user(&name);
        let proven =
            found.is_some_and(|u| auth::verify(Method::Native, &scramble, &u.password, &response));
        let (shared, id) = (self.shared.clone(), self.id);
        let verified = login::verify_user(found, proven, self.client.is_tls(), |u| {
            shared.sessions.change_user(id, &u.name, u.max_connections)
        });
        let user = match verified {
            Ok(u) => u,
            Err(refused) => {
                refused.count();
                let code = refused.to_sql(&name, &host, !response.is_empty());
                self.client.send_error(&code, seq).await?;
                return Ok(false);
            }
        };
        // Drop everything of the old user.
        let replayable =
            self.transaction_pooling() && self.pin().is_none() && self.read_back.is_none();
        self.conns
            .release_all(&self.live, &self.history, replayable);
        self.last_insert_id = 0;
        self.read_back = None;
        self.history.clear();
        self.prepared.clear();
        self.login.user = user;
        self.login.collation = collation;
        if attrs.is_some() {
            self.login.attrs = attrs;
        }
        self.db = db;
        self.registration.info.set_db(self.db.clone());
        self.open_writer_and_ok(seq).await
    }

    /// Asks the client for a mysql_native_password proof against a fresh scramble (an
    /// auth switch: the proof is then ours to check). `None` when the client went away.
    async fn native_proof(&mut self, seq: u8) -> Result<Option<([u8; 20], Message)>, SessionError> {
        let scramble = new_scramble();
        let mut data = scramble.to_vec();
        data.push(0);
        let mut payload = Vec::new();
        AuthSwitchRequest::new(auth::NATIVE, &data[..]).serialize(&mut payload);
        self.client.send(&payload, seq).await?;
        Ok(self
            .client
            .read_message()
            .await?
            .map(|reply| (scramble, reply)))
    }
}
