//! Abuse, bounded and on loopback: thousands of idle clients up to the connection cap and
//! one more beyond it, an oversized packet next to working sessions.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::raw::{err_code, Raw};
use crate::support::*;

const CLIENTS: usize = 4000;

/// Reads one packet's payload from a raw socket.
fn read_payload(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut h = [0u8; 4];
    s.read_exact(&mut h).ok()?;
    let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).ok()?;
    Some(p)
}

#[test]
fn four_thousand_idle_clients_are_held_and_the_next_one_gets_1040() {
    // A topology of its own whose primary takes every session's writer connection.
    let topo = Topo::start_with_server_args(true, "--max-connections=4400");
    let proxy = Proxy::start_on(&topo, &["--max-client-connections", &CLIENTS.to_string()]);
    let warm = Raw::login(proxy.port, "app", "app", "mysql_native_password");
    drop(warm);
    wait_client_connections(&proxy, 0);
    let before = proxy.rss_kib();

    // 4,000 logged-in clients from 4 threads, all held open and idle.
    let port = proxy.port;
    let held: Vec<Raw> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || {
                    (0..CLIENTS / 4)
                        .map(|_| {
                            let (raw, answers) =
                                Raw::login(port, "app", "app", "mysql_native_password");
                            assert_eq!(
                                answers.last().and_then(|p| p.first().copied()),
                                Some(0x00),
                                "{answers:?}"
                            );
                            raw
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("login thread"))
            .collect()
    });
    assert_eq!(held.len(), CLIENTS);
    wait_client_connections(&proxy, CLIENTS);
    let after = proxy.rss_kib();
    println!(
        "rwsplit (debug build) VmRSS {before} KiB -> {after} KiB with {CLIENTS} idle clients: \
         {:.1} KiB per idle client connection (benches/idle_memory.sh measures the release build)",
        (after.saturating_sub(before)) as f64 / CLIENTS as f64
    );

    // The 4,001st gets 1040 in place of the greeting.
    let mut extra = TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let answer = read_payload(&mut extra).expect("an answer");
    assert_eq!(err_code(&answer), Some(1040), "{answer:?}");

    // The held clients still work, and once one leaves a newcomer gets in.
    let mut held = held;
    for i in [0, CLIENTS / 2, CLIENTS - 1] {
        let r = held[i].query("SELECT 'alive'");
        assert!(
            r.iter().any(|p| p.windows(5).any(|w| w == b"alive")),
            "{r:?}"
        );
    }
    let mut gone = held.pop().expect("a client");
    gone.write_packet(&[0x01], 0); // COM_QUIT
    let _ = gone.stream.flush();
    drop(gone);
    // The slot frees once rwsplit sees the client gone; until then a newcomer gets 1040.
    wait_for("room after a client left", Duration::from_secs(10), || {
        let (_, answers) = Raw::login(proxy.port, "app", "app", "mysql_native_password");
        if answers.last().and_then(|p| p.first().copied()) == Some(0x00) {
            return true;
        }
        assert_eq!(
            answers.first().and_then(|p| err_code(p)),
            Some(1040),
            "{answers:?}"
        );
        false
    });
}

/// Waits until rwsplit counts `n` client connections (`rwsplit_client_connections`).
fn wait_client_connections(proxy: &Proxy, n: usize) {
    wait_for(
        &format!("rwsplit_client_connections to be {n}"),
        Duration::from_secs(30),
        || {
            let v = metric(&proxy.metrics(), "rwsplit_client_connections", &[]);
            if v == n as f64 {
                Ok(())
            } else {
                Err(format!("{v}"))
            }
        },
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_64_mib_packet_gets_1153_and_other_sessions_go_on() {
    let proxy = Proxy::start(&[]);
    let mut other = app(&proxy).await;
    let (mut raw, answers) = Raw::login(proxy.port, "app", "app", "mysql_native_password");
    assert_eq!(answers.last().and_then(|p| p.first().copied()), Some(0x00));

    // COM_QUERY of 64 MiB + a few bytes (over the default max_packet_size of 64 MiB),
    // split in 16 MiB packets as the protocol wants.
    let mut payload = b"\x03SELECT '".to_vec();
    payload.resize(64 << 20, b'x');
    payload.extend_from_slice(b"'");
    let mut writer = raw.stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        let mut seq = 0u8;
        for chunk in payload.chunks(0xFF_FFFF) {
            let mut h = (chunk.len() as u32).to_le_bytes();
            h[3] = seq;
            if writer
                .write_all(&h)
                .and_then(|()| writer.write_all(chunk))
                .is_err()
            {
                return;
            }
            seq = seq.wrapping_add(1);
        }
    });
    let answer = read_payload(&mut raw.stream).expect("an answer before the close");
    assert_eq!(err_code(&answer), Some(1153), "{answer:?}");
    let _ = sender.join();
    // That session is closed ...
    let mut rest = Vec::new();
    let _ = raw.stream.read_to_end(&mut rest);
    // ... and the others go on.
    let one: Option<i64> = other.query_first("SELECT 1").await.expect("other session");
    assert_eq!(one, Some(1));
    let mut fresh = app(&proxy).await;
    let two: Option<i64> = fresh.query_first("SELECT 2").await.expect("new session");
    assert_eq!(two, Some(2));
}
