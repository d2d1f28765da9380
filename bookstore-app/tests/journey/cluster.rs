//! The journey over HTTP across two app instances behind a round-robin balancer, each
//! instance with an rwsplit sidecar of its own in `cluster` mode: a user's next request
//! lands on the other instance (a redirect after a write too), and still every page shows
//! that user's own writes, with one replica 1 s behind. In `global` mode a sidecar only
//! knows the writes made through it, and may serve the other instance's next page from
//! the lagging replica.
//!
//! How it can fail: with both sidecars in `eventual` mode it does (a page misses the
//! user's write: the lagging replica serves it). With both in `global` mode this journey
//! happens to pass too: a `global` sidecar asks the writer for its whole position
//! (`@@gtid_binlog_pos`) after its own writes, which covers the other instance's writes
//! whenever that question comes after them, as it does on these pages. The read that
//! `global` misses (a sidecar whose last position predates the other's write) is shown by
//! `proxy/tests/failover/cluster.rs` (insert through one rwsplit, read through another:
//! misses in `global`, none in `cluster`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::http::{journey_paced, Bases, Pace};
use crate::support::*;

/// A round-robin TCP balancer on 127.0.0.1: each new connection goes to the next
/// instance. The journey's clients keep no connection between requests (`client()`), so
/// consecutive requests alternate between the instances.
struct RoundRobin {
    base: String,
    /// Connections each instance was given.
    served: Arc<Vec<AtomicUsize>>,
}

impl RoundRobin {
    /// In front of `instances` (base URLs such as `http://127.0.0.1:8080`); runs in this
    /// test's runtime and stops with it.
    async fn start(instances: &[String]) -> RoundRobin {
        let to: Vec<SocketAddr> = instances
            .iter()
            .map(|b| {
                b.trim_start_matches("http://")
                    .parse()
                    .expect("an instance address")
            })
            .collect();
        let served: Arc<Vec<AtomicUsize>> =
            Arc::new(to.iter().map(|_| AtomicUsize::new(0)).collect());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let counts = served.clone();
        tokio::spawn(async move {
            let mut next = 0;
            loop {
                let Ok((mut down, _)) = listener.accept().await else {
                    continue;
                };
                let i = next % to.len();
                next += 1;
                counts[i].fetch_add(1, Ordering::Relaxed);
                let at = to[i];
                tokio::spawn(async move {
                    let mut up = TcpStream::connect(at).await.expect("an instance");
                    let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                });
            }
        });
        RoundRobin { base, served }
    }

    fn served(&self) -> Vec<usize> {
        self.served
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }
}

#[tokio::test]
async fn the_journey_across_two_instances_each_with_its_own_rwsplit_in_cluster_mode() {
    let account = "cluster";
    // Reads wait up to 3 s for a reader (longer than the replica's delay), so the lagging
    // replica serves reads too: only read-your-writes keeps its stale rows off the pages
    // (in `eventual` mode this test fails).
    let flags = ["--consistency=cluster", "--consistency-timeout=3000"];
    let sidecars = [another_rwsplit(&flags), another_rwsplit(&flags)];
    // One after the other: the first instance creates the schema, the second finds it
    // there. The journey starts once every replica has it, so that all the journey's
    // pages can miss is what the journey itself wrote.
    let mut instances = Vec::new();
    for proxy in sidecars {
        instances.push(monolith_via(proxy, account).await);
        sync_replicas_of(&world().topo).await;
    }
    let balancer = RoundRobin::start(&instances).await;
    // Each user reads a form for longer than the replica's delay before sending it, and
    // reloads the page the write led to: the page after the write is read through the
    // other instance, whose rwsplit has had no write of its own since the replica caught
    // up with its last one (see `Pace`).
    let pace = Pace {
        think: Duration::from_millis(u64::from(DELAY_SECONDS) * 1000 + 1000),
        reloads: 3,
    };
    journey_paced(
        &Bases {
            auth: &balancer.base,
            catalog: &balancer.base,
            orders: &balancer.base,
        },
        account,
        pace,
    )
    .await;
    // The journey makes over 30 requests, each on a connection of its own: both instances
    // served about half of them.
    let served = balancer.served();
    let total: usize = served.iter().sum();
    assert!(
        total >= 30,
        "a connection per request, not one kept per client: {served:?}"
    );
    assert!(
        served.iter().all(|n| n * 2 + 1 >= total),
        "both instances served: {served:?}"
    );
}
