//! The world the journeys run in: a MariaDB primary and two replicas with real replication
//! (one replica delayed by 1 s for the whole run), rwsplit in front of them (in this
//! process, on a thread of its own), and the bookstore on one DSN through rwsplit. Tests
//! that need rwsplits of their own (other flags) start more in front of the same backends.
//!
//! Each test logs in to rwsplit as a backend account of its own, so the backends' user
//! statistics count exactly that test's statements.
#![allow(dead_code)]

#[path = "../../../proxy/tests/common_topo/mod.rs"]
mod topo;
pub use topo::*;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Parser;

/// Accounts the tests log in to rwsplit (and rwsplit to the backends) with; password =
/// name.
pub const ACCOUNTS: &[&str] = &["journey", "split", "race", "browser", "cluster"];

/// How far the delayed replica is behind.
pub const DELAY_SECONDS: u32 = 1;

pub struct World {
    pub topo: Topo,
    pub proxy: SocketAddr,
}

/// The world shared by every test of this binary (torn down when the process exits).
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    // Warnings and errors of the app and rwsplit (RUST_LOG for more): a failing test shows
    // what went wrong behind the page it got.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(filter)
        .try_init();
    // Set up on a thread of its own: callers are inside a test's runtime.
    WORLD.get_or_init(|| {
        std::thread::spawn(make_world)
            .join()
            .expect("the world starts")
    })
}

fn make_world() -> World {
    {
        let topo = Topo::start(false);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            for a in ACCOUNTS {
                create_user_of(&topo, a).await;
            }
        });
        topo.script(&[
            "delay",
            &topo.replicas[1].to_string(),
            &DELAY_SECONDS.to_string(),
        ]);
        let proxy = start_rwsplit(&topo, &[]);
        World { topo, proxy }
    }
}

/// Another rwsplit in front of the world's backends, with the world's flags and `extra`
/// (e.g. `--consistency=cluster`; a flag of `extra` replaces the world's of that name); it
/// runs until the process exits.
pub fn another_rwsplit(extra: &[&str]) -> SocketAddr {
    start_rwsplit(&world().topo, extra)
}

/// rwsplit, as its binary would run with these flags and `extra` (which replace the flags
/// of their names), on a thread and runtime of its own (tests each have their own
/// runtime, which ends with the test).
fn start_rwsplit(topo: &Topo, extra: &[&str]) -> SocketAddr {
    let mut args = vec![
        "rwsplit".to_string(),
        "--listen=127.0.0.1:0".into(),
        "--metrics-listen=".into(),
        "--admin-listen=".into(),
        format!("--writer=127.0.0.1:{}", topo.primary),
        "--monitor-user=monitor:monitor".into(),
        "--monitor-interval=200".into(),
        // The delayed replica stays eligible for reads (its lag is under the bound), and
        // reads alternate between the replicas: only read-your-writes keeps pages fresh.
        format!("--max-replica-lag={}", DELAY_SECONDS * 1000 * 5),
        "--policy=round-robin".into(),
    ];
    for r in &topo.replicas {
        args.push(format!("--reader=127.0.0.1:{r}"));
    }
    for a in ACCOUNTS {
        args.push(format!("--user={a}:{a}"));
    }
    // A flag in `extra` replaces the world's flag of that name.
    let name = |f: &str| f.split('=').next().unwrap_or_default().to_string();
    let replaced: Vec<String> = extra.iter().map(|f| name(f)).collect();
    args.retain(|a| !replaced.contains(&name(a)));
    args.extend(extra.iter().map(|f| f.to_string()));
    let config = rwsplit::cli::Cli::try_parse_from(&args)
        .expect("rwsplit flags")
        .load()
        .expect("rwsplit config");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rwsplit runtime");
        rt.block_on(async move {
            let server = rwsplit::server::Server::bind(config)
                .await
                .expect("bind rwsplit");
            tx.send(server.local_addr().expect("address"))
                .expect("send address");
            server
                .run(std::future::pending::<()>())
                .await
                .expect("rwsplit serves");
        });
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("rwsplit started")
}

/// The DSN of `account`'s own bookstore database, through the world's rwsplit.
pub fn dsn(account: &str) -> String {
    dsn_via(world().proxy, account)
}

/// The DSN of `account`'s own bookstore database, through the rwsplit at `proxy`.
pub fn dsn_via(proxy: SocketAddr, account: &str) -> String {
    format!(
        "mysql://{account}:{account}@127.0.0.1:{}/bookstore_{account}",
        proxy.port()
    )
}

/// The bookstore, all services in this test's runtime, through the world's rwsplit; stops
/// with the test.
pub async fn monolith(account: &str) -> String {
    monolith_via(world().proxy, account).await
}

/// As `monolith`, through the rwsplit at `proxy` (its sidecar). Instances of one account
/// share the database, the JWT secret and so the logins: any of them serves any request.
pub async fn monolith_via(proxy: SocketAddr, account: &str) -> String {
    let mut config = bookstore_app::AppConfig::monolith(&dsn_via(proxy, account));
    config.jwt_secret = "journey-secret".into();
    let app = bookstore_app::build(config)
        .await
        .expect("bookstore starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(bookstore_app::serve(listener, app, std::future::pending()));
    base
}

/// The three services as three processes of the bookstore binary; killed when dropped.
pub struct Split {
    children: Vec<Child>,
    pub auth: String,
    pub catalog: String,
    pub orders: String,
}

impl Split {
    pub fn start(account: &str) -> Split {
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let urls: Vec<String> = ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        let mut children = Vec::new();
        for (i, service) in ["auth", "catalog", "orders"].iter().enumerate() {
            let log =
                std::env::temp_dir().join(format!("bookstore-split-{service}-{}.log", ports[i]));
            let child = Command::new(env!("CARGO_BIN_EXE_bookstore-app"))
                .args(["--services", service])
                .arg(format!("--listen=127.0.0.1:{}", ports[i]))
                .env("DATABASE_URL", dsn(account))
                .env("BOOKSTORE_AUTH_URL", &urls[0])
                .env("BOOKSTORE_CATALOG_URL", &urls[1])
                .env("BOOKSTORE_ORDERS_URL", &urls[2])
                .env("BOOKSTORE_JWT_SECRET", "split-secret")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log"))
                .spawn()
                .expect("start a bookstore service");
            children.push(child);
        }
        let split = Split {
            children,
            auth: urls[0].clone(),
            catalog: urls[1].clone(),
            orders: urls[2].clone(),
        };
        for p in ports {
            wait_http(p);
        }
        split
    }
}

impl Drop for Split {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_http(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("a bookstore service did not start on {port}");
}

/// SELECT statements `account` ran on the replicas, and on the primary.
pub async fn selects(account: &str) -> (u64, u64) {
    let w = world();
    let mut on_replicas = 0;
    for r in &w.topo.replicas {
        on_replicas += user_stats(*r, account)
            .await
            .get("select_commands")
            .copied()
            .unwrap_or(0);
    }
    let on_primary = user_stats(w.topo.primary, account)
        .await
        .get("select_commands")
        .copied()
        .unwrap_or(0);
    (on_replicas, on_primary)
}

/// A browser-like HTTP client: keeps cookies, follows redirects. It keeps no connection
/// open between requests, so behind the round-robin forwarder of `cluster.rs` every
/// request (a redirect's too) reaches the next app instance, as behind a load balancer
/// that balances requests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(page: &str) -> String {
    let at =
        page.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().unwrap_or_default().to_string()
}

/// A name no earlier run used.
pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}{}", n % 1_000_000_000)
}
