//! Multi-statement queries (`SELECT 1; SELECT 2`) go to the writer whole, each statement
//! classified in `parts`; a trailing `;`, a `;` in a string or comment, and a stored
//! program body are not several statements.

mod common_route;

use common_route::topology;
use rwsplit::classify::{Classifier, Flags, Kind};
use rwsplit::route::{route, BackendId, Reason, Served, SessionState, Target};

/// (query, kinds of its parts, kind of the whole, reason); the target is the writer.
#[rustfmt::skip]
const MULTI: &[(&str, &[Kind], Kind, Reason)] = &[
    ("SELECT 1; SELECT 2", &[Kind::Read, Kind::Read], Kind::Read, Reason::MultiStatement),
    ("SELECT 1; SELECT 2;", &[Kind::Read, Kind::Read], Kind::Read, Reason::MultiStatement),
    ("SELECT * FROM a; SELECT * FROM b; SELECT * FROM c", &[Kind::Read, Kind::Read, Kind::Read], Kind::Read, Reason::MultiStatement),
    ("SHOW TABLES; SHOW DATABASES", &[Kind::Read, Kind::Read], Kind::Read, Reason::MultiStatement),
    ("SELECT 'a;b'; SELECT 2", &[Kind::Read, Kind::Read], Kind::Read, Reason::MultiStatement),
    ("SELECT 1; -- second\nSELECT 2", &[Kind::Read, Kind::Read], Kind::Read, Reason::MultiStatement),
    ("SELECT 1;SELECT 2", &[Kind::Read, Kind::Read], Kind::Read, Reason::MultiStatement),
    ("SELECT 1; SELECT * FROM t FOR UPDATE", &[Kind::Read, Kind::Read], Kind::Read, Reason::LockingRead),
    ("INSERT INTO t VALUES (1); SELECT LAST_INSERT_ID()", &[Kind::Write, Kind::Read], Kind::Write, Reason::Write),
    ("DELETE FROM t WHERE id = 1; DELETE FROM u WHERE id = 1", &[Kind::Write, Kind::Write], Kind::Write, Reason::Write),
    ("BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT", &[Kind::Begin, Kind::Write, Kind::End], Kind::Write, Reason::Write),
    ("CREATE TEMPORARY TABLE tmp (a INT); INSERT INTO tmp VALUES (1)", &[Kind::Write, Kind::Write], Kind::Write, Reason::Write),
    ("LOCK TABLES t WRITE; UPDATE t SET a = 1; UNLOCK TABLES", &[Kind::Lock, Kind::Write, Kind::Unlock], Kind::Write, Reason::Write),
    ("SET autocommit=0; SELECT 1", &[Kind::Session, Kind::Read], Kind::Session, Reason::SessionState),
    ("USE app; SELECT * FROM users", &[Kind::Session, Kind::Read], Kind::Session, Reason::SessionState),
    ("SET NAMES utf8mb4; SET autocommit=1", &[Kind::Session, Kind::Session], Kind::Session, Reason::SessionState),
    ("START TRANSACTION READ ONLY; SELECT 1", &[Kind::Begin, Kind::Read], Kind::Begin, Reason::Transaction),
    ("SELECT 1; BEGIN", &[Kind::Read, Kind::Begin], Kind::Read, Reason::MultiStatement),
];

/// One statement, whatever the `;` in it.
#[rustfmt::skip]
const SINGLE: &[(&str, Kind)] = &[
    ("SELECT 1;", Kind::Read),
    ("SELECT 1; ", Kind::Read),
    ("SELECT 1;\n", Kind::Read),
    ("SELECT 1; -- done", Kind::Read),
    ("SELECT 1; /* done */", Kind::Read),
    ("SELECT 'x;y'", Kind::Read),
    ("SELECT `a;b` FROM t", Kind::Read),
    ("SELECT 1 /* ; SELECT 2 */", Kind::Read),
    ("SELECT 1 -- ; SELECT 2", Kind::Read),
    ("UPDATE t SET a = 'x;y' WHERE id = 1;", Kind::Write),
    ("CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", Kind::Write),
    ("CREATE TRIGGER trg BEFORE UPDATE ON t FOR EACH ROW BEGIN SET NEW.updated_at = NOW(); SET NEW.version = OLD.version + 1; END", Kind::Write),
    ("CREATE FUNCTION f(a INT) RETURNS INT BEGIN DECLARE b INT; SET b = a * 2; RETURN b; END", Kind::Write),
    ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM a; DELETE FROM b; END", Kind::Write),
    ("BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; SELECT x; END", Kind::Write),
];

#[test]
fn multi_statement_queries_go_to_the_writer() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, parts, kind, reason) in MULTI {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        let got: Vec<Kind> = st.parts.iter().map(|p| p.kind).collect();
        if got != parts
            || st.kind != kind
            || !st.flags.contains(Flags::MULTI)
            || r.target != Target::Writer
            || r.reason != reason
        {
            bad.push(format!(
                "{sql:?}: parts {got:?} {:?} {:?} -> {:?}/{:?}, want parts {parts:?} {kind:?} -> Writer/{reason:?}",
                st.kind, st.flags, r.target, r.reason
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        MULTI.len(),
        bad.join("\n")
    );
}

#[test]
fn multi_statement_queries_never_reach_a_reader() {
    // Not with a reader hint, not after a statement served by a reader.
    let c = Classifier::default();
    let t = topology();
    let after_reader = SessionState {
        last: Some(Served::Reader(BackendId(2))),
        ..SessionState::default()
    };
    let mut bad = Vec::new();
    for (sql, ..) in MULTI {
        for (text, state) in [
            (
                format!("/* rwsplit:reader */ {sql}"),
                SessionState::default(),
            ),
            (sql.to_string(), after_reader.clone()),
        ] {
            let r = route(&c.classify(text.as_bytes()), &state, &t);
            if r.target != Target::Writer {
                bad.push(format!("{text:?}: {:?}/{:?}", r.target, r.reason));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn one_statement_despite_semicolons() {
    let c = Classifier::default();
    let bad: Vec<String> = SINGLE
        .iter()
        .filter_map(|&(sql, kind)| {
            let st = c.classify(sql.as_bytes());
            (st.kind != kind || !st.parts.is_empty() || st.flags.contains(Flags::MULTI)).then(
                || {
                    format!(
                        "{sql:?}: {:?} {:?} {} parts, want one {kind:?}",
                        st.kind,
                        st.flags,
                        st.parts.len()
                    )
                },
            )
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_multi_statement_query_has_a_digest_of_its_own() {
    let c = Classifier::default();
    let whole = c.classify(b"SELECT 1; SELECT 2");
    assert_eq!(whole.parts.len(), 2);
    assert_ne!(whole.digest, whole.parts[0].digest);
    assert_ne!(whole.digest, c.classify(b"SELECT 1").digest);
    assert_eq!(whole.digest, c.classify(b"SELECT 5; SELECT 6").digest);
}

/// A query starting with SHOW WARNINGS (or GET DIAGNOSTICS) is routed like a lone SHOW
/// WARNINGS: to the backend that ran the previous statement, a reader here. Multi-statement
/// queries belong to the writer; the SET would otherwise change only the reader's session.
#[rustfmt::skip]
const KNOWN_BUGS: &[&str] = &[
    "SHOW WARNINGS; SELECT 1",
    "SHOW WARNINGS; SET @x = 1",
    "GET DIAGNOSTICS @n = NUMBER; SELECT 1",
];

#[test]
fn known_bugs_still_fail() {
    let c = Classifier::default();
    let t = topology();
    let state = SessionState {
        last: Some(Served::Reader(BackendId(2))),
        ..SessionState::default()
    };
    let fixed: Vec<&str> = KNOWN_BUGS
        .iter()
        .copied()
        .filter(|sql| {
            let st = c.classify(sql.as_bytes());
            assert!(st.flags.contains(Flags::MULTI), "{sql}");
            route(&st, &state, &t).target == Target::Writer
        })
        .collect();
    assert!(
        fixed.is_empty(),
        "fixed — move into MULTI:\n{}",
        fixed.join("\n")
    );
}
