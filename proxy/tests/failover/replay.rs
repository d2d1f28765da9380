//! Replaying interrupted transactions (`failover.replay_max_bytes`) through a `kill -9`
//! of the primary and a promotion, and through a planned switchover. Writer threads run
//! transactions that read, then insert two keys with a pause between them, then commit
//! (each acknowledged pair recorded). Sessions with a transaction open at the crash show
//! each case: replayed (with a prepared statement, a user variable, autocommit off),
//! diverged (it read NOW(6)), too large for the replay. Reader threads on other
//! connections read the newest acknowledged keys back throughout (global consistency):
//! none may miss one, before, during or after the failover.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::aurora::{start_emulated_with, EMULATION_DDL};
use crate::ledger::{set_aurora_rows, set_aurora_writer};
use crate::support::*;

const USER: &str = "it_replay";
const WRITERS: u64 = 4;
/// Threads of autocommit inserts beside the transactions.
const SOLO: u64 = 2;
/// Threads reading the newest acknowledged keys back on connections of their own.
const READERS: u64 = 2;

/// One read of the newest acknowledged keys: when it started, what it looked for,
/// whether it found all of it, which server answered.
#[derive(Debug, Clone)]
struct Read {
    started: Instant,
    solo: u64,
    tx: u64,
    found: bool,
    server: u32,
}

/// What the load saw.
#[derive(Default)]
struct Seen {
    stop: AtomicBool,
    /// First keys of the transactions whose COMMIT was acknowledged (the second key is
    /// the first + 1).
    acked: Mutex<BTreeSet<u64>>,
    /// First keys of transactions the client was told were rolled back.
    rolled_back: Mutex<BTreeSet<u64>>,
    /// First keys of transactions whose COMMIT has an unknown outcome.
    unknown: Mutex<BTreeSet<u64>>,
    /// Errors: code and message.
    errors: Mutex<Vec<(u16, String)>>,
    /// Keys of acknowledged autocommit inserts.
    solo_acked: Mutex<BTreeSet<u64>>,
    /// Every transaction: when it began, how long it took, whether it committed.
    txs: Mutex<Vec<(Instant, Duration, bool)>>,
    /// The newest acknowledged autocommit key, and first key of a committed transaction.
    latest_solo: AtomicU64,
    latest_tx: AtomicU64,
    /// The readers' reads.
    reads: Mutex<Vec<Read>>,
}

impl Seen {
    fn committed_after(&self, t: Instant) -> usize {
        let txs = self.txs.lock().unwrap();
        txs.iter().filter(|(at, d, ok)| *ok && *at + *d > t).count()
    }
}

async fn setup(t: &Topo) {
    let mut r = root(t.primary).await;
    for q in [
        format!("CREATE USER '{USER}'@'%' IDENTIFIED BY '{USER}'"),
        format!("GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%'"),
        format!("REVOKE READ_ONLY ADMIN, SUPER ON *.* FROM '{USER}'@'%'"),
        "CREATE DATABASE ledger".into(),
        "CREATE TABLE ledger.acks (id BIGINT PRIMARY KEY)".into(),
        "CREATE TABLE ledger.acct (id INT PRIMARY KEY, n INT)".into(),
        "CREATE TABLE ledger.solo (id BIGINT PRIMARY KEY)".into(),
        "INSERT INTO ledger.acct VALUES (1, 100)".into(),
    ] {
        r.query_drop(q).await.unwrap();
    }
    sync_replicas_of(t).await;
}

async fn connect(port: u16) -> Conn {
    Conn::new(opts(port, USER, USER, Some("ledger")))
        .await
        .unwrap()
}

/// One transaction of writer `w`: a read of its own keys, two inserts 10 ms apart, COMMIT.
async fn transaction(c: &mut Conn, w: u64, k: u64) -> mysql_async::Result<()> {
    c.query_drop("BEGIN").await?;
    let mine = format!(
        "SELECT COUNT(*) FROM acks WHERE id % {} = {}",
        WRITERS * 2,
        w * 2
    );
    c.query_first::<u64, _>(mine).await?;
    c.query_drop(format!("INSERT INTO acks VALUES ({k})"))
        .await?;
    tokio::time::sleep(Duration::from_millis(10)).await;
    c.query_drop(format!("INSERT INTO acks VALUES ({})", k + 1))
        .await?;
    c.query_drop("COMMIT").await
}

/// The writer threads (transactions, and autocommit inserts) and the readers; each stops
/// when told, or after two minutes at most.
fn spawn_load(port: u16, seen: &Arc<Seen>) -> Vec<tokio::task::JoinHandle<()>> {
    let end = Instant::now() + Duration::from_secs(120);
    let solo: Vec<_> = (0..SOLO)
        .map(|w| {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut c = connect(port).await;
                let mut k = w;
                while !seen.stop.load(Ordering::Relaxed) && Instant::now() < end {
                    k += SOLO;
                    match c.query_drop(format!("INSERT INTO solo VALUES ({k})")).await {
                        Ok(()) => {
                            seen.solo_acked.lock().unwrap().insert(k);
                            seen.latest_solo.fetch_max(k, Ordering::Release);
                        }
                        Err(mysql_async::Error::Server(e)) => {
                            seen.errors.lock().unwrap().push((e.code, e.message));
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => {
                            seen.errors.lock().unwrap().push((0, e.to_string()));
                            match Conn::new(opts(port, USER, USER, Some("ledger"))).await {
                                Ok(n) => c = n,
                                Err(_) => return,
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let txs = (0..WRITERS).map(|w| {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut c = connect(port).await;
            let mut n = 0;
            while !seen.stop.load(Ordering::Relaxed) && Instant::now() < end {
                n += 1;
                let k = (n * WRITERS + w) * 2;
                let began = Instant::now();
                let r = transaction(&mut c, w, k).await;
                seen.txs
                    .lock()
                    .unwrap()
                    .push((began, began.elapsed(), r.is_ok()));
                match r {
                    Ok(()) => {
                        seen.acked.lock().unwrap().insert(k);
                        seen.latest_tx.fetch_max(k, Ordering::Release);
                    }
                    Err(mysql_async::Error::Server(e)) => {
                        if e.message.contains("outcome is unknown") {
                            seen.unknown.lock().unwrap().insert(k);
                        } else {
                            seen.rolled_back.lock().unwrap().insert(k);
                        }
                        seen.errors.lock().unwrap().push((e.code, e.message));
                        let _ = c.query_drop("ROLLBACK").await;
                        // Pacing: a moment before the next transaction after an error.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => {
                        // The session ended: counted, and a new one for the rest.
                        seen.unknown.lock().unwrap().insert(k);
                        seen.errors.lock().unwrap().push((0, e.to_string()));
                        match Conn::new(opts(port, USER, USER, Some("ledger"))).await {
                            Ok(n) => c = n,
                            Err(_) => return,
                        }
                    }
                }
            }
        })
    });
    let readers = (0..READERS).map(|_| {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut c = connect(port).await;
            while !seen.stop.load(Ordering::Relaxed) && Instant::now() < end {
                // The keys are taken before the statement is sent: acknowledged by then.
                let solo = seen.latest_solo.load(Ordering::Acquire);
                let tx = seen.latest_tx.load(Ordering::Acquire);
                if solo == 0 || tx == 0 {
                    // Pacing: nothing acknowledged to read back yet.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let started = Instant::now();
                let q = format!(
                    "SELECT @@server_id, (SELECT COUNT(*) FROM solo WHERE id = {solo}), \
                     (SELECT COUNT(*) FROM acks WHERE id IN ({tx}, {}))",
                    tx + 1
                );
                match c.query_first::<(u32, u64, u64), _>(q).await {
                    Ok(Some((server, a, b))) => seen.reads.lock().unwrap().push(Read {
                        started,
                        solo,
                        tx,
                        found: a == 1 && b == 2,
                        server,
                    }),
                    Ok(None) => seen.errors.lock().unwrap().push((0, "no row".into())),
                    Err(mysql_async::Error::Server(e)) => {
                        seen.errors.lock().unwrap().push((e.code, e.message));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => {
                        seen.errors.lock().unwrap().push((0, e.to_string()));
                        match Conn::new(opts(port, USER, USER, Some("ledger"))).await {
                            Ok(n) => c = n,
                            Err(_) => return,
                        }
                    }
                }
                // Pacing: the readers leave the writers most of the two CPUs.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    });
    txs.chain(solo).chain(readers).collect()
}

/// No read missed a key acknowledged before it started; reads flowed before `from`
/// and after `moved` (when writes had moved to the new writer), some of those served by
/// a replica.
fn check_reads(seen: &Seen, from: Instant, moved: Instant, new_writer_id: u32) {
    let reads = seen.reads.lock().unwrap();
    let before = reads.iter().filter(|r| r.started < from).count();
    let after: Vec<&Read> = reads.iter().filter(|r| r.started >= moved).collect();
    assert!(before > 20, "reads before the failover: {before}");
    assert!(
        after.len() > 20,
        "reads after the failover: {}",
        after.len()
    );
    assert!(
        after.iter().any(|r| r.server != new_writer_id),
        "no read after the failover was served by a replica"
    );
    // When each began, in ms after `from` (the crash or the switch; negative: before
    // it), to tell a read during the outage from one after the promotion.
    let at = |r: &Read| match r.started.checked_duration_since(from) {
        Some(d) => d.as_millis() as i64,
        None => -(from.duration_since(r.started).as_millis() as i64),
    };
    let stale: Vec<(u64, u64, u32, i64)> = reads
        .iter()
        .filter(|r| !r.found)
        .map(|r| (r.solo, r.tx, r.server, at(r)))
        .collect();
    assert!(
        stale.is_empty(),
        "{} of {} reads were stale (solo key, transaction key, server, ms after the crash or switch): {:?}",
        stale.len(),
        reads.len(),
        &stale[..stale.len().min(5)]
    );
}

/// Waits until `n` reads started after the first commit after `t`, some served by a
/// replica (not `writer_id`): a replica may take a moment to follow a new writer.
async fn wait_reads_after(seen: &Seen, t: Instant, n: usize, writer_id: u32) {
    wait_for_async(
        "reads after the failover",
        Duration::from_secs(30),
        async || {
            let moved = first_commit_after(seen, t);
            let reads = seen.reads.lock().unwrap();
            let after: Vec<&Read> = reads.iter().filter(|r| r.started >= moved).collect();
            let by_replicas = after.iter().filter(|r| r.server != writer_id).count();
            if after.len() >= n && by_replicas > 0 {
                Ok(())
            } else {
                Err(format!("{} reads, {by_replicas} by replicas", after.len()))
            }
        },
    )
    .await;
}

/// Waits until the readers made `n` reads.
async fn wait_reads(seen: &Seen, n: usize) {
    wait_for_async("reads to flow", Duration::from_secs(30), async || {
        let got = seen.reads.lock().unwrap().len();
        if got >= n {
            Ok(())
        } else {
            Err(format!("{got} reads"))
        }
    })
    .await;
}

/// When the first write after `t` was acknowledged.
fn first_commit_after(seen: &Seen, t: Instant) -> Instant {
    seen.txs
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, d, ok)| *ok && *at + *d > t)
        .map(|(at, d, _)| *at + *d)
        .min()
        .expect("no transaction committed after the failover")
}

async fn server_id(port: u16) -> u32 {
    root(port)
        .await
        .query_first("SELECT @@server_id")
        .await
        .unwrap()
        .unwrap()
}

async fn wait_committed_after(seen: &Seen, t: Instant, n: usize) {
    wait_for_async(
        "transactions committed",
        Duration::from_secs(30),
        async || {
            let got = seen.committed_after(t);
            if got >= n {
                Ok(())
            } else {
                Err(format!("{got} transactions"))
            }
        },
    )
    .await;
}

async fn stop(seen: &Seen, tasks: Vec<tokio::task::JoinHandle<()>>) {
    seen.stop.store(true, Ordering::Relaxed);
    for h in tasks {
        h.await.unwrap();
    }
}

async fn keys_on(port: u16) -> BTreeSet<u64> {
    let mut c = root(port).await;
    let have: Vec<u64> = c.query("SELECT id FROM ledger.acks").await.unwrap();
    have.into_iter().collect()
}

/// Every acknowledged transaction is on the writer whole, every rolled-back one is not
/// there at all, one with an unknown outcome whole or not at all.
fn check_ledger(have: &BTreeSet<u64>, seen: &Seen) {
    for k in seen.acked.lock().unwrap().iter() {
        assert!(
            have.contains(k) && have.contains(&(k + 1)),
            "acknowledged transaction {k} lost"
        );
    }
    for k in seen.rolled_back.lock().unwrap().iter() {
        assert!(
            !have.contains(k) && !have.contains(&(k + 1)),
            "rolled-back transaction {k} is there"
        );
    }
    for k in seen.unknown.lock().unwrap().iter() {
        assert_eq!(
            have.contains(k),
            have.contains(&(k + 1)),
            "transaction {k} is there in part"
        );
    }
}

fn replays(proxy: &Proxy, outcome: &str) -> f64 {
    metric(
        &proxy.metrics(),
        "rwsplit_replays_total",
        &[("outcome", outcome)],
    )
}

fn server_error(r: mysql_async::Result<()>, what: &str) -> (u16, String) {
    match r {
        Err(mysql_async::Error::Server(e)) => (e.code, e.message),
        other => panic!("{what}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupted_transactions_are_replayed_on_the_promoted_writer() {
    crash_and_promotion(false, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupted_transactions_are_replayed_after_an_aurora_failover() {
    crash_and_promotion(true, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_verify_commits_a_crash_costs_the_load_no_error_at_all() {
    crash_and_promotion(false, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_verify_commits_an_aurora_failover_costs_the_load_no_error_at_all() {
    crash_and_promotion(true, true).await;
}

/// `aurora`: rwsplit in aurora mode over the emulated `replica_host_status`; else
/// read_only mode, with a second rwsplit whose replay_max_bytes is 1024. `verify`:
/// failover.verify_commits on (the load then sees no error at all).
async fn crash_and_promotion(aurora: bool, verify: bool) {
    let t = Topo::start(true);
    if aurora {
        let mut r = root(t.primary).await;
        for q in EMULATION_DDL {
            r.query_drop(q).await.unwrap();
        }
        set_aurora_rows(t.primary, &t.replicas).await;
    }
    setup(&t).await;
    let verify_flag = [
        "--failover-verify-commits",
        if verify { "true" } else { "false" },
    ];
    let proxy = match aurora {
        true => start_emulated_with(t.primary, USER, "global", &verify_flag),
        false => Proxy::start_read_only(
            &t,
            USER,
            &[&["--failover-hold-ms", "20000"][..], &verify_flag].concat(),
        ),
    };
    if verify {
        crate::verify::wait_markers_table(t.primary).await;
    }
    let small = (!aurora).then(|| {
        let extra = ["--failover-hold-ms", "20000"];
        Proxy::start_read_only(
            &t,
            USER,
            &[&extra[..], &["--failover-replay-max-bytes", "1024"]].concat(),
        )
    });
    let seen = Arc::new(Seen::default());
    let tasks = spawn_load(proxy.port, &seen);
    wait_committed_after(&seen, Instant::now(), 50).await;
    wait_reads(&seen, 50).await;

    // Transactions open at the crash, one per case.
    let mut replayed = connect(proxy.port).await;
    replayed.query_drop("SET @tag = 7").await.unwrap();
    replayed.query_drop("BEGIN").await.unwrap();
    let n: Option<u64> = replayed
        .query_first("SELECT n FROM acct WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(n, Some(100));
    replayed
        .exec_drop("INSERT INTO acks VALUES (?)", (5_000_000_001u64,))
        .await
        .unwrap();
    replayed
        .query_drop("INSERT INTO acks VALUES (5000000000 + @tag)")
        .await
        .unwrap();
    let mut autocommit_off = connect(proxy.port).await;
    autocommit_off
        .query_drop("SET autocommit = 0")
        .await
        .unwrap();
    autocommit_off
        .query_drop("INSERT INTO acks VALUES (5000000030)")
        .await
        .unwrap();
    let mut diverges = connect(proxy.port).await;
    diverges.query_drop("BEGIN").await.unwrap();
    diverges
        .query_drop("INSERT INTO acks VALUES (5000000010)")
        .await
        .unwrap();
    diverges.query_drop("SELECT NOW(6)").await.unwrap();
    let mut too_large = match &small {
        Some(p) => {
            let mut c = connect(p.port).await;
            c.query_drop("BEGIN").await.unwrap();
            let pad = "x".repeat(2000);
            c.query_drop(format!(
                "INSERT INTO acks SELECT 5000000020 FROM DUAL WHERE '{pad}' <> ''"
            ))
            .await
            .unwrap();
            Some(c)
        }
        None => None,
    };

    let killed = Instant::now();
    t.script(&["kill", &t.primary.to_string()]);
    for p in std::iter::once(&proxy).chain(small.as_ref()) {
        p.wait_backend(t.primary, "down", |b| b.is_none_or(|b| b["up"] == false))
            .await;
    }
    // During the outage: each session's next statement.
    let during = tokio::spawn(async move {
        let a = replayed
            .query_drop("INSERT INTO acks VALUES (5000000002)")
            .await;
        let a = match a {
            Ok(()) => replayed.query_drop("COMMIT").await,
            e => e,
        };
        let b = autocommit_off
            .query_drop("INSERT INTO acks VALUES (5000000031)")
            .await;
        let b = match b {
            Ok(()) => autocommit_off.query_drop("COMMIT").await,
            e => e,
        };
        let c = diverges
            .query_drop("INSERT INTO acks VALUES (5000000011)")
            .await;
        (a, b, c)
    });
    let too_large = match too_large.as_mut() {
        Some(c) => Some(c.query_drop("INSERT INTO acks VALUES (5000000021)").await),
        None => None,
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let new_writer = most_advanced_replica(&t).await;
    let promoted = Instant::now();
    t.script(&["promote", &new_writer.to_string()]);
    if aurora {
        set_aurora_writer(&t, new_writer).await;
    }
    wait_committed_after(&seen, promoted, 100).await;
    let new_writer_id = server_id(new_writer).await;
    wait_reads_after(&seen, promoted, 50, new_writer_id).await;
    stop(&seen, tasks).await;
    let (a, b, c) = during.await.unwrap();

    check_reads(
        &seen,
        killed,
        first_commit_after(&seen, promoted),
        new_writer_id,
    );

    // Replayed: the client saw no error.
    assert!(a.is_ok(), "the replayed transaction: {a:?}");
    assert!(b.is_ok(), "the transaction with autocommit off: {b:?}");
    // Diverged: 1927, and nothing of it committed.
    let (code, message) = server_error(c, "the transaction that read NOW(6)");
    assert_eq!(code, 1927, "{message}");
    assert!(message.contains("answered differently"), "{message}");
    // Too large for replay_max_bytes: 1927, as without replay.
    if let Some(r) = too_large {
        let (code, message) = server_error(r, "the transaction past replay_max_bytes");
        assert_eq!(code, 1927, "{message}");
        assert!(message.contains("replay_max_bytes"), "{message}");
    }

    // The load saw only COMMITs in flight at the crash fail (outcome unknown), and with
    // verify_commits not even those.
    let errors = seen.errors.lock().unwrap().clone();
    if verify {
        assert!(errors.is_empty(), "the load saw errors: {errors:?}");
        let m = proxy.metrics();
        let unknown = metric(
            &m,
            "rwsplit_commit_verifications_total",
            &[("outcome", "unknown")],
        );
        assert_eq!(unknown, 0.0, "{m}");
    }
    let unknown = errors
        .iter()
        .filter(|(code, m)| *code == 1927 && m.contains("outcome is unknown"))
        .count();
    assert_eq!(
        unknown,
        errors.len(),
        "errors other than 'outcome unknown': {errors:?}"
    );
    assert!(
        unknown as u64 <= WRITERS + SOLO,
        "more outcome-unknown errors than COMMITs in flight at the crash: {errors:?}"
    );
    assert!(replays(&proxy, "ok") >= 2.0, "{}", proxy.metrics());
    assert!(replays(&proxy, "diverged") >= 1.0, "{}", proxy.metrics());
    if let Some(p) = &small {
        assert!(replays(p, "too_large") >= 1.0, "{}", p.metrics());
    }

    let have = keys_on(new_writer).await;
    check_ledger(&have, &seen);
    let mut c = root(new_writer).await;
    let solo: Vec<u64> = c.query("SELECT id FROM ledger.solo").await.unwrap();
    let solo: BTreeSet<u64> = solo.into_iter().collect();
    let acked = seen.solo_acked.lock().unwrap().clone();
    let lost: Vec<&u64> = acked.difference(&solo).collect();
    assert!(
        lost.is_empty(),
        "acknowledged autocommit writes lost: {lost:?}"
    );
    for k in [
        5_000_000_001,
        5_000_000_002,
        5_000_000_007,
        5_000_000_030,
        5_000_000_031,
    ] {
        assert!(
            have.contains(&k),
            "key {k} of a replayed transaction is missing"
        );
    }
    for k in [5_000_000_010, 5_000_000_011, 5_000_000_020, 5_000_000_021] {
        assert!(
            !have.contains(&k),
            "key {k} of a rolled-back transaction is there"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planned_switchover_inside_transactions_is_a_pause_without_errors() {
    switchover(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planned_aurora_switchover_inside_transactions_is_a_pause_without_errors() {
    switchover(true).await;
}

/// The old primary turns read-only, a replica catches up and becomes the writer, the old
/// primary replicates from it. `aurora`: rwsplit in aurora mode, the emulated topology
/// naming the new writer a moment after the switch (the old writer's refusals are held
/// meanwhile).
async fn switchover(aurora: bool) {
    let t = Topo::start(true);
    if aurora {
        let mut r = root(t.primary).await;
        for q in EMULATION_DDL {
            r.query_drop(q).await.unwrap();
        }
        set_aurora_rows(t.primary, &t.replicas).await;
    }
    setup(&t).await;
    let hold = ["--failover-hold-ms", "10000"];
    let proxy = match aurora {
        true => start_emulated_with(t.primary, USER, "global", &hold),
        false => Proxy::start_read_only(&t, USER, &hold),
    };
    let seen = Arc::new(Seen::default());
    let tasks = spawn_load(proxy.port, &seen);
    wait_committed_after(&seen, Instant::now(), 50).await;
    wait_reads(&seen, 50).await;
    // A transaction open on the old writer as it turns read-only.
    let mut open = connect(proxy.port).await;
    open.query_drop("BEGIN").await.unwrap();
    open.query_drop("INSERT INTO acks VALUES (6000000000)")
        .await
        .unwrap();

    let new_writer = t.replicas[0];
    let switched = Instant::now();
    t.script(&["promote", &new_writer.to_string()]);
    let promoted = Instant::now();
    // The old writer refuses this one as read-only: the transaction is rolled back
    // there and replayed on the new writer, then the statement runs.
    let open = tokio::spawn(async move {
        open.query_drop("INSERT INTO acks VALUES (6000000001)")
            .await
            .unwrap();
        open.query_drop("COMMIT").await.unwrap();
    });
    if aurora {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let readers = [t.primary, t.replicas[1]];
        set_aurora_rows(new_writer, &readers).await;
    }
    open.await.unwrap();
    wait_committed_after(&seen, switched, 100).await;
    let new_writer_id = server_id(new_writer).await;
    wait_reads_after(&seen, promoted, 50, new_writer_id).await;
    stop(&seen, tasks).await;

    let errors = seen.errors.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "transactions or reads failed: {errors:?}"
    );
    check_reads(
        &seen,
        switched,
        first_commit_after(&seen, promoted),
        new_writer_id,
    );
    let longest = seen
        .txs
        .lock()
        .unwrap()
        .iter()
        .map(|(_, took, _)| *took)
        .max()
        .unwrap();
    assert!(
        longest < Duration::from_secs(2),
        "a transaction took {longest:?}"
    );
    assert!(replays(&proxy, "ok") >= 1.0, "{}", proxy.metrics());
    let have = keys_on(new_writer).await;
    check_ledger(&have, &seen);
    for k in [6_000_000_000, 6_000_000_001] {
        assert!(have.contains(&k), "key {k} is missing");
    }
}
