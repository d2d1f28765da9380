//! The listener: accepts clients, caps how many are served at once, and stops on a
//! shutdown signal, letting sessions finish their transactions first.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::backend::{BackendConn, ConnectParams};
use crate::config::Config;
use crate::protocol::handshake::ServerInfo;
use crate::shared::Shared;

/// A bound, not yet running, proxy.
pub struct Server {
    pub shared: Arc<Shared>,
    listener: TcpListener,
    metrics: Option<TcpListener>,
    admin: Option<TcpListener>,
    prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// A listener that could not be bound, and which.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ({what}): {source}")]
pub struct BindError {
    pub what: &'static str,
    pub addr: String,
    pub source: std::io::Error,
}

async fn bind_one(what: &'static str, addr: &str) -> Result<Option<TcpListener>, BindError> {
    if addr.is_empty() {
        return Ok(None);
    }
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|source| BindError {
            what,
            addr: addr.to_string(),
            source,
        })
}

impl Server {
    /// Binds the client listener, and the metrics and admin listeners when configured.
    pub async fn bind(config: Config) -> Result<Server, BindError> {
        let listener = bind_one("clients", &config.server.listen)
            .await?
            .ok_or_else(|| BindError {
                what: "clients",
                addr: String::new(),
                source: std::io::ErrorKind::InvalidInput.into(),
            })?;
        let metrics = bind_one("metrics", &config.server.metrics_listen).await?;
        let admin = bind_one("admin", &config.admin.listen).await?;
        Ok(Server {
            shared: Shared::new(config),
            listener,
            metrics,
            admin,
            prometheus: None,
        })
    }

    /// Serves /metrics from this recorder's handle.
    pub fn with_prometheus(
        mut self,
        handle: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Self {
        self.prometheus = handle;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then drains (up to `server.drain_timeout_ms`
    /// for sessions in a transaction to finish) and returns.
    /// `Err` when the configuration cannot be kept over the backends found (`cluster`
    /// consistency on an Aurora cluster without write forwarding): nothing was served.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), String> {
        let shared = self.shared.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let monitors = crate::monitor::spawn(shared.clone(), stop_rx.clone());
        // Let the monitor check every backend once, so the first clients find readers.
        let cfg = shared.live.config();
        let first_check =
            Duration::from_millis(cfg.monitor.timeout_ms + cfg.backends.connect_timeout_ms);
        if !shared.topology.wait_ready(first_check).await {
            tracing::warn!("not every backend answered its first check; serving anyway");
        }
        let consistency = shared.live.config().routing.consistency;
        if let Err(e) = crate::session::check_cluster_mode(consistency, &shared.topology.current())
        {
            let _ = stop_tx.send(true);
            for m in monitors {
                m.abort();
            }
            return Err(e);
        }
        // Greet clients as the writer does: learn its greeting before accepting (briefly),
        // and keep trying in the background if it is not reachable yet.
        if !learn_server_info_once(&shared).await {
            tokio::spawn(learn_server_info(shared.clone()));
        }
        let max_clients = shared.live.config().server.max_client_connections;
        // Before the metrics listener serves: a scrape never sees the cap missing.
        ::metrics::gauge!("rwsplit_max_client_connections").set(max_clients as f64);
        let mut side_tasks = Vec::new();
        if let Some(l) = self.metrics.take() {
            side_tasks.push(tokio::spawn(crate::metrics::http::serve(
                l,
                shared.clone(),
                self.prometheus.clone(),
            )));
        }
        if let Some(l) = self.admin.take() {
            side_tasks.push(tokio::spawn(crate::admin::serve(l, shared.clone())));
        }
        side_tasks.push(tokio::spawn(maintain_pools(shared.clone())));
        shared.set_listening(true);
        let limit = Arc::new(Semaphore::new(max_clients));
        let open_files = raise_open_files_limit();
        // Each session holds its client's socket and its writer connection, and one more
        // per reader it reads from.
        if open_files.is_some_and(|n| n < 2 * max_clients as u64 + 64) {
            tracing::warn!(
                open_files,
                max_client_connections = max_clients,
                "the open-files limit is below 2 x max_client_connections: sessions may fail \
                 with 'Too many open files' before the cap (raise `ulimit -n` / LimitNOFILE)"
            );
        }
        let mut sessions = JoinSet::new();
        tracing::info!(listen = %self.local_addr().map(|a| a.to_string()).unwrap_or_default(), "rwsplit ready");
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            // Over server.max_client_connections: error 1040 in place of the greeting, as
            // the server answers past its max_connections.
            let Ok(permit) = limit.clone().try_acquire_owned() else {
                tracing::warn!(peer = %peer, "too many client connections: refused with 1040");
                ::metrics::counter!("rwsplit_errors_total", "code" => "1040").increment(1);
                tokio::spawn(refuse(stream));
                continue;
            };
            let shared = shared.clone();
            let stop = stop_rx.clone();
            // Boxed: the task would otherwise copy the session's future in at spawn and
            // out at the end (each command's own future is boxed inside, see
            // session::Session::run).
            sessions.spawn(Box::pin(async move {
                let _permit = permit;
                if let Err(e) = crate::session::serve(stream, peer, shared, stop).await {
                    tracing::debug!(peer = %peer, error = %e, "session ended");
                }
            }));
            while sessions.try_join_next().is_some() {}
        }
        tracing::info!(
            sessions = sessions.len(),
            "shutting down: no new clients; waiting for transactions to finish"
        );
        shared.set_listening(false);
        drop(self.listener);
        let drain = Duration::from_millis(shared.live.config().server.drain_timeout_ms);
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(drain, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        sessions.abort_all();
        for m in monitors.into_iter().chain(side_tasks) {
            m.abort();
        }
        tracing::info!("rwsplit stopped");
        Ok(())
    }
}

/// Tells a client over the connection limit why it is turned away, and closes.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let err = crate::protocol::err::SqlError::too_many_connections();
    let bytes = crate::protocol::packet::packets(&err.payload(), 0);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Learns the writer's greeting (version, capabilities) so clients are greeted the same.
/// Retries until it succeeds; sessions also refresh it whenever they reach the writer.
async fn learn_server_info(shared: Arc<Shared>) {
    while !learn_server_info_once(&shared).await {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn learn_server_info_once(shared: &Shared) -> bool {
    let config = shared.live.config();
    let topo = shared.topology.current();
    let (user, password) = config.monitor_credentials();
    let params = ConnectParams {
        user,
        password,
        db: None,
        caps: ServerInfo::fallback().caps,
        mariadb_caps: Default::default(),
        collation: 45,
        attrs: None,
        max_packet: 16 << 20,
        connect_timeout: config.connect_timeout(),
        tls: shared.live.snapshot().backend_tls.clone(),
    };
    // The writer's greeting; a reader's while the writer is out of reach.
    let mut candidates: Vec<_> = topo
        .writer
        .and_then(|id| topo.get(id))
        .into_iter()
        .collect();
    candidates.extend(
        topo.backends
            .iter()
            .filter(|b| Some(b.id) != topo.writer && b.up),
    );
    for b in candidates {
        match BackendConn::connect(b.id, &b.addr, &params).await {
            Ok(conn) => {
                shared.topology.set_server_info(&conn.server);
                conn.quit().await;
                return Some(b.id) == topo.writer;
            }
            Err(e) => {
                tracing::debug!(backend = %b.addr, error = %e, "cannot learn the server's greeting")
            }
        }
    }
    false
}

/// What [`set_priority`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// The process now runs at this nice value.
    Set(i32),
    /// It already ran at this one, as high or higher: left as it was.
    Kept(i32),
}

/// Asks for scheduling priority `nice` (`server.nice`) for the calling thread, which the
/// threads it starts later inherit (on Linux a nice value belongs to a thread), unless it
/// already runs at that priority or a higher one (a lower value).
pub fn set_priority(nice: i32) -> std::io::Result<Priority> {
    // SAFETY: getpriority and setpriority take plain integers and touch no memory of ours;
    // errno is reset first because -1 is also a valid answer of getpriority.
    unsafe {
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, 0);
        if now == -1 && *libc::__errno_location() != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if now <= nice {
            return Ok(Priority::Kept(now));
        }
        if libc::setpriority(libc::PRIO_PROCESS, 0, nice) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(Priority::Set(nice))
}

/// Raises the soft open-files limit to the hard one, as servers do (every client and
/// backend connection is a descriptor). Returns the limit in effect.
fn raise_open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    Some(lim.rlim_cur)
}

/// The pools' upkeep, every second: idle and lifetime limits, backends gone, gauges.
async fn maintain_pools(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let cfg = shared.live.config();
        shared.pools.maintain(&shared.topology.current(), &cfg.pool);
    }
}
