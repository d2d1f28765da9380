//! One check of one backend, with the monitor account over mysql_async.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use std::path::PathBuf;

use mysql_async::{Conn, OptsBuilder, Row, SslOpts};

use crate::config::{BackendTlsMode, BackendsConfig};

use crate::route::{Flavour, Position};

use super::build::{AuroraRow, Status};

/// How to reach a backend and what to ask it.
#[derive(Debug, Clone)]
pub struct ProbeParams {
    pub addr: String,
    pub user: String,
    pub password: String,
    /// `schema.heartbeat` and this rwsplit's row id, when the heartbeat is on.
    pub heartbeat: Option<(String, u64)>,
    /// Microseconds (Unix time) of the newest heartbeat written, 0 if none yet.
    pub heartbeat_written_us: u64,
}

/// Connection options of the monitor account. TLS follows `backends.tls`, except that
/// `preferred` connects in plain (mysql_async cannot fall back from TLS).
pub fn opts(addr: &str, user: &str, password: &str, backends: &BackendsConfig) -> OptsBuilder {
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "3306"));
    let ssl = match backends.tls {
        BackendTlsMode::Disabled | BackendTlsMode::Preferred => None,
        mode => {
            let mut s = SslOpts::default()
                .with_danger_accept_invalid_certs(mode == BackendTlsMode::Required)
                .with_danger_skip_domain_validation(mode != BackendTlsMode::VerifyIdentity);
            if !backends.ca_file.is_empty() {
                s = s
                    .with_root_certs(vec![PathBuf::from(&backends.ca_file).into()])
                    .with_disable_built_in_roots(true);
            }
            Some(s)
        }
    };
    OptsBuilder::default()
        .ssl_opts(ssl)
        .ip_or_hostname(host.to_string())
        .tcp_port(port.parse().unwrap_or(3306))
        .user(Some(user.to_string()))
        .pass(Some(password.to_string()))
        .prefer_socket(false)
        .stmt_cache_size(0)
}

/// A monitor connection and what was learnt when it was opened.
pub struct MonitorConn {
    pub conn: Conn,
    pub flavour: Flavour,
}

impl MonitorConn {
    pub async fn open(
        addr: &str,
        user: &str,
        password: &str,
        backends: &BackendsConfig,
    ) -> Result<MonitorConn, mysql_async::Error> {
        let mut conn = Conn::new(opts(addr, user, password, backends)).await?;
        let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
        let flavour = if version
            .unwrap_or_default()
            .to_ascii_lowercase()
            .contains("mariadb")
        {
            Flavour::MariaDb
        } else {
            match conn
                .query_first::<Option<String>, _>("SELECT @@aurora_version")
                .await
            {
                Ok(_) => Flavour::AuroraMySql,
                Err(_) => Flavour::MySql,
            }
        };
        Ok(MonitorConn { conn, flavour })
    }

    /// Checks the backend.
    pub async fn probe(&mut self, p: &ProbeParams) -> Result<Status, mysql_async::Error> {
        let checked_us = crate::clock::now_us();
        let c = &mut self.conn;
        let gtid_expr = match self.flavour {
            Flavour::MariaDb => "@@gtid_current_pos",
            Flavour::MySql => "@@gtid_executed",
            _ => "''",
        };
        let row: Option<Row> = c
            .query_first(format!(
                "SELECT @@read_only, @@innodb_read_only, {gtid_expr}, \
                 @@global.wait_timeout, @@global.interactive_timeout"
            ))
            .await?;
        let mut idle_timeouts = None;
        let (read_only, position) = match row {
            Some(r) => {
                let secs = |i: usize| {
                    r.get_opt::<Option<u64>, _>(i)
                        .and_then(Result::ok)
                        .flatten()
                };
                idle_timeouts = secs(3).zip(secs(4));
                let ro: Option<i64> = r.get_opt(0).and_then(Result::ok).flatten();
                let iro: Option<i64> = r.get_opt(1).and_then(Result::ok).flatten();
                let pos: Option<String> = r.get_opt(2).and_then(Result::ok).flatten();
                let position = pos.as_deref().and_then(|t| match self.flavour {
                    Flavour::MariaDb => Position::parse_mariadb(t),
                    Flavour::MySql => Position::parse_mysql(t),
                    _ => None,
                });
                (
                    Some(ro.unwrap_or(0) != 0 || iro.unwrap_or(0) != 0),
                    position.map(Arc::new),
                )
            }
            None => (None, None),
        };
        let mut status = Status {
            up: true,
            read_only,
            flavour: self.flavour,
            received: position.clone(),
            position,
            checked_us,
            lag_ms: None,
            replicating: None,
            idle_timeouts,
            write_forwarding: None,
        };
        if self.flavour == Flavour::AuroraMySql {
            // Lag comes from replica_host_status. Local write forwarding is in use when
            // the read consistency level exists and is set (AWS: writes are not
            // forwarded while it is empty).
            let level = c
                .query_first::<Option<String>, _>("SELECT @@global.aurora_replica_read_consistency")
                .await;
            status.write_forwarding = Some(matches!(level, Ok(Some(Some(l))) if !l.is_empty()));
            return Ok(status);
        }
        // Replication threads and Seconds_Behind_Master.
        let q = match self.flavour {
            Flavour::MariaDb => "SHOW ALL SLAVES STATUS",
            _ => "SHOW REPLICA STATUS",
        };
        if let Ok(rows) = c.query::<Row, _>(q).await {
            if let Some(r) = rows.first() {
                let running = |names: &[&str]| {
                    names.iter().find_map(|n| {
                        r.get_opt::<Option<String>, _>(*n)
                            .and_then(Result::ok)
                            .flatten()
                    })
                };
                let io = running(&["Slave_IO_Running", "Replica_IO_Running"]);
                let sql = running(&["Slave_SQL_Running", "Replica_SQL_Running"]);
                // The SQL thread applies; the I/O thread may be reconnecting to a primary
                // that is down (Connecting) without the replica being stale.
                status.replicating =
                    Some(sql.as_deref() == Some("Yes") && io.as_deref() != Some("No"));
                let behind = ["Seconds_Behind_Master", "Seconds_Behind_Source"]
                    .iter()
                    .find_map(|n| {
                        r.get_opt::<Option<u64>, _>(*n)
                            .and_then(Result::ok)
                            .flatten()
                    });
                status.lag_ms = behind.map(|s| s * 1000);
                // What the I/O thread has received: with semi-synchronous replication a
                // write the primary acknowledged is at least there, on one replica.
                let got = running(&["Gtid_IO_Pos", "Retrieved_Gtid_Set"]);
                let got = got.as_deref().and_then(|t| match self.flavour {
                    Flavour::MariaDb => Position::parse_mariadb(t),
                    _ => Position::parse_mysql(t),
                });
                status.received = match (&status.position, got) {
                    (Some(a), Some(r)) => a.union(&r).map(Arc::new).or(Some(a.clone())),
                    (a, r) => a.clone().or(r.map(Arc::new)),
                };
            }
        }
        // The heartbeat, to the millisecond.
        if let (Some((table, id)), true) = (&p.heartbeat, p.heartbeat_written_us > 0) {
            if read_only == Some(true) {
                if let Ok(Some(ts)) = c
                    .exec_first::<i64, _, _>(format!("SELECT ts FROM {table} WHERE id = ?"), (*id,))
                    .await
                {
                    let lag_us = (p.heartbeat_written_us as i64 - ts).max(0) as u64;
                    status.lag_ms = Some(lag_us / 1000);
                }
            }
        }
        Ok(status)
    }
}

/// Runs the Aurora topology query.
pub async fn aurora_rows(c: &mut Conn, query: &str) -> Result<Vec<AuroraRow>, mysql_async::Error> {
    let rows: Vec<Row> = c.query(query).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let text = |i: usize| -> Option<String> {
                r.get_opt::<Option<String>, _>(i)
                    .and_then(Result::ok)
                    .flatten()
            };
            let num = |i: usize| -> Option<f64> {
                r.get_opt::<Option<f64>, _>(i)
                    .and_then(Result::ok)
                    .flatten()
            };
            AuroraRow {
                server_id: text(0).unwrap_or_default(),
                session_id: text(1).unwrap_or_default(),
                age_ms: num(2),
                lag_ms: num(3),
            }
        })
        .filter(|r| !r.server_id.is_empty())
        .collect())
}
