//! One lexer pass over a statement: its leading words, the flags a read needs checked,
//! its digest, and where a second statement starts.

use super::functions::{
    contains, is_server_local, sysvar_name, unquote, LAST_STATEMENT_FUNCTIONS,
    LAST_STATEMENT_SYSVARS, WRITER_FUNCTIONS, WRITER_SYSVARS,
};
use super::lexer::{Comment, Lexer, Token, TokenKind};
use super::statement::Flags;

/// How many leading tokens are kept for keyword decisions.
pub const LEAD: usize = 8;

/// What one pass of the lexer found.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The first tokens (opening parentheses included).
    pub lead: [Option<Token>; LEAD],
    pub flags: Flags,
    /// Hash of the normalized token stream (literals replaced, case folded).
    pub digest: u64,
    /// Byte offset where a second statement starts (after a top-level `;`), if any.
    pub next_statement: Option<usize>,
    /// The leading comment, for hints.
    pub leading_comment: Option<Comment>,
    /// The input ended inside a string, quoted identifier or comment.
    pub unterminated: bool,
    /// Number of tokens.
    pub tokens: usize,
}

impl Scan {
    /// The n-th leading token, if it is a bare word, upper-cased comparisons via `is`.
    pub fn word<'a>(&self, src: &'a [u8], n: usize) -> Option<&'a [u8]> {
        match self.lead.get(n).copied().flatten() {
            Some(t) if t.kind == TokenKind::Word => Some(t.text(src)),
            _ => None,
        }
    }

    /// True when the n-th leading token is the word `kw`.
    pub fn is(&self, src: &[u8], n: usize, kw: &str) -> bool {
        self.word(src, n)
            .is_some_and(|w| w.eq_ignore_ascii_case(kw.as_bytes()))
    }

    pub fn token(&self, n: usize) -> Option<Token> {
        self.lead.get(n).copied().flatten()
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[inline]
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b.to_ascii_lowercase() as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

#[inline]
fn eq(word: &[u8], kw: &[u8]) -> bool {
    word.len() == kw.len() && word.eq_ignore_ascii_case(kw)
}

/// Scans one statement (up to its first top-level `;` followed by more code).
pub fn scan(src: &[u8]) -> Scan {
    let mut lexer = Lexer::new(src);
    let mut lead: [Option<Token>; LEAD] = [None; LEAD];
    let mut flags = Flags::empty();
    let mut digest = Digest::default();
    let mut count = 0usize;
    let mut prev: Option<Token> = None;
    // The token before `prev` (for `schema.table`).
    let mut prev2: Option<Token> = None;
    let mut after_semicolon = false;
    let mut next_statement = None;
    for tok in lexer.by_ref() {
        if after_semicolon {
            next_statement = Some(tok.start);
            flags |= Flags::MULTI;
            break;
        }
        if count < LEAD {
            lead[count] = Some(tok);
        }
        count += 1;
        let text = tok.text(src);
        flags |= token_flags(src, tok, text, prev, prev2);
        match tok.kind {
            // An introducer (`_utf8mb4'x'`) was hashed as a word already; fine.
            TokenKind::Str | TokenKind::Number | TokenKind::Placeholder => digest.literal(),
            TokenKind::Semicolon => after_semicolon = true,
            TokenKind::Punct(c) => digest.punct(c),
            TokenKind::Assign => digest.text(b":="),
            TokenKind::Word | TokenKind::QuotedIdent | TokenKind::UserVar | TokenKind::SysVar => {
                digest.text(text)
            }
        }
        prev2 = prev;
        prev = Some(tok);
    }
    Scan {
        lead,
        flags,
        digest: digest.hash,
        next_statement,
        leading_comment: lexer.leading_comment,
        unterminated: lexer.unterminated,
        tokens: count,
    }
}

/// The digest of a token stream: words and punctuation case-folded, literals replaced by
/// `?`, and a run of literals separated by commas hashed once (`IN (1,2,3)` = `IN (4)`).
struct Digest {
    hash: u64,
    in_literal_run: bool,
}

impl Default for Digest {
    fn default() -> Digest {
        Digest {
            hash: FNV_OFFSET,
            in_literal_run: false,
        }
    }
}

impl Digest {
    #[inline]
    fn text(&mut self, text: &[u8]) {
        self.hash = fnv(self.hash, text);
        self.in_literal_run = false;
    }

    #[inline]
    fn literal(&mut self) {
        if !self.in_literal_run {
            self.hash = fnv(self.hash, b"?");
            self.in_literal_run = true;
        }
    }

    #[inline]
    fn punct(&mut self, c: u8) {
        if !(c == b',' && self.in_literal_run) {
            self.text(&[c]);
        }
    }
}

/// The flags one token sets, given the two before it.
#[inline]
fn token_flags(
    src: &[u8],
    tok: Token,
    text: &[u8],
    prev: Option<Token>,
    prev2: Option<Token>,
) -> Flags {
    let local = |f: Flags| match qualified_server_local(src, prev2, prev, text) {
        true => f | Flags::SERVER_LOCAL,
        false => f,
    };
    match tok.kind {
        TokenKind::Word => local(word_flags(src, tok, text, prev)),
        TokenKind::QuotedIdent => local(Flags::empty()),
        TokenKind::UserVar => Flags::USER_VAR_READ,
        TokenKind::SysVar => {
            let (name, _) = sysvar_name(text);
            if contains(WRITER_SYSVARS, name) {
                match contains(&["IDENTITY", "LAST_INSERT_ID", "INSERT_ID"], name) {
                    true => Flags::WRITER_SYSVAR | Flags::LAST_INSERT_ID,
                    false => Flags::WRITER_SYSVAR,
                }
            } else if contains(LAST_STATEMENT_SYSVARS, name) {
                Flags::LAST_STATEMENT
            } else {
                Flags::empty()
            }
        }
        TokenKind::Assign if prev.is_some_and(|t| t.kind == TokenKind::UserVar) => {
            Flags::USER_VAR_ASSIGN
        }
        // A function call: its name is the word before the parenthesis.
        TokenKind::Punct(b'(') => match prev.filter(|t| t.kind == TokenKind::Word) {
            Some(p) if contains(WRITER_FUNCTIONS, p.text(src)) => {
                Flags::WRITER_FUNCTION | connection_function(p.text(src))
            }
            Some(p) if contains(LAST_STATEMENT_FUNCTIONS, p.text(src)) => Flags::LAST_STATEMENT,
            _ => Flags::empty(),
        },
        _ => Flags::empty(),
    }
}

/// What a writer function does to the connection's own state.
fn connection_function(name: &[u8]) -> Flags {
    if eq(name, b"LAST_INSERT_ID") {
        Flags::LAST_INSERT_ID
    } else if eq(name, b"GET_LOCK") {
        Flags::GET_LOCK
    } else if eq(name, b"RELEASE_LOCK") || eq(name, b"RELEASE_ALL_LOCKS") {
        Flags::RELEASE_LOCK
    } else if contains(&["NEXTVAL", "LASTVAL", "SETVAL"], name) {
        Flags::SEQUENCE
    } else {
        Flags::empty()
    }
}

/// The flags a word sets, given the word before it (`FOR UPDATE`, `LOCK IN`, `NEXT
/// VALUE`, …).
#[inline]
fn word_flags(src: &[u8], tok: Token, text: &[u8], prev: Option<Token>) -> Flags {
    let p = prev
        .filter(|t| t.kind == TokenKind::Word)
        .map(|t| t.text(src));
    let after = |words: &[&[u8]]| p.is_some_and(|p| words.iter().any(|w| eq(p, w)));
    if eq(text, b"UPDATE") || eq(text, b"SHARE") {
        if after(&[b"FOR"]) {
            Flags::LOCKING_READ
        } else if eq(text, b"UPDATE") {
            Flags::WRITE_WORD
        } else {
            Flags::empty()
        }
    } else if eq(text, b"IN") && after(&[b"LOCK"]) {
        Flags::LOCKING_READ
    } else if eq(text, b"INTO") {
        Flags::INTO
    } else if eq(text, b"SQL_CALC_FOUND_ROWS") {
        Flags::CALC_FOUND_ROWS
    } else if eq(text, b"VALUE") && after(&[b"NEXT", b"PREVIOUS"]) {
        Flags::WRITER_FUNCTION | Flags::SEQUENCE
    } else if eq(text, b"INSERT") || eq(text, b"DELETE") {
        Flags::WRITE_WORD
    } else if eq(text, b"REPLACE") && src.get(tok.end) != Some(&b'(') {
        // REPLACE( is the string function, not the statement.
        Flags::WRITE_WORD
    } else {
        Flags::empty()
    }
}

/// True when `table` is the name after `schema .` and names a server-local table.
fn qualified_server_local(
    src: &[u8],
    schema: Option<Token>,
    dot: Option<Token>,
    table: &[u8],
) -> bool {
    let (Some(schema), Some(dot)) = (schema, dot) else {
        return false;
    };
    if dot.kind != TokenKind::Punct(b'.')
        || !matches!(schema.kind, TokenKind::Word | TokenKind::QuotedIdent)
    {
        return false;
    }
    is_server_local(unquote(schema.text(src)), unquote(table))
}
