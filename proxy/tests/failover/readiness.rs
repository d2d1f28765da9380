//! /readyz follows the writer.

use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn readyz_turns_unready_when_the_writer_is_down() {
    let t = Topo::start(true);
    let proxy = Proxy::start_on(&t, &[]);
    assert_eq!(http_get(proxy.metrics_port, "/readyz").0, 200);
    t.script(&["kill", &t.primary.to_string()]);
    let start = Instant::now();
    let mut down = None;
    while start.elapsed() < Duration::from_secs(5) {
        let (status, body) = http_get(proxy.metrics_port, "/readyz");
        if status == 503 {
            assert!(body.contains("writer"), "{body}");
            down = Some(start.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(down.is_some(), "/readyz stayed ready with the writer down");
    assert_eq!(
        http_get(proxy.metrics_port, "/healthz").0,
        200,
        "the process is alive"
    );
    let (_, page) = http_get(proxy.metrics_port, "/metrics");
    assert_eq!(
        metric(&page, "rwsplit_backend_up", &[("role", "writer")]),
        0.0
    );
    t.script(&["start", &t.primary.to_string()]);
    let start = Instant::now();
    let mut ready = false;
    while start.elapsed() < Duration::from_secs(5) {
        if http_get(proxy.metrics_port, "/readyz").0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz did not come back");
}
