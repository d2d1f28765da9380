//! A backend's load as sessions see it: statements running, open connections, response
//! time. Shared by every session; read by reader selection and the metrics.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::route::Load;

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
