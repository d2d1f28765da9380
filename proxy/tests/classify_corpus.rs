//! The shared corpus (a copy of shared/sql/mysql-corpus.sql in tests/data/, 307 categorized statements): every
//! statement classifies, and each category lands where it must.

use rwsplit::classify::{Classifier, Flags, Kind};
use rwsplit::route::{route, Backend, BackendId, Role, SessionState, Target, Topology};

fn corpus() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mysql-corpus.sql");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut cat = String::new();
    let mut sql = String::new();
    for line in text.lines().chain(std::iter::once("@@@ end")) {
        if let Some(c) = line.strip_prefix("@@@ ") {
            if !sql.trim().is_empty() {
                out.push((cat.clone(), sql.trim().to_string()));
            }
            sql.clear();
            cat = c.trim().to_string();
        } else {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    out
}

#[test]
fn every_corpus_statement_lands_where_its_category_says() {
    let c = Classifier::default();
    let mut t = Topology {
        writer: Some(BackendId(0)),
        backends: vec![
            Backend::new(BackendId(0), "w", Role::Writer),
            Backend::new(BackendId(1), "r", Role::Reader),
        ],
    };
    t.backends[1].eligible = true;
    let all = corpus();
    assert!(all.len() >= 300, "corpus has {} statements", all.len());
    let mut bad = Vec::new();
    for (cat, sql) in &all {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        let on_writer = r.target == Target::Writer;
        let ok = match cat.as_str() {
            "locking" | "dml" | "ddl" | "admin" => on_writer,
            "txn" => {
                on_writer
                    || matches!(
                        st.detail,
                        rwsplit::classify::Detail::Begin { read_only: true }
                    )
            }
            "set" => on_writer && matches!(st.kind, Kind::Session | Kind::Other),
            "select" => !on_writer || st.flags.intersects(Flags::PARSE_FAILED | Flags::INTO),
            "multi" => on_writer || !st.flags.contains(Flags::MULTI),
            "special_select" | "use_show" | "explain" | "connect" | "comments" | "lexical"
            | "json" => true,
            other => {
                bad.push(format!("unknown category {other}"));
                true
            }
        };
        if !ok {
            bad.push(format!(
                "[{cat}] {sql:?} -> {:?} {:?} ({:?})",
                r.target, r.reason, st.flags
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // sqlparser checks reads only; the failures are counted.
    assert!(
        c.parse_failures() > 0 && c.parse_failures() < 30,
        "{} parse failures",
        c.parse_failures()
    );
}

#[test]
fn the_lexer_never_panics_on_any_prefix_of_the_corpus() {
    let c = Classifier::default();
    for (_, sql) in corpus() {
        let b = sql.as_bytes();
        for end in (0..b.len()).step_by(7) {
            let _ = c.classify(&b[..end]);
        }
    }
}
