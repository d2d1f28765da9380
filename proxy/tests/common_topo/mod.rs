//! MariaDB topologies for tests: a primary and two replicas started with
//! scripts/topology.sh on ports and datadirs of their own, torn down when dropped (private)
//! or when the test process exits (shared). Used by rwsplit's integration tests and the
//! bookstore's.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

/// The workspace root (every crate of the workspace sits one level below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate has a parent")
        .to_path_buf()
}

/// A running primary + replicas.
pub struct Topo {
    pub dir: PathBuf,
    pub primary: u16,
    pub replicas: Vec<u16>,
    /// Torn down on drop (private topologies).
    owned: bool,
    /// More mariadbd options (RWSPLIT_TOPO_SERVER_ARGS).
    server_args: String,
}

impl Drop for Topo {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new("bash")
                .arg(repo_root().join("scripts/topology.sh"))
                .arg("down")
                .env("RWSPLIT_TOPO_DIR", &self.dir)
                .env("RWSPLIT_TOPO_PORT", self.primary.to_string())
                .output();
        }
    }
}

impl Topo {
    /// Starts a topology of its own (ports and datadirs), torn down when dropped or when
    /// this process ends.
    pub fn start(owned: bool) -> Topo {
        Topo::start_with_server_args(owned, "")
    }

    /// As `start`, with more mariadbd options for every server (space-separated).
    pub fn start_with_server_args(owned: bool, server_args: &str) -> Topo {
        let base = free_port_block(3);
        let dir = std::env::temp_dir().join(format!("rwsplit-it-{}-{base}", std::process::id()));
        let topo = Topo {
            dir,
            primary: base,
            replicas: vec![base + 1, base + 2],
            owned,
            server_args: server_args.to_string(),
        };
        // Tear down when this test process is gone (its exit is all we can hook).
        let watchdog = format!(
            "while [ -e /proc/{pid} ] && ! grep -q '^State:.*Z' /proc/{pid}/status 2>/dev/null; do sleep 1; done; \
             RWSPLIT_TOPO_DIR='{dir}' RWSPLIT_TOPO_PORT={port} bash '{script}' down >/dev/null 2>&1",
            pid = std::process::id(),
            dir = topo.dir.display(),
            port = topo.primary,
            script = repo_root().join("scripts/topology.sh").display()
        );
        // setsid --fork returns at once; the watchdog lives on in its own session.
        Command::new("setsid")
            .args(["--fork", "bash", "-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("start watchdog");
        topo.script(&["up"]);
        topo
    }

    pub fn all(&self) -> Vec<u16> {
        let mut v = vec![self.primary];
        v.extend(&self.replicas);
        v
    }

    /// Runs scripts/topology.sh with this topology's environment.
    pub fn script(&self, args: &[&str]) -> String {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/topology.sh"))
            .args(args)
            .env("RWSPLIT_TOPO_DIR", &self.dir)
            .env("RWSPLIT_TOPO_PORT", self.primary.to_string())
            .env("RWSPLIT_TOPO_SERVER_ARGS", &self.server_args)
            .output()
            .expect("run topology.sh");
        assert!(
            out.status.success(),
            "topology.sh {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Consecutive free ports (each call in this process gets a different block).
fn free_port_block(n: u16) -> u16 {
    static CALLS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = (std::process::id() as u16).wrapping_add(call.wrapping_mul(997));
    for i in 0..500u16 {
        // Below the ephemeral range (32768+), where proxies' ports come from.
        let base = 20_000 + (seed.wrapping_mul(7).wrapping_add(i * 13)) % 12_000;
        if (0..n + 20).all(|k| TcpListener::bind(("127.0.0.1", base + k)).is_ok()) {
            return base;
        }
    }
    panic!("no free port block");
}

/// A free port for a proxy: from 10000-19999, below both the topologies' blocks and the
/// ephemeral range, so an outgoing connection cannot take it between this check and the
/// proxy's bind (each call in this process tries a different port first).
pub fn free_port() -> u16 {
    static CALLS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = (std::process::id() as u16)
        .wrapping_mul(31)
        .wrapping_add(call.wrapping_mul(101));
    for i in 0..2000u16 {
        let port = 10_000 + seed.wrapping_add(i.wrapping_mul(7)) % 10_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

pub fn opts(port: u16, user: &str, pass: &str, db: Option<&str>) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(pass))
        .db_name(db)
        .prefer_socket(false)
}

/// A root connection straight to a backend.
pub async fn root(port: u16) -> Conn {
    Conn::new(opts(port, "root", "", None))
        .await
        .expect("connect to backend as root")
}

/// The replica of `t` that received the most of the primary's binlog (the highest
/// sequence number in its `Gtid_IO_Pos`): the one to promote when the primary is gone.
pub async fn most_advanced_replica(t: &Topo) -> u16 {
    let mut best = (t.replicas[0], 0u64);
    for r in &t.replicas {
        let mut c = root(*r).await;
        let st: Option<mysql_async::Row> = c.query_first("SHOW SLAVE STATUS").await.unwrap();
        let io: String = st
            .and_then(|row| row.get_opt::<String, _>("Gtid_IO_Pos").and_then(Result::ok))
            .unwrap_or_default();
        let seq: u64 = io
            .split(',')
            .filter_map(|g| g.rsplit('-').next()?.parse().ok())
            .max()
            .unwrap_or(0);
        if seq >= best.1 {
            best = (*r, seq);
        }
    }
    best.0
}

/// What one account did on one backend (MariaDB's user statistics): select_commands,
/// update_commands (INSERT/UPDATE/DELETE…), other_commands, rows_inserted, … The
/// replication applier and the monitor run as other accounts, so these count exactly
/// what arrived through that account.
pub async fn user_stats(port: u16, user: &str) -> HashMap<String, u64> {
    let mut c = root(port).await;
    let row: Option<mysql_async::Row> = c
        .exec_first(
            "SELECT SELECT_COMMANDS, UPDATE_COMMANDS, OTHER_COMMANDS, ROWS_INSERTED, ROWS_UPDATED, \
             ROWS_DELETED, COMMIT_TRANSACTIONS FROM information_schema.USER_STATISTICS WHERE USER = ?",
            (user,),
        )
        .await
        .expect("user statistics");
    let _ = c.disconnect().await;
    let names = [
        "select_commands",
        "update_commands",
        "other_commands",
        "rows_inserted",
        "rows_updated",
        "rows_deleted",
        "commit_transactions",
    ];
    let mut m = HashMap::new();
    if let Some(row) = row {
        for (i, n) in names.iter().enumerate() {
            let v: Option<u64> = row.get(i);
            m.insert(n.to_string(), v.unwrap_or(0));
        }
    }
    m
}

pub async fn server_ids_of(t: &Topo) -> Vec<u32> {
    let mut ids = Vec::new();
    for p in t.all() {
        let mut c = root(p).await;
        let id: Option<u32> = c.query_first("SELECT @@server_id").await.expect("id");
        ids.push(id.unwrap_or(0));
        let _ = c.disconnect().await;
    }
    ids
}

pub async fn sync_replicas_of(t: &Topo) {
    let mut p = root(t.primary).await;
    let pos: Option<String> = p
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .expect("pos");
    let pos = pos.unwrap_or_default();
    for r in &t.replicas {
        let mut c = root(*r).await;
        let res: Option<i64> = c
            .exec_first("SELECT MASTER_GTID_WAIT(?, 10)", (pos.clone(),))
            .await
            .expect("wait");
        assert_eq!(res, Some(0), "replica {r} did not catch up to {pos}");
        let _ = c.disconnect().await;
    }
}

/// Creates (or re-creates) backend account `name` (password = name) with the
/// application's privileges and no SUPER or READ_ONLY ADMIN (so read_only replicas refuse
/// its writes), and waits until the replicas have it.
pub async fn create_user_of(t: &Topo, name: &str) {
    let mut c = root(t.primary).await;
    for q in [
        format!("DROP USER IF EXISTS '{name}'@'%'"),
        format!("CREATE USER '{name}'@'%' IDENTIFIED BY '{name}'"),
        format!("GRANT ALL PRIVILEGES ON *.* TO '{name}'@'%'"),
        format!("REVOKE READ_ONLY ADMIN, SUPER ON *.* FROM '{name}'@'%'"),
    ] {
        c.query_drop(q).await.expect("create user");
    }
    let _ = c.disconnect().await;
    sync_replicas_of(t).await;
}
