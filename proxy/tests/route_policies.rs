//! Reader choice: round robin, least connections, latency; weights and exclusions.

use std::collections::HashMap;

use rwsplit::config::Policy;
use rwsplit::route::{choose_reader, Backend, BackendId, Load, Role, Topology};

fn topo(weights: &[u32]) -> Topology {
    let mut backends = vec![Backend::new(BackendId(0), "w:1", Role::Writer)];
    for (i, w) in weights.iter().enumerate() {
        let mut b = Backend::new(BackendId(i as u32 + 1), format!("r{i}:1"), Role::Reader);
        b.weight = *w;
        backends.push(b);
    }
    Topology {
        writer: Some(BackendId(0)),
        backends,
    }
}

fn spread(
    t: &Topology,
    policy: Policy,
    n: u64,
    load: impl Fn(BackendId) -> Load,
) -> HashMap<u32, u64> {
    let mut m = HashMap::new();
    for ticket in 0..n {
        let id = choose_reader(t, policy, ticket, &[], &load).unwrap();
        *m.entry(id.0).or_insert(0) += 1;
    }
    m
}

#[test]
fn round_robin_follows_weights() {
    let t = topo(&[1, 3]);
    let m = spread(&t, Policy::RoundRobin, 400, |_| Load::default());
    assert_eq!((m[&1], m[&2]), (100, 300));
    // weight 0: no reads
    let t = topo(&[0, 1]);
    let m = spread(&t, Policy::RoundRobin, 10, |_| Load::default());
    assert_eq!(m.get(&1), None);
}

#[test]
fn least_connections_prefers_the_idle_reader() {
    let t = topo(&[1, 1, 1]);
    let m = spread(&t, Policy::LeastConnections, 30, |id| Load {
        active: if id.0 == 2 { 0 } else { 5 },
        ewma_us: 0,
    });
    assert_eq!(m.get(&2), Some(&30));
    // Equal load: rotates over all.
    let m = spread(&t, Policy::LeastConnections, 30, |_| Load::default());
    assert_eq!(m.len(), 3);
    assert!(m.values().all(|v| *v == 10), "{m:?}");
    // Weights: 4 active on a weight-4 reader equals 1 active on a weight-1 reader.
    let t = topo(&[1, 4]);
    let pick = choose_reader(&t, Policy::LeastConnections, 0, &[], |id| Load {
        active: if id.0 == 1 { 2 } else { 4 },
        ewma_us: 0,
    });
    assert_eq!(pick, Some(BackendId(2)));
}

#[test]
fn latency_prefers_the_faster_reader() {
    let t = topo(&[1, 1]);
    let m = spread(&t, Policy::Latency, 200, |id| Load {
        active: 0,
        ewma_us: if id.0 == 1 { 5000 } else { 300 },
    });
    assert_eq!(m.get(&2), Some(&200));
    // With three readers, the slowest is never chosen (it always loses its pair).
    let t = topo(&[1, 1, 1]);
    let m = spread(&t, Policy::Latency, 300, |id| Load {
        active: 0,
        ewma_us: 100 * id.0 as u64,
    });
    assert_eq!(m.get(&3), None, "{m:?}");
    assert!(m.get(&1).copied().unwrap_or(0) > 0);
}

#[test]
fn exclusions_and_empty_topologies() {
    let t = topo(&[1, 1]);
    for policy in [
        Policy::RoundRobin,
        Policy::LeastConnections,
        Policy::Latency,
    ] {
        for ticket in 0..20 {
            assert_eq!(
                choose_reader(&t, policy, ticket, &[BackendId(1)], |_| Load::default()),
                Some(BackendId(2))
            );
            assert_eq!(
                choose_reader(&t, policy, ticket, &[BackendId(1), BackendId(2)], |_| {
                    Load::default()
                }),
                None
            );
        }
        assert_eq!(
            choose_reader(&topo(&[]), policy, 0, &[], |_| Load::default()),
            None
        );
    }
}
