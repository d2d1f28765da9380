//! What the classifier says about a statement: the value the router reads.

use bitflags::bitflags;

/// The class of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// SELECT, SHOW, DESCRIBE, EXPLAIN SELECT, …: may run on a reader (see the flags).
    Read,
    /// DML and DDL.
    Write,
    /// BEGIN / START TRANSACTION / XA START (see [`Detail::Begin`]).
    Begin,
    /// COMMIT or ROLLBACK of the whole transaction (also XA COMMIT/ROLLBACK).
    End,
    /// SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO: stays with the transaction.
    Savepoint,
    /// A change of session state: SET …, SET NAMES, USE (see [`Detail`]).
    Session,
    /// LOCK TABLES, FLUSH TABLES … WITH READ LOCK, BACKUP LOCK.
    Lock,
    /// UNLOCK TABLES, BACKUP UNLOCK.
    Unlock,
    /// SHOW WARNINGS / ERRORS, GET DIAGNOSTICS: about the previous statement.
    Diagnostics,
    /// Anything else (CALL, DO, HANDLER, XA, PREPARE, KILL, FLUSH, admin statements,
    /// unknown or empty statements): the writer runs it.
    Other,
}

impl Kind {
    /// The metrics label: read, write, tx, session or other.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Read | Kind::Diagnostics => "read",
            Kind::Write => "write",
            Kind::Begin | Kind::End | Kind::Savepoint => "tx",
            Kind::Session => "session",
            Kind::Lock | Kind::Unlock | Kind::Other => "other",
        }
    }
}

bitflags! {
    /// Facts the lexer (and sqlparser) found in a statement.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Flags: u32 {
        /// FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE.
        const LOCKING_READ = 1 << 0;
        /// A function bound to this connection's history or with side effects
        /// (LAST_INSERT_ID, GET_LOCK, NEXT VALUE FOR, …).
        const WRITER_FUNCTION = 1 << 1;
        /// SELECT … INTO (variables, OUTFILE, DUMPFILE).
        const INTO = 1 << 2;
        /// `@v := …`
        const USER_VAR_ASSIGN = 1 << 3;
        /// `@v` is read.
        const USER_VAR_READ = 1 << 4;
        /// More than one statement in one COM_QUERY.
        const MULTI = 1 << 5;
        /// SQL_CALC_FOUND_ROWS.
        const CALC_FOUND_ROWS = 1 << 6;
        /// sqlparser could not parse the statement.
        const PARSE_FAILED = 1 << 7;
        /// A system variable bound to this connection's writes (@@identity, @@last_insert_id, …).
        const WRITER_SYSVAR = 1 << 8;
        /// Reports on the previous statement (ROW_COUNT(), @@warning_count).
        const LAST_STATEMENT = 1 << 9;
        /// INSERT / UPDATE / DELETE / REPLACE appear (WITH … DELETE, a write in a read's shape).
        const WRITE_WORD = 1 << 10;
        /// sqlparser saw a data-changing statement inside a query.
        const WRITES_DATA = 1 << 11;
        /// Sent as a prepared statement (COM_STMT_PREPARE / EXECUTE).
        const PREPARED = 1 << 12;
        /// Calls a function that is neither built in nor listed as read-only (a stored
        /// function may write).
        const UNKNOWN_FUNCTION = 1 << 13;
        /// Reads a table that shows the answering server's own state
        /// (`information_schema.PROCESSLIST`, `performance_schema.*`, …).
        const SERVER_LOCAL = 1 << 14;
        /// LAST_INSERT_ID(), @@identity, @@last_insert_id or @@insert_id.
        const LAST_INSERT_ID = 1 << 15;
        /// GET_LOCK(): a named lock this connection may now hold.
        const GET_LOCK = 1 << 16;
        /// RELEASE_LOCK() or RELEASE_ALL_LOCKS().
        const RELEASE_LOCK = 1 << 17;
        /// A sequence function (NEXTVAL, LASTVAL, SETVAL, NEXT/PREVIOUS VALUE FOR): its
        /// values are this connection's.
        const SEQUENCE = 1 << 18;
        /// INSERT, UPDATE, DELETE or REPLACE (a statement that stays inside a
        /// transaction, unlike DDL, which commits it).
        const DML = 1 << 19;
    }
}

impl Flags {
    /// What a statement of any kind does to its connection's own state.
    pub const CONNECTION_STATE: Flags = Flags::LAST_INSERT_ID
        .union(Flags::GET_LOCK)
        .union(Flags::RELEASE_LOCK)
        .union(Flags::SEQUENCE);

    /// Flags that send a read to the writer.
    pub const NEEDS_WRITER: Flags = Flags::LOCKING_READ
        .union(Flags::WRITER_FUNCTION)
        .union(Flags::INTO)
        .union(Flags::USER_VAR_ASSIGN)
        .union(Flags::CALC_FOUND_ROWS)
        .union(Flags::WRITER_SYSVAR)
        .union(Flags::WRITES_DATA)
        .union(Flags::WRITE_WORD)
        .union(Flags::UNKNOWN_FUNCTION)
        .union(Flags::SERVER_LOCAL);
}

/// A routing hint from a leading comment: `/* rwsplit:writer */`, `/* rwsplit:reader */`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hint {
    Writer,
    Reader,
}

/// What a SET statement does to the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetEffect {
    /// `autocommit` assigned a literal: its new value.
    pub autocommit: Option<bool>,
    /// Text to replay on every other backend connection of the session so it has the
    /// same state; `None` for global or next-transaction-only changes.
    pub replay: Option<SessionCommand>,
    /// False when a reader would compute a different value (NOW(), subqueries,
    /// LAST_INSERT_ID(), unknown functions): the session's reads then stay on the writer.
    pub replayable: bool,
    /// Every assignment is to a user variable (`@x`).
    pub user_vars_only: bool,
    /// A value reads a user variable.
    pub reads_user_vars: bool,
    /// Every value is a literal (no variables, no functions): a later SET of the same
    /// variables makes this one irrelevant.
    pub literal: bool,
    /// `SET TRANSACTION …` without a scope: the connection's next transaction only.
    pub next_transaction: bool,
}

/// A session command kept in the session's history and replayed on other backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCommand {
    /// Variables this command sets (sorted, lower case, comma-joined): a later command
    /// with the same key supersedes it.
    pub key: String,
    pub sql: String,
}

/// XA verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XaVerb {
    Start,
    End,
    Prepare,
    Commit,
    Rollback,
    Recover,
}

/// Kind-specific details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Detail {
    #[default]
    None,
    /// BEGIN / START TRANSACTION.
    Begin { read_only: bool },
    /// A plain COMMIT (or COMMIT WORK: not AND CHAIN, not RELEASE).
    Commit,
    /// USE db.
    Use { db: String },
    /// SET …
    Set(SetEffect),
    /// CREATE TEMPORARY TABLE name.
    CreateTemporary { table: String },
    /// DROP [TEMPORARY] TABLE names.
    DropTables {
        temporary: bool,
        tables: Vec<String>,
    },
    /// XA …
    Xa(XaVerb),
    /// KILL [CONNECTION | QUERY] id
    Kill { id: u64, query_only: bool },
    /// HANDLER name OPEN / READ / CLOSE: `open` is true for OPEN, false for CLOSE, `None`
    /// for the rest (`name`: the alias, when OPEN … AS gives one).
    Handler { name: String, open: Option<bool> },
    /// SQL PREPARE name FROM … (`open`), DEALLOCATE / DROP PREPARE name (not `open`).
    SqlPrepare { name: String, open: bool },
    /// CALL: a stored procedure may change any of its connection's session state.
    Call,
}

/// A classified statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub kind: Kind,
    pub flags: Flags,
    pub detail: Detail,
    pub hint: Option<Hint>,
    /// What a configured rule says (set by the session, which knows user and schema).
    pub rule: Option<Hint>,
    /// Hash of the normalized statement (literals replaced by `?`).
    pub digest: u64,
    /// For a multi-statement query: each statement, in order.
    pub parts: Vec<Statement>,
    /// The variables this statement assigns values rwsplit cannot replay as written
    /// (`SET @a = NOW()`, `SELECT … INTO @a`, `@a := …`, a CALL's `@out` arguments, a SET
    /// sqlparser cannot parse): the session reads them back from the connection that ran
    /// it and replays them as literals. `None`: there is nothing to read back, or the
    /// targets cannot all be named (the session then pins, or keeps its reads on the
    /// writer, as `SessionState` says).
    pub read_back: Option<Vec<Variable>>,
}

/// A variable a session can set and rwsplit can read back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Variable {
    /// A user variable, as written (`@a`, `@'my var'`).
    User(String),
    /// A session system variable (lower case, without `@@session.`).
    System(String),
}

impl Variable {
    /// The name the session history keys it by (as `SetEffect`'s replay keys are).
    pub fn key(&self) -> String {
        match self {
            Variable::User(n) | Variable::System(n) => n.to_ascii_lowercase(),
        }
    }
}

impl Statement {
    pub fn new(kind: Kind) -> Self {
        Statement {
            kind,
            flags: Flags::empty(),
            detail: Detail::None,
            hint: None,
            rule: None,
            digest: 0,
            parts: Vec::new(),
            read_back: None,
        }
    }

    pub fn with_flags(mut self, flags: Flags) -> Self {
        self.flags |= flags;
        self
    }

    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.detail = detail;
        self
    }

    /// A read that nothing forces onto the writer.
    pub fn is_plain_read(&self) -> bool {
        self.kind == Kind::Read
            && !self
                .flags
                .intersects(Flags::NEEDS_WRITER | Flags::MULTI | Flags::PARSE_FAILED)
    }
}
