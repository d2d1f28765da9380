//! Replaying an interrupted transaction (`failover.replay_max_bytes`): while a transaction
//! is open on the writer, the session keeps its statements and a digest (length and
//! xxh3 hash) of every answer the client was sent, never the answers. When the writer
//! connection is lost inside the transaction, or the old writer refuses a statement in it
//! as read-only, `route::recover` says `Replay`: on a new writer connection, brought to
//! the session's state, the statements run again and each answer's digest must equal the
//! recorded one; only then is the interrupted statement sent, and the client never
//! learns of the failover. What the log keeps is `route::log_step`'s decision.

use std::borrow::Cow;
use std::hash::Hasher;

use twox_hash::XxHash3_64;

use super::conns;
use super::prepared::{self, Call};
use super::{Ran, Session};
use crate::backend::{relay_bounded, BackendError, BackendStream, Downstream, RelayError};
use crate::classify::{Detail, Kind};
use crate::protocol::err::is_read_only_refusal;
use crate::protocol::execute::ExecuteLayout;
use crate::protocol::response::Expect;
use crate::route::{log_step, may_have_written, transactional, LogStep, RanOnWriter};
use crate::route::{Served, Unreplayable};

/// What the client received of one answer: its length and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct AnswerDigest {
    len: u64,
    hash: u64,
}

/// Computes an [`AnswerDigest`] over the answer's bytes as they pass, in any chunks.
pub(super) struct Digesting {
    hasher: XxHash3_64,
    len: u64,
}

impl Digesting {
    pub fn new() -> Self {
        Digesting {
            hasher: XxHash3_64::with_seed(0),
            len: 0,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.write(bytes);
        self.len += bytes.len() as u64;
    }

    pub fn finish(&self) -> AnswerDigest {
        AnswerDigest {
            len: self.len,
            hash: self.hasher.finish(),
        }
    }
}

/// A prepared statement's execution, as the client sent it (its long data included).
struct RecordedCall {
    client_id: u32,
    payload: Vec<u8>,
    layout: Option<ExecuteLayout>,
    long_data: Option<Vec<Vec<u8>>>,
}

/// One command of the open transaction.
struct Entry {
    /// The command's packets as the client sent them (not used for an execution).
    raw: Vec<u8>,
    call: Option<RecordedCall>,
    expect: Expect,
    answer: AnswerDigest,
}

impl Entry {
    fn bytes(&self) -> usize {
        let call = self.call.as_ref().map_or(0, |c| {
            c.payload.len() + c.long_data.iter().flatten().map(Vec::len).sum::<usize>()
        });
        self.raw.len() + call + 64
    }
}

/// Whether the log holds the whole open transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// No transaction began since the log was last cleared (or its start was not seen).
    #[default]
    Idle,
    /// Every statement since the transaction began is in the log.
    Recording,
    /// The open transaction cannot be replayed, until it ends.
    Spoiled(Unreplayable),
}

/// The open transaction's log.
pub(super) struct TxLog {
    entries: Vec<Entry>,
    /// SET TRANSACTION statements for the next transaction, which starts with them.
    prelude: Vec<Entry>,
    bytes: usize,
    mode: Mode,
    /// The last writer answer: its digest, and whether it read a client file. Set by
    /// the relay, taken by [`Session::note_for_replay`].
    last: Option<(AnswerDigest, bool)>,
    /// Whether the open transaction wrote (or may have): `None` when not known.
    wrote: Option<bool>,
}

impl Default for TxLog {
    fn default() -> Self {
        TxLog {
            entries: Vec::new(),
            prelude: Vec::new(),
            bytes: 0,
            mode: Mode::Idle,
            last: None,
            wrote: Some(false),
        }
    }
}

impl TxLog {
    /// True when the open transaction wrote, or may have (or it is not known).
    pub fn wrote(&self) -> bool {
        self.wrote.unwrap_or(true)
    }

    /// Follows whether the open transaction wrote, after each writer statement.
    fn note_wrote(&mut self, open_before: bool, open_after: bool, begins: bool, wrote: bool) {
        self.wrote = match (open_before && !begins, open_after) {
            (_, false) => Some(false),
            (false, true) => Some(wrote),
            (true, true) => self.wrote.map(|w| w || wrote),
        };
    }

    /// Bytes held (counted against `server.max_session_memory`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Why the open transaction cannot be replayed, if it cannot.
    pub fn unreplayable(&self) -> Option<Unreplayable> {
        match self.mode {
            Mode::Idle => Some(Unreplayable::Unrecorded),
            Mode::Recording => None,
            Mode::Spoiled(why) => Some(why),
        }
    }

    /// The writer answered the command being run.
    pub fn answered(&mut self, digest: AnswerDigest, local_infile: bool) {
        self.last = Some((digest, local_infile));
    }

    /// The transaction is over (or lost): nothing is kept of it.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.prelude.clear();
        self.bytes = 0;
        self.mode = Mode::Idle;
        self.wrote = Some(false);
    }

    fn start(&mut self) {
        self.entries = std::mem::take(&mut self.prelude);
        self.bytes = self.entries.iter().map(Entry::bytes).sum();
        self.mode = Mode::Recording;
    }

    /// Appends while recording, unless the log would pass `room` bytes.
    fn push(&mut self, e: Entry, room: usize) {
        if self.mode != Mode::Recording {
            return;
        }
        if self.bytes + e.bytes() > room {
            self.spoil(Unreplayable::TooLarge);
            return;
        }
        self.bytes += e.bytes();
        self.entries.push(e);
    }

    /// The open transaction cannot be replayed (it stays so until it ends).
    pub fn spoil(&mut self, why: Unreplayable) {
        self.entries.clear();
        self.prelude.clear();
        self.bytes = 0;
        self.mode = Mode::Spoiled(why);
    }
}

/// Why a replay did not bring the transaction back.
pub(super) enum ReplayFailure {
    /// The new writer connection broke.
    Lost(BackendError),
    /// The new writer refused a statement as read-only.
    ReadOnly,
    /// Statement `n` (from 1) of the transaction answered differently, or could not be
    /// sent again (its prepared statement was closed).
    Diverged(usize),
    /// The log does not hold the whole transaction.
    Unreplayable(Unreplayable),
}

impl Session {
    /// Whether answers from the writer are digested (replay is on).
    pub(super) fn digests_answers(&self) -> bool {
        self.live.config.failover.replay_max_bytes > 0
    }

    /// Why the session's open transaction cannot be replayed, if it cannot.
    pub(super) fn unreplayable(&self) -> Option<Unreplayable> {
        match self.digests_answers() {
            true => self.txlog.unreplayable(),
            false => Some(Unreplayable::Off),
        }
    }

    /// After a statement ran (`ran`; `call` for an execution): keeps it in, or clears,
    /// the transaction log. `open_before`: a transaction had begun before it.
    pub(super) fn note_for_replay(
        &mut self,
        ran: &Ran<'_>,
        call: Option<&Call<'_>>,
        open_before: bool,
    ) {
        let last = self.txlog.last.take();
        if ran.served != Served::Writer {
            return;
        }
        let st = ran.st;
        let begins = st.kind == Kind::Begin && st.parts.is_empty();
        let open_after = self.state.transaction_begun();
        self.txlog
            .note_wrote(open_before, open_after, begins, may_have_written(st));
        let Some((answer, local_infile)) = last else {
            return;
        };
        let sets_next_transaction = matches!(&st.detail, Detail::Set(e) if e.next_transaction);
        let step = log_step(RanOnWriter {
            open_before,
            open_after,
            failed: ran.summary.error.is_some(),
            transactional: transactional(st),
            begins,
            sets_next_transaction,
            xa: matches!(st.detail, Detail::Xa(_)) || self.state.xa_active,
            local_infile,
        });
        let max = self.live.config.failover.replay_max_bytes;
        let entry = || Entry {
            raw: match call {
                Some(_) => Vec::new(),
                None => ran.msg.raw.to_vec(),
            },
            call: call.map(|c| self.recorded_call(c)),
            expect: ran.expect,
            answer,
        };
        let room = self
            .live
            .config
            .server
            .max_session_memory
            .saturating_sub(self.prepared.bytes() + self.history.bytes())
            .min(max);
        match step {
            LogStep::Clear => self.txlog.clear(),
            LogStep::Start => {
                let e = entry();
                self.txlog.start();
                self.txlog.push(e, room);
            }
            LogStep::Push => {
                let e = entry();
                self.txlog.push(e, room);
            }
            LogStep::Prelude => {
                let e = entry();
                let fits = self.txlog.prelude.iter().map(Entry::bytes).sum::<usize>() + e.bytes();
                if fits <= room {
                    self.txlog.prelude.push(e);
                }
            }
            LogStep::Spoil(why) => self.txlog.spoil(why),
        }
    }

    fn recorded_call(&self, c: &Call<'_>) -> RecordedCall {
        let long_data = c.with_long_data.then(|| {
            self.prepared
                .map
                .get(&c.client_id)
                .map(|p| p.long_data.clone())
                .unwrap_or_default()
        });
        RecordedCall {
            client_id: c.client_id,
            payload: c.payload.to_vec(),
            layout: c.layout,
            long_data,
        }
    }

    /// Runs the logged transaction on the session's (new) writer connection, comparing
    /// every answer with the one the client was sent. Nothing reaches the client.
    pub(super) async fn replay_transaction(&mut self) -> Result<(), ReplayFailure> {
        if let Some(why) = self.unreplayable() {
            return Err(ReplayFailure::Unreplayable(why));
        }
        let Some(conn) = self.conns.open_writer() else {
            return Err(ReplayFailure::Lost(BackendError::NoWriter));
        };
        for (i, e) in self.txlog.entries.iter().enumerate() {
            let bytes = match &e.call {
                None => Cow::Borrowed(e.raw.as_slice()),
                Some(c) => {
                    let call = Call {
                        client_id: c.client_id,
                        payload: Cow::Borrowed(&c.payload),
                        layout: c.layout,
                        with_long_data: c.long_data.is_some(),
                        long_data: c.long_data.as_deref(),
                    };
                    match prepared::packets_for(conn, &self.prepared, &call).await {
                        Ok(b) => Cow::Owned(b.to_vec()),
                        Err(e) if e.is_unreachable() => return Err(ReplayFailure::Lost(e)),
                        Err(_) => return Err(ReplayFailure::Diverged(i + 1)),
                    }
                }
            };
            conn.send(&bytes).await.map_err(ReplayFailure::Lost)?;
            let mut sink = ReplaySink::default();
            let mut forwarded = false;
            let killer = conns::killer(&self.login, &self.live);
            match relay_bounded(conn, &mut sink, e.expect, &mut forwarded, killer).await {
                Ok(_) if sink.refusal => return Err(ReplayFailure::ReadOnly),
                Ok(_) if sink.digest.finish() == e.answer => {}
                Ok(_) | Err(RelayError::Client(_)) => return Err(ReplayFailure::Diverged(i + 1)),
                Err(RelayError::Backend(e)) => return Err(ReplayFailure::Lost(e)),
            }
        }
        Ok(())
    }
}

/// Where a replayed answer goes: into its digest, and nowhere else.
struct ReplaySink {
    digest: Digesting,
    /// The answer was nothing but a read-only refusal.
    refusal: bool,
    ending: bool,
}

impl Default for ReplaySink {
    fn default() -> Self {
        ReplaySink {
            digest: Digesting::new(),
            refusal: false,
            ending: false,
        }
    }
}

impl Downstream for ReplaySink {
    async fn forward(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.digest.len == 0 && self.ending && is_read_only_refusal(bytes) {
            self.refusal = true;
        }
        self.digest.update(bytes);
        Ok(())
    }

    async fn infile_to(&mut self, _sink: &mut BackendStream) -> std::io::Result<()> {
        // Never logged (route::log_step): a client file cannot be read again.
        Err(std::io::Error::other("LOAD DATA LOCAL INFILE in a replay"))
    }

    fn before_end(&mut self) {
        self.ending = true;
    }
}
