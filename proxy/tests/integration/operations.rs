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
    wait_for_async(
        "/readyz to say the listener is down after SIGTERM",
        Duration::from_secs(10),
        async || {
            let (status, body) = http_get(proxy.metrics_port, "/readyz");
            status == 503 && body.contains("listener is not up")
        },
    )
    .await;
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

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_exactly_the_traffic() {
    let proxy = Proxy::start(&["--consistency", "eventual"]);
    let db = fresh_db("it_metrics").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
        .await
        .unwrap();
    let (status, before) = http_get(proxy.metrics_port, "/metrics");
    assert_eq!(status, 200);
    let reads = |page: &str| {
        metric(
            page,
            "rwsplit_queries_total",
            &[("route", "reader"), ("reason", "read")],
        )
    };
    let writes = |page: &str| {
        metric(
            page,
            "rwsplit_queries_total",
            &[("route", "writer"), ("kind", "write"), ("reason", "write")],
        )
    };
    let in_tx = |page: &str| {
        metric(
            page,
            "rwsplit_queries_total",
            &[("route", "writer"), ("reason", "in_transaction")],
        )
    };
    let locking = |page: &str| metric(page, "rwsplit_queries_total", &[("reason", "locking_read")]);
    let err_1146 = |page: &str| metric(page, "rwsplit_errors_total", &[("code", "1146")]);
    for i in 0..7 {
        let _: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
        c.query_drop(format!("INSERT INTO t VALUES ({i})"))
            .await
            .unwrap();
    }
    c.query_drop("BEGIN").await.unwrap();
    for _ in 0..3 {
        let _: Vec<u64> = c.query("SELECT id FROM t").await.unwrap();
    }
    c.query_drop("COMMIT").await.unwrap();
    let _: Vec<u64> = c
        .query("SELECT id FROM t WHERE id = 1 FOR UPDATE")
        .await
        .unwrap();
    for _ in 0..2 {
        assert!(c.query_drop("SELECT * FROM no_such_table").await.is_err());
    }
    let (_, after) = http_get(proxy.metrics_port, "/metrics");
    assert_eq!(
        reads(&after) - reads(&before),
        7.0 + 2.0,
        "reads (7 plus 2 failing ones)"
    );
    assert_eq!(writes(&after) - writes(&before), 7.0);
    assert_eq!(
        in_tx(&after) - in_tx(&before),
        4.0,
        "3 selects and the COMMIT inside the transaction"
    );
    assert_eq!(locking(&after) - locking(&before), 1.0);
    assert_eq!(err_1146(&after) - err_1146(&before), 2.0);
    let h = |page: &str| {
        metric(
            page,
            "rwsplit_query_duration_seconds_count",
            &[("route", "reader")],
        )
    };
    assert_eq!(h(&after) - h(&before), 9.0);
    assert!(
        metric(&after, "rwsplit_bytes_sent_total", &[])
            > metric(&before, "rwsplit_bytes_sent_total", &[])
    );
    assert_eq!(metric(&after, "rwsplit_client_connections", &[]), 1.0);
    assert!(metric(&after, "rwsplit_connections_total", &[]) >= 1.0);
    // Labels never carry statement text.
    assert!(!after.contains("no_such_table"));
    // Auth failures are counted.
    let _ = mysql_async::Conn::new(opts(proxy.port, "app", "wrong", None)).await;
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    assert_eq!(metric(&page, "rwsplit_auth_failures_total", &[]), 1.0);
    // Health endpoints.
    assert_eq!(http_get(proxy.metrics_port, "/healthz").0, 200);
    assert_eq!(http_get(proxy.metrics_port, "/readyz").0, 200);
    let (status, json) = http_get(proxy.metrics_port, "/status");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["backends"].as_array().map(|a| a.len()), Some(3));
    assert_eq!(v["ready"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_interface_from_the_cli() {
    let proxy = Proxy::start(&[]);
    let mut c = app(&proxy).await;
    let _: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
    let backends = admin_cli(&proxy, "SHOW BACKENDS").unwrap();
    assert_eq!(backends.lines().count(), 3, "{backends}");
    assert!(backends.contains("writer") && backends.contains("reader"));
    let sessions = admin_cli(&proxy, "SHOW SESSIONS").unwrap();
    assert!(
        sessions.lines().any(|l| l.contains("\tapp\t")),
        "{sessions}"
    );
    let digests = admin_cli(&proxy, "SHOW QUERY DIGEST LIMIT 5").unwrap();
    assert!(digests.contains("SELECT @@SERVER_ID"), "{digests}");
    let config = admin_cli(&proxy, "SHOW CONFIG").unwrap();
    assert!(
        config.contains("[backends]") && !config.contains("password = \"app\""),
        "{config}"
    );
    assert!(admin_cli(&proxy, "SHOW NONSENSE").is_err());
    let err = admin_cli(
        &proxy,
        &format!("SET BACKEND '127.0.0.1:{}' OFFLINE", topology().primary),
    )
    .unwrap_err();
    assert!(err.contains("writer"), "{err}");
    // Wrong password refused.
    let out = std::process::Command::new("mariadb")
        .args([
            "-h127.0.0.1",
            &format!("-P{}", proxy.admin_port),
            "-uadmin",
            "-pnope",
            "-e",
            "SHOW BACKENDS",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_drains_a_reader_without_client_errors() {
    let proxy = Proxy::start(&["--policy", "round-robin", "--consistency", "eventual"]);
    let ids = server_ids().await;
    let drained = topology().replicas[0];
    let mut c = app(&proxy).await;
    // A read-only transaction on the reader to be drained finishes there.
    let mut tx_on_drained = None;
    for _ in 0..4 {
        c.query_drop("START TRANSACTION READ ONLY").await.unwrap();
        let id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
        if id == Some(ids[1]) {
            tx_on_drained = id;
            break;
        }
        c.query_drop("COMMIT").await.unwrap();
    }
    assert!(tx_on_drained.is_some());
    admin_cli(
        &proxy,
        &format!("SET BACKEND '127.0.0.1:{drained}' OFFLINE"),
    )
    .unwrap();
    proxy
        .wait_backend(drained, "drained (offline, not eligible)", |b| {
            b.is_some_and(|b| b["offline"] == true && b["eligible"] == false)
        })
        .await;
    let id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
    assert_eq!(id, Some(ids[1]), "the open transaction stays where it is");
    c.query_drop("COMMIT").await.unwrap();
    for _ in 0..10 {
        let id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
        assert_eq!(id, Some(ids[2]), "no new reads on the drained reader");
    }
    assert!(admin_cli(&proxy, "SHOW BACKENDS")
        .unwrap()
        .contains("offline"));
    admin_cli(&proxy, &format!("SET BACKEND '127.0.0.1:{drained}' ONLINE")).unwrap();
    proxy
        .wait_backend(drained, "back (online, eligible)", |b| {
            b.is_some_and(|b| b["offline"] == false && b["eligible"] == true)
        })
        .await;
    let mut back = false;
    for _ in 0..6 {
        let id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
        back |= id == Some(ids[1]);
    }
    assert!(back, "ONLINE puts it back");
}

fn write_config(path: &std::path::Path, readers: &[u16], extra: &str) {
    let t = topology();
    let list: Vec<String> = readers
        .iter()
        .map(|r| format!("\"127.0.0.1:{r}\""))
        .collect();
    std::fs::write(
        path,
        format!(
            "[backends]\nwriter = \"127.0.0.1:{}\"\nreaders = [{}]\n[[users]]\nname = \"app\"\npassword = \"app\"\n\
             [monitor]\nuser = \"monitor\"\npassword = \"monitor\"\ninterval_ms = 200\n[routing]\npolicy = \"round_robin\"\n{extra}",
            t.primary,
            list.join(", ")
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_the_reader_list_and_refuses_a_bad_config() {
    let t = topology();
    let ids = server_ids().await;
    let file = std::env::temp_dir().join(format!("rwsplit-reload-{}.toml", free_port()));
    write_config(&file, &[t.replicas[0]], "");
    let proxy = Proxy::start_with(&["--config".into(), file.display().to_string()]);
    let mut c = app(&proxy).await;
    let served = |ids: &mut std::collections::BTreeSet<u32>, id: Option<u32>| {
        ids.insert(id.unwrap_or(0));
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        served(
            &mut seen,
            c.query_first("SELECT @@server_id").await.unwrap(),
        );
    }
    assert_eq!(seen, [ids[1]].into());
    // Add the second reader; SIGHUP; the same session sees it.
    write_config(&file, &[t.replicas[0], t.replicas[1]], "");
    proxy.signal("-HUP");
    proxy
        .wait_backend(t.replicas[1], "added by the reload and eligible", |b| {
            b.is_some_and(|b| b["eligible"] == true)
        })
        .await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..8 {
        served(
            &mut seen,
            c.query_first("SELECT @@server_id").await.unwrap(),
        );
    }
    assert_eq!(
        seen,
        [ids[1], ids[2]].into(),
        "the reload took effect in an open session"
    );
    // A bad file is refused, with the reason, and the old configuration stays.
    std::fs::write(&file, "[backends]\nwriter = \"nope\"\n").unwrap();
    proxy.signal("-HUP");
    proxy.wait_log("configuration not reloaded").await;
    let err = admin_cli(&proxy, "RELOAD CONFIG").unwrap_err();
    assert!(err.contains("backends.writer"), "{err}");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..8 {
        served(
            &mut seen,
            c.query_first("SELECT @@server_id").await.unwrap(),
        );
    }
    assert_eq!(seen, [ids[1], ids[2]].into());
    // RELOAD CONFIG with a good file.
    write_config(&file, &[t.replicas[1]], "");
    admin_cli(&proxy, "RELOAD CONFIG").unwrap();
    proxy
        .wait_backend(t.replicas[0], "removed by the reload", |b| b.is_none())
        .await;
    proxy
        .wait_backend(t.replicas[1], "eligible", |b| {
            b.is_some_and(|b| b["eligible"] == true)
        })
        .await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        served(
            &mut seen,
            c.query_first("SELECT @@server_id").await.unwrap(),
        );
    }
    assert_eq!(seen, [ids[2]].into());
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_query_and_kill_connection_by_the_id_clients_see() {
    let proxy = Proxy::start(&[]);
    let mut victim = app(&proxy).await;
    let victim_id = victim.id();
    // Make sure the victim has a writer and a reader connection.
    let _: Option<u32> = victim.query_first("SELECT @@server_id").await.unwrap();
    let port = proxy.port;
    let sleeper = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let r: Result<Option<i64>, _> = victim
            .query_first("SELECT SLEEP(20) /* it_kill_query_victim */")
            .await;
        (started.elapsed(), r.map_err(|e| e.to_string()), victim)
    });
    wait_running(&topology().all(), "it_kill_query_victim").await;
    let mut killer = mysql_async::Conn::new(opts(port, "app", "app", None))
        .await
        .unwrap();
    killer
        .query_drop(format!("KILL QUERY {victim_id}"))
        .await
        .unwrap();
    let (elapsed, result, mut victim) = sleeper.await.unwrap();
    assert!(
        elapsed < Duration::from_secs(10),
        "KILL QUERY did not interrupt the statement ({elapsed:?})"
    );
    // SLEEP returns 1 when interrupted (or the statement fails with 1317).
    assert!(
        matches!(result.as_ref(), Ok(Some(1)))
            || result.as_ref().is_err_and(|e| e.contains("1317")),
        "{result:?}"
    );
    // The session survives KILL QUERY.
    let one: Option<i64> = victim.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    // KILL CONNECTION ends it.
    killer
        .query_drop(format!("KILL CONNECTION {victim_id}"))
        .await
        .unwrap();
    proxy.wait_session_gone(victim_id).await;
    assert!(
        victim.query_drop("SELECT 1").await.is_err(),
        "the killed session still answers"
    );
    // An id that is no session goes to the server (which knows no such thread).
    let err = killer.query_drop("KILL 999999").await.unwrap_err();
    assert!(err.to_string().contains("1094"), "{err}");
}

/// `server.nice`: as root (CI), rwsplit and every thread it started, the runtime's
/// included, run at the priority asked for; otherwise the log says why not and the
/// process runs on. Fails when the priority is not set, or not before the threads start.
#[tokio::test(flavor = "multi_thread")]
async fn server_nice_applies_to_every_thread_or_says_why_not() {
    let proxy = Proxy::start(&["--nice", "-7", "--log-level", "info"]);
    let db = fresh_db("it_nice").await;
    let mut c = app_db(&proxy, &db).await;
    let one: Option<i64> = c.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1), "rwsplit serves whatever its priority");
    let nices = proxy.thread_nices();
    assert!(
        nices.iter().any(|(n, _)| n.starts_with("tokio-rt")),
        "the runtime's threads are listed: {nices:?}"
    );
    // SAFETY: geteuid only returns a number.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        assert!(
            nices.iter().all(|&(_, n)| n == -7),
            "every thread at nice -7: {nices:?}"
        );
        assert!(proxy.log_text().contains("Set(-7)"), "{}", proxy.log_text());
    } else {
        assert!(
            proxy.log_text().contains("server.nice not applied"),
            "{}",
            proxy.log_text()
        );
    }
    // An out-of-range value is refused, naming the key.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .args([
            "--writer",
            "127.0.0.1:1",
            "--user",
            "a:b",
            "--nice",
            "20",
            "--check",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.nice"), "{err}");
}
