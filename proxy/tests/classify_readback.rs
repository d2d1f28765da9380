//! Read-back of variables a statement assigned (`classify::readback` and the
//! classifier's `Statement::read_back`): which statements say what to read back, the
//! query that reads them, and the literal SET built from the answer, with each value's
//! type kept. Pure.

use mysql_common::constants::ColumnType::{self, *};
use rwsplit::classify::readback::{assigned_user_vars, literal_set, query, Cell};
use rwsplit::classify::{Classifier, Detail, Variable};

fn user(n: &str) -> Variable {
    Variable::User(n.into())
}

fn system(n: &str) -> Variable {
    Variable::System(n.into())
}

#[test]
fn statements_name_the_user_variables_they_assign() {
    #[rustfmt::skip]
    let cases: &[(&str, &[&str])] = &[
        ("SELECT @a := 1", &["@a"]),
        ("SELECT @a := 1, @b := @a + 1, @a := 2", &["@a", "@b"]),
        ("SELECT id, name INTO @id, @name FROM t LIMIT 1", &["@id", "@name"]),
        ("SELECT id FROM t LIMIT 1 INTO @id", &["@id"]),
        ("SELECT 1 INTO OUTFILE '/tmp/x'", &[]),
        ("INSERT INTO t VALUES (@a)", &[]),
        ("UPDATE t SET c = (@n := c + 1) WHERE id = 1", &["@n"]),
        ("SELECT @a = 1", &[]),
        ("SELECT '@a := 1'", &[]),
        ("SELECT @`odd name` := 1", &["@`odd name`"]),
    ];
    for (sql, want) in cases {
        let got: Vec<Variable> = assigned_user_vars(sql.as_bytes());
        let want: Vec<Variable> = want.iter().map(|n| user(n)).collect();
        assert_eq!(got, want, "{sql}");
    }
}

#[test]
fn the_classifier_says_what_to_read_back() {
    let c = Classifier::default();
    #[rustfmt::skip]
    let cases: &[(&str, Option<&[Variable]>)] = &[
        // Replayable as written: nothing to read back.
        ("SET @a = 1", None),
        ("SET @a = CONCAT('x', @b)", None),
        ("SET time_zone = '+01:00'", None),
        ("SELECT 1", None),
        // Computed values.
        ("SET @a = NOW()", Some(&[Variable::User(String::new())])),
        ("SET SESSION time_zone = (SELECT tz FROM s LIMIT 1)", Some(&[Variable::System(String::new())])),
        ("SET time_zone = (SELECT '+02:00')", None),
        ("SET @a := NOW()", Some(&[Variable::User(String::new())])),
        ("SET @@session.sql_mode := CONCAT(@@sql_mode, (SELECT m FROM s))", Some(&[Variable::System(String::new())])),
        ("SELECT id INTO @v FROM t", Some(&[Variable::User(String::new())])),
        ("INSERT INTO t VALUES (@a)", Some(&[])),
        ("CALL p(@x, 5)", Some(&[Variable::User(String::new())])),
        // Not read back: global, no name, or inside a multi-statement query.
        ("SET GLOBAL max_connections = (SELECT n FROM s)", None),
        ("SET keycache1.key_buffer_size := NOW()", None),
        ("SET @a = NOW(); SELECT @a", None),
    ];
    for (sql, want) in cases {
        let st = c.classify(sql.as_bytes());
        let got = match st.parts.first() {
            Some(p) => p.read_back.clone(),
            None => st.read_back.clone(),
        };
        // Compare the kinds and count; the names are checked below.
        let shape = |v: &Option<Vec<Variable>>| {
            v.as_ref().map(|v| {
                v.iter()
                    .map(|x| matches!(x, Variable::User(_)))
                    .collect::<Vec<_>>()
            })
        };
        let want: Option<Vec<Variable>> = want.map(|w| w.to_vec());
        assert_eq!(shape(&got), shape(&want), "{sql}: {got:?}");
    }
    let names = |sql: &str| c.classify(sql.as_bytes()).read_back.unwrap_or_default();
    assert_eq!(names("SET @a = NOW(), @b = 1"), [user("@a"), user("@b")]);
    assert_eq!(
        names("SET time_zone = (SELECT tz FROM s)"),
        [system("time_zone")]
    );
    assert_eq!(
        names("SET @@session.sql_mode := UUID()"),
        [system("sql_mode")]
    );
    assert_eq!(
        names("SET @a := 1, SESSION wait_timeout := 5"),
        [user("@a"), system("wait_timeout")]
    );
    assert_eq!(names("CALL p(@x, 5, @y)"), [user("@x"), user("@y")]);
    assert_eq!(c.classify(b"CALL p()").detail, Detail::Call);
}

#[test]
fn the_query_reads_a_strings_bytes_and_character_set() {
    assert_eq!(
        query(&[user("@a"), system("time_zone")]),
        "SELECT @a, HEX(@a), CHARSET(@a), COLLATION(@a), @@session.time_zone"
    );
}

fn u(
    t: ColumnType,
    v: Option<&'static str>,
    hex: &'static str,
    cs: &'static str,
    coll: &'static str,
) -> [Cell<'static>; 4] {
    let s = MYSQL_TYPE_VAR_STRING;
    [
        (t, v.map(str::as_bytes)),
        (s, Some(hex.as_bytes())),
        (s, Some(cs.as_bytes())),
        (s, Some(coll.as_bytes())),
    ]
}

#[test]
fn values_are_replayed_as_literals_of_their_type() {
    #[rustfmt::skip]
    let cases: &[([Cell<'static>; 4], Option<&str>)] = &[
        (u(MYSQL_TYPE_LONGLONG, Some("-42"), "", "binary", "binary"), Some("SET @a = -42")),
        (u(MYSQL_TYPE_LONGLONG, Some("18446744073709551615"), "", "binary", "binary"), Some("SET @a = 18446744073709551615")),
        (u(MYSQL_TYPE_NEWDECIMAL, Some("1.50"), "", "binary", "binary"), Some("SET @a = 1.50")),
        (u(MYSQL_TYPE_DOUBLE, Some("1.5"), "", "binary", "binary"), Some("SET @a = 1.5e0")),
        (u(MYSQL_TYPE_DOUBLE, Some("1e+20"), "", "binary", "binary"), Some("SET @a = 1e+20")),
        (u(MYSQL_TYPE_VAR_STRING, None, "", "binary", "binary"), Some("SET @a = NULL")),
        (u(MYSQL_TYPE_MEDIUM_BLOB, Some("é'"), "C3A927", "utf8mb4", "utf8mb4_general_ci"),
         Some("SET @a = _utf8mb4 X'C3A927' COLLATE utf8mb4_general_ci")),
        (u(MYSQL_TYPE_VAR_STRING, Some(""), "", "latin1", "latin1_swedish_ci"),
         Some("SET @a = _latin1 X'' COLLATE latin1_swedish_ci")),
        (u(MYSQL_TYPE_BLOB, Some("\u{1}"), "01", "binary", "binary"), Some("SET @a = _binary X'01'")),
        // Never SQL from a value that is not what its type says.
        (u(MYSQL_TYPE_LONGLONG, Some("1; DROP TABLE t"), "", "binary", "binary"), None),
        (u(MYSQL_TYPE_VAR_STRING, Some("x"), "7G", "utf8mb4", "utf8mb4_bin"), None),
        (u(MYSQL_TYPE_VAR_STRING, Some("x"), "78", "utf8mb4 x", "utf8mb4_bin"), None),
    ];
    for (row, want) in cases {
        assert_eq!(literal_set(&[user("@a")], row).as_deref(), *want, "{row:?}");
    }
}

#[test]
fn system_variables_are_quoted_only_when_that_needs_no_escape() {
    let s = |t: ColumnType, v: Option<&'static str>| {
        literal_set(&[system("x")], &[(t, v.map(str::as_bytes))])
    };
    assert_eq!(
        s(MYSQL_TYPE_VAR_STRING, Some("+02:00")).as_deref(),
        Some("SET @@session.x = '+02:00'")
    );
    assert_eq!(
        s(MYSQL_TYPE_VAR_STRING, Some("a'b\\")).as_deref(),
        Some("SET @@session.x = X'6127625C'")
    );
    assert_eq!(
        s(MYSQL_TYPE_LONGLONG, Some("28800")).as_deref(),
        Some("SET @@session.x = 28800")
    );
    assert_eq!(
        s(MYSQL_TYPE_DOUBLE, Some("10.000000")).as_deref(),
        Some("SET @@session.x = 10.000000")
    );
    assert_eq!(
        s(MYSQL_TYPE_VAR_STRING, None).as_deref(),
        Some("SET @@session.x = NULL")
    );
    // A row of another shape, a name rwsplit would not put into a query.
    assert_eq!(literal_set(&[system("x")], &[]), None);
    assert_eq!(
        literal_set(&[system("a.b")], &[(MYSQL_TYPE_LONGLONG, Some(b"1"))]),
        None
    );
    assert_eq!(
        literal_set(
            &[user("@a"), system("x")],
            &[
                (MYSQL_TYPE_LONGLONG, Some(b"1")),
                (MYSQL_TYPE_VAR_STRING, Some(b"")),
                (MYSQL_TYPE_VAR_STRING, Some(b"binary")),
                (MYSQL_TYPE_VAR_STRING, Some(b"binary")),
                (MYSQL_TYPE_LONGLONG, Some(b"2")),
            ]
        )
        .as_deref(),
        Some("SET @a = 1, @@session.x = 2")
    );
}
