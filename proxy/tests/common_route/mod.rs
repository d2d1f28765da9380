//! Shared by the route_*.rs tables: a topology, a tiny model of the server's status flags,
//! and a checker that reports every mismatch of a table at once.
#![allow(dead_code)]

use rwsplit::classify::{Classifier, Kind, Statement};
use rwsplit::route::{
    route, status, Backend, BackendId, Outcome, Reason, Role, Route, Served, SessionState, Target,
    Topology,
};

pub fn topology() -> Topology {
    let mut r1 = Backend::new(BackendId(1), "r1:3306", Role::Reader);
    r1.read_only = Some(true);
    let mut r2 = Backend::new(BackendId(2), "r2:3306", Role::Reader);
    r2.read_only = Some(true);
    Topology {
        writer: Some(BackendId(0)),
        backends: vec![Backend::new(BackendId(0), "w:3306", Role::Writer), r1, r2],
    }
}

pub fn no_readers() -> Topology {
    let mut t = topology();
    for b in &mut t.backends {
        if b.role == Role::Reader {
            b.eligible = false;
        }
    }
    t
}

/// `reader`, `writer`, `backend:N`, optionally followed by `:reason`.
pub fn describe(r: &Route) -> String {
    let target = match r.target {
        Target::Writer => "writer".to_string(),
        Target::Reader => "reader".to_string(),
        Target::Backend(id) => format!("backend{}", id.0),
        Target::Refuse => "refuse".to_string(),
    };
    format!("{target}:{}", r.reason.label())
}

fn matches(got: &str, want: &str) -> bool {
    if want.contains(':') {
        got == want
    } else {
        got.split(':').next() == Some(want)
    }
}

/// Checks single statements in a fresh session: `(sql, expected route)`.
pub fn check_fresh(cases: &[(&str, &str)]) {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for (sql, want) in cases {
        let st = c.classify(sql.as_bytes());
        let got = describe(&route(&st, &SessionState::default(), &t));
        if !matches(&got, want) {
            bad.push(format!(
                "{sql:?}: got {got}, want {want} ({:?} {:?})",
                st.kind, st.flags
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        cases.len(),
        bad.join("\n")
    );
}

/// Checks the kind of each statement.
pub fn check_kinds(cases: &[(&str, Kind)]) {
    let c = Classifier::default();
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|(sql, want)| {
            let st = c.classify(sql.as_bytes());
            (st.kind != *want).then(|| format!("{sql:?}: kind {:?}, want {want:?}", st.kind))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        cases.len(),
        bad.join("\n")
    );
}

/// A session talking to a model server: it routes each statement, then tells the state
/// what the server's status flags would say.
pub struct Sim {
    pub c: Classifier,
    pub t: Topology,
    pub state: SessionState,
    /// The model server's flags.
    in_trans: bool,
    autocommit: bool,
}

impl Default for Sim {
    fn default() -> Self {
        Sim {
            c: Classifier::default(),
            t: topology(),
            state: SessionState::default(),
            in_trans: false,
            autocommit: true,
        }
    }
}

impl Sim {
    /// Routes `sql`, "runs" it successfully and returns the route.
    pub fn run(&mut self, sql: &str) -> Route {
        let st = self.c.classify(sql.as_bytes());
        self.run_statement(&st)
    }

    pub fn run_statement(&mut self, st: &Statement) -> Route {
        let r = route(st, &self.state, &self.t);
        let served = match r.target {
            Target::Refuse => return r, // the client got an error; nothing ran
            Target::Writer => Served::Writer,
            Target::Reader => Served::Reader(BackendId(1)),
            Target::Backend(id) if Some(id) == self.t.writer => Served::Writer,
            Target::Backend(id) => Served::Reader(id),
        };
        self.model(st);
        let mut flags = 0;
        if self.in_trans {
            flags |= status::IN_TRANS;
        }
        if self.autocommit {
            flags |= status::AUTOCOMMIT;
        }
        self.state.after(
            st,
            served,
            Outcome {
                ok: true,
                status: Some(flags),
            },
        );
        r
    }

    fn model(&mut self, st: &Statement) {
        let parts: Vec<&Statement> = if st.parts.is_empty() {
            vec![st]
        } else {
            st.parts.iter().collect()
        };
        for p in parts {
            match p.kind {
                Kind::Begin => self.in_trans = true,
                Kind::End => self.in_trans = false,
                Kind::Session => {
                    if let rwsplit::classify::Detail::Set(e) = &p.detail {
                        if let Some(ac) = e.autocommit {
                            if ac && !self.autocommit {
                                self.in_trans = false;
                            }
                            self.autocommit = ac;
                        }
                    }
                }
                Kind::Write | Kind::Read if !self.autocommit => self.in_trans = true,
                _ => {}
            }
        }
    }
}

/// Runs a sequence in one session: `(sql, expected route)` for each statement.
pub fn check_sequence(name: &str, steps: &[(&str, &str)]) {
    let mut sim = Sim::default();
    let mut bad = Vec::new();
    for (i, (sql, want)) in steps.iter().enumerate() {
        let got = describe(&sim.run(sql));
        if !matches(&got, want) {
            bad.push(format!("step {i} {sql:?}: got {got}, want {want}"));
        }
    }
    assert!(bad.is_empty(), "sequence {name}:\n{}", bad.join("\n"));
}

/// (statement, status flags after it, expected target, expected reason)
pub type Step = (&'static str, u16, Target, Reason);

/// Runs `steps` in one session starting from `state`: each statement is routed, "runs"
/// where it was routed (a reader pick is backend 2) and the state is told the status flags
/// the server reports after it. Returns the mismatches, one line each.
pub fn run_steps(t: &Topology, mut state: SessionState, steps: &[Step]) -> Vec<String> {
    let c = Classifier::default();
    let mut bad = Vec::new();
    for (i, &(sql, status, target, reason)) in steps.iter().enumerate() {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &state, t);
        if r.target != target || r.reason != reason {
            bad.push(format!(
                "  step {i} {sql:?}: {:?}/{:?}, want {target:?}/{reason:?}",
                r.target, r.reason
            ));
        }
        let served = match r.target {
            Target::Refuse => continue,
            Target::Writer => Served::Writer,
            Target::Reader => Served::Reader(BackendId(2)),
            Target::Backend(id) if Some(id) == t.writer => Served::Writer,
            Target::Backend(id) => Served::Reader(id),
        };
        state.after(
            &st,
            served,
            Outcome {
                ok: true,
                status: Some(status),
            },
        );
    }
    bad
}

/// Runs each named sequence in a fresh session on `t`; panics listing every mismatch.
pub fn check_step_sequences(t: &Topology, sequences: &[(&str, &[Step])]) {
    let mut bad = Vec::new();
    for (name, steps) in sequences {
        let errs = run_steps(t, SessionState::default(), steps);
        if !errs.is_empty() {
            bad.push(format!("{name}:\n{}", errs.join("\n")));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
