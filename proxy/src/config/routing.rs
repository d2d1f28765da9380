//! `[routing]`: classification, reader choice, replication lag and read-your-writes.

use serde::{Deserialize, Serialize};

/// How a reader is chosen among the eligible ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// In turn, in proportion to the weights.
    RoundRobin,
    /// The one running the fewest statements now (relative to its weight).
    #[default]
    LeastConnections,
    /// Power of two choices on the moving average of response times.
    Latency,
}

/// What happens to a read when no reader is eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The writer serves it.
    #[default]
    Writer,
    /// The client gets an error.
    Error,
}

/// Read-your-writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Reads may be served by a replica that has not applied recent writes yet.
    Eventual,
    /// After a session's own write, its reads see it.
    Session,
    /// After any write through this rwsplit, every session's reads see it.
    #[default]
    Global,
    /// Every read sees every write acknowledged before it arrived, to any client of the
    /// cluster, through any rwsplit or none (several app instances behind a load
    /// balancer). GTID flavours: the writer's position is fetched (one query for all the
    /// reads that arrived before it was sent) and the reader waits for it. Aurora: needs
    /// local write forwarding; reads wait inside Aurora.
    Cluster,
}

/// Where a rule sends what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleRoute {
    Writer,
    Reader,
}

/// `[[routing.rules]]`: the first rule whose conditions all hold decides the route. A
/// rule never sends a statement of a transaction, a locking read or a write to a reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// A regular expression on the normalized statement (comments dropped, literals as
    /// `?`, words upper case, single spaces), e.g. `^SELECT .* FROM REPORTS`.
    #[serde(rename = "match", default)]
    pub pattern: Option<String>,
    /// Only for this client user.
    #[serde(default)]
    pub user: Option<String>,
    /// Only when this is the default schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// `writer` or `reader`.
    pub route: RuleRoute,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// `least_connections`, `round_robin` or `latency`. Default `least_connections`.
    pub policy: Policy,
    /// `writer` or `error` when no reader is eligible. Default `writer`.
    pub fallback: Fallback,
    /// Readers lagging more than this many milliseconds get no reads. Default 1000.
    pub max_replica_lag_ms: u64,
    /// `eventual`, `session`, `global` or `cluster`. Default `global`.
    pub consistency: Consistency,
    /// How long a read waits for a reader to apply a write before going to the writer,
    /// in milliseconds. With the writer unreachable, a read also waits this long, or one
    /// monitor round (`monitor.interval_ms` + `monitor.timeout_ms`) if longer, for the
    /// monitor to check the replicas after the writes it must see. Default 500.
    pub consistency_timeout_ms: u64,
    /// Without GTIDs (Aurora), a reader serves a read after a write only if its lag plus
    /// this margin (milliseconds) is below the time since the write. Default 100.
    pub consistency_margin_ms: u64,
    /// Statement shapes whose sqlparser verdict is remembered. Default 16384.
    pub classifier_cache: usize,
    /// Session commands (SET, SET NAMES, …) a session remembers for its readers; past
    /// this, its reads stay on the writer. Default 256.
    pub max_session_history: usize,
    /// Stored functions a SELECT may call on a reader (`name` or `schema.name`); a SELECT
    /// calling any other non-built-in function goes to the writer. Default: none.
    pub read_only_functions: Vec<String>,
    /// Statement shapes whose counts and times are kept (least recently seen dropped).
    /// Default 1000.
    pub digests: usize,
    /// Routing rules, in order. Default: none.
    pub rules: Vec<RuleConfig>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            policy: Policy::LeastConnections,
            fallback: Fallback::Writer,
            max_replica_lag_ms: 1000,
            consistency: Consistency::Global,
            consistency_timeout_ms: 500,
            consistency_margin_ms: 100,
            classifier_cache: 16_384,
            max_session_history: 256,
            read_only_functions: Vec::new(),
            digests: 1000,
            rules: Vec::new(),
        }
    }
}
