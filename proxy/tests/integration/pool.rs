//! Backend connection pools on real servers: a session's connections are reset and
//! reused by the next session, which sees none of the state the first left; the cap,
//! with sessions served in order and error 1040 past `pool.borrow_timeout_ms`.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::pool_transaction::db_with_table;
use super::support::*;

fn code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

/// Column `col` of the writer's row in SHOW POOLS (3: idle, 5: waiting).
fn writer_pool(proxy: &Proxy, col: usize) -> Option<u64> {
    let out = admin_cli(proxy, "SHOW POOLS").ok()?;
    out.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&"writer"))
        .and_then(|f| f.get(col)?.parse().ok())
}

fn idle_writers(proxy: &Proxy) -> Option<u64> {
    writer_pool(proxy, 3)
}

fn waiting_writers(proxy: &Proxy) -> u64 {
    writer_pool(proxy, 5).unwrap_or(0)
}

async fn wait_idle_writers(proxy: &Proxy, n: u64) {
    wait_for_async(
        &format!("{n} idle writer connection(s) in SHOW POOLS"),
        Duration::from_secs(10),
        async || idle_writers(proxy).filter(|&i| i >= n),
    )
    .await;
}

/// What a session must see when nothing of another session leaked into it.
async fn assert_pristine(c: &mut Conn, db: Option<&str>, who: &str) {
    let row: (Option<String>, String, String, u64, Option<String>) = c
        .query_first(
            "SELECT @mark, @@session.sql_mode = @@global.sql_mode, \
             @@session.time_zone = @@global.time_zone, LAST_INSERT_ID(), DATABASE()",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.0, None, "{who}: a user variable of another session");
    assert_eq!(row.1, "1", "{who}: another session's sql_mode");
    assert_eq!(row.2, "1", "{who}: another session's time_zone");
    assert_eq!(row.3, 0, "{who}: another session's LAST_INSERT_ID()");
    assert_eq!(row.4.as_deref(), db, "{who}: another session's database");
    let tmp = c.query_drop("SELECT * FROM pool_tmp").await;
    assert!(
        tmp.as_ref()
            .err()
            .and_then(code)
            .is_some_and(|c| c == 1146 || c == 1046),
        "{who}: another session's temporary table: {tmp:?}"
    );
}

/// Leaves state of every kind on the session's backend connection.
async fn leave_state(c: &mut Conn, table: &str, mark: &str) {
    c.query_drop(format!("SET @mark = '{mark}'")).await.unwrap();
    c.query_drop("SET SESSION sql_mode = 'ANSI_QUOTES'")
        .await
        .unwrap();
    c.query_drop("SET time_zone = '+05:00'").await.unwrap();
    c.query_drop("CREATE TEMPORARY TABLE pool_tmp (a INT)")
        .await
        .unwrap();
    c.query_drop(format!("INSERT INTO {table} (v) VALUES ('{mark}')"))
        .await
        .unwrap();
    let seen: (String, u64) = c
        .query_first("SELECT @mark, LAST_INSERT_ID()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.0, mark);
    assert!(seen.1 > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_session_reuses_the_connection_reset_and_sees_none_of_the_state() {
    let db = db_with_table("pool_reuse", &[]).await;
    let proxy = Proxy::start(&["--pool-mode", "session"]);

    let mut a = app_db(&proxy, &db).await;
    let thread: u32 = a
        .query_first("SELECT CONNECTION_ID()")
        .await
        .unwrap()
        .unwrap();
    leave_state(&mut a, "t", "a").await;
    a.disconnect().await.unwrap();
    wait_idle_writers(&proxy, 1).await;

    let mut b = app_db(&proxy, &db).await;
    let again: u32 = b
        .query_first("SELECT CONNECTION_ID()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, thread, "the writer connection was not reused");
    assert_pristine(&mut b, Some(&db), "the session after").await;
    b.disconnect().await.unwrap();
    wait_idle_writers(&proxy, 1).await;

    // A session without a database cannot get a connection that has one.
    let mut n = app(&proxy).await;
    let other: u32 = n
        .query_first("SELECT CONNECTION_ID()")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(other, thread);
    assert_pristine(&mut n, None, "a session without a database").await;
    n.disconnect().await.unwrap();

    let page = proxy.metrics();
    assert!(
        metric(
            &page,
            "rwsplit_pool_borrows_total",
            &[("role", "writer"), ("outcome", "idle")]
        ) >= 1.0
    );
    assert!(
        metric(
            &page,
            "rwsplit_pool_resets_total",
            &[("role", "writer"), ("outcome", "ok")]
        ) >= 2.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn many_sessions_through_a_small_pool_never_see_each_others_state() {
    let db = db_with_table("pool_many", &[]).await;
    let proxy = Proxy::start(&[
        "--pool-max-connections",
        "4",
        "--pool-borrow-timeout",
        "20000",
    ]);
    let mut workers = Vec::new();
    for w in 0..8 {
        let (port, db) = (proxy.port, db.clone());
        workers.push(tokio::spawn(async move {
            for i in 0..15 {
                let mark = format!("w{w}i{i}");
                let mut s = Conn::new(opts(port, "app", "app", Some(&db)))
                    .await
                    .unwrap();
                assert_pristine(&mut s, Some(&db), &mark).await;
                leave_state(&mut s, "t", &mark).await;
                for _ in 0..3 {
                    let seen: (String, String) = s
                        .query_first("SELECT @mark, @@session.sql_mode")
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(seen, (mark.clone(), "ANSI_QUOTES".to_string()), "{mark}");
                }
                s.disconnect().await.unwrap();
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let page = proxy.metrics();
    let reused = metric(
        &page,
        "rwsplit_pool_borrows_total",
        &[("role", "writer"), ("outcome", "idle")],
    );
    let opened = metric(
        &page,
        "rwsplit_pool_borrows_total",
        &[("role", "writer"), ("outcome", "new")],
    );
    assert!(
        opened <= 4.0,
        "the cap of 4 was passed: {opened} writer connections opened"
    );
    assert!(
        reused >= 100.0,
        "only {reused} of 120 sessions reused a writer connection"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_cap_sessions_wait_in_order_and_one_past_the_timeout_gets_1040() {
    let proxy = Proxy::start(&[
        "--pool-mode",
        "session",
        "--pool-max-connections",
        "2",
        "--pool-borrow-timeout",
        "4000",
    ]);
    let a = app(&proxy).await;
    let b = app(&proxy).await;
    let port = proxy.port;
    let first = tokio::spawn(async move { Conn::new(opts(port, "app", "app", None)).await });
    wait_for("one session waiting", Duration::from_secs(10), || {
        waiting_writers(&proxy) == 1
    });
    let second = tokio::spawn(async move { Conn::new(opts(port, "app", "app", None)).await });
    wait_for("two sessions waiting", Duration::from_secs(10), || {
        waiting_writers(&proxy) == 2
    });

    a.disconnect().await.unwrap();
    let mut first = tokio::time::timeout(Duration::from_secs(3), first)
        .await
        .expect("the first waiter got the connection freed")
        .unwrap()
        .expect("the first waiter logged in");
    assert!(!second.is_finished(), "the second waiter went first");
    let one: u8 = first.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);

    let refused = second.await.unwrap().err();
    assert_eq!(refused.as_ref().and_then(code), Some(1040), "{refused:?}");
    let text = refused.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("pool.max_connections"), "{text}");

    // The others go on, and a connection freed serves the next session.
    let one: u8 = first.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
    b.disconnect().await.unwrap();
    let mut next = app(&proxy).await;
    let one: u8 = next.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
    let page = proxy.metrics();
    assert_eq!(
        metric(
            &page,
            "rwsplit_pool_borrows_total",
            &[("role", "writer"), ("outcome", "timeout")]
        ),
        1.0
    );
}

/// `pool.min_idle`: once a session has opened a connection to a backend, rwsplit keeps
/// that many idle there, opening them in the background, also after sessions took them;
/// the next session then logs in on one of them.
#[tokio::test(flavor = "multi_thread")]
async fn min_idle_connections_are_opened_ahead_and_replaced_when_taken() {
    let db = db_with_table("pool_min_idle", &[]).await;
    let proxy = Proxy::start(&["--pool-mode", "session", "--pool-min-idle", "3"]);
    let mut held = vec![app_db(&proxy, &db).await];
    wait_idle_writers(&proxy, 3).await;
    // Sessions take the idle ones (each holds its writer connection): more are opened.
    for _ in 0..3 {
        held.push(app_db(&proxy, &db).await);
    }
    wait_idle_writers(&proxy, 3).await;
    let borrows = |outcome: &str| {
        metric(
            &proxy.metrics(),
            "rwsplit_pool_borrows_total",
            &[("role", "writer"), ("outcome", outcome)],
        )
    };
    let (new, idle) = (borrows("new"), borrows("idle"));
    let mut next = app_db(&proxy, &db).await;
    next.query_drop("DO 1").await.unwrap();
    assert_eq!(
        borrows("new"),
        new,
        "the next session opened a writer connection"
    );
    assert!(
        borrows("idle") > idle,
        "the next session took no idle connection"
    );
    for c in held {
        c.disconnect().await.unwrap();
    }
}
