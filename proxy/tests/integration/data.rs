//! Values come back unchanged; large packets, several result sets and LOCAL INFILE relay.

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

use crate::support::*;

const VALUES_TABLE: &str = "CREATE TABLE v (
    id INT PRIMARY KEY, b BLOB, d DECIMAL(30,10), dt DATETIME(6), j JSON, n INT NULL,
    s VARCHAR(100) CHARACTER SET utf8mb4, f DOUBLE, bits BIT(12), e ENUM('a','b'))";

async fn insert_values(c: &mut mysql_async::Conn) {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    c.exec_drop(
        "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?, ?, b'101010101010', 'b')",
        (
            1,
            all_bytes,
            "12345678901234567890.0123456789",
            "2024-02-29 23:59:59.123456",
            r#"{"a": [1, 2.5, "x"], "b": null}"#,
            Value::NULL,
            "emoji 😀 and 𝄞 and ß",
            1.0e-300f64,
        ),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn values_come_back_unchanged_through_both_protocols() {
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_values").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop(VALUES_TABLE).await.unwrap();
    insert_values(&mut c).await;
    sync_replicas().await;
    let mut direct = mysql_async::Conn::new(opts(topology().replicas[0], "app", "app", Some(&db)))
        .await
        .unwrap();
    let q = "SELECT id, b, d, dt, j, n, s, f, bits, e FROM v";
    let expected_text: Vec<Row> = direct.query(q).await.unwrap();
    let expected_bin: Vec<Row> = direct.exec(q, ()).await.unwrap();
    for _ in 0..2 {
        let text: Vec<Row> = c.query(q).await.unwrap();
        let bin: Vec<Row> = c.exec(q, ()).await.unwrap();
        assert_eq!(text.len(), 1);
        assert_eq!(
            text[0].clone().unwrap(),
            expected_text[0].clone().unwrap(),
            "text protocol changed a value"
        );
        assert_eq!(
            bin[0].clone().unwrap(),
            expected_bin[0].clone().unwrap(),
            "binary protocol changed a value"
        );
    }
    let b: Option<Vec<u8>> = c.query_first("SELECT b FROM v").await.unwrap();
    assert_eq!(b, Some((0..=255u8).collect::<Vec<u8>>()));
    let s: Option<String> = c.query_first("SELECT s FROM v").await.unwrap();
    assert_eq!(s.as_deref(), Some("emoji 😀 and 𝄞 and ß"));
    let d: Option<String> = c
        .query_first("SELECT CAST(d AS CHAR) FROM v")
        .await
        .unwrap();
    assert_eq!(d.as_deref(), Some("12345678901234567890.0123456789"));
    let dt: Option<String> = c
        .query_first("SELECT CAST(dt AS CHAR) FROM v")
        .await
        .unwrap();
    assert_eq!(dt.as_deref(), Some("2024-02-29 23:59:59.123456"));
    let n: Option<Option<i64>> = c.query_first("SELECT n FROM v").await.unwrap();
    assert_eq!(n, Some(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_over_16_mib_cross_in_several_packets() {
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_big").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)")
        .await
        .unwrap();
    let size = 20 * 1024 * 1024 + 7;
    let blob: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    // Text protocol: the statement itself is over 16 MiB.
    let hex: String = blob.iter().map(|b| format!("{b:02x}")).collect();
    c.query_drop(format!("INSERT INTO big VALUES (1, x'{hex}')"))
        .await
        .unwrap();
    // Binary protocol: a parameter over 16 MiB.
    c.exec_drop("INSERT INTO big VALUES (2, ?)", (blob.clone(),))
        .await
        .unwrap();
    sync_replicas().await;
    for id in [1, 2] {
        let back: Option<Vec<u8>> = c
            .query_first(format!("SELECT b FROM big WHERE id = {id}"))
            .await
            .unwrap();
        assert!(
            back.as_ref() == Some(&blob),
            "row {id} came back different (text)"
        );
        let back: Option<Vec<u8>> = c
            .exec_first("SELECT b FROM big WHERE id = ?", (id,))
            .await
            .unwrap();
        assert!(
            back.as_ref() == Some(&blob),
            "row {id} came back different (binary)"
        );
    }
    let len: Option<u64> = c
        .query_first("SELECT SUM(LENGTH(b)) FROM big")
        .await
        .unwrap();
    assert_eq!(len, Some(2 * size as u64));
}

#[tokio::test(flavor = "multi_thread")]
async fn several_result_sets() {
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_multi").await;
    let mut c = app_db(&proxy, &db).await;
    c.query_drop("CREATE PROCEDURE two() BEGIN SELECT 1 AS a; SELECT 2 AS b, 3 AS c; END")
        .await
        .unwrap();
    for _ in 0..2 {
        let mut r = c.query_iter("CALL two()").await.unwrap();
        let a: Vec<i64> = r.collect().await.unwrap();
        let b: Vec<(i64, i64)> = r.collect().await.unwrap();
        drop(r);
        assert_eq!(a, vec![1]);
        assert_eq!(b, vec![(2, 3)]);
        let mut r = c
            .query_iter("SELECT 1; SELECT 'x', 'y'; DO 1")
            .await
            .unwrap();
        let a: Vec<i64> = r.collect().await.unwrap();
        let b: Vec<(String, String)> = r.collect().await.unwrap();
        drop(r);
        assert_eq!(a, vec![1]);
        assert_eq!(b, vec![("x".to_string(), "y".to_string())]);
        // The session is usable afterwards.
        let one: Option<i64> = c.query_first("SELECT 1").await.unwrap();
        assert_eq!(one, Some(1));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn load_data_local_infile_through_the_cli() {
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_infile").await;
    let file = std::env::temp_dir().join(format!("rwsplit-infile-{}.csv", proxy.port));
    let mut data = String::new();
    for i in 0..5000 {
        data.push_str(&format!("{i},name {i}\n"));
    }
    std::fs::write(&file, data).unwrap();
    let sql = format!(
        "CREATE TABLE `{db}`.l (id INT PRIMARY KEY, name VARCHAR(40));
         LOAD DATA LOCAL INFILE '{}' INTO TABLE `{db}`.l FIELDS TERMINATED BY ',';
         SELECT ROW_COUNT();",
        file.display()
    );
    let out = mariadb_cli(proxy.port, &["--local-infile=1", "-e", &sql], None).expect("cli");
    assert_eq!(out.trim(), "5000", "rows loaded");
    sync_replicas().await;
    let mut c = app_db(&proxy, &db).await;
    let (n, sum): (u64, u64) = c
        .query_first("SELECT COUNT(*), SUM(id) FROM l")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((n, sum), (5000, 12497500));
    // A refused file (the client does not allow it) errors without breaking the session.
    let out = mariadb_cli(
        proxy.port,
        &[
            "--local-infile=0",
            "--force",
            "-e",
            &format!(
                "LOAD DATA LOCAL INFILE '{}' INTO TABLE `{db}`.l; SELECT 7",
                file.display()
            ),
        ],
        None,
    );
    match out {
        Ok(o) => assert!(o.contains('7'), "{o}"),
        Err(e) => assert!(e.contains("ERROR"), "{e}"),
    }
    let _ = std::fs::remove_file(file);
}
