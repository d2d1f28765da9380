//! `server.query_timeout_ms`: a statement still running past it is killed where it runs
//! (KILL QUERY on a side connection, as an operator would), and the backend's own answer
//! (error 1317, "Query execution was interrupted") is relayed to the client. The session,
//! its transaction and the backend connection survive.

use std::time::Duration;

use crate::protocol::response::{Expect, Summary};

use super::{BackendConn, BackendError, ConnectParams, Downstream, RelayError};

/// What killing a statement on `conn`'s backend needs: the limit, and how to build the
/// login parameters of the side connection (called only if the limit is reached).
pub struct Killer<P: FnOnce() -> ConnectParams> {
    pub limit: Duration,
    pub params: P,
}

/// Relays like [`BackendConn::relay`]; past `killer.limit` the statement is killed and the
/// relay goes on until the backend answers. Returns only once the KILL is done too, so it
/// cannot reach the session's next statement.
pub async fn relay_bounded<D: Downstream, P: FnOnce() -> ConnectParams>(
    conn: &mut BackendConn,
    down: &mut D,
    expect: Expect,
    forwarded: &mut bool,
    killer: Option<Killer<P>>,
) -> Result<Summary, RelayError> {
    match killer {
        None => conn.relay(down, expect, forwarded).await,
        // Boxed: the relay and a side connection's login side by side make a large
        // future, which would otherwise be part of every command's.
        Some(killer) => Box::pin(bounded(conn, down, expect, forwarded, killer)).await,
    }
}

async fn bounded<D: Downstream, P: FnOnce() -> ConnectParams>(
    conn: &mut BackendConn,
    down: &mut D,
    expect: Expect,
    forwarded: &mut bool,
    killer: Killer<P>,
) -> Result<Summary, RelayError> {
    let (id, addr, thread) = (conn.id, conn.addr.clone(), conn.thread_id);
    let relay = conn.relay(down, expect, forwarded);
    tokio::pin!(relay);
    tokio::select! {
        r = &mut relay => return r,
        _ = tokio::time::sleep(killer.limit) => {}
    }
    metrics::counter!("rwsplit_query_timeouts_total").increment(1);
    tracing::info!(backend = %addr, thread, limit_ms = killer.limit.as_millis() as u64,
        "query_timeout: killing the statement");
    let params = (killer.params)();
    let kill = async {
        if let Err(e) = kill_query(id, &addr, &params, thread).await {
            tracing::warn!(backend = %addr, thread, error = %e, "query_timeout: KILL QUERY failed");
        }
    };
    let (r, ()) = tokio::join!(relay, kill);
    r
}

/// `KILL QUERY thread` on a connection of its own to `addr` (the session's account may
/// kill its own threads without extra privileges).
pub async fn kill_query(
    id: crate::route::BackendId,
    addr: &str,
    params: &ConnectParams,
    thread: u32,
) -> Result<(), BackendError> {
    kill_thread(id, addr, params, thread, true).await
}

/// `KILL [QUERY] thread` on a connection of its own to `addr`, logged in with `params`
/// (the thread's own account needs no extra privilege to kill it).
pub async fn kill_thread(
    id: crate::route::BackendId,
    addr: &str,
    params: &ConnectParams,
    thread: u32,
    query_only: bool,
) -> Result<(), BackendError> {
    let verb = if query_only { "KILL QUERY" } else { "KILL" };
    let mut side = BackendConn::connect(id, addr, params).await?;
    let r = side.query(&format!("{verb} {thread}")).await.map(|_| ());
    side.quit().await;
    r
}
