//! Read-your-writes across sessions (`routing.consistency = "global"`): every write
//! through this rwsplit moves the global epoch; a reader has served epoch `e` once it was
//! seen to hold the writer's position of `e` or later.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::route::{BackendId, Position};

/// The writer position known for a global write epoch.
#[derive(Debug, Clone)]
pub struct EpochPosition {
    pub epoch: u64,
    pub position: Arc<(Position, String)>,
}

#[derive(Debug, Default)]
pub struct Epochs {
    /// Incremented after every write through this rwsplit.
    write_epoch: AtomicU64,
    /// Microseconds (Unix time) of the newest write through this rwsplit.
    last_write_us: AtomicU64,
    /// The writer's position as of some epoch.
    position: Mutex<Option<EpochPosition>>,
    /// For each reader, the newest epoch it is known to have applied.
    readers: Mutex<HashMap<BackendId, u64>>,
}

impl Epochs {
    /// Records that a write just completed; returns its epoch.
    pub fn note_write(&self) -> u64 {
        self.last_write_us
            .store(crate::clock::now_us(), Ordering::Relaxed);
        self.write_epoch.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The newest epoch (0: no write yet).
    pub fn current(&self) -> u64 {
        self.write_epoch.load(Ordering::Acquire)
    }

    /// When the newest write completed (µs, Unix time).
    pub fn last_write_us(&self) -> u64 {
        self.last_write_us.load(Ordering::Relaxed)
    }

    /// The newest epoch reader `id` is known to have applied.
    pub fn reader(&self, id: BackendId) -> u64 {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
            .unwrap_or(0)
    }

    /// Reader `id` was seen to have applied `epoch` (an older one changes nothing).
    pub fn set_reader(&self, id: BackendId, epoch: u64) {
        let mut m = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(id).or_insert(0);
        *e = (*e).max(epoch);
    }

    /// The writer position known for `epoch` or a later one.
    pub fn position_for(&self, epoch: u64) -> Option<Arc<(Position, String)>> {
        self.position
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|p| p.epoch >= epoch)
            .map(|p| p.position.clone())
    }

    /// The writer was at `position` when the epoch was `epoch` (kept if newer).
    pub fn set_position(&self, epoch: u64, position: Arc<(Position, String)>) {
        let mut g = self.position.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_ref().is_none_or(|p| p.epoch < epoch) {
            *g = Some(EpochPosition { epoch, position });
        }
    }
}
