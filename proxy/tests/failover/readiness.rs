//! /readyz follows the writer.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn readyz_turns_unready_when_the_writer_is_down() {
    let t = Topo::start(true);
    let proxy = Proxy::start_on(&t, &[]);
    assert_eq!(http_get(proxy.metrics_port, "/readyz").0, 200);
    t.script(&["kill", &t.primary.to_string()]);
    wait_for_async(
        "/readyz to turn unready with the writer down",
        Duration::from_secs(5),
        async || {
            let (status, body) = http_get(proxy.metrics_port, "/readyz");
            if status == 503 {
                assert!(body.contains("writer"), "{body}");
            }
            status == 503
        },
    )
    .await;
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
    wait_for_async(
        "/readyz to come back with the writer",
        Duration::from_secs(5),
        async || http_get(proxy.metrics_port, "/readyz").0 == 200,
    )
    .await;
}
