//! A lagging replica stops getting reads and gets them back once it catches up; a killed
//! replica costs autocommit reads nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::support::*;

async fn id_of(c: &mut mysql_async::Conn) -> Result<u32, mysql_async::Error> {
    Ok(c.query_first::<u32, _>("SELECT @@server_id")
        .await?
        .unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_replica_leaves_and_comes_back() {
    let t = Topo::start(true);
    let proxy = Proxy::start_on(
        &t,
        &["--monitor-interval", "500", "--policy", "round-robin"],
    );
    let ids = server_ids_of(&t).await;
    let (delayed, delayed_id) = (t.replicas[0], ids[1]);
    let mut c = mysql_async::Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .unwrap();
    // Both replicas serve reads.
    let mut seen = HashMap::new();
    for _ in 0..10 {
        *seen.entry(id_of(&mut c).await.unwrap()).or_insert(0) += 1;
    }
    assert!(seen.contains_key(&delayed_id), "{seen:?}");

    t.script(&["delay", &delayed.to_string(), "3"]);
    let delayed_at = Instant::now();
    // The heartbeat (every 100 ms) makes its lag grow past max_replica_lag (1 s); within
    // two monitor intervals after that, it gets no more reads.
    let mut last_read_on_delayed = delayed_at;
    while delayed_at.elapsed() < Duration::from_millis(4500) {
        if id_of(&mut c).await.unwrap() == delayed_id {
            last_read_on_delayed = Instant::now();
        }
        // Pacing of a loop that measures how long the lagging replica kept getting
        // reads: time is what is tested.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out_after = last_read_on_delayed - delayed_at;
    assert!(
        out_after <= Duration::from_millis(1000 + 2 * 500 + 300),
        "the lagging replica still got reads {out_after:?} after the delay began"
    );
    assert!(
        delayed_at.elapsed() - out_after.min(delayed_at.elapsed()) > Duration::from_secs(2),
        "it must stay out while it lags"
    );
    // Caught up: it serves reads again.
    t.script(&["delay", &delayed.to_string(), "0"]);
    let back = Instant::now();
    let returned = wait_for_async(
        "the caught-up replica to get reads again",
        Duration::from_secs(10),
        async || (id_of(&mut c).await.unwrap() == delayed_id).then(|| back.elapsed()),
    )
    .await;
    assert!(
        returned < Duration::from_secs(6),
        "came back after {returned:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_replica_costs_autocommit_reads_nothing() {
    let t = Topo::start(true);
    let proxy = Proxy::start_on(&t, &["--policy", "round-robin"]);
    let ids = server_ids_of(&t).await;
    let victim = t.replicas[0];
    let port = proxy.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Reads served so far: by any server, and by the victim.
    let served = std::sync::Arc::new(AtomicU64::new(0));
    let served_by_victim = std::sync::Arc::new(AtomicU64::new(0));
    let victim_id = ids[1];
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (stop, served, served_by_victim) =
            (stop.clone(), served.clone(), served_by_victim.clone());
        readers.push(tokio::spawn(async move {
            let mut c = mysql_async::Conn::new(opts(port, "app", "app", None))
                .await
                .unwrap();
            let (mut ok, mut errors, mut by_server) = (0u64, Vec::new(), HashMap::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match c
                    .query_first::<(u32, u64), _>(
                        "SELECT @@server_id, COUNT(*) FROM information_schema.SCHEMATA",
                    )
                    .await
                {
                    Ok(Some((id, _))) => {
                        ok += 1;
                        *by_server.entry(id).or_insert(0u64) += 1;
                        served.fetch_add(1, Ordering::Relaxed);
                        if id == victim_id {
                            served_by_victim.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(None) => errors.push("no row".to_string()),
                    Err(e) => errors.push(e.to_string()),
                }
                if errors.len() >= 20 {
                    // A broken connection fails every query at once: enough to report.
                    break;
                }
            }
            (ok, errors, by_server)
        }));
    }
    // Reads flow, the victim among the servers.
    wait_for_async(
        "reads on the victim under load",
        Duration::from_secs(10),
        async || served_by_victim.load(Ordering::Relaxed) > 0,
    )
    .await;
    t.script(&["kill", &victim.to_string()]);
    // The monitor sees it down; reads go on while it is.
    proxy
        .wait_backend(victim, "down", |b| b.is_some_and(|b| b["up"] == false))
        .await;
    let at_down = served.load(Ordering::Relaxed);
    wait_for_async(
        "100 reads while the victim is down",
        Duration::from_secs(10),
        async || served.load(Ordering::Relaxed) >= at_down + 100,
    )
    .await;
    t.script(&["start", &victim.to_string()]);
    // Back: the monitor finds it eligible; reads go on.
    proxy
        .wait_backend(victim, "up and eligible", |b| {
            b.is_some_and(|b| b["up"] == true && b["eligible"] == true)
        })
        .await;
    let at_back = served.load(Ordering::Relaxed);
    wait_for_async(
        "100 reads after the victim is back",
        Duration::from_secs(10),
        async || served.load(Ordering::Relaxed) >= at_back + 100,
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    let mut servers: HashMap<u32, u64> = HashMap::new();
    for r in readers {
        let (ok, errors, by_server) = r.await.unwrap();
        assert!(errors.is_empty(), "autocommit reads failed: {errors:?}");
        total += ok;
        for (k, v) in by_server {
            *servers.entry(k).or_insert(0) += v;
        }
    }
    assert!(total > 100, "{total} reads");
    assert!(
        servers.get(&ids[2]).copied().unwrap_or(0) > 0,
        "the other replica served: {servers:?}"
    );
    // After its restart the victim serves again (checked on a fresh connection).
    let mut c = mysql_async::Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .unwrap();
    wait_for_async(
        "reads on the restarted replica (a fresh connection)",
        Duration::from_secs(4),
        async || id_of(&mut c).await.unwrap() == ids[1],
    )
    .await;
}
