//! The session command history: what a session changed (SET …, COM_SET_OPTION), in order,
//! so that a backend connection opened or reused later can be brought to the same state
//! by replaying only what it lacks.

/// A recorded session command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Replay {
    /// An SQL statement (SET …, SET NAMES …).
    Query(String),
    /// COM_SET_OPTION (multi-statements on or off).
    SetOption(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the history; a connection that applied entry N has all before it.
    pub seq: u64,
    /// What the command sets; a newer entry with the same key replaces it (see `push`).
    pub key: String,
    /// The value does not depend on other variables: replacing older entries is safe.
    pub literal: bool,
    pub cmd: Replay,
}

/// The history of one session.
#[derive(Debug, Clone, Default)]
pub struct History {
    entries: Vec<Entry>,
    /// Bytes of the recorded commands' text.
    bytes: usize,
    last_seq: u64,
    overflowed: bool,
    /// A hash of the commands kept, in order (0 when there are none).
    fingerprint: u64,
}

impl History {
    /// Records a command that succeeded on the writer. Returns its sequence number, or
    /// `None` if the history is full: `max` entries, or `max_bytes` of text (the session's
    /// reads must then stay on the writer).
    pub fn push(
        &mut self,
        key: &str,
        literal: bool,
        cmd: Replay,
        max: usize,
        max_bytes: usize,
    ) -> Option<u64> {
        // A newer literal value of the same variables replaces the older entry, provided
        // nothing recorded after it could have read it.
        if literal && !key.is_empty() {
            if let Some(pos) = self.entries.iter().rposition(|e| e.key == key) {
                if self.entries[pos + 1..].iter().all(|e| e.literal) {
                    let old = self.entries.remove(pos);
                    self.bytes -= entry_bytes(&old.key, &old.cmd);
                }
            }
        }
        let size = entry_bytes(key, &cmd);
        if self.entries.len() >= max || self.bytes + size > max_bytes {
            self.overflowed = true;
            self.fingerprint = fingerprint(&self.entries);
            return None;
        }
        self.last_seq += 1;
        self.bytes += size;
        self.entries.push(Entry {
            seq: self.last_seq,
            key: key.to_string(),
            literal,
            cmd,
        });
        self.fingerprint = fingerprint(&self.entries);
        Some(self.last_seq)
    }

    /// Entries a connection that applied up to `applied` still needs.
    pub fn since(&self, applied: u64) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.seq > applied)
    }

    /// What a connection that applied every command is left holding, as one number:
    /// equal for equal command lists, 0 for none, never `UNKNOWN_STATE`. A pooled
    /// connection carries it ([`crate::backend::BackendConn::tag`]) so that the next
    /// session in the same state needs no replay.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The newest sequence number.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// True when commands were dropped for lack of room.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Bytes the history holds (its commands' text and keys).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets everything (COM_RESET_CONNECTION, COM_CHANGE_USER). Sequence numbers keep
    /// growing so connections' positions stay comparable.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.overflowed = false;
        self.fingerprint = 0;
    }
}

fn fingerprint(entries: &[Entry]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    if entries.is_empty() {
        return 0;
    }
    let mut h = DefaultHasher::new();
    for e in entries {
        e.cmd.hash(&mut h);
    }
    // 0 and UNKNOWN_STATE mean something else.
    h.finish().clamp(1, crate::backend::UNKNOWN_STATE - 1)
}

fn entry_bytes(key: &str, cmd: &Replay) -> usize {
    let text = match cmd {
        Replay::Query(q) => q.len(),
        Replay::SetOption(_) => 2,
    };
    key.len() + text + std::mem::size_of::<Entry>()
}
