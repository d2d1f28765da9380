//! A real Prometheus scraping rwsplit (every second) in front of the test topology while
//! the test sends traffic: what Prometheus stored matches what was sent, every query of
//! the Grafana dashboard returns data, the alert rules evaluate without errors on real
//! series, `promtool check metrics` accepts `/metrics`, and a killed replica's
//! `rwsplit_backend_up` goes to 0 (and back to 1 once it is restarted).

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::dashboard;
use crate::prom::{tool, Prometheus, Sample};
use crate::support::*;

/// Reads and writes of the counted phase.
const READS: u64 = 240;
const WRITES: u64 = 60;

/// The alerts config/prometheus/rwsplit-alerts.yml must define.
pub const ALERTS: &[&str] = &[
    "RwsplitNoWriter",
    "RwsplitFailover",
    "RwsplitReplicaLagAboveBound",
    "RwsplitReplicaNotEligible",
    "RwsplitParseFailuresRising",
    "RwsplitErrorsRising",
    "RwsplitClientConnectionsNearCap",
];

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// Prometheus's newest value of `sum(<selector>)` and the time it was scraped.
fn latest(p: &Prometheus, selector: &str) -> Result<(f64, f64), String> {
    let v = p.query(&format!("sum({selector})"))?;
    let t = p.query(&format!("max(timestamp({selector}))"))?;
    match (v.first(), t.first()) {
        (Some(v), Some(t)) => Ok((v.value, t.value)),
        _ => Err(format!("no samples of {selector}")),
    }
}

fn backends(samples: &[Sample]) -> BTreeSet<String> {
    samples
        .iter()
        .map(|s| s.label("backend").to_string())
        .collect()
}

/// `promtool check metrics` on `page`: (success, what it printed).
fn promtool_check_metrics(page: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("write the page to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Checks that `sum(increase(<selector>[window]))`, evaluated at the last scrape, is what
/// was sent (`sent`), within Prometheus's extrapolation: every series existed (unchanged)
/// before the traffic and since Prometheus's first scrape, so the increase over a window
/// that holds all of Prometheus's samples is exactly `sent`, extrapolated at the window's
/// start by less than 1.1 scrape intervals (nothing at its end: it is evaluated at the last
/// scrape), i.e. by a factor below 1 + 1.1 / (samples - 1).
fn check_increase(p: &Prometheus, selector: &str, sent: u64, since_start: f64) {
    let min_samples = 12.0;
    let (t_last, window, samples) = p.wait_for(
        &format!("{min_samples} samples of {selector}"),
        Duration::from_secs(30),
        |p| {
            let (_, t_last) = latest(p, selector)?;
            let window = (t_last - since_start).ceil().max(58.0) as u64 + 2;
            let window = if window == 60 {
                "1m".to_string()
            } else {
                format!("{window}s")
            };
            let n = p.query_at(
                &format!("min(count_over_time({selector}[{window}]))"),
                Some(t_last),
            )?;
            let n = n.first().map(|s| s.value).unwrap_or(0.0);
            if n >= min_samples {
                Ok((t_last, window, n))
            } else {
                Err(format!("{n} samples"))
            }
        },
    );
    let q = format!("sum(increase({selector}[{window}]))");
    let got = p
        .query_at(&q, Some(t_last))
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    let got = got.first().map(|s| s.value).unwrap_or(f64::NAN);
    let sent = sent as f64;
    let bound = sent * (1.0 + 1.1 / (samples - 1.0));
    eprintln!(
        "{q} at the last scrape = {got} (sent {sent}, at most {bound:.1}, {samples} samples)"
    );
    assert!(
        got >= sent - 1e-6 && got <= bound,
        "{q} = {got}: the test sent {sent} (extrapolation allows up to {bound:.1})"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_sees_the_traffic_the_dashboard_has_data_and_a_killed_replica_goes_down() {
    let t = topology();
    let db = fresh_db("prom_metrics").await;
    let proxy = Proxy::start(&["--consistency", "session"]);
    let mut writer = app_db(&proxy, &db).await;
    writer
        .query_drop("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
        .await
        .expect("create");
    writer
        .query_drop("INSERT INTO t (v) VALUES (0)")
        .await
        .expect("insert");
    sync_replicas().await;
    // Sessions that only read (read-your-writes never holds their reads back).
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(app_db(&proxy, &db).await);
    }

    // Before Prometheus starts, every series the counted phase touches exists: reads on
    // both replicas, writes on the primary.
    wait_for_async(
        "reads on both replicas",
        Duration::from_secs(20),
        async || {
            for r in readers.iter_mut() {
                let _: Option<u64> = r.query_first("SELECT COUNT(*) FROM t").await.expect("read");
            }
            let (_, page) = http_get(proxy.metrics_port, "/metrics");
            let served = |p: u16| {
                metric(
                    &page,
                    "rwsplit_queries_total",
                    &[("route", "reader"), ("backend", &addr(p))],
                )
            };
            if t.replicas.iter().all(|p| served(*p) > 0.0) {
                Ok(())
            } else {
                Err(page)
            }
        },
    )
    .await;

    let rules = repo_root().join("config/prometheus/rwsplit-alerts.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules}\n\
         scrape_configs:\n  - job_name: rwsplit\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n",
        rules = rules.display(),
        port = proxy.metrics_port
    );
    let prom = Prometheus::start(&config);
    let since_start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
        - 1.0;

    // The baseline: Prometheus has what rwsplit's page says.
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    let reads0 = metric(&page, "rwsplit_queries_total", &[("route", "reader")]);
    let writes0 = metric(&page, "rwsplit_queries_total", &[("route", "writer")]);
    let reader_sel = r#"rwsplit_queries_total{route="reader"}"#;
    let writer_sel = r#"rwsplit_queries_total{route="writer"}"#;
    prom.wait_for("the baseline", Duration::from_secs(20), |p| {
        let (r, _) = latest(p, reader_sel)?;
        let (w, _) = latest(p, writer_sel)?;
        if (r, w) == (reads0, writes0) {
            Ok(())
        } else {
            Err(format!(
                "reads {r}, writes {w}; rwsplit says {reads0}, {writes0}"
            ))
        }
    });
    let series0 = prom.query(reader_sel).expect("reader series").len()
        + prom.query(writer_sel).expect("writer series").len();

    // The counted phase.
    for i in 0..READS {
        let _: Option<u64> = readers[(i % 3) as usize]
            .query_first("SELECT COUNT(*) FROM t")
            .await
            .expect("read");
        if i % (READS / WRITES) == 0 {
            writer
                .query_drop("INSERT INTO t (v) VALUES (1)")
                .await
                .expect("write");
        }
    }
    let want = (reads0 + READS as f64, writes0 + WRITES as f64);
    prom.wait_for("the counted traffic", Duration::from_secs(20), |p| {
        let (r, _) = latest(p, reader_sel)?;
        let (w, _) = latest(p, writer_sel)?;
        if (r, w) == want {
            Ok(())
        } else {
            Err(format!("reads {r}, writes {w}; want {want:?}"))
        }
    });
    let series1 = prom.query(reader_sel).expect("reader series").len()
        + prom.query(writer_sel).expect("writer series").len();
    assert_eq!(
        series0, series1,
        "the counted phase made new series (the increase checks assume none)"
    );
    check_increase(&prom, reader_sel, READS, since_start);
    check_increase(&prom, writer_sel, WRITES, since_start);

    // Every backend is up, with its role.
    let up = prom
        .query("rwsplit_backend_up")
        .expect("rwsplit_backend_up");
    let want_backends: BTreeSet<String> = t.all().into_iter().map(addr).collect();
    assert_eq!(backends(&up), want_backends, "{up:?}");
    for s in &up {
        assert_eq!(s.value, 1.0, "{s:?}");
        let role = if s.label("backend") == addr(t.primary) {
            "writer"
        } else {
            "reader"
        };
        assert_eq!(s.label("role"), role, "{s:?}");
    }

    // Traffic for the rest of the metrics while the dashboard is evaluated: writes then
    // reads in one session (read-your-writes), errors, reads, one refused login.
    assert!(
        mysql_async::Conn::new(opts(proxy.port, "app", "not-the-password", None))
            .await
            .is_err(),
        "a wrong password was accepted"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        let mut mixed = app_db(&proxy, &db).await;
        let mut reader = readers.pop().expect("a reader");
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                mixed
                    .query_drop("INSERT INTO t (v) VALUES (2)")
                    .await
                    .expect("write");
                let _: Option<u64> = mixed
                    .query_first("SELECT COUNT(*) FROM t")
                    .await
                    .expect("read after write");
                assert!(mixed
                    .query_drop("SELECT * FROM no_such_table")
                    .await
                    .is_err());
                let _: Option<u64> = reader
                    .query_first("SELECT MAX(id) FROM t")
                    .await
                    .expect("read");
                // Pacing of the background traffic.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    prom.wait_for(
        "read-your-writes waits, error 1146 and the refused login",
        Duration::from_secs(20),
        |p| {
            for q in [
                "sum(rwsplit_consistency_waits_total)",
                r#"sum(rwsplit_errors_total{code="1146"})"#,
                "sum(rwsplit_auth_failures_total)",
            ] {
                match p.value(q) {
                    Some(v) if v > 0.0 => {}
                    other => return Err(format!("{q} = {other:?}")),
                }
            }
            Ok(())
        },
    );
    // Enough of it that every rate window of the dashboard ($__rate_interval = 4s at the
    // 1 s scrape interval) holds some: Prometheus holds 4 scrapes of a series only this
    // traffic makes (errors 1146).
    prom.wait_for(
        "a rate window's worth of scrapes of the traffic",
        Duration::from_secs(30),
        |p| {
            let q = r#"min(count_over_time(rwsplit_errors_total{code="1146"}[4s]))"#;
            match p.value(q) {
                Some(n) if n >= 4.0 => Ok(()),
                other => Err(format!("{q} = {other:?}")),
            }
        },
    );

    // Every query of every panel of the dashboard: no parse error, and data. Every metric
    // the panels use is exercised above (or, for events this test does not cause, such
    // as failovers, exported at 0 from startup), so an empty answer is a broken panel.
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("config/grafana/rwsplit-dashboard.json"))
            .expect("dashboard"),
    )
    .expect("dashboard JSON");
    let targets = dashboard::targets(&dash).expect("the dashboard's queries");
    let panels = dash["panels"].as_array().map(|p| p.len()).unwrap_or(0);
    assert!(
        panels >= 12 && targets.len() >= panels,
        "{panels} panels, {} queries",
        targets.len()
    );
    let mut failures = Vec::new();
    for target in &targets {
        let what = format!(
            "panel {:?} {}: {}",
            target.panel, target.ref_id, target.expr
        );
        match prom.query(&target.expr) {
            Err(e) => failures.push(format!("{what}: {e}")),
            Ok(s) if s.is_empty() => failures.push(format!("{what}: empty")),
            Ok(s) if !s.iter().any(|s| s.value.is_finite()) => {
                failures.push(format!("{what}: no finite value: {s:?}"))
            }
            Ok(s) => {
                let values: Vec<String> = s
                    .iter()
                    .map(|s| {
                        let labels: Vec<String> = s
                            .labels
                            .iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect();
                        format!("{{{}}} {}", labels.join(","), s.value)
                    })
                    .collect();
                eprintln!("{what}\n    = {}", values.join("; "));
                if target.raw.contains("rwsplit_backend_up") {
                    assert_eq!(s.len(), 3, "{what}: {s:?}");
                    assert!(s.iter().all(|s| s.value == 1.0), "{what}: {s:?}");
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "dashboard queries that fail or are blank:\n{}",
        failures.join("\n")
    );

    // The alert rules: loaded, every one evaluated on these series without an error.
    let rules = prom.wait_for("every alert rule evaluated", Duration::from_secs(20), |p| {
        let data = p.api("/api/v1/rules", &[])?;
        let rules: Vec<serde_json::Value> = data["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        if rules.len() == ALERTS.len() && rules.iter().all(|r| r["health"] != "unknown") {
            Ok(rules)
        } else {
            Err(format!("{data}"))
        }
    });
    let names: BTreeSet<&str> = rules.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ALERTS.iter().copied().collect(), "the alert rules");
    for r in &rules {
        assert_eq!(r["health"], "ok", "rule {} on real series: {r}", r["name"]);
    }
    let rule_query = |name: &str| -> String {
        rules
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["query"].as_str())
            .unwrap_or_else(|| panic!("no rule {name}"))
            .to_string()
    };
    let no_writer = rule_query("RwsplitNoWriter");
    assert_eq!(
        prom.query(&no_writer)
            .expect("RwsplitNoWriter's query")
            .len(),
        0,
        "RwsplitNoWriter's condition holds with the writer up"
    );

    // The exposition: promtool finds nothing to say about /metrics (every metric has its
    // HELP, names and types follow the conventions); and it would, about a page without
    // HELP.
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    let (ok, said) = promtool_check_metrics(&page);
    assert!(
        ok && said.trim().is_empty(),
        "promtool check metrics:\n{said}\non:\n{page}"
    );
    for name in [
        "rwsplit_queries_total",
        "rwsplit_query_duration_seconds",
        "rwsplit_consistency_waits_total",
        "rwsplit_errors_total",
        "rwsplit_backend_up",
        "rwsplit_max_client_connections",
        "rwsplit_max_replica_lag_seconds",
    ] {
        assert!(
            page.contains(&format!("# HELP {name} ")),
            "no HELP for {name}:\n{page}"
        );
    }
    let bare: String = page
        .lines()
        .filter(|l| !l.starts_with("# HELP"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (ok, said) = promtool_check_metrics(&bare);
    assert!(
        !ok && said.contains("rwsplit_queries_total no help text"),
        "promtool accepted a page without HELP: {said}"
    );

    stop.store(true, Ordering::Relaxed);
    traffic.await.expect("the traffic task");

    // A replica killed: Prometheus sees it down, the others up, and the alert's
    // condition names it; restarted: up again.
    let victim = t.replicas[1];
    let victim_up = format!("rwsplit_backend_up{{backend=\"{}\"}}", addr(victim));
    t.script(&["kill", &victim.to_string()]);
    prom.wait_for(
        "the killed replica down",
        Duration::from_secs(20),
        |p| match p.value(&victim_up) {
            Some(0.0) => Ok(()),
            other => Err(format!("{victim_up} = {other:?}")),
        },
    );
    let still_up = prom.query("rwsplit_backend_up == 1").expect("up");
    assert_eq!(
        backends(&still_up),
        [addr(t.primary), addr(t.replicas[0])].into_iter().collect(),
        "{still_up:?}"
    );
    let not_eligible = prom
        .query(&rule_query("RwsplitReplicaNotEligible"))
        .expect("RwsplitReplicaNotEligible's query");
    assert_eq!(
        backends(&not_eligible),
        [addr(victim)].into_iter().collect(),
        "{not_eligible:?}"
    );
    assert_eq!(
        prom.query(&no_writer)
            .expect("RwsplitNoWriter's query")
            .len(),
        0,
        "a dead replica is not a missing writer"
    );
    t.script(&["start", &victim.to_string()]);
    prom.wait_for(
        "the restarted replica up",
        Duration::from_secs(30),
        |p| match p.value(&victim_up) {
            Some(1.0) => Ok(()),
            other => Err(format!("{victim_up} = {other:?}")),
        },
    );
    drop(prom);
    drop(readers);
    drop(writer);
}
