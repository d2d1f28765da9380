//! Administrative and procedural statements: CALL, DO, HANDLER, PREPARE/EXECUTE, KILL,
//! FLUSH, table maintenance, accounts, replication control, LOCK/UNLOCK, unknown and empty
//! statements. All of them run on the writer.

mod common_route;

use common_route::topology;
use rwsplit::classify::{Classifier, Detail, Kind};
use rwsplit::route::{route, Reason, SessionState, Target};

/// (statement, kind, reason); the target is always the writer.
#[rustfmt::skip]
const CASES: &[(&str, Kind, Reason)] = &[
    // stored programs and procedural statements
    ("CALL refresh_totals()", Kind::Other, Reason::Other),
    ("CALL app.report(2024, @rows)", Kind::Other, Reason::Other),
    ("CALL cleanup", Kind::Other, Reason::Other),
    ("DO SLEEP(1)", Kind::Other, Reason::Other),
    ("DO RELEASE_LOCK('mylock')", Kind::Other, Reason::Other),
    ("HANDLER t OPEN", Kind::Other, Reason::Other),
    ("HANDLER t READ `PRIMARY` FIRST", Kind::Other, Reason::Other),
    ("HANDLER t READ NEXT LIMIT 10", Kind::Other, Reason::Other),
    ("HANDLER t CLOSE", Kind::Other, Reason::Other),
    ("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'nope'", Kind::Other, Reason::Other),
    // SQL-level prepared statements: the prepared text may hold anything
    ("PREPARE stmt1 FROM 'SELECT * FROM t WHERE id = ?'", Kind::Other, Reason::Other),
    ("EXECUTE stmt1 USING @id", Kind::Other, Reason::Other),
    ("EXECUTE stmt1", Kind::Other, Reason::Other),
    ("DEALLOCATE PREPARE stmt1", Kind::Other, Reason::Other),
    ("EXECUTE IMMEDIATE 'SELECT 1'", Kind::Other, Reason::Other),
    // KILL (details tested below)
    ("KILL 123", Kind::Other, Reason::Other),
    ("KILL QUERY 123", Kind::Other, Reason::Other),
    ("KILL CONNECTION 123", Kind::Other, Reason::Other),
    ("KILL HARD QUERY 77", Kind::Other, Reason::Other),
    ("KILL QUERY ID 88", Kind::Other, Reason::Other),
    // FLUSH and friends
    ("FLUSH TABLES", Kind::Other, Reason::Other),
    ("FLUSH /*!40101 LOCAL */ TABLES", Kind::Other, Reason::Other),
    ("FLUSH PRIVILEGES", Kind::Other, Reason::Other),
    ("FLUSH LOGS", Kind::Other, Reason::Other),
    ("FLUSH STATUS", Kind::Other, Reason::Other),
    ("RESET QUERY CACHE", Kind::Other, Reason::Other),
    // table maintenance
    ("ANALYZE TABLE orders", Kind::Other, Reason::Other),
    ("ANALYZE NO_WRITE_TO_BINLOG TABLE orders", Kind::Other, Reason::Other),
    ("OPTIMIZE TABLE orders", Kind::Other, Reason::Other),
    ("CHECK TABLE orders", Kind::Other, Reason::Other),
    ("REPAIR TABLE orders", Kind::Other, Reason::Other),
    ("CHECKSUM TABLE orders", Kind::Other, Reason::Other),
    ("CACHE INDEX orders IN hot_cache", Kind::Other, Reason::Other),
    ("LOAD INDEX INTO CACHE orders", Kind::Write, Reason::Write),
    // accounts and privileges
    ("GRANT SELECT, INSERT ON app.* TO 'u'@'%'", Kind::Write, Reason::Write),
    ("GRANT ALL PRIVILEGES ON *.* TO 'admin'@'localhost' WITH GRANT OPTION", Kind::Write, Reason::Write),
    ("REVOKE INSERT ON app.* FROM 'u'@'%'", Kind::Write, Reason::Write),
    ("CREATE USER 'u'@'%' IDENTIFIED BY 'pw'", Kind::Write, Reason::Write),
    ("ALTER USER 'u'@'%' IDENTIFIED BY 'newpw'", Kind::Write, Reason::Write),
    ("DROP USER IF EXISTS 'u'@'%'", Kind::Write, Reason::Write),
    ("RENAME USER 'a'@'%' TO 'b'@'%'", Kind::Write, Reason::Write),
    ("CREATE ROLE app_read", Kind::Write, Reason::Write),
    // replication and server control
    ("STOP SLAVE", Kind::Other, Reason::Other),
    ("START SLAVE", Kind::Other, Reason::Other),
    ("STOP REPLICA", Kind::Other, Reason::Other),
    ("START REPLICA", Kind::Other, Reason::Other),
    ("RESET MASTER", Kind::Other, Reason::Other),
    ("RESET REPLICA ALL", Kind::Other, Reason::Other),
    ("CHANGE MASTER TO MASTER_HOST='10.0.0.1', MASTER_PORT=3306", Kind::Other, Reason::Other),
    ("CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.1'", Kind::Other, Reason::Other),
    ("PURGE BINARY LOGS BEFORE '2024-01-01 00:00:00'", Kind::Other, Reason::Other),
    ("INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'", Kind::Other, Reason::Other),
    ("SHUTDOWN", Kind::Other, Reason::Other),
    ("BINLOG 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='", Kind::Other, Reason::Other),
    ("BACKUP STAGE START", Kind::Other, Reason::Other),
    // locks: pinning is tested in route_locks_and_temp_tables.rs
    ("LOCK TABLES t1 WRITE, t2 READ", Kind::Lock, Reason::Lock),
    ("LOCK TABLE t1 READ LOCAL", Kind::Lock, Reason::Lock),
    ("lock tables `orders` as o write", Kind::Lock, Reason::Lock),
    ("UNLOCK TABLES", Kind::Unlock, Reason::Lock),
    ("FLUSH TABLES WITH READ LOCK", Kind::Lock, Reason::Lock),
    ("FLUSH TABLES t1, t2 WITH READ LOCK", Kind::Lock, Reason::Lock),
    ("FLUSH TABLES t1 FOR EXPORT", Kind::Lock, Reason::Lock),
    ("LOCK INSTANCE FOR BACKUP", Kind::Lock, Reason::Lock),
    ("UNLOCK INSTANCE", Kind::Unlock, Reason::Lock),
    ("BACKUP LOCK app.t1", Kind::Lock, Reason::Lock),
    ("BACKUP UNLOCK", Kind::Unlock, Reason::Lock),
    // unknown or empty: the server answers it
    ("", Kind::Other, Reason::Other),
    ("   \n\t", Kind::Other, Reason::Other),
    (";", Kind::Other, Reason::Other),
    ("/* nothing but a comment */", Kind::Other, Reason::Other),
    ("-- nothing\n", Kind::Other, Reason::Other),
    ("FROBNICATE THE SERVER", Kind::Other, Reason::Other),
    ("42", Kind::Other, Reason::Other),
    ("/*M!999999\\- enable the sandbox mode */", Kind::Other, Reason::Other),
];

#[test]
fn administrative_statements_go_to_the_writer() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, kind, reason) in CASES {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        if st.kind != kind || r.target != Target::Writer || r.reason != reason {
            bad.push(format!(
                "{sql:?}: {:?} -> {:?}/{:?}, want {kind:?} -> Writer/{reason:?}",
                st.kind, r.target, r.reason
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        CASES.len(),
        bad.join("\n")
    );
}

#[test]
fn a_reader_hint_does_not_move_them() {
    let c = Classifier::default();
    let t = topology();
    let bad: Vec<String> = CASES
        .iter()
        .filter_map(|(sql, ..)| {
            let text = format!("/* rwsplit:reader */ {sql}");
            let r = route(&c.classify(text.as_bytes()), &SessionState::default(), &t);
            (r.target != Target::Writer).then(|| format!("{text:?}: {:?}/{:?}", r.target, r.reason))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn kill_names_its_target() {
    let c = Classifier::default();
    let cases = [
        ("KILL 123", Some((123, false))),
        ("KILL CONNECTION 123", Some((123, false))),
        ("KILL QUERY 123", Some((123, true))),
        ("kill query 4294967296", Some((4_294_967_296, true))),
        ("KILL HARD QUERY 77", Some((77, true))),
        ("KILL SOFT CONNECTION 78", Some((78, false))),
        ("KILL QUERY ID 88", Some((88, true))),
        // MariaDB: KILL USER name — no connection id
        ("KILL USER app", None),
        ("KILL @id", None),
    ];
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|&(sql, want)| {
            let st = c.classify(sql.as_bytes());
            let got = match st.detail {
                Detail::Kill { id, query_only } => Some((id, query_only)),
                _ => None,
            };
            (st.kind != Kind::Other || got != want)
                .then(|| format!("{sql:?}: {:?} {:?}, want {want:?}", st.kind, st.detail))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
