//! Query digests: per statement shape (literals replaced by `?`), how often it ran, how
//! long it took and where it went. Bounded: the least recently seen shapes are dropped.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use lru::LruCache;

/// What is known of one statement shape.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestStats {
    pub digest: u64,
    /// Normalized text (at most 1 KiB).
    pub text: String,
    pub count: u64,
    pub errors: u64,
    pub total: Duration,
    pub max: Duration,
    pub on_writer: u64,
    pub on_reader: u64,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
}

/// Shards, so sessions on different threads rarely wait for each other.
const SHARDS: usize = 16;

pub struct DigestStore {
    shards: Vec<Mutex<LruCache<u64, DigestStats>>>,
}

fn per_shard(capacity: usize) -> NonZeroUsize {
    NonZeroUsize::new(capacity.div_ceil(SHARDS).max(1)).unwrap_or(NonZeroUsize::MIN)
}

impl DigestStore {
    pub fn new(capacity: usize) -> DigestStore {
        DigestStore {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(per_shard(capacity))))
                .collect(),
        }
    }

    fn shard(&self, digest: u64) -> std::sync::MutexGuard<'_, LruCache<u64, DigestStats>> {
        self.shards[(digest as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one execution; `text` is computed only for a shape not seen yet.
    pub fn record(
        &self,
        digest: u64,
        text: impl FnOnce() -> String,
        on_writer: bool,
        elapsed: Duration,
        error: bool,
    ) {
        let now = SystemTime::now();
        let mut g = self.shard(digest);
        if !g.contains(&digest) {
            g.put(
                digest,
                DigestStats {
                    digest,
                    text: text(),
                    count: 0,
                    errors: 0,
                    total: Duration::ZERO,
                    max: Duration::ZERO,
                    on_writer: 0,
                    on_reader: 0,
                    first_seen: now,
                    last_seen: now,
                },
            );
        }
        if let Some(s) = g.get_mut(&digest) {
            s.count += 1;
            s.errors += error as u64;
            s.total += elapsed;
            s.max = s.max.max(elapsed);
            if on_writer {
                s.on_writer += 1;
            } else {
                s.on_reader += 1;
            }
            s.last_seen = now;
        }
    }

    /// The shapes by total time, largest first.
    pub fn top(&self, limit: usize) -> Vec<DigestStats> {
        let mut v: Vec<DigestStats> = Vec::new();
        for shard in &self.shards {
            let g = shard.lock().unwrap_or_else(|p| p.into_inner());
            v.extend(g.iter().map(|(_, s)| s.clone()));
        }
        v.sort_by(|a, b| b.total.cmp(&a.total).then(b.count.cmp(&a.count)));
        v.truncate(limit);
        v
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn resize(&self, capacity: usize) {
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .resize(per_shard(capacity));
        }
    }
}
