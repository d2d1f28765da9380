//! The topology store: the monitor publishes the topology it observed; sessions read
//! snapshots of it and report a backend they could not reach (it counts as down until the
//! monitor sees it again). Also what the monitor learns on the side: the writer's
//! greeting (what clients are greeted with), the backends an operator took offline, the
//! stable ids of backend addresses, and when the heartbeat row was last written.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{Config, TopologyMode};
use crate::protocol::handshake::ServerInfo;
use crate::route::{Backend, BackendId, Role, Topology};

pub struct TopologyStore {
    topology: watch::Sender<Arc<Topology>>,
    /// The monitor has checked every backend once.
    ready: watch::Sender<bool>,
    ids: Mutex<HashMap<String, BackendId>>,
    /// Backends taken out of service by an operator (by address).
    offline: Mutex<BTreeSet<String>>,
    offline_changed: watch::Sender<u64>,
    server_info: RwLock<Arc<ServerInfo>>,
    /// Microseconds (Unix time) of the newest heartbeat written on the writer.
    heartbeat_written_us: AtomicU64,
}

impl TopologyStore {
    /// The store before the first checks: the configured roles, no reader eligible yet.
    pub fn new(config: &Config) -> TopologyStore {
        let store = TopologyStore {
            topology: watch::Sender::new(Arc::new(Topology::default())),
            ready: watch::Sender::new(false),
            ids: Mutex::new(HashMap::new()),
            offline: Mutex::new(BTreeSet::new()),
            offline_changed: watch::Sender::new(0),
            server_info: RwLock::new(Arc::new(ServerInfo::fallback())),
            heartbeat_written_us: AtomicU64::new(0),
        };
        let initial = store.initial(config);
        store.publish(initial);
        store
    }

    fn initial(&self, config: &Config) -> Topology {
        let b = &config.backends;
        let mut t = Topology::default();
        match b.mode {
            TopologyMode::Static => {
                let w = self.backend_id(&b.writer);
                t.writer = Some(w);
                t.backends
                    .push(Backend::new(w, b.writer.clone(), Role::Writer));
                for r in &b.readers {
                    let mut be = Backend::new(self.backend_id(r), r.clone(), Role::Reader);
                    be.eligible = false;
                    be.weight = b.weight(r);
                    t.backends.push(be);
                }
            }
            TopologyMode::ReadOnly | TopologyMode::Aurora => {}
        }
        t
    }

    /// The current topology snapshot.
    pub fn current(&self) -> Arc<Topology> {
        self.topology.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Topology>> {
        self.topology.subscribe()
    }

    /// The monitor's view replaces the current one (subscribers wake only on a change).
    pub fn publish(&self, t: Topology) {
        self.topology.send_if_modified(|cur| {
            if **cur != t {
                *cur = Arc::new(t);
                true
            } else {
                false
            }
        });
    }

    /// A session could not reach backend `id`: it is out of service (neither up nor
    /// eligible) until the monitor's next check of it says otherwise.
    pub fn report_unreachable(&self, id: BackendId) {
        self.topology.send_if_modified(|t| {
            if !t
                .backends
                .iter()
                .any(|b| b.id == id && (b.up || b.eligible))
            {
                return false;
            }
            let mut next = (**t).clone();
            for b in next.backends.iter_mut().filter(|b| b.id == id) {
                b.up = false;
                b.eligible = false;
            }
            *t = Arc::new(next);
            true
        });
    }

    pub fn mark_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Waits (at most `timeout`) until the monitor has checked every backend once.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        let ready = tokio::time::timeout(timeout, rx.wait_for(|r| *r)).await;
        ready.is_ok()
    }

    /// The stable id of a backend address (assigned on first sight, never reused).
    pub fn backend_id(&self, addr: &str) -> BackendId {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        let n = ids.len() as u32;
        *ids.entry(addr.to_string()).or_insert(BackendId(n))
    }

    /// Takes a backend out of service (no new work) or puts it back.
    pub fn set_offline(&self, addr: &str, offline: bool) {
        let mut set = self.offline.lock().unwrap_or_else(|p| p.into_inner());
        let changed = if offline {
            set.insert(addr.to_string())
        } else {
            set.remove(addr)
        };
        drop(set);
        if changed {
            self.offline_changed.send_modify(|g| *g += 1);
        }
    }

    pub fn is_offline(&self, addr: &str) -> bool {
        self.offline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(addr)
    }

    pub fn subscribe_offline(&self) -> watch::Receiver<u64> {
        self.offline_changed.subscribe()
    }

    /// What clients are greeted with (the writer's version and capabilities).
    pub fn server_info(&self) -> Arc<ServerInfo> {
        self.server_info
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The greeting of a writer connection just opened.
    pub fn set_server_info(&self, info: &ServerInfo) {
        let mut g = self.server_info.write().unwrap_or_else(|p| p.into_inner());
        if **g != *info {
            *g = Arc::new(info.clone());
        }
    }

    /// When this process last wrote its heartbeat row (µs, Unix time; 0: never).
    pub fn heartbeat_written_us(&self) -> u64 {
        self.heartbeat_written_us.load(Ordering::Relaxed)
    }

    pub fn set_heartbeat_written_us(&self, us: u64) {
        self.heartbeat_written_us.store(us, Ordering::Relaxed);
    }
}
