//! The idle limit's pure parts: the shorter bound wins; which statements may set
//! `wait_timeout`; which global a new connection starts from.

use mysql_common::constants::CapabilityFlags;

use super::*;
use crate::route::{Backend, BackendId, Role};

#[test]
fn the_shorter_bound_wins() {
    let s = Duration::from_secs;
    let cases = [
        (0, None, None),
        (0, Some(5), Some(s(5))),
        (2_000, None, Some(s(2))),
        (2_000, Some(5), Some(s(2))),
        (10_000, Some(1), Some(s(1))),
        (0, Some(0), Some(s(0))),
    ];
    for (operator, wait, want) in cases {
        assert_eq!(limit(operator, wait), want, "{operator} ms, {wait:?} s");
    }
}

#[test]
fn statements_that_name_wait_timeout() {
    for sql in [
        "SET wait_timeout=1",
        "set session WAIT_TIMEOUT = 10",
        "SET @@session.wait_timeout=1, autocommit=1",
        "SET SESSION wait_timeout = DEFAULT",
    ] {
        assert!(may_set_wait_timeout(sql.as_bytes()), "{sql}");
    }
    for sql in [
        "SET autocommit=1",
        "SET NAMES utf8mb4",
        "SET interactive_timeout=5",
    ] {
        assert!(!may_set_wait_timeout(sql.as_bytes()), "{sql}");
    }
}

#[test]
fn a_new_connection_starts_from_the_writers_globals() {
    let mut w = Backend::new(BackendId(0), "w:3306", Role::Writer);
    let topo = |w: &Backend| Topology {
        writer: Some(BackendId(0)),
        backends: vec![w.clone()],
    };
    assert_eq!(
        initial_wait_timeout(&topo(&w), CapabilityFlags::empty()),
        None
    );
    w.idle_timeouts = Some((600, 28_800));
    assert_eq!(
        initial_wait_timeout(&topo(&w), CapabilityFlags::empty()),
        Some(600)
    );
    assert_eq!(
        initial_wait_timeout(&topo(&w), CapabilityFlags::CLIENT_INTERACTIVE),
        Some(28_800)
    );
    let no_writer = Topology {
        writer: None,
        backends: vec![w],
    };
    assert_eq!(
        initial_wait_timeout(&no_writer, CapabilityFlags::empty()),
        None
    );
}
