//! The topology builder's rules on tables of cases: which host is the writer, which
//! readers are eligible, and Aurora's rows.

use std::sync::Arc;

use rwsplit::config::TopologyMode;
use rwsplit::monitor::{aurora_instances, build, AuroraRow, Known, Status};
use rwsplit::route::{BackendId, Flavour, Position, Role};

fn st(up: bool, read_only: Option<bool>, lag: Option<u64>) -> Option<Status> {
    Some(Status {
        up,
        read_only,
        flavour: Flavour::MariaDb,
        position: Position::parse_mariadb("0-1-5").map(Arc::new),
        received: None,
        checked_us: 0,
        lag_ms: lag,
        replicating: None,
        idle_timeouts: None,
        write_forwarding: None,
    })
}

fn known(id: u32, hint: Option<Role>, status: Option<Status>) -> Known {
    Known {
        id: BackendId(id),
        addr: format!("10.0.0.{id}:3306"),
        role_hint: hint,
        weight: 1,
        status,
    }
}

#[test]
fn static_mode_keeps_the_configured_writer_and_checks_readers() {
    let ks = vec![
        known(0, Some(Role::Writer), st(false, None, None)), // writer down: still the writer
        known(1, Some(Role::Reader), st(true, Some(true), Some(10))),
        known(2, Some(Role::Reader), st(true, Some(true), Some(5000))), // lagging
        known(3, Some(Role::Reader), st(true, Some(false), Some(0))),   // writable: not a reader
        known(4, Some(Role::Reader), st(false, Some(true), Some(0))),   // down
        known(5, Some(Role::Reader), None),                             // not checked yet
    ];
    let t = build(TopologyMode::Static, &ks, None, 1000);
    assert_eq!(t.writer, Some(BackendId(0)));
    let eligible: Vec<u32> = t.eligible_readers().map(|b| b.id.0).collect();
    assert_eq!(eligible, vec![1]);
}

#[test]
fn stopped_replication_makes_a_reader_ineligible() {
    let mut s = st(true, Some(true), None).unwrap();
    s.replicating = Some(false);
    let ks = vec![
        known(0, Some(Role::Writer), st(true, Some(false), None)),
        known(1, Some(Role::Reader), Some(s)),
    ];
    let t = build(TopologyMode::Static, &ks, None, 1000);
    assert_eq!(t.eligible_readers().count(), 0);
}

#[test]
fn read_only_mode_finds_the_writable_host_and_follows_a_promotion() {
    type Case<'a> = (&'a [(bool, Option<bool>)], Option<u32>, Option<u32>);
    let cases: &[Case] = &[
        // (up, read_only) per host; previous writer; expected writer
        (
            &[(true, Some(false)), (true, Some(true)), (true, Some(true))],
            None,
            Some(0),
        ),
        (
            &[(false, None), (true, Some(true)), (true, Some(true))],
            Some(0),
            None,
        ), // writer died
        (
            &[(false, None), (true, Some(false)), (true, Some(true))],
            Some(0),
            Some(1),
        ), // promoted
        // two writable hosts: the current writer keeps the role
        (
            &[(true, Some(false)), (true, Some(false)), (true, Some(true))],
            Some(1),
            Some(1),
        ),
        (&[(true, None), (true, Some(true))], None, None), // unknown read_only: not a writer
    ];
    for (hosts, prev, want) in cases {
        let ks: Vec<Known> = hosts
            .iter()
            .enumerate()
            .map(|(i, (up, ro))| known(i as u32, None, st(*up, *ro, Some(0))))
            .collect();
        let t = build(TopologyMode::ReadOnly, &ks, prev.map(BackendId), 1000);
        assert_eq!(t.writer.map(|w| w.0), *want, "{hosts:?} prev {prev:?}");
        // The writer never serves reads; read-only hosts do.
        for b in &t.backends {
            assert_eq!(b.role == Role::Writer, Some(b.id) == t.writer);
            if b.eligible {
                assert_eq!(b.read_only, Some(true));
            }
        }
    }
}

fn row(id: &str, session: &str, age: f64, lag: f64) -> AuroraRow {
    AuroraRow {
        server_id: id.into(),
        session_id: session.into(),
        age_ms: Some(age),
        lag_ms: Some(lag),
    }
}

#[test]
fn aurora_rows_newest_master_session_wins_and_stale_rows_are_dropped() {
    let rows = vec![
        row("db-1", "MASTER_SESSION_ID", 20_000.0, 0.0), // the old writer, still labelled
        row("db-2", "MASTER_SESSION_ID", 100.0, 0.0),    // the new writer
        row("db-1", "6f3c-…", 100.0, 25.0),
        row("db-3", "a1b2-…", 100.0, 12.6),
        row("db-4", "dead", 600_000.0, 0.0), // stale
    ];
    let inst = aurora_instances(&rows, 60_000);
    let writer: Vec<&str> = inst.iter().filter(|i| i.1).map(|i| i.0.as_str()).collect();
    assert_eq!(writer, vec!["db-2"]);
    assert!(!inst.iter().any(|i| i.0 == "db-4"), "stale row kept");
    assert_eq!(
        inst.iter().find(|i| i.0 == "db-3").and_then(|i| i.2),
        Some(13)
    );
    assert_eq!(inst.iter().filter(|i| i.0 == "db-1").count(), 1);
}

#[test]
fn aurora_writer_must_confirm_it_is_writable() {
    // The cluster names 1 the writer, but 1 still reports read-only: writes stay on 0
    // (still writable) until 1 says otherwise.
    let ks = vec![
        known(0, Some(Role::Reader), st(true, Some(false), Some(0))),
        known(1, Some(Role::Writer), st(true, Some(true), Some(0))),
    ];
    let t = build(TopologyMode::Aurora, &ks, Some(BackendId(0)), 1000);
    assert_eq!(t.writer, Some(BackendId(0)));
    let ks = vec![
        known(0, Some(Role::Reader), st(true, Some(true), Some(0))),
        known(1, Some(Role::Writer), st(true, Some(false), Some(0))),
    ];
    let t = build(TopologyMode::Aurora, &ks, Some(BackendId(0)), 1000);
    assert_eq!(t.writer, Some(BackendId(1)));
    // Nobody writable: no writer rather than a wrong one.
    let ks = vec![
        known(0, Some(Role::Reader), st(true, Some(true), Some(0))),
        known(1, Some(Role::Writer), st(true, Some(true), Some(0))),
    ];
    assert_eq!(
        build(TopologyMode::Aurora, &ks, Some(BackendId(0)), 1000).writer,
        None
    );
}
