//! Several statements in one query: the writer runs them; session changes and temporary
//! tables inside them are tracked.

mod common_route;
use common_route::*;

const CASES: &[(&str, &str)] = &[
    (
        "INSERT INTO t VALUES (1); SELECT LAST_INSERT_ID()",
        "writer",
    ),
    ("SET autocommit=0; SELECT 1", "writer"),
    ("BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT", "writer"),
    ("SELECT 1;", "reader:read"),
    ("SELECT 1; ", "reader:read"),
    ("SELECT 1; -- trailing comment", "reader:read"),
    ("SELECT 1; SELECT 2;", "writer:multi_statement"),
    ("SELECT 1; SELECT 2", "writer:multi_statement"),
    ("SELECT ';'; ", "reader:read"),
    (
        "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
        "writer",
    ),
];

#[test]
fn multi_statements() {
    check_fresh(CASES);
}

#[test]
fn state_changes_inside_are_tracked() {
    check_sequence(
        "SET inside",
        &[
            ("SET @x = 1; SELECT @x", "writer"),
            ("SELECT @x", "reader:read"),
        ],
    );
    check_sequence(
        "temporary table inside",
        &[
            (
                "CREATE TEMPORARY TABLE t1 (id INT); SELECT * FROM t1",
                "writer",
            ),
            ("SELECT * FROM t1", "writer:temp_table"),
            ("DROP TEMPORARY TABLE t1; SELECT 1", "writer"),
            ("SELECT 1", "reader"),
        ],
    );
    check_sequence(
        "transaction opened inside",
        &[
            ("BEGIN; SELECT 1", "writer"),
            ("SELECT 1", "writer:in_transaction"),
            ("COMMIT", "writer"),
            ("SELECT 1", "reader"),
        ],
    );
    check_sequence(
        "unreplayable user variable inside",
        &[
            ("SET @t = NOW(); SELECT 1", "writer"),
            ("SELECT @t", "writer:user_variable"),
        ],
    );
}

#[test]
fn parts_are_classified() {
    let c = rwsplit::classify::Classifier::default();
    let st = c.classify(b"INSERT INTO t VALUES (1); SELECT LAST_INSERT_ID(); SET @a = 2");
    assert_eq!(st.parts.len(), 3);
    assert_eq!(st.parts[0].kind, rwsplit::classify::Kind::Write);
    assert_eq!(st.parts[2].kind, rwsplit::classify::Kind::Session);
}
