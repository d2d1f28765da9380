//! The admin SQL interface: a MySQL-protocol listener (opensrv-mysql) where rwsplit
//! answers with result sets of its own. Works from the mariadb CLI:
//!
//!   SHOW BACKENDS; SHOW SESSIONS; SHOW QUERY DIGEST [LIMIT n]; SHOW CONFIG;
//!   SET BACKEND '<addr>' OFFLINE | ONLINE; RELOAD CONFIG; HELP

mod commands;

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use opensrv_mysql::{
    AsyncMysqlIntermediary, AsyncMysqlShim, Column, ColumnFlags, ColumnType, ErrorKind,
    ParamParser, QueryResultWriter, StatementMetaWriter,
};
use tokio::io::AsyncWrite;
use tokio::net::TcpListener;

use crate::protocol::auth::{self, Method};
use crate::shared::Shared;

pub use commands::{parse, AdminCommand, Table};

/// One admin connection.
struct Admin {
    shared: Arc<Shared>,
    scramble: [u8; 20],
}

#[async_trait]
impl<W: AsyncWrite + Send + Unpin> AsyncMysqlShim<W> for Admin {
    type Error = io::Error;

    fn version(&self) -> String {
        format!("8.0.0-rwsplit-admin-{}", env!("CARGO_PKG_VERSION"))
    }

    fn salt(&self) -> [u8; 20] {
        self.scramble
    }

    async fn authenticate(&self, plugin: &str, user: &[u8], salt: &[u8], auth_data: &[u8]) -> bool {
        let config = self.shared.live.config();
        let Ok(scramble) = <[u8; 20]>::try_from(&salt[..salt.len().min(20)]) else {
            return false;
        };
        plugin.as_bytes() == auth::NATIVE
            && user == config.admin.user.as_bytes()
            && auth::verify(Method::Native, &scramble, &config.admin.password, auth_data)
    }

    async fn on_prepare<'a>(
        &'a mut self,
        _: &'a str,
        info: StatementMetaWriter<'a, W>,
    ) -> io::Result<()> {
        info.error(
            ErrorKind::ER_UNKNOWN_COM_ERROR,
            b"prepared statements are not supported here",
        )
        .await
    }

    async fn on_execute<'a>(
        &'a mut self,
        _: u32,
        _: ParamParser<'a>,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        results
            .error(
                ErrorKind::ER_UNKNOWN_COM_ERROR,
                b"prepared statements are not supported here",
            )
            .await
    }

    async fn on_close<'a>(&'a mut self, _: u32)
    where
        W: 'async_trait,
    {
    }

    async fn on_query<'a>(
        &'a mut self,
        query: &'a str,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        match commands::parse(query) {
            Ok(cmd) => match commands::run(&self.shared, cmd) {
                Ok(Some(table)) => write_table(results, &table).await,
                Ok(None) => results.completed(Default::default()).await,
                Err(e) => {
                    results
                        .error(ErrorKind::ER_UNKNOWN_ERROR, e.as_bytes())
                        .await
                }
            },
            Err(e) => results.error(ErrorKind::ER_PARSE_ERROR, e.as_bytes()).await,
        }
    }
}

async fn write_table<W: AsyncWrite + Send + Unpin>(
    results: QueryResultWriter<'_, W>,
    table: &Table,
) -> io::Result<()> {
    let columns: Vec<Column> = table
        .columns
        .iter()
        .map(|c| Column {
            table: String::new(),
            column: c.to_string(),
            coltype: ColumnType::MYSQL_TYPE_VAR_STRING,
            colflags: ColumnFlags::empty(),
        })
        .collect();
    let mut w = results.start(&columns).await?;
    for row in &table.rows {
        for v in row {
            match v {
                Some(s) => w.write_col(s.as_str())?,
                None => w.write_col(None::<&str>)?,
            }
        }
        w.end_row().await?;
    }
    w.finish().await
}

/// Serves the admin interface on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "admin accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let (r, w) = stream.into_split();
            let admin = Admin {
                shared,
                scramble: crate::session::new_scramble(),
            };
            if let Err(e) = AsyncMysqlIntermediary::run_on(admin, r, w).await {
                tracing::debug!(peer = %peer, error = %e, "admin session ended");
            }
        });
    }
}
