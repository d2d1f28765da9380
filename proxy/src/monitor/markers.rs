//! The table of commit markers (`failover.verify_commits`): created on the writer, in the
//! heartbeat's schema, by the monitor account, and kept small (markers older than an hour
//! are deleted every 10 s; one is looked for at most `failover.hold_ms` after its COMMIT).

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use tokio::sync::watch;

use super::monitor_opts;
use crate::shared::Shared;

const EVERY: Duration = Duration::from_secs(10);

/// The markers table's name (`schema`.commits).
pub fn markers_table(schema: &str) -> String {
    format!("`{schema}`.commits")
}

/// Keeps the markers table on the writer while `failover.verify_commits` is on.
pub async fn markers(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conn: Option<(String, mysql_async::Conn)> = None;
    let mut failing = false;
    loop {
        let config = shared.live.config();
        let writer = shared.topology.current().writer_addr().map(str::to_string);
        if let (true, Some(writer)) = (config.failover.verify_commits, writer) {
            if conn.as_ref().is_some_and(|(a, _)| *a != writer) {
                conn = None;
            }
            let schema = &config.monitor.heartbeat_schema;
            let table = markers_table(schema);
            let (user, password) = config.monitor_credentials();
            let keep = async {
                if conn.is_none() {
                    let opts = monitor_opts(&writer, &user, &password, &config.backends);
                    let mut c = mysql_async::Conn::new(opts).await?;
                    c.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{schema}`"))
                        .await?;
                    c.query_drop(format!(
                        "CREATE TABLE IF NOT EXISTS {table} (id BIGINT UNSIGNED PRIMARY KEY, \
                         at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB"
                    ))
                    .await?;
                    conn = Some((writer.clone(), c));
                }
                let Some((_, c)) = conn.as_mut() else {
                    return Err(mysql_async::Error::Other("no connection".into()));
                };
                c.query_drop(format!(
                    "DELETE FROM {table} WHERE at < NOW(6) - INTERVAL 1 HOUR LIMIT 100000"
                ))
                .await
            };
            let timeout = Duration::from_millis(config.monitor.timeout_ms.max(1000));
            match tokio::time::timeout(timeout, keep).await {
                Ok(Ok(())) => {
                    if failing {
                        tracing::info!(writer = %writer, "commit markers table ready again");
                    }
                    failing = false;
                }
                Ok(Err(e)) => {
                    if !failing {
                        tracing::warn!(writer = %writer, error = %e, table = %table,
                            "cannot keep the commit markers table: interrupted COMMITs get 'outcome unknown'");
                    }
                    failing = true;
                    conn = None;
                }
                Err(_) => {
                    failing = true;
                    conn = None;
                }
            }
        } else {
            conn = None;
        }
        let wait = match (failing, conn.is_some()) {
            (false, true) => EVERY,
            _ => Duration::from_millis(500),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
}
