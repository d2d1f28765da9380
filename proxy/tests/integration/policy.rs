//! `routing.policy` decides every choice of a reader, the first one included: with
//! least_connections a reader busy with a long statement gets no new reads while the
//! other is idle; with latency a reader made slow gets only a small share. Neither test
//! forces round robin.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn least_connections_sends_no_read_to_a_reader_busy_with_a_long_statement() {
    let ids = server_ids().await;
    // The documented default: no --policy at all.
    let proxy = Proxy::start(&[]);
    let mut busy = app(&proxy).await;
    let long = tokio::spawn(async move {
        let r: Option<(u32, i64)> = busy
            .query_first("SELECT @@server_id, SLEEP(3)")
            .await
            .unwrap();
        r.map(|(id, _)| id)
    });
    // rwsplit counts the long statement as active on its reader.
    wait_for_async(
        "a reader with the long statement active in /status",
        Duration::from_secs(10),
        async || {
            let status = proxy.status();
            let busy = status["backends"].as_array().is_some_and(|bs| {
                bs.iter().any(|b| {
                    b["role"] == "reader" && b["statements_active"].as_u64().unwrap_or(0) >= 1
                })
            });
            if busy {
                Ok(())
            } else {
                Err(status.to_string())
            }
        },
    )
    .await;
    let mut c = app(&proxy).await;
    let mut served = Vec::new();
    for _ in 0..20 {
        let id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
        served.push(id.unwrap_or(0));
    }
    let busy_reader = long.await.unwrap().expect("the long statement's server");
    assert!(
        ids[1..].contains(&busy_reader),
        "the long read ran on a reader"
    );
    assert!(
        served
            .iter()
            .all(|id| *id != busy_reader && ids[1..].contains(id)),
        "reads went to the reader busy with SLEEP(3) ({busy_reader}): {served:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_gives_a_slowed_reader_only_a_small_share() {
    let t = topology();
    let ids = server_ids().await;
    let db = fresh_db("it_policy_latency").await;
    let mut r = root(t.primary).await;
    r.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY)"))
        .await
        .unwrap();
    sync_replicas().await;
    // The first replica is slowed: root on it holds a write lock on the table the reads
    // read, 300 ms at a time.
    let stop = Arc::new(AtomicBool::new(false));
    let locked = Arc::new(AtomicBool::new(false));
    let slow = t.replicas[0];
    let locker = {
        let (stop, locked, db) = (stop.clone(), locked.clone(), db.clone());
        tokio::spawn(async move {
            let mut c = root(slow).await;
            while !stop.load(Ordering::Relaxed) {
                c.query_drop(format!("LOCK TABLES `{db}`.t WRITE"))
                    .await
                    .unwrap();
                locked.store(true, Ordering::Relaxed);
                // How long the lock is held is what makes this reader slow.
                tokio::time::sleep(Duration::from_millis(300)).await;
                c.query_drop("UNLOCK TABLES").await.unwrap();
                // Pacing: a moment unlocked before the next lock.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    wait_for_async(
        "the locker to hold its first lock",
        Duration::from_secs(10),
        async || locked.load(Ordering::Relaxed),
    )
    .await;
    let proxy = Proxy::start(&["--policy", "latency"]);
    let mut c = app(&proxy).await;
    let mut by_server: BTreeMap<u32, u32> = BTreeMap::new();
    let n = 60;
    for _ in 0..n {
        let row: Option<(u32, i64)> = c
            .query_first(format!("SELECT @@server_id, COUNT(*) FROM `{db}`.t"))
            .await
            .unwrap();
        *by_server.entry(row.map(|r| r.0).unwrap_or(0)).or_default() += 1;
    }
    stop.store(true, Ordering::Relaxed);
    locker.await.unwrap();
    let slowed = by_server.get(&ids[1]).copied().unwrap_or(0);
    let fast = by_server.get(&ids[2]).copied().unwrap_or(0);
    assert!(
        slowed <= n / 10 && fast >= n * 8 / 10,
        "the slowed reader got {slowed} of {n} reads, the other {fast}: {by_server:?}"
    );
}
