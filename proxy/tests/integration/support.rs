//! Test support: the topology shared by a test binary (common_topo), rwsplit processes
//! started from the built binary, and clients.
#![allow(dead_code)]

#[path = "../common_topo/mod.rs"]
mod topo;
pub use topo::*;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// The topology shared by every test of this binary.
pub fn topology() -> &'static Topo {
    static TOPO: OnceLock<Topo> = OnceLock::new();
    TOPO.get_or_init(|| Topo::start(false))
}

/// An rwsplit process; killed when dropped.
pub struct Proxy {
    child: Child,
    pub port: u16,
    pub metrics_port: u16,
    pub admin_port: u16,
    pub log: PathBuf,
}

impl Proxy {
    /// Starts rwsplit in front of the shared topology.
    pub fn start(extra: &[&str]) -> Proxy {
        Proxy::start_on(topology(), extra)
    }

    /// Starts rwsplit (static mode) in front of `t`.
    pub fn start_on(t: &Topo, extra: &[&str]) -> Proxy {
        let mut args: Vec<String> = vec![
            "--writer".into(),
            format!("127.0.0.1:{}", t.primary),
            "--user".into(),
            "app:app".into(),
            "--monitor-user".into(),
            "monitor:monitor".into(),
        ];
        if !extra.contains(&"--monitor-interval") {
            args.extend(["--monitor-interval".into(), "200".into()]);
        }
        for r in &t.replicas {
            args.push("--reader".into());
            args.push(format!("127.0.0.1:{r}"));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Proxy::start_with(&args)
    }

    /// Starts rwsplit in read_only mode over every server of `t` (the writer is the one
    /// with read_only = OFF), with `user` (password = name) and the monitor account;
    /// monitor interval 200 ms unless `extra` says.
    pub fn start_read_only(t: &Topo, user: &str, extra: &[&str]) -> Proxy {
        let mut args: Vec<String> = vec![
            "--mode".into(),
            "read-only".into(),
            "--user".into(),
            format!("{user}:{user}"),
            "--monitor-user".into(),
            "monitor:monitor".into(),
        ];
        if !extra.contains(&"--monitor-interval") {
            args.extend(["--monitor-interval".into(), "200".into()]);
        }
        for p in t.all() {
            args.push("--host".into());
            args.push(format!("127.0.0.1:{p}"));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Proxy::start_with(&args)
    }

    /// Starts rwsplit with exactly these arguments (plus --listen). A port another test
    /// took between the check and rwsplit's bind is retried on other ports.
    pub fn start_with(args: &[String]) -> Proxy {
        for _ in 0..4 {
            let mut p = Proxy::spawn(args);
            match p.wait_ready() {
                Ok(()) => return p,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("rwsplit did not start; log:\n{log}"),
            }
        }
        panic!("rwsplit did not start: its ports were taken four times");
    }

    fn spawn(args: &[String]) -> Proxy {
        let (port, metrics_port, admin_port) = (free_port(), free_port(), free_port());
        let log = std::env::temp_dir().join(format!("rwsplit-it-proxy-{port}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--metrics-listen")
            .arg(format!("127.0.0.1:{metrics_port}"))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{admin_port}"))
            .args(args)
            .env("RWSPLIT_LOG_LEVEL", "debug")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start rwsplit");
        Proxy {
            child,
            port,
            metrics_port,
            admin_port,
            log,
        }
    }

    /// Ok once rwsplit serves clients: its listener is up (`/readyz` no longer says it is
    /// not), which it is only after the monitor checked every backend once (or gave up
    /// waiting for one); Err(log) if the process exited or never got there.
    fn wait_ready(&mut self) -> Result<(), String> {
        // Ok(true): serving; Ok(false): exited.
        let started = poll(Duration::from_secs(15), || {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(false);
            }
            match try_http_get(self.metrics_port, "/readyz", Duration::from_secs(2)) {
                Some((200, _)) => Ok(true),
                Some((_, body)) if !body.contains("listener is not up") => Ok(true),
                Some((status, body)) => Err(format!("/readyz: {status} {body}")),
                None => Err("/readyz: no answer".to_string()),
            }
        });
        match started {
            // Another process could have answered on the metrics port: ours must be alive.
            Ok(true) if !matches!(self.child.try_wait(), Ok(Some(_))) => Ok(()),
            _ => Err(self.log_text()),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        poll(timeout, || match self.child.try_wait() {
            Ok(Some(st)) => Ok(st.code()),
            _ => Err(None::<String>),
        })
        .ok()
        .flatten()
    }

    /// `/status`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let (code, body) = http_get(self.metrics_port, "/status");
        assert_eq!(code, 200, "/status: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status is not JSON ({e}): {body}"))
    }

    /// The entry of `/status` for the backend on 127.0.0.1:`port`, if it is listed.
    pub fn backend_status(&self, port: u16) -> Option<serde_json::Value> {
        let addr = format!("127.0.0.1:{port}");
        self.status()["backends"]
            .as_array()?
            .iter()
            .find(|b| b["address"] == addr.as_str())
            .cloned()
    }

    /// Waits until `/status` shows the backend on 127.0.0.1:`port` as `what` says
    /// (`ok` is given its entry; None when it is not listed); panics naming `what`
    /// and with the last `/status` seen.
    pub async fn wait_backend(
        &self,
        port: u16,
        what: &str,
        ok: impl Fn(Option<&serde_json::Value>) -> bool,
    ) {
        wait_for_async(
            &format!("/status to show 127.0.0.1:{port} {what}"),
            Duration::from_secs(10),
            async || {
                let status = self.status();
                let addr = format!("127.0.0.1:{port}");
                let entry = status["backends"]
                    .as_array()
                    .and_then(|a| a.iter().find(|b| b["address"] == addr.as_str()));
                if ok(entry) {
                    Ok(())
                } else {
                    Err(status.to_string())
                }
            },
        )
        .await
    }

    /// `/metrics`.
    pub fn metrics(&self) -> String {
        let (code, page) = http_get(self.metrics_port, "/metrics");
        assert_eq!(code, 200, "/metrics: {page}");
        page
    }

    /// The ids of the client sessions the admin interface lists (SHOW SESSIONS).
    pub fn session_ids(&self) -> Vec<u32> {
        let out = admin_cli(self, "SHOW SESSIONS").expect("SHOW SESSIONS");
        out.lines()
            .filter_map(|l| l.split('\t').next()?.parse().ok())
            .collect()
    }

    /// Waits until session `id` is gone from SHOW SESSIONS.
    pub async fn wait_session_gone(&self, id: u32) {
        wait_for_async(
            &format!("session {id} to leave SHOW SESSIONS"),
            Duration::from_secs(10),
            async || {
                let ids = self.session_ids();
                if ids.contains(&id) {
                    Err(format!("sessions {ids:?}"))
                } else {
                    Ok(())
                }
            },
        )
        .await
    }

    /// Waits until rwsplit's log has a line containing `needle`.
    pub async fn wait_log(&self, needle: &str) {
        wait_for_async(
            &format!("rwsplit to log {needle:?}"),
            Duration::from_secs(10),
            async || {
                let log = self.log_text();
                if log.contains(needle) {
                    Ok(())
                } else {
                    Err(format!("log:\n{log}"))
                }
            },
        )
        .await
    }
}

/// How often the waits below look again.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// What a check of a wait returns: `true`, `Some(value)` or `Ok(value)` once what is
/// awaited holds; `false`, `None` or `Err(what was seen)` while it does not yet.
pub trait Outcome {
    type Value;
    fn into_result(self) -> Result<Self::Value, Option<String>>;
}

impl Outcome for bool {
    type Value = ();
    fn into_result(self) -> Result<(), Option<String>> {
        if self {
            Ok(())
        } else {
            Err(None)
        }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T> Outcome for Result<T, String> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.map_err(Some)
    }
}

impl<T> Outcome for Result<T, Option<String>> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self
    }
}

/// Runs `check` every 50 ms until it succeeds or `timeout` has passed: its value, or
/// what it last reported.
pub fn poll<O: Outcome>(
    timeout: Duration,
    mut check: impl FnMut() -> O,
) -> Result<O::Value, Option<String>> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().into_result() {
            Ok(v) => return Ok(v),
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// As `poll`, for a check that awaits (the test's runtime goes on between checks).
pub async fn poll_async<O: Outcome>(
    timeout: Duration,
    mut check: impl AsyncFnMut() -> O,
) -> Result<O::Value, Option<String>> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await.into_result() {
            Ok(v) => return Ok(v),
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

fn timed_out(what: &str, timeout: Duration, last: Option<String>) -> ! {
    match last {
        Some(last) => panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}"),
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Waits until `check` succeeds (see `Outcome`) and returns its value; after `timeout`
/// fails the test, saying that it waited for `what` and what it saw last.
pub fn wait_for<O: Outcome>(what: &str, timeout: Duration, check: impl FnMut() -> O) -> O::Value {
    poll(timeout, check).unwrap_or_else(|last| timed_out(what, timeout, last))
}

/// As `wait_for`, for a check that awaits.
pub async fn wait_for_async<O: Outcome>(
    what: &str,
    timeout: Duration,
    check: impl AsyncFnMut() -> O,
) -> O::Value {
    match poll_async(timeout, check).await {
        Ok(v) => v,
        Err(last) => timed_out(what, timeout, last),
    }
}

/// Waits until a statement whose text contains `marker` runs on one of `ports` (the
/// server's processlist shows it); returns that server's port.
pub async fn wait_running(ports: &[u16], marker: &str) -> u16 {
    wait_for_async(
        &format!("a statement with {marker:?} in a server's processlist"),
        Duration::from_secs(10),
        async || {
            for p in ports {
                let mut c = root(*p).await;
                let n: Option<u64> = c
                    .exec_first(
                        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                         WHERE INFO LIKE CONCAT('%', ?, '%') AND ID <> CONNECTION_ID()",
                        (marker,),
                    )
                    .await
                    .expect("processlist");
                let _ = c.disconnect().await;
                if n.unwrap_or(0) > 0 {
                    return Some(*p);
                }
            }
            None
        },
    )
    .await
}

impl Proxy {
    /// The nice value of each of the rwsplit process's threads (field 19 of
    /// /proc/PID/task/TID/stat), with the thread's name.
    pub fn thread_nices(&self) -> Vec<(String, i32)> {
        let dir = format!("/proc/{}/task", self.child.id());
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir)
            .expect("the task directory")
            .flatten()
        {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue; // a thread that just ended
            };
            let (name, rest) = match (stat.find('('), stat.rfind(')')) {
                (Some(a), Some(b)) => (stat[a + 1..b].to_string(), &stat[b + 1..]),
                _ => panic!("unexpected stat line: {stat}"),
            };
            // After the name: field 3 (state) onwards, so field 19 is the 17th.
            let nice = rest.split_whitespace().nth(16).and_then(|v| v.parse().ok());
            out.push((name, nice.expect("a nice value in the stat line")));
        }
        out
    }

    /// The rwsplit process's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection as the application through rwsplit.
pub async fn app(proxy: &Proxy) -> Conn {
    Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .expect("connect through rwsplit")
}

pub async fn app_db(proxy: &Proxy, db: &str) -> Conn {
    Conn::new(opts(proxy.port, "app", "app", Some(db)))
        .await
        .expect("connect through rwsplit")
}

/// `user_stats` of every backend, by port.
pub async fn all_stats(user: &str) -> HashMap<u16, HashMap<String, u64>> {
    let mut m = HashMap::new();
    for p in topology().all() {
        m.insert(p, user_stats(p, user).await);
    }
    m
}

/// How much `name` grew on `port` between two snapshots.
pub fn delta(
    before: &HashMap<u16, HashMap<String, u64>>,
    after: &HashMap<u16, HashMap<String, u64>>,
    port: u16,
    name: &str,
) -> u64 {
    let a = after[&port].get(name).copied().unwrap_or(0);
    let b = before[&port].get(name).copied().unwrap_or(0);
    a.saturating_sub(b)
}

/// A backend account of a test's own, with the application's privileges (so its user
/// statistics count only that test's traffic). Password = name.
pub async fn fresh_user(name: &str) -> String {
    create_user_of(topology(), name).await;
    name.to_string()
}

/// A connection through rwsplit as `user` (password = name).
pub async fn as_user(proxy: &Proxy, user: &str, db: Option<&str>) -> Conn {
    Conn::new(opts(proxy.port, user, user, db))
        .await
        .expect("connect through rwsplit")
}

/// The server ids of the topology: primary first.
pub async fn server_ids() -> Vec<u32> {
    server_ids_of(topology()).await
}

/// Waits until every replica has applied everything the primary has.
pub async fn sync_replicas() {
    sync_replicas_of(topology()).await
}

/// A database of the test's own (created on the primary, replicated).
pub async fn fresh_db(name: &str) -> String {
    let mut c = root(topology().primary).await;
    c.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .await
        .expect("drop");
    c.query_drop(format!("CREATE DATABASE `{name}`"))
        .await
        .expect("create");
    let _ = c.disconnect().await;
    sync_replicas().await;
    name.to_string()
}

/// A topology of its own ([`Topo::start`], stopped when dropped) with database `db`
/// holding `tables`, each `(id INT PRIMARY KEY)`, replicated to every replica.
pub async fn own_topo_with_tables(db: &str, tables: &[&str]) -> Topo {
    let t = Topo::start(true);
    let mut r = root(t.primary).await;
    r.query_drop(format!("CREATE DATABASE {db}")).await.unwrap();
    for table in tables {
        r.query_drop(format!("CREATE TABLE {db}.{table} (id INT PRIMARY KEY)"))
            .await
            .unwrap();
    }
    drop(r);
    sync_replicas_of(&t).await;
    t
}

/// Runs the mariadb CLI against the proxy; returns stdout (tab-separated, no headers).
pub fn mariadb_cli(port: u16, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("mariadb")
        .args([
            "-h127.0.0.1",
            &format!("-P{port}"),
            "-uapp",
            "-papp",
            "-N",
            "-B",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("mariadb CLI: {e}"))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .map_err(|e| e.to_string())?;
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs a Python script (PyMySQL) with the proxy's port as argv[1]; returns stdout.
pub fn python(port: u16, script: &str) -> String {
    python_args(script, &[&port.to_string()])
}

/// Runs a Python script with these arguments (argv[1], …); returns stdout. The script
/// must succeed.
pub fn python_args(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A plain HTTP GET on 127.0.0.1: (status, body).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect HTTP");
    http_request(s, path, Duration::from_secs(10))
}

/// A plain HTTP GET on 127.0.0.1: (status, body); None when nothing listens on `port` or
/// nothing answered within `timeout`.
pub fn try_http_get(port: u16, path: &str, timeout: Duration) -> Option<(u16, String)> {
    let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    Some(http_request(s, path, timeout)).filter(|(status, _)| *status != 0)
}

/// GET `path` on `s` (status 0: no answer).
fn http_request(mut s: TcpStream, path: &str, timeout: Duration) -> (u16, String) {
    use std::io::Read;
    s.set_read_timeout(Some(timeout)).ok();
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of one Prometheus sample (`name{labels}` exactly as exported, labels in
/// any order given as `k="v"` pairs); 0 when absent.
/// `rwsplit_consistency_waits_total` for one outcome on a metrics page.
pub fn consistency_waits(page: &str, outcome: &str) -> f64 {
    metric(
        page,
        "rwsplit_consistency_waits_total",
        &[("outcome", outcome)],
    )
}

pub fn metric(page: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(key, _)| {
            let (n, rest) = key.split_once('{').unwrap_or((key, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|(_, v)| v.parse::<f64>().ok())
        .sum()
}

/// Runs the mariadb CLI against the admin interface.
pub fn admin_cli(proxy: &Proxy, sql: &str) -> Result<String, String> {
    let out = Command::new("mariadb")
        .args([
            "-h127.0.0.1",
            &format!("-P{}", proxy.admin_port),
            "-uadmin",
            "-padmin",
            "-N",
            "-B",
            "-e",
            sql,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// In `dir`: a CA (`ca.pem`), a server certificate for 127.0.0.1 signed by it
/// (`server-cert.pem`, `server-key.pem`), and a second, unrelated CA (`other-ca.pem`),
/// made with openssl.
/// A fresh directory of test certificates (see `make_certs`), named after `name`.
pub fn certs_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rwsplit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    make_certs(&dir);
    dir
}

/// `dir/file` as a string (for command-line arguments).
pub fn path_in(dir: &std::path::Path, file: &str) -> String {
    dir.join(file).display().to_string()
}

/// The mariadb CLI through `port` as app:app, with more arguments.
pub fn app_cli(port: u16, args: &[&str]) -> std::process::Output {
    Command::new("mariadb")
        .args(["-h127.0.0.1", &format!("-P{port}"), "-uapp", "-papp"])
        .args(args)
        .output()
        .expect("mariadb CLI")
}

pub fn make_certs(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("cert dir");
    let script = r#"
set -e
ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$1-key.pem" -out "$1.pem" \
  -subj "/CN=rwsplit test $1" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign; }
ca ca
ca other-ca
openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
  -out server-cert.pem -extfile ext.cnf
chmod 644 *.pem
"#;
    let out = Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's openssl package)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
