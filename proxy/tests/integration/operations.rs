//! Process-level behaviour: graceful shutdown.

use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::support::*;

/// SIGTERM while a transaction is open: no new clients, the transaction can still
/// commit, then rwsplit exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_an_open_transaction_commit() {
    let mut proxy = Proxy::start(&[]);
    let db = fresh_db("it_sigterm").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT)").await.unwrap();
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    proxy.signal("-TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New clients are refused.
    let refused = mysql_async::Conn::new(opts(proxy.port, "app", "app", None)).await;
    assert!(
        refused.is_err(),
        "a new client was accepted during shutdown"
    );
    c.query_drop("INSERT INTO t VALUES (2)").await.unwrap();
    c.query_drop("COMMIT").await.unwrap();
    assert_eq!(
        proxy.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        proxy.log_text()
    );
    let mut r = root(topology().primary).await;
    let n: Option<u64> = r
        .query_first(format!("SELECT COUNT(*) FROM `{db}`.t"))
        .await
        .unwrap();
    assert_eq!(n, Some(2));
}
