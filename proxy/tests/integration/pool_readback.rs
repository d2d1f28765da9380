//! Values a statement computes on its connection (`SET @a = expr`, `SELECT … INTO @a`,
//! `@a := …`, a CALL's OUT arguments, a SET sqlparser cannot parse, a system variable set
//! from a query) are read back and replayed as literals, on real servers: with one
//! writer connection shared by two sessions, each sees its own values, of the same type
//! as on a direct connection, and no pin holds the connection.

use mysql_async::prelude::Queryable;
use mysql_async::Row;

use super::pool_transaction::{db_with_table, pinned, pins};
use super::support::*;

/// Each statement computes a value rwsplit's classifier cannot replay as written.
const COMPUTED: &[&str] = &[
    "SET @i = ROUND(7)",
    "SET @d = ROUND(1.505, 2)",
    "SET @f = SQRT(0.01)",
    "SET @s = ELT(1, _latin1 X'E9' COLLATE latin1_german1_ci)",
    "SET @b = ELT(1, X'00FF')",
    "SET @z = ELT(2, 'only one')",
    "SELECT 18446744073709551615 INTO @u",
    "SELECT @n := 41 + 1",
    // sqlparser rejects `:=` in SET; its target has a name.
    "SET @q := CONCAT('it''s', ' \\\\ ', ROUND(1))",
    "SET time_zone = (SELECT '+03:00' FROM t LIMIT 1)",
    "SET SESSION sql_mode = (SELECT 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES' FROM t LIMIT 1)",
];

/// What the session sees: values whose text and column types tell their types apart
/// (an integer halves to a decimal, a double times 3 is not 0.3, a decimal keeps its
/// scale, a string keeps its collation).
const CHECK: &str = "SELECT @i, @i / 2, @d, @d * 3, @f, @f * 3, @s, HEX(@s), COLLATION(@s), \
     HEX(@b), CHARSET(@b), @z IS NULL, @u, @u + 0, @n, @q, \
     @@session.time_zone, @@session.sql_mode";

/// rwsplit in transaction mode with one connection per backend: sessions take turns.
fn one_writer_connection() -> Proxy {
    Proxy::start(&[
        "--pool-mode",
        "transaction",
        "--pool-max-connections",
        "1",
        "--pool-borrow-timeout",
        "5000",
    ])
}

/// The check's values and column types.
fn seen(row: Row) -> Vec<(String, String)> {
    let types: Vec<String> = row
        .columns_ref()
        .iter()
        .map(|c| format!("{:?}", c.column_type()))
        .collect();
    row.unwrap()
        .into_iter()
        .map(|v| format!("{v:?}"))
        .zip(types)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn computed_values_follow_the_session_with_their_types() {
    let db = db_with_table("ptx_readback", &["INSERT INTO {db}.t (v) VALUES ('row')"]).await;
    let proxy = one_writer_connection();
    let mut direct = mysql_async::Conn::new(opts(topology().primary, "app", "app", Some(&db)))
        .await
        .unwrap();
    let mut a = app_db(&proxy, &db).await;
    let mut b = app_db(&proxy, &db).await;
    let a_id = a.id();
    let before_ok = metric(
        &proxy.metrics(),
        "rwsplit_read_backs_total",
        &[("outcome", "ok")],
    );
    b.query_drop("SET @mine = 'b'").await.unwrap();
    for sql in COMPUTED {
        direct.query_drop(*sql).await.unwrap();
        a.query_drop(*sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(pinned(&proxy, a_id), "", "after {sql}");
        // The other session borrows the one writer connection: it is reset and brought
        // to b's state, and b sees none of a's values.
        let (none, mine, tz): (u8, String, String) = b
            .query_first(
                "/* rwsplit:writer */ SELECT @i IS NULL AND @d IS NULL AND @f IS NULL \
                 AND @s IS NULL AND @b IS NULL AND @u IS NULL AND @n IS NULL AND @q IS NULL, \
                 @mine, @@session.time_zone",
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!((none, mine.as_str()), (1, "b"), "b after a's {sql}");
        assert_ne!(tz, "+03:00", "b after a's {sql}");
        // a's values, on whichever connection and server it reads.
        for hint in ["/* rwsplit:writer */ ", ""] {
            let want = seen(direct.query_first(CHECK).await.unwrap().unwrap());
            let got = seen(
                a.query_first(format!("{hint}{CHECK}"))
                    .await
                    .unwrap()
                    .unwrap(),
            );
            assert_eq!(got, want, "a after {sql} ({hint:?})");
        }
    }
    let page = proxy.metrics();
    let ok = metric(&page, "rwsplit_read_backs_total", &[("outcome", "ok")]);
    assert!(
        ok - before_ok >= COMPUTED.len() as f64,
        "{} read-backs for {} statements",
        ok - before_ok,
        COMPUTED.len()
    );
    for reason in ["user_variable", "session_state"] {
        assert_eq!(pins(&proxy, reason), 0.0, "{reason} pins");
    }
}

/// A CALL's OUT argument is read back; whatever else the procedure set stays on its
/// connection, which is reset before another session uses it.
#[tokio::test(flavor = "multi_thread")]
async fn a_procedures_connection_is_reset_before_another_session_uses_it() {
    let procedure = "CREATE PROCEDURE {db}.p_out(OUT o INT) BEGIN SET o = 99; SET @inside = 5; END";
    let db = db_with_table("ptx_call", &[procedure]).await;
    let proxy = one_writer_connection();
    for round in 0..3 {
        // Two sessions with the same (empty) history: a connection they exchange needs
        // no replay, unless what it holds is not known.
        let mut a = app_db(&proxy, &db).await;
        let mut c = app_db(&proxy, &db).await;
        a.query_drop("CALL p_out(@o)").await.unwrap();
        let leaked: (Option<i64>, Option<i64>) = c
            .query_first("/* rwsplit:writer */ SELECT @inside, @o")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(leaked, (None, None), "round {round}: c sees a's procedure");
        let o: Option<i64> = a.query_first("SELECT @o").await.unwrap().unwrap();
        assert_eq!(o, Some(99), "round {round}: the OUT argument follows a");
        a.disconnect().await.unwrap();
        c.disconnect().await.unwrap();
    }
}
