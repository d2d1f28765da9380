//! The database: one pool on the one DSN, and migrations (versioned SQL files, a table
//! recording what ran, serialized by a lock so several processes may start at once).

use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};

/// The migrations, in order: (version, name, SQL).
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "auth_users",
        include_str!("../migrations/001_auth_users.sql"),
    ),
    (
        2,
        "catalog_books",
        include_str!("../migrations/002_catalog_books.sql"),
    ),
    (3, "orders", include_str!("../migrations/003_orders.sql")),
    (
        4,
        "seed_providers",
        include_str!("../migrations/004_seed_providers.sql"),
    ),
];

/// How long the app waits for the database at start: a sidecar (rwsplit) or a database
/// container may start after the app.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The first connection, retried for up to `START_WAIT` while nothing answers. A refused
/// login or another server error is not retried.
async fn first_connection(opts: OptsBuilder) -> anyhow::Result<mysql_async::Conn> {
    let deadline = std::time::Instant::now() + START_WAIT;
    loop {
        match mysql_async::Conn::new(opts.clone()).await {
            Ok(c) => return Ok(c),
            Err(mysql_async::Error::Server(e)) => return Err(e.into()),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A pool on `url`, creating its database first if it does not exist.
pub async fn connect(url: &str) -> anyhow::Result<Pool> {
    // mysql_async would otherwise ask the server for its unix socket and reconnect there,
    // straight to whichever backend answered: past rwsplit.
    let opts: Opts = OptsBuilder::from_opts(Opts::from_url(url)?)
        .prefer_socket(false)
        .into();
    if let Some(db) = opts.db_name().map(str::to_string) {
        let bare = OptsBuilder::from_opts(opts.clone()).db_name(None::<String>);
        let mut c = first_connection(bare).await?;
        c.query_drop(format!(
            "CREATE DATABASE IF NOT EXISTS `{}`",
            db.replace('`', "``")
        ))
        .await?;
        c.disconnect().await?;
    }
    let pool_opts =
        PoolOpts::default().with_constraints(PoolConstraints::new(1, 32).unwrap_or_default());
    Ok(Pool::new(OptsBuilder::from_opts(opts).pool_opts(pool_opts)))
}

/// Applies the migrations not applied yet. Idempotent.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut c = pool.get_conn().await?;
    let got: Option<i64> = c
        .query_first("SELECT GET_LOCK('bookstore_migrations', 60)")
        .await?;
    if got != Some(1) {
        anyhow::bail!("could not take the migration lock");
    }
    let result = apply(&mut c).await;
    let _: Option<i64> = c
        .query_first("SELECT RELEASE_LOCK('bookstore_migrations')")
        .await?;
    result
}

async fn apply(c: &mut mysql_async::Conn) -> anyhow::Result<()> {
    c.query_drop(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INT UNSIGNED PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )
    .await?;
    // Read on the writer: the lock holder must see what other processes just applied.
    let done: Vec<u32> = c
        .query("SELECT version FROM schema_migrations FOR UPDATE")
        .await?;
    for (version, name, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        for statement in sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.lines().all(|l| l.trim_start().starts_with("--")))
        {
            c.query_drop(statement).await?;
        }
        c.exec_drop(
            "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
            (version, name),
        )
        .await?;
        tracing::info!(version, name, "migration applied");
    }
    Ok(())
}
