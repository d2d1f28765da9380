//! The binary protocol's corners through rwsplit, with a raw client: parameter types the
//! client sends once, cursors, long data, and COM_STMT_CLOSE reaching every backend.

use std::collections::BTreeSet;

use mysql_async::prelude::Queryable;

use crate::raw::{binary_rows, err_code, Raw};
use crate::support::*;

async fn prepared_count(port: u16) -> u64 {
    let mut c = root(port).await;
    let row: Option<(String, u64)> = c
        .query_first("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'")
        .await
        .unwrap();
    row.map(|r| r.1).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_protocol_corners() {
    corners("session").await;
}

/// In transaction pooling a closed statement stays prepared on the backends, for the
/// next session that prepares the same text (bounded by pool.prepared_per_connection).
#[tokio::test(flavor = "multi_thread")]
async fn binary_protocol_corners_in_transaction_pooling() {
    corners("transaction").await;
}

async fn corners(mode: &str) {
    let t = Topo::start(true);
    let ids = server_ids_of(&t).await;
    // No heartbeat: the monitor then prepares nothing, so statement counts are ours.
    let config = format!(
        "[backends]\nwriter = \"127.0.0.1:{}\"\nreaders = [\"127.0.0.1:{}\", \"127.0.0.1:{}\"]\n\
         [[users]]\nname = \"app\"\npassword = \"app\"\n\
         [monitor]\nuser = \"monitor\"\npassword = \"monitor\"\nheartbeat = false\n\
         [routing]\npolicy = \"round_robin\"\nconsistency = \"eventual\"\n\
         [pool]\nmode = \"{mode}\"\n",
        t.primary, t.replicas[0], t.replicas[1]
    );
    let file = std::env::temp_dir().join(format!("rwsplit-ps-{}-{mode}.toml", t.primary));
    std::fs::write(&file, config).unwrap();
    let proxy = Proxy::start_with(&["--config".into(), file.display().to_string()]);
    let (mut raw, answers) = Raw::login(proxy.port, "app", "app", "mysql_native_password");
    assert_eq!(answers.last().and_then(|p| p.first().copied()), Some(0x00));

    // Types sent once: later executions without them still work on every replica.
    let (id, params, _) = raw.prepare("SELECT CONCAT(?, '-', @@server_id)").unwrap();
    assert_eq!(params, 1);
    let first = binary_rows(&raw.execute_i64(id, Some(7), true, 0));
    assert_eq!(first.len(), 1, "{first:?}");
    let mut servers = BTreeSet::new();
    for v in 8..16 {
        let r = raw.execute_i64(id, Some(v), false, 0);
        let rows = binary_rows(&r);
        assert_eq!(rows.len(), 1, "execution without types failed: {r:?}");
        let (got, server) = rows[0].split_once('-').unwrap();
        assert_eq!(got, v.to_string());
        servers.insert(server.parse::<u32>().unwrap());
    }
    assert_eq!(servers, [ids[1], ids[2]].into(), "both replicas ran it");
    // Both replicas hold it now; COM_STMT_CLOSE reaches both.
    let before: Vec<u64> = vec![
        prepared_count(t.replicas[0]).await,
        prepared_count(t.replicas[1]).await,
    ];
    assert_eq!(before, vec![1, 1]);
    let mut close = vec![0x19];
    close.extend_from_slice(&id.to_le_bytes());
    raw.write_packet(&close, 0);
    let r = raw.execute_i64(id, Some(1), true, 0);
    assert_eq!(
        r.last().and_then(|p| err_code(p)),
        Some(1243),
        "closed statement: {r:?}"
    );
    let after: Vec<u64> = vec![
        prepared_count(t.replicas[0]).await,
        prepared_count(t.replicas[1]).await,
    ];
    if mode == "session" {
        assert_eq!(after, vec![0, 0], "COM_STMT_CLOSE reached every backend");
    } else {
        assert_eq!(after, vec![1, 1], "kept prepared for the next session");
        // The same text prepared again runs on the statements kept: none is added.
        let (again, _, _) = raw.prepare("SELECT CONCAT(?, '-', @@server_id)").unwrap();
        for v in 0..4 {
            let rows = binary_rows(&raw.execute_i64(again, Some(v), true, 0));
            assert_eq!(rows.len(), 1);
        }
        let kept: Vec<u64> = vec![
            prepared_count(t.replicas[0]).await,
            prepared_count(t.replicas[1]).await,
        ];
        assert_eq!(kept, vec![1, 1], "no statement added on the readers");
    }

    // A cursor: rows come with COM_STMT_FETCH from the backend that opened it.
    let (cid, _, _) = raw
        .prepare("SELECT CONCAT(seq, '') FROM test.seq_1_to_5")
        .unwrap();
    let opened = raw.execute_i64(cid, None, false, 0x01);
    assert!(
        binary_rows(&opened).is_empty(),
        "a cursor returns no rows at once: {opened:?}"
    );
    let mut fetched = Vec::new();
    for _ in 0..4 {
        let mut f = vec![0x1c];
        f.extend_from_slice(&cid.to_le_bytes());
        f.extend_from_slice(&2u32.to_le_bytes());
        raw.write_packet(&f, 0);
        let mut rows = Vec::new();
        while let Some((_, p)) = raw.read_packet() {
            let end = p.first() == Some(&0xFE) || p.first() == Some(&0xFF);
            rows.push(p);
            if end {
                break;
            }
        }
        assert!(
            rows.last().and_then(|p| err_code(p)).is_none(),
            "fetch failed: {rows:?}"
        );
        fetched.extend(
            rows.iter()
                .filter(|p| p.first() == Some(&0x00))
                .filter_map(|p| crate::raw::binary_string(p)),
        );
        if fetched.len() >= 5 {
            break;
        }
    }
    assert_eq!(fetched, vec!["1", "2", "3", "4", "5"]);

    // Long data: sent before the execution, wherever it runs.
    let (lid, _, _) = raw
        .prepare("SELECT CONCAT(LENGTH(?), '-', @@server_id)")
        .unwrap();
    for _ in 0..2 {
        for chunk in 0..3 {
            let mut p = vec![0x18];
            p.extend_from_slice(&lid.to_le_bytes());
            p.extend_from_slice(&0u16.to_le_bytes());
            p.extend(std::iter::repeat_n(b'a' + chunk, 100_000));
            raw.write_packet(&p, 0);
        }
        let mut e = vec![0x17];
        e.extend_from_slice(&lid.to_le_bytes());
        e.push(0);
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&[0x00, 0x01, 0xfc, 0x00]); // null bitmap, types bound, BLOB
        raw.write_packet(&e, 0);
        let rows = binary_rows(&raw.read_result());
        assert_eq!(rows.len(), 1);
        assert!(rows[0].starts_with("300000-"), "{rows:?}");
    }
    drop(proxy);
}
