//! A real Prometheus (Debian's `prometheus`, installed by `scripts/deps.sh --test`) on a
//! free loopback port, with a configuration and a data directory of its own, killed when
//! dropped; and its HTTP API (`/api/v1/query`, `/api/v1/rules`) over plain HTTP/1.0 (the
//! answer is then never chunked), answers parsed with serde_json.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{free_port, wait_for};

/// `name` on PATH, else in /usr/bin (where Debian's package puts it).
pub fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    let p = found.unwrap_or_else(|| Path::new("/usr/bin").join(name));
    assert!(
        p.is_file(),
        "{name} not found: scripts/deps.sh --test installs Debian's prometheus package"
    );
    p
}

/// A Prometheus process; killed (and its data directory removed) when dropped.
pub struct Prometheus {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One sample of an instant vector: its labels and value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: serde_json::Map<String, Value>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).and_then(|v| v.as_str()).unwrap_or("")
    }
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML: the test's scrape targets, intervals and
    /// rule files); a port another process took before Prometheus bound it is retried.
    pub fn start(config: &str) -> Prometheus {
        for attempt in 0..4 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "rwsplit-prometheus-{}-{port}-{attempt}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("Prometheus dir");
            std::fs::write(dir.join("prometheus.yml"), config).expect("Prometheus config");
            let log = dir.join("prometheus.log");
            let child = Command::new(tool("prometheus"))
                .arg(format!(
                    "--config.file={}",
                    dir.join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--storage.tsdb.retention.time=1h")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("Prometheus log"))
                .spawn()
                .expect("start prometheus");
            let mut p = Prometheus { child, port, dir };
            // Ready (true), or gone because its port was taken (false).
            let ready = wait_for("prometheus to be ready", Duration::from_secs(30), || {
                if let Ok(Some(_)) = p.child.try_wait() {
                    let text = p.log();
                    if text.contains("address already in use") {
                        return Ok(false);
                    }
                    panic!("prometheus exited; log:\n{text}");
                }
                match p.get("/-/ready") {
                    Ok((200, _)) => Ok(true),
                    other => Err(format!("/-/ready: {other:?}; log:\n{}", p.log())),
                }
            });
            if ready {
                return p;
            }
            // Dropped (killed, removed); next port.
        }
        panic!("prometheus did not start: its port was taken four times");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// GET `path` (already encoded): (status, body).
    fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// An API call: its `data`, or the error Prometheus gave (a PromQL parse error is
    /// `bad_data: …`).
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let (status, body) = self
            .get(&format!("{path}?{}", query.join("&")))
            .map_err(|e| format!("HTTP to Prometheus: {e}"))?;
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| format!("HTTP {status}, not JSON ({e}): {body}"))?;
        if v["status"] == "success" {
            Ok(v["data"].clone())
        } else {
            Err(format!(
                "HTTP {status}, {}: {}",
                v["errorType"].as_str().unwrap_or("?"),
                v["error"].as_str().unwrap_or("?")
            ))
        }
    }

    /// `/api/v1/query` now (or at `time`, Unix seconds): the samples of an instant vector
    /// (a scalar answer is one sample without labels).
    pub fn query_at(&self, promql: &str, time: Option<f64>) -> Result<Vec<Sample>, String> {
        let t = time.map(|t| format!("{t:.3}"));
        let mut params = vec![("query", promql)];
        if let Some(t) = &t {
            params.push(("time", t));
        }
        let data = self.api("/api/v1/query", &params)?;
        // A point is [time, "value"].
        let point = |v: &Value| -> Result<f64, String> {
            v[1].as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| format!("no value in {v}"))
        };
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .ok_or_else(|| format!("no result in {data}"))?
                .iter()
                .map(|s| {
                    Ok(Sample {
                        labels: s["metric"].as_object().cloned().unwrap_or_default(),
                        value: point(&s["value"])?,
                    })
                })
                .collect(),
            Some("scalar") => Ok(vec![Sample {
                labels: Default::default(),
                value: point(&data["result"])?,
            }]),
            other => Err(format!("unexpected result type {other:?}: {data}")),
        }
    }

    pub fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        self.query_at(promql, None)
    }

    /// The single value of `promql` now (None: no sample, or an error).
    pub fn value(&self, promql: &str) -> Option<f64> {
        match self.query(promql) {
            Ok(s) if s.len() == 1 => Some(s[0].value),
            _ => None,
        }
    }

    /// Polls `probe` until it returns Ok, for at most `limit`; panics with `what` and
    /// the last thing seen otherwise.
    pub fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        mut probe: impl FnMut(&Prometheus) -> Result<T, String>,
    ) -> T {
        wait_for(&format!("Prometheus: {what}"), limit, || probe(self))
    }
}

/// Percent-encoding of a query parameter (everything but the unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
