//! TLS between clients and rwsplit (`server.tls_cert_file`), with a CA made at test time:
//! mysql_async, the mariadb CLI and PyMySQL upgrade in the handshake and verify rwsplit's
//! certificate; `require_tls` refuses plain clients (3159, or 1045 per user); a renewed
//! certificate is served after a reload. Also the handshake and idle timeouts.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, SslOpts};

use crate::support::*;

fn certs(name: &str) -> PathBuf {
    certs_dir(&format!("ctls-{name}"))
}

fn p(dir: &Path, f: &str) -> String {
    path_in(dir, f)
}

fn tls_args(dir: &Path) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        p(dir, "server-cert.pem"),
        "--tls-key".into(),
        p(dir, "server-key.pem"),
    ]
}

fn start(extra: &[String]) -> Proxy {
    let e: Vec<&str> = extra.iter().map(String::as_str).collect();
    Proxy::start(&e)
}

fn tls_opts(port: u16, ca: &str) -> mysql_async::OptsBuilder {
    opts(port, "app", "app", None).ssl_opts(Some(
        SslOpts::default()
            .with_root_certs(vec![PathBuf::from(ca).into()])
            .with_disable_built_in_roots(true),
    ))
}

fn cli(proxy: &Proxy, args: &[&str]) -> std::process::Output {
    Command::new("mariadb")
        .args([
            "-h127.0.0.1",
            &format!("-P{}", proxy.port),
            "-uapp",
            "-papp",
        ])
        .args(args)
        .output()
        .expect("mariadb CLI")
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_log_in_over_tls_and_plain_clients_are_refused_when_tls_is_required() {
    let dir = certs("req");
    let ca = p(&dir, "ca.pem");
    let mut args = tls_args(&dir);
    args.push("--require-tls".into());
    let proxy = start(&args);

    // mysql_async, verifying the certificate (name 127.0.0.1, the test CA).
    let mut c = Conn::new(tls_opts(proxy.port, &ca))
        .await
        .expect("mysql_async over TLS");
    let id: Option<u32> = c.query_first("SELECT @@server_id").await.expect("a read");
    assert!(id.is_some());
    c.query_drop("CREATE DATABASE IF NOT EXISTS it_ctls")
        .await
        .expect("a write over TLS");
    drop(c);

    // A plain client: the server's require_secure_transport answer.
    let err = Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .map(|_| ())
        .expect_err("TLS is required");
    assert!(format!("{err:?}").contains("3159"), "{err:?}");

    // A client trusting another CA gives up on the certificate.
    let other = p(&dir, "other-ca.pem");
    assert!(Conn::new(tls_opts(proxy.port, &other)).await.is_err());

    // The mariadb CLI, verifying the certificate; `status` names the cipher.
    let out = cli(
        &proxy,
        &[
            "--ssl",
            &format!("--ssl-ca={ca}"),
            "--ssl-verify-server-cert",
            "-e",
            "status",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Cipher in use is"), "{text}");
    let out = cli(&proxy, &["--skip-ssl", "-e", "SELECT 1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3159"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // PyMySQL with ssl={"ca": …} (it checks the certificate and the host name).
    let script = format!(
        r#"
import pymysql
c = pymysql.connect(host="127.0.0.1", port={port}, user="app", password="app", ssl={{"ca": "{ca}"}})
cur = c.cursor()
cur.execute("SELECT 1")
print(cur.fetchone()[0], c._sock.version())
"#,
        port = proxy.port
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("1 TLSv1."), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_is_optional_unless_a_user_requires_it_and_a_renewed_certificate_is_served_after_reload(
) {
    let dir = certs("reload");
    let ca = p(&dir, "ca.pem");
    let file = dir.join("rwsplit.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n\n\
             [[users]]\nname = \"app\"\npassword = \"app\"\n\n\
             [[users]]\nname = \"tlsonly\"\npassword = \"app\"\nbackend_user = \"app\"\nrequire_tls = true\n",
            p(&dir, "server-cert.pem"),
            p(&dir, "server-key.pem")
        ),
    )
    .expect("config");
    let proxy = Proxy::start(&["--config", file.to_str().expect("path")]);

    // Optional: plain and TLS clients alike.
    let mut c = Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .expect("plain");
    c.query_drop("SELECT 1").await.expect("plain query");
    let mut c = Conn::new(tls_opts(proxy.port, &ca)).await.expect("TLS");
    c.query_drop("SELECT 1").await.expect("TLS query");

    // A user with require_tls: 1045 in plain, welcome over TLS.
    let err = Conn::new(opts(proxy.port, "tlsonly", "app", None))
        .await
        .map(|_| ())
        .expect_err("require_tls");
    assert!(format!("{err:?}").contains("1045"), "{err:?}");
    let tls_user = opts(proxy.port, "tlsonly", "app", None).ssl_opts(Some(
        SslOpts::default()
            .with_root_certs(vec![PathBuf::from(&ca).into()])
            .with_disable_built_in_roots(true),
    ));
    let mut c = Conn::new(tls_user)
        .await
        .expect("require_tls user over TLS");
    c.query_drop("SELECT 1").await.expect("query");

    // Renew the certificate in place; after SIGHUP new connections get the new one.
    let subject = || {
        let out = Command::new("bash")
            .args([
                "-c",
                &format!(
                    "openssl s_client -starttls mysql -connect 127.0.0.1:{} </dev/null 2>/dev/null \
                     | openssl x509 -noout -subject",
                    proxy.port
                ),
            ])
            .output()
            .expect("openssl s_client");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(subject().contains("CN = 127.0.0.1"), "{}", subject());
    let renew =
        "openssl req -newkey rsa:2048 -nodes -keyout new-key.pem -out new.csr -subj /CN=renewed \
         && openssl x509 -req -in new.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
            -out new-cert.pem -extfile ext.cnf \
         && mv new-cert.pem server-cert.pem && mv new-key.pem server-key.pem";
    let out = Command::new("bash")
        .args(["-c", renew])
        .current_dir(&dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        subject().contains("CN = 127.0.0.1"),
        "still the old one before the reload"
    );
    proxy.signal("-HUP");
    wait_for_async(
        "the renewed certificate after SIGHUP",
        Duration::from_secs(5),
        async || {
            let s = subject();
            if s.contains("CN = renewed") {
                Ok(())
            } else {
                Err(s)
            }
        },
    )
    .await;
    // Open sessions carry on.
    c.query_drop("SELECT 1").await.expect("an open session");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_or_slow_client_is_cut_off_at_the_handshake_timeout() {
    let proxy = Proxy::start(&["--handshake-timeout", "500"]);
    // One says nothing after the greeting, one sends half a packet header.
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
    slow.write_all(&[0x40, 0x00]).expect("two bytes");
    let started = Instant::now();
    for s in [&mut silent, &mut slow] {
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = vec![0u8; 4096];
        let mut total = 0usize;
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) => panic!("not closed by rwsplit: {e}"),
            }
        }
        assert!(total > 0, "the greeting came first");
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // Others are served throughout.
    let mut c = app(&proxy).await;
    c.query_drop("SELECT 1").await.expect("served");
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    assert!(metric(&page, "rwsplit_handshake_timeouts_total", &[]) >= 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_client_is_disconnected_after_the_idle_timeout() {
    let proxy = Proxy::start(&["--client-idle-timeout", "1000"]);
    let mut busy = app(&proxy).await;
    let mut idle = app(&proxy).await;
    idle.query_drop("SELECT 1").await.expect("first query");
    let silent_since = std::time::Instant::now();
    while silent_since.elapsed() < Duration::from_millis(1600) {
        // The idle timeout is what is tested: 150 ms gaps keep `busy` well under it (a
        // loaded machine may stall a gap by hundreds of ms) while `idle` stays silent
        // past it.
        tokio::time::sleep(Duration::from_millis(150)).await;
        busy.query_drop("SELECT 1")
            .await
            .expect("a busy client stays");
    }
    assert!(
        idle.query_drop("SELECT 1").await.is_err(),
        "the idle client was not disconnected"
    );
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    assert!(metric(&page, "rwsplit_idle_timeouts_total", &[]) >= 1.0);
}
