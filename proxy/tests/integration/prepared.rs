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

#[tokio::test(flavor = "multi_thread")]
async fn statements_shared_by_text_keep_to_the_database_they_were_prepared_in() {
    // One connection per backend, shared (transaction pooling, whatever the run's
    // default): the sessions' statements meet on the same connections.
    let proxy = Proxy::start(&["--pool-mode", "transaction", "--pool-max-connections", "1"]);
    let (a, b) = (fresh_db("it_ps_db_a").await, fresh_db("it_ps_db_b").await);
    let mut admin = root(topology().primary).await;
    for (db, v) in [(&a, "a"), (&b, "b")] {
        admin
            .query_drop(format!(
                "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(8)); \
                 INSERT INTO `{db}`.t VALUES (1, '{v}')"
            ))
            .await
            .unwrap();
    }
    sync_replicas().await;
    // An expression: its column definition does not name the database (a column's does,
    // and those alone would tell the two statements apart).
    let sql = "SELECT CONCAT('', v) FROM t WHERE id = ?";
    let (mut ca, mut cb) = (app_db(&proxy, &a).await, app_db(&proxy, &b).await);
    let (sa, sb) = (ca.prep(sql).await.unwrap(), cb.prep(sql).await.unwrap());
    for i in 0..6 {
        // Reads (on the replicas), then transactions (on the primary's one connection).
        let (va, vb): (Option<String>, Option<String>) = if i < 3 {
            (
                ca.exec_first(&sa, (1,)).await.unwrap(),
                cb.exec_first(&sb, (1,)).await.unwrap(),
            )
        } else {
            let mut ta = ca.start_transaction(Default::default()).await.unwrap();
            let va = ta.exec_first(&sa, (1,)).await.unwrap();
            ta.commit().await.unwrap();
            let mut tb = cb.start_transaction(Default::default()).await.unwrap();
            let vb = tb.exec_first(&sb, (1,)).await.unwrap();
            tb.commit().await.unwrap();
            (va, vb)
        };
        assert_eq!(
            (va.as_deref(), vb.as_deref()),
            (Some("a"), Some("b")),
            "round {i}: each session reads its own database's table"
        );
    }
    // As MariaDB does, a statement keeps to the database it was prepared in after USE,
    // also where it is prepared again (on a replica's connection).
    ca.query_drop(format!("USE `{b}`")).await.unwrap();
    for _ in 0..4 {
        let v: Option<String> = ca.exec_first(&sa, (1,)).await.unwrap();
        assert_eq!(v.as_deref(), Some("a"), "prepared in {a}, it reads {a}.t");
    }
    let now: Option<String> = ca.query_first("SELECT v FROM t").await.unwrap();
    assert_eq!(now.as_deref(), Some("b"), "the session itself is in {b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn column_definitions_left_out_of_an_answer_are_put_back_when_the_client_lacks_them() {
    // mysql_async asks for MARIADB_CLIENT_CACHE_METADATA: an execution's answer leaves out
    // the column definitions the connection sent before for that statement.
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_ps_meta").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, k INT)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO t VALUES (1, 7), (2, 8)")
        .await
        .unwrap();
    // Prepared (on the primary) while k is an INT: the client has that definition.
    let sel = c.prep("SELECT k FROM t WHERE id = ?").await.unwrap();
    c.query_drop("ALTER TABLE t MODIFY k BIGINT").await.unwrap();
    c.query_drop("UPDATE t SET k = 5000000000 WHERE id = 1")
        .await
        .unwrap();
    // A replica's connection prepares it now, with k a BIGINT, and would leave that
    // definition out: the client would read the 8 bytes of a BIGINT as an INT.
    for i in 0..6 {
        let k: Option<i64> = c.exec_first(&sel, (1 + i % 2,)).await.unwrap();
        let want = if i % 2 == 0 { 5_000_000_000 } else { 8 };
        assert_eq!(k, Some(want), "execution {i}");
    }
    let mut tx = c.start_transaction(Default::default()).await.unwrap();
    let k: Option<i64> = tx.exec_first(&sel, (1,)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        k,
        Some(5_000_000_000),
        "on the primary, prepared before the change"
    );
    let resent = metric(&proxy.metrics(), "rwsplit_metadata_resent_total", &[]);
    assert!(resent >= 1.0, "definitions put back: {resent}");
    // Unchanged since: every answer leaves them out, and none needs them back.
    let before = resent;
    for _ in 0..10 {
        let _: Option<i64> = c.exec_first(&sel, (2,)).await.unwrap();
    }
    let after = metric(&proxy.metrics(), "rwsplit_metadata_resent_total", &[]);
    assert_eq!(after, before, "nothing put back once the client has them");
}
