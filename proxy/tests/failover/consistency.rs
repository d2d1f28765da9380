//! Read-your-writes with a replica applying changes 2 s late (and still eligible, so a
//! read that lands there would miss a fresh write).

use mysql_async::prelude::Queryable;

use crate::support::*;

async fn setup(t: &Topo, consistency: &str) -> (Proxy, String) {
    let proxy = Proxy::start_on(
        t,
        &[
            "--consistency",
            consistency,
            "--max-replica-lag",
            "100000",
            "--policy",
            "round-robin",
        ],
    );
    (proxy, format!("ryw_{consistency}"))
}

/// Inserts 200 rows, reading each back right away: on the same connection (`same`) or on
/// another one. Returns how many reads missed their row.
async fn misses(proxy: &Proxy, db: &str, same: bool, base: u32) -> usize {
    let mut w = app_db(proxy, db).await;
    let mut r = app_db(proxy, db).await;
    let mut missed = 0;
    for i in base..base + 200 {
        w.query_drop(format!("INSERT INTO t VALUES ({i})"))
            .await
            .unwrap();
        let reader = if same { &mut w } else { &mut r };
        let n: Option<u64> = reader
            .query_first(format!("SELECT COUNT(*) FROM t WHERE id = {i}"))
            .await
            .unwrap();
        if n != Some(1) {
            missed += 1;
        }
    }
    missed
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_see_their_writes_with_a_delayed_replica() {
    let t = Topo::start(true);
    let mut r = root(t.primary).await;
    for mode in ["session", "global", "eventual"] {
        r.query_drop(format!("CREATE DATABASE ryw_{mode}"))
            .await
            .unwrap();
        r.query_drop(format!("CREATE TABLE ryw_{mode}.t (id INT PRIMARY KEY)"))
            .await
            .unwrap();
    }
    sync_replicas_of(&t).await;
    t.script(&["delay", &t.replicas[0].to_string(), "2"]);

    // session: a connection reads its own writes.
    let (proxy, db) = setup(&t, "session").await;
    assert_eq!(
        misses(&proxy, &db, true, 0).await,
        0,
        "consistency=session missed its own writes"
    );
    drop(proxy);

    // global: another connection reads them too.
    let (proxy, db) = setup(&t, "global").await;
    assert_eq!(
        misses(&proxy, &db, false, 0).await,
        0,
        "consistency=global missed writes of another connection"
    );
    assert_eq!(misses(&proxy, &db, true, 1000).await, 0);
    let log = proxy.log_text();
    drop(proxy);

    // eventual: the misses exist (so the checks above can fail).
    let (proxy, db) = setup(&t, "eventual").await;
    let missed = misses(&proxy, &db, false, 0).await;
    assert!(
        missed > 20,
        "with consistency=eventual only {missed} of 200 reads missed"
    );
    drop(proxy);
    assert!(log.contains("127.0.0.1"), "log kept");
}

/// Session mode with transaction pooling: the read after a session's COMMIT waits for the
/// writer's position as of then, even when the writer connection it borrows to ask is not
/// the one that committed. Each round has a fresh pool: the session commits on the only
/// writer connection, another session's open transaction then holds that one, so the
/// question goes to a new connection (whose `@@last_gtid` is empty: asking that, as
/// rwsplit once did, read from a replica 2 s behind and missed the row every time).
#[tokio::test(flavor = "multi_thread")]
async fn session_mode_reads_its_commit_when_another_session_holds_the_connection_that_made_it() {
    let t = own_topo_with_tables("ryw_pooled", &["t", "other"]).await;
    for port in &t.replicas {
        t.script(&["delay", &port.to_string(), "2"]);
    }
    let mut missed = Vec::new();
    for round in 0..3u32 {
        let (proxy, _) = setup(&t, "session").await;
        let mut s = app_db(&proxy, "ryw_pooled").await;
        let mut other = app_db(&proxy, "ryw_pooled").await;
        s.query_drop("BEGIN").await.unwrap();
        s.query_drop(format!("INSERT INTO t VALUES ({round})"))
            .await
            .unwrap();
        s.query_drop("COMMIT").await.unwrap();
        other.query_drop("BEGIN").await.unwrap();
        other
            .query_drop(format!("INSERT INTO other VALUES ({round})"))
            .await
            .unwrap();
        let n: Option<u64> = s
            .query_first(format!("SELECT COUNT(*) FROM t WHERE id = {round}"))
            .await
            .unwrap();
        other.query_drop("COMMIT").await.unwrap();
        if n != Some(1) {
            missed.push(round);
        }
        // The case this test is about happened: the question about the position went to a
        // second writer connection (the first was held by the other transaction).
        let page = proxy.metrics();
        let opened = metric(
            &page,
            "rwsplit_pool_borrows_total",
            &[("role", "writer"), ("outcome", "new")],
        );
        assert_eq!(
            opened, 2.0,
            "round {round}: writer connections opened\n{page}"
        );
    }
    assert!(
        missed.is_empty(),
        "reads that missed the session's own commit, in rounds {missed:?}"
    );
}

/// With the writer dead and none promoted, read-your-writes cannot ask it for its
/// position: a read must still see a write acknowledged before it. One replica applies
/// 30 s late (it has received the write but not applied it) and stays eligible; the other
/// has it. Reads in global mode, round robin over both, right after the writer is killed:
/// none may miss the row (before 2026-12-07 the late replica served its share at once).
#[tokio::test(flavor = "multi_thread")]
async fn with_the_writer_dead_reads_still_see_writes_acknowledged_before_them() {
    reads_after_the_writer_died("global", "ryw_outage").await;
}

/// The same in cluster mode, where a read is sent to a reader already seen to have the
/// newest position fetched, before its own position is fetched: with the writer dead, that
/// fetch fails, and the answer sent ahead may be relayed only if the reader had what the
/// replicas have applied between them (before 2026-12-07 it was relayed at once, from the
/// late replica too).
#[tokio::test(flavor = "multi_thread")]
async fn in_cluster_mode_with_the_writer_dead_reads_sent_ahead_still_see_acknowledged_writes() {
    reads_after_the_writer_died("cluster", "ryw_outage_cluster").await;
}

async fn reads_after_the_writer_died(mode: &str, db: &str) {
    let t = own_topo_with_tables(db, &["t"]).await;
    let (late, fresh) = (t.replicas[0], t.replicas[1]);
    let proxy = Proxy::start_on(
        &t,
        &[
            "--consistency",
            mode,
            "--max-replica-lag",
            "100000",
            "--policy",
            "round-robin",
            "--consistency-timeout",
            "300",
        ],
    );
    // Sessions that read before the write: in cluster mode both replicas are then known
    // to have the newest position fetched, so these sessions' reads right after the kill,
    // sent together, go ahead of their positions (the first failed fetch ends that).
    let mut readers = Vec::new();
    for _ in 0..10 {
        let mut c = app_db(&proxy, db).await;
        let _: Option<u64> = c.query_first("SELECT COUNT(*) FROM t").await.unwrap();
        readers.push(c);
    }
    // From now on one replica applies 30 s late: it has everything the reads above saw,
    // and will lack the write below.
    t.script(&["delay", &late.to_string(), "30"]);
    let mut w = app_db(&proxy, db).await;
    w.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    drop(w);
    // Asked of the primary itself: a read through rwsplit would fetch a newer position.
    let written: String = root(t.primary)
        .await
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    // The monitor has seen the fresh replica apply it (what a read will wait for).
    let want = rwsplit::route::Position::parse_mariadb(&written).unwrap();
    proxy
        .wait_backend(fresh, "with the write applied", |b| {
            b.and_then(|b| b["position"].as_str())
                .and_then(rwsplit::route::Position::parse_mariadb)
                .is_some_and(|p| p.includes(&want))
        })
        .await;
    t.script(&["kill", &t.primary.to_string()]);
    proxy
        .wait_backend(t.primary, "down", |b| b.is_none_or(|b| b["up"] == false))
        .await;
    const READ: &str = "SELECT @@server_id, COUNT(*) FROM t WHERE id = 1";
    let together: Vec<_> = readers
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                let mut got: Vec<(u32, u64)> = Vec::new();
                for _ in 0..3 {
                    got.push(c.query_first(READ).await.unwrap().unwrap());
                }
                got
            })
        })
        .collect();
    let mut servers = std::collections::HashMap::new();
    let mut missed = 0;
    for task in together {
        for (server, n) in task.await.unwrap() {
            *servers.entry(server).or_insert(0) += 1;
            if n != 1 {
                missed += 1;
            }
        }
    }
    assert_eq!(
        missed, 0,
        "{mode} mode: reads without the acknowledged row (by server: {servers:?})"
    );
    let page = proxy.metrics();
    assert!(
        consistency_waits(&page, "writer_unreachable") >= 1.0,
        "the reads met a dead writer"
    );
    if mode == "cluster" {
        assert!(
            consistency_waits(&page, "overlap_missed") >= 1.0,
            "reads were sent ahead of their position, and some answers dropped\n{page}"
        );
    }
}

/// With the writer dead at once after a write, before the monitor saw any replica apply
/// it: both replicas have received the write (semi-synchronous replication acknowledged
/// it) but apply 30 s late. No read may answer without the row: a read waits for what the
/// replicas received, as the monitor saw once it checked them after the write, and
/// neither has applied it, so the reads go to the writer (dead: they are held, then
/// refused). Before 2026-12-07 a read waited only for what the monitor had last seen
/// applied, and both replicas answered without the row.
#[tokio::test(flavor = "multi_thread")]
async fn with_the_writer_dead_at_once_reads_wait_for_what_the_replicas_received() {
    let db = "ryw_received";
    let t = own_topo_with_tables(db, &["t"]).await;
    let proxy = Proxy::start_on(
        &t,
        &[
            "--consistency",
            "global",
            "--max-replica-lag",
            "100000",
            "--policy",
            "round-robin",
            "--consistency-timeout",
            "300",
            "--failover-hold-ms",
            "300",
        ],
    );
    for r in &t.replicas {
        t.script(&["delay", &r.to_string(), "30"]);
    }
    let mut c = app_db(&proxy, db).await;
    let mut w = app_db(&proxy, db).await;
    w.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    drop(w);
    t.script(&["kill", &t.primary.to_string()]);
    let mut answers = Vec::new();
    for _ in 0..4 {
        let got: Result<Option<(u32, u64)>, _> = c
            .query_first("SELECT @@server_id, COUNT(*) FROM t WHERE id = 1")
            .await;
        match got {
            Ok(Some(row)) => answers.push(row),
            Ok(None) => panic!("no row"),
            // Refused for want of a writer: no answer, so none without the row.
            Err(mysql_async::Error::Server(e)) => eprintln!("refused: {} {}", e.code, e.message),
            Err(e) => panic!("the session ended: {e}"),
        }
    }
    let stale: Vec<_> = answers.iter().filter(|(_, n)| *n != 1).collect();
    assert!(
        stale.is_empty(),
        "answers without the acknowledged row (server, count): {stale:?}"
    );
    let page = proxy.metrics();
    assert!(
        consistency_waits(&page, "writer_unreachable") >= 1.0,
        "the reads met a dead writer\n{page}"
    );
}
