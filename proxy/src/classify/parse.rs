//! The sqlparser check of a read: run once per statement shape, its verdict cached by digest.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectNamePart, Query, SetExpr, Statement as Ast, Visit, Visitor};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::functions::{contains, WRITER_FUNCTIONS};
use super::statement::Flags;

/// What sqlparser adds to the lexer's view of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadCheck {
    /// Flags to add: PARSE_FAILED, WRITES_DATA, LOCKING_READ, WRITER_FUNCTION.
    pub flags: Flags,
}

/// Parses `sql` and reports what makes it unfit for a reader.
pub fn check_read(sql: &[u8]) -> ReadCheck {
    let text = String::from_utf8_lossy(sql);
    let statements = match Parser::parse_sql(&MySqlDialect {}, &text) {
        Ok(s) => s,
        Err(_) => {
            return ReadCheck {
                flags: Flags::PARSE_FAILED,
            }
        }
    };
    let mut finder = Finder::default();
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

#[derive(Default)]
struct Finder {
    flags: Flags,
}

impl Visitor for Finder {
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
            if let Some(ObjectNamePart::Identifier(i)) = f.name.0.last() {
                if contains(WRITER_FUNCTIONS, i.value.as_bytes()) {
                    self.flags |= Flags::WRITER_FUNCTION;
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
