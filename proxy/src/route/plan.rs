//! The plan for one statement: where it goes ([`route`]), what must happen first, whether
//! it is refused, and the readers to try in order. Pure: the session carries a plan out
//! (the consistency check and retries walk `candidates`) and decides nothing itself.

use crate::classify::{Kind, Statement};
use crate::config::{Fallback, Policy};

use super::select::{choose_reader, Load};
use super::state::{Served, SessionState};
use super::topology::{BackendId, Topology};
use super::{route, Reason, Route, Target};

/// What the router needs of the configuration and the moment: the policy, the fallback,
/// the ticket (a number that grows by one per choice of a reader; asked for only when the
/// plan chooses readers, so writes do not stride round robin) and the readers' loads.
pub struct PlanPolicy<'a> {
    pub policy: Policy,
    pub fallback: Fallback,
    pub ticket: &'a dyn Fn() -> u64,
    pub load: &'a dyn Fn(BackendId) -> Load,
}

/// What must run before the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prelude {
    /// COMMIT the read-only transaction this reader holds (a BEGIN inside it ends it, as
    /// a server commits implicitly).
    CommitReaderTransaction(BackendId),
}

/// Why the client gets an error in place of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A write inside a read-only transaction held by a reader (1792).
    ReadOnlyTransaction,
    /// A read with no eligible reader and `routing.fallback = "error"` (1105).
    NoReader,
}

/// The plan for one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub route: Route,
    pub prelude: Option<Prelude>,
    pub refusal: Option<Refusal>,
    /// For [`Target::Reader`]: every eligible reader, in the order the policy prefers.
    pub candidates: Vec<BackendId>,
}

/// Plans `st` in a session in `state` over `topology`.
pub fn plan(
    st: &Statement,
    state: &SessionState,
    topology: &Topology,
    policy: &PlanPolicy<'_>,
) -> Plan {
    let mut prelude = None;
    let route = match (st.kind, state.tx_backend) {
        (Kind::Begin, Some(Served::Reader(id))) => {
            prelude = Some(Prelude::CommitReaderTransaction(id));
            let mut after = state.clone();
            after.end_reader_transaction();
            route(st, &after, topology)
        }
        _ => route(st, state, topology),
    };
    let refusal = if route.target == Target::Refuse {
        Some(Refusal::ReadOnlyTransaction)
    } else if route.reason == Reason::NoReader
        && policy.fallback == Fallback::Error
        && st.kind == Kind::Read
    {
        Some(Refusal::NoReader)
    } else {
        None
    };
    let candidates = match (route.target, refusal) {
        (Target::Reader, None) => ordered_readers(topology, policy),
        _ => Vec::new(),
    };
    Plan {
        route,
        prelude,
        refusal,
        candidates,
    }
}

/// Every eligible reader, best first by the policy: the policy's choice, then its choice
/// among the rest, and so on.
fn ordered_readers(topology: &Topology, policy: &PlanPolicy<'_>) -> Vec<BackendId> {
    let mut order = Vec::new();
    if !topology.has_eligible_reader() {
        return order;
    }
    let ticket = (policy.ticket)();
    while let Some(id) = choose_reader(topology, policy.policy, ticket, &order, policy.load) {
        order.push(id);
    }
    order
}

/// The plan for COM_STMT_PREPARE: on the writer; while the writer is away
/// (`writer_away`), on the readers in the policy's order.
pub fn plan_prepare(topology: &Topology, writer_away: bool, policy: &PlanPolicy<'_>) -> Plan {
    let (target, candidates) = match writer_away {
        true => (Target::Reader, ordered_readers(topology, policy)),
        false => (Target::Writer, Vec::new()),
    };
    Plan {
        route: Route {
            target,
            reason: Reason::Other,
        },
        prelude: None,
        refusal: None,
        candidates,
    }
}

/// The plan for COM_STMT_FETCH: the backend holding the statement's open cursor (the
/// writer when none is known), and nowhere else.
pub fn plan_cursor(cursor: Option<Served>, topology: &Topology) -> Plan {
    let target = match cursor {
        Some(Served::Reader(id)) => Target::Backend(id),
        _ => match topology.writer {
            Some(w) => Target::Backend(w),
            None => Target::Writer,
        },
    };
    Plan {
        route: Route {
            target,
            reason: Reason::LastStatement,
        },
        prelude: None,
        refusal: None,
        candidates: Vec::new(),
    }
}

impl Plan {
    /// The backend to try first.
    pub fn first(&self, topology: &Topology) -> Served {
        match self.route.target {
            Target::Reader => self.next_reader(&[]).map_or(Served::Writer, Served::Reader),
            Target::Backend(id) if Some(id) != topology.writer => Served::Reader(id),
            Target::Writer | Target::Backend(_) | Target::Refuse => Served::Writer,
        }
    }

    /// After the readers in `tried` could not serve (not fresh enough, or failed before
    /// the client saw anything): the next candidate reader, if the statement may go to
    /// any reader at all.
    pub fn next_reader(&self, tried: &[BackendId]) -> Option<BackendId> {
        self.candidates
            .iter()
            .copied()
            .find(|id| !tried.contains(id))
    }

    /// After the readers in `tried` were not fresh enough (read-your-writes): the next
    /// candidate with `reason` unchanged, else the writer for [`Reason::Consistency`].
    pub fn after_stale(&self, tried: &[BackendId], reason: Reason) -> (Served, Reason) {
        match self.next_reader(tried) {
            Some(r) => (Served::Reader(r), reason),
            None => (Served::Writer, Reason::Consistency),
        }
    }

    /// After the backends in `tried` failed before the client saw anything: the next
    /// candidate reader, else the writer.
    pub fn after_failure(&self, tried: &[BackendId]) -> Served {
        self.next_reader(tried)
            .map_or(Served::Writer, Served::Reader)
    }
}
