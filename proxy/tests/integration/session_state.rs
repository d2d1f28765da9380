//! Session state follows reads to the replicas; resets leave nothing behind.

use mysql_async::prelude::Queryable;
use mysql_async::ChangeUserOpts;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn session_variables_follow_reads_to_replicas() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    c.query_drop("SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES'")
        .await
        .unwrap();
    c.query_drop("SET @@session.time_zone = '+03:00', @greeting = 'hello'")
        .await
        .unwrap();
    c.query_drop("SET NAMES latin1").await.unwrap();
    for _ in 0..4 {
        let (id, mode, tz, g, cs): (u32, String, String, Option<String>, String) = c
            .query_first(
                "SELECT @@server_id, @@sql_mode, @@time_zone, @greeting, @@character_set_client",
            )
            .await
            .unwrap()
            .unwrap();
        assert_ne!(id, ids[0], "plain reads go to replicas");
        assert_eq!(mode, "ANSI_QUOTES,STRICT_ALL_TABLES", "on server {id}");
        assert_eq!(tz, "+03:00", "on server {id}");
        assert_eq!(g.as_deref(), Some("hello"), "on server {id}");
        assert_eq!(cs, "latin1", "on server {id}");
    }
    // `:=` in SET is not parsed, but its target has a name: read back from the writer
    // and replayed as a literal, so the reads that use it go to replicas.
    c.query_drop("SET @n := 41").await.unwrap();
    let (id, n): (u32, Option<i64>) = c
        .query_first("SELECT @@server_id, @n + 1")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(id, ids[0]);
    assert_eq!(n, Some(42));
    // A user variable computed from something a replica would compute differently: the
    // writer's value, read back, is what replicas see.
    c.query_drop("SET @id = CONNECTION_ID()").await.unwrap();
    let (id, v): (u32, Option<i64>) = c
        .query_first("SELECT @@server_id, @id")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(id, ids[0]);
    let writer_threads: Vec<u64> = {
        let mut r = root(topology().primary).await;
        r.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app'")
            .await
            .unwrap()
    };
    let v = v.expect("@id is set") as u64;
    assert!(
        writer_threads.contains(&v),
        "@id = {v} is a thread id of the writer ({writer_threads:?})"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn use_and_connect_with_db_follow_reads() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let a = fresh_db("it_use_a").await;
    let b = fresh_db("it_use_b").await;
    let mut c = app_db(&proxy, &a).await;
    for _ in 0..3 {
        let (id, db): (u32, String) = c
            .query_first("SELECT @@server_id, DATABASE()")
            .await
            .unwrap()
            .unwrap();
        assert_ne!(id, ids[0]);
        assert_eq!(db, a);
    }
    c.query_drop(format!("USE `{b}`")).await.unwrap();
    for _ in 0..3 {
        let (id, db): (u32, String) = c
            .query_first("SELECT @@server_id, DATABASE()")
            .await
            .unwrap()
            .unwrap();
        assert_ne!(id, ids[0]);
        assert_eq!(db, b);
    }
    // An unknown database is refused at login, as by the server.
    let err = mysql_async::Conn::new(opts(proxy.port, "app", "app", Some("no_such_db_xyz"))).await;
    let msg = format!("{:?}", err.err());
    assert!(msg.contains("1049"), "{msg}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_connection_leaves_nothing_behind() {
    let proxy = Proxy::start(&[]);
    let mut c = app(&proxy).await;
    c.query_drop("SET @leak = 'x', SESSION sql_mode = 'ANSI_QUOTES'")
        .await
        .unwrap();
    c.query_drop("CREATE TEMPORARY TABLE test.leak (id INT)")
        .await
        .unwrap();
    // Read on replicas once so reader connections hold the state too.
    for _ in 0..2 {
        let _: Option<String> = c.query_first("SELECT @leak").await.unwrap();
    }
    assert!(c.reset().await.unwrap(), "COM_RESET_CONNECTION was used");
    for _ in 0..4 {
        let (v, mode): (Option<String>, String) = c
            .query_first("SELECT @leak, @@sql_mode")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v, None, "user variable survived the reset");
        assert_ne!(mode, "ANSI_QUOTES", "sql_mode survived the reset");
    }
    let err = c.query_drop("SELECT * FROM test.leak").await;
    assert!(err.is_err(), "temporary table survived the reset");
}

#[tokio::test(flavor = "multi_thread")]
async fn change_user_resets_the_session() {
    let proxy = Proxy::start(&[]);
    let mut c = app(&proxy).await;
    c.query_drop("SET @before = 1").await.unwrap();
    let _: Option<i64> = c.query_first("SELECT @before").await.unwrap();
    c.change_user(
        ChangeUserOpts::default()
            .with_user(Some("app".into()))
            .with_pass(Some("app".into())),
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let v: Option<Option<i64>> = c.query_first("SELECT @before").await.unwrap();
        assert_eq!(v, Some(None), "state leaked through COM_CHANGE_USER");
    }
    // A wrong password is refused.
    let bad = c
        .change_user(
            ChangeUserOpts::default()
                .with_user(Some("app".into()))
                .with_pass(Some("wrong".into())),
        )
        .await;
    assert!(format!("{bad:?}").contains("1045"), "{bad:?}");
}
