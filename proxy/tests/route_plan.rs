//! `route::plan`: the route, the prelude, refusals (fallback = "error", writes in a
//! reader's read-only transaction) and the readers in the order the policy prefers.

mod common_route;
use common_route::*;

use rwsplit::config::{Fallback, Policy};
use rwsplit::route::{
    plan, plan_cursor, plan_prepare, BackendId, Load, Plan, PlanPolicy, Prelude, Refusal, Served,
};

/// Loads: reader 1 runs `a` statements at `ewma_a` µs, reader 2 `b` at `ewma_b`.
fn loads(a: u32, ewma_a: u64, b: u32, ewma_b: u64) -> impl Fn(BackendId) -> Load {
    move |id| match id.0 {
        1 => Load {
            active: a,
            ewma_us: ewma_a,
        },
        2 => Load {
            active: b,
            ewma_us: ewma_b,
        },
        _ => Load::default(),
    }
}

fn plan_in(sim: &Sim, sql: &str, policy: Policy, fallback: Fallback, ticket: u64) -> Plan {
    plan_with(sim, sql, policy, fallback, ticket, &loads(0, 0, 0, 0))
}

fn plan_with(
    sim: &Sim,
    sql: &str,
    policy: Policy,
    fallback: Fallback,
    ticket: u64,
    load: &dyn Fn(BackendId) -> Load,
) -> Plan {
    let st = sim.c.classify(sql.as_bytes());
    let taken = std::cell::Cell::new(0);
    let next = || {
        taken.set(taken.get() + 1);
        ticket
    };
    let p = PlanPolicy {
        policy,
        fallback,
        ticket: &next,
        load,
    };
    let planned = plan(&st, &sim.state, &sim.t, &p);
    // A ticket is taken only when readers are chosen (writes do not stride round robin).
    assert_eq!(
        taken.get(),
        usize::from(!planned.candidates.is_empty()),
        "{sql}: tickets taken"
    );
    planned
}

fn ids(v: &[u32]) -> Vec<BackendId> {
    v.iter().map(|i| BackendId(*i)).collect()
}

#[test]
fn plans_for_every_reason_in_a_fresh_session() {
    let sim = Sim::default();
    // (sql, route, candidates)
    let cases: &[(&str, &str, &[u32])] = &[
        ("SELECT 1", "reader:read", &[1, 2]),
        ("INSERT INTO t VALUES (1)", "writer:write", &[]),
        ("BEGIN", "writer:transaction", &[]),
        ("SELECT * FROM t FOR UPDATE", "writer:locking_read", &[]),
        (
            "SELECT LAST_INSERT_ID()",
            "writer:side_effect_function",
            &[],
        ),
        ("SET @a = 1", "writer:session_state", &[]),
        ("/* rwsplit:writer */ SELECT 1", "writer:hint", &[]),
        ("SHOW PROCESSLIST", "writer:other", &[]),
        ("SELECT 1; SELECT 2", "writer:multi_statement", &[]),
        (
            "SELECT @@server_id FROM information_schema.PROCESSLIST",
            "writer:other",
            &[],
        ),
    ];
    let mut bad = Vec::new();
    for (sql, want, candidates) in cases {
        let p = plan_in(&sim, sql, Policy::RoundRobin, Fallback::Writer, 0);
        let got = describe(&p.route);
        if got != *want
            || p.candidates != ids(candidates)
            || p.prelude.is_some()
            || p.refusal.is_some()
        {
            bad.push(format!(
                "{sql}: got {got} {:?} {:?} {:?}",
                p.candidates, p.prelude, p.refusal
            ));
        }
        let first = p.first(&sim.t);
        let want_first = match candidates.first() {
            Some(i) => Served::Reader(BackendId(*i)),
            None => Served::Writer,
        };
        if first != want_first {
            bad.push(format!("{sql}: first {first:?}, want {want_first:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn candidates_follow_the_policy() {
    let sim = Sim::default();
    // (policy, ticket, loads, order)
    type Case = (Policy, u64, (u32, u64, u32, u64), [u32; 2]);
    let cases: &[Case] = &[
        (Policy::RoundRobin, 0, (0, 0, 0, 0), [1, 2]),
        (Policy::RoundRobin, 1, (0, 0, 0, 0), [2, 1]),
        (Policy::RoundRobin, 1, (9, 0, 0, 0), [2, 1]),
        (Policy::LeastConnections, 0, (3, 0, 0, 0), [2, 1]),
        (Policy::LeastConnections, 1, (0, 0, 3, 0), [1, 2]),
        (Policy::LeastConnections, 0, (1, 0, 1, 0), [1, 2]),
        (Policy::LeastConnections, 1, (1, 0, 1, 0), [2, 1]),
        (Policy::Latency, 0, (0, 90_000, 0, 300), [2, 1]),
        (Policy::Latency, 7, (0, 300, 0, 90_000), [1, 2]),
        // an unmeasured reader goes first, so it gets measured
        (Policy::Latency, 3, (0, 300, 0, 0), [2, 1]),
    ];
    let mut bad = Vec::new();
    for (policy, ticket, (a, ea, b, eb), want) in cases {
        let load = loads(*a, *ea, *b, *eb);
        let p = plan_with(&sim, "SELECT 1", *policy, Fallback::Writer, *ticket, &load);
        if p.candidates != ids(want) {
            bad.push(format!(
                "{policy:?} ticket {ticket} loads {:?}: {:?}, want {want:?}",
                (a, ea, b, eb),
                p.candidates
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_session_walks_the_candidates_then_the_writer() {
    let sim = Sim::default();
    let p = plan_in(&sim, "SELECT 1", Policy::RoundRobin, Fallback::Writer, 1);
    assert_eq!(p.first(&sim.t), Served::Reader(BackendId(2)));
    assert_eq!(p.next_reader(&ids(&[2])), Some(BackendId(1)));
    assert_eq!(p.next_reader(&ids(&[2, 1])), None);
    // Not a read for any reader: no candidates to walk.
    let p = plan_in(
        &sim,
        "UPDATE t SET a = 1",
        Policy::RoundRobin,
        Fallback::Writer,
        1,
    );
    assert_eq!(p.next_reader(&[]), None);
}

#[test]
fn no_eligible_reader_falls_back_or_refuses() {
    let mut sim = Sim::default();
    sim.t = no_readers();
    let p = plan_in(
        &sim,
        "SELECT 1",
        Policy::LeastConnections,
        Fallback::Writer,
        0,
    );
    assert_eq!(describe(&p.route), "writer:no_reader");
    assert_eq!(p.refusal, None);
    assert_eq!(p.first(&sim.t), Served::Writer);
    let p = plan_in(
        &sim,
        "SELECT 1",
        Policy::LeastConnections,
        Fallback::Error,
        0,
    );
    assert_eq!(p.refusal, Some(Refusal::NoReader));
    assert!(p.candidates.is_empty());
    // Only reads are refused: a write still goes to the writer.
    let p = plan_in(
        &sim,
        "DELETE FROM t",
        Policy::LeastConnections,
        Fallback::Error,
        0,
    );
    assert_eq!(
        (describe(&p.route).as_str(), p.refusal),
        ("writer:write", None)
    );
    // Readers back: the same read is planned for them.
    sim.t = topology();
    let p = plan_in(
        &sim,
        "SELECT 1",
        Policy::LeastConnections,
        Fallback::Error,
        0,
    );
    assert_eq!((p.refusal, p.candidates.len()), (None, 2));
}

#[test]
fn a_readers_read_only_transaction_plans_its_prelude_and_refusals() {
    let mut sim = Sim::default();
    sim.run("START TRANSACTION READ ONLY");
    sim.run("SELECT 1");
    // Inside it: reads stay on its reader, writes are refused.
    let p = plan_in(&sim, "SELECT 2", Policy::RoundRobin, Fallback::Writer, 0);
    assert_eq!(describe(&p.route), "backend1:in_transaction");
    assert_eq!(p.first(&sim.t), Served::Reader(BackendId(1)));
    let p = plan_in(
        &sim,
        "INSERT INTO t VALUES (1)",
        Policy::RoundRobin,
        Fallback::Writer,
        0,
    );
    assert_eq!(p.refusal, Some(Refusal::ReadOnlyTransaction));
    // BEGIN: commit it on the reader first, then a read-write transaction on the writer.
    let p = plan_in(&sim, "BEGIN", Policy::RoundRobin, Fallback::Writer, 0);
    assert_eq!(
        p.prelude,
        Some(Prelude::CommitReaderTransaction(BackendId(1)))
    );
    assert_eq!(describe(&p.route), "writer:transaction");
    assert_eq!(p.refusal, None);
    assert_eq!(p.first(&sim.t), Served::Writer);
}

#[test]
fn stale_and_failed_readers_give_way_in_order_then_to_the_writer() {
    let sim = Sim::default();
    let p = plan_in(&sim, "SELECT 1", Policy::RoundRobin, Fallback::Writer, 0);
    // (tried, after a stale reader, after a failed one)
    let cases: &[(&[u32], (Served, &str), Served)] = &[
        (
            &[1],
            (Served::Reader(BackendId(2)), "read"),
            Served::Reader(BackendId(2)),
        ),
        (&[1, 2], (Served::Writer, "consistency"), Served::Writer),
        (&[2, 1], (Served::Writer, "consistency"), Served::Writer),
    ];
    for (tried, (stale, reason), failed) in cases {
        let (served, r) = p.after_stale(&ids(tried), p.route.reason);
        assert_eq!(
            (served, r.label()),
            (*stale, *reason),
            "stale after {tried:?}"
        );
        assert_eq!(
            p.after_failure(&ids(tried)),
            *failed,
            "failed after {tried:?}"
        );
    }
    // A statement bound to one reader (its read-only transaction) has no one to give
    // way to but the writer.
    let mut sim = Sim::default();
    sim.run("START TRANSACTION READ ONLY");
    sim.run("SELECT 1");
    let p = plan_in(&sim, "SELECT 2", Policy::RoundRobin, Fallback::Writer, 0);
    assert_eq!(p.after_failure(&ids(&[1])), Served::Writer);
}

#[test]
fn prepares_go_to_the_writer_and_to_readers_by_policy_while_it_is_away() {
    let sim = Sim::default();
    let taken = std::cell::Cell::new(0);
    let ticket = || {
        taken.set(taken.get() + 1);
        1
    };
    let load = loads(0, 0, 0, 0);
    let p = PlanPolicy {
        policy: Policy::RoundRobin,
        fallback: Fallback::Writer,
        ticket: &ticket,
        load: &load,
    };
    let at_writer = plan_prepare(&sim.t, false, &p);
    assert_eq!(describe(&at_writer.route), "writer:other");
    assert_eq!(at_writer.first(&sim.t), Served::Writer);
    assert_eq!(taken.get(), 0, "no ticket for a prepare on the writer");
    let away = plan_prepare(&sim.t, true, &p);
    assert_eq!(away.candidates, ids(&[2, 1]));
    assert_eq!(away.first(&sim.t), Served::Reader(BackendId(2)));
    assert_eq!(taken.get(), 1);
    let lc = PlanPolicy {
        policy: Policy::LeastConnections,
        load: &loads(4, 0, 9, 0),
        ..p
    };
    assert_eq!(plan_prepare(&sim.t, true, &lc).candidates, ids(&[1, 2]));
    // No reader either: nowhere to prepare.
    assert_eq!(plan_prepare(&no_readers(), true, &p).next_reader(&[]), None);
}

#[test]
fn fetches_go_to_the_backend_holding_the_cursor_and_nowhere_else() {
    let sim = Sim::default();
    let cases: &[(Option<Served>, Served)] = &[
        (
            Some(Served::Reader(BackendId(2))),
            Served::Reader(BackendId(2)),
        ),
        (Some(Served::Writer), Served::Writer),
        (None, Served::Writer),
    ];
    for (cursor, want) in cases {
        let p = plan_cursor(*cursor, &sim.t);
        assert_eq!(p.first(&sim.t), *want, "{cursor:?}");
        assert_eq!(p.after_failure(&ids(&[1, 2])), Served::Writer);
        assert!(p.candidates.is_empty(), "{cursor:?}: no other backend");
    }
}
