//! Holding a statement through a failover: while the topology has no writer a statement
//! that needs one waits for it (`failover.hold_ms`), a write the old writer refused for
//! being read-only is held and sent to the new one, and a read whose writer connection
//! broke is sent again. What to do is `route::recover`'s decision; this is the waiting.

use std::time::{Duration, Instant};

use crate::backend::{BackendStream, Downstream};
use crate::protocol::err::is_read_only_refusal;
use crate::route::{writer_for_hold, BackendId};

use super::client::ClientConn;
use super::replay::Digesting;
use super::Session;

/// Why a statement waits (the `cause` label of `rwsplit_failover_holds_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    /// No writer, or it could not be reached.
    NoWriter,
    /// The old writer refused it for being read-only.
    ReadOnly,
    /// A read lost its writer connection.
    LostRead,
    /// A transaction lost its writer connection (or was refused as read-only): it waits
    /// to be replayed on the next writer.
    Replay,
    /// A COMMIT (or autocommit write) lost its answer: it waits to look for its marker.
    Verify,
}

impl Cause {
    fn label(self) -> &'static str {
        match self {
            Cause::NoWriter => "no_writer",
            Cause::ReadOnly => "read_only",
            Cause::LostRead => "lost_read",
            Cause::Replay => "replay",
            Cause::Verify => "verify",
        }
    }
}

/// One statement's hold: its deadline, from the first time it had to wait, and why.
pub(super) struct Hold {
    limit: Duration,
    started: Option<(Instant, Cause)>,
    /// Waits so far: each after the first starts with a pause that grows (50 ms per
    /// wait, at most 500 ms), so a writer that looks up but keeps failing is not retried
    /// in a tight loop.
    waits: u32,
}

impl Hold {
    pub fn new(hold_ms: u64) -> Hold {
        Hold {
            limit: Duration::from_millis(hold_ms),
            started: None,
            waits: 0,
        }
    }

    /// True while the statement may (still) wait.
    pub fn may_hold(&self) -> bool {
        match self.started {
            None => !self.limit.is_zero(),
            Some((at, _)) => at.elapsed() < self.limit,
        }
    }

    fn deadline(&mut self, cause: Cause) -> Instant {
        let (at, _) = *self.started.get_or_insert((Instant::now(), cause));
        at + self.limit
    }

    /// How long the statement has waited, if it did.
    pub fn waited(&self) -> Option<Duration> {
        self.started.map(|(at, _)| at.elapsed())
    }

    /// Counts how the hold ended (nothing when the statement never waited).
    pub fn end(&self, outcome: &'static str) {
        if let Some((at, cause)) = self.started {
            metrics::counter!("rwsplit_failover_holds_total", "cause" => cause.label(), "outcome" => outcome)
                .increment(1);
            metrics::histogram!("rwsplit_failover_hold_seconds").record(at.elapsed().as_secs_f64());
        }
    }
}

impl Session {
    /// Waits until the topology has a writer a held statement may go to (see
    /// `route::writer_for_hold`), within the hold's deadline. False at once when the
    /// hold is used up (or `hold_ms` is 0), else when none came in time or the session
    /// was killed meanwhile.
    pub(super) async fn wait_for_writer(
        &mut self,
        hold: &mut Hold,
        cause: Cause,
        refusing: Option<BackendId>,
    ) -> bool {
        if !hold.may_hold() {
            return false;
        }
        let deadline = hold.deadline(cause);
        let mut rx = self.shared.topology.subscribe();
        let info = self.registration.info.clone();
        let pause = Duration::from_millis(50 * u64::from(hold.waits.min(10)));
        hold.waits += 1;
        if !pause.is_zero() {
            let until = (Instant::now() + pause).min(deadline);
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => {}
                _ = info.kill_signal.notified() => return false,
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
        let mut left = false;
        tracing::info!(
            session = self.id,
            cause = cause.label(),
            "holding a statement for a writer"
        );
        loop {
            {
                let topo = rx.borrow_and_update();
                if writer_for_hold(&topo, refusing, left) {
                    return true;
                }
                left |= topo.writer != refusing;
            }
            if info.is_killed() {
                return false;
            }
            tokio::select! {
                changed = tokio::time::timeout_at(deadline.into(), rx.changed()) => {
                    if !matches!(changed, Ok(Ok(()))) {
                        return false;
                    }
                }
                _ = info.kill_signal.notified() => return false,
            }
        }
    }
}

/// The client side of a writer's answer: passes it on, except an answer that is nothing
/// but a read-only refusal (1290, 1836: the statement did not run), which is kept so the
/// statement can be held and sent to the next writer. For a statement that may write
/// (`writes`), the global write epoch (consistency = "global") moves before the client
/// sees the end of the answer, so a read the client sends next, on any connection,
/// already knows it must see this write.
pub(super) struct WriterAnswer<'a> {
    pub client: &'a mut ClientConn,
    pub shared: &'a crate::shared::Shared,
    pub writes: bool,
    /// The refusal, when the answer was one.
    pub refusal: Option<Vec<u8>>,
    /// Part of the answer reached the client.
    pub sent: bool,
    /// The digest of what the client was sent (when replay is on: see `replay`).
    pub digest: Option<Digesting>,
    /// The answer asked for a client file (LOAD DATA LOCAL INFILE).
    pub infile: bool,
    ending: bool,
}

impl<'a> WriterAnswer<'a> {
    pub fn new(
        client: &'a mut ClientConn,
        shared: &'a crate::shared::Shared,
        writes: bool,
        digest: bool,
    ) -> Self {
        WriterAnswer {
            client,
            shared,
            writes,
            refusal: None,
            sent: false,
            digest: digest.then(Digesting::new),
            infile: false,
            ending: false,
        }
    }
}

impl Downstream for WriterAnswer<'_> {
    async fn forward(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if !self.sent && self.ending && is_read_only_refusal(bytes) {
            self.refusal = Some(bytes.to_vec());
            return Ok(());
        }
        self.sent = true;
        if let Some(d) = &mut self.digest {
            d.update(bytes);
        }
        self.client.forward(bytes).await
    }

    async fn infile_to(&mut self, sink: &mut BackendStream) -> std::io::Result<()> {
        self.sent = true;
        self.infile = true;
        self.client.infile_to(sink).await
    }

    fn before_end(&mut self) {
        self.ending = true;
        if self.writes {
            self.shared.epochs.note_write();
        }
    }
}
