//! Choosing which reader serves a read: pure functions of the topology, the readers'
//! current load and a ticket (a number that grows by one per choice).

use crate::config::Policy;

use super::topology::{Backend, BackendId, Topology};

/// A reader's current load, as the session layer measures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    /// Statements running on it now (through this rwsplit).
    pub active: u32,
    /// Moving average of its response time, in microseconds (0 = not measured yet).
    pub ewma_us: u64,
}

/// Chooses an eligible reader by `policy`, skipping `exclude`: the one function that picks
/// a reader, for a first choice and for every retry alike.
pub fn choose_reader(
    topology: &Topology,
    policy: Policy,
    ticket: u64,
    exclude: &[BackendId],
    load: impl Fn(BackendId) -> Load,
) -> Option<BackendId> {
    let candidates = || {
        topology
            .eligible_readers()
            .filter(move |b| !exclude.contains(&b.id))
    };
    let total: u64 = candidates().map(|b| b.weight as u64).sum();
    if total == 0 {
        return None;
    }
    match policy {
        Policy::RoundRobin => round_robin(candidates(), ticket % total),
        Policy::LeastConnections => least_connections(candidates, ticket, &load),
        Policy::Latency => latency(candidates(), ticket, &load),
    }
}

/// The reader whose weighted slot holds `slot` (`ticket % total weight`).
fn round_robin<'t>(
    candidates: impl Iterator<Item = &'t Backend>,
    mut slot: u64,
) -> Option<BackendId> {
    for b in candidates {
        let w = b.weight as u64;
        if slot < w {
            return Some(b.id);
        }
        slot -= w;
    }
    None
}

/// Fewest active statements per unit of weight; ties rotate with the ticket.
fn least_connections<'t, I: Iterator<Item = &'t Backend>>(
    candidates: impl Fn() -> I,
    ticket: u64,
    load: &impl Fn(BackendId) -> Load,
) -> Option<BackendId> {
    let n = candidates().count() as u64;
    let start = ticket % n.max(1);
    candidates()
        .enumerate()
        .min_by_key(|(i, b)| {
            let active = load(b.id).active as u64;
            let rotation = (*i as u64 + n - start) % n.max(1);
            // active/weight compared as fractions: active * LCM-ish scale / weight
            ((active * 1_000_000) / b.weight as u64, rotation)
        })
        .map(|(_, b)| b.id)
}

/// Power of two choices: two readers picked from the ticket; the faster wins.
fn latency<'t>(
    candidates: impl Iterator<Item = &'t Backend>,
    ticket: u64,
    load: &impl Fn(BackendId) -> Load,
) -> Option<BackendId> {
    let list: Vec<BackendId> = candidates.map(|b| b.id).collect();
    let n = list.len() as u64;
    if n <= 1 {
        return list.first().copied();
    }
    let h = mix(ticket);
    let a = (h % n) as usize;
    let mut b = ((h >> 32) % (n - 1)) as usize;
    if b >= a {
        b += 1;
    }
    let (la, lb) = (load(list[a]), load(list[b]));
    // Unmeasured readers go first so they get measured.
    let key = |l: Load| (l.ewma_us != 0, l.ewma_us, l.active);
    Some(if key(lb) < key(la) { list[b] } else { list[a] })
}

/// A bijective scrambling of the ticket (splitmix64).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
