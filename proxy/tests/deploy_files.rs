//! The deployment files (docker-compose.yml, config/compose, deploy/k8s, the Dockerfiles),
//! checked without a container engine: Debian's docker-compose accepts the Compose file,
//! kubernetes-validate accepts the manifests against the Kubernetes schemas, rwsplit's own
//! loader accepts the rwsplit configs they carry, and the values the seeds chose
//! (autoscaling, probes, sidecar wiring) are what the files say, and Prometheus's promtool
//! accepts the alert rules where the Compose stack and the PrometheusRule put them.
//! scripts/deps.sh --test installs docker-compose, kubernetes-validate and promtool
//! (Debian's prometheus); without them these tests fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e} (scripts/deps.sh --test installs it)"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rwsplit-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Every YAML document of `path`, as JSON (PyYAML, which kubernetes-validate brings).
fn yaml_docs(path: &Path) -> Vec<Value> {
    let out = run(Command::new("python3").args([
        "-c",
        "import sys, json, yaml\n\
         print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))",
        path.to_str().expect("utf-8 path"),
    ]));
    assert!(out.status.success(), "{}: {}", path.display(), text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON from python");
    v.as_array().expect("a list of documents").clone()
}

fn yaml(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(docs.len(), 1, "{}: one document", path.display());
    docs.remove(0)
}

fn k8s(name: &str) -> Value {
    yaml(&repo().join("deploy/k8s").join(name))
}

fn compose_config(file: &Path) -> Output {
    run(Command::new("docker-compose")
        .arg("-f")
        .arg(file)
        .args(["config", "-q"])
        .current_dir(file.parent().expect("dir")))
}

#[test]
fn docker_compose_accepts_the_compose_file_and_refuses_a_broken_one() {
    let out = compose_config(&repo().join("docker-compose.yml"));
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        text(&out)
    );

    // The check can fail: a misspelt key in a copy of the same file is refused.
    let d = scratch("compose");
    let good = std::fs::read_to_string(repo().join("docker-compose.yml")).expect("compose file");
    assert!(good.contains("    network_mode: service:app-1\n"));
    let bad = good.replace(
        "    network_mode: service:app-1\n",
        "    network_mod: service:app-1\n",
    );
    std::fs::write(d.join("docker-compose.yml"), bad).expect("write");
    let out = compose_config(&d.join("docker-compose.yml"));
    assert!(!out.status.success(), "a misspelt key was accepted");
    assert!(text(&out).contains("network_mod"), "{}", text(&out));
}

#[test]
fn the_compose_stack_wires_a_sidecar_into_each_app_instance() {
    let c = yaml(&repo().join("docker-compose.yml"));
    let services = c["services"].as_object().expect("services");
    for (app, sidecar) in [("app-1", "rwsplit-1"), ("app-2", "rwsplit-2")] {
        let s = &services[sidecar];
        assert_eq!(s["network_mode"], format!("service:{app}"), "{sidecar}");
        assert_eq!(
            s["command"],
            serde_json::json!(["--config", "/etc/rwsplit/rwsplit.toml"])
        );
        for var in ["APP_DB_PASSWORD", "MONITOR_DB_PASSWORD", "ADMIN_PASSWORD"] {
            assert!(s["environment"][var].is_string(), "{sidecar} lacks {var}");
        }
        let dsn = services[app]["environment"]["DATABASE_URL"]
            .as_str()
            .expect("the app's DSN");
        assert!(dsn.contains("@127.0.0.1:6033/"), "{app}: {dsn}");
    }
    for name in ["mysql-primary", "mysql-replica-1", "mysql-replica-2"] {
        let s = &services[name];
        assert_eq!(s["image"], "mysql:8.0", "{name}");
        let args = s["command"].as_array().expect("command");
        assert!(args.iter().any(|a| a == "--gtid-mode=ON"), "{name}: GTIDs");
    }
    // Every bind mount's source is in the repository.
    for (name, s) in services {
        for v in s["volumes"].as_array().into_iter().flatten() {
            let src = v.as_str().expect("short volume syntax").split(':').next();
            let src = src.expect("source");
            if let Some(rel) = src.strip_prefix("./") {
                assert!(repo().join(rel).exists(), "{name}: {src} does not exist");
            }
        }
        if let Some(b) = s["build"]["dockerfile"].as_str() {
            assert!(repo().join(b).is_file(), "{name}: {b}");
        }
    }
    // Prometheus scrapes both sidecars (they listen in their app's namespace).
    let prom = yaml(&repo().join("config/compose/prometheus.yml"));
    let targets = prom.to_string();
    for t in ["app-1:9033", "app-2:9033"] {
        assert!(targets.contains(t), "prometheus.yml lacks {t}");
    }
    // The load balancer sends traffic to both instances.
    let nginx = std::fs::read_to_string(repo().join("config/nginx/bookstore.conf")).expect("nginx");
    assert!(
        nginx.contains("app-1:8080") && nginx.contains("app-2:8080"),
        "{nginx}"
    );
}

fn check_config(file: &Path, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rwsplit"));
    cmd.arg("--config").arg(file).arg("--check");
    for k in ["APP_DB_PASSWORD", "MONITOR_DB_PASSWORD", "ADMIN_PASSWORD"] {
        cmd.env_remove(k);
    }
    cmd.envs(envs.iter().copied());
    run(&mut cmd)
}

#[test]
fn rwsplit_accepts_the_compose_config_given_its_secrets() {
    let file = repo().join("config/compose/rwsplit.toml");
    let envs = [
        ("APP_DB_PASSWORD", "app-dev-password"),
        ("MONITOR_DB_PASSWORD", "monitor-dev-password"),
        ("ADMIN_PASSWORD", "admin-dev-password"),
    ];
    let out = check_config(&file, &envs);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("configuration OK"), "{}", text(&out));
    assert!(
        !text(&out).contains("app-dev-password"),
        "a password was printed"
    );

    // Without the environment the sidecar would start with no password: it refuses.
    let out = check_config(&file, &envs[1..]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("APP_DB_PASSWORD"),
        "the missing variable is named: {}",
        text(&out)
    );
}

#[test]
fn rwsplit_accepts_the_aurora_config_in_the_configmap() {
    let cm = k8s("configmap.yaml");
    assert_eq!(cm["kind"], "ConfigMap");
    let toml = cm["data"]["rwsplit.toml"]
        .as_str()
        .expect("rwsplit.toml key");
    assert!(toml.contains("mode = \"aurora\""));
    // The Secret's files, mounted where the Deployment mounts them.
    let d = scratch("configmap");
    let secret = k8s("secret.yaml");
    let keys = secret["stringData"].as_object().expect("stringData");
    for (k, v) in keys {
        std::fs::write(d.join(k), format!("{}\n", v.as_str().expect("string"))).expect("write");
    }
    // The RDS CA bundle's place: a CA certificate made here (AWS's is not downloadable
    // from this machine).
    assert!(toml.contains("tls = \"verify_identity\""), "TLS to Aurora");
    let ca = d.join("ca");
    std::fs::create_dir_all(&ca).expect("ca dir");
    let out = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=test CA", "-keyout"])
        .arg(ca.join("key.pem"))
        .arg("-out")
        .arg(ca.join("global-bundle.pem")));
    assert!(out.status.success(), "{}", text(&out));
    let file = d.join("rwsplit.toml");
    let local = toml
        .replace("/etc/rwsplit/secrets/", &format!("{}/", d.display()))
        .replace("/etc/rwsplit/ca/", &format!("{}/", ca.display()));
    assert_ne!(local, toml, "the config reads the mounted Secret");
    std::fs::write(&file, &local).expect("write");
    let out = check_config(&file, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("configuration OK"), "{}", text(&out));

    // Every file the config reads is a key of the Secret.
    for line in toml.lines() {
        if let Some(p) = line.split("\"/etc/rwsplit/secrets/").nth(1) {
            let key = p.trim_end_matches('"');
            assert!(keys.contains_key(key), "the Secret lacks {key}");
        }
    }
    // The CA bundle is read: an empty one is refused, naming the key.
    std::fs::write(ca.join("global-bundle.pem"), "").expect("truncate");
    let out = check_config(&file, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("backends.ca_file"), "{}", text(&out));
    // A missing secret file is named.
    std::fs::remove_file(d.join("app-password")).expect("remove");
    let out = check_config(&file, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("password_file"), "{}", text(&out));
}

fn validate(files: &[PathBuf], version: Option<&str>) -> Output {
    let mut cmd = Command::new("kubernetes-validate");
    cmd.arg("--strict");
    if let Some(v) = version {
        cmd.args(["-k", v]);
    }
    cmd.args(files);
    run(&mut cmd)
}

/// The manifests of the Prometheus Operator's CRDs (no schema in Kubernetes itself).
const CRD_MANIFESTS: &[&str] = &["podmonitor.yaml", "prometheusrule.yaml"];

/// The manifests with a schema in Kubernetes itself (not the CRDs').
fn core_manifests() -> Vec<PathBuf> {
    let dir = repo().join("deploy/k8s");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/k8s")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !CRD_MANIFESTS.contains(&n) && n != "kustomization.yaml"
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_kubernetes_manifests_validate_against_the_schemas() {
    let files = core_manifests();
    assert!(files.len() >= 5, "{files:?}");
    // The newest schemas kubernetes-validate knows, and 1.29 (native sidecars' first
    // release with the feature on by default).
    for version in [None, Some("1.29.0")] {
        let out = validate(&files, version);
        assert!(out.status.success(), "{version:?}: {}", text(&out));
    }

    // The check can fail: an unknown field in the Deployment is refused.
    let d = scratch("k8s");
    let dep = std::fs::read_to_string(repo().join("deploy/k8s/deployment.yaml")).expect("read");
    assert!(dep.contains("  replicas: 2\n"));
    let bad = dep.replace("  replicas: 2\n", "  replicas: 2\n  replicaz: 3\n");
    std::fs::write(d.join("deployment.yaml"), bad).expect("write");
    let out = validate(&[d.join("deployment.yaml")], None);
    assert!(!out.status.success(), "an unknown field was accepted");
}

#[test]
fn kustomization_lists_every_manifest() {
    let k = k8s("kustomization.yaml");
    let listed: Vec<&str> = k["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    let mut all: Vec<String> = core_manifests()
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(String::from))
        .collect();
    all.extend(CRD_MANIFESTS.iter().map(|n| n.to_string()));
    for f in &all {
        assert!(listed.contains(&f.as_str()), "kustomization.yaml lacks {f}");
    }
    assert_eq!(listed.len(), all.len(), "{listed:?} vs {all:?}");
}

fn promtool(args: &[&str], dir: &Path) -> Output {
    run(Command::new("promtool").args(args).current_dir(dir))
}

#[test]
fn the_prometheus_rule_carries_the_alert_rules_and_promtool_accepts_them() {
    let rules = yaml(&repo().join("config/prometheus/rwsplit-alerts.yml"));
    let pr = k8s("prometheusrule.yaml");
    assert_eq!(pr["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(pr["kind"], "PrometheusRule");
    assert!(pr["metadata"]["name"].is_string());
    let groups = &pr["spec"]["groups"];
    assert!(
        groups.as_array().is_some_and(|g| !g.is_empty()),
        "no rule groups"
    );
    assert_eq!(
        groups, &rules["groups"],
        "deploy/k8s/prometheusrule.yaml differs from config/prometheus/rwsplit-alerts.yml"
    );
    // The operator hands spec.groups to Prometheus as a rule file: promtool checks it so
    // (JSON is YAML).
    let d = scratch("prometheusrule");
    let file = serde_json::json!({ "groups": groups }).to_string();
    std::fs::write(d.join("rules.yml"), file).expect("write");
    let out = promtool(&["check", "rules", "rules.yml"], &d);
    assert!(out.status.success(), "{}", text(&out));
    let n = groups[0]["rules"].as_array().map_or(0, |r| r.len());
    assert!(n >= 7, "{n} rules");
    assert!(
        text(&out).contains(&format!("SUCCESS: {n} rules found")),
        "{}",
        text(&out)
    );
    // The check can fail: a rule with a PromQL error is refused.
    let bad = serde_json::json!({ "groups": [{ "name": "x", "rules": [
        { "alert": "Broken", "expr": "rate(rwsplit_errors_total[5m]" }
    ]}]});
    std::fs::write(d.join("bad.yml"), bad.to_string()).expect("write");
    let out = promtool(&["check", "rules", "bad.yml"], &d);
    assert!(!out.status.success(), "a PromQL error was accepted");
}

#[test]
fn the_compose_prometheus_loads_the_alert_rules_it_mounts() {
    let c = yaml(&repo().join("docker-compose.yml"));
    let prom = &c["services"]["prometheus"];
    // The container's /etc/prometheus, rebuilt from the service's bind mounts.
    let d = scratch("compose-prometheus");
    let mut mounted = Vec::new();
    for v in prom["volumes"].as_array().expect("volumes") {
        let v = v.as_str().expect("short volume syntax");
        let mut parts = v.split(':');
        let (src, dst) = (parts.next().expect("source"), parts.next().expect("target"));
        if let Some(rel) = dst.strip_prefix("/etc/prometheus/") {
            let src = repo().join(src.trim_start_matches("./"));
            std::fs::copy(&src, d.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
            mounted.push(rel.to_string());
        }
    }
    assert!(
        mounted.contains(&"rwsplit-alerts.yml".to_string()),
        "the alert rules are not mounted: {mounted:?}"
    );
    let config = prom["command"]
        .as_array()
        .expect("command")
        .iter()
        .filter_map(|a| a.as_str()?.strip_prefix("--config.file=/etc/prometheus/"))
        .next()
        .expect("--config.file under /etc/prometheus");
    let out = promtool(&["check", "config", config], &d);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("SUCCESS: 1 rule files found"),
        "the Compose Prometheus loads no rule file: {}",
        text(&out)
    );
    assert!(text(&out).contains("rules found"), "{}", text(&out));
}

fn container<'a>(spec: &'a Value, list: &str, name: &str) -> &'a Value {
    spec[list]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {list} entry {name}"))
}

#[test]
fn the_deployment_runs_rwsplit_as_a_probed_sidecar_and_scales_like_the_seeds() {
    let dep = k8s("deployment.yaml");
    assert_eq!(dep["spec"]["replicas"], 2, "two instances to start");
    let pod = &dep["spec"]["template"];
    let spec = &pod["spec"];
    let side = container(spec, "initContainers", "rwsplit");
    assert_eq!(side["restartPolicy"], "Always", "a native sidecar");
    assert_eq!(side["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(side["livenessProbe"]["httpGet"]["path"], "/healthz");
    let ports = side["ports"].as_array().expect("ports");
    assert!(ports
        .iter()
        .any(|p| p["name"] == "metrics" && p["containerPort"] == 9033));
    // Config from the ConfigMap, credentials from the Secret.
    let vols = spec["volumes"].as_array().expect("volumes");
    let mounts = side["volumeMounts"].to_string();
    for dir in [
        "/etc/rwsplit/secrets",
        "/etc/rwsplit/ca",
        "/etc/rwsplit/rwsplit.toml",
    ] {
        assert!(mounts.contains(dir), "the sidecar does not mount {dir}");
    }
    assert!(vols
        .iter()
        .any(|v| v["configMap"]["name"] == "rwsplit-config"));
    let secret = k8s("secret.yaml");
    assert!(vols
        .iter()
        .any(|v| v["secret"]["secretName"] == secret["metadata"]["name"]));
    let app = container(spec, "containers", "app");
    let env = app["env"].as_array().expect("env").clone();
    let dsn = env
        .iter()
        .find(|e| e["name"] == "DATABASE_URL")
        .expect("DATABASE_URL");
    // The DSN comes from the Secret and points at the sidecar.
    let key = dsn["valueFrom"]["secretKeyRef"]["key"]
        .as_str()
        .expect("DATABASE_URL from the Secret");
    let url = secret["stringData"][key]
        .as_str()
        .expect("the Secret's DSN");
    assert!(url.contains("@127.0.0.1:6033/"), "{url}");
    // Scrape annotations point at the sidecar's metrics port.
    let ann = &pod["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], "9033");

    let hpa = k8s("hpa.yaml");
    let s = &hpa["spec"];
    assert_eq!(s["scaleTargetRef"]["name"], dep["metadata"]["name"]);
    assert_eq!(
        (s["minReplicas"].as_u64(), s["maxReplicas"].as_u64()),
        (Some(1), Some(6))
    );
    let cpu = &s["metrics"][0]["resource"];
    assert_eq!(cpu["name"], "cpu");
    assert_eq!(cpu["target"]["averageUtilization"], 50);
    let up = &s["behavior"]["scaleUp"];
    assert_eq!(up["stabilizationWindowSeconds"], 300);
    assert_eq!(up["policies"][0]["value"], 1, "one instance more at a time");

    // The Service and the PodMonitor select these pods.
    let labels = &pod["metadata"]["labels"];
    let svc = k8s("service.yaml");
    for (k, v) in svc["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&labels[k], v, "service selector {k}");
    }
    let pm = k8s("podmonitor.yaml");
    assert_eq!(pm["kind"], "PodMonitor");
    for (k, v) in pm["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels")
    {
        assert_eq!(&labels[k], v, "podmonitor selector {k}");
    }
    assert_eq!(pm["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
}

#[test]
fn the_dockerfiles_build_small_non_root_images_with_a_healthcheck() {
    for f in ["proxy/Dockerfile", "bookstore-app/Dockerfile"] {
        let d = std::fs::read_to_string(repo().join(f)).expect(f);
        let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
        assert!(froms.len() >= 2, "{f}: multi-stage");
        let last = froms.last().expect("a runtime stage");
        assert!(
            last.contains("-slim") || last.contains("distroless"),
            "{f}: small runtime image: {last}"
        );
        let user = d
            .lines()
            .rfind(|l| l.starts_with("USER "))
            .unwrap_or_else(|| panic!("{f}: no USER"));
        assert!(
            !user.contains("root") && user.trim() != "USER 0",
            "{f}: {user}"
        );
        let hc = d
            .lines()
            .skip_while(|l| !l.starts_with("HEALTHCHECK"))
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            hc.contains("/healthz"),
            "{f}: HEALTHCHECK on /healthz: {hc}"
        );
    }
}
