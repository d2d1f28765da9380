//! Property test: random sequences of session commands, statements, transactions and
//! prepared statements, against a model of the server. Invariants:
//! 1. no statement of a read-write transaction leaves the writer;
//! 2. no write or locking read reaches a reader;
//! 3. a reader never serves a read under session state it cannot have (temporary tables,
//!    values only the writer computed).

use proptest::prelude::*;
use rwsplit::classify::{Classifier, Flags, Kind};
use rwsplit::route::{
    route, status, Backend, BackendId, Outcome, Role, Served, SessionState, Target, Topology,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Read,
    Write,
    Locking,
    Begin,
    BeginReadOnly,
    End,
    AutocommitOff,
    AutocommitOn,
    TempCreate,
    TempDrop,
    SetReplayable,
    SetUserUnreplayable,
    ReadUserVar,
    Lock,
    Unlock,
    Other,
}

const POOL: &[(&str, Class)] = &[
    ("SELECT * FROM t WHERE id = 1", Class::Read),
    ("SELECT COUNT(*) FROM t", Class::Read),
    ("SHOW TABLES", Class::Read),
    ("/* rwsplit:reader */ SELECT 1", Class::Read),
    ("INSERT INTO t VALUES (1)", Class::Write),
    ("UPDATE t SET a = 1", Class::Write),
    ("/* rwsplit:reader */ DELETE FROM t", Class::Write),
    ("WITH x AS (SELECT 1) DELETE FROM t", Class::Write),
    ("SELECT * FROM t FOR UPDATE", Class::Locking),
    (
        "/* rwsplit:reader */ SELECT * FROM t LOCK IN SHARE MODE",
        Class::Locking,
    ),
    ("SELECT GET_LOCK('a', 1)", Class::Locking),
    ("BEGIN", Class::Begin),
    ("START TRANSACTION", Class::Begin),
    ("START TRANSACTION READ ONLY", Class::BeginReadOnly),
    ("COMMIT", Class::End),
    ("ROLLBACK", Class::End),
    ("SET autocommit=0", Class::AutocommitOff),
    ("SET autocommit=1", Class::AutocommitOn),
    ("CREATE TEMPORARY TABLE tmp (id INT)", Class::TempCreate),
    ("DROP TEMPORARY TABLE IF EXISTS tmp", Class::TempDrop),
    ("SET @a = 1", Class::SetReplayable),
    ("SET NAMES utf8mb4", Class::SetReplayable),
    // Read back by the session and replayed as literals: as replayable as `SET @a = 1`.
    ("SET @t = NOW()", Class::SetReplayable),
    ("SELECT id INTO @t FROM t LIMIT 1", Class::SetReplayable),
    // Not read back (inside a multi-statement query): the values stay the writer's.
    ("SET @t = NOW(); DO 1", Class::SetUserUnreplayable),
    (
        "DO 1; SELECT id INTO @t FROM t LIMIT 1",
        Class::SetUserUnreplayable,
    ),
    ("SELECT @t", Class::ReadUserVar),
    ("LOCK TABLES t WRITE", Class::Lock),
    ("UNLOCK TABLES", Class::Unlock),
    ("CALL p()", Class::Other),
];

#[derive(Default, Debug)]
struct Model {
    autocommit_off: bool,
    rw_tx: bool,
    ro_tx: bool,
    temp: bool,
    locked: bool,
    user_unreplayable: bool,
}

fn topology() -> Topology {
    let mut r = Backend::new(BackendId(1), "r", Role::Reader);
    r.read_only = Some(true);
    Topology {
        writer: Some(BackendId(0)),
        backends: vec![Backend::new(BackendId(0), "w", Role::Writer), r],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn routing_invariants(steps in prop::collection::vec((0..POOL.len(), any::<bool>()), 1..40)) {
        let c = Classifier::default();
        let t = topology();
        let mut state = SessionState::default();
        let mut m = Model::default();
        for (i, prepared) in steps {
            let (sql, class) = POOL[i];
            let mut st = c.classify(sql.as_bytes());
            if prepared && matches!(class, Class::Read | Class::Write | Class::Locking) {
                st.flags |= Flags::PREPARED;
            }
            let r = route(&st, &state, &t);
            let on_reader = matches!(r.target, Target::Reader | Target::Backend(BackendId(1)));
            // 1.
            if m.rw_tx || m.autocommit_off {
                prop_assert!(r.target == Target::Writer, "{sql} left the writer inside a transaction: {r:?} {m:?}");
            }
            // 2.
            if matches!(class, Class::Write | Class::Locking | Class::Lock | Class::Other | Class::TempCreate) {
                prop_assert!(!on_reader, "{sql} reached a reader: {r:?} {m:?}");
            }
            // 3.
            if on_reader && !m.ro_tx {
                prop_assert!(!m.temp && !m.locked, "{sql} read on a reader with temp tables or locks: {m:?}");
                if class == Class::ReadUserVar {
                    prop_assert!(!m.user_unreplayable, "{sql} read a writer-only variable on a reader");
                }
            }
            if r.target == Target::Refuse {
                prop_assert!(m.ro_tx, "refused outside a read-only transaction: {sql}");
                continue; // the client got 1792; nothing ran
            }
            // The model server runs it.
            match class {
                Class::Begin => { m.rw_tx = true; m.ro_tx = false; }
                Class::BeginReadOnly => { if m.rw_tx || m.autocommit_off { m.rw_tx = true } else { m.ro_tx = true } }
                Class::End => { m.rw_tx = false; m.ro_tx = false; }
                Class::AutocommitOff => { m.autocommit_off = true; }
                Class::AutocommitOn => { m.autocommit_off = false; m.rw_tx = false; }
                Class::TempCreate => m.temp = true,
                Class::TempDrop => m.temp = false,
                Class::Lock => m.locked = true,
                Class::Unlock => m.locked = false,
                Class::SetUserUnreplayable => m.user_unreplayable = true,
                Class::Write | Class::Read | Class::Locking | Class::ReadUserVar | Class::Other => {
                    if m.autocommit_off { m.rw_tx = true; }
                }
                Class::SetReplayable => {}
            }
            let served = match r.target {
                Target::Writer => Served::Writer,
                Target::Backend(BackendId(0)) => Served::Writer,
                _ => Served::Reader(BackendId(1)),
            };
            let in_trans = m.rw_tx || m.ro_tx;
            let mut flags = if m.autocommit_off { 0 } else { status::AUTOCOMMIT };
            if in_trans { flags |= status::IN_TRANS; }
            // Only the backend holding the transaction reports on it.
            state.after(&st, served, Outcome { ok: true, status: Some(flags) });
            let _ = Kind::Read;
        }
    }
}
