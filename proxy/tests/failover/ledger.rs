//! Read-your-writes through a failover: a writer records every acknowledged key; readers
//! on other connections (global mode) and the writer's own connection (session and global
//! mode) read the newest acknowledged key back. The primary is killed with `kill -9` and
//! its most advanced replica promoted. Once writes have moved to the new writer, no read
//! may miss a key acknowledged before it started.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::aurora::{start_emulated, EMULATION_DDL};
use crate::support::*;

/// One read of the ledger: when it started, which key it looked for, whether it found it,
/// and which server answered.
#[derive(Debug, Clone)]
struct Read {
    started: Instant,
    key: u64,
    found: bool,
    server: u32,
    own: bool,
}

/// Reads `key` back on `c` (`own`: the connection that wrote it).
async fn read_key(
    c: &mut mysql_async::Conn,
    key: u64,
    own: bool,
) -> Result<Option<Read>, mysql_async::Error> {
    let started = Instant::now();
    let q = format!("SELECT @@server_id, COUNT(*) FROM acks WHERE id = {key}");
    let row = c.query_first::<(u32, u64), _>(q).await?;
    Ok(row.map(|(server, n)| Read {
        started,
        key,
        found: n == 1,
        server,
        own,
    }))
}

async fn promote_most_advanced(t: &Topo) -> u16 {
    let best = most_advanced_replica(t).await;
    t.script(&["promote", &best.to_string()]);
    best
}

/// How rwsplit learns the topology in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `--mode read-only`: the writer is the host with `read_only = OFF`.
    ReadOnly,
    /// aurora mode against an emulated `replica_host_status`; the cluster endpoint is the
    /// primary, which dies (the topology is then read through the other instances).
    Aurora,
}

/// The emulated cluster: `writer` holds MASTER_SESSION_ID, the others are readers.
pub async fn set_aurora_rows(writer: u16, readers: &[u16]) {
    let mut c = root(writer).await;
    c.query_drop("DELETE FROM aurora_emul.replica_host_status")
        .await
        .unwrap();
    let mut rows = vec![format!("('{writer}', 'MASTER_SESSION_ID', NOW(6), 0)")];
    rows.extend(
        readers
            .iter()
            .map(|r| format!("('{r}', 'reader-{r}', NOW(6), 5)")),
    );
    c.query_drop(format!(
        "INSERT INTO aurora_emul.replica_host_status VALUES {}",
        rows.join(", ")
    ))
    .await
    .unwrap();
}

/// The emulated cluster after a promotion: `new_writer` writes, the other replicas of
/// `t` read (the old primary is gone).
pub async fn set_aurora_writer(t: &Topo, new_writer: u16) {
    let others: Vec<u16> = t
        .replicas
        .iter()
        .copied()
        .filter(|r| *r != new_writer)
        .collect();
    set_aurora_rows(new_writer, &others).await;
}

/// Starts rwsplit in front of `t` for a ledger run.
fn start_proxy(t: &Topo, mode: Mode, consistency: &str, user: &str) -> Proxy {
    match mode {
        Mode::ReadOnly => Proxy::start_read_only(t, user, &["--consistency", consistency]),
        Mode::Aurora => start_emulated(t.primary, user, consistency),
    }
}

async fn ledger_through_a_promotion(mode: Mode, consistency: &str) {
    let t = Topo::start(true);
    let user = "it_ledger";
    {
        let mut r = root(t.primary).await;
        for q in [
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{user}'"),
            format!("GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'"),
            format!("REVOKE READ_ONLY ADMIN, SUPER ON *.* FROM '{user}'@'%'"),
            "CREATE DATABASE ledger".into(),
            "CREATE TABLE ledger.acks (id BIGINT PRIMARY KEY)".into(),
        ] {
            r.query_drop(q).await.unwrap();
        }
        for q in EMULATION_DDL {
            r.query_drop(q).await.unwrap();
        }
    }
    set_aurora_rows(t.primary, &t.replicas).await;
    sync_replicas_of(&t).await;
    let proxy = start_proxy(&t, mode, consistency, user);
    let port = proxy.port;

    let stop = Arc::new(AtomicBool::new(false));
    let latest = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Mutex::new(Vec::<(Instant, u64)>::new()));
    let reads = Arc::new(Mutex::new(Vec::<Read>::new()));
    let connect = move || mysql_async::Conn::new(opts(port, user, user, Some("ledger")));

    // The writer: insert key k; once acknowledged, read it back on the same connection.
    let writer = {
        let (stop, latest, acked, reads) =
            (stop.clone(), latest.clone(), acked.clone(), reads.clone());
        tokio::spawn(async move {
            let mut key = 0u64;
            let mut conn: Option<mysql_async::Conn> = None;
            while !stop.load(Ordering::Relaxed) {
                if conn.is_none() {
                    conn = connect().await.ok();
                }
                let Some(c) = conn.as_mut() else {
                    // Pacing: a moment before the next connection attempt.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                key += 1;
                match c
                    .query_drop(format!("INSERT INTO acks VALUES ({key})"))
                    .await
                {
                    Ok(()) => {
                        acked.lock().unwrap().push((Instant::now(), key));
                        latest.store(key, Ordering::Release);
                    }
                    Err(mysql_async::Error::Server(_)) => {
                        // Pacing: a moment before the next write (no writer yet).
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    Err(_) => {
                        conn = None;
                        continue;
                    }
                }
                if let Ok(Some(r)) = read_key(c, key, true).await {
                    reads.lock().unwrap().push(r);
                }
            }
        })
    };
    // Readers on other connections (global mode only: session mode promises a session
    // its own writes).
    let mut readers = Vec::new();
    if consistency == "global" {
        for _ in 0..3 {
            let (stop, latest, reads) = (stop.clone(), latest.clone(), reads.clone());
            readers.push(tokio::spawn(async move {
                let mut conn: Option<mysql_async::Conn> = None;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        conn = connect().await.ok();
                    }
                    let Some(c) = conn.as_mut() else {
                        // Pacing: a moment before the next connection attempt.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    // The key is read before the statement is sent: acknowledged by then.
                    let key = latest.load(Ordering::Acquire);
                    if key == 0 {
                        // Pacing: nothing acknowledged to read back yet.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    match read_key(c, key, false).await {
                        Ok(Some(r)) => reads.lock().unwrap().push(r),
                        Ok(None) => {}
                        Err(mysql_async::Error::Server(_)) => {
                            // Pacing: a moment before the next read.
                            tokio::time::sleep(Duration::from_millis(5)).await
                        }
                        Err(_) => conn = None,
                    }
                }
            }));
        }
    }

    // Both kinds of reads flow before the kill.
    let kinds_flow = |rs: &[Read], n: usize| {
        rs.len() >= n
            && rs.iter().any(|r| r.own)
            && (consistency != "global" || rs.iter().any(|r| !r.own))
    };
    wait_for_async(
        "reads of the ledger to flow before the kill",
        Duration::from_secs(30),
        async || {
            let rs = reads.lock().unwrap();
            if kinds_flow(&rs, 2_000) {
                Ok(())
            } else {
                Err(format!("{} reads", rs.len()))
            }
        },
    )
    .await;
    let killed_at = Instant::now();
    t.script(&["kill", &t.primary.to_string()]);
    // rwsplit's monitor sees the primary gone before a replica is promoted.
    proxy
        .wait_backend(t.primary, "down (or gone)", |b| {
            b.is_none_or(|b| b["up"] == false)
        })
        .await;
    let new_writer = promote_most_advanced(&t).await;
    if mode == Mode::Aurora {
        set_aurora_writer(&t, new_writer).await;
    }
    // Writes move to the new writer; then both kinds of reads flow again, replicas
    // serving some.
    let new_writer_id: Option<u32> = root(new_writer)
        .await
        .query_first("SELECT @@server_id")
        .await
        .unwrap();
    wait_for_async(
        "writes on the new writer, then reads of both kinds, some by a replica",
        Duration::from_secs(60),
        async || {
            let moved = acked
                .lock()
                .unwrap()
                .iter()
                .find(|(at, _)| *at > killed_at)
                .map(|(at, _)| *at);
            let Some(moved) = moved else {
                return Err("no write acknowledged since the kill".to_string());
            };
            let rs = reads.lock().unwrap();
            let after: Vec<Read> = rs.iter().filter(|r| r.started >= moved).cloned().collect();
            let by_replicas = after
                .iter()
                .filter(|r| Some(r.server) != new_writer_id)
                .count();
            if kinds_flow(&after, 10_000) && by_replicas > 0 {
                Ok(())
            } else {
                Err(format!(
                    "{} reads since, {by_replicas} by replicas",
                    after.len()
                ))
            }
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    for r in readers {
        r.await.unwrap();
    }

    let acked = acked.lock().unwrap().clone();
    let reads = reads.lock().unwrap().clone();
    // Writes have moved to the new writer once one was acknowledged after the kill.
    let moved = acked
        .iter()
        .find(|(at, _)| *at > killed_at)
        .map(|(at, _)| *at)
        .expect("no write was acknowledged after the promotion");
    let before: Vec<&Read> = reads.iter().filter(|r| r.started < killed_at).collect();
    let after: Vec<&Read> = reads.iter().filter(|r| r.started >= moved).collect();
    let stale = |rs: &[&Read]| -> Vec<Read> {
        rs.iter()
            .filter(|r| !r.found)
            .map(|r| (*r).clone())
            .collect()
    };
    assert!(
        before.len() > 50,
        "reads were flowing before the kill: {}",
        before.len()
    );
    assert!(
        after.len() > 50,
        "reads were flowing after the promotion: {}",
        after.len()
    );
    assert!(
        after.iter().any(|r| r.own) && (consistency != "global" || after.iter().any(|r| !r.own)),
        "both kinds of reads ran after the promotion"
    );
    let stale_before = stale(&before);
    assert!(
        stale_before.is_empty(),
        "{consistency}: {} of {} reads before the kill were stale: {:?}",
        stale_before.len(),
        before.len(),
        &stale_before[..stale_before.len().min(5)]
    );
    let stale_after = stale(&after);
    assert!(
        stale_after.is_empty(),
        "{consistency}: {} of {} reads after the promotion were stale (key, server): {:?}",
        stale_after.len(),
        after.len(),
        stale_after
            .iter()
            .take(5)
            .map(|r| (r.key, r.server))
            .collect::<Vec<_>>()
    );
    // No acknowledged write was lost.
    let mut c = root(new_writer).await;
    let have: Vec<u64> = c.query("SELECT id FROM ledger.acks").await.unwrap();
    let have: BTreeSet<u64> = have.into_iter().collect();
    let lost: Vec<u64> = acked
        .iter()
        .map(|(_, k)| *k)
        .filter(|k| !have.contains(k))
        .collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    // Replicas served reads after the promotion, not only the new writer (else the test
    // proves nothing about waiting for them).
    let writer_id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
    let by_replicas = after.iter().filter(|r| Some(r.server) != writer_id).count();
    assert!(
        by_replicas > 0,
        "{mode:?}/{consistency}: no read after the promotion was served by a replica ({} reads)",
        after.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_stale_read_after_a_promotion_in_global_mode() {
    ledger_through_a_promotion(Mode::ReadOnly, "global").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_stale_read_after_a_promotion_in_session_mode() {
    ledger_through_a_promotion(Mode::ReadOnly, "session").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_stale_read_after_an_aurora_failover_in_global_mode() {
    ledger_through_a_promotion(Mode::Aurora, "global").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_stale_read_after_an_aurora_failover_in_session_mode() {
    ledger_through_a_promotion(Mode::Aurora, "session").await;
}
