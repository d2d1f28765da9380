//! The HELP text and unit of every metric rwsplit exports, given to the recorder once at
//! startup (`describe`), and the label-less counters registered at 0 so they exist before
//! their first event: `increase()` and `rate()` then count that event (a counter whose
//! first sample is already 1 shows no increase), and alerts and panels on them are not
//! blank. Names follow Prometheus conventions: counters end in `_total`, times are in
//! seconds (`_seconds`), sizes in bytes (`_bytes`). A unit test checks that every metric
//! emitted in `src/` is listed here, with its kind.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

use MetricKind::{Counter, Gauge, Histogram};

/// Every metric: name, kind, unit, HELP text.
pub const METRICS: &[(&str, MetricKind, Unit, &str)] = &[
    // Statements.
    (
        "rwsplit_queries_total",
        Counter,
        Unit::Count,
        "Statements answered, by route (writer or reader), backend, kind (read, write, tx, \
         session, other) and reason (why they went where they went).",
    ),
    (
        "rwsplit_query_duration_seconds",
        Histogram,
        Unit::Seconds,
        "Time from a client's command to the last byte of its answer, by route and backend.",
    ),
    (
        "rwsplit_errors_total",
        Counter,
        Unit::Count,
        "Errors answered to clients (the server's or rwsplit's own), by MySQL error code.",
    ),
    (
        "rwsplit_parse_failures_total",
        Counter,
        Unit::Count,
        "Statement shapes sqlparser could not parse (once per shape while it stays in the \
         classifier's cache); such statements go to the writer.",
    ),
    (
        "rwsplit_query_timeouts_total",
        Counter,
        Unit::Count,
        "Statements killed for running longer than server.query_timeout_ms.",
    ),
    (
        "rwsplit_session_memory_refusals_total",
        Counter,
        Unit::Count,
        "Prepares and long data refused because the session would hold more than \
         server.max_session_memory.",
    ),
    (
        "rwsplit_query_digests",
        Gauge,
        Unit::Count,
        "Statement shapes tracked for SHOW QUERY DIGEST.",
    ),
    (
        "rwsplit_bytes_received_total",
        Counter,
        Unit::Bytes,
        "Bytes of statements received from clients.",
    ),
    (
        "rwsplit_bytes_sent_total",
        Counter,
        Unit::Bytes,
        "Bytes of answers sent to clients.",
    ),
    // Read-your-writes.
    (
        "rwsplit_cluster_position_reads_total",
        Counter,
        Unit::Count,
        "Reads that needed the writer's position (routing.consistency = \"cluster\"); divided \
         by rwsplit_cluster_position_fetches_total, the reads each position query answered.",
    ),
    (
        "rwsplit_cluster_position_fetches_total",
        Counter,
        Unit::Count,
        "Position queries sent to the writer for cluster consistency (one answers every read \
         that arrived before it was sent).",
    ),
    (
        "rwsplit_consistency_waits_total",
        Counter,
        Unit::Count,
        "Read-your-writes decisions for reads after writes, by outcome (already, waited, \
         timeout, skipped_lagging, lag_ok, lag_too_high, writer_unreachable, error; in \
         cluster mode also overlapped: a read sent ahead of its position, the reader having \
         had it, and overlap_missed: such a read's answer dropped, the read sent again after \
         a wait).",
    ),
    (
        "rwsplit_consistency_wait_seconds",
        Histogram,
        Unit::Seconds,
        "Time a read waited for a reader to apply the writes it must see.",
    ),
    // Clients.
    (
        "rwsplit_client_connections",
        Gauge,
        Unit::Count,
        "Client sessions logged in.",
    ),
    (
        "rwsplit_max_client_connections",
        Gauge,
        Unit::Count,
        "The cap on client connections (server.max_client_connections); clients past it \
         are refused with error 1040.",
    ),
    (
        "rwsplit_connections_total",
        Counter,
        Unit::Count,
        "Client connections accepted.",
    ),
    (
        "rwsplit_auth_failures_total",
        Counter,
        Unit::Count,
        "Client logins refused for their credentials.",
    ),
    (
        "rwsplit_handshake_timeouts_total",
        Counter,
        Unit::Count,
        "Client connections closed for not logging in within server.handshake_timeout_ms.",
    ),
    (
        "rwsplit_idle_timeouts_total",
        Counter,
        Unit::Count,
        "Client sessions closed for idling past their wait_timeout or \
         server.client_idle_timeout_ms.",
    ),
    (
        "rwsplit_caching_sha2_full_auth_total",
        Counter,
        Unit::Count,
        "caching_sha2_password full authentications, by how the password came (tls: inside \
         TLS, rsa: RSA-encrypted).",
    ),
    // Backends.
    (
        "rwsplit_backend_connections",
        Gauge,
        Unit::Count,
        "Connections rwsplit holds to each backend (state=open) and statements running on \
         it (state=active).",
    ),
    (
        "rwsplit_backend_up",
        Gauge,
        Unit::Count,
        "1 when the backend answers its health checks, else 0; role is its current role \
         (writer or reader).",
    ),
    (
        "rwsplit_backend_eligible",
        Gauge,
        Unit::Count,
        "1 when the backend is a reader that gets reads (up, read-only, replicating, lag \
         within routing.max_replica_lag_ms, not offline), else 0 (always 0 for the writer).",
    ),
    (
        "rwsplit_replica_lag_seconds",
        Gauge,
        Unit::Seconds,
        "Replication lag of each reader, as last measured (absent while unknown).",
    ),
    (
        "rwsplit_max_replica_lag_seconds",
        Gauge,
        Unit::Seconds,
        "The routing bound on reader lag (routing.max_replica_lag_ms): a reader lagging \
         more gets no reads.",
    ),
    (
        "rwsplit_eligibility_changes_total",
        Counter,
        Unit::Count,
        "Times a reader became eligible or not eligible for reads, by backend.",
    ),
    (
        "rwsplit_failovers_total",
        Counter,
        Unit::Count,
        "Writer changes (failovers, switchovers) the monitor saw.",
    ),
    (
        "rwsplit_failover_holds_total",
        Counter,
        Unit::Count,
        "Statements (and logins) that waited for a writer (failover.hold_ms), by cause \
         (no_writer: none, or unreachable; read_only: the old writer refused it as \
         read-only; lost_read: a read lost its writer connection; replay: a transaction \
         waits to be replayed; verify: a lost COMMIT waits to look for its marker) and outcome (resumed: sent to a writer; timed_out: the \
         client got the error; failed: a writer came but the statement failed otherwise; \
         killed).",
    ),
    (
        "rwsplit_commit_verifications_total",
        Counter,
        Unit::Count,
        "COMMITs and autocommit writes whose answer a failover lost, looked for by their \
         marker (failover.verify_commits), by outcome: committed (the client got the OK), \
         rolled_back (replayed or sent again), unknown (no writer answered within \
         failover.hold_ms: 1927 outcome unknown), unmarked (the marker could not be \
         written: its table is missing or the account may not write it).",
    ),
    (
        "rwsplit_replays_total",
        Counter,
        Unit::Count,
        "Open transactions a failover interrupted, by outcome: ok (replayed on the new \
         writer with every answer as before: the client saw no error), diverged (an \
         answer differed: 1927, rolled back), too_large (past failover.replay_max_bytes: \
         1927), not_replayable (a statement in it failed, may have committed it, read a \
         client file, XA, or replay is off: 1927), timed_out (no writer took the replay \
         within failover.hold_ms: 1927).",
    ),
    (
        "rwsplit_failover_hold_seconds",
        Histogram,
        Unit::Seconds,
        "How long statements waited for a writer (failover.hold_ms), whatever the outcome.",
    ),
    // Connection pools.
    (
        "rwsplit_pool_connections",
        Gauge,
        Unit::Count,
        "Connections of each backend's pool by role and state: idle (kept for the next \
         session) or borrowed (held by a session, or being opened). Updated every second.",
    ),
    (
        "rwsplit_pool_waiting",
        Gauge,
        Unit::Count,
        "Sessions waiting for a connection because the backend is at \
         pool.max_connections. Updated every second.",
    ),
    (
        "rwsplit_pool_borrows_total",
        Counter,
        Unit::Count,
        "Connections sessions took from a pool, by backend, role and outcome: idle (an \
         idle connection reused), new (a connection opened), timeout (none within \
         pool.borrow_timeout_ms: error 1040).",
    ),
    (
        "rwsplit_pool_borrow_wait_seconds",
        Histogram,
        Unit::Seconds,
        "Time a session waited for its pool to grant a connection (not counting the \
         login of a new one), by backend and role.",
    ),
    (
        "rwsplit_metadata_resent_total",
        Counter,
        Unit::Count,
        "Prepared statement executions whose answer left out column definitions the client \
         did not have (MARIADB_CLIENT_CACHE_METADATA, after a table changed between two \
         prepares of the statement), which rwsplit put back.",
    ),
    (
        "rwsplit_pool_resets_total",
        Counter,
        Unit::Count,
        "COM_RESET_CONNECTION run on a connection given back at a session's end, by \
         backend, role and outcome (ok, failed).",
    ),
    (
        "rwsplit_pool_closed_total",
        Counter,
        Unit::Count,
        "Pooled connections closed, by backend, role and reason: idle_timeout, lifetime, \
         surplus (idle 10 s past max_idle, or past max_connections), evicted (its slot went to a session \
         of another account), topology (its backend left or changed role), broken (failed \
         its ping), reset_failed, unfinished (its session ended mid-answer).",
    ),
    (
        "rwsplit_pins_total",
        Counter,
        Unit::Count,
        "Transaction pooling: sessions that began keeping their backend connections \
         between statements, by reason: transaction, xa, locked_tables, named_lock, \
         temporary_table, handler, sql_prepare, cursor, next_transaction, sequence, \
         user_variable, session_state. Counted when a pin starts.",
    ),
    (
        "rwsplit_read_backs_total",
        Counter,
        Unit::Count,
        "Variables a statement assigned values rwsplit cannot replay as written          (SET @a = NOW(), SELECT ... INTO @a, @a := ..., a CALL's @out, an unparsable SET)          read back from the connection that ran it and replayed as literals, by outcome:          ok, failed (the session then pins, as user_variable or session_state).",
    ),
];

/// Counters without labels, registered at 0 by `describe`.
const ZERO_COUNTERS: &[&str] = &[
    "rwsplit_parse_failures_total",
    "rwsplit_query_timeouts_total",
    "rwsplit_session_memory_refusals_total",
    "rwsplit_bytes_received_total",
    "rwsplit_bytes_sent_total",
    "rwsplit_connections_total",
    "rwsplit_auth_failures_total",
    "rwsplit_handshake_timeouts_total",
    "rwsplit_idle_timeouts_total",
    "rwsplit_failovers_total",
];

/// Describes every metric to the installed recorder, and registers the label-less
/// counters (and the client-connection gauge) at 0. Call once, after installing it.
pub fn describe() {
    for &(name, kind, unit, help) in METRICS {
        match kind {
            Counter => describe_counter!(name, unit, help),
            Gauge => describe_gauge!(name, unit, help),
            Histogram => describe_histogram!(name, unit, help),
        }
    }
    for &name in ZERO_COUNTERS {
        ::metrics::counter!(name).increment(0);
    }
    ::metrics::gauge!("rwsplit_client_connections").increment(0.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Every `counter!`/`gauge!`/`histogram!` with a literal `rwsplit_…` name in `src/`.
    fn emitted() -> BTreeMap<String, MetricKind> {
        fn walk(dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).expect("src dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(std::fs::read_to_string(&p).expect("source file"));
                }
            }
        }
        let mut sources = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut sources,
        );
        let re = regex::Regex::new(r#"\b(counter|gauge|histogram)!\(\s*"(rwsplit_[a-z0-9_]+)""#)
            .expect("regex");
        let mut found = BTreeMap::new();
        for src in &sources {
            for c in re.captures_iter(src) {
                let kind = match &c[1] {
                    "counter" => Counter,
                    "gauge" => Gauge,
                    _ => Histogram,
                };
                let prev = found.insert(c[2].to_string(), kind);
                assert!(
                    prev.is_none_or(|k| k == kind),
                    "{} is emitted as two kinds",
                    &c[2]
                );
            }
        }
        found
    }

    #[test]
    fn every_emitted_metric_is_described_with_its_kind() {
        let emitted = emitted();
        assert!(
            emitted.len() >= 20,
            "the scan found too little: {emitted:?}"
        );
        let described: BTreeMap<&str, MetricKind> =
            METRICS.iter().map(|&(n, k, _, _)| (n, k)).collect();
        assert_eq!(described.len(), METRICS.len(), "a metric is listed twice");
        for (name, kind) in &emitted {
            assert_eq!(
                described.get(name.as_str()),
                Some(kind),
                "{name} is emitted as a {kind:?} but not described as one in METRICS"
            );
        }
        for name in described.keys() {
            assert!(
                emitted.contains_key(*name),
                "{name} is described but never emitted"
            );
        }
    }

    #[test]
    fn names_and_units_follow_prometheus_conventions() {
        for &(name, kind, unit, help) in METRICS {
            assert!(
                name.starts_with("rwsplit_")
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}: snake_case with the rwsplit_ prefix"
            );
            assert_eq!(
                name.ends_with("_total"),
                kind == Counter,
                "{name}: counters, and only counters, end in _total"
            );
            let base = name.trim_end_matches("_total");
            match unit {
                Unit::Seconds => assert!(base.ends_with("_seconds"), "{name}: unit seconds"),
                Unit::Bytes => assert!(base.contains("_bytes"), "{name}: unit bytes"),
                Unit::Count => assert!(
                    !base.ends_with("_seconds") && !base.ends_with("_bytes"),
                    "{name}: a count named like a unit"
                ),
                other => panic!("{name}: not a base unit: {other:?}"),
            }
            for bad in [
                "_ms",
                "_millis",
                "_milliseconds",
                "_us",
                "_microseconds",
                "_kb",
                "_mb",
            ] {
                assert!(!base.contains(bad), "{name}: use base units");
            }
            assert!(help.len() > 20 && help.ends_with('.'), "{name}: HELP text");
        }
        for name in ZERO_COUNTERS {
            assert!(
                METRICS
                    .iter()
                    .any(|&(n, k, _, _)| n == *name && k == Counter),
                "{name} is registered at 0 but not a described counter"
            );
        }
    }
}
