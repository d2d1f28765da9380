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
    let mut digest = FNV_OFFSET;
    let mut count = 0usize;
    let mut prev: Option<Token> = None;
    // The token before `prev` (for `schema.table`).
    let mut prev2: Option<Token> = None;
    let mut after_semicolon = false;
    let mut next_statement = None;
    // A run of literals separated by commas is hashed once: `IN (1,2,3)` = `IN (4)`.
    let mut in_literal_run = false;

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
        match tok.kind {
            TokenKind::Word => {
                let p = prev
                    .filter(|t| t.kind == TokenKind::Word)
                    .map(|t| t.text(src));
                if eq(text, b"UPDATE") || eq(text, b"SHARE") {
                    if p.is_some_and(|p| eq(p, b"FOR")) {
                        flags |= Flags::LOCKING_READ;
                    } else if eq(text, b"UPDATE") {
                        flags |= Flags::WRITE_WORD;
                    }
                } else if eq(text, b"IN") {
                    if p.is_some_and(|p| eq(p, b"LOCK")) {
                        flags |= Flags::LOCKING_READ;
                    }
                } else if eq(text, b"INTO") {
                    flags |= Flags::INTO;
                } else if eq(text, b"SQL_CALC_FOUND_ROWS") {
                    flags |= Flags::CALC_FOUND_ROWS;
                } else if eq(text, b"VALUE") {
                    if p.is_some_and(|p| eq(p, b"NEXT") || eq(p, b"PREVIOUS")) {
                        flags |= Flags::WRITER_FUNCTION;
                    }
                } else if eq(text, b"INSERT") || eq(text, b"DELETE") || eq(text, b"REPLACE") {
                    // REPLACE( is the string function, not the statement.
                    if !(eq(text, b"REPLACE") && src.get(tok.end) == Some(&b'(')) {
                        flags |= Flags::WRITE_WORD;
                    }
                }
                if qualified_server_local(src, prev2, prev, text) {
                    flags |= Flags::SERVER_LOCAL;
                }
                digest = fnv(digest, text);
                in_literal_run = false;
            }
            TokenKind::QuotedIdent => {
                if qualified_server_local(src, prev2, prev, text) {
                    flags |= Flags::SERVER_LOCAL;
                }
                digest = fnv(digest, text);
                in_literal_run = false;
            }
            TokenKind::Str | TokenKind::Number | TokenKind::Placeholder => {
                // An introducer (`_utf8mb4'x'`) was hashed as a word already; fine.
                if !in_literal_run {
                    digest = fnv(digest, b"?");
                    in_literal_run = true;
                }
            }
            TokenKind::UserVar => {
                flags |= Flags::USER_VAR_READ;
                digest = fnv(digest, text);
                in_literal_run = false;
            }
            TokenKind::SysVar => {
                let (name, _) = sysvar_name(text);
                if contains(WRITER_SYSVARS, name) {
                    flags |= Flags::WRITER_SYSVAR;
                } else if contains(LAST_STATEMENT_SYSVARS, name) {
                    flags |= Flags::LAST_STATEMENT;
                }
                digest = fnv(digest, text);
                in_literal_run = false;
            }
            TokenKind::Assign => {
                if prev.is_some_and(|t| t.kind == TokenKind::UserVar) {
                    flags |= Flags::USER_VAR_ASSIGN;
                }
                digest = fnv(digest, b":=");
                in_literal_run = false;
            }
            TokenKind::Semicolon => {
                after_semicolon = true;
            }
            TokenKind::Punct(c) => {
                if c == b'(' {
                    // A function call: its name is the word before the parenthesis.
                    if let Some(p) = prev.filter(|t| t.kind == TokenKind::Word) {
                        let name = p.text(src);
                        if contains(WRITER_FUNCTIONS, name) {
                            flags |= Flags::WRITER_FUNCTION;
                        } else if contains(LAST_STATEMENT_FUNCTIONS, name) {
                            flags |= Flags::LAST_STATEMENT;
                        }
                    }
                }
                if !(c == b',' && in_literal_run) {
                    digest = fnv(digest, &[c]);
                    in_literal_run = false;
                }
            }
        }
        prev2 = prev;
        prev = Some(tok);
    }
    Scan {
        lead,
        flags,
        digest,
        next_statement,
        leading_comment: lexer.leading_comment,
        unterminated: lexer.unterminated,
        tokens: count,
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
