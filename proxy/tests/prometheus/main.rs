//! rwsplit's metrics proven with a real Prometheus (Debian's `prometheus` and `promtool`,
//! installed by `scripts/deps.sh --test`): a Prometheus of the test's own scrapes rwsplit
//! in front of a MariaDB topology of this binary's own while traffic runs, and the test
//! checks what it stored against what was sent, evaluates every query of the Grafana
//! dashboard and the alert rules on those series, and runs `promtool check metrics` on
//! `/metrics`; the alert rules' own unit tests run with `promtool test rules`.

#[path = "../integration/support.rs"]
mod support;

mod dashboard;
mod prom;
mod rules;
mod scrape;
