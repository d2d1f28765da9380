//! Statement classification: a lexer pass decides the hot path; sqlparser checks every
//! read shape once (cached by digest) and parses SET statements for session tracking.
//!
//! The README ("What goes where") lists what goes where; `benches/` measures the cost
//! of each path.

pub mod builtins;
pub mod functions;
pub mod lexer;
pub mod normalize;
mod parse;
pub mod readback;
pub mod rules;
pub mod scan;
mod set;
pub mod statement;

use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;

pub use parse::{check_read, ReadCheck};
use scan::{scan, Scan};
pub use statement::{
    Detail, Flags, Hint, Kind, SessionCommand, SetEffect, Statement, Variable, XaVerb,
};

use functions::{contains, SHOW_WRITER_WORDS, WRITE_WORDS};
use lexer::{Lexer, TokenKind};

/// Classifies statements; holds the per-shape cache of sqlparser verdicts.
pub struct Classifier {
    cache: Cache<u64, ReadCheck>,
    parse_failures: AtomicU64,
    parses: AtomicU64,
    /// Stored functions a SELECT may call on a reader (upper case).
    read_only_functions: Vec<String>,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::new(16_384)
    }
}

impl Classifier {
    /// A classifier remembering the verdicts of up to `capacity` statement shapes.
    pub fn new(capacity: usize) -> Self {
        Classifier::with_functions(capacity, &[])
    }

    /// A classifier that lets SELECTs calling `read_only_functions` (`NAME` or
    /// `SCHEMA.NAME`) go to readers.
    pub fn with_functions(capacity: usize, read_only_functions: &[String]) -> Self {
        Classifier {
            cache: Cache::new(capacity.max(16)),
            parse_failures: AtomicU64::new(0),
            parses: AtomicU64::new(0),
            read_only_functions: read_only_functions
                .iter()
                .map(|f| f.to_ascii_uppercase())
                .collect(),
        }
    }

    /// Statements sqlparser could not parse (each shape counted once, SETs every time).
    pub fn parse_failures(&self) -> u64 {
        self.parse_failures.load(Ordering::Relaxed)
    }

    /// Statements parsed by sqlparser so far.
    pub fn parses(&self) -> u64 {
        self.parses.load(Ordering::Relaxed)
    }

    /// Classifies the text of one COM_QUERY (or COM_STMT_PREPARE).
    pub fn classify(&self, sql: &[u8]) -> Statement {
        let s = scan(sql);
        let Some(next) = s.next_statement else {
            let mut st = self.classify_one(sql, &s);
            st.hint = hint(sql, &s);
            return st;
        };
        // Compound statements (stored program bodies) contain `;` but are one statement.
        if is_compound(sql, &s) {
            let mut st = Statement::new(Kind::Write).with_flags(s.flags - Flags::MULTI);
            st.digest = s.digest;
            st.hint = hint(sql, &s);
            return st;
        }
        let mut parts = Vec::new();
        let mut rest = &sql[next..];
        let head = &sql[..next];
        parts.push(self.classify_one(head, &scan(head)));
        while parts.len() < 1024 {
            let sc = scan(rest);
            match sc.next_statement {
                Some(n) => {
                    let (head, tail) = rest.split_at(n.min(rest.len()));
                    parts.push(self.classify_one(head, &scan(head)));
                    rest = tail;
                }
                None => {
                    if sc.tokens > 0 {
                        parts.push(self.classify_one(rest, &sc));
                    }
                    break;
                }
            }
        }
        combine(parts, hint(sql, &s))
    }

    fn classify_one(&self, src: &[u8], s: &Scan) -> Statement {
        let Some(first) = s.token(0) else {
            // Empty statement (only comments): the server answers it.
            return Statement::new(Kind::Other);
        };
        let mut st = self.decide(src, s, first.kind);
        st.digest = s.digest;
        if matches!(st.kind, Kind::Write | Kind::Other) {
            // `UPDATE … SET c = (@v := …)`, `DO @v := …`: for the session state.
            st.flags |= s.flags & (Flags::USER_VAR_ASSIGN | Flags::USER_VAR_READ);
        }
        // User variables assigned by a statement of any kind (`@v := …`, `INTO @v`):
        // read back after it ran, so they follow the session.
        if st.kind != Kind::Session
            && st.read_back.is_none()
            && s.flags.intersects(Flags::USER_VAR_ASSIGN | Flags::INTO)
        {
            st.read_back = Some(readback::assigned_user_vars(src));
        }
        // Whatever its kind, what it does to its connection's own state (transaction
        // pooling restores or pins on it).
        st.flags |= s.flags & (Flags::MULTI | Flags::CONNECTION_STATE);
        if s.unterminated {
            st.flags |= Flags::PARSE_FAILED;
        }
        st
    }

    /// Checks a read with sqlparser, once per shape.
    fn checked_read(&self, src: &[u8], s: &Scan) -> Statement {
        let check = match self.cache.get(&s.digest) {
            Some(c) => c,
            None => {
                let c = check_read(src, &self.read_only_functions);
                self.parses.fetch_add(1, Ordering::Relaxed);
                if c.flags.contains(Flags::PARSE_FAILED) {
                    self.parse_failures.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("rwsplit_parse_failures_total").increment(1);
                }
                self.cache.insert(s.digest, c);
                c
            }
        };
        let mut flags = s.flags | check.flags;
        // A read's own INSERT/UPDATE/DELETE words: only a WITH … DELETE style statement
        // writes; sqlparser tells (WRITES_DATA). An unparsable one goes to the writer anyway.
        if !check.flags.contains(Flags::PARSE_FAILED) {
            flags -= Flags::WRITE_WORD;
        }
        Statement::new(Kind::Read).with_flags(flags & !Flags::MULTI)
    }

    fn decide(&self, src: &[u8], s: &Scan, first_kind: TokenKind) -> Statement {
        let w0 = match first_kind {
            TokenKind::Word => s.word(src, 0).unwrap_or_default(),
            TokenKind::Punct(b'(') => {
                // `(SELECT …) UNION …`
                return self.checked_read(src, s);
            }
            _ => return Statement::new(Kind::Other),
        };
        let up = w0.to_ascii_uppercase();
        let w = up.as_slice();
        if let Some(st) = transaction_control(src, s, w).or_else(|| lock_control(src, s, w)) {
            return st;
        }
        match w {
            b"SELECT" | b"WITH" | b"VALUES" | b"TABLE" => self.checked_read(src, s),
            b"SHOW" => show(src, s),
            b"DESCRIBE" | b"DESC" | b"EXPLAIN" => self.explain(src, s),
            b"ANALYZE" => self.analyze(src, s),
            b"HELP" => Statement::new(Kind::Read),
            b"SET" => self.set(src, s),
            b"USE" => match s.token(1) {
                Some(t) if matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent) => {
                    Statement::new(Kind::Session).with_detail(Detail::Use {
                        db: ident(t.text(src)),
                    })
                }
                _ => Statement::new(Kind::Other),
            },
            b"XA" => xa(src, s),
            b"HANDLER" => handler(src),
            b"PREPARE" => sql_prepare(src, 1, true),
            b"DEALLOCATE" if s.is(src, 1, "PREPARE") => sql_prepare(src, 2, false),
            b"DROP" if s.is(src, 1, "PREPARE") => sql_prepare(src, 2, false),
            b"GET" => {
                if s.is(src, 1, "DIAGNOSTICS")
                    || (s.is(src, 2, "DIAGNOSTICS")
                        && (s.is(src, 1, "CURRENT") || s.is(src, 1, "STACKED")))
                {
                    Statement::new(Kind::Diagnostics)
                } else {
                    Statement::new(Kind::Other)
                }
            }
            b"KILL" => kill(src),
            b"CALL" => {
                // A procedure may set its OUT arguments' user variables (read back), and
                // anything else of its connection's state (reset before another session
                // uses that connection).
                let mut st = Statement::new(Kind::Other).with_detail(Detail::Call);
                st.read_back = Some(readback::call_user_vars(src));
                st
            }
            b"CREATE" => create(src, s),
            b"DROP" => drop(src, s),
            b"INSERT" | b"UPDATE" | b"DELETE" | b"REPLACE" => {
                Statement::new(Kind::Write).with_flags(Flags::DML)
            }
            w if contains(WRITE_WORDS, w) => Statement::new(Kind::Write),
            _ => Statement::new(Kind::Other),
        }
    }

    fn set(&self, src: &[u8], s: &Scan) -> Statement {
        if s.is(src, 1, "STATEMENT") {
            // SET STATEMENT var=value[, …] FOR <statement>: routed as its statement.
            if let Some(inner) = after_top_level_word(src, "FOR") {
                let inner_src = &src[inner..];
                let mut st = self.classify_one(inner_src, &scan(inner_src));
                st.detail = Detail::None;
                return st;
            }
            return Statement::new(Kind::Other);
        }
        let r = set::analyze(src, s);
        if r.flags.contains(Flags::PARSE_FAILED) {
            self.parse_failures.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("rwsplit_parse_failures_total").increment(1);
        }
        self.parses.fetch_add(1, Ordering::Relaxed);
        let mut st = Statement::new(r.kind)
            .with_flags(r.flags)
            .with_detail(r.detail);
        st.read_back = r.read_back;
        st
    }

    /// EXPLAIN / DESCRIBE: of a query, a read; of a table, a read; of a write (or
    /// `EXPLAIN ANALYZE` of one, which runs it), the writer; FOR CONNECTION, the writer.
    fn explain(&self, src: &[u8], s: &Scan) -> Statement {
        let mut i = 1;
        let mut analyze = false;
        loop {
            match s.word(src, i).map(|w| w.to_ascii_uppercase()) {
                Some(w) if w == b"EXTENDED" || w == b"PARTITIONS" || w == b"ANALYZE" => {
                    analyze |= w == b"ANALYZE";
                    i += 1;
                }
                Some(w) if w == b"FORMAT" => {
                    // FORMAT = JSON
                    i += 3;
                }
                _ => break,
            }
            if i >= scan::LEAD {
                break;
            }
        }
        let Some(tok) = s.token(i) else {
            return Statement::new(Kind::Read);
        };
        if tok.kind == TokenKind::Word {
            let w = tok.text(src).to_ascii_uppercase();
            match w.as_slice() {
                b"SELECT" | b"WITH" | b"TABLE" | b"VALUES" => {
                    let inner = &src[tok.start..];
                    let st = self.checked_read(inner, &scan(inner));
                    return if analyze {
                        st
                    } else {
                        Statement::new(Kind::Read).with_flags(st.flags & Flags::PARSE_FAILED)
                    };
                }
                b"FOR" => return Statement::new(Kind::Other),
                x if contains(WRITE_WORDS, x) => return Statement::new(Kind::Write),
                _ => {}
            }
        } else if tok.kind == TokenKind::Punct(b'(') {
            return Statement::new(Kind::Read);
        }
        // DESCRIBE table [column]
        Statement::new(Kind::Read)
    }

    /// MariaDB's ANALYZE runs the statement: ANALYZE SELECT is a read; ANALYZE TABLE and
    /// ANALYZE of a write go to the writer.
    fn analyze(&self, src: &[u8], s: &Scan) -> Statement {
        let mut i = 1;
        if s.is(src, 1, "FORMAT") {
            i = 4;
        }
        match s.token(i) {
            Some(t) if t.is_word(src, "SELECT") || t.is_word(src, "WITH") => {
                let inner = &src[t.start..];
                self.checked_read(inner, &scan(inner))
            }
            Some(t) if t.kind == TokenKind::Word && contains(WRITE_WORDS, t.text(src)) => {
                Statement::new(Kind::Write)
            }
            _ => Statement::new(Kind::Other),
        }
    }
}

/// A leading `/* rwsplit:writer */` or `/* rwsplit:reader */` comment.
fn hint(src: &[u8], s: &Scan) -> Option<Hint> {
    let c = s.leading_comment?;
    let body = src.get(c.start..c.end)?;
    let body = body.trim_ascii();
    let rest = body.strip_prefix(b"rwsplit:")?.trim_ascii();
    if rest.eq_ignore_ascii_case(b"writer") || rest.eq_ignore_ascii_case(b"master") {
        Some(Hint::Writer)
    } else if rest.eq_ignore_ascii_case(b"reader") || rest.eq_ignore_ascii_case(b"slave") {
        Some(Hint::Reader)
    } else {
        None
    }
}

/// Statements that legitimately contain `;` (stored program bodies).
fn is_compound(src: &[u8], s: &Scan) -> bool {
    const BLOCK_FIRST: &[&str] = &["IF", "CASE", "LOOP", "REPEAT", "WHILE", "DECLARE"];
    const PROGRAMS: &[&str] = &["PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "PACKAGE"];
    let defines_program = (s.is(src, 0, "CREATE") || s.is(src, 0, "ALTER"))
        && (1..scan::LEAD).any(|i| s.word(src, i).is_some_and(|w| contains(PROGRAMS, w)));
    defines_program
        || (s.is(src, 0, "BEGIN") && s.is(src, 1, "NOT"))
        || s.word(src, 0).is_some_and(|w| contains(BLOCK_FIRST, w))
        || s.token(1).is_some_and(|t| t.kind == TokenKind::Punct(b':')) // label: BEGIN … END
}

/// Combines the statements of a multi-statement query: the writer runs it whole.
fn combine(mut parts: Vec<Statement>, hint: Option<Hint>) -> Statement {
    let mut flags = Flags::MULTI;
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for p in &mut parts {
        // Values assigned inside a multi-statement query are not read back (a later
        // statement of it may have read them): the session keeps them as it would
        // without the read-back (see `SessionState`).
        if p.read_back.as_ref().is_some_and(|v| !v.is_empty()) {
            p.read_back = None;
        }
        flags |= p.flags;
        digest = (digest ^ p.digest).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let kind = if parts.iter().all(|p| p.kind == Kind::Read) {
        Kind::Read
    } else if parts.iter().any(|p| p.kind == Kind::Write) {
        Kind::Write
    } else {
        parts.first().map(|p| p.kind).unwrap_or(Kind::Other)
    };
    Statement {
        kind,
        flags,
        detail: Detail::None,
        hint,
        rule: None,
        digest,
        parts,
        read_back: None,
    }
}

fn show(src: &[u8], s: &Scan) -> Statement {
    let w1 = s.word(src, 1).unwrap_or_default();
    if w1.eq_ignore_ascii_case(b"WARNINGS")
        || w1.eq_ignore_ascii_case(b"ERRORS")
        || (w1.eq_ignore_ascii_case(b"COUNT")
            && (contains_words(src, &["WARNINGS"]) || contains_words(src, &["ERRORS"])))
    {
        return Statement::new(Kind::Diagnostics);
    }
    if contains(SHOW_WRITER_WORDS, w1) {
        // SHOW FULL TABLES / FULL COLUMNS are plain reads; SHOW FULL PROCESSLIST is not.
        if w1.eq_ignore_ascii_case(b"FULL") && !s.is(src, 2, "PROCESSLIST") {
            return Statement::new(Kind::Read);
        }
        // SHOW SESSION/GLOBAL VARIABLES is a read; SHOW [SESSION|GLOBAL] STATUS is not.
        if (w1.eq_ignore_ascii_case(b"SESSION")
            || w1.eq_ignore_ascii_case(b"LOCAL")
            || w1.eq_ignore_ascii_case(b"GLOBAL"))
            && s.is(src, 2, "VARIABLES")
        {
            return Statement::new(Kind::Read);
        }
        // SHOW ENGINES is a read; SHOW ENGINE x STATUS is not.
        return Statement::new(Kind::Other);
    }
    Statement::new(Kind::Read)
}

/// START TRANSACTION's characteristics: READ ONLY anywhere among them.
fn start_read_only(src: &[u8]) -> bool {
    let mut prev_read = false;
    let mut ro = false;
    for t in Lexer::new(src).skip(2) {
        if t.is_word(src, "ONLY") && prev_read {
            ro = true;
        }
        if t.is_word(src, "WRITE") && prev_read {
            ro = false;
        }
        prev_read = t.is_word(src, "READ");
    }
    ro
}

/// ROLLBACK [WORK] TO [SAVEPOINT] x
fn rollback_to(src: &[u8]) -> bool {
    Lexer::new(src)
        .skip(1)
        .take(2)
        .any(|t| t.is_word(src, "TO"))
}

fn xa(src: &[u8], s: &Scan) -> Statement {
    let verb = s.word(src, 1).unwrap_or_default().to_ascii_uppercase();
    match verb.as_slice() {
        b"START" | b"BEGIN" => Statement::new(Kind::Begin).with_detail(Detail::Xa(XaVerb::Start)),
        b"END" => Statement::new(Kind::Other).with_detail(Detail::Xa(XaVerb::End)),
        b"PREPARE" => Statement::new(Kind::Other).with_detail(Detail::Xa(XaVerb::Prepare)),
        b"COMMIT" => Statement::new(Kind::End).with_detail(Detail::Xa(XaVerb::Commit)),
        b"ROLLBACK" => Statement::new(Kind::End).with_detail(Detail::Xa(XaVerb::Rollback)),
        _ => Statement::new(Kind::Other).with_detail(Detail::Xa(XaVerb::Recover)),
    }
}

/// HANDLER name OPEN [[AS] alias] | READ … | CLOSE: state of this connection.
fn handler(src: &[u8]) -> Statement {
    let toks: Vec<_> = Lexer::new(src).skip(1).take(4).collect();
    let name_of = |i: usize| toks.get(i).map(|t| ident(t.text(src)));
    let mut name = name_of(0).unwrap_or_default();
    let verb = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(src, w));
    // `HANDLER db.t OPEN`: the handler is named after the table.
    let at = if toks
        .get(1)
        .is_some_and(|t| t.kind == TokenKind::Punct(b'.'))
    {
        name = name_of(2).unwrap_or_default();
        3
    } else {
        1
    };
    let open = if verb(at, "OPEN") {
        let rest: Vec<_> = Lexer::new(src).skip(at + 2).take(2).collect();
        let alias = match rest.first() {
            Some(t) if t.is_word(src, "AS") => rest.get(1),
            other => other,
        };
        if let Some(a) =
            alias.filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent))
        {
            name = ident(a.text(src));
        }
        Some(true)
    } else if verb(at, "CLOSE") {
        Some(false)
    } else {
        None
    };
    Statement::new(Kind::Other).with_detail(Detail::Handler {
        name: name.to_ascii_lowercase(),
        open,
    })
}

/// PREPARE name FROM … / DEALLOCATE PREPARE name / DROP PREPARE name (the name is word
/// `at`).
fn sql_prepare(src: &[u8], at: usize, open: bool) -> Statement {
    let name = Lexer::new(src)
        .nth(at)
        .map(|t| ident(t.text(src)).to_ascii_lowercase())
        .unwrap_or_default();
    Statement::new(Kind::Other).with_detail(Detail::SqlPrepare { name, open })
}

/// KILL [HARD | SOFT] [CONNECTION | QUERY] [ID] n
fn kill(src: &[u8]) -> Statement {
    let mut query_only = false;
    for t in Lexer::new(src).skip(1) {
        match t.kind {
            TokenKind::Word if t.is_word(src, "QUERY") => query_only = true,
            TokenKind::Word
                if t.is_word(src, "CONNECTION")
                    || t.is_word(src, "HARD")
                    || t.is_word(src, "SOFT")
                    || t.is_word(src, "ID") => {}
            TokenKind::Number => {
                if let Some(id) = std::str::from_utf8(t.text(src))
                    .ok()
                    .and_then(|n| n.parse().ok())
                {
                    return Statement::new(Kind::Other)
                        .with_detail(Detail::Kill { id, query_only });
                }
                break;
            }
            _ => break,
        }
    }
    Statement::new(Kind::Other)
}

/// CREATE [OR REPLACE] TEMPORARY TABLE [IF NOT EXISTS] name …
fn create(src: &[u8], s: &Scan) -> Statement {
    let mut i = 1;
    if s.is(src, 1, "OR") && s.is(src, 2, "REPLACE") {
        i = 3;
    }
    if s.is(src, i, "TEMPORARY") && s.is(src, i + 1, "TABLE") {
        let mut j = i + 2;
        if s.is(src, j, "IF") {
            j += 3;
        }
        if let Some(table) = table_name_at(src, s, j) {
            return Statement::new(Kind::Write).with_detail(Detail::CreateTemporary { table });
        }
    }
    Statement::new(Kind::Write)
}

/// DROP [TEMPORARY] TABLE [IF EXISTS] a, b …
fn drop(src: &[u8], _s: &Scan) -> Statement {
    let mut toks = Lexer::new(src).skip(1).peekable();
    let mut temporary = false;
    if toks.peek().is_some_and(|t| t.is_word(src, "TEMPORARY")) {
        temporary = true;
        toks.next();
    }
    if !toks
        .next()
        .is_some_and(|t| t.is_word(src, "TABLE") || t.is_word(src, "TABLES"))
    {
        return Statement::new(Kind::Write);
    }
    let mut tables = Vec::new();
    let mut pending: Option<String> = None;
    for t in toks {
        match t.kind {
            TokenKind::Word if t.is_word(src, "IF") || t.is_word(src, "EXISTS") => {}
            TokenKind::Word if t.is_word(src, "RESTRICT") || t.is_word(src, "CASCADE") => break,
            TokenKind::Word | TokenKind::QuotedIdent => pending = Some(ident(t.text(src))),
            TokenKind::Punct(b'.') => {
                // db.table: keep the table part (temporary tables are per session anyway)
            }
            TokenKind::Punct(b',') => {
                if let Some(p) = pending.take() {
                    tables.push(p);
                }
            }
            _ => {}
        }
    }
    if let Some(p) = pending {
        tables.push(p);
    }
    Statement::new(Kind::Write).with_detail(Detail::DropTables { temporary, tables })
}

fn table_name_at(src: &[u8], s: &Scan, i: usize) -> Option<String> {
    let t = s.token(i)?;
    if !matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent) {
        return None;
    }
    // db.table → table
    if s.token(i + 1)
        .is_some_and(|d| d.kind == TokenKind::Punct(b'.'))
    {
        let t2 = s.token(i + 2)?;
        return Some(ident(t2.text(src)));
    }
    Some(ident(t.text(src)))
}

/// An identifier's name: backquotes removed (doubled backquotes undone).
pub fn ident(text: &[u8]) -> String {
    let inner = functions::unquote(text);
    let name = String::from_utf8_lossy(inner);
    if inner.len() < text.len() {
        name.replace("``", "`")
    } else {
        name.into_owned()
    }
}

/// True when the words appear consecutively somewhere in the statement.
fn contains_words(src: &[u8], words: &[&str]) -> bool {
    let toks: Vec<_> = Lexer::new(src).collect();
    toks.windows(words.len())
        .any(|w| w.iter().zip(words).all(|(t, kw)| t.is_word(src, kw)))
}

/// Offset of the token after the first top-level occurrence of `word`.
fn after_top_level_word(src: &[u8], word: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut lx = Lexer::new(src);
    while let Some(t) = lx.next() {
        match t.kind {
            TokenKind::Punct(b'(') => depth += 1,
            TokenKind::Punct(b')') => depth -= 1,
            TokenKind::Word if depth == 0 && t.is_word(src, word) => {
                return lx.next().map(|n| n.start);
            }
            _ => {}
        }
    }
    None
}

/// BEGIN, START TRANSACTION, COMMIT, ROLLBACK [TO], SAVEPOINT, RELEASE (`w`: the first
/// word, upper-cased).
fn transaction_control(src: &[u8], s: &Scan, w: &[u8]) -> Option<Statement> {
    Some(match w {
        // BEGIN NOT ATOMIC … END is a compound statement.
        b"BEGIN" if s.is(src, 1, "NOT") => Statement::new(Kind::Other),
        b"BEGIN" => Statement::new(Kind::Begin).with_detail(Detail::Begin { read_only: false }),
        b"START" if s.is(src, 1, "TRANSACTION") => {
            Statement::new(Kind::Begin).with_detail(Detail::Begin {
                read_only: start_read_only(src),
            })
        }
        b"START" => Statement::new(Kind::Other), // START SLAVE / REPLICA
        b"COMMIT" if plain_commit(src, s) => Statement::new(Kind::End).with_detail(Detail::Commit),
        b"COMMIT" => Statement::new(Kind::End),
        b"ROLLBACK" if rollback_to(src) => Statement::new(Kind::Savepoint),
        b"ROLLBACK" => Statement::new(Kind::End),
        b"SAVEPOINT" | b"RELEASE" => Statement::new(Kind::Savepoint),
        _ => return None,
    })
}

/// `COMMIT` or `COMMIT WORK`, nothing after (not AND CHAIN, RELEASE).
fn plain_commit(src: &[u8], s: &Scan) -> bool {
    let semi = |n: usize| s.token(n).is_some_and(|t| t.kind == TokenKind::Semicolon);
    // A trailing `;` counts for nothing.
    let words = s.tokens - usize::from(s.tokens > 1 && semi(s.tokens - 1));
    match words {
        1 => true,
        2 => s.is(src, 1, "WORK"),
        _ => false,
    }
}

/// LOCK/UNLOCK TABLES, FLUSH TABLES WITH READ LOCK / FOR EXPORT, BACKUP [UN]LOCK (`w`: the
/// first word, upper-cased).
fn lock_control(src: &[u8], s: &Scan, w: &[u8]) -> Option<Statement> {
    Some(match w {
        b"LOCK" => Statement::new(Kind::Lock),
        b"UNLOCK" => Statement::new(Kind::Unlock),
        b"FLUSH"
            if contains_words(src, &["WITH", "READ", "LOCK"])
                || contains_words(src, &["FOR", "EXPORT"]) =>
        {
            Statement::new(Kind::Lock)
        }
        b"FLUSH" => Statement::new(Kind::Other),
        b"BACKUP" if s.is(src, 1, "UNLOCK") => Statement::new(Kind::Unlock),
        b"BACKUP" if s.is(src, 1, "LOCK") => Statement::new(Kind::Lock),
        b"BACKUP" => Statement::new(Kind::Other),
        _ => return None,
    })
}
