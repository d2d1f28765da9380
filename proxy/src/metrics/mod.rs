//! What rwsplit counts: Prometheus metrics (through the `metrics` facade) and query
//! digests. Labels are bounded: backends, routes, kinds, reasons, error codes; never
//! statement text.

mod digests;

use std::collections::HashMap;
use std::time::Duration;

use ::metrics::{Counter, Histogram};

pub use digests::{DigestStats, DigestStore};

use crate::classify::Kind;
use crate::route::{BackendId, Reason};

/// A session's handles on the per-statement metrics, so the hot path does no registry
/// lookups after the first statement of a kind.
#[derive(Default)]
pub struct QueryMetrics {
    handles: HashMap<(BackendId, bool, Kind, Reason), (Counter, Histogram)>,
}

impl QueryMetrics {
    /// Counts one statement routed to `backend` (`writer` = its role) for `reason`.
    pub fn record(
        &mut self,
        backend: BackendId,
        addr: &str,
        writer: bool,
        kind: Kind,
        reason: Reason,
        elapsed: Duration,
    ) {
        let (c, h) = self
            .handles
            .entry((backend, writer, kind, reason))
            .or_insert_with(|| {
                let route = if writer { "writer" } else { "reader" };
                (
                    ::metrics::counter!("rwsplit_queries_total", "route" => route, "backend" => addr.to_string(),
                        "kind" => kind.label(), "reason" => reason.label()),
                    ::metrics::histogram!("rwsplit_query_duration_seconds", "route" => route, "backend" => addr.to_string()),
                )
            });
        c.increment(1);
        h.record(elapsed.as_secs_f64());
    }
}
