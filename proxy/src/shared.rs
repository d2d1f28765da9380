//! What every session and task of one rwsplit process shares, passed as an `Arc`.
//! No globals: tests run several proxies in one process.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::classify::Classifier;
use crate::config::Config;
use crate::protocol::handshake::ServerInfo;
use crate::route::{BackendId, Role, Topology};

pub struct Shared {
    config: watch::Sender<Arc<Config>>,
    topology: watch::Sender<Arc<Topology>>,
    pub classifier: Classifier,
    server_info: RwLock<Arc<ServerInfo>>,
    next_session_id: AtomicU32,
    ticket: AtomicU64,
}

impl Shared {
    pub fn new(config: Config) -> Arc<Shared> {
        let topology = topology_of(&config);
        let classifier = Classifier::new(config.routing.classifier_cache);
        Arc::new(Shared {
            config: watch::Sender::new(Arc::new(config)),
            topology: watch::Sender::new(Arc::new(topology)),
            classifier,
            server_info: RwLock::new(Arc::new(ServerInfo::fallback())),
            next_session_id: AtomicU32::new(1),
            ticket: AtomicU64::new(0),
        })
    }

    /// The current configuration snapshot.
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// The current topology snapshot.
    pub fn topology(&self) -> Arc<Topology> {
        self.topology.borrow().clone()
    }

    pub fn subscribe_topology(&self) -> watch::Receiver<Arc<Topology>> {
        self.topology.subscribe()
    }

    /// Changes the topology (monitor, failed connections); readers see it on their next
    /// statement.
    pub fn update_topology(&self, f: impl FnOnce(&mut Topology) -> bool) {
        self.topology.send_if_modified(|t| {
            let mut next = (**t).clone();
            if f(&mut next) && next != **t {
                *t = Arc::new(next);
                true
            } else {
                false
            }
        });
    }

    /// Marks a backend unreachable until the monitor sees it again.
    pub fn report_down(&self, id: BackendId) {
        self.update_topology(|t| {
            let mut changed = false;
            for b in t.backends.iter_mut().filter(|b| b.id == id) {
                changed |= b.up || b.eligible;
                b.up = false;
                b.eligible = false;
            }
            changed
        });
    }

    /// What clients are greeted with (the writer's version and capabilities).
    pub fn server_info(&self) -> Arc<ServerInfo> {
        self.server_info
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn set_server_info(&self, info: ServerInfo) {
        let mut g = self.server_info.write().unwrap_or_else(|p| p.into_inner());
        if **g != info {
            *g = Arc::new(info);
        }
    }

    pub fn next_session_id(&self) -> u32 {
        self.next_session_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A number that grows by one per reader choice (round robin).
    pub fn next_ticket(&self) -> u64 {
        self.ticket.fetch_add(1, Ordering::Relaxed)
    }
}

/// The static topology of a configuration: every backend up until checked.
pub fn topology_of(config: &Config) -> Topology {
    use crate::route::Backend;
    let mut backends = vec![Backend {
        id: BackendId(0),
        addr: config.backends.writer.clone(),
        role: Role::Writer,
        up: true,
        eligible: false,
        weight: 1,
        lag_ms: None,
    }];
    for (i, r) in config.backends.readers.iter().enumerate() {
        backends.push(Backend {
            id: BackendId(i as u32 + 1),
            addr: r.clone(),
            role: Role::Reader,
            up: true,
            eligible: true,
            weight: 1,
            lag_ms: None,
        });
    }
    Topology {
        writer: Some(BackendId(0)),
        backends,
    }
}
