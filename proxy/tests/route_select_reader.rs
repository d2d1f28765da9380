//! choose_reader with the round_robin policy: weighted round robin over the eligible readers, by ticket; excluded
//! readers are skipped; the writer is never chosen; no candidate → None.

mod common_route;

use common_route::{no_readers, topology};
use rwsplit::config::Policy;
use rwsplit::route::{choose_reader, Backend, BackendId, Load, Role, Topology};

/// Weighted round robin (the `round_robin` policy), loads ignored.
fn select_reader(t: &Topology, ticket: u64, exclude: &[BackendId]) -> Option<BackendId> {
    choose_reader(t, Policy::RoundRobin, ticket, exclude, |_| Load::default())
}

/// A reader: (id, weight, eligible).
type R = (u32, u32, bool);

fn topo(readers: &[R]) -> Topology {
    let mut backends = vec![Backend::new(BackendId(0), "w:3306", Role::Writer)];
    for &(id, weight, eligible) in readers {
        let mut b = Backend::new(BackendId(id), format!("r{id}:3306"), Role::Reader);
        b.weight = weight;
        b.eligible = eligible;
        backends.push(b);
    }
    Topology {
        writer: Some(BackendId(0)),
        backends,
    }
}

/// (name, readers, excluded ids, [(ticket, chosen id)])
type Case = (
    &'static str,
    &'static [R],
    &'static [u32],
    &'static [(u64, Option<u32>)],
);

#[rustfmt::skip]
const CASES: &[Case] = &[
    ("two equal readers alternate", &[(1, 1, true), (2, 1, true)], &[], &[(0, Some(1)), (1, Some(2)), (2, Some(1)), (3, Some(2)), (1001, Some(2))]),
    ("weights 3:1", &[(1, 3, true), (2, 1, true)], &[], &[(0, Some(1)), (1, Some(1)), (2, Some(1)), (3, Some(2)), (4, Some(1)), (7, Some(2))]),
    ("weights 1:2:3", &[(1, 1, true), (2, 2, true), (3, 3, true)], &[], &[(0, Some(1)), (1, Some(2)), (2, Some(2)), (3, Some(3)), (5, Some(3)), (6, Some(1))]),
    ("an excluded reader is skipped", &[(1, 1, true), (2, 1, true)], &[1], &[(0, Some(2)), (1, Some(2)), (2, Some(2))]),
    ("excluding the writer changes nothing", &[(1, 1, true), (2, 1, true)], &[0], &[(0, Some(1)), (1, Some(2))]),
    ("every reader excluded", &[(1, 1, true), (2, 1, true)], &[1, 2], &[(0, None), (1, None)]),
    ("an ineligible reader is skipped", &[(1, 1, false), (2, 1, true), (3, 1, true)], &[], &[(0, Some(2)), (1, Some(3)), (2, Some(2))]),
    ("a reader of weight 0 is skipped", &[(1, 0, true), (2, 1, true)], &[], &[(0, Some(2)), (1, Some(2))]),
    ("no eligible reader", &[(1, 1, false), (2, 1, false)], &[], &[(0, None), (7, None)]),
    ("only weight 0", &[(1, 0, true)], &[], &[(0, None)]),
    ("no readers at all", &[], &[], &[
        (0, None),
    ]),
    ("huge tickets", &[(1, 1, true), (2, 1, true)], &[], &[(u64::MAX, Some(2)), (u64::MAX - 1, Some(1))]),
];

#[test]
fn weighted_round_robin() {
    let mut bad = Vec::new();
    for &(name, readers, exclude, picks) in CASES {
        let t = topo(readers);
        let ex: Vec<BackendId> = exclude.iter().map(|&i| BackendId(i)).collect();
        for &(ticket, want) in picks {
            let got = select_reader(&t, ticket, &ex).map(|b| b.0);
            if got != want {
                bad.push(format!("[{name}] ticket {ticket}: {got:?}, want {want:?}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn shares_follow_the_weights_exactly_over_whole_rounds() {
    let t = topo(&[
        (1, 5, true),
        (2, 3, true),
        (3, 0, true),
        (4, 2, true),
        (5, 4, false),
    ]);
    let mut counts = std::collections::BTreeMap::new();
    for ticket in 0..10 * 100 {
        *counts
            .entry(select_reader(&t, ticket, &[]).map(|b| b.0))
            .or_insert(0) += 1;
    }
    let want = std::collections::BTreeMap::from([(Some(1), 500), (Some(2), 300), (Some(4), 200)]);
    assert_eq!(counts, want);
}

#[test]
fn the_writer_is_never_chosen() {
    // Even marked eligible, a writer is not a reader.
    let mut t = topo(&[(1, 1, true)]);
    t.backends[0].eligible = true;
    for ticket in 0..10 {
        assert_eq!(select_reader(&t, ticket, &[]), Some(BackendId(1)));
    }
    let mut t = topo(&[]);
    t.backends[0].eligible = true;
    assert_eq!(select_reader(&t, 0, &[]), None);
}

#[test]
fn the_shared_topologies() {
    // The helper's topology: readers #1 and #2; its no-reader variant: none.
    let t = topology();
    let picks: Vec<Option<BackendId>> = (0..4).map(|k| select_reader(&t, k, &[])).collect();
    assert_eq!(
        picks,
        [
            Some(BackendId(1)),
            Some(BackendId(2)),
            Some(BackendId(1)),
            Some(BackendId(2))
        ]
    );
    assert_eq!(select_reader(&t, 0, &[BackendId(1)]), Some(BackendId(2)));
    assert_eq!(select_reader(&no_readers(), 0, &[]), None);
}
