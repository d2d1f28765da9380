//! A pool of connections to one backend in one role, shared by every session of this
//! rwsplit ([`Pool`]). Each open connection holds a [`Slot`] of the pool's capacity while
//! it lives, borrowed or idle; dropping it frees the slot for the first session waiting.
//! Sessions wait first come first served. Nothing here does I/O: the caller opens,
//! checks and resets connections; closing is the connection's own business
//! ([`Pooled::close`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// What the pool needs of a connection.
pub trait Pooled: Send + Sized + 'static {
    /// When it was opened (for the lifetime limit).
    fn opened(&self) -> Instant;
    /// Closes it (its slot is freed once it is dropped).
    fn close(self);
}

/// The limits a pool applies, from `[pool]` (read at each call, so a reload applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most; 0 = no cap.
    pub max_connections: usize,
    /// Idle connections kept past `surplus_idle`; 0 = none at all.
    pub max_idle: usize,
    /// How long one past `max_idle` stays idle before [`Pool::reap`] closes it
    /// ([`SURPLUS_IDLE`] in service).
    pub surplus_idle: Duration,
    pub idle_timeout: Duration,
    /// `None`: no lifetime limit.
    pub max_lifetime: Option<Duration>,
}

/// How long a connection past `max_idle` stays idle before [`Pool::reap`] closes it: a
/// connection not borrowed for that long under LIFO reuse (the newest idle first) is
/// beyond what the load needs. 1 s still closed and reopened about 100 connections a
/// second at 1,000 clients (their bursts leave some idle longer); 10 s, none.
pub const SURPLUS_IDLE: Duration = Duration::from_secs(10);

/// What a borrow gets.
pub enum Grant<K, C> {
    /// An idle connection (its slot inside it), and how long it was idle.
    Idle(C, Duration),
    /// Room for one more connection: open it and keep the slot in it.
    Open(Slot<K, C>),
}

/// The borrow waited its whole timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

/// Why the pool closed a connection (the label of `rwsplit_pool_closed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    IdleTimeout,
    Lifetime,
    /// Idle past `max_idle` for `surplus_idle`, or more open than `max_connections`.
    Surplus,
    /// Its slot was needed by a session that could not use it (another account or
    /// capabilities).
    Evicted,
    /// Its backend left the topology or changed role.
    Topology,
}

impl CloseReason {
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::Lifetime => "lifetime",
            CloseReason::Surplus => "surplus",
            CloseReason::Evicted => "evicted",
            CloseReason::Topology => "topology",
        }
    }
}

/// Counts of one pool at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections (borrowed, idle and being opened).
    pub open: usize,
    pub idle: usize,
    /// Sessions waiting for a connection.
    pub waiting: usize,
}

impl PoolStats {
    pub fn borrowed(&self) -> usize {
        self.open.saturating_sub(self.idle)
    }
}

/// How many connections to open in the background so that `min_idle` are idle: what is
/// missing, less the `opening` already under way, within `max_connections` (0 = no
/// cap), and none while sessions wait (the free slots are theirs).
pub fn to_open(stats: PoolStats, opening: usize, min_idle: usize, max_connections: usize) -> usize {
    if stats.waiting > 0 {
        return 0;
    }
    let missing = min_idle.saturating_sub(stats.idle + opening);
    match max_connections {
        0 => missing,
        max => missing.min(max.saturating_sub(stats.open)),
    }
}

/// Connections to one backend in one role.
pub struct Pool<K, C> {
    /// The backend's address and role, for the metrics.
    backend: String,
    role: &'static str,
    state: Mutex<State<K, C>>,
}

struct State<K, C> {
    open: usize,
    /// Oldest first.
    idle: VecDeque<Idle<K, C>>,
    waiters: VecDeque<Waiter<K, C>>,
    next_waiter: u64,
}

struct Idle<K, C> {
    key: K,
    conn: C,
    since: Instant,
}

/// How well a connection suits a borrower: `None` = not at all, else lower is better.
type Rank<K, C> = Box<dyn Fn(&K, &C) -> Option<u8> + Send>;

struct Waiter<K, C> {
    id: u64,
    rank: Rank<K, C>,
    tx: oneshot::Sender<Grant<K, C>>,
}

/// A borrow's place in the queue: left when the borrow is dropped while it waits (its
/// session ended), so the queue holds only sessions still waiting.
struct Queued<'a, K, C> {
    pool: &'a Pool<K, C>,
    /// `None` once the borrow ended otherwise (served, timed out).
    id: Option<u64>,
}

impl<K, C> Drop for Queued<'_, K, C> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let mut st = self.pool.lock();
            if let Some(i) = st.waiters.iter().position(|w| w.id == id) {
                st.waiters.remove(i);
            }
        }
    }
}

/// One unit of a pool's capacity, held by an open connection (or one being opened).
pub struct Slot<K, C> {
    pool: Option<Arc<Pool<K, C>>>,
}

impl<K, C> Drop for Slot<K, C> {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.free_slot();
        }
    }
}

impl<K, C> Slot<K, C> {
    /// Forgets the pool (the slot was counted elsewhere).
    fn disarm(mut self) {
        self.pool = None;
    }
}

impl<K, C> Pool<K, C> {
    pub fn new(backend: &str, role: &'static str) -> Self {
        Pool {
            backend: backend.to_string(),
            role,
            state: Mutex::new(State {
                open: 0,
                idle: VecDeque::new(),
                waiters: VecDeque::new(),
                next_waiter: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<K, C>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slot(self: &Arc<Self>) -> Slot<K, C> {
        Slot {
            pool: Some(self.clone()),
        }
    }

    /// A slot came free: it goes to the first session waiting, else the count drops.
    fn free_slot(self: &Arc<Self>) {
        let mut st = self.lock();
        while let Some(w) = st.waiters.pop_front() {
            match w.tx.send(Grant::Open(self.slot())) {
                Ok(()) => return,
                Err(Grant::Open(slot)) => slot.disarm(),
                // Never: only `Open` was sent (and nothing is dropped under the lock).
                Err(g @ Grant::Idle(..)) => std::mem::forget(g),
            }
        }
        st.open = st.open.saturating_sub(1);
    }
}

impl<K: Send + 'static, C: Pooled> Pool<K, C> {
    pub fn stats(&self) -> PoolStats {
        let st = self.lock();
        PoolStats {
            open: st.open,
            idle: st.idle.len(),
            waiting: st.waiters.len(),
        }
    }

    /// A connection `rank` accepts: the best ranked idle one (the newest among equals);
    /// else room to open one;
    /// else, at the cap, a place in the queue for up to `timeout` (the oldest idle
    /// connection, which nobody could use, is closed so its slot goes to the first in
    /// the queue).
    pub async fn borrow(
        self: &Arc<Self>,
        limits: Limits,
        rank: impl Fn(&K, &C) -> Option<u8> + Send + 'static,
        timeout: Duration,
    ) -> Result<Grant<K, C>, Exhausted> {
        let (mut rx, id, evicted) = {
            let mut st = self.lock();
            // No scan of the whole queue here (with hundreds of sessions waiting at the cap
            // that was a cache miss per waiter on every borrow): a waiter leaves the queue
            // when served, when its time runs out, or when its borrow is dropped (`Queued`).
            while st.waiters.front().is_some_and(|w| w.tx.is_closed()) {
                st.waiters.pop_front();
            }
            if st.waiters.is_empty() {
                // The best ranked, the newest among equals: scanned newest first, so the
                // scan stops at the first of rank 0 (the best there is).
                let mut best: Option<(u8, usize)> = None;
                for (i, e) in st.idle.iter().enumerate().rev() {
                    match rank(&e.key, &e.conn) {
                        Some(0) => {
                            best = Some((0, i));
                            break;
                        }
                        Some(r) if best.is_none_or(|(b, _)| r < b) => best = Some((r, i)),
                        _ => {}
                    }
                }
                let best = best.map(|(_, i)| i);
                if let Some(i) = best {
                    if let Some(e) = st.idle.remove(i) {
                        return Ok(Grant::Idle(e.conn, e.since.elapsed()));
                    }
                }
                if limits.max_connections == 0 || st.open < limits.max_connections {
                    st.open += 1;
                    return Ok(Grant::Open(self.slot()));
                }
            }
            let evicted = st.idle.pop_front();
            let (tx, rx) = oneshot::channel();
            let id = st.next_waiter;
            st.next_waiter += 1;
            st.waiters.push_back(Waiter {
                id,
                rank: Box::new(rank),
                tx,
            });
            (rx, id, evicted)
        };
        // Takes the place in the queue back if this borrow is dropped while it waits.
        let mut queued = Queued {
            pool: self,
            id: Some(id),
        };
        if let Some(e) = evicted {
            // Its slot goes to the first in the queue.
            self.close(e.conn, CloseReason::Evicted);
        }
        match tokio::time::timeout(timeout, &mut rx).await {
            Ok(Ok(grant)) => {
                queued.id = None;
                Ok(grant)
            }
            Ok(Err(_)) => {
                queued.id = None;
                Err(Exhausted)
            }
            Err(_) => {
                queued.id = None;
                if self.leave_queue(id) {
                    return Err(Exhausted);
                }
                // Granted just as the time ran out.
                rx.try_recv().map_err(|_| Exhausted)
            }
        }
    }

    /// Removes waiter `id` from the queue; false when it is no longer there (served).
    fn leave_queue(&self, id: u64) -> bool {
        let mut st = self.lock();
        match st.waiters.iter().position(|w| w.id == id) {
            Some(i) => {
                st.waiters.remove(i);
                true
            }
            None => false,
        }
    }

    /// A slot for a connection opened ahead of need: `None` at the cap or while sessions
    /// wait.
    pub fn reserve(self: &Arc<Self>, limits: Limits) -> Option<Slot<K, C>> {
        let mut st = self.lock();
        if !st.waiters.is_empty()
            || (limits.max_connections > 0 && st.open >= limits.max_connections)
        {
            return None;
        }
        st.open += 1;
        Some(self.slot())
    }

    /// Takes back a connection in a known, clean state (reset by the caller): to the
    /// first session waiting if it can use it, else, when one waits, closed so that
    /// session can open its own; else kept idle, within the limits.
    pub fn put_back(self: &Arc<Self>, key: K, conn: C, limits: Limits) {
        let closing = {
            let mut st = self.lock();
            let mut conn = conn;
            loop {
                let Some(w) = st.waiters.pop_front() else {
                    break self.keep(&mut st, key, conn, limits);
                };
                if (w.rank)(&key, &conn).is_none() {
                    st.waiters.push_front(w);
                    break Some((conn, CloseReason::Evicted));
                }
                match w.tx.send(Grant::Idle(conn, Duration::ZERO)) {
                    Ok(()) => return,
                    Err(Grant::Idle(c, _)) => conn = c,
                    // Never: only `Idle` was sent (and nothing is dropped under the lock).
                    Err(g @ Grant::Open(_)) => {
                        std::mem::forget(g);
                        return;
                    }
                }
            }
        };
        if let Some((conn, reason)) = closing {
            self.close(conn, reason);
        }
    }

    /// Keeps `conn` idle, or says why it must be closed.
    fn keep(
        &self,
        st: &mut State<K, C>,
        key: K,
        conn: C,
        limits: Limits,
    ) -> Option<(C, CloseReason)> {
        if limits
            .max_lifetime
            .is_some_and(|l| conn.opened().elapsed() >= l)
        {
            return Some((conn, CloseReason::Lifetime));
        }
        // Past `max_idle` a connection is still kept: under load the idle count swings
        // from one instant to the next, and one closed now is opened again a moment later
        // (a backend login). [`reap`](Self::reap) closes what stays past it.
        let over_cap = limits.max_connections > 0 && st.open > limits.max_connections;
        if limits.max_idle == 0 || over_cap {
            return Some((conn, CloseReason::Surplus));
        }
        st.idle.push_back(Idle {
            key,
            conn,
            since: Instant::now(),
        });
        None
    }

    /// Closes the idle connections past `idle_timeout` or their lifetime, those past
    /// `max_idle` that have been idle `surplus_idle` (oldest first), and all of them when
    /// `keep` is false (the backend left the topology or changed role).
    /// Returns how many it closed.
    pub fn reap(&self, limits: Limits, keep: bool) -> usize {
        let closing: Vec<(C, CloseReason)> = {
            let mut st = self.lock();
            let (mut kept, mut closing) = (VecDeque::new(), Vec::new());
            for e in st.idle.drain(..) {
                let reason = if !keep {
                    Some(CloseReason::Topology)
                } else if e.since.elapsed() >= limits.idle_timeout {
                    Some(CloseReason::IdleTimeout)
                } else if limits
                    .max_lifetime
                    .is_some_and(|l| e.conn.opened().elapsed() >= l)
                {
                    Some(CloseReason::Lifetime)
                } else {
                    None
                };
                match reason {
                    Some(r) => closing.push((e.conn, r)),
                    None => kept.push_back(e),
                }
            }
            // Past `max_idle`: the oldest idle first, once idle for `surplus_idle`.
            while kept.len() > limits.max_idle
                && kept
                    .front()
                    .is_some_and(|e| e.since.elapsed() >= limits.surplus_idle)
            {
                if let Some(e) = kept.pop_front() {
                    closing.push((e.conn, CloseReason::Surplus));
                }
            }
            st.idle = kept;
            closing
        };
        let n = closing.len();
        for (conn, reason) in closing {
            self.close(conn, reason);
        }
        n
    }

    fn close(&self, conn: C, reason: CloseReason) {
        count_closed(&self.backend, self.role, reason.label());
        conn.close();
    }
}

/// Counts a pooled connection closed (`rwsplit_pool_closed_total`).
pub fn count_closed(backend: &str, role: &'static str, reason: &'static str) {
    ::metrics::counter!("rwsplit_pool_closed_total", "backend" => backend.to_string(),
        "role" => role, "reason" => reason)
    .increment(1);
}
