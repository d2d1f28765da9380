//! Reading back variables a statement assigned, so that they follow the session instead
//! of pinning it: which variables a statement assigns ([`assigned_user_vars`],
//! [`call_user_vars`]), the query that reads them back on the connection that ran it
//! ([`query`]), and the literal SET that replays them anywhere ([`literal_set`]). Pure.

use mysql_common::constants::ColumnType;

use super::lexer::{Lexer, TokenKind};
use super::statement::Variable;

/// The user variables a statement assigns with `@v := …` or `… INTO @a, @b`, in order
/// of first appearance (an `INTO OUTFILE` or `INSERT INTO t` assigns none).
pub fn assigned_user_vars(src: &[u8]) -> Vec<Variable> {
    let mut out: Vec<Variable> = Vec::new();
    let mut push = |text: &[u8]| push_user_var(&mut out, text);
    let tokens: Vec<_> = Lexer::new(src).collect();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let next = tokens.get(i + 1).map(|n| n.kind);
        if t.kind == TokenKind::UserVar && next == Some(TokenKind::Assign) {
            push(t.text(src));
        } else if t.is_word(src, "INTO") {
            // INTO @a, @b, …
            let mut j = i + 1;
            while let Some(v) = tokens.get(j).filter(|v| v.kind == TokenKind::UserVar) {
                push(v.text(src));
                match tokens.get(j + 1) {
                    Some(c) if c.kind == TokenKind::Punct(b',') => j += 2,
                    _ => break,
                }
            }
        }
        i += 1;
    }
    out
}

/// The user variables a CALL names (its OUT and INOUT arguments may set them).
pub fn call_user_vars(src: &[u8]) -> Vec<Variable> {
    let mut out: Vec<Variable> = Vec::new();
    for t in Lexer::new(src).filter(|t| t.kind == TokenKind::UserVar) {
        push_user_var(&mut out, t.text(src));
    }
    out
}

/// Adds the user variable written `text` to `out`, once.
fn push_user_var(out: &mut Vec<Variable>, text: &[u8]) {
    let v = Variable::User(String::from_utf8_lossy(text).into_owned());
    if !out.contains(&v) {
        out.push(v);
    }
}

/// A system variable name rwsplit will put into a query: letters, digits, `_`.
pub fn plain_name(name: &str) -> bool {
    plain_word(name.as_bytes())
}

/// Letters, digits and `_` only, and not empty.
fn plain_word(w: &[u8]) -> bool {
    !w.is_empty() && w.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// The query that reads `vars` back: for a user variable its value, `HEX()`, `CHARSET()`
/// and `COLLATION()` (a string is replayed from its bytes, in its own character set);
/// for a system variable its session value.
pub fn query(vars: &[Variable]) -> String {
    let items: Vec<String> = vars
        .iter()
        .map(|v| match v {
            Variable::User(n) => format!("{n}, HEX({n}), CHARSET({n}), COLLATION({n})"),
            Variable::System(n) => format!("@@session.{n}"),
        })
        .collect();
    format!("SELECT {}", items.join(", "))
}

/// How many columns [`query`] returns for `vars`.
pub fn columns(vars: &[Variable]) -> usize {
    vars.iter()
        .map(|v| match v {
            Variable::User(_) => 4,
            Variable::System(_) => 1,
        })
        .sum()
}

/// One value of the read-back row: its column's type and its text (`None`: NULL).
pub type Cell<'a> = (ColumnType, Option<&'a [u8]>);

/// The SET that gives `vars` the values read back (`row`: [`query`]'s answer), with each
/// value's type kept: integers, decimals and doubles as numbers of their type, strings
/// by their bytes with their character set and collation. `None` when the row is not
/// what [`query`] asks for.
pub fn literal_set(vars: &[Variable], row: &[Cell<'_>]) -> Option<String> {
    if row.len() != columns(vars) {
        return None;
    }
    let mut rest = row;
    let mut items = Vec::with_capacity(vars.len());
    for v in vars {
        match v {
            Variable::User(n) => {
                let (cells, tail) = rest.split_at(4);
                rest = tail;
                items.push(format!("{n} = {}", user_literal(cells)?));
            }
            Variable::System(n) => {
                let (cells, tail) = rest.split_at(1);
                rest = tail;
                if !plain_name(n) {
                    return None;
                }
                items.push(format!("@@session.{n} = {}", system_literal(cells[0])?));
            }
        }
    }
    Some(format!("SET {}", items.join(", ")))
}

fn is_integer(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_YEAR
    )
}

fn is_decimal(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL
    )
}

fn is_real(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::MYSQL_TYPE_FLOAT | ColumnType::MYSQL_TYPE_DOUBLE
    )
}

/// A number's text, if it is only a number's characters.
fn number(v: &[u8], extra: &[u8]) -> Option<String> {
    let ok = !v.is_empty()
        && v.iter()
            .all(|b| b.is_ascii_digit() || *b == b'-' || extra.contains(b));
    ok.then(|| String::from_utf8_lossy(v).into_owned())
}

fn user_literal(cells: &[Cell<'_>]) -> Option<String> {
    let (t, value) = cells[0];
    let Some(v) = value else {
        return Some("NULL".into());
    };
    if is_integer(t) {
        return number(v, b"");
    }
    if is_decimal(t) {
        return number(v, b".");
    }
    if is_real(t) {
        // A literal with an exponent is a DOUBLE (without one it would be a DECIMAL).
        let n = number(v, b".eE+")?;
        return Some(match n.contains(['e', 'E']) {
            true => n,
            false => format!("{n}e0"),
        });
    }
    let hex = cells[1].1?;
    let charset = cells[2].1?;
    let collation = cells[3].1?;
    if !hex.iter().all(u8::is_ascii_hexdigit) || !plain_word(charset) || !plain_word(collation) {
        return None;
    }
    let hex = String::from_utf8_lossy(hex);
    let charset = String::from_utf8_lossy(charset);
    if charset == "binary" {
        return Some(format!("_binary X'{hex}'"));
    }
    let collation = String::from_utf8_lossy(collation);
    Some(format!("_{charset} X'{hex}' COLLATE {collation}"))
}

fn system_literal((t, value): Cell<'_>) -> Option<String> {
    let Some(v) = value else {
        return Some("NULL".into());
    };
    if is_integer(t) || is_decimal(t) || is_real(t) {
        return number(v, b".eE+");
    }
    // Quoted as it is when that needs no escape (NO_BACKSLASH_ESCAPES changes what a
    // backslash means), else by its bytes.
    let plain = v
        .iter()
        .all(|b| (0x20..0x7f).contains(b) && *b != b'\'' && *b != b'\\');
    Some(match plain {
        true => format!("'{}'", String::from_utf8_lossy(v)),
        false => {
            let hex: String = v.iter().map(|b| format!("{b:02X}")).collect();
            format!("X'{hex}'")
        }
    })
}
