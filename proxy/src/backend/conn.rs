//! One connection to a backend server: login as a client, send commands, relay answers.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use mysql_common::constants::{CapabilityFlags, ColumnType, MariadbCapabilities};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::auth::{caching_sha2_step, Sha2Step};
use crate::protocol::command::{COM_INIT_DB, COM_PING, COM_QUERY, COM_QUIT, COM_RESET_CONNECTION};
use crate::protocol::handshake::{required_caps, unsupported_caps, ServerInfo};
use crate::protocol::metadata::{self, Renumber};
use crate::protocol::packet::HEADER_LEN;
use crate::protocol::response::{Event, Expect, Scanner, Summary};
use crate::protocol::{packet, row, ProtocolError};
use crate::route::BackendId;

use super::pools::Lease;
use super::stmts::{StmtCache, StmtKey};
use super::{BackendError, BackendLoad, BackendStream, BackendTls};

/// How to log in to a backend: the client's negotiated options and the backend account.
#[derive(Debug, Clone)]
pub struct ConnectParams {
    pub user: String,
    pub password: String,
    pub db: Option<String>,
    /// Capabilities the client negotiated with rwsplit.
    pub caps: CapabilityFlags,
    pub mariadb_caps: MariadbCapabilities,
    pub collation: u8,
    pub attrs: Option<HashMap<String, String>>,
    pub max_packet: u32,
    pub connect_timeout: Duration,
    /// TLS to the backend (`None`: plain TCP).
    pub tls: Option<Arc<BackendTls>>,
}

/// The largest read buffer a connection keeps from one answer to the next (16 KiB as
/// allocated, plus what one reserve may add).
const KEPT_BUFFER: usize = 64 * 1024;

/// A logged-in backend connection.
pub struct BackendConn {
    pub id: BackendId,
    pub addr: String,
    stream: BackendStream,
    rbuf: BytesMut,
    /// The backend's connection id (for KILL).
    pub thread_id: u32,
    pub caps: CapabilityFlags,
    pub server: ServerInfo,
    /// Status flags from the login OK (or the last reset); the session clears
    /// AUTOCOMMIT here when it turns autocommit off on its own.
    pub status: u16,
    /// Current default database.
    pub db: Option<String>,
    /// The last entry of the session's history this connection has applied.
    pub applied: u64,
    /// Prepared statements on this connection.
    pub stmts: StmtCache,
    /// MariaDB's MARIADB_CLIENT_CACHE_METADATA was negotiated: an execution's answer
    /// may leave out column definitions this connection sent before.
    pub cache_metadata: bool,
    /// The prepared statement execution sent next, with the capability (see
    /// [`MetaPlan`]); taken by the relay of its answer.
    pub meta_plan: Option<MetaPlan>,
    /// Transaction pooling: a fingerprint of the session state this connection was left
    /// in by the session that gave it back (0: none, as after login or
    /// COM_RESET_CONNECTION; [`UNKNOWN_STATE`]: not known).
    pub tag: u64,
    /// What LAST_INSERT_ID() returns on this connection.
    pub last_insert_id: InsertId,
    /// The role's setup ran (a reader's autocommit and consistency settings).
    pub setup_done: bool,
    /// A statement ran whose effect on the session state is not tracked (CALL: a
    /// procedure may set anything): reset before another session uses it.
    pub untracked: bool,
    /// Counted in this backend's open connections while it lives.
    load: Option<Arc<BackendLoad>>,
    /// A command was sent whose answer was not read to its end.
    pending: bool,
    pub opened: Instant,
    /// Its slot in the pool of its backend (see `pools`), when it came from one.
    pub(super) lease: Option<Lease>,
}

impl Drop for BackendConn {
    fn drop(&mut self) {
        if let Some(l) = &self.load {
            l.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// What LAST_INSERT_ID() returns on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertId {
    Known(u64),
    /// Changed by a statement of the session that holds the connection: that session's
    /// own value, not read yet.
    Own,
    /// Changed by a session that gave the connection back before it was read.
    Unknown,
}

/// An execution of a prepared statement on a connection with MARIADB_CLIENT_CACHE_METADATA.
#[derive(Debug, Clone)]
pub struct MetaPlan {
    /// The statement: what the connection sends with the answer is noted on it.
    pub key: StmtKey,
    /// Column definitions the client lacks and the connection will leave out (it sent
    /// them at its prepare), with their fingerprint: put back into the answer.
    pub inject: Option<(Vec<Vec<u8>>, u64)>,
}

/// The [`BackendConn::tag`] of a connection whose session state is not known (it must be
/// reset before another session uses it).
pub const UNKNOWN_STATE: u64 = u64::MAX;

/// Something that receives relayed bytes and can supply LOCAL INFILE data.
#[allow(async_fn_in_trait)]
pub trait Downstream {
    /// Sends bytes of the answer on to the client.
    async fn forward(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Reads the client's LOCAL INFILE data up to and including the empty packet, passing
    /// each packet to `sink`.
    async fn infile_to(&mut self, sink: &mut BackendStream) -> std::io::Result<()>;
    /// Called once the answer is complete, just before its last bytes are forwarded.
    fn before_end(&mut self) {}
}

/// Discards what it is given (answers to commands rwsplit sends on its own).
pub struct Discard;

impl Downstream for Discard {
    async fn forward(&mut self, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    async fn infile_to(&mut self, sink: &mut BackendStream) -> std::io::Result<()> {
        // Refuse to send a file: an empty packet ends the exchange.
        sink.write_all(&[0, 0, 0, 2]).await
    }
}

/// Keeps what it is given (an answer rwsplit must change before the client sees it).
#[derive(Default)]
pub struct Capture(pub Vec<u8>);

impl Downstream for Capture {
    async fn forward(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
    async fn infile_to(&mut self, sink: &mut BackendStream) -> std::io::Result<()> {
        Discard.infile_to(sink).await
    }
}

/// Where a relay failed: the side decides what the client is told.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("backend: {0}")]
    Backend(#[from] BackendError),
    #[error("client: {0}")]
    Client(std::io::Error),
}

impl BackendConn {
    /// Connects and logs in.
    pub async fn connect(
        id: BackendId,
        addr: &str,
        p: &ConnectParams,
    ) -> Result<BackendConn, BackendError> {
        // Boxed: a login's future (TCP connect, TLS, the authentication exchange) is
        // large, and held inline it would make every future that may open a connection
        // as large, down to each command's, which is copied to the heap per command.
        Box::pin(Self::open(id, addr, p)).await
    }

    async fn open(
        id: BackendId,
        addr: &str,
        p: &ConnectParams,
    ) -> Result<BackendConn, BackendError> {
        let stream = tokio::time::timeout(p.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| BackendError::Timeout)?
            .map_err(BackendError::Connect)?;
        stream.set_nodelay(true).map_err(BackendError::Io)?;
        let mut conn = BackendConn {
            id,
            addr: addr.to_string(),
            stream: BackendStream::Plain(stream),
            rbuf: BytesMut::with_capacity(16 * 1024),
            thread_id: 0,
            caps: CapabilityFlags::empty(),
            server: ServerInfo::fallback(),
            status: 0,
            db: p.db.clone(),
            applied: 0,
            stmts: StmtCache::default(),
            cache_metadata: false,
            meta_plan: None,
            tag: 0,
            last_insert_id: InsertId::Known(0),
            setup_done: false,
            untracked: false,
            load: None,
            pending: false,
            opened: Instant::now(),
            lease: None,
        };
        tokio::time::timeout(p.connect_timeout, conn.login(p))
            .await
            .map_err(|_| BackendError::Timeout)??;
        if conn.rbuf.is_empty() {
            conn.rbuf = BytesMut::new();
        }
        Ok(conn)
    }

    /// The connection phase as a client of the backend: the handshake response with the
    /// session's capabilities, collation and attributes, TLS when configured, then the
    /// authentication exchange.
    async fn login(&mut self, p: &ConnectParams) -> Result<(), BackendError> {
        let (seq, greeting) = self.read_packet().await?;
        if greeting.first() == Some(&0xFF) {
            return Err(BackendError::server(&greeting));
        }
        let hs: HandshakePacket<'_> = ParseBuf(&greeting)
            .parse(())
            .map_err(|_| BackendError::Protocol("bad greeting"))?;
        let server = ServerInfo::from_greeting(&hs);
        self.thread_id = hs.connection_id();
        let nonce = hs.nonce();
        let server_caps = hs.capabilities();
        let mut caps = (p.caps & server_caps) - unsupported_caps();
        caps |= required_caps() | CapabilityFlags::CLIENT_PLUGIN_AUTH;
        for c in [
            CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
            CapabilityFlags::CLIENT_CONNECT_ATTRS,
        ] {
            caps.set(c, server_caps.contains(c));
        }
        let plugin = AuthPlugin::from_bytes(&server.auth_plugin).into_owned();
        let data = plugin_data(&plugin, &p.password, &nonce)?;
        let mut attrs = p.attrs.clone().unwrap_or_default();
        attrs.insert("_proxy".into(), "rwsplit".into());
        let resp = HandshakeResponse::new(
            Some(&data[..]),
            hs.server_version_parsed().unwrap_or((10, 0, 0)),
            Some(p.user.as_bytes()),
            p.db.as_deref().map(str::as_bytes),
            Some(plugin.clone()),
            caps,
            Some(attrs),
            p.max_packet,
        )
        .with_mariadb_ext_capabilities(p.mariadb_caps & server.mariadb_caps);
        self.cache_metadata = (p.mariadb_caps & server.mariadb_caps)
            .contains(MariadbCapabilities::MARIADB_CLIENT_CACHE_METADATA);
        let mut payload = Vec::with_capacity(256);
        resp.serialize(&mut payload);
        // The collation byte: the client's, not the library's default.
        if let Some(b) = payload.get_mut(8) {
            *b = p.collation;
        }
        self.caps = CapabilityFlags::from_bits_truncate(u32::from_le_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ]));
        let mut seq = seq.wrapping_add(1);
        if let Some(tls) = &p.tls {
            seq = self.start_tls(tls, server_caps, &mut payload, seq).await?;
        }
        self.write_payload(&payload, seq).await?;
        self.authenticate(p, plugin, nonce).await?;
        self.server = server;
        Ok(())
    }

    /// Upgrades to TLS when the server offers it: the SSLRequest (the response's first
    /// 32 bytes) in plain, then the TLS handshake; the response then goes inside it.
    /// Returns the next sequence id.
    async fn start_tls(
        &mut self,
        tls: &BackendTls,
        server_caps: CapabilityFlags,
        payload: &mut [u8],
        seq: u8,
    ) -> Result<u8, BackendError> {
        if !server_caps.contains(CapabilityFlags::CLIENT_SSL) {
            if tls.required() {
                return Err(BackendError::Tls(format!(
                    "{} does not offer TLS (backends.tls = {:?})",
                    self.addr, tls.mode
                )));
            }
            return Ok(seq);
        }
        let mut req = payload.get(..32).map(<[u8]>::to_vec).unwrap_or_default();
        let with_ssl = self.caps | CapabilityFlags::CLIENT_SSL;
        if let Some(b) = req.get_mut(..4) {
            b.copy_from_slice(&with_ssl.bits().to_le_bytes());
        }
        if let Some(b) = payload.get_mut(..4) {
            b.copy_from_slice(&with_ssl.bits().to_le_bytes());
        }
        self.caps = with_ssl;
        self.write_payload(&req, seq).await?;
        let host = host_of(&self.addr).to_string();
        self.stream
            .connect_tls(tls, &host)
            .await
            .map_err(|e| BackendError::Tls(format!("handshake with {}: {e}", self.addr)))?;
        Ok(seq.wrapping_add(1))
    }

    /// The server's answers to the handshake response, until its OK: auth switches and
    /// caching_sha2_password's steps (`nonce`: the greeting's scramble).
    async fn authenticate(
        &mut self,
        p: &ConnectParams,
        mut plugin: AuthPlugin<'static>,
        mut nonce: Vec<u8>,
    ) -> Result<(), BackendError> {
        loop {
            let (s, p2) = self.read_packet().await?;
            let seq = s.wrapping_add(1);
            match p2.first() {
                Some(0x00) => {
                    self.status = ok_status(&p2, self.caps);
                    return Ok(());
                }
                Some(0xFF) => return Err(BackendError::server(&p2)),
                Some(0xFE) => {
                    let sw: AuthSwitchRequest<'_> = ParseBuf(&p2)
                        .parse(())
                        .map_err(|_| BackendError::Protocol("bad auth switch"))?;
                    plugin = sw.auth_plugin().into_owned();
                    let data = plugin_data(&plugin, &p.password, sw.plugin_data())?;
                    // The new nonce (the RSA exchange XORs the password with it).
                    nonce = sw.plugin_data().to_vec();
                    if nonce.last() == Some(&0) {
                        nonce.pop();
                    }
                    self.write_payload(&data, seq).await?;
                }
                Some(0x01) if plugin == AuthPlugin::CachingSha2Password => {
                    // Fast auth OK, or full authentication: the password in clear over
                    // TLS, otherwise RSA-encrypted under the public key it asks for.
                    let step = caching_sha2_step(
                        p2.get(1..).unwrap_or_default(),
                        self.stream.is_tls(),
                        &p.password,
                        &nonce,
                    )
                    .map_err(|e| {
                        BackendError::Auth(format!("caching_sha2_password with {}: {e}", self.addr))
                    })?;
                    if let Sha2Step::Send(data) = step {
                        self.write_payload(&data, seq).await?;
                    }
                }
                Some(0x01) => return Err(BackendError::Protocol("unexpected auth data")),
                _ => return Err(BackendError::Protocol("unexpected login answer")),
            }
        }
    }

    /// The load counters of this connection's backend (once counted in).
    pub fn load(&self) -> Option<&Arc<BackendLoad>> {
        self.load.as_ref()
    }

    /// Counts this connection in `load` (open connections) until it is dropped.
    pub fn count_in(&mut self, load: Arc<BackendLoad>) {
        load.open.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = self.load.replace(load) {
            old.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Reads one packet (payload and sequence id); used during login and for internal
    /// commands whose answers rwsplit reads itself.
    async fn read_packet(&mut self) -> Result<(u8, Vec<u8>), BackendError> {
        loop {
            if let Some(f) = packet::frame(&self.rbuf, 64 << 20)? {
                let payload = packet::payload_of(&self.rbuf[..f.total], &f);
                self.rbuf.advance(f.total);
                return Ok((f.last_seq, payload));
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<(), BackendError> {
        if self.rbuf.capacity() - self.rbuf.len() < 4096 {
            self.rbuf.reserve(16 * 1024);
        }
        let n = self
            .stream
            .read_buf(&mut self.rbuf)
            .await
            .map_err(BackendError::Io)?;
        if n == 0 {
            return Err(BackendError::Closed);
        }
        Ok(())
    }

    async fn write_payload(&mut self, payload: &[u8], seq: u8) -> Result<(), BackendError> {
        let buf = packet::packets(payload, seq);
        self.stream.write_all(&buf).await.map_err(BackendError::Io)
    }

    /// Sends framed bytes of a command the server does not answer (COM_STMT_CLOSE).
    pub async fn send_unanswered(&mut self, framed: &[u8]) -> Result<(), BackendError> {
        self.stream
            .write_all(framed)
            .await
            .map_err(BackendError::Io)
    }

    /// Sends framed bytes (a client's command as it came); its answer is then pending
    /// until it is read to its end.
    pub async fn send(&mut self, framed: &[u8]) -> Result<(), BackendError> {
        self.rbuf.clear();
        self.pending = true;
        self.stream
            .write_all(framed)
            .await
            .map_err(BackendError::Io)
    }

    /// Relays the answer to the command just sent, to `down`. Returns what it said and
    /// whether any byte reached `down` (the error side tells who failed).
    pub async fn relay<D: Downstream>(
        &mut self,
        down: &mut D,
        expect: Expect,
        forwarded: &mut bool,
    ) -> Result<Summary, RelayError> {
        let plan = match expect {
            Expect::Results => self.meta_plan.take(),
            _ => None,
        };
        let mut scanner = Scanner::new(expect, self.caps).with_cache_metadata(self.cache_metadata);
        if plan.is_some() || (expect == Expect::Prepare && self.cache_metadata) {
            scanner = scanner.fingerprint();
        }
        let mut bytes = 0u64;
        let mut renumber = None;
        if let Some((defs, _)) = plan.as_ref().and_then(|p| p.inject.as_ref()) {
            // Boxed: taken only after a table changed under a prepared statement.
            renumber =
                Box::pin(self.put_back_columns(down, &mut scanner, defs, &mut bytes)).await?;
            *forwarded |= renumber.is_some();
        }
        loop {
            let ev = scanner
                .feed(&self.rbuf)
                .map_err(|e| RelayError::Backend(e.into()))?;
            let (n, done, infile) = match ev {
                Event::More { forward } => (forward, false, false),
                Event::Done { forward } => (forward, true, false),
                Event::LocalInfile { forward } => (forward, false, true),
            };
            if done {
                down.before_end();
            }
            if n > 0 {
                if let Some(r) = &mut renumber {
                    r.apply(&mut self.rbuf[..n]);
                }
                *forwarded = true;
                bytes += n as u64;
                down.forward(&self.rbuf[..n])
                    .await
                    .map_err(RelayError::Client)?;
                self.rbuf.advance(n);
            }
            if done {
                self.pending = false;
                if self.rbuf.is_empty() && self.rbuf.capacity() > KEPT_BUFFER {
                    // Grown by a large answer: not kept for the next one.
                    self.rbuf = BytesMut::new();
                }
                let mut s = *scanner.summary();
                s.bytes = bytes;
                if s.insert_ids {
                    self.last_insert_id = InsertId::Own;
                }
                if let Some(plan) = plan {
                    match (&plan.inject, renumber.is_some(), s.meta) {
                        (Some((_, meta)), true, _) => s.meta = Some(*meta),
                        (_, _, Some(meta)) => self.stmts.sent_meta(&plan.key, meta),
                        _ => {}
                    }
                }
                return Ok(s);
            }
            if infile {
                down.infile_to(&mut self.stream)
                    .await
                    .map_err(RelayError::Client)?;
                continue;
            }
            self.fill().await?;
        }
    }

    /// The first packet of an execution's answer, when it is a column count leaving out
    /// the definitions `defs` (the client lacks them): sent to `down` as a count saying
    /// they follow, then `defs`; the rest of the answer is then renumbered (returned).
    /// Otherwise nothing is sent and the answer is relayed as it is.
    async fn put_back_columns<D: Downstream>(
        &mut self,
        down: &mut D,
        scanner: &mut Scanner,
        defs: &[Vec<u8>],
        bytes: &mut u64,
    ) -> Result<Option<Renumber>, RelayError> {
        let total = loop {
            match packet::header(&self.rbuf) {
                Some(h) if h.len > 64 * 1024 => return Ok(None),
                Some(h) if self.rbuf.len() >= HEADER_LEN + h.len => break HEADER_LEN + h.len,
                _ => self.fill().await?,
            }
        };
        let Some(out) = metadata::with_columns(&self.rbuf[..total], defs) else {
            return Ok(None);
        };
        match scanner.feed(&self.rbuf[..total]) {
            Ok(Event::More { forward }) if forward == total => {}
            // A count is never the whole answer.
            Ok(_) => {
                return Err(RelayError::Backend(
                    ProtocolError::Malformed("column count").into(),
                ))
            }
            Err(e) => return Err(RelayError::Backend(e.into())),
        }
        down.forward(&out).await.map_err(RelayError::Client)?;
        *bytes += out.len() as u64;
        self.rbuf.advance(total);
        metrics::counter!("rwsplit_metadata_resent_total").increment(1);
        Ok(Some(Renumber::new(defs.len())))
    }

    /// Runs a command of rwsplit's own and reads its answer.
    pub async fn command(
        &mut self,
        payload: &[u8],
        expect: Expect,
    ) -> Result<Summary, BackendError> {
        let buf = packet::packets(payload, 0);
        self.send(&buf).await?;
        let mut forwarded = false;
        match self.relay(&mut Discard, expect, &mut forwarded).await {
            Ok(s) => Ok(s),
            Err(RelayError::Backend(e)) => Err(e),
            Err(RelayError::Client(e)) => Err(BackendError::Io(e)),
        }
    }

    /// [`command`](Self::command), with an ERR answer as an error naming `what`.
    async fn command_ok(
        &mut self,
        payload: &[u8],
        expect: Expect,
        what: impl FnOnce() -> String,
    ) -> Result<Summary, BackendError> {
        let s = self.command(payload, expect).await?;
        match s.error {
            Some(code) => Err(BackendError::Rejected { code, what: what() }),
            None => Ok(s),
        }
    }

    /// Runs an SQL statement of rwsplit's own; an ERR answer becomes an error.
    pub async fn query(&mut self, sql: &str) -> Result<Summary, BackendError> {
        self.command_ok(&query_payload(sql), Expect::Results, || truncate(sql, 120))
            .await
    }

    /// Runs a query of rwsplit's own and returns the first column of its first row
    /// (`None` for NULL or no row).
    pub async fn query_scalar(&mut self, sql: &str) -> Result<Option<String>, BackendError> {
        self.send(&packet::packets(&query_payload(sql), 0)).await?;
        let read = self.read_result(sql).await.map(|answer| {
            let (columns, first_row) = answer?;
            let first_row = first_row?;
            let first = row::text_row(&first_row, columns.len())?
                .into_iter()
                .next()??;
            Some(String::from_utf8_lossy(first).into_owned())
        });
        if matches!(read, Ok(_) | Err(BackendError::Rejected { .. })) {
            self.pending = false;
        }
        read
    }

    /// Runs a query of rwsplit's own that returns one row of `columns` values, and
    /// returns each value with its column's type (`None`: NULL). The answer is read to
    /// its end; a missing or malformed row is an error.
    pub async fn query_row(&mut self, sql: &str, columns: usize) -> Result<TypedRow, BackendError> {
        self.send(&packet::packets(&query_payload(sql), 0)).await?;
        let read = match self.read_result(sql).await {
            Ok(answer) => typed_row(answer, columns),
            Err(e) => Err(e),
        };
        let answered = matches!(
            read,
            Ok(_) | Err(BackendError::Rejected { .. } | BackendError::Protocol(_))
        );
        if answered {
            self.pending = false;
        }
        read
    }

    /// The answer to a query of rwsplit's own, read to its end (or to an ERR packet):
    /// `None` for an OK, else its column definitions and its first row, if any.
    async fn read_result(&mut self, sql: &str) -> Result<Option<ResultHead>, BackendError> {
        let (_, first) = self.read_packet().await?;
        match first.first() {
            Some(0xFF) => return Err(rejected(&first, sql)),
            Some(0x00) => return Ok(None),
            _ => {}
        }
        let n = crate::protocol::response::lenenc(&first).unwrap_or(0);
        let mut columns = Vec::new();
        for _ in 0..n {
            columns.push(self.read_packet().await?.1);
        }
        if !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.read_packet().await?;
        }
        let mut row = None;
        loop {
            let (_, p) = self.read_packet().await?;
            match p.first() {
                Some(0xFE) if p.len() < 0xFF_FFFF => return Ok(Some((columns, row))),
                Some(0xFF) => return Err(rejected(&p, sql)),
                _ if row.is_none() => row = Some(p),
                _ => {}
            }
        }
    }

    /// Changes the default database.
    pub async fn init_db(&mut self, db: &str) -> Result<(), BackendError> {
        let mut payload = vec![COM_INIT_DB];
        payload.extend_from_slice(db.as_bytes());
        self.command_ok(&payload, Expect::Single, || format!("USE {db}"))
            .await?;
        self.db = Some(db.to_string());
        Ok(())
    }

    /// Frees the read buffer between answers. A connection a session keeps while its
    /// client is idle calls this (an idle session holds no read buffer); one given back
    /// to its pool keeps its buffer for the next borrower (the pool bounds how many idle
    /// connections there are), which saves an allocation of 16 KiB per statement.
    pub fn shed_buffer(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > 0 {
            self.rbuf = BytesMut::new();
        }
    }

    /// True when no answer is left half read (the connection is at a command boundary).
    pub fn is_idle(&self) -> bool {
        !self.pending
    }

    /// True when an idle connection was closed by its server (or the server sent
    /// something unasked): it must not be given a command.
    pub fn gone_while_idle(&self) -> bool {
        !self.rbuf.is_empty() || self.stream.gone_while_idle()
    }

    /// COM_PING: the connection still works.
    pub async fn ping(&mut self) -> Result<(), BackendError> {
        self.command_ok(&[COM_PING], Expect::Single, || "COM_PING".into())
            .await
            .map(|_| ())
    }

    /// COM_RESET_CONNECTION: the server forgets the session's state (variables, user
    /// variables, temporary tables, prepared statements, locks, transaction; not the
    /// default database); so does this connection's view of it.
    pub async fn reset(&mut self) -> Result<(), BackendError> {
        let s = self
            .command_ok(&[COM_RESET_CONNECTION], Expect::Single, || {
                "COM_RESET_CONNECTION".into()
            })
            .await?;
        self.status = s.status.unwrap_or(crate::route::status::AUTOCOMMIT);
        self.stmts.clear();
        self.applied = 0;
        self.tag = 0;
        self.last_insert_id = InsertId::Known(0);
        self.setup_done = false;
        self.untracked = false;
        Ok(())
    }

    /// Says goodbye (best effort).
    pub async fn quit(mut self) {
        let _ = self.stream.write_all(&[1, 0, 0, 0, COM_QUIT]).await;
        let _ = self.stream.shutdown().await;
    }
}

fn plugin_data(
    plugin: &AuthPlugin<'_>,
    password: &str,
    nonce: &[u8],
) -> Result<Vec<u8>, BackendError> {
    match plugin {
        AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => Ok(plugin
            .gen_data(Some(password), nonce)
            .map(|d| d.to_vec())
            .unwrap_or_default()),
        AuthPlugin::MysqlClearPassword => Ok(password.as_bytes().to_vec()),
        other => Err(BackendError::Auth(format!(
            "the backend asks for auth plugin {}, which rwsplit does not speak",
            String::from_utf8_lossy(other.as_bytes())
        ))),
    }
}

fn ok_status(ok: &[u8], caps: CapabilityFlags) -> u16 {
    use mysql_common::packets::{CommonOkPacket, OkPacketDeserializer};
    ParseBuf(ok)
        .parse::<OkPacketDeserializer<CommonOkPacket>>(caps)
        .map(|o| o.into_inner().status_flags().bits())
        .unwrap_or(0)
}

/// A result set's column-definition packets and its first row packet, if any.
type ResultHead = (Vec<Vec<u8>>, Option<Vec<u8>>);

/// A row's values with their columns' types (`None`: NULL).
pub type TypedRow = Vec<(ColumnType, Option<Vec<u8>>)>;

/// A COM_QUERY of `sql`.
fn query_payload(sql: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(sql.len() + 1);
    payload.push(COM_QUERY);
    payload.extend_from_slice(sql.as_bytes());
    payload
}

/// `query_row`'s answer: the first row's values with their columns' types, when the
/// result has exactly `columns` well-formed columns and a row.
fn typed_row(answer: Option<ResultHead>, columns: usize) -> Result<TypedRow, BackendError> {
    let (defs, row) = answer.ok_or(BackendError::Protocol("a read-back query returned no row"))?;
    let values = row
        .as_deref()
        .and_then(|r| row::text_row(r, defs.len()))
        .ok_or(BackendError::Protocol("a read-back query returned no row"))?;
    let types: Option<Vec<ColumnType>> = defs.iter().map(|d| row::column_type(d)).collect();
    match types {
        Some(types) if types.len() == columns => Ok(types
            .into_iter()
            .zip(values.into_iter().map(|v| v.map(<[u8]>::to_vec)))
            .collect()),
        _ => Err(BackendError::Protocol(
            "a read-back query returned other columns",
        )),
    }
}

/// The error an ERR packet (`p`) answering rwsplit's own `sql` stands for.
fn rejected(p: &[u8], sql: &str) -> BackendError {
    BackendError::Rejected {
        code: u16::from_le_bytes([
            p.get(1).copied().unwrap_or(0),
            p.get(2).copied().unwrap_or(0),
        ]),
        what: truncate(sql, 120),
    }
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The host part of `host:port` (`[v6]:port` too).
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}
