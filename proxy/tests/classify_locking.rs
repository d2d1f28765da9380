//! Locking reads (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE) go to the writer wherever the
//! clause sits (top level, derived table, IN-subquery, UNION branch, CTE, executable
//! comment), and no hint moves them; the same words in strings, comments or quoted
//! identifiers lock nothing.

mod common_route;

use common_route::topology;
use rwsplit::classify::{Classifier, Flags, Kind};
use rwsplit::route::{route, Reason, SessionState, Target};

/// (statement, is a locking read)
#[rustfmt::skip]
const CASES: &[(&str, bool)] = &[
    // the forms MySQL and MariaDB accept
    ("SELECT * FROM accounts WHERE id = 42 FOR UPDATE", true),
    ("SELECT * FROM accounts WHERE id = 42 FOR SHARE", true),
    ("SELECT * FROM accounts WHERE id = 42 LOCK IN SHARE MODE", true),
    ("SELECT * FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED", true),
    ("SELECT * FROM jobs WHERE id = 9 FOR UPDATE NOWAIT", true),
    ("SELECT * FROM jobs WHERE id = 9 FOR SHARE NOWAIT", true),
    ("SELECT a.* FROM a JOIN b ON a.id = b.a_id FOR UPDATE OF a", true),
    ("SELECT * FROM t WHERE id = 1 FOR UPDATE WAIT 5", true),
    ("select * from t where id = 1 for update", true),
    ("SELECT * FROM t WHERE id = 1\nFOR\n  UPDATE", true),
    ("SELECT * FROM t WHERE id = 1 FOR /* really */ UPDATE", true),
    // nested: derived table, IN-subquery, UNION branch, CTE
    ("SELECT * FROM (SELECT * FROM t WHERE id = 1 FOR UPDATE) AS x", true),
    ("SELECT * FROM t WHERE a IN (SELECT a FROM u WHERE b = 2 LOCK IN SHARE MODE)", true),
    ("SELECT id FROM t UNION SELECT id FROM u FOR SHARE", true),
    ("(SELECT id FROM t) UNION (SELECT id FROM u FOR UPDATE)", true),
    ("WITH c AS (SELECT id FROM t) SELECT * FROM c FOR UPDATE", true),
    ("WITH c AS (SELECT id FROM t FOR UPDATE) SELECT * FROM c", true),
    // executable comments are code
    ("SELECT * FROM t WHERE id = 1 /*!80000 FOR SHARE */", true),
    ("SELECT * FROM t WHERE id = 1 /*!50000 FOR UPDATE */", true),
    // ORMs
    ("select next_val as id_val from hibernate_sequence for update", true),
    ("select user0_.id as id1_0_, user0_.version as version2_0_ from users user0_ where user0_.id=? for update", true),
    ("select b0_.id from book b0_ where b0_.id=? for share", true),
    ("select b0_.id from book b0_ where b0_.id=? lock in share mode", true),
    ("SELECT `app_job`.`id` FROM `app_job` WHERE `app_job`.`state` = 'new' LIMIT 1 FOR UPDATE SKIP LOCKED", true),
    ("SELECT `app_job`.`id` FROM `app_job` WHERE `app_job`.`id` = 3 FOR UPDATE NOWAIT", true),
    ("SELECT `shop_order`.`id` FROM `shop_order` INNER JOIN `shop_user` ON (`shop_order`.`user_id` = `shop_user`.`id`) FOR UPDATE OF `shop_order`", true),
    // look-alikes that lock nothing
    ("SELECT 'FOR UPDATE' AS s", false),
    ("SELECT \"LOCK IN SHARE MODE\" AS s", false),
    ("SELECT `for update` FROM t", false),
    ("SELECT * FROM t -- FOR UPDATE", false),
    ("SELECT * FROM t # FOR UPDATE", false),
    ("SELECT * FROM t /* FOR UPDATE */", false),
    ("SELECT * FROM t1 USE INDEX FOR ORDER BY (idx) ORDER BY a", false),
    ("SELECT * FROM t1 IGNORE INDEX FOR JOIN (idx) JOIN t2 ON t1.id = t2.id", false),
    ("SELECT share, updated FROM stock_update WHERE for_sale = 1", false),
];

#[test]
fn locking_reads_go_to_the_writer_and_look_alikes_do_not() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, locking) in CASES {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        let (want_target, want_reason) = if locking {
            (Target::Writer, Reason::LockingRead)
        } else {
            (Target::Reader, Reason::Read)
        };
        if st.kind != Kind::Read
            || st.flags.contains(Flags::LOCKING_READ) != locking
            || r.target != want_target
            || r.reason != want_reason
        {
            bad.push(format!(
                "{sql:?}: {:?} {:?} -> {:?}/{:?}, want locking={locking} -> {want_target:?}/{want_reason:?}",
                st.kind, st.flags, r.target, r.reason
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
fn no_hint_moves_a_locking_read_to_a_reader() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, _) in CASES.iter().filter(|k| k.1) {
        for prefix in [
            "/* rwsplit:reader */ ",
            "/* rwsplit:slave */ ",
            "-- rwsplit:reader\n",
        ] {
            let text = format!("{prefix}{sql}");
            let st = c.classify(text.as_bytes());
            let r = route(&st, &SessionState::default(), &t);
            if r.target != Target::Writer || r.reason != Reason::LockingRead {
                bad.push(format!("{text:?}: {:?}/{:?}", r.target, r.reason));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn explain_of_a_locking_read_locks_nothing_but_explain_analyze_runs_it() {
    let c = Classifier::default();
    let t = topology();
    let cases = [
        (
            "EXPLAIN SELECT * FROM t WHERE id = 1 FOR UPDATE",
            Target::Reader,
        ),
        (
            "EXPLAIN ANALYZE SELECT * FROM t WHERE id = 1 FOR UPDATE",
            Target::Writer,
        ),
        (
            "ANALYZE SELECT * FROM t WHERE id = 1 FOR UPDATE",
            Target::Writer,
        ),
    ];
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|&(sql, want)| {
            let r = route(&c.classify(sql.as_bytes()), &SessionState::default(), &t);
            (r.target != want)
                .then(|| format!("{sql:?}: {:?}/{:?}, want {want:?}", r.target, r.reason))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
