//! The primary dies under load; a replica is promoted; rwsplit (read_only mode) follows.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn failover_under_load_loses_no_acknowledged_write() {
    let t = Topo::start(true);
    let user = "it_failover";
    {
        let mut r = root(t.primary).await;
        for q in [
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{user}'"),
            format!("GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'"),
            format!("REVOKE READ_ONLY ADMIN, SUPER ON *.* FROM '{user}'@'%'"),
            "CREATE DATABASE ledger".into(),
            "CREATE TABLE ledger.acks (id BIGINT PRIMARY KEY, at TIMESTAMP(6) DEFAULT NOW(6))"
                .into(),
        ] {
            r.query_drop(q).await.unwrap();
        }
    }
    sync_replicas_of(&t).await;
    // The default monitor interval (500 ms).
    let proxy = Proxy::start_read_only(&t, user, &["--monitor-interval", "500"]);
    let port = proxy.port;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let write_times = Arc::new(Mutex::new(Vec::<(Instant, bool)>::new()));
    // Writers: each acknowledged insert goes into the ledger.
    let mut writers = Vec::new();
    for w in 0..3u64 {
        let (stop, acked, times) = (stop.clone(), acked.clone(), write_times.clone());
        writers.push(tokio::spawn(async move {
            let mut next = w;
            let mut conn: Option<mysql_async::Conn> = None;
            while !stop.load(Ordering::Relaxed) {
                if conn.is_none() {
                    conn = mysql_async::Conn::new(opts(port, user, user, Some("ledger")))
                        .await
                        .ok();
                }
                let Some(c) = conn.as_mut() else {
                    // Pacing: a moment before the next connection attempt.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let r = c
                    .query_drop(format!("INSERT INTO acks (id) VALUES ({next})"))
                    .await;
                let ok = r.is_ok();
                times.lock().unwrap().push((Instant::now(), ok));
                match r {
                    Ok(()) => {
                        acked.lock().unwrap().insert(next);
                        next += 3;
                    }
                    Err(mysql_async::Error::Server(_)) => {
                        next += 3; // not acknowledged: it may or may not exist
                        tokio::time::sleep(Duration::from_millis(20)).await; // pacing: no writer yet
                    }
                    Err(_) => {
                        next += 3;
                        conn = None;
                    }
                }
            }
        }));
    }
    // Readers: autocommit reads never stop.
    let read_errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (stop, errs, reads) = (stop.clone(), read_errors.clone(), reads.clone());
        readers.push(tokio::spawn(async move {
            let mut c = mysql_async::Conn::new(opts(port, user, user, Some("ledger")))
                .await
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                match c.query_first::<u64, _>("SELECT COUNT(*) FROM acks").await {
                    Ok(_) => {
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errs.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    wait_for_async(
        "writes and reads to flow before the kill",
        Duration::from_secs(20),
        async || {
            let (w, r) = (acked.lock().unwrap().len(), reads.load(Ordering::Relaxed));
            if w > 100 && r > 100 {
                Ok(())
            } else {
                Err(format!("{w} writes, {r} reads"))
            }
        },
    )
    .await;
    let before_kill = acked.lock().unwrap().len();
    assert!(before_kill > 20, "writes were flowing: {before_kill}");

    t.script(&["kill", &t.primary.to_string()]);
    // rwsplit's monitor sees the primary gone before a replica is promoted.
    proxy
        .wait_backend(t.primary, "down", |b| b.is_some_and(|b| b["up"] == false))
        .await;
    // Promote the replica that received the most.
    let new_writer = most_advanced_replica(&t).await;
    let reads_before_promotion = reads.load(Ordering::Relaxed);
    t.script(&["promote", &new_writer.to_string()]);
    let promoted_at = Instant::now();
    // Writes resume on the new writer, and reads go on for a while after that.
    let resumed_reads = wait_for_async(
        "a write acknowledged after the promotion",
        Duration::from_secs(20),
        async || {
            let resumed = write_times
                .lock()
                .unwrap()
                .iter()
                .any(|(at, ok)| *ok && *at > promoted_at);
            resumed.then(|| reads.load(Ordering::Relaxed))
        },
    )
    .await;
    wait_for_async(
        "100 reads after writes resumed",
        Duration::from_secs(20),
        async || reads.load(Ordering::Relaxed) >= resumed_reads + 100,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for h in writers.into_iter().chain(readers) {
        h.await.unwrap();
    }

    // Writes resumed within 2 s of the promotion.
    let times = write_times.lock().unwrap().clone();
    let resumed = times
        .iter()
        .find(|(at, ok)| *ok && *at > promoted_at)
        .map(|(at, _)| *at - promoted_at)
        .expect("no write succeeded after the promotion");
    assert!(
        resumed <= Duration::from_secs(2),
        "writes resumed {resumed:?} after the promotion"
    );
    // Reads never stopped, and never failed.
    let errs = read_errors.lock().unwrap().clone();
    assert!(errs.is_empty(), "autocommit reads failed: {errs:?}");
    assert!(
        reads.load(Ordering::Relaxed) > reads_before_promotion,
        "reads went on"
    );
    // Every acknowledged write is on the new writer.
    let mut c = root(new_writer).await;
    let have: Vec<u64> = c.query("SELECT id FROM ledger.acks").await.unwrap();
    let have: BTreeSet<u64> = have.into_iter().collect();
    let acked = acked.lock().unwrap().clone();
    let lost: Vec<&u64> = acked.difference(&have).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
    assert!(
        acked.len() > before_kill,
        "writes went on after the failover"
    );
    // Nothing ran on a read-only node: the other replica saw no write from this account.
    let other = *t.replicas.iter().find(|r| **r != new_writer).unwrap();
    let stats = user_stats(other, user).await;
    assert_eq!(
        stats.get("update_commands").copied().unwrap_or(0),
        0,
        "a write reached the read-only replica {other}"
    );
    let mut oc = root(other).await;
    let ro: Option<i64> = oc.query_first("SELECT @@read_only").await.unwrap();
    assert_eq!(ro, Some(1));
}
