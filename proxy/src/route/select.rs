//! Choosing which reader serves a read: a pure function of the topology and a ticket.

use super::topology::{BackendId, Topology};

/// Weighted round robin: `ticket` is a number that increases by one per read (a shared
/// counter), so consecutive reads walk the eligible readers in proportion to their weights.
/// Readers in `exclude` (those that just failed) are skipped.
pub fn select_reader(topology: &Topology, ticket: u64, exclude: &[BackendId]) -> Option<BackendId> {
    let total: u64 = topology
        .eligible_readers()
        .filter(|b| !exclude.contains(&b.id))
        .map(|b| b.weight as u64)
        .sum();
    if total == 0 {
        return None;
    }
    let mut slot = ticket % total;
    for b in topology
        .eligible_readers()
        .filter(|b| !exclude.contains(&b.id))
    {
        let w = b.weight as u64;
        if slot < w {
            return Some(b.id);
        }
        slot -= w;
    }
    None
}
