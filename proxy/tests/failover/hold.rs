//! Failover as a pause (`failover.hold_ms`): statements that need the writer wait for one
//! instead of failing, through a `kill -9` of the primary and a promotion, and through a
//! planned switchover (the old writer turns read-only while alive: the writes it refuses
//! with 1290 are held and sent to the new writer). Writer threads run autocommit inserts
//! (each acknowledged key recorded), reader threads autocommit reads.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::aurora::{start_emulated, EMULATION_DDL};
use crate::ledger::{set_aurora_rows, set_aurora_writer};
use crate::support::*;

const USER: &str = "it_hold";
const WRITERS: u64 = 4;

/// What the load saw.
#[derive(Default)]
struct Seen {
    stop: AtomicBool,
    acked: Mutex<BTreeSet<u64>>,
    /// Every write: when it was sent, how long it took, whether it was acknowledged.
    writes: Mutex<Vec<(Instant, Duration, bool)>>,
    /// Errors the writers got: code and message.
    write_errors: Mutex<Vec<(u16, String)>>,
    reads: AtomicU64,
    read_errors: Mutex<Vec<String>>,
}

impl Seen {
    fn acked_after(&self, t: Instant) -> usize {
        let w = self.writes.lock().unwrap();
        w.iter().filter(|(at, d, ok)| *ok && *at + *d > t).count()
    }
}

async fn setup(t: &Topo) {
    let mut r = root(t.primary).await;
    for q in [
        format!("CREATE USER '{USER}'@'%' IDENTIFIED BY '{USER}'"),
        format!("GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%'"),
        format!("REVOKE READ_ONLY ADMIN, SUPER ON *.* FROM '{USER}'@'%'"),
        "CREATE DATABASE ledger".into(),
        "CREATE TABLE ledger.acks (id BIGINT PRIMARY KEY)".into(),
    ] {
        r.query_drop(q).await.unwrap();
    }
    sync_replicas_of(t).await;
}

fn start_proxy(t: &Topo, hold_ms: u64, pool_mode: &str) -> Proxy {
    let hold = hold_ms.to_string();
    let extra = ["--failover-hold-ms", &hold, "--pool-mode", pool_mode];
    Proxy::start_read_only(t, USER, &extra)
}

/// The load's threads; each stops when told, or after two minutes at most.
fn spawn_load(port: u16, seen: &Arc<Seen>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let end = Instant::now() + Duration::from_secs(120);
    for w in 0..WRITERS {
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let mut key = w;
            let mut conn = mysql_async::Conn::new(opts(port, USER, USER, Some("ledger")))
                .await
                .unwrap();
            while !seen.stop.load(Ordering::Relaxed) && Instant::now() < end {
                key += WRITERS;
                let sent = Instant::now();
                let r = conn
                    .query_drop(format!("INSERT INTO acks VALUES ({key})"))
                    .await;
                let took = sent.elapsed();
                seen.writes.lock().unwrap().push((sent, took, r.is_ok()));
                match r {
                    Ok(()) => {
                        seen.acked.lock().unwrap().insert(key);
                    }
                    Err(mysql_async::Error::Server(e)) => {
                        seen.write_errors.lock().unwrap().push((e.code, e.message));
                        // Pacing: a moment before the next write after an error.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => {
                        // The session ended: counted, and a new one for the rest.
                        seen.write_errors.lock().unwrap().push((0, e.to_string()));
                        match mysql_async::Conn::new(opts(port, USER, USER, Some("ledger"))).await {
                            Ok(c) => conn = c,
                            Err(_) => return,
                        }
                    }
                }
            }
        }));
    }
    for _ in 0..2 {
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = mysql_async::Conn::new(opts(port, USER, USER, Some("ledger")))
                .await
                .unwrap();
            while !seen.stop.load(Ordering::Relaxed) && Instant::now() < end {
                match c.query_first::<u64, _>("SELECT COUNT(*) FROM acks").await {
                    Ok(_) => {
                        seen.reads.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        seen.read_errors.lock().unwrap().push(e.to_string());
                        // Pacing: a moment before the next read after an error.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }
    tasks
}

async fn wait_flowing(seen: &Seen) {
    wait_for_async(
        "writes and reads to flow",
        Duration::from_secs(20),
        async || {
            let (w, r) = (
                seen.acked.lock().unwrap().len(),
                seen.reads.load(Ordering::Relaxed),
            );
            if w > 100 && r > 100 {
                Ok(())
            } else {
                Err(format!("{w} writes, {r} reads"))
            }
        },
    )
    .await;
}

/// Waits for 200 writes acknowledged after `t`.
async fn wait_acked_after(seen: &Seen, t: Instant) {
    wait_for_async(
        "200 writes acknowledged after the failover",
        Duration::from_secs(30),
        async || {
            let n = seen.acked_after(t);
            if n >= 200 {
                Ok(())
            } else {
                Err(format!("{n} writes"))
            }
        },
    )
    .await;
}

async fn stop(seen: &Seen, tasks: Vec<tokio::task::JoinHandle<()>>) {
    seen.stop.store(true, Ordering::Relaxed);
    for h in tasks {
        h.await.unwrap();
    }
}

/// Every acknowledged key is on the writer `port`.
async fn none_lost(port: u16, seen: &Seen) {
    let mut c = root(port).await;
    let have: Vec<u64> = c.query("SELECT id FROM ledger.acks").await.unwrap();
    let have: BTreeSet<u64> = have.into_iter().collect();
    let acked = seen.acked.lock().unwrap().clone();
    let lost: Vec<&u64> = acked.difference(&have).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}

fn holds(proxy: &Proxy, cause: &str, outcome: &str) -> f64 {
    metric(
        &proxy.metrics(),
        "rwsplit_failover_holds_total",
        &[("cause", cause), ("outcome", outcome)],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_wait_for_the_promoted_writer_after_a_crash() {
    crash_and_promotion(false, "transaction").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_wait_for_the_promoted_writer_after_a_crash_in_session_pooling() {
    crash_and_promotion(false, "session").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_wait_for_the_promoted_writer_after_an_aurora_failover() {
    crash_and_promotion(true, "transaction").await;
}

/// `aurora`: rwsplit in aurora mode over the emulated `replica_host_status` (the cluster
/// endpoint is the primary, which dies; the default pool mode); else read_only mode in
/// `pool_mode`, with a second rwsplit that holds for 300 ms only.
async fn crash_and_promotion(aurora: bool, pool_mode: &str) {
    let t = Topo::start(true);
    if aurora {
        let mut r = root(t.primary).await;
        for q in EMULATION_DDL {
            r.query_drop(q).await.unwrap();
        }
        set_aurora_rows(t.primary, &t.replicas).await;
    }
    setup(&t).await;
    let proxy = match aurora {
        true => start_emulated(t.primary, USER, "session"),
        false => start_proxy(&t, 20_000, pool_mode),
    };
    // Another rwsplit that holds for 300 ms only: its writes get 1105 during the outage.
    let short = (!aurora).then(|| start_proxy(&t, 300, pool_mode));
    let seen = Arc::new(Seen::default());
    let proxy_port = proxy.port;
    let tasks = spawn_load(proxy.port, &seen);
    wait_flowing(&seen).await;
    // Six more sessions, idle after one write each: their connections wait in the pool,
    // and die with the primary. None may be handed a statement after the crash.
    let mut idle = Vec::new();
    for i in 0..6u64 {
        let mut c = mysql_async::Conn::new(opts(proxy.port, USER, USER, Some("ledger")))
            .await
            .unwrap();
        c.query_drop(format!("INSERT INTO acks VALUES ({})", 2_000_000_000 + i))
            .await
            .unwrap();
        seen.acked.lock().unwrap().insert(2_000_000_000 + i);
        idle.push(c);
    }

    let killed = Instant::now();
    t.script(&["kill", &t.primary.to_string()]);
    for p in std::iter::once(&proxy).chain(short.as_ref()) {
        p.wait_backend(t.primary, "down", |b| b.is_none_or(|b| b["up"] == false))
            .await;
    }
    // A prepared write from a session that logs in during the outage waits too.
    let prepared = tokio::spawn(async move {
        let mut c = mysql_async::Conn::new(opts(proxy_port, USER, USER, Some("ledger"))).await?;
        c.exec_drop("INSERT INTO acks VALUES (?)", (3_000_000_000u64,))
            .await
    });
    if let Some(short) = &short {
        // The outage: no writer for a while.
        let outage = Instant::now();
        let mut c = mysql_async::Conn::new(opts(short.port, USER, USER, Some("ledger")))
            .await
            .unwrap();
        let r = c.query_drop("INSERT INTO acks VALUES (0)").await;
        let waited = outage.elapsed();
        match r {
            Err(mysql_async::Error::Server(e)) => {
                assert_eq!(e.code, 1105, "{}", e.message);
                assert!(e.message.contains("no writer (waited"), "{}", e.message);
            }
            other => panic!("a write with no writer and hold_ms = 300: {other:?}"),
        }
        assert!(
            waited >= Duration::from_millis(290),
            "it waited {waited:?} before the error"
        );
        assert!(holds(short, "no_writer", "timed_out") >= 1.0);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let new_writer = most_advanced_replica(&t).await;
    let promoted = Instant::now();
    t.script(&["promote", &new_writer.to_string()]);
    if aurora {
        set_aurora_writer(&t, new_writer).await;
    }
    wait_acked_after(&seen, promoted).await;
    stop(&seen, tasks).await;
    let r = prepared.await.unwrap();
    assert!(r.is_ok(), "the prepared write during the outage: {r:?}");
    seen.acked.lock().unwrap().insert(3_000_000_000);
    // The idle sessions go on, on the new writer.
    for (i, c) in idle.iter_mut().enumerate() {
        let key = 2_100_000_000 + i as u64;
        c.query_drop(format!("INSERT INTO acks VALUES ({key})"))
            .await
            .unwrap();
        seen.acked.lock().unwrap().insert(key);
    }

    // The client saw no 1105 and no ended session: only the writes in flight at the crash
    // (at most one per writer) have an unknown outcome.
    let errors = seen.write_errors.lock().unwrap().clone();
    let unknown = errors
        .iter()
        .filter(|(code, m)| *code == 1927 && m.contains("outcome is unknown"))
        .count();
    assert_eq!(
        unknown,
        errors.len(),
        "errors other than 'outcome unknown': {errors:?}"
    );
    assert!(
        unknown as u64 <= WRITERS,
        "more outcome-unknown errors than writes in flight at the crash: {errors:?}"
    );
    let reads = seen.read_errors.lock().unwrap().clone();
    assert!(reads.is_empty(), "reads failed: {reads:?}");
    // Writes sent during the outage, a second or more before the promotion, waited and
    // were acknowledged by the new writer.
    let held = seen
        .writes
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, took, ok)| {
            *ok && *at > killed && *at + Duration::from_secs(1) < promoted && *at + *took > promoted
        })
        .count();
    assert!(
        held >= 1,
        "no write sent during the outage was acknowledged after it"
    );
    assert!(
        holds(&proxy, "no_writer", "resumed") >= 1.0,
        "{}",
        proxy.metrics()
    );
    none_lost(new_writer, &seen).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planned_switchover_is_a_pause_without_errors() {
    let t = Topo::start(true);
    setup(&t).await;
    let proxy = start_proxy(&t, 10_000, "transaction");
    let seen = Arc::new(Seen::default());
    let tasks = spawn_load(proxy.port, &seen);
    wait_flowing(&seen).await;

    // The old primary turns read-only, the replica catches up and becomes writable, the
    // old primary replicates from it.
    let new_writer = t.replicas[0];
    let switched = Instant::now();
    t.script(&["promote", &new_writer.to_string()]);
    wait_acked_after(&seen, switched).await;
    stop(&seen, tasks).await;

    let errors = seen.write_errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "writes failed: {errors:?}");
    let reads = seen.read_errors.lock().unwrap().clone();
    assert!(reads.is_empty(), "reads failed: {reads:?}");
    let longest = seen
        .writes
        .lock()
        .unwrap()
        .iter()
        .map(|(_, took, _)| *took)
        .max()
        .unwrap();
    assert!(
        longest < Duration::from_secs(2),
        "a write waited {longest:?}"
    );
    // Writes the old writer refused as read-only were held, not passed on.
    assert!(
        holds(&proxy, "read_only", "resumed") >= 1.0,
        "{}",
        proxy.metrics()
    );
    none_lost(new_writer, &seen).await;
}
