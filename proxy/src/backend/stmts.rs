//! The prepared statements of one backend connection ([`StmtCache`]). A statement is
//! known by the id the client gave it while the connection belongs to one session, and
//! by its text and default database once the connection is shared (transaction pooling):
//! then any session that runs the same text in the same database uses it, and the least
//! recently used is closed past a bound.

use std::collections::HashMap;
use std::sync::Arc;

/// How a connection knows one of its statements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StmtKey {
    /// The id a session's client knows it by (the connection serves that session only,
    /// or the statement has a cursor open that another of the same text must not close).
    Client(u32),
    /// Its text and the default database it was prepared in (which its unqualified
    /// names keep referring to): shared by every session that borrows the connection.
    Text {
        sql: Arc<[u8]>,
        db: Option<Arc<str>>,
    },
}

/// A statement prepared on one backend connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendStmt {
    /// The backend's statement id.
    pub id: u32,
    /// Parameter types were sent to this backend for this client statement (it
    /// remembers them). Never set for a statement shared by text: another session may
    /// have bound other types, so each execution sends its own.
    pub types_sent: bool,
    /// MARIADB_CLIENT_CACHE_METADATA: the fingerprint of the column definitions this
    /// connection last sent for it (at its prepare, or an execution that sent them),
    /// which its server leaves out of an execution's answer while they are unchanged
    /// (0 without the capability).
    pub meta: u64,
    /// When it was last used (the cache's clock).
    used: u64,
}

impl BackendStmt {
    pub fn new(id: u32, meta: u64) -> Self {
        BackendStmt {
            id,
            types_sent: false,
            meta,
            used: 0,
        }
    }
}

/// The statements prepared on one connection.
#[derive(Debug, Default)]
pub struct StmtCache {
    map: HashMap<StmtKey, BackendStmt>,
    clock: u64,
}

impl StmtCache {
    /// The statement known by `key`, marked as just used.
    pub fn get(&mut self, key: &StmtKey) -> Option<BackendStmt> {
        self.clock += 1;
        let clock = self.clock;
        self.map.get_mut(key).map(|s| {
            s.used = clock;
            *s
        })
    }

    /// The statement known by `key`, as it is.
    pub fn peek(&self, key: &StmtKey) -> Option<BackendStmt> {
        self.map.get(key).copied()
    }

    /// Keeps a statement just prepared. Returns the backend id of one it no longer
    /// knows, to be closed: the one `key` named before, or, past `max` statements shared
    /// by text, the least recently used of those.
    pub fn insert(&mut self, key: StmtKey, stmt: BackendStmt, max: usize) -> Option<u32> {
        self.clock += 1;
        let shared = matches!(key, StmtKey::Text { .. });
        let stmt = BackendStmt {
            used: self.clock,
            ..stmt
        };
        if let Some(old) = self.map.insert(key, stmt) {
            if old.id != stmt.id {
                return Some(old.id);
            }
        }
        if !shared {
            return None;
        }
        let texts = self
            .map
            .keys()
            .filter(|k| matches!(k, StmtKey::Text { .. }))
            .count();
        if texts <= max.max(1) {
            return None;
        }
        let oldest = self
            .map
            .iter()
            .filter(|(k, _)| matches!(k, StmtKey::Text { .. }))
            .min_by_key(|(_, s)| s.used)
            .map(|(k, _)| k.clone())?;
        self.map.remove(&oldest).map(|s| s.id)
    }

    /// Notes that this client statement's parameter types were sent.
    pub fn types_sent(&mut self, key: &StmtKey) {
        if let (StmtKey::Client(_), Some(s)) = (key, self.map.get_mut(key)) {
            s.types_sent = true;
        }
    }

    /// Notes the column definitions the connection sent with an execution's answer.
    pub fn sent_meta(&mut self, key: &StmtKey, meta: u64) {
        if let Some(s) = self.map.get_mut(key) {
            s.meta = meta;
        }
    }

    pub fn remove(&mut self, key: &StmtKey) -> Option<BackendStmt> {
        self.map.remove(key)
    }

    /// Forgets everything (the server closed them: COM_RESET_CONNECTION, COM_CHANGE_USER).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
