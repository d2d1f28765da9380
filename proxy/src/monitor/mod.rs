//! Backend health: one checking task per backend (mysql_async, the monitor account,
//! every `monitor.interval_ms`), a heartbeat writer on the writer (lag to the millisecond),
//! in aurora mode a task reading the cluster's topology, the commit markers table
//! (`failover.verify_commits`), and one builder that turns what
//! they find into the router's [`Topology`](crate::route::Topology) and publishes it in
//! the [`store`]. The router reads the last published topology; it never waits for the
//! monitor.

pub mod build;
mod markers;
mod probe;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::clock::now_us;
use crate::config::{Config, TopologyMode};
use crate::route::{BackendId, Role, Topology};
use crate::shared::Shared;

pub use build::{aurora_instances, build, AuroraRow, Known, Status};
pub use markers::markers_table;
pub use probe::{opts as monitor_opts, MonitorConn, ProbeParams};

enum Msg {
    Status(BackendId, Option<Status>),
    Aurora(Vec<AuroraRow>),
}

/// Starts the monitor; it runs until `stop` turns true.
pub fn spawn(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let (tx, rx) = mpsc::channel(256);
    let mut handles = vec![tokio::spawn(builder(
        shared.clone(),
        rx,
        tx.clone(),
        stop.clone(),
    ))];
    handles.push(tokio::spawn(heartbeat(shared.clone(), stop.clone())));
    handles.push(tokio::spawn(markers::markers(shared.clone(), stop.clone())));
    handles.push(tokio::spawn(aurora_cluster(shared, tx, stop)));
    handles
}

/// The backends the configuration (and, in aurora mode, the cluster) says to watch:
/// (address, role hint).
fn desired(config: &Config, aurora: &[AuroraRow]) -> Vec<(String, Option<Role>)> {
    let b = &config.backends;
    match b.mode {
        TopologyMode::Static => {
            let mut v = vec![(b.writer.clone(), Some(Role::Writer))];
            v.extend(b.readers.iter().map(|r| (r.clone(), Some(Role::Reader))));
            v
        }
        TopologyMode::ReadOnly => config
            .read_only_hosts()
            .into_iter()
            .map(|h| (h, None))
            .collect(),
        TopologyMode::Aurora => aurora_instances(aurora, b.aurora.stale_after_ms)
            .into_iter()
            .map(|(id, is_writer, _)| {
                let addr = b.aurora.instance_pattern.replace('?', &id);
                (
                    addr,
                    Some(if is_writer {
                        Role::Writer
                    } else {
                        Role::Reader
                    }),
                )
            })
            .collect(),
    }
}

struct Watched {
    addr: String,
    role_hint: Option<Role>,
    task: JoinHandle<()>,
    status: Option<Status>,
}

async fn builder(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Msg>,
    tx: mpsc::Sender<Msg>,
    mut stop: watch::Receiver<bool>,
) {
    let mut watched: HashMap<BackendId, Watched> = HashMap::new();
    let mut aurora: Vec<AuroraRow> = Vec::new();
    let mut config_rx = shared.live.subscribe();
    let mut offline_rx = shared.topology.subscribe_offline();
    let mut published = false;
    loop {
        let config = shared.live.config();
        // Reconcile the checking tasks with what should be watched.
        let want = desired(&config, &aurora);
        watched.retain(|id, w| {
            let keep = want.iter().any(|(a, _)| *a == w.addr);
            if !keep {
                tracing::info!(backend = %w.addr, "no longer watched");
                w.task.abort();
                shared.loads.forget(*id);
            }
            keep
        });
        for (addr, hint) in &want {
            let id = shared.topology.backend_id(addr);
            match watched.get_mut(&id) {
                Some(w) => w.role_hint = *hint,
                None => {
                    let task = tokio::spawn(check_loop(
                        shared.clone(),
                        id,
                        addr.clone(),
                        tx.clone(),
                        stop.clone(),
                    ));
                    watched.insert(
                        id,
                        Watched {
                            addr: addr.clone(),
                            role_hint: *hint,
                            task,
                            status: None,
                        },
                    );
                }
            }
        }
        // Publish once every backend has been checked once.
        let checked = watched.values().all(|w| w.status.is_some())
            && !(config.backends.mode == TopologyMode::Aurora && aurora.is_empty());
        if checked || published {
            let lag_by_addr: HashMap<String, Option<u64>> =
                if config.backends.mode == TopologyMode::Aurora {
                    aurora_instances(&aurora, config.backends.aurora.stale_after_ms)
                        .into_iter()
                        .map(|(id, _, lag)| {
                            (
                                config.backends.aurora.instance_pattern.replace('?', &id),
                                lag,
                            )
                        })
                        .collect()
                } else {
                    HashMap::new()
                };
            let mut known: Vec<Known> = want
                .iter()
                .filter_map(|(addr, _)| {
                    let id = shared.topology.backend_id(addr);
                    watched.get(&id).map(|w| {
                        let mut status = w.status.clone();
                        if let (Some(s), Some(lag)) = (status.as_mut(), lag_by_addr.get(addr)) {
                            s.lag_ms = *lag;
                        }
                        Known {
                            id,
                            addr: addr.clone(),
                            role_hint: w.role_hint,
                            weight: config.backends.weight(addr),
                            status,
                        }
                    })
                })
                .collect();
            known.sort_by_key(|k| want.iter().position(|(a, _)| *a == k.addr));
            let prev = shared.topology.current();
            let mut next = build(
                config.backends.mode,
                &known,
                prev.writer,
                config.routing.max_replica_lag_ms,
            );
            // Drained by an operator: no new reads (open transactions finish where they are).
            for b in next
                .backends
                .iter_mut()
                .filter(|b| shared.topology.is_offline(&b.addr))
            {
                b.eligible = false;
            }
            report_changes(&prev, &next, published);
            shared.topology.publish(next);
            if !published {
                published = true;
                shared.topology.mark_ready();
            }
        }
        tokio::select! {
            m = rx.recv() => match m {
                Some(Msg::Status(id, s)) => {
                    if let Some(w) = watched.get_mut(&id) {
                        w.status = Some(s.unwrap_or_default());
                    }
                }
                Some(Msg::Aurora(rows)) => aurora = rows,
                None => break,
            },
            _ = config_rx.changed() => {}
            _ = offline_rx.changed() => {}
            _ = stop.changed() => break,
        }
    }
    for w in watched.values() {
        w.task.abort();
    }
}

/// Logs and counts what changed between two topologies.
fn report_changes(prev: &Topology, next: &Topology, published: bool) {
    for b in &next.backends {
        let before = prev.get(b.id);
        metrics::gauge!("rwsplit_backend_up", "backend" => b.addr.clone(), "role" => b.role.label())
            .set(if b.up { 1.0 } else { 0.0 });
        if let Some(lag) = b.lag_ms {
            metrics::gauge!("rwsplit_replica_lag_seconds", "backend" => b.addr.clone())
                .set(lag as f64 / 1000.0);
        }
        match before {
            Some(p) if p.up != b.up => {
                tracing::warn!(backend = %b.addr, up = b.up, "backend {}", if b.up { "up" } else { "down" });
            }
            Some(p) if p.eligible != b.eligible && b.role == Role::Reader => {
                tracing::info!(backend = %b.addr, eligible = b.eligible, lag_ms = ?b.lag_ms, read_only = ?b.read_only,
                    "reader {}", if b.eligible { "eligible" } else { "not eligible" });
                metrics::counter!("rwsplit_eligibility_changes_total", "backend" => b.addr.clone())
                    .increment(1);
            }
            _ => {}
        }
    }
    if prev.writer != next.writer {
        let name = |t: &Topology| t.writer_addr().unwrap_or("(none)").to_string();
        if published && prev.writer.is_some() && next.writer.is_some() {
            metrics::counter!("rwsplit_failovers_total").increment(1);
            tracing::warn!(from = %name(prev), to = %name(next), "writer changed (failover)");
        } else {
            tracing::info!(writer = %name(next), "writer");
        }
    }
}

/// Checks one backend every interval and reports to the builder.
async fn check_loop(
    shared: Arc<Shared>,
    id: BackendId,
    addr: String,
    tx: mpsc::Sender<Msg>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn: Option<MonitorConn> = None;
    let mut failing = false;
    loop {
        let config = shared.live.config();
        let (user, password) = config.monitor_credentials();
        let params = ProbeParams {
            addr: addr.clone(),
            user: user.clone(),
            password: password.clone(),
            heartbeat: heartbeat_table(&config).map(|t| (t, shared.instance_id())),
            heartbeat_written_us: shared.topology.heartbeat_written_us(),
        };
        let timeout = Duration::from_millis(config.monitor.timeout_ms);
        let result = tokio::time::timeout(timeout, async {
            if conn.is_none() {
                conn = Some(MonitorConn::open(&addr, &user, &password, &config.backends).await?);
            }
            match conn.as_mut() {
                Some(c) => c.probe(&params).await,
                None => Err(mysql_async::Error::Other("no connection".into())),
            }
        })
        .await;
        let status = match result {
            Ok(Ok(s)) => {
                failing = false;
                Some(s)
            }
            Ok(Err(e)) => {
                if !failing {
                    tracing::warn!(backend = %addr, error = %e, "backend check failed");
                }
                failing = true;
                conn = None;
                None
            }
            Err(_) => {
                if !failing {
                    tracing::warn!(backend = %addr, "backend check timed out");
                }
                failing = true;
                conn = None;
                None
            }
        };
        if tx.send(Msg::Status(id, status)).await.is_err() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(config.monitor.interval_ms)) => {}
            _ = stop.changed() => break,
        }
    }
    if let Some(c) = conn {
        let _ = c.conn.disconnect().await;
    }
}

fn heartbeat_table(config: &Config) -> Option<String> {
    (config.monitor.heartbeat && config.backends.mode != TopologyMode::Aurora)
        .then(|| format!("`{}`.heartbeat", config.monitor.heartbeat_schema))
}

/// Writes `(instance id, now in µs)` to the heartbeat table on the writer, so checks of
/// the readers can tell their lag to the millisecond.
async fn heartbeat(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conn: Option<(String, mysql_async::Conn)> = None;
    let mut failing = false;
    loop {
        let config = shared.live.config();
        let interval = Duration::from_millis(config.monitor.heartbeat_interval_ms);
        if let (Some(table), Some(writer)) = (
            heartbeat_table(&config),
            shared.topology.current().writer_addr().map(str::to_string),
        ) {
            if conn.as_ref().is_some_and(|(a, _)| *a != writer) {
                conn = None;
            }
            let (user, password) = config.monitor_credentials();
            let schema = config.monitor.heartbeat_schema.clone();
            let id = shared.instance_id();
            let write = async {
                if conn.is_none() {
                    let mut c = mysql_async::Conn::new(monitor_opts(
                        &writer,
                        &user,
                        &password,
                        &config.backends,
                    ))
                    .await?;
                    c.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{schema}`"))
                        .await?;
                    c.query_drop(format!(
                        "CREATE TABLE IF NOT EXISTS {table} (id BIGINT UNSIGNED PRIMARY KEY, ts BIGINT NOT NULL)"
                    ))
                    .await?;
                    // Rows of rwsplit instances gone for a day.
                    c.exec_drop(
                        format!("DELETE FROM {table} WHERE ts < ?"),
                        (now_us().saturating_sub(86_400_000_000),),
                    )
                    .await?;
                    conn = Some((writer.clone(), c));
                }
                let Some((_, c)) = conn.as_mut() else {
                    return Err(mysql_async::Error::Other("no connection".into()));
                };
                let ts = now_us();
                c.exec_drop(
                    format!("INSERT INTO {table} (id, ts) VALUES (?, ?) ON DUPLICATE KEY UPDATE ts = VALUES(ts)"),
                    (id, ts),
                )
                .await?;
                Ok::<u64, mysql_async::Error>(ts)
            };
            match tokio::time::timeout(Duration::from_millis(config.monitor.timeout_ms), write)
                .await
            {
                Ok(Ok(ts)) => {
                    shared.topology.set_heartbeat_written_us(ts);
                    if failing {
                        tracing::info!(writer = %writer, "heartbeat written again");
                    }
                    failing = false;
                }
                Ok(Err(e)) => {
                    if !failing {
                        tracing::warn!(writer = %writer, error = %e, "cannot write the heartbeat; replication lag falls back to Seconds_Behind_Master");
                    }
                    failing = true;
                    conn = None;
                }
                Err(_) => {
                    failing = true;
                    conn = None;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => break,
        }
    }
}

/// aurora mode: reads the cluster's topology through the cluster endpoint. While the
/// endpoint cannot answer (after a failover its DNS name may still point at the writer
/// that is gone), each instance known from the last reading is asked in turn: every
/// Aurora instance serves the same topology table. The endpoint is tried again first
/// every [`ENDPOINT_RETRY`] while another instance answers.
async fn aurora_cluster(
    shared: Arc<Shared>,
    tx: mpsc::Sender<Msg>,
    mut stop: watch::Receiver<bool>,
) {
    // The connection that answers, and whether it is the endpoint's.
    let mut conn: Option<(mysql_async::Conn, bool)> = None;
    let mut endpoint_tried = tokio::time::Instant::now();
    loop {
        let config = shared.live.config();
        let interval = Duration::from_millis(config.monitor.interval_ms);
        if config.backends.mode == TopologyMode::Aurora {
            let a = &config.backends.aurora;
            let timeout = Duration::from_millis(config.monitor.timeout_ms);
            let (user, password) = config.monitor_credentials();
            if conn.as_ref().is_some_and(|(_, endpoint)| !endpoint)
                && endpoint_tried.elapsed() >= ENDPOINT_RETRY
            {
                conn = None;
            }
            let mut rows = None;
            if let Some((c, _)) = conn.as_mut() {
                let read = tokio::time::timeout(timeout, probe::aurora_rows(c, &a.topology_query));
                match read.await {
                    Ok(Ok(r)) => rows = Some(r),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "cannot read the cluster topology");
                        conn = None;
                    }
                    Err(_) => conn = None,
                }
            }
            if rows.is_none() {
                endpoint_tried = tokio::time::Instant::now();
                let mut candidates = vec![a.cluster_endpoint.clone()];
                for b in &shared.topology.current().backends {
                    if !candidates.contains(&b.addr) {
                        candidates.push(b.addr.clone());
                    }
                }
                for (i, addr) in candidates.iter().enumerate() {
                    let opts = monitor_opts(addr, &user, &password, &config.backends);
                    let read = async {
                        let mut c = mysql_async::Conn::new(opts).await?;
                        let r = probe::aurora_rows(&mut c, &a.topology_query).await?;
                        Ok::<_, mysql_async::Error>((c, r))
                    };
                    match tokio::time::timeout(timeout, read).await {
                        Ok(Ok((c, r))) => {
                            if i > 0 {
                                tracing::info!(endpoint = %a.cluster_endpoint, instance = %addr, "cluster topology read through an instance: the endpoint does not answer");
                            }
                            conn = Some((c, i == 0));
                            rows = Some(r);
                            break;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(instance = %addr, error = %e, "cannot read the cluster topology")
                        }
                        Err(_) => {
                            tracing::warn!(instance = %addr, "cluster topology query timed out")
                        }
                    }
                }
            }
            if let Some(rows) = rows {
                if tx.send(Msg::Aurora(rows)).await.is_err() {
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => break,
        }
    }
}

/// How often the cluster endpoint is tried again while another instance answers.
const ENDPOINT_RETRY: Duration = Duration::from_secs(5);
