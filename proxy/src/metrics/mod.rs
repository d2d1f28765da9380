//! What rwsplit counts: Prometheus metrics (through the `metrics` facade) and query
//! digests. Labels are bounded: backends, routes, kinds, reasons, error codes; never
//! statement text.

pub mod describe;
mod digests;
pub mod http;

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
    errors: HashMap<u16, Counter>,
    bytes: Option<(Counter, Counter)>,
}

impl QueryMetrics {
    /// Counts one statement routed to `backend` (`writer` = its role) for `reason`.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        backend: BackendId,
        addr: &str,
        writer: bool,
        kind: Kind,
        reason: Reason,
        elapsed: Duration,
        bytes_in: u64,
        bytes_out: u64,
        error: Option<u16>,
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
        let (i, o) = self.bytes.get_or_insert_with(|| {
            (
                ::metrics::counter!("rwsplit_bytes_received_total"),
                ::metrics::counter!("rwsplit_bytes_sent_total"),
            )
        });
        i.increment(bytes_in);
        o.increment(bytes_out);
        if let Some(code) = error {
            self.error(code);
        }
    }

    /// Counts an error answered to the client (the server's, or rwsplit's own).
    pub fn error(&mut self, code: u16) {
        self.errors
            .entry(code)
            .or_insert_with(
                || ::metrics::counter!("rwsplit_errors_total", "code" => code.to_string()),
            )
            .increment(1);
    }
}
