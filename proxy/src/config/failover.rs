//! `[failover]`: what a session does while the writer is missing or moving, so that a
//! failover is a pause rather than an error the application must handle.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailoverConfig {
    /// Milliseconds a statement that needs the writer waits for one when there is none
    /// (the writer died, or is read-only during a switchover, or cannot be reached),
    /// before it gets error 1105. Also how long such a statement waits after the old
    /// writer refused it for being read-only (1290, 1836: it was not run) before it gets
    /// that error; and how long a read-only statement whose writer connection broke
    /// before its answer waits to be sent again. 0 = never wait (the error at once).
    /// At most 600000. Default 10000.
    pub hold_ms: u64,
    /// Bytes of an open transaction's statements a session keeps, so that when the
    /// writer connection is lost inside the transaction (the server rolled it back), or
    /// the old writer refuses a statement in it as read-only, the transaction is
    /// replayed on the new writer and the statement sent there: the client sees no
    /// error when every replayed statement answers as it did the first time (a hash of
    /// each answer is kept, not the answer). A larger transaction gets 1927 as it would
    /// without replay. Counted against `server.max_session_memory`. 0 = never replay.
    /// At most 1073741824. Default 1048576 (1 MiB).
    pub replay_max_bytes: usize,
    /// Learn the outcome of a COMMIT (or an autocommit INSERT / UPDATE / DELETE /
    /// REPLACE) whose answer a failover lost, instead of answering 1927 "outcome
    /// unknown": a row with a unique id is written to `<monitor.heartbeat_schema>.commits`
    /// inside the transaction, in the COMMIT's round trip (an autocommit write runs as
    /// BEGIN, the write, then the marker and COMMIT: one more round trip), and looked for
    /// on the new writer. Found: the client gets the COMMIT's (or the write's) OK. Not
    /// found: the transaction was rolled back and is replayed (see `replay_max_bytes`).
    /// The application's backend account needs INSERT and SELECT on that table (the
    /// monitor account creates it and deletes markers older than an hour). Default false.
    pub verify_commits: bool,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        FailoverConfig {
            hold_ms: 10_000,
            replay_max_bytes: 1 << 20,
            verify_commits: false,
        }
    }
}
