//! Admin commands: parsing (pure) and running them against the shared state.

use std::sync::atomic::Ordering;
use std::time::UNIX_EPOCH;

use crate::classify::lexer::{Lexer, TokenKind};
use crate::route::Role;
use crate::shared::Shared;

/// A parsed admin command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    ShowBackends,
    ShowSessions,
    ShowPools,
    ShowDigest {
        limit: usize,
    },
    ShowConfig,
    SetBackend {
        addr: String,
        offline: bool,
    },
    ReloadConfig,
    Help,
    /// What the mariadb/mysql CLI asks when it connects.
    VersionComment,
}

/// A result set: column names and rows of text (NULL = None).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Option<String>>>,
}

const HELP: &[(&str, &str)] = &[
    ("SHOW BACKENDS", "backends: role, state, lag, connections"),
    ("SHOW SESSIONS", "client sessions"),
    (
        "SHOW POOLS",
        "backend connection pools: open, idle, borrowed, waiting",
    ),
    (
        "SHOW QUERY DIGEST [LIMIT n]",
        "statement shapes by total time",
    ),
    (
        "SHOW CONFIG",
        "the configuration in effect (passwords masked)",
    ),
    (
        "SET BACKEND 'host:port' OFFLINE",
        "drain a reader: no new reads; transactions finish",
    ),
    ("SET BACKEND 'host:port' ONLINE", "put it back"),
    (
        "RELOAD CONFIG",
        "re-read the configuration file (as SIGHUP does)",
    ),
];

/// Parses an admin command (case-insensitive; a trailing `;` and comments are ignored).
pub fn parse(query: &str) -> Result<AdminCommand, String> {
    let src = query.as_bytes();
    let toks: Vec<String> = Lexer::new(src)
        .filter(|t| t.kind != TokenKind::Semicolon)
        .map(|t| String::from_utf8_lossy(t.text(src)).into_owned())
        .collect();
    let words: Vec<String> = toks.iter().map(|t| t.to_ascii_uppercase()).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let unquote = |s: &str| {
        s.trim_matches(|c| c == '\'' || c == '"' || c == '`')
            .to_string()
    };
    match w.as_slice() {
        ["SHOW", "BACKENDS"] | ["SHOW", "SERVERS"] => Ok(AdminCommand::ShowBackends),
        ["SHOW", "SESSIONS"] | ["SHOW", "PROCESSLIST"] => Ok(AdminCommand::ShowSessions),
        ["SHOW", "POOLS"] => Ok(AdminCommand::ShowPools),
        ["SHOW", "QUERY", "DIGEST"] => Ok(AdminCommand::ShowDigest { limit: 100 }),
        ["SHOW", "QUERY", "DIGEST", "LIMIT", n] => n
            .parse()
            .map(|limit| AdminCommand::ShowDigest { limit })
            .map_err(|_| format!("LIMIT takes a number, not {n}")),
        ["SHOW", "CONFIG"] => Ok(AdminCommand::ShowConfig),
        ["SET", "BACKEND", _, state @ ("OFFLINE" | "ONLINE")] => Ok(AdminCommand::SetBackend {
            addr: unquote(&toks[2]),
            offline: *state == "OFFLINE",
        }),
        ["RELOAD", "CONFIG"] => Ok(AdminCommand::ReloadConfig),
        ["HELP"] | ["SHOW", "COMMANDS"] => Ok(AdminCommand::Help),
        ["SELECT", "@@VERSION_COMMENT", ..] => Ok(AdminCommand::VersionComment),
        _ => Err(format!(
            "unknown admin command: {}. Try: {}",
            query.trim(),
            HELP.iter().map(|(c, _)| *c).collect::<Vec<_>>().join("; ")
        )),
    }
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// Runs a command: a result set, or nothing (OK).
pub fn run(shared: &Shared, cmd: AdminCommand) -> Result<Option<Table>, String> {
    match cmd {
        AdminCommand::Help => Ok(Some(Table {
            columns: vec!["command", "what"],
            rows: HELP.iter().map(|(c, w)| vec![s(c), s(w)]).collect(),
        })),
        AdminCommand::VersionComment => Ok(Some(Table {
            columns: vec!["@@version_comment"],
            rows: vec![vec![s("rwsplit admin interface")]],
        })),
        AdminCommand::ShowBackends => {
            let topo = shared.topology.current();
            let rows = topo
                .backends
                .iter()
                .map(|b| {
                    let load = shared.loads.of(b.id);
                    let state = if shared.topology.is_offline(&b.addr) {
                        "offline"
                    } else if !b.up {
                        "down"
                    } else if b.role == Role::Writer || b.eligible {
                        "online"
                    } else {
                        "not eligible"
                    };
                    vec![
                        s(&b.addr),
                        s(b.role.label()),
                        s(state),
                        b.read_only
                            .map(|r| if r { "ON" } else { "OFF" }.to_string()),
                        b.lag_ms.map(|l| l.to_string()),
                        s(b.weight),
                        s(load.open.load(Ordering::Relaxed)),
                        s(load.active.load(Ordering::Relaxed)),
                        s(load.ewma_us.load(Ordering::Relaxed)),
                        s(b.flavour.label()),
                    ]
                })
                .collect();
            Ok(Some(Table {
                columns: vec![
                    "address",
                    "role",
                    "state",
                    "read_only",
                    "lag_ms",
                    "weight",
                    "connections",
                    "active",
                    "response_us",
                    "flavour",
                ],
                rows,
            }))
        }
        AdminCommand::ShowSessions => {
            let rows = shared
                .sessions
                .list()
                .iter()
                .map(|i| {
                    let age = i.started.elapsed().map(|d| d.as_secs()).unwrap_or(0);
                    vec![
                        s(i.id),
                        s(i.user()),
                        s(&i.peer),
                        i.db(),
                        s(if i.in_transaction.load(Ordering::Relaxed) {
                            "yes"
                        } else {
                            "no"
                        }),
                        s(i.statements.load(Ordering::Relaxed)),
                        s(age),
                        i.pinned(),
                        s(i.threads().len()),
                    ]
                })
                .collect();
            Ok(Some(Table {
                columns: vec![
                    "id",
                    "user",
                    "client",
                    "db",
                    "in_transaction",
                    "statements",
                    "seconds",
                    "pinned",
                    "backend_connections",
                ],
                rows,
            }))
        }
        AdminCommand::ShowPools => {
            let max = shared.live.config().pool.max_connections;
            let rows = shared
                .pools
                .rows()
                .iter()
                .map(|r| {
                    vec![
                        s(&r.addr),
                        s(r.role.label()),
                        s(r.stats.open),
                        s(r.stats.idle),
                        s(r.stats.borrowed()),
                        s(r.stats.waiting),
                        s(max),
                    ]
                })
                .collect();
            Ok(Some(Table {
                columns: vec![
                    "backend",
                    "role",
                    "open",
                    "idle",
                    "borrowed",
                    "waiting",
                    "max_connections",
                ],
                rows,
            }))
        }
        AdminCommand::ShowDigest { limit } => {
            let rows = shared
                .digests
                .top(limit)
                .into_iter()
                .map(|d| {
                    let avg = d.total.as_micros() as u64 / d.count.max(1);
                    vec![
                        s(format!("{:016x}", d.digest)),
                        s(&d.text),
                        s(d.count),
                        s(d.on_reader),
                        s(d.on_writer),
                        s(d.errors),
                        s(d.total.as_micros()),
                        s(avg),
                        s(d.max.as_micros()),
                        s(d.last_seen
                            .duration_since(UNIX_EPOCH)
                            .map(|t| t.as_secs())
                            .unwrap_or(0)),
                    ]
                })
                .collect();
            Ok(Some(Table {
                columns: vec![
                    "digest",
                    "statement",
                    "count",
                    "on_reader",
                    "on_writer",
                    "errors",
                    "total_us",
                    "avg_us",
                    "max_us",
                    "last_seen",
                ],
                rows,
            }))
        }
        AdminCommand::ShowConfig => {
            let text = shared.live.config().to_masked_toml();
            Ok(Some(Table {
                columns: vec!["config"],
                rows: text.lines().map(|l| vec![s(l)]).collect(),
            }))
        }
        AdminCommand::SetBackend { addr, offline } => {
            let topo = shared.topology.current();
            let Some(b) = topo.backends.iter().find(|b| b.addr == addr) else {
                return Err(format!(
                    "no backend '{addr}'; backends: {}",
                    topo.backends
                        .iter()
                        .map(|b| b.addr.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if offline && b.role == Role::Writer {
                return Err(format!(
                    "'{addr}' is the writer: promote another node before draining it"
                ));
            }
            shared.topology.set_offline(&addr, offline);
            tracing::info!(backend = %addr, offline, "backend set by the admin interface");
            Ok(None)
        }
        AdminCommand::ReloadConfig => shared.reload().map(|()| None),
    }
}
