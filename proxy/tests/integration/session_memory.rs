//! `--max-session-memory`: a session's prepared statements and pending long data are
//! capped; beyond the cap the client gets error 1041 and its session goes on.

use mysql_async::prelude::Queryable;

use crate::raw::{err_code, Raw};
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn prepared_statements_beyond_the_session_cap_get_1041_and_the_session_goes_on() {
    let proxy = Proxy::start(&["--max-session-memory", "8192"]);
    let mut c = app(&proxy).await;
    let pad = "x".repeat(1500);
    let mut kept = Vec::new();
    let mut refused = None;
    for i in 0..10 {
        match c.prep(format!("SELECT {i} + ? AS v /* {pad} */")).await {
            Ok(s) => kept.push(s),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let err = refused.expect("the cap is reached within 10 statements of 1.5 KB");
    assert!(format!("{err:?}").contains("1041"), "{err:?}");
    assert!(
        (3..=5).contains(&kept.len()),
        "{} statements fit in 8 KiB",
        kept.len()
    );
    // The session goes on: statements run, and closing one makes room for another.
    let v: Option<i64> = c.exec_first(&kept[0], (1,)).await.expect("execute");
    assert_eq!(v, Some(1));
    let one: Option<i64> = c.query_first("SELECT 1").await.expect("a query");
    assert_eq!(one, Some(1));
    let first = kept.remove(0);
    c.close(first).await.expect("close");
    c.prep(format!("SELECT 99 + ? /* {pad} */"))
        .await
        .expect("room again after a close");
}

#[test]
fn long_data_beyond_the_session_cap_fails_its_execution_only() {
    let proxy = Proxy::start(&["--max-session-memory", "8192"]);
    let (mut raw, answers) = Raw::login(proxy.port, "app", "app", "mysql_native_password");
    assert_eq!(answers.last().and_then(|p| p.first().copied()), Some(0x00));
    let (id, params, _) = raw.prepare("SELECT LENGTH(?)").expect("prepare");
    assert_eq!(params, 1);
    let long_data = |raw: &mut Raw, len: usize| {
        let mut p = vec![0x18];
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes());
        p.extend(std::iter::repeat_n(b'a', len));
        raw.write_packet(&p, 0); // no answer to COM_STMT_SEND_LONG_DATA
    };
    let execute_blob = |raw: &mut Raw| {
        let mut p = vec![0x17];
        p.extend_from_slice(&id.to_le_bytes());
        p.push(0);
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&[0x00, 0x01, 0xFC, 0x00]); // no NULLs, types bound: BLOB
        raw.write_packet(&p, 0);
        raw.read_result()
    };
    // Within the cap, long data reaches the backend.
    long_data(&mut raw, 3000);
    let r = execute_blob(&mut raw);
    assert_eq!(binary_lengths(&r), vec![3000], "{r:?}");
    // Beyond it (3 × 3000 bytes): that execution gets 1041.
    for _ in 0..3 {
        long_data(&mut raw, 3000);
    }
    let r = execute_blob(&mut raw);
    assert_eq!(r.first().and_then(|p| err_code(p)), Some(1041), "{r:?}");
    // The session goes on, long data works again.
    long_data(&mut raw, 10);
    let r = execute_blob(&mut raw);
    assert_eq!(binary_lengths(&r), vec![10], "{r:?}");
    let r = raw.query("SELECT 'still here'");
    assert!(
        r.iter().any(|p| p.windows(10).any(|w| w == b"still here")),
        "{r:?}"
    );
}

/// LENGTH() values of a binary result (one INT column: 0x00, null bitmap, 4 bytes).
fn binary_lengths(result: &[Vec<u8>]) -> Vec<i32> {
    result
        .iter()
        .skip(2)
        .filter(|p| p.first() == Some(&0x00) && p.len() == 6)
        .map(|p| i32::from_le_bytes([p[2], p[3], p[4], p[5]]))
        .collect()
}
