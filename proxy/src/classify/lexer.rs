//! A single-pass MySQL lexer for the hot path.
//!
//! It knows just enough of MySQL's lexical rules to never mistake the inside of a string,
//! a quoted identifier or a comment for code: `'…'` and `"…"` strings with backslash and
//! doubled-quote escapes, `` `…` `` identifiers, `-- ` / `#` / `/* */` comments, and the
//! executable comments `/*!NNNNN … */` and `/*M!NNNNN … */`, whose content is code.
//! It never allocates and never panics, whatever the input.

/// What a token is. Literals carry no value: the classifier only needs their position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: keyword, unquoted identifier or function name.
    Word,
    /// A `` `quoted` `` identifier.
    QuotedIdent,
    /// A string literal, `'…'` or `"…"` (also with an introducer such as `_utf8mb4'…'`,
    /// which lexes as a word then a string).
    Str,
    /// A number, hexadecimal (`0x1F`, `X'1F'`) or bit literal.
    Number,
    /// `@name` or `@'name'`: a user variable.
    UserVar,
    /// `@@name`, `@@session.name`, `@@global.name`: a system variable.
    SysVar,
    /// `?`: a placeholder of a prepared statement.
    Placeholder,
    /// `:=`
    Assign,
    /// `;`
    Semicolon,
    /// Any other punctuation or operator, one byte at a time.
    Punct(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The token's bytes in `src`.
    #[inline]
    pub fn text<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        src.get(self.start..self.end).unwrap_or_default()
    }

    /// True when this is a bare word equal to `kw` (ASCII, case-insensitive).
    #[inline]
    pub fn is_word(&self, src: &[u8], kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text(src).eq_ignore_ascii_case(kw.as_bytes())
    }
}

/// A comment met while lexing; hints live in the leading ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    /// Byte range of the comment's body (without `/*`, `*/`, `--` or `#`).
    pub start: usize,
    pub end: usize,
    /// True when no token came before it.
    pub leading: bool,
}

/// Streaming tokenizer. `next()` yields tokens; comments are reported through
/// [`Lexer::take_comment`] when the caller wants them (hints).
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    /// Depth of `/*! … */` executable comments we are inside of (their `*/` must be skipped).
    exec_comment: u32,
    /// Set when the input ended inside a string, identifier or comment.
    pub unterminated: bool,
    seen_token: bool,
    /// The first leading comment, if any (for hints such as `/* rwsplit:writer */`).
    pub leading_comment: Option<Comment>,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        Lexer {
            src,
            pos: 0,
            exec_comment: 0,
            unterminated: false,
            seen_token: false,
            leading_comment: None,
        }
    }

    pub fn src(&self) -> &'a [u8] {
        self.src
    }

    #[inline]
    fn peek(&self, off: usize) -> u8 {
        self.src.get(self.pos + off).copied().unwrap_or(0)
    }

    fn note_comment(&mut self, start: usize, end: usize) {
        if !self.seen_token && self.leading_comment.is_none() {
            self.leading_comment = Some(Comment {
                start,
                end,
                leading: true,
            });
        }
    }

    /// Skips whitespace and comments. Returns false at end of input.
    fn skip_trivia(&mut self) -> bool {
        loop {
            let c = self.peek(0);
            match c {
                0 if self.pos >= self.src.len() => return false,
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'#' => self.skip_line_comment(1),
                // `--` starts a comment only when followed by whitespace, a control
                // character or the end of input (MySQL's rule).
                b'-' if self.peek(1) == b'-'
                    && (self.pos + 2 >= self.src.len() || self.peek(2) <= b' ') =>
                {
                    self.skip_line_comment(2)
                }
                b'/' if self.peek(1) == b'*' => {
                    // Executable comments: `/*!`, `/*!50003`, `/*M!100100`: their content is code.
                    let (is_exec, skip) = match (self.peek(2), self.peek(3)) {
                        (b'!', _) => (true, 3),
                        (b'M', b'!') => (true, 4),
                        _ => (false, 2),
                    };
                    if is_exec {
                        self.pos += skip;
                        while self.peek(0).is_ascii_digit() {
                            self.pos += 1;
                        }
                        self.exec_comment += 1;
                        continue;
                    }
                    let body_start = self.pos + 2;
                    match find(self.src, body_start, b"*/") {
                        Some(end) => {
                            self.note_comment(body_start, end);
                            self.pos = end + 2;
                        }
                        None => {
                            self.unterminated = true;
                            self.pos = self.src.len();
                            return false;
                        }
                    }
                }
                b'*' if self.exec_comment > 0 && self.peek(1) == b'/' => {
                    self.exec_comment -= 1;
                    self.pos += 2;
                }
                _ => return true,
            }
        }
    }

    fn skip_line_comment(&mut self, prefix: usize) {
        let body_start = self.pos + prefix;
        let mut end = body_start;
        while end < self.src.len() && self.src[end] != b'\n' {
            end += 1;
        }
        self.note_comment(body_start, end);
        self.pos = end;
    }

    /// Skips a quoted run starting at the opening quote; handles doubled quotes and,
    /// for strings, backslash escapes.
    fn skip_quoted(&mut self, quote: u8, backslash: bool) {
        self.pos += 1;
        while self.pos < self.src.len() {
            let c = self.src[self.pos];
            if backslash && c == b'\\' {
                self.pos += 2;
                continue;
            }
            if c == quote {
                if self.peek(1) == quote {
                    self.pos += 2;
                    continue;
                }
                self.pos += 1;
                return;
            }
            self.pos += 1;
        }
        self.pos = self.src.len();
        self.unterminated = true;
    }

    fn word_end(&self, mut i: usize) -> usize {
        while i < self.src.len() {
            let c = self.src[i];
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
                i += 1;
            } else {
                break;
            }
        }
        i
    }
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

impl Lexer<'_> {
    /// A token starting with a digit at `start`: a number (`1.5`, `1e-3`, `0x0F`), or an
    /// identifier (`1abc`).
    fn number(&mut self, start: usize) -> TokenKind {
        self.pos = self.word_end(start);
        // Decimal part and exponent: 1.5, 1e-3
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            self.pos = self.word_end(self.pos + 1);
        }
        if matches!(self.peek(0), b'+' | b'-')
            && matches!(self.src.get(self.pos.wrapping_sub(1)), Some(b'e' | b'E'))
            && self.peek(1).is_ascii_digit()
        {
            self.pos = self.word_end(self.pos + 1);
        }
        let text = &self.src[start..self.pos];
        if text.iter().all(|b| b.is_ascii_digit())
            || text.starts_with(b"0x")
            || text.starts_with(b"0b")
            || text
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            TokenKind::Number
        } else {
            // Identifiers may start with digits (`1abc`).
            TokenKind::Word
        }
    }

    /// `@@session.x`, `@@global.x`, `@@x`; also ``@@`x` ``.
    fn sysvar(&mut self) -> TokenKind {
        self.pos += 2;
        loop {
            if self.peek(0) == b'`' {
                self.skip_quoted(b'`', false);
            } else {
                self.pos = self.word_end(self.pos);
            }
            if self.peek(0) == b'.'
                && (self.peek(1) == b'`' || self.word_end(self.pos + 1) > self.pos + 1)
            {
                self.pos += 1;
                continue;
            }
            break;
        }
        TokenKind::SysVar
    }

    /// `@name` (its name may contain `.`), `@'name'`, or a lone `@`.
    fn user_var(&mut self, start: usize) -> TokenKind {
        self.pos += 1;
        match self.peek(0) {
            q @ (b'\'' | b'"' | b'`') => self.skip_quoted(q, q != b'`'),
            _ => loop {
                self.pos = self.word_end(self.pos);
                if self.peek(0) == b'.' && self.word_end(self.pos + 1) > self.pos + 1 {
                    self.pos += 1;
                    continue;
                }
                break;
            },
        }
        if self.pos == start + 1 {
            TokenKind::Punct(b'@')
        } else {
            TokenKind::UserVar
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        if !self.skip_trivia() {
            return None;
        }
        let start = self.pos;
        let c = self.src[start];
        let kind = match c {
            b'\'' | b'"' => {
                self.skip_quoted(c, true);
                TokenKind::Str
            }
            b'`' => {
                self.skip_quoted(b'`', false);
                TokenKind::QuotedIdent
            }
            b'0'..=b'9' => self.number(start),
            b'.' if self.peek(1).is_ascii_digit() => {
                self.pos = self.word_end(start + 1);
                TokenKind::Number
            }
            b'@' if self.peek(1) == b'@' => self.sysvar(),
            b'@' => self.user_var(start),
            b'?' => {
                self.pos += 1;
                TokenKind::Placeholder
            }
            b';' => {
                self.pos += 1;
                TokenKind::Semicolon
            }
            b':' if self.peek(1) == b'=' => {
                self.pos += 2;
                TokenKind::Assign
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 => {
                // X'0F', B'01', N'text' are literals.
                if matches!(c, b'x' | b'X' | b'b' | b'B' | b'n' | b'N') && self.peek(1) == b'\'' {
                    self.pos += 1;
                    self.skip_quoted(b'\'', c == b'n' || c == b'N');
                    TokenKind::Str
                } else {
                    self.pos = self.word_end(start);
                    TokenKind::Word
                }
            }
            other => {
                self.pos += 1;
                TokenKind::Punct(other)
            }
        };
        self.seen_token = true;
        Some(Token {
            kind,
            start,
            end: self.pos.min(self.src.len()),
        })
    }
}

/// The first bare word of a statement, skipping comments and opening parentheses
/// (`(SELECT …) UNION (SELECT …)`). Returns it with its token.
pub fn first_word(src: &[u8]) -> Option<Token> {
    Lexer::new(src).find(|t| t.kind != TokenKind::Punct(b'('))
}
