//! The session registry: every logged-in client session, for the admin interface
//! (SHOW SESSIONS), KILL, the per-user connection cap and /status.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::route::BackendId;

/// What the admin interface shows of a client session.
#[derive(Debug)]
pub struct SessionInfo {
    pub id: u32,
    /// The account logged in (COM_CHANGE_USER changes it: see [`Registry::change_user`]).
    user: Mutex<String>,
    pub peer: String,
    pub started: std::time::SystemTime,
    db: Mutex<Option<String>>,
    pub in_transaction: AtomicBool,
    pub statements: AtomicU64,
    /// Its backend connections: (backend, that server's thread id), for KILL.
    threads: Mutex<Vec<(BackendId, u32)>>,
    /// Why it keeps its backend connections between statements (transaction pooling).
    pinned: Mutex<Option<&'static str>>,
    /// Set by another session's KILL CONNECTION: the session ends.
    killed: AtomicBool,
    /// Wakes the session when `killed` is set, so it ends at once, even while it waits for
    /// its client's next command.
    pub kill_signal: tokio::sync::Notify,
}

impl SessionInfo {
    pub fn new(id: u32, user: &str, peer: String) -> SessionInfo {
        SessionInfo {
            id,
            user: Mutex::new(user.to_string()),
            peer,
            started: std::time::SystemTime::now(),
            db: Mutex::default(),
            in_transaction: AtomicBool::default(),
            statements: AtomicU64::default(),
            threads: Mutex::default(),
            pinned: Mutex::default(),
            killed: AtomicBool::default(),
            kill_signal: tokio::sync::Notify::new(),
        }
    }

    /// The account this session is logged in as now.
    pub fn user(&self) -> String {
        self.user.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The session's default database.
    pub fn db(&self) -> Option<String> {
        self.db.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The session's default database is now `db` (login, USE, COM_CHANGE_USER).
    pub fn set_db(&self, db: Option<String>) {
        *self.db.lock().unwrap_or_else(|p| p.into_inner()) = db;
    }

    /// The backend threads of its connections: (backend, thread id).
    pub fn threads(&self) -> Vec<(BackendId, u32)> {
        self.threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_threads(&self, threads: Vec<(BackendId, u32)>) {
        *self.threads.lock().unwrap_or_else(|p| p.into_inner()) = threads;
    }

    /// Why the session keeps its backend connections between statements (the pin's
    /// reason), if it does.
    pub fn pinned(&self) -> Option<String> {
        self.pinned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(str::to_string)
    }

    pub fn set_pinned(&self, reason: Option<&'static str>) {
        *self.pinned.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    }

    /// Ends the session (KILL CONNECTION): it runs no further command.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill_signal.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
}

/// Open client sessions, by id.
pub struct Registry {
    sessions: Mutex<HashMap<u32, Arc<SessionInfo>>>,
    next_id: AtomicU32,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry {
            sessions: Mutex::default(),
            // Far from the small numbers servers give their threads, so a KILL of a
            // backend thread id (from SHOW PROCESSLIST) is never mistaken for a session.
            next_id: AtomicU32::new((1 << 30) + (rand::random::<u32>() >> 12)),
        }
    }
}

impl Registry {
    /// The id of a new session (what its client sees as the connection id).
    pub fn next_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A registered session.
    pub fn get(&self, id: u32) -> Option<Arc<SessionInfo>> {
        self.lock().get(&id).cloned()
    }

    /// Every registered session, by id.
    pub fn list(&self) -> Vec<Arc<SessionInfo>> {
        let mut v: Vec<_> = self.lock().values().cloned().collect();
        v.sort_by_key(|s| s.id);
        v
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<SessionInfo>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a logged-in session; it leaves with the guard. `None` when its user
    /// already has `user_cap` sessions (0 = no cap).
    pub fn register(self: &Arc<Self>, info: SessionInfo, user_cap: u32) -> Option<SessionGuard> {
        let info = Arc::new(info);
        {
            let mut sessions = self.lock();
            if at_cap(&sessions, &info.user(), user_cap, info.id) {
                return None;
            }
            sessions.insert(info.id, info.clone());
        }
        metrics::gauge!("rwsplit_client_connections").increment(1.0);
        Some(SessionGuard {
            registry: self.clone(),
            info,
        })
    }

    /// COM_CHANGE_USER: session `id` is now logged in as `user`, unless `user` already has
    /// `user_cap` other sessions (0 = no cap): then `false` and nothing changes.
    pub fn change_user(&self, id: u32, user: &str, user_cap: u32) -> bool {
        let sessions = self.lock();
        if at_cap(&sessions, user, user_cap, id) {
            return false;
        }
        if let Some(s) = sessions.get(&id) {
            *s.user.lock().unwrap_or_else(|p| p.into_inner()) = user.to_string();
        }
        true
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

/// Keeps a session in the registry while it lives.
pub struct SessionGuard {
    registry: Arc<Registry>,
    pub info: Arc<SessionInfo>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.info.id);
        metrics::gauge!("rwsplit_client_connections").decrement(1.0);
    }
}
