//! SET statements: what they change in the session, parsed with sqlparser.
//!
//! The forms sqlparser handles badly are decided from the keywords first (see
//! `shared/notes/classifying-mysql.md`): `SET [SESSION|GLOBAL] TRANSACTION` (the AST loses
//! the scope), `SET NAMES`, `SET CHARACTER SET`, `SET PASSWORD`, `SET ROLE`, `SET PERSIST`.

use sqlparser::ast::{
    ContextModifier, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName,
    ObjectNamePart, SelectItem, Set, SetExpr, Statement as Ast, UnaryOperator, Value,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::functions::{contains, sysvar_name};
use super::lexer::{Lexer, TokenKind};
use super::readback::plain_name;
use super::scan::Scan;
use super::statement::{Detail, Flags, Kind, SessionCommand, SetEffect, Variable};

/// Functions whose value a replica computes exactly as the primary does, given the same
/// session state: a SET using only these can be replayed on readers.
const DETERMINISTIC_FUNCTIONS: &[&str] = &[
    "CONCAT",
    "CONCAT_WS",
    "REPLACE",
    "LOWER",
    "UPPER",
    "LCASE",
    "UCASE",
    "TRIM",
    "LTRIM",
    "RTRIM",
    "SUBSTRING",
    "SUBSTR",
    "LEFT",
    "RIGHT",
    "IF",
    "IFNULL",
    "COALESCE",
    "NULLIF",
    "GREATEST",
    "LEAST",
    "ABS",
    "LENGTH",
    "CHAR_LENGTH",
    "REVERSE",
    "LPAD",
    "RPAD",
    "HEX",
    "UNHEX",
    "FIND_IN_SET",
    "INSTR",
    "LOCATE",
    "FORMAT",
    "CAST",
    "CONVERT",
];

/// Result of analysing a SET statement.
pub struct SetResult {
    pub kind: Kind,
    pub detail: Detail,
    pub flags: Flags,
    /// The session variables to read back after it ran, when it cannot be replayed as
    /// written and every target has a name (see [`crate::classify::Statement::read_back`]).
    pub read_back: Option<Vec<Variable>>,
}

fn session(sql: &str, key: &str) -> SetResult {
    SetResult {
        kind: Kind::Session,
        detail: Detail::Set(SetEffect {
            autocommit: None,
            replay: Some(SessionCommand {
                key: key.to_string(),
                sql: sql.to_string(),
            }),
            replayable: true,
            user_vars_only: false,
            reads_user_vars: false,
            literal: true,
            next_transaction: false,
        }),
        flags: Flags::empty(),
        read_back: None,
    }
}

fn other() -> SetResult {
    SetResult {
        kind: Kind::Other,
        detail: Detail::None,
        flags: Flags::empty(),
        read_back: None,
    }
}

/// `SET TRANSACTION …`: the characteristics of the connection's next transaction.
fn next_transaction() -> SetResult {
    SetResult {
        kind: Kind::Other,
        detail: Detail::Set(SetEffect {
            replayable: true,
            next_transaction: true,
            ..SetEffect::default()
        }),
        flags: Flags::empty(),
        read_back: None,
    }
}

/// Analyses `SET …` (the caller has seen the word SET first and handled `SET STATEMENT`).
pub fn analyze(src: &[u8], scan: &Scan) -> SetResult {
    let sql = String::from_utf8_lossy(src);
    if let Some(r) = by_keyword(&sql, src, scan) {
        return r;
    }
    let parsed = Parser::parse_sql(&MySqlDialect {}, &sql);
    let set = match parsed.as_deref() {
        Ok([Ast::Set(set)]) => set,
        _ => return unparsed(src),
    };
    // `SET [SESSION] time_zone = …` comes back as SET TIME ZONE: one assignment.
    let time_zone = ObjectName::from(vec![sqlparser::ast::Ident::new("time_zone")]);
    let assignments: Vec<Assignment<'_>> = match set {
        Set::SingleAssignment {
            scope,
            variable,
            values,
            ..
        } if values.len() == 1 => vec![(*scope, variable, &values[0])],
        Set::MultipleAssignments { assignments } => assignments
            .iter()
            .map(|a| (a.scope, &a.name, &a.value))
            .collect(),
        Set::SetTimeZone { value, .. } => vec![(None, &time_zone, value)],
        Set::SetNames { .. } | Set::SetNamesDefault {} => return session(&sql, "names"),
        _ => return unparsed(src),
    };
    let collected = collect(assignments);
    collected.into_result(&sql)
}

/// One `name = value` of a SET, with the scope written before it.
type Assignment<'a> = (Option<ContextModifier>, &'a ObjectName, &'a Expr);

/// The forms decided by their second and third words (SET NAMES, SET TRANSACTION, …).
fn by_keyword(sql: &str, src: &[u8], scan: &Scan) -> Option<SetResult> {
    let w1 = scan.word(src, 1).unwrap_or_default().to_ascii_uppercase();
    let w2_is = |kw: &str| scan.is(src, 2, kw);
    Some(match w1.as_slice() {
        b"TRANSACTION" => next_transaction(), // next transaction only: on the writer
        b"SESSION" | b"LOCAL" if w2_is("TRANSACTION") => session(sql, "transaction"),
        b"GLOBAL" if w2_is("TRANSACTION") => other(),
        b"PERSIST" | b"PERSIST_ONLY" | b"PASSWORD" | b"DEFAULT" => other(),
        b"NAMES" => session(sql, "names"),
        b"CHARSET" => session(sql, "charset"),
        b"CHARACTER" if w2_is("SET") => session(sql, "charset"),
        b"ROLE" => session(sql, "role"),
        _ => return None,
    })
}

/// What the assignments of one SET add up to.
struct Collected {
    effect: SetEffect,
    /// (name, "lhs = value") to replay.
    keep: Vec<(String, String)>,
    /// The kept targets, to read back when the values cannot be replayed as written.
    targets: Vec<Variable>,
    /// Every assignment is kept (the statement replays as written).
    all_kept: bool,
    autocommit_assigned: bool,
}

fn collect(assignments: Vec<Assignment<'_>>) -> Collected {
    let mut scope_global = false;
    let mut c = Collected {
        effect: SetEffect {
            replayable: true,
            user_vars_only: true,
            literal: true,
            ..SetEffect::default()
        },
        keep: Vec::new(),
        targets: Vec::new(),
        all_kept: true,
        autocommit_assigned: false,
    };
    for (scope, name, value) in assignments {
        match scope {
            Some(ContextModifier::Global) => scope_global = true,
            Some(ContextModifier::Session) | Some(ContextModifier::Local) => scope_global = false,
            None => {}
        }
        let effect = &mut c.effect;
        match Target::of(name, scope_global) {
            Target::Global => c.all_kept = false,
            Target::System(ref n) if n == "autocommit" => {
                c.all_kept = false;
                c.autocommit_assigned = true;
                effect.autocommit = literal_bool(value);
            }
            Target::System(n) => {
                effect.user_vars_only = false;
                effect.literal &= is_literal(value);
                effect.replayable &= deterministic(value, &mut effect.reads_user_vars);
                c.keep.push((n.clone(), format!("SESSION {n} = {value}")));
                c.targets.push(Variable::System(n));
            }
            Target::User(n) => {
                effect.literal &= is_literal(value);
                effect.replayable &= deterministic(value, &mut effect.reads_user_vars);
                c.keep.push((n.clone(), format!("{n} = {value}")));
                c.targets.push(Variable::User(n));
            }
        }
    }
    c
}

impl Collected {
    /// The SET's kind and what replays it on other connections (`sql`: as written).
    fn into_result(self, sql: &str) -> SetResult {
        let Collected {
            mut effect,
            keep,
            targets,
            all_kept,
            autocommit_assigned,
        } = self;
        if keep.is_empty() {
            effect.user_vars_only = false;
            return if autocommit_assigned {
                SetResult {
                    kind: Kind::Session,
                    detail: Detail::Set(effect),
                    flags: Flags::empty(),
                    read_back: None,
                }
            } else {
                other()
            };
        }
        let mut names: Vec<String> = keep.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        names.sort();
        names.dedup();
        let replay_sql = if all_kept {
            sql.to_string()
        } else {
            let body: Vec<&str> = keep.iter().map(|(_, s)| s.as_str()).collect();
            format!("SET {}", body.join(", "))
        };
        effect.replay = Some(SessionCommand {
            key: names.join(","),
            sql: replay_sql,
        });
        let nameable = targets.iter().all(|t| match t {
            Variable::System(n) => plain_name(n),
            Variable::User(_) => true,
        });
        let read_back = (!effect.replayable && nameable).then_some(targets);
        SetResult {
            kind: Kind::Session,
            detail: Detail::Set(effect),
            flags: Flags::empty(),
            read_back,
        }
    }
}

/// A SET sqlparser rejects (`SET @a := 1`, `SET @'x' = 1`, …): not replayable as
/// written. When every target can be named (`@v`, `@@session.v`, `[SESSION] v`, each
/// followed by `=` or `:=`), its targets are read back after it ran; otherwise the
/// session's reads that depend on it stay on the writer.
fn unparsed(src: &[u8]) -> SetResult {
    // Assignment targets: the token after SET and after each top-level comma.
    let mut depth = 0i32;
    let mut expect_target = true;
    let mut user_vars_only = true;
    let mut global = false;
    let mut reads_user_vars = false;
    let mut targets: Vec<Variable> = Vec::new();
    let mut nameable = true;
    // A target was just named: the next token must be `=` or `:=`.
    let mut expect_assign = false;
    for tok in Lexer::new(src).skip(1) {
        let text = tok.text(src);
        if expect_assign {
            expect_assign = false;
            if !matches!(tok.kind, TokenKind::Punct(b'=') | TokenKind::Assign) {
                nameable = false;
            }
        }
        match tok.kind {
            TokenKind::Punct(b'(') => depth += 1,
            TokenKind::Punct(b')') => depth -= 1,
            TokenKind::Punct(b',') if depth == 0 => {
                expect_target = true;
                continue;
            }
            TokenKind::Word if expect_target => {
                if text.eq_ignore_ascii_case(b"GLOBAL") || text.eq_ignore_ascii_case(b"PERSIST") {
                    global = true;
                }
                if !(text.eq_ignore_ascii_case(b"SESSION") || text.eq_ignore_ascii_case(b"LOCAL")) {
                    user_vars_only = false;
                    expect_target = false;
                    let name = String::from_utf8_lossy(text).to_ascii_lowercase();
                    nameable &= plain_name(&name);
                    targets.push(Variable::System(name));
                    expect_assign = true;
                }
                continue;
            }
            TokenKind::SysVar if expect_target => {
                let (name, is_global) = sysvar_name(text);
                global |= is_global;
                user_vars_only = false;
                let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                nameable &= plain_name(&name);
                targets.push(Variable::System(name));
                expect_assign = true;
            }
            TokenKind::UserVar if expect_target => {
                targets.push(Variable::User(String::from_utf8_lossy(text).into_owned()));
                expect_assign = true;
            }
            TokenKind::UserVar => reads_user_vars = true,
            _ if expect_target => nameable = false,
            _ => {}
        }
        expect_target = false;
    }
    if global {
        return SetResult {
            kind: Kind::Other,
            detail: Detail::None,
            flags: Flags::PARSE_FAILED,
            read_back: None,
        };
    }
    let nameable = nameable && !targets.is_empty() && !expect_assign;
    SetResult {
        kind: Kind::Session,
        detail: Detail::Set(SetEffect {
            autocommit: None,
            replay: Some(SessionCommand {
                key: String::new(),
                sql: String::from_utf8_lossy(src).into_owned(),
            }),
            replayable: false,
            user_vars_only,
            reads_user_vars,
            literal: false,
            next_transaction: false,
        }),
        flags: Flags::PARSE_FAILED,
        read_back: nameable.then_some(targets),
    }
}

enum Target {
    Global,
    System(String),
    User(String),
}

impl Target {
    fn of(name: &ObjectName, scope_global: bool) -> Target {
        let parts: Vec<&str> = name
            .0
            .iter()
            .filter_map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                _ => None,
            })
            .collect();
        let first = parts.first().copied().unwrap_or_default();
        let rest = || {
            parts
                .get(1..)
                .unwrap_or_default()
                .join(".")
                .to_ascii_lowercase()
        };
        if let Some(qualifier) = first.strip_prefix("@@") {
            match qualifier.to_ascii_lowercase().as_str() {
                "global" if parts.len() > 1 => Target::Global,
                "session" | "local" if parts.len() > 1 => Target::System(rest()),
                _ => {
                    let mut n = qualifier.to_ascii_lowercase();
                    if parts.len() > 1 {
                        n = format!("{n}.{}", rest());
                    }
                    Target::System(n)
                }
            }
        } else if first.starts_with('@') {
            Target::User(parts.join("."))
        } else if scope_global {
            Target::Global
        } else {
            Target::System(parts.join(".").to_ascii_lowercase())
        }
    }
}

fn literal_bool(value: &Expr) -> Option<bool> {
    match value {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => match n.as_str() {
                "0" => Some(false),
                "1" => Some(true),
                _ => None,
            },
            Value::Boolean(b) => Some(*b),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => word_bool(s),
            _ => None,
        },
        Expr::Identifier(i) => word_bool(&i.value),
        _ => None,
    }
}

fn word_bool(s: &str) -> Option<bool> {
    match s.to_ascii_uppercase().as_str() {
        "ON" | "TRUE" | "1" => Some(true),
        "OFF" | "FALSE" | "0" => Some(false),
        _ => None,
    }
}

/// True when a replica evaluates `expr` to the same value as the primary, given the same
/// session state. Sets `reads_user_vars` when it reads a user variable.
fn deterministic(expr: &Expr, reads_user_vars: &mut bool) -> bool {
    match expr {
        Expr::Value(_) => true,
        Expr::Identifier(i) => {
            if i.value.starts_with('@') && !i.value.starts_with("@@") {
                *reads_user_vars = true;
            }
            true
        }
        Expr::CompoundIdentifier(_) => true,
        Expr::Nested(e) => deterministic(e, reads_user_vars),
        Expr::UnaryOp { op, expr } => {
            matches!(
                op,
                UnaryOperator::Minus | UnaryOperator::Plus | UnaryOperator::Not
            ) && deterministic(expr, reads_user_vars)
        }
        Expr::BinaryOp { left, right, .. } => {
            deterministic(left, reads_user_vars) & deterministic(right, reads_user_vars)
        }
        Expr::Cast { expr, .. } => deterministic(expr, reads_user_vars),
        // `(SELECT REPLACE(@@sql_mode, …))`: a scalar subquery without tables.
        Expr::Subquery(q) => match q.body.as_ref() {
            SetExpr::Select(sel) if sel.from.is_empty() && sel.selection.is_none() => {
                sel.projection.iter().all(|item| match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        deterministic(e, reads_user_vars)
                    }
                    _ => false,
                })
            }
            _ => false,
        },
        Expr::Function(f) => deterministic_call(f, reads_user_vars),
        _ => false,
    }
}

/// A call of a deterministic function with deterministic arguments.
fn deterministic_call(f: &Function, reads_user_vars: &mut bool) -> bool {
    let name = f
        .name
        .0
        .last()
        .and_then(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i.value.as_bytes()),
            _ => None,
        })
        .unwrap_or_default();
    if !contains(DETERMINISTIC_FUNCTIONS, name) {
        return false;
    }
    match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => list.args.iter().all(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
            | FunctionArg::Named {
                arg: FunctionArgExpr::Expr(e),
                ..
            } => deterministic(e, reads_user_vars),
            _ => false,
        }),
        FunctionArguments::Subquery(_) => false,
    }
}

/// A constant: a literal, a bare word (ON, OFF, DEFAULT, a charset name) or a signed number.
fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Value(_) => true,
        Expr::Identifier(i) => !i.value.starts_with('@'),
        Expr::UnaryOp { expr, .. } => matches!(**expr, Expr::Value(_)),
        _ => false,
    }
}
