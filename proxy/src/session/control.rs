//! Commands that act on the session itself: KILL of an rwsplit session,
//! COM_RESET_CONNECTION and COM_CHANGE_USER.

use mysql_common::packets::AuthSwitchRequest;
use mysql_common::proto::MySerialize;

use super::*;
use crate::protocol::auth::{self, Method};
use crate::protocol::change_user;

impl Session {
    /// KILL [QUERY] of an rwsplit session id (the id clients see in the greeting): the
    /// statements of that session's backend connections are killed where they run, and for
    /// KILL CONNECTION the session ends.
    pub(super) async fn kill(
        &mut self,
        msg: &Message,
        target: &crate::shared::SessionInfo,
        query_only: bool,
    ) -> Result<(), SessionError> {
        let threads = target
            .threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if !query_only {
            target
                .killed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let topo = self.shared.topology();
        let verb = if query_only { "KILL QUERY" } else { "KILL" };
        for (backend, tid) in threads {
            let conn = if Some(backend) == topo.writer {
                if self.writer.is_none() && self.connect_writer(&topo).await.is_err() {
                    continue;
                }
                self.writer.as_mut()
            } else {
                match self.reader_conn(backend, &topo).await {
                    Ok(i) => self.readers.get_mut(i),
                    Err(_) => None,
                }
            };
            if let Some(c) = conn {
                if let Err(e) = c.query(&format!("{verb} {tid}")).await {
                    tracing::debug!(session = self.id, error = %e, "kill on a backend");
                }
            }
        }
        let ok = ok_payload(0, 0, self.status_flags(), 0);
        self.client.send(&ok, msg.reply_seq()).await?;
        Ok(())
    }

    /// COM_RESET_CONNECTION: resets every backend connection; nothing of the session's
    /// state survives.
    pub(super) async fn reset_connection(&mut self, msg: &Message) -> Result<(), SessionError> {
        let summary = if self.writer.is_some() {
            self.on_writer(msg, Expect::Single).await?
        } else {
            let ok = ok_payload(0, 0, status::AUTOCOMMIT, 0);
            self.client.send(&ok, msg.reply_seq()).await?;
            None
        };
        let mut readers = std::mem::take(&mut self.readers);
        let mut kept = Vec::new();
        for mut r in readers.drain(..) {
            match r
                .command(&[command::COM_RESET_CONNECTION], Expect::Single)
                .await
            {
                Ok(s) if s.error.is_none() => kept.push(r),
                _ => {}
            }
        }
        self.readers = kept;
        self.history.clear();
        let last = self.history.last_seq();
        for c in self.readers.iter_mut().chain(self.writer.iter_mut()) {
            c.applied = last;
        }
        self.prepared.clear();
        let st = summary.and_then(|s| s.status).unwrap_or(status::AUTOCOMMIT);
        self.state = SessionState::new(st);
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
        // Always switch to native with a fresh scramble: the proof is then ours to check.
        let scramble = new_scramble();
        let mut data = scramble.to_vec();
        data.push(0);
        let mut payload = Vec::new();
        AuthSwitchRequest::new(auth::NATIVE, &data[..]).serialize(&mut payload);
        self.client.send(&payload, msg.reply_seq()).await?;
        let Some(reply) = self.client.read_message().await? else {
            return Ok(false);
        };
        let seq = reply.reply_seq();
        let host = self.client.peer.ip().to_string();
        let response = reply.payload().into_owned();
        let user = self.config.user(&name).cloned();
        let Some(user) =
            user.filter(|u| auth::verify(Method::Native, &scramble, &u.password, &response))
        else {
            self.client
                .send_error(
                    &SqlError::access_denied(&name, &host, !response.is_empty()),
                    seq,
                )
                .await?;
            return Ok(false);
        };
        // Drop everything of the old user.
        if let Some(w) = self.writer.take() {
            w.quit().await;
        }
        for r in self.readers.drain(..) {
            r.quit().await;
        }
        self.history.clear();
        self.prepared.clear();
        self.login.user = user;
        self.login.collation = collation;
        if attrs.is_some() {
            self.login.attrs = attrs;
        }
        self.db = db;
        self.open_writer_and_ok(seq).await
    }
}
