//! A backend connection's prepared statements (`StmtCache`): by client id or by text,
//! the bound on those shared by text, least recently used out first. Pure.

use std::sync::Arc;

use rwsplit::backend::{BackendStmt, StmtCache, StmtKey};

fn text(s: &str) -> StmtKey {
    StmtKey::Text {
        sql: Arc::from(s.as_bytes()),
        db: None,
    }
}

#[test]
fn past_the_bound_the_least_recently_used_text_goes() {
    let mut c = StmtCache::default();
    assert_eq!(c.insert(text("a"), BackendStmt::new(1, 0), 2), None);
    assert_eq!(c.insert(text("b"), BackendStmt::new(2, 0), 2), None);
    // "a" is used again: "b" is now the oldest.
    assert_eq!(c.get(&text("a")).map(|s| s.id), Some(1));
    assert_eq!(c.insert(text("c"), BackendStmt::new(3, 0), 2), Some(2));
    assert_eq!(c.peek(&text("b")), None);
    assert_eq!(c.len(), 2);
    // Statements known by client id do not count against the bound, nor get pushed out.
    assert_eq!(
        c.insert(StmtKey::Client(9), BackendStmt::new(4, 0), 2),
        None
    );
    assert_eq!(c.insert(text("d"), BackendStmt::new(5, 0), 2), Some(1));
    assert!(c.peek(&StmtKey::Client(9)).is_some());
}

#[test]
fn a_key_prepared_again_gives_back_the_old_id_to_close() {
    let mut c = StmtCache::default();
    c.insert(text("a"), BackendStmt::new(1, 0), 8);
    assert_eq!(c.insert(text("a"), BackendStmt::new(7, 0), 8), Some(1));
    assert_eq!(c.get(&text("a")).map(|s| s.id), Some(7));
}

#[test]
fn only_a_client_statement_remembers_its_parameter_types() {
    let mut c = StmtCache::default();
    c.insert(text("a"), BackendStmt::new(1, 0), 8);
    c.insert(StmtKey::Client(3), BackendStmt::new(2, 0), 8);
    c.types_sent(&text("a"));
    c.types_sent(&StmtKey::Client(3));
    assert!(!c.peek(&text("a")).unwrap().types_sent);
    assert!(c.peek(&StmtKey::Client(3)).unwrap().types_sent);
}
