//! Real clients through rwsplit: the mariadb CLI, PyMySQL, sysbench.

use std::process::Command;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_cli_reads_from_a_replica() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let out = mariadb_cli(proxy.port, &["-e", "select @@server_id"], None).expect("cli");
    let id: u32 = out.trim().parse().expect("a number");
    assert!(
        ids[1..].contains(&id),
        "answered by {id}, replicas are {:?}",
        &ids[1..]
    );
    // A script: transactions and reads.
    let db = fresh_db("it_cli").await;
    let script = format!(
        "USE `{db}`;\nCREATE TABLE t (id INT);\nBEGIN;\nINSERT INTO t VALUES (1);\nSELECT @@server_id;\nCOMMIT;\nSELECT COUNT(*) FROM t FOR UPDATE;\n"
    );
    let out = mariadb_cli(proxy.port, &[], Some(&script)).expect("cli script");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, vec![ids[0].to_string().as_str(), "1"], "{out}");
    // Wrong password: the CLI reports 1045.
    let err = std::process::Command::new("mariadb")
        .args([
            "-h127.0.0.1",
            &format!("-P{}", proxy.port),
            "-uapp",
            "-pnope",
            "-e",
            "select 1",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&err.stderr).contains("1045"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pymysql_works_unchanged() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_pymysql").await;
    let script = format!(
        r#"
import sys, pymysql
port = int(sys.argv[1])
c = pymysql.connect(host="127.0.0.1", port=port, user="app", password="app", database="{db}", autocommit=True, charset="utf8mb4")
cur = c.cursor()
cur.execute("CREATE TABLE p (id INT PRIMARY KEY AUTO_INCREMENT, s VARCHAR(20), b BLOB)")
cur.execute("INSERT INTO p (s, b) VALUES (%s, %s)", ("héllo 😀", bytes(range(256))))
print("insert_id", cur.lastrowid)
c.begin()
cur.execute("SELECT @@server_id")
print("in_tx", cur.fetchone()[0])
cur.execute("SELECT s, b FROM p")
row = cur.fetchone()
print("row_ok", row[0] == "héllo 😀" and row[1] == bytes(range(256)))
c.commit()
ids = set()
for _ in range(6):
    cur.execute("SELECT @@server_id")
    ids.add(cur.fetchone()[0])
print("reads", ",".join(str(i) for i in sorted(ids)))
c.autocommit(False)
cur.execute("SELECT @@server_id")
print("autocommit_off", cur.fetchone()[0])
c.rollback()
c.close()
"#
    );
    let out = python(proxy.port, &script);
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or_else(|| panic!("{k} missing in {out}"))
            .to_string()
    };
    assert_eq!(get("insert_id"), "1");
    assert_eq!(get("in_tx"), ids[0].to_string());
    assert_eq!(get("row_ok"), "True");
    let reads: Vec<u32> = get("reads")
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(reads.iter().all(|r| ids[1..].contains(r)), "{reads:?}");
    assert_eq!(get("autocommit_off"), ids[0].to_string());
}

fn sysbench(port: u16, user: &str, args: &[&str]) -> String {
    let out = Command::new("sysbench")
        .args([
            "--mysql-host=127.0.0.1",
            &format!("--mysql-port={port}"),
            &format!("--mysql-user={user}"),
            &format!("--mysql-password={user}"),
            "--mysql-db=sbtest",
            // Large tables and uniformly drawn ids (sysbench's default "special" draws
            // most ids from a small hot spot) keep lock conflicts between 4 threads rare.
            "--tables=4",
            "--table-size=25000",
            "--rand-type=uniform",
            // sysbench's default, written out: any other error fails the run.
            "--mysql-ignore-errors=1213,1020,1205",
            "--db-ps-mode=disable",
        ])
        .args(args)
        .output()
        .expect("sysbench");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sysbench {args:?} failed:\n{text}");
    text
}

fn stat(text: &str, key: &str) -> u64 {
    text.lines()
        .find(|l| l.trim_start().starts_with(key))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} not in sysbench output:\n{text}"))
}

/// sysbench oltp_read_write for 60 s without a single error; every statement on the
/// primary since it wraps them in transactions. With --skip_trx=on, reads go to replicas.
#[tokio::test(flavor = "multi_thread")]
async fn sysbench_read_write_for_60_seconds() {
    let user = fresh_user("it_sysbench").await;
    let proxy = Proxy::start(&["--user", "it_sysbench:it_sysbench"]);
    let t = topology();
    let mut rc = root(t.primary).await;
    use mysql_async::prelude::Queryable;
    rc.query_drop("DROP DATABASE IF EXISTS sbtest")
        .await
        .unwrap();
    rc.query_drop("CREATE DATABASE sbtest").await.unwrap();
    sysbench(proxy.port, &user, &["oltp_read_write", "prepare"]);
    sync_replicas().await;
    let before = all_stats(&user).await;
    let out = sysbench(
        proxy.port,
        &user,
        &["oltp_read_write", "--threads=4", "--time=60", "run"],
    );
    let after = all_stats(&user).await;
    // sysbench fails on any error except the ones InnoDB itself raises between concurrent
    // transactions (1213 deadlock, 1205 lock wait timeout, 1020 record changed), which it
    // counts as "ignored" and retries. The server raises those without rwsplit too, rarely:
    // allow one per thousand transactions, no more.
    let transactions = stat(&out, "transactions");
    assert!(transactions > 100, "{out}");
    assert!(
        stat(&out, "ignored errors") * 1000 <= transactions,
        "too many deadlocks or lock wait timeouts:\n{out}"
    );
    for r in &t.replicas {
        assert_eq!(
            delta(&before, &after, *r, "select_commands"),
            0,
            "a transactional read reached replica {r}"
        );
    }
    assert!(delta(&before, &after, t.primary, "select_commands") > 1000);

    let before = all_stats(&user).await;
    let out = sysbench(
        proxy.port,
        &user,
        &[
            "oltp_read_write",
            // One thread: without transactions, two threads may DELETE and re-INSERT the
            // same random id at once and collide (1062), through rwsplit or not.
            "--threads=1",
            "--time=10",
            "--skip_trx=on",
            "run",
        ],
    );
    let after = all_stats(&user).await;
    assert_eq!(stat(&out, "ignored errors"), 0, "{out}");
    let on_replicas: u64 = t
        .replicas
        .iter()
        .map(|r| delta(&before, &after, *r, "select_commands"))
        .sum();
    assert!(
        on_replicas > 1000,
        "reads were not served by replicas: {on_replicas}"
    );
    for r in &t.replicas {
        for k in ["update_commands", "rows_inserted", "rows_deleted"] {
            assert_eq!(delta(&before, &after, *r, k), 0, "{k} on replica {r}");
        }
    }
}

/// PyMySQL's `test_connection_gone_away`: a client that set a short `wait_timeout` and
/// stayed idle past it finds its connection gone (2006/2013), through rwsplit as directly;
/// one idle for less than its `wait_timeout` goes on.
#[test]
fn an_idle_client_past_its_own_wait_timeout_is_disconnected_as_by_the_server() {
    let proxy = Proxy::start(&[]);
    let script = r#"
import sys, time, pymysql
port, user, wait, idle = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
c = pymysql.connect(host='127.0.0.1', port=port, user=user, password=user if user != 'root' else '')
cur = c.cursor()
cur.execute("SET wait_timeout=" + wait)
cur.execute("SELECT @@session.wait_timeout")
print("set", cur.fetchone()[0])
# Staying idle for this long is what is tested (against the session's wait_timeout).
time.sleep(idle)
try:
    cur.execute("SELECT 1")
    print("answered", cur.fetchone()[0])
except pymysql.err.OperationalError as e:
    print("gone", e.args[0])
"#;
    let run = |port: u16, user: &str, wait: &str, idle: &str| {
        python_args(script, &[&port.to_string(), user, wait, idle])
    };
    let gone = |out: &str| out.contains("gone 2006") || out.contains("gone 2013");
    // Directly, the server closes it.
    let direct = run(topology().primary, "root", "1", "2.5");
    assert!(gone(&direct), "directly: {direct}");
    // Through rwsplit, the same.
    let through = run(proxy.port, "app", "1", "2.5");
    assert!(
        through.contains("set 1") && gone(&through),
        "through rwsplit: {through}"
    );
    // Idle for less than its wait_timeout: it goes on.
    let through = run(proxy.port, "app", "5", "1.5");
    assert!(through.contains("answered 1"), "through rwsplit: {through}");
    let page = http_get(proxy.metrics_port, "/metrics").1;
    assert!(metric(&page, "rwsplit_idle_timeouts_total", &[]) >= 1.0);
}
