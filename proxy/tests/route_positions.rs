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
