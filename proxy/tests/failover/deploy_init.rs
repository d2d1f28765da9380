//! The Compose stack's MySQL init script (config/mysql/primary/01-accounts.sql), run
//! against a MariaDB primary of its own: the accounts it creates are enough for rwsplit's
//! monitor (health, lag, heartbeat) and for the bookstore's account, and no more. (The
//! replicas' script is MySQL 8.0 syntax; scripts/topology.sh does its MariaDB equivalent.)

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_init_script_gives_rwsplit_and_the_app_what_they_need() {
    let t = Topo::start(true);
    let script = std::fs::read_to_string(repo_root().join("config/mysql/primary/01-accounts.sql"))
        .expect("the init script");
    let mut root_conn = root(t.primary).await;
    root_conn
        .query_drop(&script)
        .await
        .expect("the init script runs on MariaDB");
    drop(root_conn);
    sync_replicas_of(&t).await;

    // rwsplit with the script's accounts, as the Compose stack's sidecar logs in.
    let mut args: Vec<String> = vec![
        "--writer".into(),
        format!("127.0.0.1:{}", t.primary),
        "--user".into(),
        "app:app-dev-password".into(),
        "--monitor-user".into(),
        "monitor:monitor-dev-password".into(),
        "--monitor-interval".into(),
        "200".into(),
    ];
    for r in &t.replicas {
        args.extend(["--reader".into(), format!("127.0.0.1:{r}")]);
    }
    let proxy = Proxy::start_with(&args);
    let mut app = Conn::new(opts(proxy.port, "app", "app-dev-password", None))
        .await
        .expect("the app's account logs in through rwsplit");
    app.query_drop("CREATE DATABASE IF NOT EXISTS bookstore")
        .await
        .expect("create its database");
    app.query_drop("CREATE TABLE bookstore.t (id INT PRIMARY KEY)")
        .await
        .expect("create a table");
    app.query_drop("INSERT INTO bookstore.t VALUES (1)")
        .await
        .expect("write");
    // Nothing outside its database.
    let err = app
        .query_drop("CREATE DATABASE elsewhere")
        .await
        .expect_err("no other database");
    assert!(err.to_string().contains("1044"), "{err}");

    // The monitor's account sees both replicas (read_only, lag) and writes its heartbeat.
    wait_for_async(
        "both readers up, with their lag, through the monitor account",
        std::time::Duration::from_secs(10),
        async || {
            let (_, page) = http_get(proxy.metrics_port, "/metrics");
            let up = metric(&page, "rwsplit_backend_up", &[("role", "reader")]);
            let lag_known = page
                .lines()
                .filter(|l| l.starts_with("rwsplit_replica_lag_seconds{"))
                .count();
            if up == 2.0 && lag_known == 2 {
                Ok(())
            } else {
                Err(page)
            }
        },
    )
    .await;
    let mut p = root(t.primary).await;
    let beats: Option<i64> = p
        .query_first("SELECT COUNT(*) FROM rwsplit.heartbeat")
        .await
        .expect("the heartbeat table exists: the monitor could create it");
    assert!(beats.unwrap_or(0) >= 1);

    // The replicas refuse the app's writes (no SUPER, no READ_ONLY ADMIN).
    let mut direct = Conn::new(opts(
        t.replicas[0],
        "app",
        "app-dev-password",
        Some("bookstore"),
    ))
    .await
    .expect("the app's account on a replica");
    let err = direct
        .query_drop("INSERT INTO t VALUES (2)")
        .await
        .expect_err("read-only replica");
    assert!(err.to_string().contains("1290"), "{err}");

    // The replication account may replicate.
    let grants: Vec<String> = p.query("SHOW GRANTS FOR 'repl'@'%'").await.expect("grants");
    assert!(
        grants.iter().any(|g| g.contains("REPLICATION SLAVE")),
        "{grants:?}"
    );
}
