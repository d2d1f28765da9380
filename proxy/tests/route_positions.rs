//! Replication positions: parsing and inclusion, MariaDB and MySQL forms.

use rwsplit::route::Position;

#[test]
fn mariadb_positions() {
    let p = |s: &str| Position::parse_mariadb(s).unwrap();
    let cases = [
        ("0-1-10", "0-1-10", true),
        ("0-1-10", "0-1-11", false),
        ("0-1-10", "0-2-9", true), // server id does not matter for ordering within a domain
        ("0-1-10,1-3-5", "1-3-5", true),
        ("0-1-10", "0-1-10,1-3-1", false),
        ("", "0-1-1", false),
        ("0-1-1", "", true),
    ];
    for (have, want, expect) in cases {
        assert_eq!(p(have).includes(&p(want)), expect, "{have} ⊇ {want}");
    }
    assert!(Position::parse_mariadb("0-1").is_none());
    assert!(Position::parse_mariadb("x-1-2").is_none());
}

#[test]
fn mysql_gtid_sets() {
    let p = |s: &str| Position::parse_mysql(s).unwrap();
    let u = "3E11FA47-71CA-11E1-9E33-C80AA9429562";
    let cases = [
        (format!("{u}:1-5"), format!("{u}:3"), true),
        (format!("{u}:1-5"), format!("{u}:6"), false),
        (format!("{u}:1-5:7-9"), format!("{u}:7-8"), true),
        (format!("{u}:1-5:7-9"), format!("{u}:5-7"), false),
        (
            format!("{u}:1-5,{}:1-2", u.to_lowercase().replace('3', "4")),
            format!("{u}:1-5"),
            true,
        ),
        (format!("{u}:1-3:4-6"), format!("{u}:2-5"), true), // adjacent intervals merge
    ];
    for (have, want, expect) in cases {
        assert_eq!(p(&have).includes(&p(&want)), expect, "{have} ⊇ {want}");
    }
    assert!(!p(&format!("{u}:1-5")).includes(&Position::parse_mariadb("0-1-1").unwrap()));
}

#[test]
fn unions_of_positions() {
    let m = |s: &str| Position::parse_mariadb(s).unwrap();
    let cases = [
        ("0-1-10", "0-2-12", "0-0-12"),
        ("0-1-10,1-3-5", "0-1-9", "0-0-10,1-0-5"),
        ("0-1-10", "", "0-0-10"),
        ("2-1-1", "0-1-4", "0-0-4,2-0-1"),
    ];
    for (a, b, want) in cases {
        let u = m(a).union(&m(b)).unwrap();
        assert_eq!(u.to_text(), want, "{a} ∪ {b}");
        assert!(u.includes(&m(a)) && u.includes(&m(b)), "{a} ∪ {b}");
    }
    let y = |s: &str| Position::parse_mysql(s).unwrap();
    let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    let v = "4e11fa47-71ca-11e1-9e33-c80aa9429563";
    let joined = y(&format!("{u}:1-5"))
        .union(&y(&format!("{u}:6-9,{v}:3")))
        .unwrap();
    assert_eq!(joined.to_text(), format!("{u}:1-9,{v}:3"));
    assert!(m("0-1-1").union(&y(&format!("{u}:1"))).is_none());
}

/// With the writer gone, a read waits for what the replicas that are up have applied
/// between them: a replica that is down, or the writer, does not count.
#[test]
fn the_replicas_position_is_the_union_of_the_up_replicas() {
    use rwsplit::route::{Backend, BackendId, Role, Topology};
    use std::sync::Arc;
    let backend = |id: u32, role: Role, up: bool, pos: Option<&str>| {
        let mut b = Backend::new(BackendId(id), format!("127.0.0.1:{id}"), role);
        b.up = up;
        b.position = pos.map(|p| Arc::new(Position::parse_mariadb(p).unwrap()));
        b
    };
    let topo = Topology {
        writer: None,
        backends: vec![
            backend(1, Role::Writer, false, Some("0-1-500")),
            backend(2, Role::Reader, true, Some("0-1-429")),
            backend(3, Role::Reader, true, Some("0-1-431,1-2-7")),
            backend(4, Role::Reader, false, Some("0-1-450")),
            backend(5, Role::Reader, true, None),
        ],
    };
    let p = topo.replicas_position().unwrap();
    assert_eq!(p.to_text(), "0-0-431,1-0-7");
    let none = Topology {
        writer: None,
        backends: vec![backend(2, Role::Reader, true, None)],
    };
    assert_eq!(none.replicas_position(), None);
}

/// What a replica has received counts where the monitor knows it: a write the dead
/// writer acknowledged may be in a replica's relay log, not yet applied anywhere.
#[test]
fn the_replicas_position_counts_what_they_received() {
    use rwsplit::route::{Backend, BackendId, Role, Topology};
    use std::sync::Arc;
    let pos = |p: &str| Some(Arc::new(Position::parse_mariadb(p).unwrap()));
    let backend = |id: u32, applied: &str, received: Option<&str>| {
        let mut b = Backend::new(BackendId(id), format!("127.0.0.1:{id}"), Role::Reader);
        b.position = pos(applied);
        b.received = received.and_then(pos);
        b
    };
    let cases = [
        // (applied, received) of two replicas -> what a read must wait for
        (("0-1-10", None), ("0-1-12", None), "0-0-12"),
        (("0-1-10", Some("0-1-15")), ("0-1-12", None), "0-0-15"),
        (
            ("0-1-10", Some("0-1-15")),
            ("0-1-12", Some("0-1-16")),
            "0-0-16",
        ),
        (
            ("0-1-10", Some("0-1-10,1-1-3")),
            ("0-1-12", None),
            "0-0-12,1-0-3",
        ),
    ];
    for ((a1, r1), (a2, r2), want) in cases {
        let topo = Topology {
            writer: None,
            backends: vec![backend(2, a1, r1), backend(3, a2, r2)],
        };
        let got = topo.replicas_position().unwrap().to_text();
        assert_eq!(got, want, "applied {a1}/{a2}, received {r1:?}/{r2:?}");
    }
}

/// The replicas' position includes a write acknowledged at `t` only once every replica
/// that is up was checked at or after `t`; one that is down is not waited for.
#[test]
fn the_replicas_are_checked_since_a_time_once_each_up_one_was() {
    use rwsplit::route::{Backend, BackendId, Role, Topology};
    let backend = |id: u32, role: Role, up: bool, checked_us: u64| {
        let mut b = Backend::new(BackendId(id), format!("127.0.0.1:{id}"), role);
        b.up = up;
        b.checked_us = checked_us;
        b
    };
    let cases = [
        // (replica 2, replica 3, writer) as (up, checked at); since; checked since
        ((true, 100), (true, 100), (false, 0), 100, true),
        ((true, 100), (true, 99), (false, 0), 100, false),
        ((true, 150), (false, 10), (false, 0), 100, true),
        ((true, 150), (true, 120), (true, 0), 100, true),
        ((false, 0), (false, 0), (false, 0), 100, true),
        ((true, 0), (true, 500), (false, 0), 100, false),
    ];
    for (r2, r3, w, since, want) in cases {
        let topo = Topology {
            writer: None,
            backends: vec![
                backend(1, Role::Writer, w.0, w.1),
                backend(2, Role::Reader, r2.0, r2.1),
                backend(3, Role::Reader, r3.0, r3.1),
            ],
        };
        assert_eq!(
            topo.replicas_checked_since(since),
            want,
            "{r2:?} {r3:?} writer {w:?} since {since}"
        );
    }
}
