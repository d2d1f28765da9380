//! The sqlparser check of a read: run once per statement shape, its verdict cached by digest.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectNamePart, Query, SetExpr, Statement as Ast, Visit, Visitor};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::builtins::is_builtin;
use super::functions::{contains, WRITER_FUNCTIONS};
use super::statement::Flags;

/// What sqlparser adds to the lexer's view of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadCheck {
    /// Flags to add: PARSE_FAILED, WRITES_DATA, LOCKING_READ, WRITER_FUNCTION.
    pub flags: Flags,
}

/// Parses `sql` and reports what makes it unfit for a reader. Functions that are not
/// built in count as writing unless `read_only_functions` (upper case; `NAME` or
/// `SCHEMA.NAME`) lists them.
pub fn check_read(sql: &[u8], read_only_functions: &[String]) -> ReadCheck {
    let text = String::from_utf8_lossy(sql);
    let statements = match Parser::parse_sql(&MySqlDialect {}, &text) {
        Ok(s) => s,
        Err(_) => {
            return ReadCheck {
                flags: Flags::PARSE_FAILED,
            }
        }
    };
    let mut finder = Finder {
        flags: Flags::empty(),
        allowed: read_only_functions,
    };
    for st in &statements {
        match st {
            Ast::Query(_) => {}
            Ast::Explain {
                statement, analyze, ..
            } => {
                if !matches!(**statement, Ast::Query(_)) && *analyze {
                    finder.flags |= Flags::WRITES_DATA;
                }
            }
            Ast::ExplainTable { .. } => {}
            s if is_show(s) => {}
            _ => finder.flags |= Flags::WRITES_DATA,
        }
        let _ = st.visit(&mut finder);
    }
    ReadCheck {
        flags: finder.flags,
    }
}

fn is_show(s: &Ast) -> bool {
    matches!(
        s,
        Ast::ShowTables { .. }
            | Ast::ShowColumns { .. }
            | Ast::ShowDatabases { .. }
            | Ast::ShowSchemas { .. }
            | Ast::ShowCreate { .. }
            | Ast::ShowVariables { .. }
            | Ast::ShowStatus { .. }
            | Ast::ShowCollation { .. }
            | Ast::ShowCharset(_)
            | Ast::ShowFunctions { .. }
            | Ast::ShowViews { .. }
            | Ast::ShowObjects(_)
            | Ast::ShowVariable { .. }
    )
}

struct Finder<'a> {
    flags: Flags,
    allowed: &'a [String],
}

impl Visitor for Finder<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if !query.locks.is_empty() {
            self.flags |= Flags::LOCKING_READ;
        }
        if body_writes(&query.body) {
            self.flags |= Flags::WRITES_DATA;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let parts: Vec<&str> = f
                .name
                .0
                .iter()
                .filter_map(|p| match p {
                    ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                    _ => None,
                })
                .collect();
            let name = parts.last().copied().unwrap_or_default();
            if contains(WRITER_FUNCTIONS, name.as_bytes()) {
                self.flags |= Flags::WRITER_FUNCTION;
            } else {
                let full = parts.join(".").to_ascii_uppercase();
                let listed = self.allowed.contains(&full);
                if !listed && (parts.len() > 1 || !is_builtin(name)) {
                    self.flags |= Flags::UNKNOWN_FUNCTION;
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn body_writes(body: &SetExpr) -> bool {
    match body {
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => true,
        SetExpr::SetOperation { left, right, .. } => body_writes(left) || body_writes(right),
        _ => false,
    }
}
