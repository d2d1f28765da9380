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
}

impl Server {
    /// Binds the listener.
    pub async fn bind(config: Config) -> std::io::Result<Server> {
        let listener = TcpListener::bind(&config.server.listen).await?;
        Ok(Server {
            shared: Shared::new(config),
            listener,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then drains (up to `drain` for sessions in a
    /// transaction to finish) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>, drain: Duration) {
        let shared = self.shared.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let monitors = crate::monitor::spawn(shared.clone(), stop_rx.clone());
        // Let the monitor check every backend once, so the first clients find readers.
        let cfg = shared.config();
        let first_check =
            Duration::from_millis(cfg.monitor.timeout_ms + cfg.backends.connect_timeout_ms);
        if !shared.wait_topology_ready(first_check).await {
            tracing::warn!("not every backend answered its first check; serving anyway");
        }
        // Greet clients as the writer does: learn its greeting before accepting (briefly),
        // and keep trying in the background if it is not reachable yet.
        if !learn_server_info_once(&shared).await {
            tokio::spawn(learn_server_info(shared.clone()));
        }
        let limit = Arc::new(Semaphore::new(
            shared.config().server.max_client_connections,
        ));
        let mut sessions = JoinSet::new();
        tracing::info!(listen = %self.local_addr().map(|a| a.to_string()).unwrap_or_default(), "rwsplit ready");
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = &mut shutdown => break,
            };
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
            let shared = shared.clone();
            let stop = stop_rx.clone();
            sessions.spawn(async move {
                let _permit = permit;
                if let Err(e) = crate::session::serve(stream, shared, stop).await {
                    tracing::debug!(peer = %peer, error = %e, "session ended");
                }
            });
            while sessions.try_join_next().is_some() {}
        }
        tracing::info!(
            sessions = sessions.len(),
            "shutting down: no new clients; waiting for transactions to finish"
        );
        drop(self.listener);
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(drain, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        sessions.abort_all();
        for m in monitors {
            m.abort();
        }
        tracing::info!("rwsplit stopped");
    }
}

/// Learns the writer's greeting (version, capabilities) so clients are greeted the same.
/// Retries until it succeeds; sessions also refresh it whenever they reach the writer.
async fn learn_server_info(shared: Arc<Shared>) {
    while !learn_server_info_once(&shared).await {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn learn_server_info_once(shared: &Shared) -> bool {
    let config = shared.config();
    let topo = shared.topology();
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
                shared.set_server_info(conn.server.clone());
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
