//! The backend connection pools of one rwsplit ([`Pools`]): one per backend and role,
//! shared by every session. What makes two sessions' connections interchangeable
//! ([`PoolKey`]), how a session takes one ([`Pools::checkout`]) and gives it back at its
//! end ([`give_back`]: reset, then idle for the next session), and the upkeep
//! ([`Pools::maintain`]: idle and lifetime limits, backends gone, gauges).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use mysql_common::constants::{CapabilityFlags, MariadbCapabilities};

use super::pool::{count_closed, to_open, Grant, Limits, Pool, PoolStats, Pooled, Slot};
use super::{BackendConn, BackendError, ConnectParams};
use crate::config::PoolConfig;
use crate::route::{BackendId, Role, Topology};

type BackendPool = Pool<PoolKey, BackendConn>;

/// What changes the bytes on the wire or the rights of a connection: the backend
/// account, the capabilities that alter packet formats, the collation and TLS. Sessions
/// with equal keys share connections. (Connection attributes are not part of it: a
/// pooled connection shows the backend those of the session that opened it.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    user: String,
    password: u64,
    caps: u32,
    mariadb_caps: u32,
    collation: u8,
    tls: bool,
}

impl PoolKey {
    pub fn of(p: &ConnectParams) -> PoolKey {
        PoolKey::new(
            &p.user,
            &p.password,
            p.caps,
            p.mariadb_caps,
            p.collation,
            p.tls.is_some(),
        )
    }

    /// The key of connections opened as `user` with these capabilities, collation and
    /// TLS setting.
    pub fn new(
        user: &str,
        password: &str,
        caps: CapabilityFlags,
        mariadb_caps: MariadbCapabilities,
        collation: u8,
        tls: bool,
    ) -> PoolKey {
        // Not in the key: they say how the login went, not how packets look.
        let login_only = CapabilityFlags::CLIENT_CONNECT_WITH_DB
            | CapabilityFlags::CLIENT_CONNECT_ATTRS
            | CapabilityFlags::CLIENT_SSL;
        let mut h = DefaultHasher::new();
        password.hash(&mut h);
        PoolKey {
            user: user.to_string(),
            password: h.finish(),
            caps: (caps - login_only).bits(),
            mariadb_caps: mariadb_caps.bits(),
            collation,
            tls,
        }
    }
}

/// A pooled connection's slot in its pool, and what it is given back to.
pub struct Lease {
    _slot: Slot<PoolKey, BackendConn>,
    pool: Arc<BackendPool>,
    key: PoolKey,
    role: Role,
}

impl Lease {
    /// The lease of a connection just opened in `slot` of `pool`.
    fn new(
        slot: Slot<PoolKey, BackendConn>,
        pool: &Arc<BackendPool>,
        key: &PoolKey,
        role: Role,
    ) -> Lease {
        Lease {
            _slot: slot,
            pool: pool.clone(),
            key: key.clone(),
            role,
        }
    }
}

impl Pooled for BackendConn {
    fn opened(&self) -> Instant {
        self.opened
    }

    fn close(self) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(self.quit());
        }
    }
}

fn limits(cfg: &PoolConfig) -> Limits {
    Limits {
        max_connections: cfg.max_connections,
        max_idle: cfg.max_idle,
        surplus_idle: super::pool::SURPLUS_IDLE,
        idle_timeout: Duration::from_millis(cfg.idle_timeout_ms),
        max_lifetime: (cfg.max_lifetime_ms > 0).then(|| Duration::from_millis(cfg.max_lifetime_ms)),
    }
}

/// One pool's figures, for `SHOW POOLS` and the gauges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRow {
    pub backend: BackendId,
    pub addr: String,
    pub role: Role,
    pub stats: PoolStats,
}

struct Entry {
    addr: String,
    pool: Arc<BackendPool>,
    metrics: Arc<CheckoutMetrics>,
    ahead: Arc<Ahead>,
}

/// Connections opened ahead of need (`pool.min_idle`): they log in as the last
/// connection a session opened in this pool did.
#[derive(Default)]
struct Ahead {
    last: Mutex<Option<(PoolKey, ConnectParams)>>,
    /// Being opened now.
    opening: AtomicUsize,
}

/// A pool's borrow counters and waiting-time histogram, resolved once (not from their
/// labels on every borrow).
struct CheckoutMetrics {
    wait: ::metrics::Histogram,
    idle: ::metrics::Counter,
    new: ::metrics::Counter,
    timeout: ::metrics::Counter,
}

impl CheckoutMetrics {
    fn new(addr: &str, role: Role) -> Self {
        let labels = [
            ("backend", addr.to_string()),
            ("role", role.label().to_string()),
        ];
        let borrows = |o: &'static str| {
            ::metrics::counter!("rwsplit_pool_borrows_total", "backend" => addr.to_string(),
                "role" => role.label(), "outcome" => o)
        };
        CheckoutMetrics {
            wait: ::metrics::histogram!("rwsplit_pool_borrow_wait_seconds", &labels),
            idle: borrows("idle"),
            new: borrows("new"),
            timeout: borrows("timeout"),
        }
    }
}

/// Every pool, by backend and role.
#[derive(Default)]
pub struct Pools {
    by_backend: RwLock<HashMap<(BackendId, Role), Entry>>,
}

impl Pools {
    fn of(&self, id: BackendId, role: Role, addr: &str) -> Handles {
        let found = |e: &Entry| (e.pool.clone(), e.metrics.clone(), e.ahead.clone());
        if let Some(e) = self
            .by_backend
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(id, role))
            .filter(|e| e.addr == addr)
        {
            return found(e);
        }
        let mut map = self.by_backend.write().unwrap_or_else(|p| p.into_inner());
        match map.get(&(id, role)) {
            Some(e) if e.addr == addr => found(e),
            // None yet, or the backend moved: a new pool (the old one's connections
            // close as they come back).
            _ => {
                let entry = Entry {
                    addr: addr.to_string(),
                    pool: Arc::new(Pool::new(addr, role.label())),
                    metrics: Arc::new(CheckoutMetrics::new(addr, role)),
                    ahead: Arc::default(),
                };
                let handles = found(&entry);
                map.insert((id, role), entry);
                handles
            }
        }
    }

    /// A connection to backend `id` (at `addr`, in `role`) for a session whose
    /// connections have the key `key` (a new one logs in with `params()`, built only
    /// then), with the default database `db`, whose state has the fingerprint `tag`: an
    /// idle one of the same [`PoolKey`]
    /// (pinged first when idle past `ping_after_idle_ms`; a broken one is closed and
    /// another taken), else a new one; at `max_connections`, the session waits its turn
    /// up to `borrow_timeout_ms`. Among idle ones, [`rank`] decides. An idle connection
    /// is only given to a session with a default database, or to one without when it has
    /// none either (a connection cannot leave its database).
    #[allow(clippy::too_many_arguments)]
    pub async fn checkout(
        &self,
        id: BackendId,
        role: Role,
        addr: &str,
        key: &PoolKey,
        db: Option<&str>,
        params: impl Fn() -> ConnectParams,
        cfg: &PoolConfig,
        tag: u64,
    ) -> Result<BackendConn, BackendError> {
        let (pool, metrics, ahead) = self.of(id, role, addr);
        loop {
            let (want, db) = (key.clone(), db.map(str::to_string));
            let accept = move |k: &PoolKey, c: &BackendConn| {
                (*k == want).then(|| rank(c.tag, c.db.as_deref(), tag, db.as_deref()))?
            };
            let started = Instant::now();
            let grant = pool
                .borrow(
                    limits(cfg),
                    accept,
                    Duration::from_millis(cfg.borrow_timeout_ms),
                )
                .await;
            metrics.wait.record(started.elapsed().as_secs_f64());
            match grant {
                Err(_) => {
                    metrics.timeout.increment(1);
                    return Err(BackendError::PoolExhausted {
                        addr: addr.to_string(),
                        max: cfg.max_connections,
                        waited_ms: cfg.borrow_timeout_ms,
                    });
                }
                Ok(Grant::Idle(mut conn, idle_for)) => {
                    if conn.gone_while_idle() {
                        // Its server died or ended it (a failover): never sent a command.
                        count_closed(addr, role.label(), "broken");
                        continue;
                    }
                    if idle_for >= Duration::from_millis(cfg.ping_after_idle_ms)
                        && conn.ping().await.is_err()
                    {
                        count_closed(addr, role.label(), "broken");
                        continue;
                    }
                    metrics.idle.increment(1);
                    return Ok(conn);
                }
                Ok(Grant::Open(slot)) => {
                    let p = params();
                    let mut conn = BackendConn::connect(id, addr, &p).await?;
                    metrics.new.increment(1);
                    *ahead.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((key.clone(), p));
                    conn.lease = Some(Lease::new(slot, &pool, key, role));
                    return Ok(conn);
                }
            }
        }
    }

    /// The upkeep, every second or so: closes idle connections past their limits and
    /// those of backends that left the topology or changed role, forgets empty pools of
    /// such backends, and sets the gauges.
    pub fn maintain(&self, topo: &Topology, cfg: &PoolConfig) {
        let limits = limits(cfg);
        let mut gone = Vec::new();
        for (&(id, role), e) in self
            .by_backend
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let current = topo
                .get(id)
                .is_some_and(|b| b.role == role && b.addr == e.addr);
            e.pool.reap(limits, current);
            let s = e.pool.stats();
            if current && cfg.min_idle > 0 {
                open_ahead(e, id, role, s, cfg);
            }
            if !current && s.open == 0 && s.waiting == 0 {
                gone.push((id, role));
            }
            gauges(&e.addr, role, s);
        }
        if !gone.is_empty() {
            let mut map = self.by_backend.write().unwrap_or_else(|p| p.into_inner());
            for k in gone {
                if let Some(e) = map.remove(&k) {
                    gauges(&e.addr, k.1, PoolStats::default());
                }
            }
        }
    }

    /// True when a session waits for a connection of any pool.
    pub fn anyone_waiting(&self) -> bool {
        self.by_backend
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|e| e.pool.stats().waiting > 0)
    }

    /// Every pool's figures, by backend then role.
    pub fn rows(&self) -> Vec<PoolRow> {
        let mut v: Vec<PoolRow> = self
            .by_backend
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(&(backend, role), e)| PoolRow {
                backend,
                addr: e.addr.clone(),
                role,
                stats: e.pool.stats(),
            })
            .collect();
        v.sort_by_key(|r| (r.backend, r.role == Role::Reader));
        v
    }
}

/// The pool handles `Pools::of` gives.
type Handles = (Arc<BackendPool>, Arc<CheckoutMetrics>, Arc<Ahead>);

/// Opens, in the background, the connections `pool.min_idle` asks for, as the last
/// connection a session opened in this pool logged in (none before one did).
fn open_ahead(e: &Entry, id: BackendId, role: Role, s: PoolStats, cfg: &PoolConfig) {
    let n = to_open(
        s,
        e.ahead.opening.load(Ordering::Relaxed),
        cfg.min_idle,
        cfg.max_connections,
    );
    if n == 0 {
        return;
    }
    let last = e
        .ahead
        .last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let (Some((key, params)), Ok(rt)) = (last, tokio::runtime::Handle::try_current()) else {
        return;
    };
    let limits = limits(cfg);
    for _ in 0..n {
        let Some(slot) = e.pool.reserve(limits) else {
            return;
        };
        let (pool, ahead, addr) = (e.pool.clone(), e.ahead.clone(), e.addr.clone());
        let (key, params) = (key.clone(), params.clone());
        ahead.opening.fetch_add(1, Ordering::Relaxed);
        rt.spawn(async move {
            match BackendConn::connect(id, &addr, &params).await {
                Ok(mut conn) => {
                    conn.lease = Some(Lease::new(slot, &pool, &key, role));
                    pool.put_back(key, conn, limits);
                }
                Err(err) => {
                    tracing::debug!(backend = %addr, error = %err, "pool.min_idle: opening a connection failed");
                }
            }
            ahead.opening.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// How well an idle connection (state fingerprint `has`, database `in_db`) suits a
/// session (`want`, `db`); lower is better, `None` = unusable: first one in the session's
/// state, then one in no state (only the session's history to replay), then one to reset
/// first; within each, one in the session's database. A session without a database can
/// only use a connection without one.
pub fn rank(has: u64, in_db: Option<&str>, want: u64, db: Option<&str>) -> Option<u8> {
    if db.is_none() && in_db.is_some() {
        return None;
    }
    let other_db = u8::from(in_db != db);
    Some(match has {
        h if h == want => other_db,
        0 => 2 + other_db,
        _ => 4 + other_db,
    })
}

/// What a connection taken from a pool (state fingerprint `has`) needs before it serves
/// a session whose state has the fingerprint `want`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepare {
    /// It is in the session's state: nothing to replay.
    Ready,
    /// It is in no state: the session's whole history is replayed.
    Replay,
    /// It is in another session's state: COM_RESET_CONNECTION, then the history.
    ResetAndReplay,
}

pub fn prepare_for(has: u64, want: u64) -> Prepare {
    match has {
        h if h == want => Prepare::Ready,
        0 => Prepare::Replay,
        _ => Prepare::ResetAndReplay,
    }
}

/// Transaction pooling: gives a connection back between a session's statements as it is
/// (its [`BackendConn::tag`] says what state it holds; the next borrower resets it if it
/// needs another). One with an answer left half read is closed.
pub fn park(mut conn: BackendConn, cfg: &PoolConfig) {
    let Some(lease) = conn.lease.take() else {
        conn.close();
        return;
    };
    if !conn.is_idle() || cfg.max_idle == 0 {
        if !conn.is_idle() {
            count_closed(&conn.addr, lease.role.label(), "unfinished");
        }
        conn.lease = Some(lease);
        conn.close();
        return;
    }
    let (pool, key) = (lease.pool.clone(), lease.key.clone());
    conn.lease = Some(lease);
    pool.put_back(key, conn, limits(cfg));
}

/// The end of a session: each connection is reset (COM_RESET_CONNECTION, in the
/// background) and given back to its pool for the next session; one with an answer
/// left half read, one that fails the reset, or any with `max_idle = 0`, is closed.
pub fn give_back(mut conn: BackendConn, cfg: &PoolConfig) {
    let Some(lease) = conn.lease.take() else {
        conn.close();
        return;
    };
    let addr = conn.addr.clone();
    let unfinished = !conn.is_idle();
    if unfinished || cfg.max_idle == 0 {
        if unfinished {
            count_closed(&addr, lease.role.label(), "unfinished");
        }
        // The slot is freed once the connection has said goodbye.
        conn.lease = Some(lease);
        conn.close();
        return;
    }
    let limits = limits(cfg);
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let ok = conn.reset().await.is_ok();
        ::metrics::counter!("rwsplit_pool_resets_total", "backend" => addr.clone(),
            "role" => lease.role.label(), "outcome" => if ok { "ok" } else { "failed" })
        .increment(1);
        if !ok {
            count_closed(&addr, lease.role.label(), "reset_failed");
            return;
        }
        let (pool, key) = (lease.pool.clone(), lease.key.clone());
        conn.lease = Some(lease);
        pool.put_back(key, conn, limits);
    });
}

fn gauges(addr: &str, role: Role, s: PoolStats) {
    let (b, r) = (addr.to_string(), role.label());
    ::metrics::gauge!("rwsplit_pool_connections", "backend" => b.clone(), "role" => r, "state" => "idle")
        .set(s.idle as f64);
    ::metrics::gauge!("rwsplit_pool_connections", "backend" => b.clone(), "role" => r, "state" => "borrowed")
        .set(s.borrowed() as f64);
    ::metrics::gauge!("rwsplit_pool_waiting", "backend" => b, "role" => r).set(s.waiting as f64);
}
