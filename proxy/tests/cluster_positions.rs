//! `cluster` consistency's shared position fetches, as a model: readers arrive at random
//! moments, a writer commits at random moments, a fetch takes a random time. The
//! invariant: a read is never given a position fetched before it arrived, so it never
//! misses a write committed before it arrived. And fetches are shared. No I/O: a paused
//! tokio clock and a fake fetch.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rwsplit::config::Consistency;
use rwsplit::route::{Backend, BackendId, Flavour, Position, Role, Topology};
use rwsplit::session::{check_cluster_mode, reader_setup, Batch, ClusterPositions, Fetched};

/// A deterministic generator (xorshift), so a failure replays.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// A position whose text is "seq@sent": the writer's commits at the moment the fetch
/// was sent, and that moment (the model's logical clock).
fn fetched(seq: u64, sent: u64) -> Fetched {
    let text = format!("0-1-{seq}");
    let pos = Position::parse_mariadb(&text).expect("position");
    Ok(Some(Arc::new((pos, format!("{text}@{sent}")))))
}

fn parts(f: &Fetched) -> (u64, u64) {
    let t = &f.as_ref().expect("fetched").as_ref().expect("a position").1;
    let (pos, sent) = t.split_once('@').expect("seq@sent");
    let seq = pos.rsplit('-').next().expect("seq").parse().expect("seq");
    (seq, sent.parse().expect("sent"))
}

#[test]
fn no_read_is_given_a_position_fetched_before_it_arrived() {
    for seed in 1..=40u64 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async move {
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async move {
                    let positions = Rc::new(ClusterPositions::default());
                    let commits = Rc::new(Cell::new(0u64));
                    let clock = Rc::new(Cell::new(0u64));
                    let fetches = Rc::new(Cell::new(0u64));
                    let tick = {
                        let clock = clock.clone();
                        move || {
                            clock.set(clock.get() + 1);
                            clock.get()
                        }
                    };
                    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    // The writer commits every 0-3 ms.
                    let writer = {
                        let (commits, tick) = (commits.clone(), tick.clone());
                        let mut rng = Rng(seed + 7);
                        tokio::task::spawn_local(async move {
                            for _ in 0..400 {
                                tokio::time::sleep(Duration::from_micros(rng.below(3000))).await;
                                commits.set(commits.get() + 1);
                                tick();
                            }
                        })
                    };
                    let mut reads = Vec::new();
                    for _ in 0..300 {
                        tokio::time::sleep(Duration::from_micros(rng.below(800))).await;
                        let fetch_time = Duration::from_micros(200 + rng.below(3000));
                        let (positions, commits, tick, fetches) = (
                            positions.clone(),
                            commits.clone(),
                            tick.clone(),
                            fetches.clone(),
                        );
                        reads.push(tokio::task::spawn_local(async move {
                            // The read arrives: what it must see is every commit so far.
                            let must_see = commits.get();
                            let arrived = tick();
                            let fetch = {
                                let (commits, tick, fetches) =
                                    (commits.clone(), tick.clone(), fetches.clone());
                                async move {
                                    // Sent now: it sees the commits made so far.
                                    fetches.set(fetches.get() + 1);
                                    let (seq, sent) = (commits.get(), tick());
                                    tokio::time::sleep(fetch_time).await;
                                    fetched(seq, sent)
                                }
                            };
                            let got = positions.position(fetch).await;
                            let (seq, sent) = parts(&got);
                            assert!(
                                sent > arrived,
                                "seed {seed}: fetch sent at {sent}, read arrived at {arrived}"
                            );
                            assert!(
                                seq >= must_see,
                                "seed {seed}: saw {seq} commits, {must_see} were made"
                            );
                        }));
                    }
                    for r in reads {
                        r.await.expect("read");
                    }
                    writer.await.expect("writer");
                    // Shared: fewer fetches than reads (reads overlap fetches of 0.2-3.2 ms
                    // arriving every 0.4 ms on average).
                    assert!(
                        fetches.get() < 300 * 3 / 4,
                        "seed {seed}: {} fetches for 300 reads",
                        fetches.get()
                    );
                })
                .await;
        });
    }
}

#[test]
fn a_batch_answers_only_the_reads_that_arrived_before_its_fetch_was_sent() {
    let mut b: Batch<&str> = Batch::default();
    let r0 = b.arrive();
    let r1 = b.arrive();
    let first = b.begin(); // sent after r0 and r1 arrived
    let r2 = b.arrive(); // arrives while the first fetch is in flight
    assert_eq!(
        (b.answer(r0), b.answer(r2)),
        (None, None),
        "nothing completed yet"
    );
    b.complete(first, "p1");
    assert_eq!((b.answer(r0), b.answer(r1)), (Some("p1"), Some("p1")));
    assert_eq!(b.answer(r2), None, "r2 arrived after the fetch was sent");
    let second = b.begin();
    let r3 = b.arrive();
    b.complete(second, "p2");
    assert_eq!((b.answer(r2), b.answer(r3)), (Some("p2"), None));
    // A late completion of an older fetch does not replace a newer one.
    b.complete(first, "stale");
    assert_eq!(b.answer(r2), Some("p2"));
}

fn aurora(readers: &[(u32, Option<bool>)]) -> Topology {
    let mut w = Backend::new(BackendId(0), "w:3306", Role::Writer);
    w.flavour = Flavour::AuroraMySql;
    let mut backends = vec![w];
    for (id, wf) in readers {
        let mut r = Backend::new(BackendId(*id), format!("r{id}:3306"), Role::Reader);
        r.flavour = Flavour::AuroraMySql;
        r.write_forwarding = *wf;
        backends.push(r);
    }
    Topology {
        writer: Some(BackendId(0)),
        backends,
    }
}

#[test]
fn cluster_mode_on_aurora_needs_write_forwarding_on_every_reader() {
    use Consistency::*;
    // (mode, readers' write forwarding, allowed)
    type Case<'a> = (Consistency, &'a [(u32, Option<bool>)], bool);
    let cases: &[Case<'_>] = &[
        (Cluster, &[(1, Some(true)), (2, Some(true))], true),
        (Cluster, &[(1, Some(true)), (2, Some(false))], false),
        (Cluster, &[(1, None)], false),
        (Cluster, &[], true),
        (Global, &[(1, Some(false))], true),
        (Session, &[(1, None)], true),
    ];
    for (mode, readers, allowed) in cases {
        let got = check_cluster_mode(*mode, &aurora(readers));
        assert_eq!(got.is_ok(), *allowed, "{mode:?} {readers:?}: {got:?}");
        if let Err(e) = got {
            assert!(
                e.contains("write forwarding")
                    && e.contains("\"global\"")
                    && (e.contains("r2:3306") || e.contains("r1:3306")),
                "the refusal names the choices and the readers: {e}"
            );
        }
    }
    // Not Aurora: GTIDs give the position, whatever the readers say.
    let mut t = aurora(&[(1, Some(false))]);
    for b in &mut t.backends {
        b.flavour = Flavour::MariaDb;
    }
    assert!(check_cluster_mode(Cluster, &t).is_ok());
}

#[test]
fn aurora_reader_connections_wait_inside_aurora_in_cluster_mode_only() {
    let set = reader_setup(Consistency::Cluster, Flavour::AuroraMySql);
    assert_eq!(
        set,
        Some("SET SESSION aurora_replica_read_consistency = 'GLOBAL'")
    );
    for (mode, flavour) in [
        (Consistency::Cluster, Flavour::MariaDb),
        (Consistency::Cluster, Flavour::MySql),
        (Consistency::Global, Flavour::AuroraMySql),
        (Consistency::Session, Flavour::AuroraMySql),
    ] {
        assert_eq!(reader_setup(mode, flavour), None, "{mode:?} {flavour:?}");
    }
}

#[test]
fn a_read_that_goes_away_mid_fetch_does_not_hold_up_the_others() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let positions = Arc::new(ClusterPositions::default());
        // A's fetch never answers (its client disconnects meanwhile).
        let a = tokio::spawn({
            let positions = positions.clone();
            async move { positions.position(std::future::pending()).await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        // B arrives while A's fetch is in flight: it waits for the next one.
        let b = tokio::spawn({
            let positions = positions.clone();
            async move { positions.position(async { fetched(1, 2) }).await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(
            !b.is_finished(),
            "B cannot use a fetch sent before it arrived"
        );
        a.abort();
        let got = tokio::time::timeout(Duration::from_secs(5), b)
            .await
            .expect("B sent its own fetch once A went away")
            .expect("B");
        assert_eq!(parts(&got), (1, 2));
    });
}

fn pos(text: &str) -> Position {
    Position::parse_mariadb(text).expect("position")
}

/// Whether a read goes to a reader ahead of its position: only when the reader was seen
/// to have applied the newest position any fetch found.
#[test]
fn a_read_overlaps_its_fetch_only_on_a_reader_known_to_have_the_newest_position() {
    let cases: &[(Option<&str>, Option<&str>, bool)] = &[
        // (newest fetched, known applied on the reader, overlap)
        (None, None, false),
        (None, Some("0-1-5"), false),
        (Some("0-1-5"), None, false),
        (Some("0-1-5"), Some("0-1-5"), true),
        (Some("0-1-5"), Some("0-1-9"), true),
        (Some("0-1-9"), Some("0-1-5"), false),
        (Some("0-1-5,1-2-3"), Some("0-1-5"), false),
        (Some("0-1-5"), Some("0-1-5,1-2-3"), true),
        // After a promotion the new writer's server id changes, the sequence goes on.
        (Some("0-2-6"), Some("0-1-5"), false),
        (Some("0-1-5"), Some("0-2-6"), true),
    ];
    for (latest, known, want) in cases {
        let (l, k) = (latest.map(pos), known.map(pos));
        assert_eq!(
            rwsplit::session::overlap(l.as_ref(), k.as_ref()),
            *want,
            "latest {latest:?}, known {known:?}"
        );
    }
}

/// Whether an answer that came back from a reader sent the read ahead of its position is
/// relayed: only when what the reader had applied before the read was sent includes the
/// writer's position fetched after the read arrived.
#[test]
fn an_overlapped_answer_is_relayed_only_when_the_reader_had_the_fetched_position() {
    let cases: &[(&str, Option<&str>, bool)] = &[
        // (known applied before sending, fetched after arrival, relayed)
        ("0-1-5", None, true),
        ("0-1-5", Some("0-1-5"), true),
        ("0-1-5", Some("0-1-4"), true),
        ("0-1-5", Some("0-1-6"), false),
        ("0-1-5", Some("0-1-5,1-3-1"), false),
        ("0-1-5,1-3-1", Some("0-1-5"), true),
    ];
    for (known, fetched, want) in cases {
        let f = fetched.map(pos);
        assert_eq!(
            rwsplit::session::covered(&pos(known), f.as_ref()),
            *want,
            "known {known}, fetched {fetched:?}"
        );
    }
}
