//! A backend's load as sessions see it: statements running, open connections, response
//! time. Shared by every session ([`Loads`]); read by reader selection and the metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::route::{BackendId, Load};

/// Statements running on a backend and its response time, updated by sessions.
#[derive(Debug, Default)]
pub struct BackendLoad {
    pub active: AtomicU32,
    pub ewma_us: AtomicU64,
    /// Connections open to it (all sessions).
    pub open: AtomicU32,
}

impl BackendLoad {
    pub fn snapshot(&self) -> Load {
        Load {
            active: self.active.load(Ordering::Relaxed),
            ewma_us: self.ewma_us.load(Ordering::Relaxed),
        }
    }

    /// Folds one response time into the moving average (weight 1/8).
    pub fn observe(&self, us: u64) {
        let old = self.ewma_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            us.max(1)
        } else {
            (old * 7 + us) / 8
        };
        self.ewma_us.store(new.max(1), Ordering::Relaxed);
    }
}

/// Every backend's load, and the ticket that strides round robin: what reader selection
/// reads besides the topology.
#[derive(Debug, Default)]
pub struct Loads {
    by_backend: RwLock<HashMap<BackendId, Arc<BackendLoad>>>,
    ticket: AtomicU64,
}

impl Loads {
    /// The load counters of backend `id` (created on first use).
    pub fn of(&self, id: BackendId) -> Arc<BackendLoad> {
        if let Some(l) = self
            .by_backend
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return l.clone();
        }
        self.by_backend
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_default()
            .clone()
    }

    /// What selection sees of backend `id` now (zero for one never used).
    pub fn snapshot(&self, id: BackendId) -> Load {
        self.by_backend
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map(|l| l.snapshot())
            .unwrap_or_default()
    }

    /// Backend `id` is no longer watched.
    pub fn forget(&self, id: BackendId) {
        self.by_backend
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// A number that grows by one per choice of readers.
    pub fn next_ticket(&self) -> u64 {
        self.ticket.fetch_add(1, Ordering::Relaxed)
    }
}
