//! Wall-clock time as the monitor, the heartbeat and read-your-writes compare it: a leaf
//! module, so neither `monitor` nor `shared` needs the other for it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (0 if the clock is before it).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
