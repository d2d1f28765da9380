//! Names the classifier looks for. All upper case; compared case-insensitively.

/// Functions whose result depends on this connection's history or that change server state:
/// a SELECT that calls one runs on the writer (where that history is).
pub const WRITER_FUNCTIONS: &[&str] = &[
    "LAST_INSERT_ID",
    "FOUND_ROWS",
    "GET_LOCK",
    "RELEASE_LOCK",
    "RELEASE_ALL_LOCKS",
    "IS_FREE_LOCK",
    "IS_USED_LOCK",
    "NEXTVAL",
    "LASTVAL",
    "SETVAL",
    "CONNECTION_ID",
    "LOAD_FILE",
    "MASTER_POS_WAIT",
    "SOURCE_POS_WAIT",
];

/// Functions that report on the previous statement: they must run where it ran.
pub const LAST_STATEMENT_FUNCTIONS: &[&str] = &["ROW_COUNT"];

/// System variables bound to this connection's writes: read on the writer.
pub const WRITER_SYSVARS: &[&str] = &[
    "IDENTITY",
    "LAST_INSERT_ID",
    "INSERT_ID",
    "LAST_GTID",
    "IN_TRANSACTION",
    "GTID_BINLOG_POS",
    "GTID_CURRENT_POS",
    "GTID_SLAVE_POS",
    "GTID_EXECUTED",
    "GTID_BINLOG_STATE",
];

/// System variables that report on the previous statement.
pub const LAST_STATEMENT_SYSVARS: &[&str] = &["WARNING_COUNT", "ERROR_COUNT"];

/// Statements that start with these words write, or change the server: the writer runs them.
pub const WRITE_WORDS: &[&str] = &[
    "INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD", "CREATE", "ALTER", "DROP", "RENAME",
    "TRUNCATE", "GRANT", "REVOKE",
];

/// `SHOW …` forms that must not go to a reader: they describe this connection or the
/// replication role of the server that answers.
pub const SHOW_WRITER_WORDS: &[&str] = &[
    "MASTER",
    "BINLOG",
    "BINARY",
    "SLAVE",
    "REPLICA",
    "ALL",
    "RELAYLOG",
    "PROCESSLIST",
    "FULL",
    "STATUS",
    "SESSION",
    "LOCAL",
    "GLOBAL",
    "ENGINE",
    "OPEN",
    "PROFILE",
    "PROFILES",
    "EXPLAIN",
    "ANALYZE",
];

/// `information_schema` tables that show the answering server's own state (its threads,
/// status counters, locks, per-connection statistics), as the `SHOW` forms in
/// [`SHOW_WRITER_WORDS`] do: a read of one goes where `SHOW PROCESSLIST` goes.
/// `INNODB_*` and `THREAD_POOL_*` tables count too (see [`is_server_local`]).
/// `GLOBAL_VARIABLES`/`SESSION_VARIABLES` are not listed: `SHOW VARIABLES` is a read.
pub const SERVER_LOCAL_TABLES: &[&str] = &[
    "PROCESSLIST",
    "SESSION_STATUS",
    "GLOBAL_STATUS",
    "USER_VARIABLES",
    "USER_STATISTICS",
    "CLIENT_STATISTICS",
    "INDEX_STATISTICS",
    "TABLE_STATISTICS",
    "QUERY_RESPONSE_TIME",
    "QUERY_CACHE_INFO",
    "METADATA_LOCK_INFO",
    "PROFILING",
    "KEY_CACHES",
    "SLAVE_STATUS",
];

/// True when `schema.table` shows server-local state: any table of `performance_schema`
/// or `sys` (views over it), and the `information_schema` tables above.
pub fn is_server_local(schema: &[u8], table: &[u8]) -> bool {
    if schema.eq_ignore_ascii_case(b"performance_schema") || schema.eq_ignore_ascii_case(b"sys") {
        return true;
    }
    schema.eq_ignore_ascii_case(b"information_schema")
        && (contains(SERVER_LOCAL_TABLES, table)
            || has_prefix(table, b"INNODB_")
            || has_prefix(table, b"THREAD_POOL_"))
}

/// True when `word` starts with `prefix` (any case) and goes on after it.
#[inline]
fn has_prefix(word: &[u8], prefix: &[u8]) -> bool {
    word.len() > prefix.len() && word[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// An identifier without its enclosing backquotes (doubled backquotes inside stay).
#[inline]
pub fn unquote(ident: &[u8]) -> &[u8] {
    ident
        .strip_prefix(b"`")
        .and_then(|i| i.strip_suffix(b"`"))
        .unwrap_or(ident)
}

/// True when `word` (any case) is in `list` (upper case).
#[inline]
pub fn contains(list: &[&str], word: &[u8]) -> bool {
    list.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(word))
}

/// Strips `@@`, a `session.`/`local.`/`global.` prefix and backquotes from a system variable
/// token, returning the bare name and whether `global.` was given.
pub fn sysvar_name(tok: &[u8]) -> (&[u8], bool) {
    let mut name = tok.strip_prefix(b"@@").unwrap_or(tok);
    let mut global = false;
    for (prefix, is_global) in [
        (&b"session."[..], false),
        (&b"local."[..], false),
        (&b"global."[..], true),
    ] {
        if has_prefix(name, prefix) {
            name = &name[prefix.len()..];
            global = is_global;
            break;
        }
    }
    (unquote(name), global)
}
