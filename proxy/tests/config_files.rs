//! The configuration files shipped in config/: they parse with rwsplit's own loader, and
//! the dashboard only uses metrics rwsplit exports.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn example_configs_pass_check() {
    for f in ["config/rwsplit.toml", "config/local.toml"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
            .args(["--config", repo().join(f).to_str().unwrap(), "--check"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("configuration OK") && !text.contains("password = \"app\""),
            "{text}"
        );
    }
}

#[test]
fn bad_configs_name_the_key_and_exit_non_zero() {
    let dir = std::env::temp_dir();
    let cases = [
        ("[server]\nlisten = \"x\"\n[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n", "server.listen"),
        ("[backends]\nwriter = \"a:1\"\nbogus = 1\n", "bogus"),
        ("[backends]\nwriter = \"a:1\"\nreaders = [\"a:1\"]\n[[users]]\nname = \"u\"\n", "backends.readers[0]"),
        ("[backends]\nwriter = \"a:1\"\n", "users"),
        ("[backends]\nmode = \"read_only\"\n[[users]]\nname = \"u\"\n", "backends.hosts"),
        ("[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n[[routing.rules]]\nmatch = \"(\"\nroute = \"reader\"\n", "routing.rules[0].match"),
        ("[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n[routing]\nconsistency = \"strong\"\n", "consistency"),
        ("[server]\nauth_plugin = \"ed25519\"\n[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n", "server.auth_plugin"),
        ("[server]\nrsa_private_key_file = \"/nonexistent/key.pem\"\n[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n", "server.rsa_private_key_file"),
        ("[server]\nrsa_private_key_file = \"Cargo.toml\"\n[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n", "server.rsa_private_key_file"),
        ("[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n[pool]\nmin_idle = 9\nmax_idle = 8\n", "pool.min_idle"),
        ("[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n[pool]\nmin_idle = 4\nmax_connections = 2\n", "pool.min_idle"),
        ("[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n[failover]\nhold_ms = 600001\n", "failover.hold_ms"),
        ("[backends]\nwriter = \"a:1\"\n[[users]]\nname = \"u\"\n[failover]\nhold = 5\n", "hold"),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let f = dir.join(format!("rwsplit-bad-{}-{i}.toml", std::process::id()));
        std::fs::write(&f, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
            .args(["--config", f.to_str().unwrap(), "--check"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(err.contains(key), "{text}: {err}");
    }
}

#[test]
fn flags_and_environment_override_the_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .args([
            "--config",
            repo().join("config/local.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:7777",
            "--check",
        ])
        .env("RWSPLIT_READER", "10.0.0.9:3306")
        .env("RWSPLIT_CONSISTENCY", "session")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"127.0.0.1:7777\""), "{text}");
    assert!(text.contains("readers = [\"10.0.0.9:3306\"]"), "{text}");
    assert!(text.contains("consistency = \"session\""), "{text}");
}

#[test]
fn passwords_can_come_from_the_environment_or_a_file_and_are_never_printed() {
    let dir = std::env::temp_dir();
    let secret = dir.join(format!("rwsplit-secret-{}", std::process::id()));
    std::fs::write(&secret, "from-a-file\n").unwrap();
    let cfg = dir.join(format!("rwsplit-secrets-{}.toml", std::process::id()));
    let var = format!("RWSPLIT_TEST_SECRET_{}", std::process::id());
    std::fs::write(
        &cfg,
        format!(
            "[backends]\nwriter = \"db:3306\"\n[[users]]\nname = \"app\"\npassword_env = \"{var}\"\n\
             [monitor]\nuser = \"monitor\"\npassword_file = \"{}\"\n[admin]\npassword_env = \"{var}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let check = |env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rwsplit"));
        c.args(["--config", cfg.to_str().unwrap(), "--check"]);
        match env {
            Some(v) => c.env(&var, v),
            None => c.env_remove(&var),
        };
        c.output().unwrap()
    };
    let out = check(Some("from-the-env"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("password_env = \"{var}\"")),
        "{text}"
    );
    assert!(
        !text.contains("from-the-env") && !text.contains("from-a-file"),
        "{text}"
    );
    // The loader really read them.
    let config = rwsplit::config::Config::from_file(&cfg).unwrap();
    let mut resolved = config.clone();
    std::env::set_var(&var, "from-the-env");
    resolved.resolve_secrets().unwrap();
    assert_eq!(resolved.users[0].password, "from-the-env");
    assert_eq!(resolved.admin.password, "from-the-env");
    assert_eq!(resolved.monitor.password.as_deref(), Some("from-a-file"));
    // A variable that is not set, a file that cannot be read: named.
    let out = check(None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("users[0].password_env") && err.contains(&var),
        "{err}"
    );
    std::fs::remove_file(&secret).unwrap();
    let out = check(Some("x"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("monitor.password_file"), "{err}");
    let _ = std::fs::remove_file(&cfg);
}

#[test]
fn help_shows_no_secrets() {
    let out = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("--help")
        .env("RWSPLIT_USER", "app:supersecret")
        .env("RWSPLIT_ADMIN_USER", "admin:alsosecret")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--consistency") && text.contains("RWSPLIT_LISTEN"));
    assert!(
        !text.contains("supersecret") && !text.contains("alsosecret"),
        "{text}"
    );
}

#[test]
fn the_dashboard_uses_only_exported_metrics() {
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("config/grafana/rwsplit-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut src = String::new();
    for entry in walk(&repo().join("proxy/src")) {
        src.push_str(&std::fs::read_to_string(entry).unwrap());
    }
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["expr"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(exprs.len() >= 10);
    for e in &exprs {
        for name in e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("rwsplit_"))
        {
            // A histogram's series: _bucket, _sum, _count.
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                src.contains(&format!("\"{base}\"")),
                "the dashboard uses {name}, which rwsplit does not export"
            );
        }
    }
    let prom = std::fs::read_to_string(repo().join("config/prometheus.yml")).unwrap();
    assert!(prom.contains("/metrics") && prom.contains("9033"));
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

#[test]
fn worker_threads_zero_is_half_the_cpus_and_at_least_one() {
    use rwsplit::config::ServerConfig;
    let mut c = ServerConfig::default();
    assert_eq!(c.worker_threads, 0, "the default is sized from the machine");
    for (cpus, threads) in [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 2),
        (8, 4),
        (16, 8),
        (64, 32),
    ] {
        assert_eq!(c.worker_threads_for(cpus), threads, "{cpus} CPUs");
    }
    c.worker_threads = 3;
    assert_eq!(c.worker_threads_for(2), 3, "a number set is kept");
}
