//! TLS from rwsplit to the backends (`backends.tls`), against MariaDB servers with
//! certificates of a CA made for the test, whose `app` and `monitor` accounts REQUIRE SSL:
//! sessions and the monitor reach every server over TLS; verify-identity and verify-ca
//! check what they promise; without TLS the servers refuse rwsplit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::support::*;

fn path(dir: &Path, f: &str) -> String {
    dir.join(f).display().to_string()
}

async fn ssl_version(c: &mut Conn, hint: &str) -> String {
    let row: Option<(String, String)> = c
        .query_first(format!(
            "/* rwsplit:{hint} */ SHOW SESSION STATUS LIKE 'Ssl_version'"
        ))
        .await
        .expect("Ssl_version");
    row.map(|r| r.1).unwrap_or_default()
}

/// Waits until the monitor reports `n` readers up.
fn wait_readers_up(proxy: &Proxy, n: f64) {
    wait_for(
        &format!("the monitor to report {n} readers up"),
        Duration::from_secs(10),
        || {
            let up = metric(
                &proxy.metrics(),
                "rwsplit_backend_up",
                &[("role", "reader")],
            );
            if up == n {
                Ok(())
            } else {
                Err(format!("{up} readers up:\n{}", proxy.log_text()))
            }
        },
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_and_the_monitor_reach_the_backends_over_verified_tls() {
    let dir: PathBuf = std::env::temp_dir().join(format!("rwsplit-tls-{}", std::process::id()));
    make_certs(&dir);
    let t = Topo::start_with_server_args(
        true,
        &format!(
            "--ssl-ca={} --ssl-cert={} --ssl-key={} --bind-address=127.0.0.1,127.0.0.2",
            path(&dir, "ca.pem"),
            path(&dir, "server-cert.pem"),
            path(&dir, "server-key.pem")
        ),
    );
    let mut p = root(t.primary).await;
    p.query_drop("ALTER USER 'app'@'%' REQUIRE SSL; ALTER USER 'monitor'@'%' REQUIRE SSL")
        .await
        .expect("require TLS");
    drop(p);
    sync_replicas_of(&t).await;

    // verify-identity with the right CA: the writer's and the readers' connections are
    // TLS, and the monitor (which must use TLS too) sees both readers.
    let ca = path(&dir, "ca.pem");
    let proxy = Proxy::start_on(
        &t,
        &["--backend-tls", "verify-identity", "--backend-ca-file", &ca],
    );
    wait_readers_up(&proxy, 2.0);
    let mut c = Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .expect("log in through rwsplit");
    for hint in ["writer", "reader"] {
        let v = ssl_version(&mut c, hint).await;
        assert!(v.starts_with("TLS"), "{hint}: Ssl_version '{v}'");
    }
    c.query_drop("CREATE DATABASE IF NOT EXISTS tlsdb; CREATE TABLE IF NOT EXISTS tlsdb.t (id INT PRIMARY KEY)")
        .await
        .expect("DDL");
    c.query_drop("INSERT INTO tlsdb.t VALUES (1)")
        .await
        .expect("a write over TLS");
    let n: Option<i64> = c
        .query_first("SELECT COUNT(*) FROM tlsdb.t")
        .await
        .expect("a read over TLS");
    assert_eq!(n, Some(1));
    drop(c);
    drop(proxy);

    // Without TLS the servers refuse the accounts: the client hears the server's 1045.
    let proxy = Proxy::start_on(&t, &[]);
    let err = Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .map(|_| ())
        .expect_err("REQUIRE SSL");
    assert!(err.to_string().contains("1045"), "{err}");
    drop(proxy);

    // A CA that did not sign the servers' certificates: no connection, a clear error.
    let other = path(&dir, "other-ca.pem");
    let proxy = Proxy::start_on(
        &t,
        &["--backend-tls", "verify-ca", "--backend-ca-file", &other],
    );
    let err = match Conn::new(opts(proxy.port, "app", "app", None)).await {
        Ok(mut c) => c
            .query_drop("/* rwsplit:writer */ SELECT 1")
            .await
            .expect_err("an unknown issuer"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("TLS"), "{err}");
    drop(proxy);

    // The certificate names 127.0.0.1: reached as 127.0.0.2, verify-ca accepts it and
    // verify-identity does not.
    let args = |mode: &'static str| -> Vec<String> {
        vec![
            "--writer".into(),
            format!("127.0.0.2:{}", t.primary),
            "--user".into(),
            "app:app".into(),
            "--monitor-user".into(),
            "monitor:monitor".into(),
            "--backend-tls".into(),
            mode.into(),
            "--backend-ca-file".into(),
            ca.clone(),
        ]
    };
    let proxy = Proxy::start_with(&args("verify-ca"));
    let mut c = Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .expect("verify-ca ignores the name");
    assert!(ssl_version(&mut c, "writer").await.starts_with("TLS"));
    drop(c);
    drop(proxy);
    let proxy = Proxy::start_with(&args("verify-identity"));
    let err = match Conn::new(opts(proxy.port, "app", "app", None)).await {
        Ok(mut c) => c
            .query_drop("/* rwsplit:writer */ SELECT 1")
            .await
            .expect_err("the name does not match"),
        Err(e) => e,
    };
    assert!(
        err.to_string().contains("TLS") || err.to_string().contains("not valid for name"),
        "{err}"
    );
    drop(proxy);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verify_modes_need_a_readable_ca_file_and_check_names_the_key() {
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rwsplit"))
            .args(["--writer", "127.0.0.1:1", "--user", "a:b", "--check"])
            .args(extra)
            .output()
            .expect("rwsplit")
    };
    let out = run(&["--backend-tls", "verify-identity"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("backends.ca_file"));
    let out = run(&[
        "--backend-tls",
        "verify-ca",
        "--backend-ca-file",
        "/nonexistent/ca.pem",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("backends.ca_file") && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );
    let out = run(&["--backend-tls", "required"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
