//! Where statements land, proven by asking the backends.

use std::collections::HashSet;

use mysql_async::prelude::Queryable;

use crate::support::*;

async fn server_id(c: &mut mysql_async::Conn) -> u32 {
    c.query_first::<u32, _>("SELECT @@server_id")
        .await
        .expect("server id")
        .expect("a row")
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_go_to_replicas_round_robin() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let (primary, replicas) = (ids[0], &ids[1..]);
    let mut c = app(&proxy).await;
    let mut seen = HashSet::new();
    for _ in 0..10 {
        let id = server_id(&mut c).await;
        assert_ne!(id, primary, "an autocommit read went to the primary");
        assert!(replicas.contains(&id));
        seen.insert(id);
    }
    assert_eq!(
        seen.len(),
        replicas.len(),
        "reads are spread over every replica"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_go_to_the_primary_and_never_to_a_replica() {
    let user = fresh_user("it_writes").await;
    let proxy = Proxy::start(&["--user", "it_writes:it_writes", "--consistency", "eventual"]);
    let db = fresh_db("it_writes").await;
    let t = topology();
    let mut c = as_user(&proxy, &user, Some(&db)).await;
    c.query_drop("CREATE TABLE w (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
        .await
        .unwrap();
    let before = all_stats(&user).await;
    for i in 0..20 {
        c.query_drop(format!("INSERT INTO w (v) VALUES ({i})"))
            .await
            .unwrap();
    }
    c.query_drop("UPDATE w SET v = v + 1 WHERE id < 5")
        .await
        .unwrap();
    c.query_drop("DELETE FROM w WHERE id = 20").await.unwrap();
    sync_replicas().await;
    let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM w").await.unwrap();
    assert_eq!(n, Some(19));
    let after = all_stats(&user).await;
    assert_eq!(delta(&before, &after, t.primary, "rows_inserted"), 20);
    assert_eq!(delta(&before, &after, t.primary, "rows_updated"), 4);
    assert_eq!(delta(&before, &after, t.primary, "rows_deleted"), 1);
    assert_eq!(delta(&before, &after, t.primary, "update_commands"), 22);
    for r in &t.replicas {
        for k in [
            "update_commands",
            "rows_inserted",
            "rows_updated",
            "rows_deleted",
        ] {
            assert_eq!(delta(&before, &after, *r, k), 0, "{k} on replica {r}");
        }
    }
    let reads: u64 = t
        .replicas
        .iter()
        .map(|r| delta(&before, &after, *r, "select_commands"))
        .sum();
    assert_eq!(reads, 1, "the autocommit SELECT ran on a replica");
    // Transaction pooling reads LAST_INSERT_ID() back once, when the writer connection
    // that ran the inserts goes back to its pool (at the read, which runs elsewhere).
    assert_eq!(delta(&before, &after, t.primary, "select_commands"), 1);
    // A write that reached a replica would add a GTID with the replica's own server id.
    sync_replicas().await;
    let ids = server_ids().await;
    for (r, id) in t.replicas.iter().zip(&ids[1..]) {
        let mut rc = root(*r).await;
        let state: Option<String> = rc.query_first("SELECT @@gtid_binlog_state").await.unwrap();
        let state = state.unwrap_or_default();
        assert!(
            !state
                .split(',')
                .any(|g| g.split('-').nth(1) == Some(&id.to_string())),
            "replica {r} executed a write of its own: {state}"
        );
        let n: Option<u64> = rc
            .query_first(format!("SELECT COUNT(*) FROM `{db}`.w"))
            .await
            .unwrap();
        assert_eq!(n, Some(19), "replica {r} has the primary's rows");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_stay_whole_on_the_writer() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_tx").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
        .await
        .unwrap();
    // A transaction whose first statement is a SELECT.
    c.query_drop("BEGIN").await.unwrap();
    assert_eq!(server_id(&mut c).await, ids[0]);
    c.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM t").await.unwrap();
    assert_eq!(
        n,
        Some(1),
        "the transaction reads its own uncommitted write"
    );
    assert_eq!(server_id(&mut c).await, ids[0]);
    c.query_drop("COMMIT").await.unwrap();
    assert_ne!(
        server_id(&mut c).await,
        ids[0],
        "after COMMIT reads go back to replicas"
    );

    // START TRANSACTION, ROLLBACK
    c.query_drop("START TRANSACTION").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (2)").await.unwrap();
    assert_eq!(server_id(&mut c).await, ids[0]);
    c.query_drop("ROLLBACK").await.unwrap();
    let n: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM t WHERE id = 2")
        .await
        .unwrap();
    assert_eq!(n, Some(0));

    // autocommit=0: everything on the writer until autocommit is back on.
    c.query_drop("SET autocommit=0").await.unwrap();
    for _ in 0..3 {
        assert_eq!(server_id(&mut c).await, ids[0]);
    }
    c.query_drop("INSERT INTO t VALUES (3)").await.unwrap();
    c.query_drop("COMMIT").await.unwrap();
    assert_eq!(
        server_id(&mut c).await,
        ids[0],
        "autocommit is still off after COMMIT"
    );
    c.query_drop("SET autocommit=1").await.unwrap();
    assert_ne!(server_id(&mut c).await, ids[0]);

    // The driver's own transaction API.
    let mut tx = c.start_transaction(Default::default()).await.unwrap();
    let id: Option<u32> = tx.query_first("SELECT @@server_id").await.unwrap();
    assert_eq!(id, Some(ids[0]));
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_transaction_runs_on_one_replica() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    for _ in 0..4 {
        c.query_drop("START TRANSACTION READ ONLY").await.unwrap();
        let first = server_id(&mut c).await;
        assert_ne!(first, ids[0]);
        for _ in 0..4 {
            assert_eq!(
                server_id(&mut c).await,
                first,
                "the read-only transaction moved"
            );
        }
        c.query_drop("COMMIT").await.unwrap();
    }
    // A write inside it fails, as on any server.
    let db = fresh_db("it_ro_tx").await;
    let mut root_c = root(topology().primary).await;
    root_c
        .query_drop(format!("CREATE TABLE `{db}`.t (id INT)"))
        .await
        .unwrap();
    sync_replicas().await;
    c.query_drop("START TRANSACTION READ ONLY").await.unwrap();
    let err = c
        .query_drop(format!("INSERT INTO `{db}`.t VALUES (1)"))
        .await;
    assert!(
        err.is_err(),
        "a write inside a read-only transaction must fail"
    );
    c.query_drop("ROLLBACK").await.unwrap();
    let n: Option<u64> = root_c
        .query_first(format!("SELECT COUNT(*) FROM `{db}`.t"))
        .await
        .unwrap();
    assert_eq!(n, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn locking_reads_and_connection_bound_functions_go_to_the_writer() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_lock").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
        .await
        .unwrap();
    sync_replicas().await;
    for q in [
        "SELECT @@server_id FROM t FOR UPDATE",
        "SELECT @@server_id FROM t LOCK IN SHARE MODE",
        "SELECT @@server_id, GET_LOCK('it_lock', 1)",
        "SELECT @@server_id, RELEASE_LOCK('it_lock')",
        "SELECT @@server_id, LAST_INSERT_ID()",
        "SELECT @@server_id, FOUND_ROWS()",
        "SELECT @@server_id, @@identity",
    ] {
        let rows: Vec<mysql_async::Row> = c.query(q).await.unwrap();
        for r in rows {
            let id: u32 = r.get(0).unwrap();
            assert_eq!(id, ids[0], "{q} ran on a replica");
        }
    }
    // LAST_INSERT_ID() returns what this session's own insert produced.
    c.query_drop("INSERT INTO t (v) VALUES (1)").await.unwrap();
    let mine: Option<u64> = c.query_first("SELECT LAST_INSERT_ID()").await.unwrap();
    let mut other = app_db(&proxy, &db).await;
    other
        .query_drop("INSERT INTO t (v) VALUES (2), (3)")
        .await
        .unwrap();
    let again: Option<u64> = c.query_first("SELECT LAST_INSERT_ID()").await.unwrap();
    assert_eq!(
        mine, again,
        "another session's insert changed LAST_INSERT_ID()"
    );
    assert!(mine.unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_tables_pins_the_session_to_the_writer() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_locktables").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT)").await.unwrap();
    c.query_drop("LOCK TABLES t READ").await.unwrap();
    for _ in 0..3 {
        let id: Option<u32> = c.query_first("SELECT @@server_id FROM DUAL").await.unwrap();
        assert_eq!(id, Some(ids[0]));
        let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM t").await.unwrap();
        assert_eq!(n, Some(0));
    }
    c.query_drop("UNLOCK TABLES").await.unwrap();
    assert_ne!(server_id(&mut c).await, ids[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_tables_keep_reads_on_the_writer_until_dropped() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_temp").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TEMPORARY TABLE tmp (id INT)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO tmp VALUES (1), (2)")
        .await
        .unwrap();
    for _ in 0..3 {
        let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM tmp").await.unwrap();
        assert_eq!(n, Some(2), "the temporary table is visible");
        assert_eq!(server_id(&mut c).await, ids[0]);
    }
    c.query_drop("DROP TEMPORARY TABLE tmp").await.unwrap();
    assert_ne!(server_id(&mut c).await, ids[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_statements_run_on_the_writer() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    let mut r = c
        .query_iter("SELECT @@server_id; SELECT @@server_id + 0")
        .await
        .unwrap();
    let a: Vec<u32> = r.collect().await.unwrap();
    let b: Vec<u32> = r.collect().await.unwrap();
    drop(r);
    assert_eq!(a, vec![ids[0]]);
    assert_eq!(b, vec![ids[0]]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_readers_everything_goes_to_the_writer() {
    let t = topology();
    let proxy = Proxy::start_with(&[
        "--writer".into(),
        format!("127.0.0.1:{}", t.primary),
        "--user".into(),
        "app:app".into(),
    ]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    assert_eq!(server_id(&mut c).await, ids[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_reader_is_skipped() {
    let t = topology();
    let dead = free_port();
    let proxy = Proxy::start_with(&[
        "--writer".into(),
        format!("127.0.0.1:{}", t.primary),
        "--reader".into(),
        format!("127.0.0.1:{dead}"),
        "--reader".into(),
        format!("127.0.0.1:{}", t.replicas[0]),
        "--user".into(),
        "app:app".into(),
    ]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    for _ in 0..6 {
        let id = server_id(&mut c).await;
        assert_eq!(
            id, ids[1],
            "reads go to the reachable replica, without errors"
        );
    }
}

/// Server-local tables (a server's own threads, status, statistics) are read where SHOW
/// PROCESSLIST goes, the writer; catalog tables that replicate stay on replicas.
#[tokio::test(flavor = "multi_thread")]
async fn server_local_tables_are_read_where_show_processlist_goes() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    for sql in [
        "SELECT @@server_id, COUNT(*) FROM information_schema.PROCESSLIST",
        "SELECT @@server_id, COUNT(*) FROM INFORMATION_SCHEMA.processlist WHERE USER = 'app'",
        "SELECT @@server_id, COUNT(*) FROM information_schema.SESSION_STATUS",
        "SELECT @@server_id, COUNT(*) FROM `information_schema`.`GLOBAL_STATUS`",
        "SELECT @@server_id, COUNT(*) FROM performance_schema.threads",
        "SELECT @@server_id, COUNT(*) FROM information_schema.INNODB_TRX",
    ] {
        for _ in 0..3 {
            let row: Option<(u32, i64)> = c.query_first(sql).await.unwrap();
            assert_eq!(row.map(|r| r.0), Some(ids[0]), "{sql}");
        }
    }
    let mut seen = HashSet::new();
    for _ in 0..6 {
        let row: Option<(u32, i64)> = c
            .query_first("SELECT @@server_id, COUNT(*) FROM information_schema.TABLES")
            .await
            .unwrap();
        seen.insert(row.map(|r| r.0).unwrap_or(0));
    }
    assert!(
        seen.iter().all(|id| ids[1..].contains(id)),
        "catalog reads go to replicas: {seen:?}"
    );
}
