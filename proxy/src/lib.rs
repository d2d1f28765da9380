//! rwsplit: a read/write-splitting MySQL/MariaDB proxy.
//!
//! Layers, from the socket inwards: [`server`] accepts clients; a [`session`] per client
//! reads commands, asks [`route`] where each goes (after [`classify`] said what it is),
//! and hands it to a [`backend`] connection whose answer it relays. [`monitor`] keeps the
//! [`route::Topology`] current in its [`monitor::store`]. [`live`] holds the configuration
//! snapshot; [`shared`] is the handful of handles every task is given, one per concept.
//! [`classify`] and [`route`] are pure functions (no I/O);
//! [`protocol`] encodes and decodes packets without I/O; [`config`] parses and validates
//! the configuration (it reads files only for secrets and includes).

pub mod admin;
pub mod backend;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod config;
pub mod live;
pub mod metrics;
pub mod monitor;
pub mod protocol;
pub mod route;
pub mod server;
pub mod session;
pub mod shared;
pub mod tls;
