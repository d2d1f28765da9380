//! What every session and task of one rwsplit process shares, passed as an `Arc`.
//! No globals: tests run several proxies in one process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::backend::BackendLoad;
use crate::classify::rules::Rules;
use crate::classify::Classifier;
use crate::config::{Config, TopologyMode};
use crate::metrics::DigestStore;
use crate::protocol::handshake::ServerInfo;
use crate::protocol::rsa::RsaKeys;
use crate::route::{Backend, BackendId, Load, Position, Role, Topology};
use crate::tls::{BackendTls, ClientTls};

/// What the admin interface shows of a client session.
#[derive(Debug)]
pub struct SessionInfo {
    pub id: u32,
    /// The account logged in (COM_CHANGE_USER changes it: see [`Shared::change_session_user`]).
    pub user: Mutex<String>,
    pub peer: String,
    pub started: std::time::SystemTime,
    pub db: Mutex<Option<String>>,
    pub in_transaction: std::sync::atomic::AtomicBool,
    pub statements: AtomicU64,
    /// Its backend connections: (backend, that server's thread id), for KILL.
    pub threads: Mutex<Vec<(BackendId, u32)>>,
    /// Set by another session's KILL CONNECTION: the session ends.
    pub killed: std::sync::atomic::AtomicBool,
    /// Wakes the session when `killed` is set, so it ends at once, even while it waits for
    /// its client's next command.
    pub kill_signal: tokio::sync::Notify,
}

impl SessionInfo {
    /// The account this session is logged in as now.
    pub fn user(&self) -> String {
        self.user.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The session's default database is now `db` (login, USE, COM_CHANGE_USER).
    pub fn set_db(&self, db: Option<String>) {
        *self.db.lock().unwrap_or_else(|p| p.into_inner()) = db;
    }

    /// Ends the session (KILL CONNECTION): it runs no further command.
    pub fn kill(&self) {
        self.killed
            .store(true, std::sync::atomic::Ordering::Release);
        self.kill_signal.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Reloads the configuration from where it came (file and flags); set by `main`.
pub type Reloader = dyn Fn() -> Result<Config, crate::config::ConfigError> + Send + Sync;

/// The writer position known for a global write epoch (read-your-writes).
#[derive(Debug, Clone)]
pub struct EpochPosition {
    pub epoch: u64,
    pub position: Arc<(Position, String)>,
}

pub struct Shared {
    config: watch::Sender<Arc<Config>>,
    topology: watch::Sender<Arc<Topology>>,
    topology_ready: watch::Sender<bool>,
    /// Classifier and rules of the current configuration.
    routing: RwLock<Arc<RoutingParts>>,
    /// Query digests.
    pub digests: DigestStore,
    generation: AtomicU64,
    server_info: RwLock<Arc<ServerInfo>>,
    next_session_id: AtomicU32,
    ticket: AtomicU64,
    ids: Mutex<HashMap<String, BackendId>>,
    loads: RwLock<HashMap<BackendId, Arc<BackendLoad>>>,
    instance_id: u64,
    /// Microseconds (Unix time) of the newest heartbeat written on the writer.
    pub heartbeat_written_us: AtomicU64,
    /// Incremented after every write through this rwsplit (read-your-writes, global).
    pub write_epoch: AtomicU64,
    /// Microseconds (Unix time) of the newest write through this rwsplit.
    pub last_write_us: AtomicU64,
    /// The writer's position as of some epoch.
    pub epoch_position: Mutex<Option<EpochPosition>>,
    /// For each reader, the newest epoch it is known to have applied.
    pub reader_epochs: Mutex<HashMap<BackendId, u64>>,
    /// Open client sessions.
    pub sessions: Mutex<HashMap<u32, Arc<SessionInfo>>>,
    /// Backends taken out of service by an operator (by address).
    offline: Mutex<std::collections::BTreeSet<String>>,
    offline_changed: watch::Sender<u64>,
    reloader: Mutex<Option<Arc<Reloader>>>,
    /// The RSA key pair generated when no key file is configured.
    generated_rsa: tokio::sync::OnceCell<Arc<RsaKeys>>,
    /// The proxy's own listener is up.
    pub listening: std::sync::atomic::AtomicBool,
    pub started: std::time::Instant,
}

/// What statements are classified and routed with; rebuilt when the configuration
/// changes.
pub struct RoutingParts {
    pub classifier: Classifier,
    pub rules: Rules,
    /// Bumped on every configuration change (sessions refresh their snapshot).
    pub generation: u64,
    /// TLS to the backends (`None`: plain TCP).
    pub backend_tls: Option<Arc<BackendTls>>,
    /// TLS offered to clients (`None`: not offered).
    pub client_tls: Option<Arc<ClientTls>>,
    /// The key pair of `server.rsa_private_key_file` (`None`: not set).
    pub rsa_keys: Option<Arc<RsaKeys>>,
}

impl RoutingParts {
    fn new(config: &Config, generation: u64) -> RoutingParts {
        RoutingParts {
            classifier: Classifier::with_functions(
                config.routing.classifier_cache,
                &config.routing.read_only_functions,
            ),
            rules: Rules::new(&config.routing.rules),
            generation,
            backend_tls: BackendTls::for_runtime(&config.backends),
            client_tls: ClientTls::for_runtime(&config.server),
            rsa_keys: rsa_keys_from_file(&config.server.rsa_private_key_file),
        }
    }
}

fn rsa_keys_from_file(path: &str) -> Option<Arc<RsaKeys>> {
    if path.is_empty() {
        return None;
    }
    RsaKeys::from_file(path)
        .map_err(|e| tracing::error!(error = %e, "server.rsa_private_key_file unusable"))
        .ok()
        .map(Arc::new)
}

impl Shared {
    /// The key pair for caching_sha2_password's RSA exchange: the configured file's, else
    /// one generated on first use (on a blocking thread) and kept until exit.
    pub async fn rsa_keys(&self) -> Option<Arc<RsaKeys>> {
        if let Some(k) = self.routing().rsa_keys.clone() {
            return Some(k);
        }
        let generated = self
            .generated_rsa
            .get_or_try_init(|| async {
                let keys = tokio::task::spawn_blocking(|| RsaKeys::generate(2048))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                tracing::info!("generated an RSA key pair for caching_sha2_password");
                Ok::<_, String>(Arc::new(keys))
            })
            .await;
        match generated {
            Ok(k) => Some(k.clone()),
            Err(e) => {
                tracing::error!(error = %e, "cannot generate an RSA key pair");
                None
            }
        }
    }

    pub fn new(config: Config) -> Arc<Shared> {
        let shared = Arc::new(Shared {
            routing: RwLock::new(Arc::new(RoutingParts::new(&config, 1))),
            digests: DigestStore::new(config.routing.digests),
            generation: AtomicU64::new(1),
            config: watch::Sender::new(Arc::new(config.clone())),
            topology: watch::Sender::new(Arc::new(Topology::default())),
            topology_ready: watch::Sender::new(false),
            server_info: RwLock::new(Arc::new(ServerInfo::fallback())),
            // Far from the small numbers servers give their threads, so a KILL of a
            // backend thread id (from SHOW PROCESSLIST) is never mistaken for a session.
            next_session_id: AtomicU32::new((1 << 30) + (rand::random::<u32>() >> 12)),
            ticket: AtomicU64::new(0),
            ids: Mutex::new(HashMap::new()),
            loads: RwLock::new(HashMap::new()),
            instance_id: rand::random::<u64>() >> 1,
            generated_rsa: tokio::sync::OnceCell::new(),
            heartbeat_written_us: AtomicU64::new(0),
            write_epoch: AtomicU64::new(0),
            last_write_us: AtomicU64::new(0),
            epoch_position: Mutex::new(None),
            reader_epochs: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            offline: Mutex::new(Default::default()),
            offline_changed: watch::Sender::new(0),
            reloader: Mutex::new(None),
            listening: std::sync::atomic::AtomicBool::new(false),
            started: std::time::Instant::now(),
        });
        let initial = initial_topology(&shared, &config);
        shared.set_topology(initial);
        shared
    }

    /// The current configuration snapshot.
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    pub fn subscribe_config(&self) -> watch::Receiver<Arc<Config>> {
        self.config.subscribe()
    }

    /// Replaces the configuration (hot reload): new sessions use it at once, open ones
    /// from their next statement.
    pub fn set_config(&self, config: Config) {
        let generation = self.routing().generation + 1;
        let parts = RoutingParts::new(&config, generation);
        self.digests.resize(config.routing.digests);
        *self.routing.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(parts);
        self.config.send_replace(Arc::new(config));
        self.generation.store(generation, Ordering::Release);
    }

    /// The classifier and rules of the current configuration.
    pub fn routing(&self) -> Arc<RoutingParts> {
        self.routing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current configuration generation (cheap to compare).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current topology snapshot.
    pub fn topology(&self) -> Arc<Topology> {
        self.topology.borrow().clone()
    }

    pub fn subscribe_topology(&self) -> watch::Receiver<Arc<Topology>> {
        self.topology.subscribe()
    }

    pub fn set_topology(&self, t: Topology) {
        self.topology.send_if_modified(|cur| {
            if **cur != t {
                *cur = Arc::new(t);
                true
            } else {
                false
            }
        });
    }

    /// Changes the topology in place (a session that failed to reach a backend).
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

    pub fn mark_topology_ready(&self) {
        self.topology_ready.send_replace(true);
    }

    /// Waits (at most `timeout`) until the monitor has checked every backend once.
    pub async fn wait_topology_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.topology_ready.subscribe();
        let ready = tokio::time::timeout(timeout, rx.wait_for(|r| *r)).await;
        ready.is_ok()
    }

    /// The stable id of a backend address (assigned on first sight, never reused).
    pub fn backend_id(&self, addr: &str) -> BackendId {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        let n = ids.len() as u32;
        *ids.entry(addr.to_string()).or_insert(BackendId(n))
    }

    /// The load counters of a backend.
    pub fn load(&self, id: BackendId) -> Arc<BackendLoad> {
        if let Some(l) = self
            .loads
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return l.clone();
        }
        self.loads
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_default()
            .clone()
    }

    pub fn load_snapshot(&self, id: BackendId) -> Load {
        self.loads
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map(|l| l.snapshot())
            .unwrap_or_default()
    }

    pub fn forget_load(&self, id: BackendId) {
        self.loads
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
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

    /// How the configuration is reloaded (SIGHUP, RELOAD CONFIG).
    pub fn set_reloader(&self, f: Arc<Reloader>) {
        *self.reloader.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    }

    /// Reloads the configuration: the new one takes effect if it is valid; otherwise the
    /// old one stays and the reason is returned.
    pub fn reload(&self) -> Result<(), String> {
        let f = self
            .reloader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(f) = f else {
            return Err(
                "this rwsplit was not started from a configuration that can be reloaded".into(),
            );
        };
        let new = f().map_err(|e| e.to_string())?;
        let old = self.config();
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

    /// A registered session.
    pub fn session(&self, id: u32) -> Option<Arc<SessionInfo>> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    /// Registers a logged-in session for the admin interface and KILL; it leaves with the
    /// guard. `None` when its user already has `user_cap` sessions (0 = no cap).
    pub fn register_session(
        self: &Arc<Self>,
        info: SessionInfo,
        user_cap: u32,
    ) -> Option<SessionGuard> {
        let info = Arc::new(info);
        {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            if at_cap(&sessions, &info.user(), user_cap, info.id) {
                return None;
            }
            sessions.insert(info.id, info.clone());
        }
        metrics::gauge!("rwsplit_client_connections").increment(1.0);
        Some(SessionGuard {
            shared: self.clone(),
            info,
        })
    }

    /// COM_CHANGE_USER: session `id` is now logged in as `user`, unless `user` already has
    /// `user_cap` other sessions (0 = no cap): then `false` and nothing changes.
    pub fn change_session_user(&self, id: u32, user: &str, user_cap: u32) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if at_cap(&sessions, user, user_cap, id) {
            return false;
        }
        if let Some(s) = sessions.get(&id) {
            *s.user.lock().unwrap_or_else(|p| p.into_inner()) = user.to_string();
        }
        true
    }

    /// This process's heartbeat row id.
    pub fn instance_id(&self) -> u64 {
        self.instance_id
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

    /// A number that grows by one per reader choice.
    pub fn next_ticket(&self) -> u64 {
        self.ticket.fetch_add(1, Ordering::Relaxed)
    }

    /// Records that a write just completed (read-your-writes, global).
    pub fn note_write(&self) -> u64 {
        self.last_write_us
            .store(crate::clock::now_us(), Ordering::Relaxed);
        self.write_epoch.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub fn reader_epoch(&self, id: BackendId) -> u64 {
        self.reader_epochs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
            .unwrap_or(0)
    }

    pub fn set_reader_epoch(&self, id: BackendId, epoch: u64) {
        let mut m = self.reader_epochs.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(id).or_insert(0);
        *e = (*e).max(epoch);
    }
}

/// True when `user` has `cap` sessions other than `id` already (0 = no cap).
fn at_cap(sessions: &HashMap<u32, Arc<SessionInfo>>, user: &str, cap: u32, id: u32) -> bool {
    cap > 0
        && sessions
            .values()
            .filter(|s| s.id != id && *s.user.lock().unwrap_or_else(|p| p.into_inner()) == user)
            .count()
            >= cap as usize
}

/// The topology before the first checks: the configured roles, no reader eligible yet.
fn initial_topology(shared: &Shared, config: &Config) -> Topology {
    let b = &config.backends;
    let mut t = Topology::default();
    match b.mode {
        TopologyMode::Static => {
            let w = shared.backend_id(&b.writer);
            t.writer = Some(w);
            t.backends
                .push(Backend::new(w, b.writer.clone(), Role::Writer));
            for r in &b.readers {
                let mut be = Backend::new(shared.backend_id(r), r.clone(), Role::Reader);
                be.eligible = false;
                be.weight = b.weight(r);
                t.backends.push(be);
            }
        }
        TopologyMode::ReadOnly | TopologyMode::Aurora => {}
    }
    t
}

/// Keeps a session in the registry while it lives.
pub struct SessionGuard {
    shared: Arc<Shared>,
    pub info: Arc<SessionInfo>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.info.id);
        metrics::gauge!("rwsplit_client_connections").decrement(1.0);
    }
}
