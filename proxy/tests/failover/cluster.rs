//! `cluster` consistency: two rwsplit instances on one topology (two app instances behind
//! a load balancer, each with its sidecar), one replica applying changes 1 s late and
//! still eligible: a row inserted through one rwsplit is read back through the other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mysql_async::prelude::Queryable;

use crate::support::*;

fn sidecar(t: &Topo, consistency: &str) -> Proxy {
    Proxy::start_on(
        t,
        &[
            "--consistency",
            consistency,
            "--max-replica-lag",
            "100000",
            "--policy",
            "round-robin",
        ],
    )
}

/// `rounds` rounds of "insert through `a`, read it back through `b`", split over
/// `workers` pairs of connections running at once; returns the reads that missed.
async fn cross_misses(a: &Proxy, b: &Proxy, base: u32, rounds: u32, workers: u32) -> usize {
    let missed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let mut wc = app_db(a, "ryw_cluster").await;
        let mut rc = app_db(b, "ryw_cluster").await;
        let missed = missed.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..rounds / workers {
                let id = base + w * 10_000 + i;
                wc.query_drop(format!("INSERT INTO t VALUES ({id})"))
                    .await
                    .unwrap();
                let n: Option<u64> = rc
                    .query_first(format!("SELECT COUNT(*) FROM t WHERE id = {id}"))
                    .await
                    .unwrap();
                if n != Some(1) {
                    missed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    missed.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_through_one_rwsplit_is_read_through_another_in_cluster_mode() {
    let t = own_topo_with_tables("ryw_cluster", &["t"]).await;
    t.script(&["delay", &t.replicas[0].to_string(), "1"]);

    // global: each rwsplit knows only its own writes, so the other one misses some (and
    // the check below can fail).
    let (a, b) = (sidecar(&t, "global"), sidecar(&t, "global"));
    let missed = cross_misses(&a, &b, 0, 40, 4).await;
    println!("global mode: {missed} of 40 reads through the other rwsplit missed their row");
    assert!(
        missed > 0,
        "global mode missed none of 40 cross-rwsplit reads"
    );
    drop((a, b));

    // cluster: none.
    let (a, b) = (sidecar(&t, "cluster"), sidecar(&t, "cluster"));
    assert_eq!(
        cross_misses(&a, &b, 100_000, 100, 4).await,
        0,
        "consistency=cluster missed writes made through the other rwsplit"
    );
    let page = b.metrics();
    let reads = metric(&page, "rwsplit_cluster_position_reads_total", &[]);
    let fetches = metric(&page, "rwsplit_cluster_position_fetches_total", &[]);
    assert!(
        reads >= 100.0 && fetches >= 1.0 && fetches <= reads,
        "{reads} reads, {fetches} fetches"
    );
    // Some reads were sent to the fresh replica ahead of their position (it had applied
    // the newest one fetched before) and found, once the fetch came back, that the
    // replica may not have had the row yet: their answers were dropped and the reads
    // sent again after a wait. None of them missed its row (above).
    let waits = |outcome| consistency_waits(&page, outcome);
    println!(
        "cluster mode, cross reads: {} overlapped, {} overlaps missed",
        waits("overlapped"),
        waits("overlap_missed")
    );
    assert!(waits("overlap_missed") >= 1.0, "{page}");
    // Reads that overlap share a fetch: 8 connections reading at once.
    let before = (reads, fetches);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut c = app_db(&b, "ryw_cluster").await;
        tasks.push(tokio::spawn(async move {
            for i in 0..200 {
                let _: Option<u64> = c
                    .query_first(format!("SELECT COUNT(*) FROM t WHERE id = {i}"))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let page = b.metrics();
    let reads = metric(&page, "rwsplit_cluster_position_reads_total", &[]) - before.0;
    let fetches = metric(&page, "rwsplit_cluster_position_fetches_total", &[]) - before.1;
    println!("cluster mode, 8 connections: {reads} reads, {fetches} position fetches, {:.2} reads per fetch", reads / fetches.max(1.0));
    assert!(reads >= 1600.0, "{reads}");
    assert!(
        fetches < reads,
        "no fetch shared: {fetches} fetches for {reads} reads"
    );
}

/// A read sent to a replica ahead of its position (the replica had applied the newest
/// position fetched before) is answered from there only when the fetch that comes back
/// shows the replica had what the read must see. Here the replica stopped applying just
/// before a write through the other rwsplit: relaying its answer would miss the row.
#[tokio::test(flavor = "multi_thread")]
async fn an_overlapped_read_is_not_answered_by_a_replica_that_stopped_applying() {
    let t = own_topo_with_tables("ryw_overlap", &["t"]).await;
    let (a, b) = (sidecar(&t, "cluster"), sidecar(&t, "cluster"));
    let mut wc = app_db(&a, "ryw_overlap").await;
    let mut rc = app_db(&b, "ryw_overlap").await;
    let mut stopped = root(t.replicas[0]).await;
    let mut missed = 0;
    for id in 0..12 {
        // Both replicas have everything; reads through b see them have it.
        stopped.query_drop("START SLAVE SQL_THREAD").await.unwrap();
        sync_replicas_of(&t).await;
        for _ in 0..4 {
            let _: Option<u64> = rc.query_first("SELECT COUNT(*) FROM t").await.unwrap();
        }
        // One replica stops applying; a row is inserted through a and read through b.
        stopped.query_drop("STOP SLAVE SQL_THREAD").await.unwrap();
        wc.query_drop(format!("INSERT INTO t VALUES ({id})"))
            .await
            .unwrap();
        // Text and prepared reads both.
        let n: Option<u64> = match id % 2 {
            0 => rc
                .query_first(format!("SELECT COUNT(*) FROM t WHERE id = {id}"))
                .await
                .unwrap(),
            _ => rc
                .exec_first("SELECT COUNT(*) FROM t WHERE id = ?", (id,))
                .await
                .unwrap(),
        };
        if n != Some(1) {
            missed += 1;
        }
    }
    stopped.query_drop("START SLAVE SQL_THREAD").await.unwrap();
    let page = b.metrics();
    let overlaps_missed = consistency_waits(&page, "overlap_missed");
    assert_eq!(missed, 0, "reads missed the row: {page}");
    // The stopped replica was sent some of the reads ahead of their position.
    assert!(overlaps_missed >= 1.0, "{page}");
}
