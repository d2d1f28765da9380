//! The classic read/write-splitting traps, reproduced through rwsplit against the real
//! servers, each with the result a client must see.

use mysql_async::prelude::Queryable;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn found_rows_and_last_insert_id_come_from_the_right_backend() {
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_trap_rows").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, a INT)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO t (a) VALUES (1),(1),(1),(2),(2)")
        .await
        .unwrap();
    sync_replicas().await;
    // SQL_CALC_FOUND_ROWS and FOUND_ROWS() on the same backend.
    let rows: Vec<u32> = c
        .query("SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE a = 1 LIMIT 1")
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let found: Option<u64> = c.query_first("SELECT FOUND_ROWS()").await.unwrap();
    assert_eq!(found, Some(3));
    // INSERT …; SELECT LAST_INSERT_ID() in one multi-statement.
    let mut r = c
        .query_iter("INSERT INTO t (a) VALUES (9); SELECT LAST_INSERT_ID()")
        .await
        .unwrap();
    let _: Vec<u64> = r.collect().await.unwrap();
    let id: Vec<u64> = r.collect().await.unwrap();
    drop(r);
    assert_eq!(id, vec![6]);
    // The FROM DUAL form, and @@identity.
    let id: Option<u64> = c
        .query_first("SELECT LAST_INSERT_ID() FROM DUAL")
        .await
        .unwrap();
    assert_eq!(id, Some(6));
    let id: Option<u64> = c.query_first("SELECT @@identity").await.unwrap();
    assert_eq!(id, Some(6));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_select_calling_a_writing_function_runs_on_the_writer() {
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_trap_func").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE log (id INT PRIMARY KEY AUTO_INCREMENT, at DATETIME)")
        .await
        .unwrap();
    c.query_drop(
        "CREATE FUNCTION note() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO log (at) VALUES (NOW()); RETURN LAST_INSERT_ID(); END",
    )
    .await
    .unwrap();
    sync_replicas().await;
    // On a replica this would fail with 1290 (read-only): it must run on the primary.
    for i in 1..=3u64 {
        let v: Option<u64> = c.query_first("SELECT note()").await.unwrap();
        assert_eq!(v, Some(2 * i - 1));
        let v: Option<u64> = c
            .query_first(format!("SELECT `{db}`.note()"))
            .await
            .unwrap();
        assert_eq!(v, Some(2 * i));
    }
    let n: Option<u64> = root(topology().primary)
        .await
        .query_first(format!("SELECT COUNT(*) FROM `{db}`.log"))
        .await
        .unwrap();
    assert_eq!(n, Some(6));
}

#[tokio::test(flavor = "multi_thread")]
async fn xa_and_handler_stay_on_the_writer() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_trap_xa").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
        .await
        .unwrap();
    c.query_drop("XA START 'x1'").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    let id: Option<u32> = c.query_first("SELECT @@server_id").await.unwrap();
    assert_eq!(id, Some(ids[0]));
    c.query_drop("XA END 'x1'").await.unwrap();
    c.query_drop("XA PREPARE 'x1'").await.unwrap();
    c.query_drop("XA COMMIT 'x1'").await.unwrap();
    c.query_drop("INSERT INTO t VALUES (2), (3)").await.unwrap();
    c.query_drop("HANDLER t OPEN").await.unwrap();
    let a: Vec<u32> = c.query("HANDLER t READ `PRIMARY` FIRST").await.unwrap();
    let b: Vec<u32> = c.query("HANDLER t READ `PRIMARY` NEXT").await.unwrap();
    assert_eq!((a, b), (vec![1], vec![2]));
    c.query_drop("HANDLER t CLOSE").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn user_variables_follow_reads_whether_literal_or_computed() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_trap_vars").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO t VALUES (1, 10), (2, 20)")
        .await
        .unwrap();
    sync_replicas().await;
    // Replayed: a literal.
    c.query_drop("SET @k = 2").await.unwrap();
    let (v, id): (i64, u32) = c
        .query_first("SELECT v, @@server_id FROM t WHERE id = @k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 20);
    assert_ne!(id, ids[0]);
    // Computed on the writer: read back from it and replayed as a literal, so reads
    // using it go to replicas and see the writer's value.
    let _: Vec<u32> = c
        .query("SELECT id INTO @m FROM t ORDER BY id LIMIT 1")
        .await
        .unwrap();
    let (v, id): (i64, u32) = c
        .query_first("SELECT v, @@server_id FROM t WHERE id = @m")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 10);
    assert_ne!(id, ids[0], "a read-back variable is replayed on replicas");
    // Inside a multi-statement query it is not read back: reads using it stay on the
    // writer.
    c.query_drop("SELECT id INTO @w FROM t ORDER BY id DESC LIMIT 1; DO 1")
        .await
        .unwrap();
    let (v, id): (i64, u32) = c
        .query_first("SELECT v, @@server_id FROM t WHERE id = @w")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v, id), (20, ids[0]));
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_tables_made_inside_a_multi_statement_are_followed() {
    let proxy = Proxy::start(&[]);
    let mut c = app(&proxy).await;
    let mut r = c
        .query_iter("CREATE TEMPORARY TABLE test.tmp_multi (id INT); INSERT INTO test.tmp_multi VALUES (1), (2); SELECT COUNT(*) FROM test.tmp_multi")
        .await
        .unwrap();
    let _: Vec<u64> = r.collect().await.unwrap();
    let _: Vec<u64> = r.collect().await.unwrap();
    let n: Vec<u64> = r.collect().await.unwrap();
    drop(r);
    assert_eq!(n, vec![2]);
    for _ in 0..3 {
        let n: Option<u64> = c
            .query_first("SELECT COUNT(*) FROM test.tmp_multi")
            .await
            .unwrap();
        assert_eq!(n, Some(2), "the temporary table must be read on the writer");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hints_and_rules_force_a_route() {
    let config =
        format!(
        "[backends]\nwriter = \"127.0.0.1:{}\"\nreaders = [\"127.0.0.1:{}\", \"127.0.0.1:{}\"]\n\
         [[users]]\nname = \"app\"\npassword = \"app\"\n\
         [monitor]\nuser = \"monitor\"\npassword = \"monitor\"\n\
         [[routing.rules]]\nmatch = \"^SELECT @@SERVER_ID \\\\* \\\\?$\"\nroute = \"writer\"\n\
         [[routing.rules]]\nmatch = \"FROM REPORTS\"\nuser = \"nobody\"\nroute = \"writer\"\n",
        topology().primary, topology().replicas[0], topology().replicas[1]
    );
    let file = std::env::temp_dir().join(format!("rwsplit-rules-{}.toml", std::process::id()));
    std::fs::write(&file, config).unwrap();
    let proxy = Proxy::start_with(&["--config".into(), file.display().to_string()]);
    let ids = server_ids().await;
    let mut c = app(&proxy).await;
    let id: Option<u32> = c
        .query_first("/* rwsplit:writer */ SELECT @@server_id")
        .await
        .unwrap();
    assert_eq!(id, Some(ids[0]), "writer hint");
    let id: Option<u32> = c.query_first("SELECT @@server_id * 1").await.unwrap();
    assert_eq!(id, Some(ids[0]), "rule");
    let id: Option<u32> = c.query_first("SELECT @@server_id + 1").await.unwrap();
    assert_ne!(id, Some(ids[0] + 1), "no rule");
    // A reader hint never moves a transaction's statement.
    c.query_drop("BEGIN").await.unwrap();
    let id: Option<u32> = c
        .query_first("/* rwsplit:reader */ SELECT @@server_id")
        .await
        .unwrap();
    assert_eq!(id, Some(ids[0]));
    c.query_drop("COMMIT").await.unwrap();
    // The CLI strips comments unless run with --comments.
    let out = mariadb_cli(
        proxy.port,
        &[
            "--comments",
            "-e",
            "/* rwsplit:writer */ SELECT @@server_id",
        ],
        None,
    )
    .unwrap();
    assert_eq!(out.trim(), ids[0].to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn pymysql_traps() {
    let proxy = Proxy::start(&[]);
    let ids = server_ids().await;
    let db = fresh_db("it_trap_py").await;
    let script = format!(
        r#"
import sys, pymysql
c = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="app", password="app", database="{db}", autocommit=True,
                    client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
cur = c.cursor()
cur.execute("CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, a INT)")
cur.execute("INSERT INTO t (a) VALUES (5); SELECT LAST_INSERT_ID()")
cur.nextset()
print("multi_last_id", cur.fetchone()[0])
cur.execute("SET @x = 3")
cur.execute("SELECT @x, @@server_id")
x, sid = cur.fetchone()
print("var", x)
cur.execute("SELECT GET_LOCK('py', 1), @@server_id")
print("lock_server", cur.fetchone()[1])
cur.execute("SELECT RELEASE_LOCK('py')")
print("released", cur.fetchone()[0])
cur.execute("CREATE TEMPORARY TABLE tt (id INT)")
cur.execute("INSERT INTO tt VALUES (1)")
cur.execute("SELECT COUNT(*) FROM tt")
print("temp", cur.fetchone()[0])
"#
    );
    let out = python(proxy.port, &script);
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or_else(|| panic!("{k}: {out}"))
            .to_string()
    };
    assert_eq!(get("multi_last_id"), "1");
    assert_eq!(get("var"), "3");
    assert_eq!(get("lock_server"), ids[0].to_string());
    assert_eq!(
        get("released"),
        "1",
        "RELEASE_LOCK ran where GET_LOCK took the lock"
    );
    assert_eq!(get("temp"), "1");
}
