//! The HTTP listener: `/metrics` (Prometheus), `/healthz` (alive), `/readyz` (listener up
//! and writer reachable), `/status` (JSON: backends, roles, lag, connections, sessions).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use serde_json::json;
use tokio::net::TcpListener;

use crate::shared::Shared;

/// How long a gauge nobody set stays in the output. Every gauge is set (or touched) at
/// each scrape by `refresh_gauges`, so this only removes series that no longer exist: a
/// backend's old `role` after a failover, the lag of a reader whose lag is unknown, a
/// backend that left the topology. Without it they would stay at their last value for the
/// life of the process (a demoted writer still `rwsplit_backend_up{role="writer"} 1`).
const STALE_GAUGE: Duration = Duration::from_secs(5);

/// The recorder's configuration: histogram buckets for every `_seconds` histogram, and
/// gauges dropped after `stale_gauge` without an update.
fn builder(stale_gauge: Duration) -> Option<PrometheusBuilder> {
    let buckets = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0,
    ];
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
        .ok()?
        .idle_timeout(MetricKindMask::GAUGE, Some(stale_gauge));
    Some(builder)
}

/// Installs the Prometheus recorder (once per process), describes every metric to it
/// (HELP text, units; see `describe`), and returns its handle.
pub fn install() -> Option<PrometheusHandle> {
    let recorder = builder(STALE_GAUGE)?.build_recorder();
    let handle = recorder.handle();
    match ::metrics::set_global_recorder(recorder) {
        Ok(()) => {
            super::describe::describe();
            Some(handle)
        }
        Err(_) => None, // another rwsplit in this process installed one
    }
}

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    prometheus: Option<PrometheusHandle>,
}

/// Serves HTTP on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    prometheus: Option<PrometheusHandle>,
) {
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/status", get(status))
        .with_state(App { shared, prometheus });
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "HTTP listener stopped");
    }
}

/// Gauges read from shared state at scrape time. Every gauge rwsplit exports is set or
/// touched here (`increment(0.0)` keeps a gauge others maintain from counting as stale).
fn refresh_gauges(shared: &Shared) {
    let topo = shared.topology.current();
    for b in &topo.backends {
        let load = shared.loads.of(b.id);
        ::metrics::gauge!("rwsplit_backend_connections", "backend" => b.addr.clone(), "state" => "open")
            .set(load.open.load(Ordering::Relaxed) as f64);
        ::metrics::gauge!("rwsplit_backend_connections", "backend" => b.addr.clone(), "state" => "active")
            .set(load.active.load(Ordering::Relaxed) as f64);
        ::metrics::gauge!("rwsplit_backend_up", "backend" => b.addr.clone(), "role" => b.role.label())
            .set(if b.up { 1.0 } else { 0.0 });
        ::metrics::gauge!("rwsplit_backend_eligible", "backend" => b.addr.clone())
            .set(if b.eligible { 1.0 } else { 0.0 });
        if let Some(lag) = b.lag_ms {
            ::metrics::gauge!("rwsplit_replica_lag_seconds", "backend" => b.addr.clone())
                .set(lag as f64 / 1000.0);
        }
    }
    ::metrics::gauge!("rwsplit_query_digests").set(shared.digests.len() as f64);
    ::metrics::gauge!("rwsplit_max_replica_lag_seconds")
        .set(shared.live.config().routing.max_replica_lag_ms as f64 / 1000.0);
    // Maintained by the sessions and by the listener (the cap it started with).
    ::metrics::gauge!("rwsplit_client_connections").increment(0.0);
    ::metrics::gauge!("rwsplit_max_client_connections").increment(0.0);
}

async fn metrics_page(State(app): State<App>) -> Response {
    refresh_gauges(&app.shared);
    match &app.prometheus {
        Some(h) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            h.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are recorded by another instance in this process\n",
        )
            .into_response(),
    }
}

/// Ready: the client listener is up and the writer answers its checks.
fn is_ready(shared: &Shared) -> Result<(), String> {
    if !shared.is_listening() {
        return Err("the client listener is not up".into());
    }
    let topo = shared.topology.current();
    match topo.writer.and_then(|w| topo.get(w)) {
        Some(w) if w.up => Ok(()),
        Some(w) => Err(format!("the writer {} is down", w.addr)),
        None => Err("no writer".into()),
    }
}

async fn ready(State(app): State<App>) -> Response {
    match is_ready(&app.shared) {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn status(State(app): State<App>) -> Json<serde_json::Value> {
    let shared = &app.shared;
    let topo = shared.topology.current();
    let backends: Vec<_> = topo
        .backends
        .iter()
        .map(|b| {
            let load = shared.loads.of(b.id);
            json!({
                "address": b.addr,
                "role": b.role.label(),
                "up": b.up,
                "eligible": b.eligible,
                "offline": shared.topology.is_offline(&b.addr),
                "read_only": b.read_only,
                "lag_ms": b.lag_ms,
                "weight": b.weight,
                "flavour": b.flavour.label(),
                "position": b.position.as_ref().map(|p| p.to_text()),
                "received": b.received.as_ref().map(|p| p.to_text()),
                "connections_open": load.open.load(Ordering::Relaxed),
                "statements_active": load.active.load(Ordering::Relaxed),
                "response_ewma_us": load.ewma_us.load(Ordering::Relaxed),
            })
        })
        .collect();
    let config = shared.live.config();
    Json(json!({
        "ready": is_ready(shared).is_ok(),
        "uptime_seconds": shared.uptime().as_secs(),
        "writer": topo.writer_addr(),
        "backends": backends,
        "client_sessions": shared.sessions.len(),
        "mode": format!("{:?}", config.backends.mode),
        "consistency": format!("{:?}", config.routing.consistency),
        "policy": format!("{:?}", config.routing.policy),
        "query_digests": shared.digests.len(),
        "parse_failures": shared.live.snapshot().classifier.parse_failures(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gauge_nobody_sets_any_more_leaves_the_output_and_counters_stay() {
        let recorder = builder(Duration::from_millis(50))
            .expect("builder")
            .build_recorder();
        let handle = recorder.handle();
        let set = |role: &'static str| {
            ::metrics::with_local_recorder(&recorder, || {
                ::metrics::gauge!("t_up", "backend" => "b1", "role" => role).set(1.0);
                ::metrics::counter!("t_events_total").increment(0);
            })
        };
        set("writer");
        set("reader");
        let page = handle.render();
        assert!(
            page.contains(r#"t_up{backend="b1",role="writer"} 1"#),
            "{page}"
        );
        assert!(
            page.contains(r#"t_up{backend="b1",role="reader"} 1"#),
            "{page}"
        );
        // The backend is now a reader: only that series is still set.
        std::thread::sleep(Duration::from_millis(120));
        set("reader");
        let page = handle.render();
        assert!(
            !page.contains(r#"role="writer""#),
            "the old role stayed:\n{page}"
        );
        assert!(
            page.contains(r#"t_up{backend="b1",role="reader"} 1"#),
            "{page}"
        );
        std::thread::sleep(Duration::from_millis(120));
        let page = handle.render();
        assert!(
            page.contains("t_events_total 0"),
            "a counter expired:\n{page}"
        );
    }
}
