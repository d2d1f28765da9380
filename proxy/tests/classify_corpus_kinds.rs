//! The shared corpus (a copy of shared/sql/mysql-corpus.sql in tests/data/: 307 statements, `@@@ category` before
//! each), read at run time: every statement classifies, lands in a kind its category allows,
//! and goes where its category says. In the read categories, every statement that does not
//! go to a reader is listed below with its reason.

mod common_route;

use std::collections::BTreeMap;

use common_route::topology;
use rwsplit::classify::{Classifier, Detail, Flags, Kind, Statement};
use rwsplit::route::{route, Reason, Route, SessionState, Target};

fn corpus() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mysql-corpus.sql");
    assert!(path.exists(), "{} is missing", path.display());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut cat: Option<String> = None;
    let mut sql = String::new();
    for line in text.lines().chain(std::iter::once("@@@ <end>")) {
        if let Some(c) = line.strip_prefix("@@@ ") {
            if let Some(cat) = cat.take() {
                out.push((cat, sql.trim().to_string()));
            }
            sql.clear();
            cat = Some(c.trim().to_string());
        } else {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    out
}

fn classify_all() -> (Classifier, Vec<(String, String, Statement, Route)>) {
    let c = Classifier::default();
    let t = topology();
    let rows = corpus()
        .into_iter()
        .map(|(cat, sql)| {
            let st = c.classify(sql.as_bytes());
            let r = route(&st, &SessionState::default(), &t);
            (cat, sql, st, r)
        })
        .collect();
    (c, rows)
}

#[rustfmt::skip]
const CATEGORIES: &[&str] = &[
    "select",
    "special_select",
    "locking",
    "dml",
    "ddl",
    "txn",
    "set",
    "use_show",
    "admin",
    "connect",
    "comments",
    "json",
    "multi",
    "lexical",
    "explain",
];

#[test]
fn the_corpus_has_every_category() {
    let all = corpus();
    assert_eq!(all.len(), 307, "statements in the corpus");
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for (cat, sql) in &all {
        assert!(
            CATEGORIES.contains(&cat.as_str()),
            "unknown category {cat:?}"
        );
        assert!(!sql.is_empty(), "empty statement in {cat}");
        *per.entry(cat.as_str()).or_default() += 1;
    }
    assert_eq!(per.len(), CATEGORIES.len(), "{per:?}");
}

/// The kinds a category may produce.
fn kinds_for(cat: &str) -> &'static [Kind] {
    match cat {
        "select" | "special_select" | "locking" | "json" | "lexical" => &[Kind::Read],
        "dml" => &[Kind::Write, Kind::Read], // WITH … DELETE is a read's shape
        "ddl" => &[Kind::Write],
        "txn" => &[
            Kind::Begin,
            Kind::End,
            Kind::Savepoint,
            Kind::Other,
            Kind::Session,
        ],
        "set" => &[Kind::Session, Kind::Other],
        "use_show" => &[Kind::Session, Kind::Read, Kind::Other, Kind::Diagnostics],
        "admin" => &[Kind::Other, Kind::Write, Kind::Lock, Kind::Unlock],
        "explain" => &[Kind::Read, Kind::Write, Kind::Other],
        "connect" => &[Kind::Read, Kind::Session],
        "comments" => &[Kind::Read, Kind::Write, Kind::Session],
        "multi" => &[Kind::Read, Kind::Write, Kind::Session],
        _ => &[],
    }
}

#[test]
fn every_statement_lands_in_a_kind_its_category_allows() {
    let (_, rows) = classify_all();
    let bad: Vec<String> = rows
        .iter()
        .filter(|(cat, _, st, _)| !kinds_for(cat).contains(&st.kind))
        .map(|(cat, sql, st, _)| format!("[{cat}] {sql:?}: {:?}", st.kind))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn writer_categories_never_reach_a_reader() {
    let (_, rows) = classify_all();
    let mut bad = Vec::new();
    for (cat, sql, st, r) in &rows {
        let ok = match cat.as_str() {
            "locking" => {
                st.flags.contains(Flags::LOCKING_READ)
                    && r.target == Target::Writer
                    && r.reason == Reason::LockingRead
            }
            "dml" | "ddl" => r.target == Target::Writer && r.reason == Reason::Write,
            "admin" => {
                r.target == Target::Writer
                    && matches!(r.reason, Reason::Other | Reason::Write | Reason::Lock)
            }
            "set" => {
                r.target == Target::Writer
                    && matches!(r.reason, Reason::SessionState | Reason::Other)
            }
            "txn" => match st.detail {
                Detail::Begin { read_only: true } => {
                    r.target == Target::Reader && r.reason == Reason::ReadOnlyTransaction
                }
                _ => r.target == Target::Writer,
            },
            "multi" => {
                // "SELECT 1;" is one statement; the others are several
                (st.flags.contains(Flags::MULTI)
                    && st.parts.len() >= 2
                    && r.target == Target::Writer)
                    || (st.parts.is_empty() && r.target == Target::Reader)
            }
            _ => true,
        };
        if !ok {
            bad.push(format!(
                "[{cat}] {sql:?}: {:?} {:?} -> {:?}/{:?}",
                st.kind, st.flags, r.target, r.reason
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Statements of the read categories that do not go to a reader: (category, start of the
/// statement, target, reason). Every other statement of those categories goes to a reader.
#[rustfmt::skip]
const WRITER_SIDE: &[(&str, &str, Target, Reason)] = &[
    ("select", "SELECT CASE WHEN a > 1", Target::Writer, Reason::ParseFailure),
    // a MOD 3
    ("select", "TABLE t1", Target::Writer, Reason::ParseFailure),
    ("select", "SELECT id FROM t INTO OUTFILE", Target::Writer, Reason::UserVariable),
    ("special_select", "SELECT GET_LOCK('mylock', 10)", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT RELEASE_LOCK('mylock')", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT IS_FREE_LOCK('mylock'), RELEASE_ALL_LOCKS()", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT IF(GET_LOCK(", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT LAST_INSERT_ID()", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT FOUND_ROWS()", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT ROW_COUNT()", Target::Writer, Reason::LastStatement),
    ("special_select", "SELECT SQL_CALC_FOUND_ROWS", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT @rownum := @rownum + 1", Target::Writer, Reason::UserVariable),
    ("special_select", "SELECT @a := MAX(id) FROM t", Target::Writer, Reason::UserVariable),
    ("special_select", "SELECT id INTO @v", Target::Writer, Reason::UserVariable),
    ("special_select", "SELECT a, b INTO @x, @y", Target::Writer, Reason::UserVariable),
    ("special_select", "SELECT a FROM t WHERE id = 1 INTO @z", Target::Writer, Reason::UserVariable),
    ("special_select", "SELECT NEXT VALUE FOR seq1", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT NEXTVAL(seq1)", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT UUID(), NOW(), RAND(), CONNECTION_ID()", Target::Writer, Reason::SideEffectFunction),
    ("special_select", "SELECT MASTER_POS_WAIT(", Target::Writer, Reason::SideEffectFunction),
    ("use_show", "USE app", Target::Writer, Reason::SessionState),
    ("use_show", "USE `my-db`", Target::Writer, Reason::SessionState),
    ("use_show", "SHOW GLOBAL STATUS LIKE 'Threads%'", Target::Writer, Reason::Other),
    ("use_show", "SHOW STATUS", Target::Writer, Reason::Other),
    ("use_show", "SHOW WARNINGS", Target::Writer, Reason::LastStatement),
    ("use_show", "SHOW WARNINGS LIMIT 10", Target::Writer, Reason::LastStatement),
    ("use_show", "SHOW ERRORS", Target::Writer, Reason::LastStatement),
    ("use_show", "SHOW COUNT(*) WARNINGS", Target::Writer, Reason::LastStatement),
    ("use_show", "SHOW PROCESSLIST", Target::Writer, Reason::Other),
    ("use_show", "SHOW FULL PROCESSLIST", Target::Writer, Reason::Other),
    ("use_show", "SHOW SLAVE STATUS", Target::Writer, Reason::Other),
    ("use_show", "SHOW REPLICA STATUS", Target::Writer, Reason::Other),
    ("use_show", "SHOW MASTER STATUS", Target::Writer, Reason::Other),
    ("use_show", "SHOW BINARY LOGS", Target::Writer, Reason::Other),
    ("use_show", "SHOW ENGINE INNODB STATUS", Target::Writer, Reason::Other),
    ("explain", "EXPLAIN UPDATE users SET a = 1", Target::Writer, Reason::Write),
    ("explain", "EXPLAIN FOR CONNECTION 42", Target::Writer, Reason::Other),
    ("comments", "INSERT /*+ SET_VAR(foreign_key_checks=OFF) */", Target::Writer, Reason::Write),
    ("comments", "/*!40101 SET NAMES utf8 */", Target::Writer, Reason::SessionState),
    ("comments", "/*!40101 SET @OLD_CHARACTER_SET_CLIENT", Target::Writer, Reason::SessionState),
    ("comments", "/*!40014 SET @OLD_UNIQUE_CHECKS", Target::Writer, Reason::SessionState),
    ("comments", "/*!40103 SET TIME_ZONE='+00:00' */", Target::Writer, Reason::SessionState),
    ("comments", "CREATE TABLE t9 (id INT)", Target::Writer, Reason::Write),
    ("connect", "SET SQL_SELECT_LIMIT=501", Target::Writer, Reason::SessionState),
];

#[rustfmt::skip]
const READ_CATEGORIES: &[&str] = &[
    "select",
    "special_select",
    "json",
    "lexical",
    "connect",
    "comments",
    "explain",
    "use_show",
];

/// The index of the WRITER_SIDE entry for a statement: the one whose start it is
/// (whole-statement matches win, so "SHOW WARNINGS" does not claim "SHOW WARNINGS LIMIT 10").
fn listed(cat: &str, sql: &str) -> Option<usize> {
    let candidates = || {
        WRITER_SIDE
            .iter()
            .enumerate()
            .filter(move |(_, w)| w.0 == cat && sql.starts_with(w.1))
    };
    candidates()
        .find(|(_, w)| w.1 == sql)
        .or_else(|| candidates().max_by_key(|(_, w)| w.1.len()))
        .map(|(i, _)| i)
}

#[test]
fn read_categories_go_to_a_reader_except_the_listed() {
    let (_, rows) = classify_all();
    let mut bad = Vec::new();
    let mut used = vec![0usize; WRITER_SIDE.len()];
    for (cat, sql, st, r) in rows
        .iter()
        .filter(|row| READ_CATEGORIES.contains(&row.0.as_str()))
    {
        let (target, reason) = match listed(cat, sql) {
            Some(i) => {
                used[i] += 1;
                (WRITER_SIDE[i].2, WRITER_SIDE[i].3)
            }
            None => (Target::Reader, Reason::Read),
        };
        if r.target != target || r.reason != reason {
            bad.push(format!(
                "[{cat}] {sql:?}: {:?} {:?} -> {:?}/{:?}, want {target:?}/{reason:?}",
                st.kind, st.flags, r.target, r.reason
            ));
        }
    }
    for (w, n) in WRITER_SIDE.iter().zip(&used) {
        if *n != 1 {
            bad.push(format!(
                "WRITER_SIDE entry {:?} matched {n} corpus statements",
                w.1
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn parse_failures_are_counted() {
    let (c, rows) = classify_all();
    let flagged = rows
        .iter()
        .filter(|r| r.2.flags.contains(Flags::PARSE_FAILED))
        .count();
    assert!(
        flagged > 0,
        "the corpus has statements sqlparser 0.63 rejects"
    );
    assert!(
        (1..=flagged as u64).contains(&c.parse_failures()),
        "{} counted, {flagged} flagged",
        c.parse_failures()
    );
    // A read sqlparser rejects goes to the writer.
    let bad: Vec<String> = rows
        .iter()
        .filter(|(_, _, st, r)| {
            st.kind == Kind::Read
                && st.flags.contains(Flags::PARSE_FAILED)
                && r.target != Target::Writer
        })
        .map(|(cat, sql, ..)| format!("[{cat}] {sql:?}"))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_tiny_verdict_cache_gives_the_same_answers() {
    // Capacity 16: shapes are evicted and parsed again; verdicts must not change.
    let tiny = Classifier::new(16);
    let (_, rows) = classify_all();
    let t = topology();
    let mut bad = Vec::new();
    for _round in 0..2 {
        for (cat, sql, st, r) in &rows {
            let st2 = tiny.classify(sql.as_bytes());
            let r2 = route(&st2, &SessionState::default(), &t);
            if st2 != *st || r2 != *r {
                bad.push(format!(
                    "[{cat}] {sql:?}: {:?}/{:?} vs {:?}/{:?}",
                    st2.kind, r2, st.kind, r
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_prefix_of_every_statement_classifies() {
    // Truncated packets, half-typed statements: no panic, and a statement cut inside a
    // string or comment is never sent to a reader.
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for (_, sql) in corpus() {
        let b = sql.as_bytes();
        for end in (0..=b.len()).step_by(5) {
            let st = c.classify(&b[..end]);
            let r = route(&st, &SessionState::default(), &t);
            if st.flags.contains(Flags::PARSE_FAILED)
                && r.target == Target::Reader
                && st.hint.is_none()
            {
                bad.push(String::from_utf8_lossy(&b[..end]).into_owned());
            }
        }
    }
    assert!(
        bad.is_empty(),
        "unparsable prefixes on a reader:\n{}",
        bad.join("\n")
    );
}
