//! `--query-timeout`: a statement that outlives it is killed on its backend and the client
//! gets error 1317; the session, its transaction and other sessions go on.

use mysql_async::prelude::Queryable;

use crate::support::*;

fn code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_past_the_query_timeout_are_killed_and_the_session_goes_on() {
    let proxy = Proxy::start(&["--query-timeout", "700"]);
    let db = fresh_db("it_query_timeout").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
        .await
        .expect("create");
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    let before = metric(&page, "rwsplit_query_timeouts_total", &[]);

    // A read on a reader, running for 30 s: killed after 0.7 s.
    let started = std::time::Instant::now();
    let err = c
        .query_drop("SELECT COUNT(*) FROM t WHERE SLEEP(30) = 0 OR 1 = 1 UNION SELECT SLEEP(30)")
        .await
        .expect_err("the slow read is interrupted");
    assert_eq!(code(&err), Some(1317), "{err:?}");
    assert!(started.elapsed().as_secs() < 25, "{:?}", started.elapsed());
    // The same connection serves the next statement, and statements under the limit run.
    let v: Option<i64> = c
        .query_first("SELECT SLEEP(0.1)")
        .await
        .expect("a quick read");
    assert_eq!(v, Some(0));

    // Inside a transaction on the writer: the statement is interrupted, the transaction
    // is not, and commits what it wrote before and after.
    let mut other = app_db(&proxy, &db).await;
    c.query_drop("BEGIN").await.expect("begin");
    c.query_drop("INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    let err = c
        .query_drop("SELECT SLEEP(30) FROM t")
        .await
        .expect_err("interrupted");
    assert_eq!(code(&err), Some(1317), "{err:?}");
    // Another session is served meanwhile and afterwards.
    let one: Option<i64> = other.query_first("SELECT 1").await.expect("other session");
    assert_eq!(one, Some(1));
    c.query_drop("INSERT INTO t VALUES (2)")
        .await
        .expect("insert after");
    c.query_drop("COMMIT").await.expect("commit");
    let n: Option<i64> = other
        .query_first("SELECT /* rwsplit:writer */ COUNT(*) FROM t")
        .await
        .expect("count");
    assert_eq!(n, Some(2));

    // A prepared statement on a reader is bounded as well.
    let stmt = c.prep("SELECT SLEEP(?) FROM DUAL").await.expect("prepare");
    let err = c.exec_drop(&stmt, (30,)).await.expect_err("interrupted");
    assert_eq!(code(&err), Some(1317), "{err:?}");
    let v: Option<i64> = c.exec_first(&stmt, (0,)).await.expect("quick execute");
    assert_eq!(v, Some(0));

    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    assert_eq!(
        metric(&page, "rwsplit_query_timeouts_total", &[]),
        before + 3.0
    );
}
