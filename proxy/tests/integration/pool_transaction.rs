//! Transaction pooling on real servers: sessions share a few backend connections
//! statement by statement, each sees only its own state (restored on whichever
//! connection it borrows), pins hold a connection exactly while their cause lasts, and
//! follow-up statements see the statement before them.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::support::*;

/// A fresh database with a table `t` (id auto-increment, v), then `setup` run on the
/// primary (`{db}` stands for the database's name), replicated.
pub(super) async fn db_with_table(name: &str, setup: &[&str]) -> String {
    let db = fresh_db(name).await;
    let mut c = root(topology().primary).await;
    c.query_drop(format!(
        "CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))"
    ))
    .await
    .unwrap();
    for sql in setup {
        c.query_drop(sql.replace("{db}", &db)).await.unwrap();
    }
    sync_replicas().await;
    db
}

/// Its pin as SHOW SESSIONS shows it (empty when none).
pub(super) fn pinned(proxy: &Proxy, session: u32) -> String {
    // Columns: id, user, client, db, in_transaction, statements, seconds, pinned, …
    let col = 7;
    let out = admin_cli(proxy, "SHOW SESSIONS").unwrap();
    out.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&session.to_string().as_str()))
        .and_then(|f| f.get(col).map(|v| v.to_string()))
        .map(|v| if v == "NULL" { String::new() } else { v })
        .unwrap_or_else(|| panic!("session {session} missing from SHOW SESSIONS:\n{out}"))
}

pub(super) fn pins(proxy: &Proxy, reason: &str) -> f64 {
    metric(
        &proxy.metrics(),
        "rwsplit_pins_total",
        &[("reason", reason)],
    )
}

/// 64 sessions over 8 connections per backend, 20,000+ statements: autocommit statements
/// and transactions, each session with its own time zone, sql_mode, character set,
/// database, user variables (by literal, by expression, `:=` and `INTO`),
/// LAST_INSERT_ID() and prepared statements of the same text,
/// checking after every statement that it sees its own values and no one else's.
#[tokio::test(flavor = "multi_thread")]
async fn sixty_four_sessions_over_eight_connections_each_see_only_their_own_state() {
    let dbs = [
        db_with_table("ptx_leak_a", &[]).await,
        db_with_table("ptx_leak_b", &[]).await,
    ];
    let proxy = Proxy::start(&[
        "--pool-mode",
        "transaction",
        "--pool-max-connections",
        "8",
        "--pool-borrow-timeout",
        "30000",
        "--consistency",
        "session",
    ]);
    const SESSIONS: usize = 64;
    const ROUNDS: usize = 40;
    let mut tasks = Vec::new();
    for n in 0..SESSIONS {
        let (port, db, first) = (proxy.port, dbs[n % 2].clone(), dbs[0].clone());
        tasks.push(tokio::spawn(async move {
            // Logged in with a database: a connection cannot leave its database, so a
            // session without one could only use connections that never had one.
            let mut c = Conn::new(opts(port, "app", "app", Some(&first)))
                .await
                .unwrap();
            let mut statements = 0usize;
            let tz = format!("+{:02}:{:02}", n % 13, n % 60);
            let mode = ["ANSI_QUOTES", "NO_ZERO_DATE", "PIPES_AS_CONCAT"][n % 3];
            let charset = ["utf8mb4", "latin1"][n % 2];
            let mark = format!("session{n}");
            for sql in [
                format!("USE {db}"),
                format!("SET time_zone = '{tz}'"),
                format!("SET SESSION sql_mode = '{mode}'"),
                format!("SET NAMES {charset}"),
                format!("SET @mark = '{mark}'"),
            ] {
                c.query_drop(sql).await.unwrap();
                statements += 1;
            }
            let mut last_id = 0u64;
            // User variables set by expressions: read back where they were computed.
            let mut expr = String::new();
            for round in 0..ROUNDS {
                let n_now: i64 = c
                    .query_first("SELECT @n := COALESCE(@n, 0) + 1")
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(n_now, round as i64 + 1, "session {n} round {round}: @n");
                c.query_drop("SET @e = CONCAT(@mark, ':', CONNECTION_ID(), ':', @n)")
                    .await
                    .unwrap();
                let (e, back): (String, String) = c
                    .query_first("SELECT @e, @expr_before")
                    .await
                    .unwrap()
                    .map(|(e, b): (String, Option<String>)| (e, b.unwrap_or_default()))
                    .unwrap();
                assert!(e.starts_with(&format!("{mark}:")), "session {n}: @e = {e}");
                assert!(
                    e.ends_with(&format!(":{}", round + 1)),
                    "session {n}: @e = {e}"
                );
                assert_eq!(back, expr, "session {n} round {round}: @expr_before");
                c.query_drop("SELECT @e INTO @expr_before").await.unwrap();
                expr = e;
                statements += 4;
                // A prepared statement every session prepares with the same text.
                let seen: (u64, String, String, String, String, String) = c
                    .exec_first(
                        "SELECT ?, @mark, @@session.time_zone, @@session.sql_mode, \
                         @@session.character_set_client, DATABASE()",
                        (round as u64,),
                    )
                    .await
                    .unwrap()
                    .unwrap();
                statements += 1;
                let want = (
                    round as u64,
                    mark.clone(),
                    tz.clone(),
                    mode.to_string(),
                    charset.to_string(),
                    db.clone(),
                );
                assert_eq!(seen, want, "session {n} round {round}");
                // An autocommit insert, a read elsewhere, then LAST_INSERT_ID().
                c.query_drop(format!("INSERT INTO t (v) VALUES ('{mark}-{round}')"))
                    .await
                    .unwrap();
                let id = c.last_insert_id().unwrap_or(0);
                assert!(id > last_id, "session {n}: insert id {id} after {last_id}");
                let one: (u8, String) = c.query_first("SELECT 1, @mark").await.unwrap().unwrap();
                assert_eq!(one, (1, mark.clone()), "session {n} round {round}");
                let lid: u64 = c
                    .query_first("SELECT LAST_INSERT_ID()")
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(lid, id, "session {n} round {round}: LAST_INSERT_ID()");
                statements += 3;
                // A transaction that reads its own write.
                c.query_drop("BEGIN").await.unwrap();
                c.query_drop(format!("INSERT INTO t (v) VALUES ('{mark}-tx{round}')"))
                    .await
                    .unwrap();
                let tx_id = c.last_insert_id().unwrap_or(0);
                assert!(tx_id > id, "session {n}: insert id {tx_id} after {id}");
                let mine: (u64, String) = c
                    .exec_first("SELECT LAST_INSERT_ID(), @mark", ())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    mine,
                    (tx_id, mark.clone()),
                    "session {n} round {round} in tx"
                );
                c.query_drop("COMMIT").await.unwrap();
                statements += 4;
                last_id = tx_id;
            }
            let rows: u64 = c
                .exec_first(
                    "SELECT COUNT(*) FROM t WHERE v LIKE CONCAT(?, '-%')",
                    (&mark,),
                )
                .await
                .unwrap()
                .unwrap();
            assert_eq!(rows, 2 * ROUNDS as u64, "session {n}: its rows");
            c.disconnect().await.unwrap();
            statements + 1
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert!(total >= 20_000, "only {total} statements ran");
    let page = proxy.metrics();
    for role in ["writer", "reader"] {
        let opened = metric(
            &page,
            "rwsplit_pool_borrows_total",
            &[("role", role), ("outcome", "new")],
        );
        assert!(opened >= 1.0, "no {role} connection was opened");
    }
    let opened = metric(
        &page,
        "rwsplit_pool_borrows_total",
        &[("role", "writer"), ("outcome", "new")],
    );
    assert!(opened <= 8.0, "{opened} writer connections for a cap of 8");
    let pinned = metric(&page, "rwsplit_pins_total", &[("reason", "transaction")]);
    assert!(
        pinned >= (SESSIONS * ROUNDS) as f64,
        "transactions pinned {pinned} times"
    );
}

/// One writer connection serves two sessions that take turns, and a session's
/// temporary table keeps its connection while the other waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn sessions_take_turns_on_one_connection_until_a_pin_holds_it() {
    let db = db_with_table("ptx_turns", &[]).await;
    let proxy = Proxy::start(&[
        "--pool-mode",
        "transaction",
        "--pool-max-connections",
        "1",
        "--pool-borrow-timeout",
        "1500",
    ]);
    let mut a = app_db(&proxy, &db).await;
    let mut b = app_db(&proxy, &db).await;
    for i in 0..5 {
        a.query_drop(format!("INSERT INTO t (v) VALUES ('a{i}')"))
            .await
            .unwrap();
        // The insert's follow-up hold ends when the next statement arrives.
        a.query_drop("DO 1").await.unwrap();
        b.query_drop(format!("INSERT INTO t (v) VALUES ('b{i}')"))
            .await
            .unwrap();
        b.query_drop("DO 1").await.unwrap();
    }
    // A temporary table pins a's connection: b waits, then gets 1040.
    a.query_drop("CREATE TEMPORARY TABLE tmp (x INT)")
        .await
        .unwrap();
    let refused = b.query_drop("INSERT INTO t (v) VALUES ('b-late')").await;
    let code = match &refused {
        Err(mysql_async::Error::Server(e)) => Some(e.code),
        _ => None,
    };
    assert_eq!(code, Some(1040), "{refused:?}");
    a.query_drop("INSERT INTO tmp VALUES (1)").await.unwrap();
    a.query_drop("DROP TEMPORARY TABLE tmp").await.unwrap();
    b.query_drop("INSERT INTO t (v) VALUES ('b-after')")
        .await
        .unwrap();
    let n: u64 = b
        .query_first("SELECT COUNT(*) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 11);
}

/// Each pin reason that SQL can reach is entered and left; SHOW SESSIONS shows it and
/// `rwsplit_pins_total` counts it.
#[tokio::test(flavor = "multi_thread")]
async fn each_pin_is_entered_shown_counted_and_left() {
    let db = db_with_table("ptx_pins", &["CREATE SEQUENCE {db}.seq"]).await;
    let proxy = Proxy::start(&["--pool-mode", "transaction"]);
    let mut c = app_db(&proxy, &db).await;
    let id = c.id();
    // (reason, statements that enter it, statements that leave it)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "transaction",
            &["BEGIN", "INSERT INTO t (v) VALUES ('x')"],
            &["COMMIT"],
        ),
        (
            "transaction",
            &["SET autocommit = 0", "SELECT 1"],
            &["COMMIT", "SET autocommit = 1"],
        ),
        (
            "xa",
            &["XA START 'ptx'"],
            &["XA END 'ptx'", "XA COMMIT 'ptx' ONE PHASE"],
        ),
        ("locked_tables", &["LOCK TABLES t READ"], &["UNLOCK TABLES"]),
        (
            "named_lock",
            &["SELECT GET_LOCK('ptx_lock', 1)"],
            &["SELECT RELEASE_LOCK('ptx_lock')"],
        ),
        (
            "temporary_table",
            &["CREATE TEMPORARY TABLE tt (a INT)"],
            &["DROP TEMPORARY TABLE tt"],
        ),
        ("handler", &["HANDLER t OPEN AS h"], &["HANDLER h CLOSE"]),
        (
            "sql_prepare",
            &["PREPARE s FROM 'SELECT 1'"],
            &["DEALLOCATE PREPARE s"],
        ),
        (
            "next_transaction",
            &["SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"],
            &["INSERT INTO t (v) VALUES ('y')", "DO 1"],
        ),
    ];
    for (reason, enter, leave) in cases {
        let before = pins(&proxy, reason);
        for sql in *enter {
            c.query_drop(*sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        assert_eq!(pinned(&proxy, id), *reason, "after {enter:?}");
        assert_eq!(pins(&proxy, reason), before + 1.0, "{reason} counted");
        for sql in *leave {
            c.query_drop(*sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        assert_eq!(pinned(&proxy, id), "", "after {leave:?}");
    }
    // Pins for the session's life, left by COM_RESET_CONNECTION. Computed values pin
    // only where they cannot be read back: inside a multi-statement query.
    let lifelong: &[(&str, &str)] = &[
        ("sequence", "SELECT NEXTVAL(seq)"),
        ("user_variable", "SET @now = NOW(); DO 1"),
        (
            "session_state",
            "SET time_zone = (SELECT '+01:00' FROM t LIMIT 1); DO 1",
        ),
    ];
    for (reason, sql) in lifelong {
        let before = pins(&proxy, reason);
        let _ = c.query_drop(*sql).await;
        assert_eq!(pinned(&proxy, id), *reason, "after {sql}");
        assert_eq!(pins(&proxy, reason), before + 1.0, "{reason} counted");
        c.reset().await.unwrap();
        c.query_drop("DO 1").await.unwrap();
        assert_eq!(pinned(&proxy, id), "", "after COM_RESET_CONNECTION");
    }
}

/// SHOW WARNINGS, ROW_COUNT() and FOUND_ROWS() see the statement before them, though
/// other sessions borrow the one connection in between.
#[tokio::test(flavor = "multi_thread")]
async fn follow_ups_see_the_statement_before_them() {
    let db = db_with_table("ptx_follow", &[]).await;
    let proxy = Proxy::start(&[
        "--pool-mode",
        "transaction",
        "--pool-max-connections",
        "2",
        "--pool-borrow-timeout",
        "10000",
    ]);
    let port = proxy.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut others = Vec::new();
    for _ in 0..3 {
        let (db, stop) = (db.clone(), stop.clone());
        others.push(tokio::spawn(async move {
            let mut o = Conn::new(opts(port, "app", "app", Some(&db)))
                .await
                .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                o.query_drop("UPDATE t SET v = v WHERE id = -1")
                    .await
                    .unwrap();
                o.query_drop("DO 1").await.unwrap();
            }
        }));
    }
    let mut c = app_db(&proxy, &db).await;
    for i in 0..20 {
        c.query_drop("SET SESSION sql_mode = ''").await.unwrap();
        c.query_drop(format!(
            "INSERT INTO t (v) VALUES ('{}')",
            "w".repeat(41 + i)
        ))
        .await
        .unwrap();
        let warnings: Vec<(String, u16, String)> = c.query("SHOW WARNINGS").await.unwrap();
        assert_eq!(warnings.len(), 1, "round {i}: {warnings:?}");
        assert_eq!(warnings[0].1, 1265, "round {i}: data truncated");
        c.query_drop("UPDATE t SET v = 'u' WHERE id > 0")
            .await
            .unwrap();
        let changed: i64 = c.query_first("SELECT ROW_COUNT()").await.unwrap().unwrap();
        assert_eq!(changed, 1, "round {i}: ROW_COUNT() (the new row)");
        let _: Vec<u64> = c
            .query("SELECT SQL_CALC_FOUND_ROWS id FROM t LIMIT 1")
            .await
            .unwrap();
        let found: u64 = c.query_first("SELECT FOUND_ROWS()").await.unwrap().unwrap();
        assert_eq!(found, i as u64 + 1, "round {i}: FOUND_ROWS()");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for o in others {
        o.await.unwrap();
    }
}
