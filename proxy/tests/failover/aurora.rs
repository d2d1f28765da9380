//! aurora mode against an emulation: MariaDB servers, and a table with the columns of
//! information_schema.replica_host_status that the configured topology query reads.

use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::support::*;

/// The emulated `replica_host_status` (in database `aurora_emul`).
pub const EMULATION_DDL: [&str; 2] = [
    "CREATE DATABASE aurora_emul",
    "CREATE TABLE aurora_emul.replica_host_status (SERVER_ID VARCHAR(100), SESSION_ID VARCHAR(100), \
     LAST_UPDATE_TIMESTAMP DATETIME(6), REPLICA_LAG_IN_MILLISECONDS DOUBLE)",
];

/// Starts rwsplit in aurora mode over the emulation, the cluster endpoint on port
/// `endpoint`, with one user (password = name) and `consistency`.
pub fn start_emulated(endpoint: u16, user: &str, consistency: &str) -> Proxy {
    start_emulated_with(endpoint, user, consistency, &[])
}

/// As `start_emulated`, with more flags (they override the file).
pub fn start_emulated_with(endpoint: u16, user: &str, consistency: &str, extra: &[&str]) -> Proxy {
    let config = format!(
        r#"
[backends]
mode = "aurora"
[backends.aurora]
cluster_endpoint = "127.0.0.1:{endpoint}"
instance_pattern = "127.0.0.1:?"
topology_query = "SELECT SERVER_ID, SESSION_ID, TIMESTAMPDIFF(MICROSECOND, LAST_UPDATE_TIMESTAMP, NOW(6)) / 1000, REPLICA_LAG_IN_MILLISECONDS FROM aurora_emul.replica_host_status"
stale_after_ms = 30000
[[users]]
name = "{user}"
password = "{user}"
[monitor]
user = "monitor"
password = "monitor"
interval_ms = 200
[routing]
consistency = "{consistency}"
"#
    );
    let file = std::env::temp_dir().join(format!("rwsplit-aurora-{endpoint}-{user}.toml"));
    std::fs::write(&file, config).unwrap();
    let mut args = vec!["--config".to_string(), file.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    Proxy::start_with(&args)
}

async fn set_rows(primary: u16, rows: &[(u16, &str, i64, i64)]) {
    let mut c = root(primary).await;
    c.query_drop("DELETE FROM aurora_emul.replica_host_status")
        .await
        .unwrap();
    for (port, session, age_s, lag) in rows {
        c.query_drop(format!(
            "INSERT INTO aurora_emul.replica_host_status VALUES ('{port}', '{session}', NOW(6) - INTERVAL {age_s} SECOND, {lag})"
        ))
        .await
        .unwrap();
    }
}

async fn servers_of_reads(port: u16, n: usize) -> std::collections::BTreeSet<u32> {
    let mut c = mysql_async::Conn::new(opts(port, "app", "app", None))
        .await
        .unwrap();
    let mut s = std::collections::BTreeSet::new();
    for _ in 0..n {
        let id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
        s.insert(id.unwrap_or(0));
    }
    s
}

async fn writer_id(port: u16) -> Result<u32, mysql_async::Error> {
    let mut c = mysql_async::Conn::new(opts(port, "app", "app", None)).await?;
    c.query_drop("CREATE DATABASE IF NOT EXISTS probe_w")
        .await?;
    let id: Option<u32> = c
        .query_first("SELECT @@server_id FROM DUAL FOR UPDATE")
        .await?;
    Ok(id.unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn aurora_emulation_follows_the_cluster() {
    let t = Topo::start(true);
    let ids = server_ids_of(&t).await;
    {
        let mut c = root(t.primary).await;
        for q in EMULATION_DDL {
            c.query_drop(q).await.unwrap();
        }
    }
    let (p, r1, r2) = (t.primary, t.replicas[0], t.replicas[1]);
    set_rows(
        p,
        &[
            (p, "MASTER_SESSION_ID", 0, 0),
            (r1, "a1", 0, 10),
            (r2, "a2", 0, 10),
        ],
    )
    .await;
    let proxy = start_emulated(p, "app", "eventual");
    let port = proxy.port;

    // The writer is the MASTER_SESSION_ID instance; reads go to the others.
    assert_eq!(writer_id(port).await.unwrap(), ids[0]);
    assert_eq!(servers_of_reads(port, 8).await, [ids[1], ids[2]].into());

    // A stale row that still calls r1 the writer (older than the current writer's row),
    // and a row older than stale_after_ms: both ignored.
    set_rows(
        p,
        &[
            (p, "MASTER_SESSION_ID", 0, 0),
            (r1, "MASTER_SESSION_ID", 20, 0),
            (r1, "a1", 0, 10),
            (r2, "a2", 0, 11),
            (9, "ghost", 3600, 0),
        ],
    )
    .await;
    // r2's lag changed (10 to 11 ms) only to show when rwsplit has read these rows.
    proxy
        .wait_backend(r2, "with the lag of the new rows", |b| {
            b.is_some_and(|b| b["lag_ms"] == 11)
        })
        .await;
    assert_eq!(writer_id(port).await.unwrap(), ids[0]);
    assert_eq!(servers_of_reads(port, 8).await, [ids[1], ids[2]].into());

    // A lagging instance gets no reads.
    set_rows(
        p,
        &[
            (p, "MASTER_SESSION_ID", 0, 0),
            (r1, "a1", 0, 5000),
            (r2, "a2", 0, 10),
        ],
    )
    .await;
    wait_for_async(
        "the lagging reader to leave",
        Duration::from_secs(5),
        async || servers_of_reads(port, 6).await == [ids[2]].into(),
    )
    .await;

    // Writer change: the cluster names r1 before r1 is writable; writes move only once r1
    // itself says it is the writer.
    set_rows(
        p,
        &[
            (p, "b0", 0, 10),
            (r1, "MASTER_SESSION_ID", 0, 0),
            (r2, "a2", 0, 10),
        ],
    )
    .await;
    // rwsplit has read these rows once r1 carries the writer's lag (0) and p a reader's.
    proxy
        .wait_backend(r1, "named the writer by the rows (lag 0)", |b| {
            b.is_some_and(|b| b["lag_ms"] == 0)
        })
        .await;
    proxy
        .wait_backend(p, "named a reader by the rows (lag 10)", |b| {
            b.is_some_and(|b| b["lag_ms"] == 10)
        })
        .await;
    let during = writer_id(port).await;
    assert!(
        during.is_err() || during.as_ref().ok() == Some(&ids[0]),
        "writes moved to an instance that is still read-only: {during:?}"
    );
    t.script(&["promote", &r1.to_string()]);
    // The emulated table now lives on the new writer too (it replicated); the endpoint
    // (the old primary, now a replica) still answers the topology query.
    wait_for_async(
        "writes to follow the new writer",
        Duration::from_secs(5),
        async || writer_id(port).await.ok() == Some(ids[1]),
    )
    .await;
    let reads = servers_of_reads(port, 8).await;
    assert!(
        !reads.contains(&ids[1]),
        "the new writer serves no reads: {reads:?}"
    );
}
