//! The pool's bookkeeping without I/O: reuse, the cap, waiters served in order, the
//! borrow timeout, eviction, and the idle limits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rwsplit::backend::pool::{Exhausted, Grant, Limits, Pool, Pooled, Slot};

struct Conn {
    id: u32,
    opened: Instant,
    _slot: Slot<&'static str, Conn>,
    closed: Arc<AtomicUsize>,
}

impl Pooled for Conn {
    fn opened(&self) -> Instant {
        self.opened
    }
    fn close(self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

type P = Pool<&'static str, Conn>;

fn limits(max: usize) -> Limits {
    Limits {
        max_connections: max,
        max_idle: 8,
        surplus_idle: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        max_lifetime: None,
    }
}

fn key_is(k: &'static str) -> impl Fn(&&'static str, &Conn) -> Option<u8> + Send + 'static {
    move |key, _| (*key == k).then_some(0)
}

const WAIT: Duration = Duration::from_secs(5);

/// Borrows for `key`, opening a connection with `id` when granted room.
async fn take(
    pool: &Arc<P>,
    max: usize,
    key: &'static str,
    id: u32,
    closed: &Arc<AtomicUsize>,
) -> Result<(Conn, bool), Exhausted> {
    match pool.borrow(limits(max), key_is(key), WAIT).await? {
        Grant::Idle(c, _) => Ok((c, false)),
        Grant::Open(slot) => Ok((
            Conn {
                id,
                opened: Instant::now(),
                _slot: slot,
                closed: closed.clone(),
            },
            true,
        )),
    }
}

#[tokio::test]
async fn a_connection_given_back_is_reused_by_the_same_key_only() {
    let pool = Arc::new(P::new("b", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, new) = take(&pool, 0, "alice", 1, &closed).await.unwrap();
    assert!(new);
    pool.put_back("alice", a, limits(0));
    assert_eq!(pool.stats().idle, 1);
    let (b, new) = take(&pool, 0, "bob", 2, &closed).await.unwrap();
    assert!(new, "bob must not get alice's connection");
    let (a2, new) = take(&pool, 0, "alice", 3, &closed).await.unwrap();
    assert!(!new);
    assert_eq!(a2.id, 1);
    assert_eq!(pool.stats().open, 2);
    drop(a2);
    drop(b);
    assert_eq!(pool.stats().open, 0, "dropping a connection frees its slot");
}

#[tokio::test]
async fn the_newest_idle_connection_is_handed_out_first() {
    let pool = Arc::new(P::new("b", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let (c1, _) = take(&pool, 0, "k", 1, &closed).await.unwrap();
    let (c2, _) = take(&pool, 0, "k", 2, &closed).await.unwrap();
    pool.put_back("k", c1, limits(0));
    pool.put_back("k", c2, limits(0));
    let (c, _) = take(&pool, 0, "k", 3, &closed).await.unwrap();
    assert_eq!(c.id, 2);
}

#[tokio::test(start_paused = true)]
async fn at_the_cap_waiters_are_served_in_order_and_one_past_the_timeout_gets_none() {
    let pool = Arc::new(P::new("b", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, _) = take(&pool, 2, "k", 1, &closed).await.unwrap();
    let (b, _) = take(&pool, 2, "k", 2, &closed).await.unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for n in 0..3u32 {
        let (p, closed, order) = (pool.clone(), closed.clone(), order.clone());
        waiters.push(tokio::spawn(async move {
            let got = take(&p, 2, "k", 10 + n, &closed).await;
            order.lock().unwrap().push(n);
            // Returned, not dropped: a dropped connection frees its slot.
            got.map(|(c, _)| c)
        }));
        // Each queues before the next arrives.
        while pool.stats().waiting < n as usize + 1 {
            tokio::task::yield_now().await;
        }
    }
    pool.put_back("k", a, limits(2));
    drop(b);
    let first = waiters.remove(0).await.unwrap();
    let second = waiters.remove(0).await.unwrap();
    let id = |c: &Result<Conn, Exhausted>| c.as_ref().ok().map(|c| c.id);
    assert_eq!(
        id(&first),
        Some(1),
        "the first waiter gets the connection given back"
    );
    assert_eq!(
        id(&second),
        Some(11),
        "the second gets the freed slot and opens its own"
    );
    let third = waiters.remove(0).await.unwrap().map(|c| c.id);
    assert_eq!(third, Err(Exhausted), "the third waits past the timeout");
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
    assert_eq!(pool.stats().waiting, 0);
}

/// A session that ends while it waits leaves the queue at once (the waiting count, and
/// what is handed out next, no longer count it), and the next waiter is served.
#[tokio::test(start_paused = true)]
async fn a_waiter_whose_borrow_is_dropped_leaves_the_queue_at_once() {
    let pool = Arc::new(P::new("b", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, _) = take(&pool, 1, "k", 1, &closed).await.unwrap();
    let spawn = |n: u32| {
        let (p, closed) = (pool.clone(), closed.clone());
        tokio::spawn(async move { take(&p, 1, "k", n, &closed).await.map(|(c, _)| c.id) })
    };
    let gone = spawn(2);
    while pool.stats().waiting < 1 {
        tokio::task::yield_now().await;
    }
    let next = spawn(3);
    while pool.stats().waiting < 2 {
        tokio::task::yield_now().await;
    }
    gone.abort();
    assert!(gone.await.unwrap_err().is_cancelled());
    assert_eq!(
        pool.stats().waiting,
        1,
        "only the session still waiting counts"
    );
    pool.put_back("k", a, limits(1));
    assert_eq!(
        next.await.unwrap(),
        Ok(1),
        "the waiter left gets the connection"
    );
    assert_eq!(pool.stats().waiting, 0);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_of_another_key_gets_room_and_the_idle_connection_is_closed() {
    let pool = Arc::new(P::new("b", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, _) = take(&pool, 1, "alice", 1, &closed).await.unwrap();
    pool.put_back("alice", a, limits(1));
    // At the cap, with only alice's idle connection: bob's borrow closes it for room.
    let (b, new) = take(&pool, 1, "bob", 2, &closed).await.unwrap();
    assert!(new);
    assert_eq!(closed.load(Ordering::SeqCst), 1);
    assert_eq!(pool.stats().open, 1);
    // Alice waits; bob's connection, given back, is closed so alice can open hers.
    let waiter = {
        let (p, closed) = (pool.clone(), closed.clone());
        tokio::spawn(async move {
            take(&p, 1, "alice", 3, &closed)
                .await
                .map(|(c, n)| (c.id, n))
        })
    };
    while pool.stats().waiting == 0 {
        tokio::task::yield_now().await;
    }
    pool.put_back("bob", b, limits(1));
    assert_eq!(waiter.await.unwrap(), Ok((3, true)));
    assert_eq!(closed.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn idle_limits_close_what_is_over_them() {
    let pool = Arc::new(P::new("b", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let one_idle = Limits {
        max_idle: 1,
        ..limits(0)
    };
    let (c1, _) = take(&pool, 0, "k", 1, &closed).await.unwrap();
    let (c2, _) = take(&pool, 0, "k", 2, &closed).await.unwrap();
    pool.put_back("k", c1, one_idle);
    pool.put_back("k", c2, one_idle);
    // Past max_idle a connection is kept (the load may want it back at once) until it has
    // been idle `surplus_idle`; then the oldest goes.
    assert_eq!((pool.stats().idle, closed.load(Ordering::SeqCst)), (2, 0));
    assert_eq!(pool.reap(one_idle, true), 0, "not idle long enough yet");
    let surplus_now = Limits {
        surplus_idle: Duration::ZERO,
        ..one_idle
    };
    assert_eq!(pool.reap(surplus_now, true), 1, "one past max_idle");
    assert_eq!((pool.stats().idle, closed.load(Ordering::SeqCst)), (1, 1));
    let (c, _) = take(&pool, 0, "k", 0, &closed).await.unwrap();
    assert_eq!(c.id, 2, "the newer one was kept");
    pool.put_back("k", c, one_idle);
    let none_idle = Limits {
        max_idle: 0,
        ..limits(0)
    };
    let (c, _) = take(&pool, 0, "k", 0, &closed).await.unwrap();
    pool.put_back("k", c, none_idle);
    assert_eq!(
        (pool.stats().idle, closed.load(Ordering::SeqCst)),
        (0, 2),
        "max_idle = 0: closed when given back"
    );
    let (c2, _) = take(&pool, 0, "k", 2, &closed).await.unwrap();
    pool.put_back("k", c2, one_idle);
    assert_eq!(pool.reap(limits(0), true), 0, "within its idle time");
    let expired = Limits {
        idle_timeout: Duration::ZERO,
        ..limits(0)
    };
    assert_eq!(pool.reap(expired, true), 1);
    let (c3, _) = take(&pool, 0, "k", 3, &closed).await.unwrap();
    pool.put_back("k", c3, limits(0));
    assert_eq!(
        pool.reap(limits(0), false),
        1,
        "a backend gone: all its idle closed"
    );
    let (c4, _) = take(&pool, 0, "k", 4, &closed).await.unwrap();
    let old = Limits {
        max_lifetime: Some(Duration::ZERO),
        ..limits(0)
    };
    pool.put_back("k", c4, old);
    assert_eq!(
        pool.stats().idle,
        0,
        "past its lifetime: closed when given back"
    );
    assert_eq!(closed.load(Ordering::SeqCst), 5);
    assert_eq!(pool.stats().open, 0);
}

#[test]
fn rank_prefers_the_sessions_state_then_none_then_a_reset_and_its_own_database() {
    use rwsplit::backend::rank;
    let (mine, other) = (7, 9);
    // In the session's state and database first, then its state elsewhere, then no
    // state, then another state (reset first).
    let order = [
        rank(mine, Some("a"), mine, Some("a")),
        rank(mine, Some("b"), mine, Some("a")),
        rank(0, Some("a"), mine, Some("a")),
        rank(0, None, mine, Some("a")),
        rank(other, Some("a"), mine, Some("a")),
        rank(other, None, mine, Some("a")),
    ];
    assert!(order.iter().all(Option::is_some));
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // A session without a database never gets a connection that has one.
    assert_eq!(rank(0, Some("a"), 0, None), None);
    assert_eq!(rank(0, None, 0, None), Some(0));
}

#[tokio::test]
async fn borrow_hands_out_the_best_ranked_idle_connection() {
    let pool: Arc<P> = Arc::new(Pool::new("b:1", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, _) = take(&pool, 0, "k", 1, &closed).await.unwrap();
    let (b, _) = take(&pool, 0, "k", 2, &closed).await.unwrap();
    let (c, _) = take(&pool, 0, "k", 3, &closed).await.unwrap();
    for conn in [a, b, c] {
        pool.put_back("k", conn, limits(0));
    }
    // Prefers id 2, then 1; 3 never.
    let pick = |c: &Conn| match c.id {
        2 => Some(0),
        1 => Some(1),
        _ => None,
    };
    let first = match pool.borrow(limits(0), move |_, c| pick(c), WAIT).await {
        Ok(Grant::Idle(c, _)) => c.id,
        _ => panic!("no idle connection"),
    };
    let second = match pool.borrow(limits(0), move |_, c| pick(c), WAIT).await {
        Ok(Grant::Idle(c, _)) => c.id,
        _ => panic!("no idle connection"),
    };
    assert_eq!((first, second), (2, 1));
}

/// Among equally ranked idle connections the newest goes first, whatever the rank; one
/// of rank 0 goes before newer ones of a worse rank.
#[tokio::test]
async fn borrow_takes_the_newest_of_the_best_rank() {
    let pool: Arc<P> = Arc::new(Pool::new("b:1", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let mut conns = Vec::new();
    for id in 1..=5 {
        conns.push(take(&pool, 0, "k", id, &closed).await.unwrap().0);
    }
    for conn in conns {
        pool.put_back("k", conn, limits(0));
    }
    // Given back oldest first: 1 .. 5, 5 the newest. Ranks: 1 and 2 best (0), 3 and 5
    // next (2), 4 unusable.
    let pick = |c: &Conn| match c.id {
        1 | 2 => Some(0),
        3 | 5 => Some(2),
        _ => None,
    };
    let mut order = Vec::new();
    for _ in 0..4 {
        match pool.borrow(limits(0), move |_, c| pick(c), WAIT).await {
            Ok(Grant::Idle(c, _)) => order.push(c.id),
            _ => panic!("no idle connection"),
        }
    }
    assert_eq!(order, [2, 1, 5, 3]);
}

#[test]
fn min_idle_opens_what_is_missing_within_the_cap_and_never_while_sessions_wait() {
    use rwsplit::backend::pool::{to_open, PoolStats};
    let s = |open, idle, waiting| PoolStats {
        open,
        idle,
        waiting,
    };
    #[rustfmt::skip]
    let cases = [
        // (stats, opening, min_idle, max_connections) -> to open
        ((s(0, 0, 0), 0, 3, 0), 3),
        ((s(5, 1, 0), 0, 3, 0), 2),
        ((s(5, 1, 0), 2, 3, 0), 0),
        ((s(5, 3, 0), 0, 3, 0), 0),
        ((s(7, 0, 0), 0, 3, 8), 1),
        ((s(8, 0, 0), 0, 3, 8), 0),
        ((s(2, 0, 1), 0, 3, 8), 0),
        ((s(0, 0, 0), 0, 0, 0), 0),
    ];
    for ((stats, opening, min_idle, max), want) in cases {
        assert_eq!(
            to_open(stats, opening, min_idle, max),
            want,
            "{stats:?} {opening} {min_idle} {max}"
        );
    }
}

#[tokio::test]
async fn a_slot_reserved_ahead_counts_and_is_refused_at_the_cap() {
    let pool: Arc<P> = Arc::new(Pool::new("b:1", "writer"));
    let closed = Arc::new(AtomicUsize::new(0));
    let a = pool.reserve(limits(2)).expect("room");
    let b = pool.reserve(limits(2)).expect("room");
    assert!(pool.reserve(limits(2)).is_none(), "at the cap");
    assert_eq!(pool.stats().open, 2);
    drop(a);
    assert_eq!(pool.stats().open, 1);
    // A connection opened ahead is kept idle and handed to the next borrower.
    let conn = Conn {
        id: 7,
        opened: Instant::now(),
        _slot: b,
        closed: closed.clone(),
    };
    pool.put_back("k", conn, limits(2));
    assert_eq!(pool.stats().idle, 1);
    let (c, opened) = take(&pool, 2, "k", 8, &closed).await.unwrap();
    assert_eq!((c.id, opened), (7, false));
}
