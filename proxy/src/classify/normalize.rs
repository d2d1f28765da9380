//! The normalized text of a statement: comments dropped, literals replaced by `?`, lists
//! of literals collapsed to one `?`, words upper-cased, one space between tokens. Query
//! digests show it and routing rules match it.

use super::lexer::{Lexer, TokenKind};

/// Normalizes `sql`, stopping at `max` bytes of output.
pub fn normalize(sql: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(sql.len().min(max));
    let mut in_literal_run = false;
    let mut prev_punct_open = true;
    for t in Lexer::new(sql) {
        if out.len() >= max {
            out.push('…');
            break;
        }
        let text = String::from_utf8_lossy(t.text(sql));
        let piece: std::borrow::Cow<str> = match t.kind {
            TokenKind::Str | TokenKind::Number | TokenKind::Placeholder => {
                if in_literal_run {
                    continue;
                }
                in_literal_run = true;
                "?".into()
            }
            TokenKind::Punct(b',') if in_literal_run => continue,
            TokenKind::Word | TokenKind::SysVar => {
                in_literal_run = false;
                text.to_ascii_uppercase().into()
            }
            _ => {
                in_literal_run = false;
                text
            }
        };
        let is_close = matches!(
            t.kind,
            TokenKind::Punct(b')')
                | TokenKind::Punct(b',')
                | TokenKind::Punct(b'.')
                | TokenKind::Semicolon
        );
        if !out.is_empty() && !prev_punct_open && !is_close {
            out.push(' ');
        }
        prev_punct_open = matches!(
            t.kind,
            TokenKind::Punct(b'(') | TokenKind::Punct(b'.') | TokenKind::Punct(b'@')
        );
        out.push_str(&piece);
    }
    out
}
