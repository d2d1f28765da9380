//! The session history replayed on other backends: newer literal values replace older
//! ones, and it is bounded by entries and by bytes (server.max_session_memory).

use rwsplit::session::{History, Replay};

fn set(sql: &str) -> Replay {
    Replay::Query(sql.to_string())
}

#[test]
fn a_newer_literal_value_replaces_the_older_entry_and_its_bytes() {
    let mut h = History::default();
    h.push("@a", true, set("SET @a = 1"), 10, usize::MAX)
        .expect("room");
    let one = h.bytes();
    assert!(one > 0);
    h.push("@a", true, set("SET @a = 2"), 10, usize::MAX)
        .expect("room");
    assert_eq!((h.len(), h.bytes()), (1, one));
    h.push("@b", true, set("SET @b = 2"), 10, usize::MAX)
        .expect("room");
    assert_eq!(h.len(), 2);
    assert!(h.bytes() > one);
}

#[test]
fn the_history_is_full_by_entries_or_by_bytes() {
    let mut h = History::default();
    assert!(h
        .push("@a", true, set("SET @a = 1"), 1, usize::MAX)
        .is_some());
    assert!(h
        .push("@b", true, set("SET @b = 1"), 1, usize::MAX)
        .is_none());
    assert!(h.overflowed());

    let mut h = History::default();
    let big = format!("SET @big = '{}'", "x".repeat(1000));
    assert!(h.push("@big", true, set(&big), 100, 4096).is_some());
    let held = h.bytes();
    assert!(held >= 1000);
    // A second one would pass 2 KiB.
    assert!(h.push("@big2", true, set(&big), 100, held + 500).is_none());
    assert!(h.overflowed());
    assert_eq!(h.bytes(), held);
    h.clear();
    assert_eq!((h.len(), h.bytes(), h.overflowed()), (0, 0, false));
}
