//! What every session and task of one rwsplit process shares, passed as an `Arc`: one
//! handle per concept, each owned by its module and changed only through its methods.
//! No globals: tests run several proxies in one process.
//!
//! | handle | module | what |
//! |---|---|---|
//! | `live` | [`crate::live`] | the configuration snapshot (config, classifier, rules, TLS, RSA) |
//! | `topology` | [`crate::monitor::store`] | the topology, readiness, offline backends, the writer's greeting |
//! | `loads` | [`crate::backend::Loads`] | each backend's load, the round-robin ticket |
//! | `pools` | [`crate::backend::Pools`] | backend connections kept for the next session |
//! | `epochs` | [`crate::session::Epochs`] | read-your-writes across sessions |
//! | `positions` | [`crate::session::ClusterPositions`] | read-your-writes across the cluster |
//! | `sessions` | [`crate::session::Registry`] | open client sessions |
//! | `digests` | [`crate::metrics::DigestStore`] | query digests |

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::backend::{Loads, Pools};
use crate::config::Config;
use crate::live::LiveConfig;
use crate::metrics::DigestStore;
use crate::monitor::store::TopologyStore;
use crate::session::{ClusterPositions, Epochs, Registry};

pub struct Shared {
    pub live: LiveConfig,
    pub topology: TopologyStore,
    pub loads: Loads,
    /// Backend connections kept for the next session.
    pub pools: Pools,
    pub epochs: Epochs,
    /// Read-your-writes across the cluster: shared writer-position fetches.
    pub positions: ClusterPositions,
    pub sessions: Arc<Registry>,
    pub digests: DigestStore,
    /// This process's heartbeat row id.
    instance_id: u64,
    /// The proxy's own listener is up.
    listening: AtomicBool,
    /// Commit markers can be written (`failover.verify_commits`): assumed until one
    /// fails for want of its table or rights; written again, true again. The warning
    /// is logged as it turns false.
    markers_work: AtomicBool,
    started: std::time::Instant,
}

impl Shared {
    pub fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            topology: TopologyStore::new(&config),
            digests: DigestStore::new(config.routing.digests),
            live: LiveConfig::new(config),
            loads: Loads::default(),
            pools: Pools::default(),
            epochs: Epochs::default(),
            positions: ClusterPositions::default(),
            sessions: Arc::new(Registry::default()),
            instance_id: rand::random::<u64>() >> 1,
            listening: AtomicBool::new(false),
            markers_work: AtomicBool::new(true),
            started: std::time::Instant::now(),
        })
    }

    /// Replaces the configuration (hot reload): new sessions use it at once, open ones
    /// from their next statement.
    pub fn set_config(&self, config: Config) {
        self.digests.resize(config.routing.digests);
        self.live.set(config);
    }

    /// Reloads the configuration: the new one takes effect if it is valid; otherwise the
    /// old one stays and the reason is returned.
    pub fn reload(&self) -> Result<(), String> {
        let new = self.live.read_again()?;
        crate::session::check_cluster_mode(new.routing.consistency, &self.topology.current())?;
        let old = self.live.config();
        if new.server.listen != old.server.listen
            || new.server.metrics_listen != old.server.metrics_listen
            || new.admin.listen != old.admin.listen
            || new.server.worker_threads != old.server.worker_threads
        {
            tracing::warn!("listen addresses and worker threads change only at restart");
        }
        self.set_config(new);
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// This process's heartbeat row id.
    pub fn instance_id(&self) -> u64 {
        self.instance_id
    }

    /// Commit markers can be written (none failed for want of the markers table or the
    /// rights to write it since one was last written).
    pub fn markers_work(&self) -> bool {
        self.markers_work.load(Ordering::Relaxed)
    }

    pub fn set_markers_work(&self, works: bool) {
        self.markers_work.store(works, Ordering::Relaxed);
    }

    /// The client listener is up (or, false, closed for shutdown).
    pub fn set_listening(&self, up: bool) {
        self.listening.store(up, Ordering::Relaxed);
    }

    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// How long this process has run.
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}
