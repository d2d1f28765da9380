//! The handles every task shares (`rwsplit::shared::Shared`), each changed only through
//! its methods: the live configuration snapshot, the topology store, loads, the
//! read-your-writes epochs and the session registry. No I/O.

use std::sync::Arc;

use rwsplit::backend::Loads;
use rwsplit::config::Config;
use rwsplit::live::LiveConfig;
use rwsplit::monitor::store::TopologyStore;
use rwsplit::route::{BackendId, Position};
use rwsplit::session::{Epochs, Registry, SessionInfo};

fn config(toml: &str) -> Config {
    Config::from_toml(toml).expect("test config parses")
}

const STATIC: &str = r#"
[backends]
mode = "static"
writer = "127.0.0.1:1"
readers = ["127.0.0.1:2", "127.0.0.1:3"]
"#;

fn with_rules(n: usize) -> Config {
    let mut text = STATIC.to_string();
    for i in 0..n {
        text.push_str(&format!(
            "[[routing.rules]]\nmatch = \"^SELECT {i}\"\nroute = \"writer\"\n"
        ));
    }
    config(&text)
}

#[test]
fn a_reload_swaps_the_whole_snapshot_and_wakes_subscribers() {
    let live = LiveConfig::new(with_rules(0));
    let mut rx = live.subscribe();
    let first = live.snapshot();
    assert_eq!(first.generation, 1);
    assert!(first.rules.is_empty());
    live.set(with_rules(2));
    assert!(rx.has_changed().unwrap(), "subscribers see the reload");
    let second = rx.borrow_and_update().clone();
    assert_eq!(second.generation, 2);
    // The rules are the new file's, with the new file's config beside them.
    assert!(!second.rules.is_empty());
    assert_eq!(second.config.routing.rules.len(), 2);
    // A snapshot taken before stays whole.
    assert!(first.rules.is_empty() && first.config.routing.rules.is_empty());
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn reloads_from_many_threads_publish_whole_snapshots_one_after_another() {
    let live = Arc::new(LiveConfig::new(with_rules(0)));
    let threads: Vec<_> = (1..=8)
        .map(|n| {
            let live = live.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    live.set(with_rules(n % 3));
                    let s = live.snapshot();
                    // Rules built from the same file as the config beside them.
                    assert_eq!(s.rules.is_empty(), s.config.routing.rules.is_empty());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(live.snapshot().generation, 1 + 8 * 20, "no reload lost");
}

#[test]
fn reading_the_configuration_again_needs_a_reloader() {
    let live = LiveConfig::new(with_rules(0));
    let err = live.read_again().unwrap_err();
    assert!(
        err.contains("cannot be reloaded") || err.contains("not started"),
        "{err}"
    );
    live.set_reloader(Arc::new(|| Ok(with_rules(1))));
    assert_eq!(live.read_again().unwrap().routing.rules.len(), 1);
}

#[test]
fn the_topology_store_starts_from_the_configured_roles_and_takes_reports() {
    let store = TopologyStore::new(&config(STATIC));
    let t = store.current();
    let w = store.backend_id("127.0.0.1:1");
    assert_eq!(t.writer, Some(w));
    assert_eq!(t.backends.len(), 3);
    assert!(
        !t.has_eligible_reader(),
        "no reader eligible before the first checks"
    );
    // Ids are stable and never reused.
    assert_eq!(
        store.backend_id("127.0.0.1:2"),
        store.backend_id("127.0.0.1:2")
    );
    assert_ne!(store.backend_id("127.0.0.1:9"), w);

    let mut rx = store.subscribe();
    let mut up = (*store.current()).clone();
    for b in &mut up.backends {
        b.up = true;
        b.eligible = true;
    }
    store.publish(up.clone());
    assert!(rx.has_changed().unwrap());
    rx.borrow_and_update();
    store.publish(up);
    assert!(!rx.has_changed().unwrap(), "the same topology wakes nobody");

    let r = store.backend_id("127.0.0.1:2");
    store.report_unreachable(r);
    assert!(rx.has_changed().unwrap());
    let now = rx.borrow_and_update().clone();
    let b = now.get(r).unwrap();
    assert!(
        !b.up && !b.eligible,
        "reported down until the monitor sees it again"
    );
    store.report_unreachable(r);
    assert!(
        !rx.has_changed().unwrap(),
        "a second report changes nothing"
    );
    store.report_unreachable(BackendId(999));
    assert!(
        !rx.has_changed().unwrap(),
        "an unknown backend changes nothing"
    );
}

#[test]
fn the_topology_store_keeps_offline_backends_and_the_heartbeat() {
    let store = TopologyStore::new(&config(STATIC));
    let mut rx = store.subscribe_offline();
    store.set_offline("127.0.0.1:2", true);
    assert!(store.is_offline("127.0.0.1:2") && !store.is_offline("127.0.0.1:3"));
    assert!(rx.has_changed().unwrap());
    rx.borrow_and_update();
    store.set_offline("127.0.0.1:2", true);
    assert!(!rx.has_changed().unwrap(), "already offline: no change");
    store.set_offline("127.0.0.1:2", false);
    assert!(!store.is_offline("127.0.0.1:2"));
    assert_eq!(store.heartbeat_written_us(), 0);
    store.set_heartbeat_written_us(42);
    assert_eq!(store.heartbeat_written_us(), 42);
}

#[test]
fn loads_count_per_backend_and_the_ticket_grows_by_one() {
    let loads = Loads::default();
    let a = BackendId(1);
    assert_eq!(loads.snapshot(a).active, 0);
    loads
        .of(a)
        .active
        .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
    loads.of(a).observe(300);
    assert_eq!(
        (loads.snapshot(a).active, loads.snapshot(a).ewma_us),
        (2, 300)
    );
    assert_eq!(loads.snapshot(BackendId(2)).active, 0);
    loads.forget(a);
    assert_eq!(loads.snapshot(a).active, 0);
    let t = loads.next_ticket();
    assert_eq!(loads.next_ticket(), t + 1);
}

#[test]
fn epochs_move_with_writes_and_readers_only_forward() {
    let e = Epochs::default();
    assert_eq!(e.current(), 0);
    assert_eq!(e.note_write(), 1);
    assert_eq!(e.note_write(), 2);
    assert_eq!(e.current(), 2);
    assert!(e.last_write_us() > 0);
    let r = BackendId(1);
    e.set_reader(r, 2);
    e.set_reader(r, 1);
    assert_eq!(e.reader(r), 2, "a reader's epoch never goes back");
    assert_eq!(e.reader(BackendId(2)), 0);
    let pos = |s: &str| Arc::new((Position::parse_mariadb(s).unwrap(), s.to_string()));
    assert!(e.position_for(1).is_none());
    e.set_position(2, pos("0-1-10"));
    e.set_position(1, pos("0-1-5"));
    assert_eq!(
        e.position_for(2).unwrap().1,
        "0-1-10",
        "an older position is not kept"
    );
    assert_eq!(e.position_for(1).unwrap().1, "0-1-10");
    assert!(e.position_for(3).is_none());
}

#[test]
fn the_registry_caps_users_follows_change_user_and_forgets_on_drop() {
    let reg = Arc::new(Registry::default());
    let (a, b, c) = (reg.next_id(), reg.next_id(), reg.next_id());
    assert!(a > 1 << 30 && b == a + 1 && c == b + 1);
    let ga = reg
        .register(SessionInfo::new(a, "app", "peer".into()), 2)
        .unwrap();
    let gb = reg
        .register(SessionInfo::new(b, "app", "peer".into()), 2)
        .unwrap();
    assert!(
        reg.register(SessionInfo::new(c, "app", "peer".into()), 2)
            .is_none(),
        "a third session of a user capped at 2"
    );
    let gc = reg
        .register(SessionInfo::new(c, "other", "peer".into()), 2)
        .unwrap();
    assert!(!reg.change_user(c, "app", 2), "app is at its cap");
    assert_eq!(reg.get(c).unwrap().user(), "other");
    assert!(reg.change_user(c, "app", 0), "no cap");
    assert_eq!(reg.get(c).unwrap().user(), "app");
    assert_eq!(
        reg.list().iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![a, b, c]
    );
    drop(gb);
    assert!(reg.get(b).is_none());
    assert_eq!(reg.len(), 2);
    ga.info.kill();
    assert!(reg.get(a).unwrap().is_killed());
    drop((ga, gc));
    assert!(reg.is_empty());
}

#[test]
fn a_reload_to_cluster_consistency_is_refused_on_aurora_without_write_forwarding() {
    use rwsplit::config::Consistency;
    use rwsplit::route::Flavour;
    let shared = rwsplit::shared::Shared::new(config(STATIC));
    let cluster = || {
        let mut c = config(STATIC);
        c.routing.consistency = Consistency::Cluster;
        Ok(c)
    };
    shared.live.set_reloader(Arc::new(cluster));
    let mut t = (*shared.topology.current()).clone();
    for b in &mut t.backends {
        b.flavour = Flavour::AuroraMySql;
        b.write_forwarding = Some(false);
    }
    shared.topology.publish(t.clone());
    let err = shared.reload().unwrap_err();
    assert!(err.contains("write forwarding"), "{err}");
    assert_eq!(
        shared.live.config().routing.consistency,
        Consistency::Global,
        "the old configuration stays"
    );
    // With write forwarding on every reader it is taken.
    for b in &mut t.backends {
        b.write_forwarding = Some(true);
    }
    shared.topology.publish(t);
    shared.reload().unwrap();
    assert_eq!(
        shared.live.config().routing.consistency,
        Consistency::Cluster
    );
}
