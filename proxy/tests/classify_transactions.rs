//! Transaction control: BEGIN / START TRANSACTION (read-only or not), COMMIT / ROLLBACK,
//! savepoints, XA verbs and the SET TRANSACTION forms, as classified and as routed in a
//! fresh session. (What happens to the statements that follow is in route_tx_sequences.rs.)

mod common_route;

use common_route::{no_readers, topology};
use rwsplit::classify::{Classifier, Detail, Kind, XaVerb};
use rwsplit::route::{route, Reason, SessionState, Target};

#[derive(Debug, Clone, Copy, PartialEq)]
enum D {
    None,
    Begin(bool),
    Xa(XaVerb),
    /// A plain COMMIT (Detail::Commit: its outcome can be verified).
    Commit,
    /// A session-scoped SET (Detail::Set).
    Set,
}

const RD: Target = Target::Reader;
const WR: Target = Target::Writer;

#[rustfmt::skip]
const CASES: &[(&str, Kind, D, Target, Reason)] = &[
    ("BEGIN", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    ("begin", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    ("BEGIN WORK", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    ("START TRANSACTION", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    ("START TRANSACTION READ WRITE", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    ("START TRANSACTION WITH CONSISTENT SNAPSHOT", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    ("START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    ("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE", Kind::Begin, D::Begin(false), WR, Reason::Transaction),
    // read-only transactions go to a reader
    ("START TRANSACTION READ ONLY", Kind::Begin, D::Begin(true), RD, Reason::ReadOnlyTransaction),
    ("start transaction read only", Kind::Begin, D::Begin(true), RD, Reason::ReadOnlyTransaction),
    ("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", Kind::Begin, D::Begin(true), RD, Reason::ReadOnlyTransaction),
    ("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT", Kind::Begin, D::Begin(true), RD, Reason::ReadOnlyTransaction),
    ("START /* go */ TRANSACTION READ ONLY", Kind::Begin, D::Begin(true), RD, Reason::ReadOnlyTransaction),
    ("/* rwsplit:writer */ START TRANSACTION READ ONLY", Kind::Begin, D::Begin(true), WR, Reason::Transaction),
    // the end of a transaction
    ("COMMIT", Kind::End, D::Commit, WR, Reason::Transaction),
    ("commit", Kind::End, D::Commit, WR, Reason::Transaction),
    ("COMMIT WORK", Kind::End, D::Commit, WR, Reason::Transaction),
    ("COMMIT AND CHAIN", Kind::End, D::None, WR, Reason::Transaction),
    ("COMMIT AND NO CHAIN RELEASE", Kind::End, D::None, WR, Reason::Transaction),
    ("ROLLBACK", Kind::End, D::None, WR, Reason::Transaction),
    ("ROLLBACK WORK", Kind::End, D::None, WR, Reason::Transaction),
    ("ROLLBACK AND CHAIN", Kind::End, D::None, WR, Reason::Transaction),
    ("ROLLBACK AND NO CHAIN", Kind::End, D::None, WR, Reason::Transaction),
    // savepoints stay inside
    ("SAVEPOINT sp1", Kind::Savepoint, D::None, WR, Reason::Transaction),
    ("SAVEPOINT `s140230489_x1`", Kind::Savepoint, D::None, WR, Reason::Transaction),
    ("RELEASE SAVEPOINT sp1", Kind::Savepoint, D::None, WR, Reason::Transaction),
    ("ROLLBACK TO SAVEPOINT sp1", Kind::Savepoint, D::None, WR, Reason::Transaction),
    ("ROLLBACK TO sp1", Kind::Savepoint, D::None, WR, Reason::Transaction),
    ("ROLLBACK WORK TO SAVEPOINT sp1", Kind::Savepoint, D::None, WR, Reason::Transaction),
    // XA
    ("XA START 'xid1'", Kind::Begin, D::Xa(XaVerb::Start), WR, Reason::Transaction),
    ("XA BEGIN 'xid1'", Kind::Begin, D::Xa(XaVerb::Start), WR, Reason::Transaction),
    ("XA END 'xid1'", Kind::Other, D::Xa(XaVerb::End), WR, Reason::Other),
    ("XA PREPARE 'xid1'", Kind::Other, D::Xa(XaVerb::Prepare), WR, Reason::Other),
    ("XA COMMIT 'xid1'", Kind::End, D::Xa(XaVerb::Commit), WR, Reason::Transaction),
    ("XA COMMIT 'xid1' ONE PHASE", Kind::End, D::Xa(XaVerb::Commit), WR, Reason::Transaction),
    ("XA ROLLBACK 'xid1'", Kind::End, D::Xa(XaVerb::Rollback), WR, Reason::Transaction),
    ("XA RECOVER", Kind::Other, D::Xa(XaVerb::Recover), WR, Reason::Other),
    // SET TRANSACTION: the next transaction only (Other); SESSION: the session (Session)
    ("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", Kind::Other, D::Set, WR, Reason::Other),
    ("SET TRANSACTION READ ONLY", Kind::Other, D::Set, WR, Reason::Other),
    ("SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE", Kind::Other, D::None, WR, Reason::Other),
    ("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", Kind::Session, D::Set, WR, Reason::SessionState),
    ("SET SESSION TRANSACTION READ ONLY", Kind::Session, D::Set, WR, Reason::SessionState),
    ("set session transaction read write", Kind::Session, D::Set, WR, Reason::SessionState),
];

fn detail(d: &Detail) -> D {
    match d {
        Detail::None => D::None,
        Detail::Begin { read_only } => D::Begin(*read_only),
        Detail::Xa(v) => D::Xa(*v),
        Detail::Commit => D::Commit,
        Detail::Set(_) => D::Set,
        // anything else is a mismatch for this table
        _ => D::None,
    }
}

#[test]
fn transaction_control_statements() {
    let c = Classifier::default();
    let t = topology();
    let mut bad = Vec::new();
    for &(sql, kind, d, target, reason) in CASES {
        let st = c.classify(sql.as_bytes());
        let r = route(&st, &SessionState::default(), &t);
        let got_d = detail(&st.detail);
        let exotic = !matches!(
            st.detail,
            Detail::None | Detail::Begin { .. } | Detail::Xa(_) | Detail::Set(_) | Detail::Commit
        );
        if st.kind != kind || got_d != d || exotic || r.target != target || r.reason != reason {
            bad.push(format!(
                "{sql:?}: {:?} {:?} -> {:?}/{:?}, want {kind:?} {d:?} -> {target:?}/{reason:?}",
                st.kind, st.detail, r.target, r.reason
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases wrong:\n{}",
        bad.len(),
        CASES.len(),
        bad.join("\n")
    );
}

#[test]
fn a_read_only_transaction_without_an_eligible_reader_begins_on_the_writer() {
    let c = Classifier::default();
    let t = no_readers();
    for (sql, ..) in CASES.iter().filter(|k| k.3 == Target::Reader) {
        let r = route(&c.classify(sql.as_bytes()), &SessionState::default(), &t);
        assert_eq!(
            (r.target, r.reason),
            (Target::Writer, Reason::NoReader),
            "{sql}"
        );
    }
}
