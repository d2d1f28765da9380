//! Comments never change what a statement is: `--`, `#` and `/* */` comments before, after
//! or inside it, even when they contain SQL keywords or `;`. Executable comments
//! (`/*!NNNNN … */`) are code. A leading `/* rwsplit:… */` comment is a hint.

mod common_route;

use common_route::topology;
use rwsplit::classify::{Classifier, Detail, Hint, Kind, Statement};
use rwsplit::route::{route, Reason, SessionState, Target};

/// Statements of every kind, decorated with comments below.
#[rustfmt::skip]
const BASES: &[&str] = &[
    "SELECT c FROM sbtest1 WHERE id=1",
    "SELECT * FROM t WHERE id = 1 FOR UPDATE",
    "SELECT LAST_INSERT_ID()",
    "UPDATE t SET a = 1 WHERE id = 2",
    "INSERT INTO t VALUES (1)",
    "BEGIN",
    "START TRANSACTION READ ONLY",
    "COMMIT",
    "SET NAMES utf8mb4",
    "SET autocommit=0",
    "SHOW TABLES",
    "SHOW WARNINGS",
    "USE app",
    "LOCK TABLES t READ",
    "CREATE TEMPORARY TABLE tmp1 (a INT)",
];

#[rustfmt::skip]
const PREFIXES: &[&str] = &[
    "/* c */ ",
    "/* multi\n   line */\n",
    "/**/",
    "-- dash\n",
    "--\n",
    "--\tdash tab\n",
    "# hash\n",
    "#hash\n",
    "/* FOR UPDATE */ ",
    "-- ; DELETE FROM t\n",
    "# INSERT INTO t VALUES (1);\n",
    "/* a */ /* b */ -- c\n",
];

#[rustfmt::skip]
const SUFFIXES: &[&str] = &[
    " -- trailing",
    " #trailing",
    " /* trailing */",
    "\n-- trailing\n",
    ";",
    "; -- after",
    " /* ; DELETE FROM t */",
    " -- FOR UPDATE",
    " # LOCK IN SHARE MODE",
];

/// What must not change: kind, flags, route and the detail (without the replayed text,
/// which keeps the comment).
fn summary(st: &Statement) -> String {
    let r = route(st, &SessionState::default(), &topology());
    let detail = match &st.detail {
        Detail::Set(e) => format!(
            "Set(autocommit={:?} replay={} replayable={} user_vars_only={} literal={})",
            e.autocommit,
            e.replay.is_some(),
            e.replayable,
            e.user_vars_only,
            e.literal
        ),
        d => format!("{d:?}"),
    };
    format!(
        "{:?} {:?} {detail} parts={} -> {:?}/{:?}",
        st.kind,
        st.flags,
        st.parts.len(),
        r.target,
        r.reason
    )
}

#[test]
fn comments_around_a_statement_change_nothing() {
    let c = Classifier::default();
    let mut bad = Vec::new();
    let mut n = 0;
    for base in BASES {
        let want = summary(&c.classify(base.as_bytes()));
        let mut variants: Vec<String> = Vec::new();
        variants.extend(PREFIXES.iter().map(|p| format!("{p}{base}")));
        variants.extend(SUFFIXES.iter().map(|s| format!("{base}{s}")));
        // inside: after the first word
        variants.push(base.replacen(' ', " /* inside */ ", 1));
        variants.push(base.replacen(' ', " -- inside\n", 1));
        variants.push(base.replacen(' ', " #inside\n", 1));
        for v in variants {
            n += 1;
            let got = summary(&c.classify(v.as_bytes()));
            if got != want {
                bad.push(format!("{v:?}\n    got  {got}\n    want {want}"));
            }
        }
    }
    assert!(n > 300, "only {n} variants");
    assert!(
        bad.is_empty(),
        "{} of {n} variants differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Comments from real clients and tools, with what the statement is.
#[rustfmt::skip]
const COMMENTED: &[(&str, Kind, Target, Reason)] = &[
    ("/* hint */ SELECT 1", Kind::Read, Target::Reader, Reason::Read),
    ("/* route=primary */ SELECT * FROM users WHERE id = 1", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t WHERE a = 1", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT /*+ BKA(t1) NO_BKA(t2) */ t1.* FROM t1 JOIN t2 ON t1.id = t2.id", Kind::Read, Target::Reader, Reason::Read),
    ("/* controller='orders',action='index' */ SELECT `orders`.* FROM `orders` LIMIT 11", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT `orders`.* FROM `orders` WHERE `orders`.`id` = 1 LIMIT 1 /*application:Shop,controller:orders*/", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT * FROM users /* traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' */", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT 1--1", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT 'a -- b', \"c # d\", 'e /* f */ g'", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT 'x;DELETE FROM t'", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT `weird;name` FROM t", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT 'it''s; fine', 'back\\'slash; too'", Kind::Read, Target::Reader, Reason::Read),
    ("INSERT /*+ SET_VAR(foreign_key_checks=OFF) */ INTO t VALUES (1)", Kind::Write, Target::Writer, Reason::Write),
    ("/* SELECT */ DELETE FROM t WHERE id = 1", Kind::Write, Target::Writer, Reason::Write),
    ("-- SELECT 1\nUPDATE t SET a = 2", Kind::Write, Target::Writer, Reason::Write),
    ("/* BEGIN */ SELECT 1", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT 1 /* unterminated", Kind::Read, Target::Writer, Reason::ParseFailure),
];

/// Executable comments: their contents are code.
#[rustfmt::skip]
const EXECUTABLE: &[(&str, Kind, Target, Reason)] = &[
    ("/*!40101 SET NAMES utf8 */", Kind::Session, Target::Writer, Reason::SessionState),
    ("/*!40101 SET character_set_client = utf8mb4 */", Kind::Session, Target::Writer, Reason::SessionState),
    ("/*!40101 SET @saved_cs_client     = @@character_set_client */", Kind::Session, Target::Writer, Reason::SessionState),
    ("/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */", Kind::Session, Target::Writer, Reason::SessionState),
    ("/*!40103 SET TIME_ZONE='+00:00' */", Kind::Session, Target::Writer, Reason::SessionState),
    ("/*!80000 SET SESSION information_schema_stats_expiry=0 */", Kind::Session, Target::Writer, Reason::SessionState),
    ("/*!40000 ALTER TABLE `t` ENABLE KEYS */", Kind::Write, Target::Writer, Reason::Write),
    ("/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */ /*!50001 VIEW `v` AS select 1 AS `x` */", Kind::Write, Target::Writer, Reason::Write),
    ("CREATE TABLE t9 (id INT) /*!50100 PARTITION BY HASH (id) PARTITIONS 4 */", Kind::Write, Target::Writer, Reason::Write),
    ("SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`", Kind::Read, Target::Reader, Reason::Read),
    ("/*!40001 SELECT 1 */", Kind::Read, Target::Reader, Reason::Read),
    ("SELECT * FROM t /*!50000 FOR UPDATE */", Kind::Read, Target::Writer, Reason::LockingRead),
    ("SELECT 1 /*! FOR UPDATE */", Kind::Read, Target::Writer, Reason::LockingRead),
    ("START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */", Kind::Begin, Target::Writer, Reason::Transaction),
    ("SHOW /*!50002 GLOBAL */ STATUS", Kind::Other, Target::Writer, Reason::Other),
];

#[test]
fn commented_and_executable_statements() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, kind, target, reason) in COMMENTED.iter().chain(EXECUTABLE) {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        if st.kind != kind || r.target != target || r.reason != reason {
            bad.push(format!(
                "{sql:?}: {:?} {:?} -> {:?}/{:?}, want {kind:?} -> {target:?}/{reason:?}",
                st.kind, st.flags, r.target, r.reason
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn hints_are_read_from_the_leading_comment_only() {
    let c = Classifier::default();
    let cases: &[(&str, Option<Hint>)] = &[
        ("/* rwsplit:writer */ SELECT 1", Some(Hint::Writer)),
        ("/* rwsplit:reader */ SELECT 1", Some(Hint::Reader)),
        ("/*rwsplit:writer*/SELECT 1", Some(Hint::Writer)),
        ("/*   rwsplit:reader   */ SELECT 1", Some(Hint::Reader)),
        ("/* rwsplit:master */ SELECT 1", Some(Hint::Writer)),
        ("/* rwsplit:slave */ SELECT 1", Some(Hint::Reader)),
        ("/* rwsplit:WRITER */ SELECT 1", Some(Hint::Writer)),
        ("-- rwsplit:writer\nSELECT 1", Some(Hint::Writer)),
        ("# rwsplit:reader\nSELECT 1", Some(Hint::Reader)),
        ("\n  /* rwsplit:writer */\nSELECT 1", Some(Hint::Writer)),
        (
            "/* rwsplit:writer */ SELECT 1; SELECT 2",
            Some(Hint::Writer),
        ),
        (
            "/* rwsplit:writer */ INSERT INTO t VALUES (1)",
            Some(Hint::Writer),
        ),
        ("SELECT /* rwsplit:writer */ 1", None),
        ("SELECT 1 -- rwsplit:writer", None),
        ("SELECT 1 /* rwsplit:reader */", None),
        ("/* rwsplit:elsewhere */ SELECT 1", None),
        ("/* route=primary */ SELECT 1", None),
        ("/* rwsplit writer */ SELECT 1", None),
        ("SELECT 1", None),
    ];
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|&(sql, want)| {
            let st = c.classify(sql.as_bytes());
            (st.hint != want).then(|| format!("{sql:?}: hint {:?}, want {want:?}", st.hint))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
