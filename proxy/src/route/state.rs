//! What the router must know about a client session, and how each statement changes it.
//! Pure. It changes only through its own methods: [`SessionState::after`] a statement with
//! what the server answered, [`SessionState::after_writer_command`],
//! [`SessionState::end_reader_transaction`], [`SessionState::keep_reads_on_writer`],
//! [`SessionState::read_back_failed`], and
//! [`SessionState::new`] on login, reset, COM_CHANGE_USER or a lost writer.

use std::collections::BTreeSet;

use crate::classify::{Detail, Flags, Kind, SetEffect, Statement, Variable, XaVerb};

use super::topology::BackendId;

/// Server status flags (from OK and EOF packets) the router cares about.
pub mod status {
    pub const IN_TRANS: u16 = 0x0001;
    pub const AUTOCOMMIT: u16 = 0x0002;
    pub const IN_TRANS_READONLY: u16 = 0x2000;
}

/// Where a statement ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Served {
    Writer,
    Reader(BackendId),
}

/// What came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The statement (every statement of a multi-statement query) succeeded.
    pub ok: bool,
    /// Status flags of the last OK/EOF packet, if there was one.
    pub status: Option<u16>,
}

/// The router-visible state of one client session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    /// autocommit, as the server last reported it.
    pub autocommit: bool,
    /// A transaction is open, as the server that holds it last reported.
    pub in_transaction: bool,
    /// The backend holding the open (or just begun) transaction.
    pub tx_backend: Option<Served>,
    /// LOCK TABLES / FLUSH TABLES WITH READ LOCK in effect.
    pub locked_tables: bool,
    /// An XA transaction is active (XA START … XA COMMIT/ROLLBACK).
    pub xa_active: bool,
    /// Temporary tables this session created (names).
    pub temp_tables: BTreeSet<String>,
    /// User variables hold values a reader could not reproduce (SELECT … INTO @v,
    /// `@v := …`, `SET @v = NOW()`): reads that use user variables stay on the writer.
    pub user_vars_on_writer: bool,
    /// Session state a reader could not reproduce: all reads stay on the writer.
    pub reads_on_writer: bool,
    /// Where the previous statement ran (for SHOW WARNINGS and the like).
    pub last: Option<Served>,
    /// GET_LOCK calls not yet matched by a RELEASE_LOCK (a named lock may be held).
    pub named_locks: u32,
    /// Open HANDLERs (names, lower case).
    pub handlers: BTreeSet<String>,
    /// SQL prepared statements (PREPARE name FROM …; names, lower case).
    pub sql_prepared: BTreeSet<String>,
    /// SET TRANSACTION (no scope) ran: the writer connection's next transaction is set.
    pub next_transaction: bool,
    /// A sequence function ran: its values belong to the writer connection.
    pub sequences: bool,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            autocommit: true,
            in_transaction: false,
            tx_backend: None,
            locked_tables: false,
            xa_active: false,
            temp_tables: BTreeSet::new(),
            user_vars_on_writer: false,
            reads_on_writer: false,
            last: None,
            named_locks: 0,
            handlers: BTreeSet::new(),
            sql_prepared: BTreeSet::new(),
            next_transaction: false,
            sequences: false,
        }
    }
}

impl SessionState {
    /// A fresh state, as after login or COM_RESET_CONNECTION / COM_CHANGE_USER.
    pub fn new(server_status: u16) -> Self {
        SessionState {
            autocommit: server_status & status::AUTOCOMMIT != 0,
            ..Default::default()
        }
    }

    /// A command other than a statement (COM_INIT_DB, COM_SET_OPTION, …) ran on the
    /// writer and the server reported `server_status`.
    pub fn after_writer_command(&mut self, server_status: Option<u16>) {
        self.last = Some(Served::Writer);
        if let Some(st) = server_status {
            self.in_transaction = st & status::IN_TRANS != 0;
            self.autocommit = st & status::AUTOCOMMIT != 0;
        }
    }

    /// The read-only transaction held by a reader was committed there (a BEGIN inside it
    /// commits it, as a server does implicitly).
    pub fn end_reader_transaction(&mut self) {
        self.tx_backend = None;
        self.in_transaction = false;
    }

    /// The session's history no longer fits: its other connections cannot be brought to
    /// its state, so its reads stay on the writer from now on.
    pub fn keep_reads_on_writer(&mut self) {
        self.reads_on_writer = true;
    }

    /// Reading back the variables a statement assigned failed: what they hold is the
    /// connection's alone, as when they cannot be read back.
    pub fn read_back_failed(&mut self, vars: &[Variable]) {
        for v in vars {
            match v {
                Variable::User(_) => self.user_vars_on_writer = true,
                Variable::System(_) => self.reads_on_writer = true,
            }
        }
    }

    /// True while statements must stay on one backend for transactional reasons.
    pub fn in_transaction_scope(&self) -> bool {
        self.in_transaction || self.tx_backend.is_some() || !self.autocommit || self.xa_active
    }

    /// True when a transaction has begun on the connection (the server said IN_TRANS,
    /// or an XA transaction is active): its work lives only there, and is lost with it.
    pub fn transaction_begun(&self) -> bool {
        self.in_transaction || self.xa_active
    }

    /// Updates the state after `st` ran on `served` with `outcome`.
    pub fn after(&mut self, st: &Statement, served: Served, outcome: Outcome) {
        self.last = Some(served);
        if served == Served::Writer {
            // The transaction SET TRANSACTION set up has begun (and this one may set up
            // the next, below).
            self.next_transaction = false;
        }
        if st.parts.is_empty() {
            self.apply(st, served, outcome.ok);
        } else {
            for part in &st.parts {
                self.apply(part, served, outcome.ok);
            }
        }
        if let Some(s) = outcome.status {
            let in_trans = s & status::IN_TRANS != 0;
            let from_tx_holder = match self.tx_backend {
                Some(holder) => holder == served,
                None => served == Served::Writer,
            };
            if from_tx_holder {
                self.in_transaction = in_trans;
                if served == Served::Writer {
                    self.autocommit = s & status::AUTOCOMMIT != 0;
                }
                if !in_trans && st.kind != Kind::Begin {
                    self.tx_backend = None;
                }
            }
        }
    }

    fn apply(&mut self, st: &Statement, served: Served, ok: bool) {
        // Values a reader cannot reproduce, even if the statement failed half way;
        // unless the session reads them back from the connection (`read_back`).
        if st.flags.intersects(Flags::USER_VAR_ASSIGN | Flags::INTO)
            && st.flags.contains(Flags::USER_VAR_READ)
            && st.read_back.is_none()
        {
            self.user_vars_on_writer = true;
        }
        if st.flags.contains(Flags::SEQUENCE) {
            self.sequences = true;
        }
        if st.flags.contains(Flags::GET_LOCK) {
            // Even when it failed: whether it took the lock is not known here.
            self.named_locks += 1;
        }
        if !ok {
            if st.kind == Kind::Begin {
                self.tx_backend = None;
            }
            return;
        }
        if st.flags.contains(Flags::RELEASE_LOCK) {
            self.named_locks = self.named_locks.saturating_sub(1);
        }
        match (&st.kind, &st.detail) {
            (Kind::Begin, Detail::Xa(XaVerb::Start)) => {
                self.xa_active = true;
                self.tx_backend = Some(served);
                self.in_transaction = true;
            }
            (Kind::Begin, _) => {
                self.tx_backend = Some(served);
                self.in_transaction = true;
            }
            (Kind::End, Detail::Xa(_)) => {
                self.xa_active = false;
                self.in_transaction = false;
                self.tx_backend = None;
            }
            (Kind::End, _) => {
                self.in_transaction = false;
                self.tx_backend = None;
            }
            (Kind::Lock, _) => self.locked_tables = true,
            (Kind::Unlock, _) => self.locked_tables = false,
            (_, Detail::CreateTemporary { table }) => {
                self.temp_tables.insert(table.clone());
            }
            (_, Detail::DropTables { tables, .. }) => {
                for t in tables {
                    self.temp_tables.remove(t);
                }
            }
            (_, Detail::Set(effect)) => self.after_set(effect, st.read_back.is_some()),
            (_, Detail::Handler { name, open }) => match open {
                Some(true) => {
                    self.handlers.insert(name.clone());
                }
                Some(false) => {
                    self.handlers.remove(name);
                }
                None => {}
            },
            (_, Detail::SqlPrepare { name, open: true }) => {
                self.sql_prepared.insert(name.clone());
            }
            (_, Detail::SqlPrepare { name, open: false }) => {
                self.sql_prepared.remove(name);
            }
            _ => {}
        }
    }

    /// A SET that succeeded: autocommit, and what a reader can no longer reproduce
    /// (nothing when its targets are read back: `read_back`).
    fn after_set(&mut self, effect: &SetEffect, read_back: bool) {
        if let Some(ac) = effect.autocommit {
            self.autocommit = ac;
        }
        if effect.next_transaction {
            self.next_transaction = true;
        }
        let unreproducible = effect.replay.is_some()
            && (!effect.replayable
                // A variable computed from one a reader does not have.
                || (effect.reads_user_vars && self.user_vars_on_writer));
        if unreproducible && !read_back {
            if effect.user_vars_only {
                self.user_vars_on_writer = true;
            } else {
                self.reads_on_writer = true;
            }
        }
    }
}
