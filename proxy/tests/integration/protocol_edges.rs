//! Bad input gets a proper error and nothing else breaks; commands drivers rarely send.

use mysql_async::prelude::Queryable;

use crate::raw::{err_code, Raw};
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_user_get_1045_and_the_listener_goes_on() {
    let proxy = Proxy::start(&[]);
    for (user, pass) in [("app", "wrong"), ("nobody", "x"), ("app", "")] {
        let err = mysql_async::Conn::new(opts(proxy.port, user, pass, None)).await;
        let msg = format!("{:?}", err.expect_err("login must fail"));
        assert!(msg.contains("1045"), "{msg}");
        assert!(msg.contains("Access denied for user"), "{msg}");
    }
    let (_, answers) = Raw::login(proxy.port, "app", "nope", "mysql_native_password");
    assert_eq!(answers.last().and_then(|p| err_code(p)), Some(1045));
    let mut c = app(&proxy).await;
    let one: Option<i64> = c.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn caching_sha2_password_fast_path() {
    let proxy = Proxy::start(&[]);
    let (mut raw, answers) = Raw::login(proxy.port, "app", "app", "caching_sha2_password");
    assert_eq!(
        answers.first().map(|p| p.as_slice()),
        Some(&[0x01u8, 0x03][..]),
        "fast auth success"
    );
    assert_eq!(
        answers.last().and_then(|p| p.first().copied()),
        Some(0x00),
        "then OK"
    );
    let r = raw.query("SELECT 41 + 1");
    assert!(r.iter().any(|p| p.windows(2).any(|w| w == b"42")), "{r:?}");
    let (_, answers) = Raw::login(proxy.port, "app", "bad", "caching_sha2_password");
    assert_eq!(answers.last().and_then(|p| err_code(p)), Some(1045));
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_switch_for_plugins_rwsplit_does_not_check() {
    let proxy = Proxy::start(&[]);
    let (_, answers) = Raw::login(proxy.port, "app", "app", "client_ed25519");
    // An AuthSwitchRequest to mysql_native_password comes back.
    let first = answers.first().expect("an answer");
    assert_eq!(first.first(), Some(&0xFE));
    assert!(first.windows(21).any(|w| w == b"mysql_native_password"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_malformed_commands_get_errors_and_the_session_goes_on() {
    let proxy = Proxy::start(&[]);
    let (mut raw, answers) = Raw::login(proxy.port, "app", "app", "mysql_native_password");
    assert_eq!(answers.last().and_then(|p| p.first().copied()), Some(0x00));
    for payload in [&[0x99u8][..], &[0x12], &[0x1b], &[0x17, 1, 0], &[0x1c, 1]] {
        let r = raw.command(payload);
        let code = r.last().and_then(|p| err_code(p));
        assert!(
            matches!(code, Some(1047) | Some(1835)),
            "{payload:?} -> {r:?}"
        );
    }
    // Still usable.
    let r = raw.query("SELECT 'still here'");
    assert!(r.iter().any(|p| p.windows(10).any(|w| w == b"still here")));
    // COM_PING, COM_STATISTICS, COM_SET_OPTION, COM_FIELD_LIST
    assert_eq!(
        raw.command(&[0x0e]).last().and_then(|p| p.first().copied()),
        Some(0x00)
    );
    let stats = raw.command(&[0x09]);
    assert!(
        String::from_utf8_lossy(&stats[0]).contains("Uptime"),
        "{stats:?}"
    );
    let r = raw.command(&[0x1b, 0, 0]); // MYSQL_OPTION_MULTI_STATEMENTS_ON
    assert!(
        matches!(
            r.last().and_then(|p| p.first().copied()),
            Some(0x00) | Some(0xFE)
        ),
        "{r:?}"
    );
    let r = raw.command(b"\x04user\x00");
    assert!(
        r.is_empty() || r.last().and_then(|p| err_code(p)).is_some() || r.len() > 1,
        "{r:?}"
    );
    let r = raw.query("SELECT 'after'");
    assert!(r.iter().any(|p| p.windows(5).any(|w| w == b"after")));
}

#[tokio::test(flavor = "multi_thread")]
async fn field_list_relays_column_definitions() {
    let proxy = Proxy::start(&[]);
    let db = fresh_db("it_fieldlist").await;
    let mut c = root(topology().primary).await;
    c.query_drop(format!("CREATE TABLE `{db}`.f (a INT, bee VARCHAR(3))"))
        .await
        .unwrap();
    sync_replicas().await;
    let (mut raw, _) = Raw::login(proxy.port, "app", "app", "mysql_native_password");
    let mut init = vec![0x02];
    init.extend_from_slice(db.as_bytes());
    assert_eq!(
        raw.command(&init).last().and_then(|p| p.first().copied()),
        Some(0x00)
    );
    // COM_INIT_DB is followed by reads on replicas.
    for _ in 0..3 {
        let r = raw.query("SELECT DATABASE()");
        assert!(
            r.iter()
                .any(|p| p.windows(db.len()).any(|w| w == db.as_bytes())),
            "{r:?}"
        );
    }
    let r = raw.command(b"\x04f\x00");
    assert_eq!(
        r.len(),
        3,
        "two column definitions and the terminator: {r:?}"
    );
    assert!(r[1].windows(3).any(|w| w == b"bee"));
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_after_login_closes_only_that_session() {
    let proxy = Proxy::start(&[]);
    let mut good = app(&proxy).await;
    let (mut raw, _) = Raw::login(proxy.port, "app", "app", "mysql_native_password");
    // A header promising a packet larger than allowed.
    use std::io::Write;
    let _ = raw
        .stream
        .write_all(&[0xff, 0xff, 0xff, 0x00, 0x03, 0x00, 0x01]);
    let _ = raw.stream.write_all(&vec![0x41u8; 100_000]);
    let one: Option<i64> = good.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    let mut fresh = app(&proxy).await;
    let one: Option<i64> = fresh.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn over_max_client_connections_a_client_gets_1040_and_the_others_go_on() {
    let proxy = Proxy::start(&["--max-client-connections", "2"]);
    let mut a = app(&proxy).await;
    let mut b = app(&proxy).await;
    let err = mysql_async::Conn::new(opts(proxy.port, "app", "app", None))
        .await
        .map(|_| ())
        .expect_err("a third connection is refused");
    let msg = format!("{err:?}");
    assert!(
        msg.contains("1040") && msg.contains("Too many connections"),
        "{msg}"
    );
    for c in [&mut a, &mut b] {
        let one: Option<i64> = c.query_first("SELECT 1").await.expect("still served");
        assert_eq!(one, Some(1));
    }
    // A slot freed is a slot to take.
    a.disconnect().await.expect("quit");
    let mut c = wait_for_async(
        "the freed slot to be given back",
        std::time::Duration::from_secs(5),
        async || match mysql_async::Conn::new(opts(proxy.port, "app", "app", None)).await {
            Ok(c) => Ok(c),
            Err(e) => {
                assert!(format!("{e:?}").contains("1040"), "{e:?}");
                Err(format!("{e:?}"))
            }
        },
    )
    .await;
    let one: Option<i64> = c.query_first("SELECT 1").await.expect("served");
    assert_eq!(one, Some(1));
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    assert!(metric(&page, "rwsplit_errors_total", &[("code", "1040")]) >= 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_over_its_max_connections_gets_1203_and_other_users_go_on() {
    let dir = std::env::temp_dir().join(format!("rwsplit-usercap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("rwsplit.toml");
    std::fs::write(
        &file,
        "[[users]]\nname = \"capped\"\npassword = \"capped\"\nbackend_user = \"app\"\n\
         backend_password = \"app\"\nmax_connections = 2\n",
    )
    .expect("config");
    let proxy = Proxy::start(&["--config", file.to_str().expect("path")]);
    let capped = || mysql_async::Conn::new(opts(proxy.port, "capped", "capped", None));
    let mut a = capped().await.expect("first");
    let _b = capped().await.expect("second");
    let err = capped()
        .await
        .map(|_| ())
        .expect_err("third is over the cap");
    let msg = format!("{err:?}");
    assert!(
        msg.contains("1203") && msg.contains("max_user_connections"),
        "{msg}"
    );
    // Another user is not counted against it; the capped user's sessions go on.
    let mut other = app(&proxy).await;
    other.query_drop("SELECT 1").await.expect("other user");
    a.query_drop("SELECT 1").await.expect("still served");
    a.disconnect().await.expect("quit");
    let mut c = wait_for_async(
        "the capped user's slot to be freed",
        std::time::Duration::from_secs(5),
        async || capped().await.map_err(|e| format!("{e:?}")),
    )
    .await;
    c.query_drop("SELECT 1").await.expect("served");
    let _ = std::fs::remove_dir_all(&dir);
}
