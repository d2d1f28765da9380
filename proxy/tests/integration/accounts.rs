//! What one account may do to another through rwsplit, as a server allows it: KILL of
//! another account's session is refused with 1095 unless the killer's `[[users]]` entry
//! has `admin_kill`; a killed session runs no further command; COM_CHANGE_USER verifies
//! the new user as login does (password, `require_tls`, `max_connections`) and the admin
//! view follows the change.

use std::path::Path;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{ChangeUserOpts, Conn};

use crate::support::*;

/// A config file in front of the shared topology with these `[[users]]` entries (TOML
/// bodies), plus `extra` at the end.
fn write_config(path: &Path, users: &[&str], extra: &str) {
    let t = topology();
    let users: String = users.iter().map(|u| format!("[[users]]\n{u}\n")).collect();
    std::fs::write(
        path,
        format!(
            "[backends]\nwriter = \"127.0.0.1:{}\"\nreaders = [\"127.0.0.1:{}\", \"127.0.0.1:{}\"]\n{users}\
             [monitor]\nuser = \"monitor\"\npassword = \"monitor\"\ninterval_ms = 200\n{extra}",
            t.primary, t.replicas[0], t.replicas[1]
        ),
    )
    .unwrap();
}

fn user_entry(name: &str, more: &str) -> String {
    format!("name = \"{name}\"\npassword = \"{name}\"\n{more}")
}

fn start_with_users(tag: &str, users: &[&str], extra: &str, flags: &[String]) -> Proxy {
    let file = std::env::temp_dir().join(format!("rwsplit-{tag}-{}.toml", free_port()));
    write_config(&file, users, extra);
    let mut args = vec!["--config".into(), file.display().to_string()];
    args.extend(flags.iter().cloned());
    Proxy::start_with(&args)
}

fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_of_another_accounts_session_is_refused_unless_the_account_has_admin_kill() {
    let (other, admin) = (
        fresh_user("it_kill_other").await,
        fresh_user("it_kill_admin").await,
    );
    let db = fresh_db("it_kill").await;
    let mut r = root(topology().primary).await;
    r.query_drop(format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY)"))
        .await
        .unwrap();
    let proxy = start_with_users(
        "kill",
        &[
            "name = \"app\"\npassword = \"app\"",
            &user_entry(&other, ""),
            &user_entry(&admin, "admin_kill = true"),
        ],
        "",
        &[],
    );
    let mut victim = app_db(&proxy, &db).await;
    let victim_id = victim.id();
    let _: Option<u32> = victim.query_first("SELECT @@server_id").await.unwrap();
    let mut outsider = as_user(&proxy, &other, None).await;

    // Another account: 1095 with the server's text, for KILL and KILL QUERY alike.
    for verb in ["KILL", "KILL CONNECTION", "KILL QUERY"] {
        let err = outsider
            .query_drop(format!("{verb} {victim_id}"))
            .await
            .unwrap_err();
        assert_eq!(server_code(&err), Some(1095), "{verb}: {err}");
        assert!(
            err.to_string()
                .contains(&format!("You are not owner of thread {victim_id}")),
            "{err}"
        );
    }
    // The victim is untouched, and the outsider's session goes on.
    let one: Option<i64> = victim.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    let one: Option<i64> = outsider.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));

    // Its own account may: KILL CONNECTION ends the victim at once, even idle; the
    // victim's next statement never runs.
    let mut same = app(&proxy).await;
    same.query_drop(format!("KILL CONNECTION {victim_id}"))
        .await
        .unwrap();
    let after = victim
        .query_drop(format!("INSERT INTO `{db}`.t VALUES (1)"))
        .await;
    assert!(after.is_err(), "the killed session ran another statement");
    let rows: Option<i64> = r
        .query_first(format!("SELECT COUNT(*) FROM `{db}`.t"))
        .await
        .unwrap();
    assert_eq!(rows, Some(0), "the killed session's INSERT ran");

    // An admin_kill account may kill any account's session, also mid-statement: the
    // statement stops on its backend.
    let mut victim = app(&proxy).await;
    let victim_id = victim.id();
    let sleeper = tokio::spawn(async move {
        let started = Instant::now();
        let r: Result<Option<i64>, _> = victim
            .query_first("SELECT SLEEP(20) /* it_admin_kill_victim */")
            .await;
        let next = victim.query_drop("SELECT 1").await;
        (started.elapsed(), r.is_ok(), next.is_ok())
    });
    wait_running(&topology().all(), "it_admin_kill_victim").await;
    let mut boss = as_user(&proxy, &admin, None).await;
    boss.query_drop(format!("KILL {victim_id}")).await.unwrap();
    let (elapsed, _, next_ok) = sleeper.await.unwrap();
    assert!(
        elapsed < Duration::from_secs(10),
        "the killed statement ran on ({elapsed:?})"
    );
    assert!(!next_ok, "the killed session answered another command");
    // KILL of a session gone: the server's 1094.
    proxy.wait_session_gone(victim_id).await;
    let err = boss
        .query_drop(format!("KILL {victim_id}"))
        .await
        .unwrap_err();
    assert_eq!(server_code(&err), Some(1094), "{err}");
    let page = http_get(proxy.metrics_port, "/metrics").1;
    assert!(
        metric(&page, "rwsplit_errors_total", &[("code", "1095")]) >= 3.0,
        "1095 refusals are counted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn change_user_verifies_the_new_user_as_login_does() {
    let (tls_user, capped, plain) = (
        fresh_user("it_cu_tls").await,
        fresh_user("it_cu_cap").await,
        fresh_user("it_cu_plain").await,
    );
    let dir = certs_dir("change-user");
    let proxy = start_with_users(
        "change-user",
        &[
            "name = \"app\"\npassword = \"app\"",
            &user_entry(&tls_user, "require_tls = true"),
            &user_entry(&capped, "max_connections = 1"),
            &user_entry(&plain, ""),
        ],
        "",
        &[
            "--tls-cert".into(),
            path_in(&dir, "server-cert.pem"),
            "--tls-key".into(),
            path_in(&dir, "server-key.pem"),
        ],
    );
    let to = |u: &str| {
        ChangeUserOpts::default()
            .with_user(Some(u.to_string()))
            .with_pass(Some(u.to_string()))
    };

    // A user that requires TLS, from a plain connection: 1045, as at login.
    let plain_login = Conn::new(opts(proxy.port, &tls_user, &tls_user, None)).await;
    assert!(plain_login.is_err(), "login without TLS was accepted");
    let mut c = app(&proxy).await;
    let err = c.change_user(to(&tls_user)).await.unwrap_err();
    assert_eq!(server_code(&err), Some(1045), "{err}");

    // A user at its max_connections: 1203, as at login.
    let holder = as_user(&proxy, &capped, None).await;
    let mut c = app(&proxy).await;
    let err = c.change_user(to(&capped)).await.unwrap_err();
    assert_eq!(server_code(&err), Some(1203), "{err}");
    // A wrong password: 1045.
    let mut c = app(&proxy).await;
    let err = c
        .change_user(
            ChangeUserOpts::default()
                .with_user(Some(plain.clone()))
                .with_pass(Some("wrong".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(server_code(&err), Some(1045), "{err}");

    // A change that passes: the backend sees the new user, and so does SHOW SESSIONS.
    let mut c = app(&proxy).await;
    let id = c.id();
    c.change_user(to(&plain)).await.unwrap();
    let who: Option<String> = c.query_first("SELECT CURRENT_USER()").await.unwrap();
    assert!(who.unwrap_or_default().starts_with(&plain));
    let sessions = admin_cli(&proxy, "SHOW SESSIONS").unwrap();
    let line = sessions
        .lines()
        .find(|l| l.split('\t').next() == Some(&id.to_string()))
        .unwrap_or_else(|| panic!("session {id} missing from SHOW SESSIONS:\n{sessions}"));
    assert_eq!(line.split('\t').nth(1), Some(plain.as_str()), "{line}");
    // The cap counts sessions: once the holder leaves, the change passes.
    let holder_id = holder.id();
    drop(holder);
    proxy.wait_session_gone(holder_id).await;
    let mut c = app(&proxy).await;
    c.change_user(to(&capped)).await.unwrap();
    let who: Option<String> = c.query_first("SELECT CURRENT_USER()").await.unwrap();
    assert!(who.unwrap_or_default().starts_with(&capped));
}
