//! Binary prepared statements through rwsplit: reads on replicas, writes and
//! transactions on the primary, re-prepared transparently where they run.

use mysql_async::prelude::Queryable;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn prepared_reads_run_on_replicas_and_writes_on_the_primary() {
    let proxy = Proxy::start(&["--policy", "round-robin"]);
    let ids = server_ids().await;
    let db = fresh_db("it_ps").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
        .await
        .unwrap();
    let ins = c.prep("INSERT INTO t VALUES (?, ?)").await.unwrap();
    for i in 0..10 {
        c.exec_drop(&ins, (i, format!("v{i}"))).await.unwrap();
    }
    sync_replicas().await;
    let sel = c
        .prep("SELECT v, @@server_id FROM t WHERE id = ?")
        .await
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..10 {
        let (v, id): (String, u32) = c.exec_first(&sel, (i,)).await.unwrap().unwrap();
        assert_eq!(v, format!("v{i}"));
        assert_ne!(id, ids[0], "a prepared read ran on the primary");
        seen.insert(id);
    }
    assert_eq!(
        seen.len(),
        2,
        "both replicas served prepared reads: {seen:?}"
    );
    // Inside a transaction: the primary, with the same statement handle.
    let mut tx = c.start_transaction(Default::default()).await.unwrap();
    let (_, id): (String, u32) = tx.exec_first(&sel, (1,)).await.unwrap().unwrap();
    assert_eq!(id, ids[0]);
    tx.exec_drop(&ins, (100, "tx")).await.unwrap();
    tx.commit().await.unwrap();
    // Closing works, the handle is gone everywhere, another prepare works.
    c.close(sel).await.unwrap();
    let again = c.prep("SELECT COUNT(*) FROM t").await.unwrap();
    let n: Option<u64> = c.exec_first(&again, ()).await.unwrap();
    assert!(n.unwrap_or(0) >= 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn prepared_statements_survive_a_lost_reader_connection() {
    let user = fresh_user("it_ps_kill").await;
    let proxy = Proxy::start(&[
        "--user",
        "it_ps_kill:it_ps_kill",
        "--consistency",
        "eventual",
    ]);
    let mut c = as_user(&proxy, &user, None).await;
    let sel = c.prep("SELECT ? + 1, @@server_id").await.unwrap();
    for i in 0..4 {
        let (v, _): (i64, u32) = c.exec_first(&sel, (i,)).await.unwrap().unwrap();
        assert_eq!(v, i + 1);
    }
    // Kill this account's connections on the replicas (the session's reader connections).
    for r in &topology().replicas {
        let mut rc = root(*r).await;
        let ids: Vec<u64> = rc
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?",
                (user.clone(),),
            )
            .await
            .unwrap();
        for id in ids {
            let _ = rc.query_drop(format!("KILL {id}")).await;
        }
    }
    for i in 10..20 {
        let (v, _): (i64, u32) = c.exec_first(&sel, (i,)).await.unwrap().unwrap();
        assert_eq!(v, i + 1, "the statement was re-prepared transparently");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_level_prepare_is_pinned_to_the_writer() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    c.query_drop("PREPARE s FROM 'SELECT @@server_id'")
        .await
        .unwrap();
    for _ in 0..3 {
        let id: Option<u32> = c.query_first("EXECUTE s").await.unwrap();
        assert_eq!(id, Some(ids[0]));
    }
    c.query_drop("SET @v = 41").await.unwrap();
    c.query_drop("PREPARE s2 FROM 'SELECT ? + 1'")
        .await
        .unwrap();
    let v: Option<i64> = c.query_first("EXECUTE s2 USING @v").await.unwrap();
    assert_eq!(v, Some(42));
    c.query_drop("DEALLOCATE PREPARE s").await.unwrap();
    assert!(c.query_drop("EXECUTE s").await.is_err(), "deallocated");
}
