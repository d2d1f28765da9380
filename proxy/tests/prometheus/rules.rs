//! config/prometheus/rwsplit-alerts.yml: `promtool check rules` accepts it, its unit tests
//! (rwsplit-alerts.test.yml, synthetic series) pass with `promtool test rules`, they fail
//! when a rule is broken, and the local Prometheus config loads it.

use std::path::Path;
use std::process::{Command, Output};

use crate::prom::tool;
use crate::scrape::ALERTS;
use crate::support::repo_root;

fn promtool(args: &[&str], dir: &Path) -> Output {
    Command::new(tool("promtool"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = repo_root().join("config/prometheus");
    let out = promtool(&["check", "rules", "rwsplit-alerts.yml"], &dir);
    assert!(out.status.success(), "promtool check rules: {}", text(&out));
    assert!(
        text(&out).contains(&format!("SUCCESS: {} rules found", ALERTS.len())),
        "{}",
        text(&out)
    );
    let out = promtool(&["test", "rules", "rwsplit-alerts.test.yml"], &dir);
    assert!(out.status.success(), "promtool test rules: {}", text(&out));

    // Every alert the rules promise, each with a unit test; none for pool saturation
    // (rwsplit has no pool yet: the file says so).
    let rules = std::fs::read_to_string(dir.join("rwsplit-alerts.yml")).expect("rules");
    let tests = std::fs::read_to_string(dir.join("rwsplit-alerts.test.yml")).expect("tests");
    let defined: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(defined, ALERTS, "the alerts of rwsplit-alerts.yml");
    for a in ALERTS {
        assert!(
            tests.contains(&format!(
                "alertname: {a}\n        exp_alerts:\n          - "
            )),
            "no unit test expects {a} to fire"
        );
    }
    assert!(rules.contains("Not here yet: pool saturation"));

    // The unit tests can fail: with RwsplitNoWriter blind to a writer that is down (only
    // to a missing one), they do.
    let scratch = std::env::temp_dir().join(format!("rwsplit-rules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch");
    let broken = rules.replace(
        r#"(rwsplit_backend_up{role="writer"} == 1)"#,
        r#"(rwsplit_backend_up{role="writer"})"#,
    );
    assert_ne!(broken, rules);
    std::fs::write(scratch.join("rwsplit-alerts.yml"), broken).expect("write");
    std::fs::write(scratch.join("rwsplit-alerts.test.yml"), &tests).expect("write");
    let out = promtool(&["test", "rules", "rwsplit-alerts.test.yml"], &scratch);
    assert!(!out.status.success(), "a broken rule passed its tests");
    assert!(text(&out).contains("RwsplitNoWriter"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn the_local_prometheus_config_loads_the_alert_rules() {
    let out = promtool(
        &["check", "config", "prometheus.yml"],
        &repo_root().join("config"),
    );
    assert!(
        out.status.success(),
        "promtool check config: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("SUCCESS: 1 rule files found")
            && text(&out).contains(&format!("SUCCESS: {} rules found", ALERTS.len())),
        "{}",
        text(&out)
    );
}
