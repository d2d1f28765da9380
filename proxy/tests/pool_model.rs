//! Transaction pooling as a pure model: sessions take turns on a few shared connections
//! in random interleavings, each connection picked by the pool's `rank`, prepared by
//! `prepare_for` and brought up to date from the session's `History`, then given back
//! tagged with the history's fingerprint (or as unknown when it lags). The invariant:
//! whenever a session uses a connection, what the connection holds equals that
//! session's own history, never another's. No I/O; a seeded generator, many runs.

use std::collections::BTreeMap;

use rwsplit::backend::{prepare_for, rank, Prepare, UNKNOWN_STATE};
use rwsplit::session::{History, Replay};

/// A backend connection as the model sees it: the variables it holds.
#[derive(Debug, Default)]
struct Conn {
    tag: u64,
    vars: BTreeMap<String, String>,
    applied: u64,
}

#[derive(Default)]
struct Session {
    history: History,
    /// What the session set, as it expects to see it.
    truth: BTreeMap<String, String>,
    /// Connections it holds (at most two: a writer and a reader, say).
    held: Vec<Conn>,
}

/// `SET name = value` as a server runs it.
fn run(vars: &mut BTreeMap<String, String>, cmd: &Replay) {
    if let Replay::Query(sql) = cmd {
        let body = sql.trim_start_matches("SET ");
        if let Some((k, v)) = body.split_once(" = ") {
            vars.insert(k.to_string(), v.to_string());
        }
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The pool: idle connections, the best ranked handed out (a new one when none fits).
fn borrow(idle: &mut Vec<Conn>, s: &Session) -> Conn {
    let want = s.history.fingerprint();
    let best = idle
        .iter()
        .enumerate()
        .filter_map(|(i, c)| rank(c.tag, None, want, None).map(|r| (r, i)))
        .min();
    let mut c = match best {
        Some((_, i)) => idle.swap_remove(i),
        None => Conn::default(),
    };
    match prepare_for(c.tag, want) {
        Prepare::Ready => c.applied = s.history.last_seq(),
        Prepare::Replay => c.applied = 0,
        Prepare::ResetAndReplay => {
            c.vars.clear();
            c.applied = 0;
        }
    }
    sync(&mut c, s);
    c
}

/// What `Conns` does before a connection serves: replays what it has not applied.
fn sync(c: &mut Conn, s: &Session) {
    for e in s.history.since(c.applied) {
        run(&mut c.vars, &e.cmd);
        c.applied = e.seq;
    }
    c.applied = s.history.last_seq();
}

fn give_back(idle: &mut Vec<Conn>, s: &mut Session) {
    for mut c in s.held.drain(..) {
        c.tag = match c.applied >= s.history.last_seq() {
            true => s.history.fingerprint(),
            false => UNKNOWN_STATE,
        };
        idle.push(c);
    }
}

fn one_run(seed: u64, steps: usize) -> Result<(), String> {
    let mut rng = Rng(seed | 1);
    let mut sessions: Vec<Session> = (0..5).map(|_| Session::default()).collect();
    let mut idle: Vec<Conn> = Vec::new();
    for step in 0..steps {
        let n = rng.below(sessions.len() as u64) as usize;
        let s = &mut sessions[n];
        match rng.below(10) {
            // SET on a connection it holds (taking one if it holds none).
            0..=3 => {
                if s.held.is_empty() {
                    let c = borrow(&mut idle, s);
                    s.held.push(c);
                }
                let var = format!("v{}", rng.below(3));
                let value = format!("'{}'", rng.below(3));
                let cmd = Replay::Query(format!("SET {var} = {value}"));
                let at = rng.below(s.held.len() as u64) as usize;
                // As `Conns` does: a connection is brought up to date before it runs one.
                let view = Session {
                    history: s.history.clone(),
                    ..Default::default()
                };
                sync(&mut s.held[at], &view);
                run(&mut s.held[at].vars, &cmd);
                if let Some(seq) = s.history.push(&var, true, cmd, 100, 1 << 20) {
                    s.held[at].applied = seq;
                }
                s.truth.insert(var, value);
            }
            // A statement on a second connection (a reader), brought up to date first.
            4..=5 if s.held.len() < 2 => {
                let c = borrow(&mut idle, s);
                s.held.push(c);
            }
            // A statement on a connection it holds.
            4..=7 => {
                if s.held.is_empty() {
                    let c = borrow(&mut idle, s);
                    s.held.push(c);
                }
                let at = rng.below(s.held.len() as u64) as usize;
                let view = Session {
                    history: s.history.clone(),
                    ..Default::default()
                };
                sync(&mut s.held[at], &view);
                if s.held[at].vars != s.truth {
                    return Err(format!(
                        "seed {seed} step {step}: session {n} saw {:?}, its own state is {:?}",
                        s.held[at].vars, s.truth
                    ));
                }
            }
            // Between statements: the connections go back.
            _ => give_back(&mut idle, s),
        }
        for c in &s.held {
            if c.applied == s.history.last_seq() && c.vars != s.truth {
                return Err(format!(
                    "seed {seed} step {step}: session {n} holds {:?}, its own state is {:?}",
                    c.vars, s.truth
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn each_session_sees_its_own_history_in_every_interleaving() {
    for seed in 1..=300u64 {
        one_run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 400).unwrap();
    }
}

#[test]
fn the_model_catches_a_pool_that_skips_the_reset() {
    // The same model with another session's connection used as it is must fail: the
    // invariant is not vacuous.
    let mut failures = 0;
    for seed in 1..=50u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut a = Session::default();
        let mut b = Session::default();
        let cmd = Replay::Query(format!("SET v0 = '{}'", rng.below(3)));
        let mut c = Conn::default();
        run(&mut c.vars, &cmd);
        a.history.push("v0", true, cmd, 100, 1 << 20);
        c.applied = a.history.last_seq();
        a.held.push(c);
        let mut idle = Vec::new();
        give_back(&mut idle, &mut a);
        // Skipping the pool's preparation: b takes the connection as it is.
        let mut taken = idle.pop().unwrap_or_default();
        taken.applied = b.history.last_seq();
        sync(&mut taken, &b);
        if taken.vars != b.truth {
            failures += 1;
        }
        b.held.push(taken);
    }
    assert_eq!(failures, 50);
}
