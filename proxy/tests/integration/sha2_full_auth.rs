//! caching_sha2_password's full authentication, rwsplit as the server
//! (`--auth-plugin caching_sha2_password --caching-sha2-full-auth`): real clients prove
//! their password in clear over TLS, or RSA-encrypted under rwsplit's public key without
//! TLS (fetched from rwsplit, or given to the client beforehand). A wrong password fails
//! with 1045 either way, and a cleartext password on a plain connection is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, SslOpts};

use crate::raw::{err_code, Raw};
use crate::support::*;

fn certs(name: &str) -> PathBuf {
    certs_dir(&format!("sha2-{name}"))
}

fn p(dir: &Path, f: &str) -> String {
    path_in(dir, f)
}

/// The public half of `dir/private` (PEM), written to `dir/out`.
fn public_key(dir: &Path, private: &str, out: &str) -> PathBuf {
    let path = dir.join(out);
    let done = Command::new("openssl")
        .args(["pkey", "-in", &p(dir, private), "-pubout", "-out"])
        .arg(&path)
        .output()
        .expect("openssl");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    path
}

fn full_auth_proxy(extra: &[&str]) -> Proxy {
    let mut args = vec![
        "--auth-plugin",
        "caching_sha2_password",
        "--caching-sha2-full-auth",
    ];
    args.extend_from_slice(extra);
    Proxy::start(&args)
}

fn full_auths(proxy: &Proxy, via: &str) -> f64 {
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    metric(
        &page,
        "rwsplit_caching_sha2_full_auth_total",
        &[("via", via)],
    )
}

async fn server_id(mut c: Conn) -> Option<u32> {
    let id = c.query_first("SELECT @@server_id").await.expect("a query");
    let _ = c.disconnect().await;
    id
}

fn pymysql(port: u16, password: &str, extra: &str) -> Result<String, String> {
    let script = format!(
        r#"
import sys, pymysql
c = pymysql.connect(host="127.0.0.1", port={port}, user="app", password="{password}"{extra})
cur = c.cursor()
cur.execute("SELECT 6 * 7")
print(cur.fetchone()[0])
"#
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_clients_pass_full_authentication_through_the_rsa_exchange() {
    let proxy = full_auth_proxy(&[]);

    // The greeting proposes caching_sha2_password and the scramble alone is not enough:
    // rwsplit asks for full authentication (0x01 0x04) instead of "fast auth OK".
    let (_, answers) = Raw::login(proxy.port, "app", "app", "caching_sha2_password");
    assert_eq!(
        answers.first().map(Vec::as_slice),
        Some(&[0x01u8, 0x04][..]),
        "{answers:?}"
    );

    // mysql_async asks for the public key and sends the password encrypted under it.
    let before = full_auths(&proxy, "rsa");
    let c = Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .expect("mysql_async logs in through the RSA exchange");
    assert!(server_id(c).await.is_some());
    assert_eq!(full_auths(&proxy, "rsa"), before + 1.0);
    let err = Conn::new(opts(proxy.port, "app", "wrong", None))
        .await
        .expect_err("a wrong password must fail");
    assert!(format!("{err:?}").contains("1045"), "{err:?}");

    // PyMySQL (with its cryptography package) does the same.
    assert_eq!(pymysql(proxy.port, "app", "").as_deref(), Ok("42"));
    let err = pymysql(proxy.port, "nope", "").expect_err("a wrong password must fail");
    assert!(err.contains("1045"), "{err}");

    // The mariadb CLI (Connector/C) does not ask for the key: on a plain connection it
    // sends the password in clear, which rwsplit refuses as a MySQL 8 server does.
    let out = app_cli(proxy.port, &["-N", "-e", "SELECT 'cli ok'"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("1045"), "{stderr}");
    assert!(full_auths(&proxy, "rsa") >= before + 4.0);

    // Other sessions are untouched by the failed logins.
    let mut c = app(&proxy).await;
    let one: Option<i64> = c.query_first("SELECT 1").await.expect("a query");
    assert_eq!(one, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_key_pair_serves_clients_that_hold_the_public_key() {
    let dir = certs("key");
    // Any RSA private key will do; the TLS test certificate's key is one (PKCS#8).
    let key = p(&dir, "server-key.pem");
    let public = public_key(&dir, "server-key.pem", "rsa-public.pem");
    let proxy = full_auth_proxy(&["--rsa-private-key", &key]);

    // PyMySQL given the public key sends the encrypted password without asking for it.
    let extra = format!(
        ", server_public_key=open(\"{}\", \"rb\").read()",
        public.display()
    );
    assert_eq!(pymysql(proxy.port, "app", &extra).as_deref(), Ok("42"));

    // A key that is not rwsplit's does not decrypt: access denied.
    let other = public_key(&dir, "ca-key.pem", "other-public.pem");
    let extra = format!(
        ", server_public_key=open(\"{}\", \"rb\").read()",
        other.display()
    );
    let err = pymysql(proxy.port, "app", &extra).expect_err("the wrong key must fail");
    assert!(err.contains("1045"), "{err}");

    // A client that sends its password in clear on a plain connection is refused.
    let (mut raw, answers) = Raw::login(proxy.port, "app", "app", "caching_sha2_password");
    assert_eq!(
        answers.first().map(Vec::as_slice),
        Some(&[0x01u8, 0x04][..])
    );
    let reply = raw.send_auth_data(b"app\0");
    assert_eq!(err_code(&reply), Some(1045), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_clients_pass_full_authentication_with_the_password_in_clear() {
    let dir = certs("tls");
    let ca = p(&dir, "ca.pem");
    let proxy = full_auth_proxy(&[
        "--tls-cert",
        &p(&dir, "server-cert.pem"),
        "--tls-key",
        &p(&dir, "server-key.pem"),
    ]);
    let tls = |pass: &str| {
        opts(proxy.port, "app", pass, None).ssl_opts(Some(
            SslOpts::default()
                .with_root_certs(vec![PathBuf::from(&ca).into()])
                .with_disable_built_in_roots(true),
        ))
    };
    let before = full_auths(&proxy, "tls");
    let c = Conn::new(tls("app")).await.expect("mysql_async over TLS");
    assert!(server_id(c).await.is_some());
    let err = Conn::new(tls("bad")).await.expect_err("wrong password");
    assert!(format!("{err:?}").contains("1045"), "{err:?}");

    let extra = format!(", ssl={{\"ca\": \"{ca}\"}}");
    assert_eq!(pymysql(proxy.port, "app", &extra).as_deref(), Ok("42"));

    let out = app_cli(
        proxy.port,
        &[
            "--ssl",
            &format!("--ssl-ca={ca}"),
            "-N",
            "-e",
            "SELECT 'tls ok'",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "tls ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(full_auths(&proxy, "tls") >= before + 4.0);
}

/// rwsplit as the client of a backend that demands caching_sha2_password full
/// authentication without TLS: the backend here is a second rwsplit in that mode (no
/// MySQL 8 runs on this machine), in front of the real MariaDB topology. The first
/// rwsplit's session and monitor connections fetch its public key and send the password
/// RSA-encrypted.
#[tokio::test(flavor = "multi_thread")]
async fn rwsplit_logs_in_to_a_backend_that_demands_the_rsa_exchange() {
    let inner = full_auth_proxy(&["--user", "monitor:monitor"]);
    let outer = Proxy::start_with(&[
        "--writer".into(),
        format!("127.0.0.1:{}", inner.port),
        "--user".into(),
        "app:app".into(),
        "--monitor-user".into(),
        "monitor:monitor".into(),
        "--monitor-interval".into(),
        "200".into(),
    ]);
    let before = full_auths(&inner, "rsa");
    let mut c = app(&outer).await;
    let v: Option<i64> = c.query_first("SELECT 20 + 22").await.expect("a query");
    assert_eq!(v, Some(42));
    c.query_drop("CREATE DATABASE IF NOT EXISTS it_sha2_chain")
        .await
        .expect("a write through both");
    assert!(full_auths(&inner, "rsa") > before);
    // The outer rwsplit's password for the backend is checked: a wrong one fails there.
    let file = std::env::temp_dir().join(format!("rwsplit-sha2-chain-{}.toml", inner.port));
    std::fs::write(
        &file,
        format!(
            "[backends]\nwriter = \"127.0.0.1:{}\"\n\n[[users]]\nname = \"app\"\n\
             password = \"app\"\nbackend_password = \"wrong\"\n",
            inner.port
        ),
    )
    .expect("config file");
    let wrong = Proxy::start_with(&["--config".into(), file.display().to_string()]);
    let err = match Conn::new(opts(wrong.port, "app", "app", None)).await {
        Ok(mut c) => c
            .query_drop("SELECT 1")
            .await
            .expect_err("the backend refuses"),
        Err(e) => e,
    };
    assert!(format!("{err:?}").contains("1045"), "{err:?}");
}
